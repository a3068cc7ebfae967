package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// keepalived 2.2.7 trackers/track_file.c: track_file_handler, the file, weight and
// init_file handlers, and vrrp_alloc_track_file for the instance's lines.
func TestTrackFileBlockAndLines(t *testing.T) {
	cfg := parseOK(t, `track_file f1 {
  file /run/ka/f1
  weight -5 reverse
  init_file 7 overwrite
}
vrrp_track_file f2 {
  file /run/ka/f2
}
`+instance(`  track_file {
    f1
    f2 weight 0 noreverse
  }
`))
	f1 := cfg.TrackFiles["f1"]
	want := &TrackFile{Name: "f1", Path: "/run/ka/f1", Weight: -5, Reverse: true, Init: true, InitValue: 7, Overwrite: true,
		Pos: Pos{"test.conf", 1}, weightSet: true}
	if !reflect.DeepEqual(f1, want) {
		t.Errorf("f1 = %+v, want %+v", f1, want)
	}
	if f2 := cfg.TrackFiles["f2"]; f2 == nil || f2.Weight != 1 || f2.Init {
		t.Errorf("f2 = %+v, want weight 1 (keepalived's default), no init", f2)
	}
	if !hasLine(warnings(cfg), "test.conf:6: vrrp_track_file is deprecated; use track_file (as keepalived)") {
		t.Errorf("warnings = %q", warnings(cfg))
	}
	refs := cfg.Instances[0].TrackFiles
	if len(refs) != 2 || refs[0].Name != "f1" || refs[0].WeightSet || refs[1].Name != "f2" || !refs[1].WeightSet || refs[1].Weight != 0 {
		t.Errorf("track_file lines = %+v", refs)
	}
	for _, w := range warnings(cfg) {
		if strings.Contains(w, "track_file") && strings.Contains(w, "ignored") {
			t.Errorf("track_file still noted as ignored: %s", w)
		}
	}
}

func TestTrackFileErrors(t *testing.T) {
	errs := parseErrs(t, "track_file f {\n  weight 2\n}\n"+instance("  track_file {\n    nope\n  }\n"))
	for _, want := range []string{
		"test.conf:1: track_file f: no file given",
		"test.conf:11: vrrp_instance VI_1: track_file nope: no track_file block named nope",
	} {
		if !hasLine(errs, want) {
			t.Errorf("errors = %q, want %q", errs, want)
		}
	}
}

// vrrp.c vrrp_complete_instance: an address owner's (or an untracked-weight sync
// member's) track_file with the default weight 1 gets weight 0; any other weight drops
// the line.
func TestTrackFileWeightsOfOwnerAndSyncMember(t *testing.T) {
	cfg := parseOK(t, `track_file a {
  file /tmp/a
}
track_file b {
  file /tmp/b
  weight 10
}
vrrp_instance OWNER {
  interface eth0
  virtual_router_id 1
  priority 255
  virtual_ipaddress {
    10.0.0.1
  }
  track_file {
    a
    b
  }
}
vrrp_instance M1 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    10.0.0.2
  }
  track_file {
    b weight 3
  }
}
vrrp_instance M2 {
  interface eth0
  virtual_router_id 3
  virtual_ipaddress {
    10.0.0.3
  }
}
vrrp_sync_group G {
  group {
    M1
    M2
  }
  track_file {
    a
  }
}
`)
	owner := cfg.Instances[0].TrackFiles
	if len(owner) != 1 || owner[0].Name != "a" || !owner[0].WeightSet || owner[0].Weight != 0 {
		t.Errorf("owner's track_file = %+v, want only a with weight 0", owner)
	}
	m1 := cfg.Instances[1].TrackFiles
	if len(m1) != 1 || m1[0].Name != "a" || !m1[0].WeightSet && cfg.TrackFiles["a"].Weight != 1 {
		t.Errorf("M1's track_file = %+v, want b dropped (weighted, sync group) and the group's a", m1)
	}
	if m2 := cfg.Instances[2].TrackFiles; len(m2) != 1 || m2[0].Name != "a" {
		t.Errorf("M2's track_file = %+v, want the group's a", m2)
	}
}

func TestMcastGroupResolved(t *testing.T) {
	cfg := parseOK(t, "global_defs {\n  vrrp_mcast_group4 224.0.0.19\n  vrrp_mcast_group6 ff02::13\n}\n"+
		instance("")+`vrrp_instance V6 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress {
    fe80::1
  }
}
vrrp_instance DST {
  interface eth0
  virtual_router_id 53
  mcast_dst_ip 224.0.0.20
  virtual_ipaddress {
    10.0.0.3
  }
}
vrrp_instance UNI {
  interface eth0
  virtual_router_id 54
  unicast_peer {
    10.0.0.9
  }
  virtual_ipaddress {
    10.0.0.4
  }
}
`)
	want := []string{"224.0.0.19", "ff02::13", "224.0.0.20", "invalid IP"}
	for i, in := range cfg.Instances {
		if got := in.McastGroup.String(); got != want[i] {
			t.Errorf("%s: McastGroup = %s, want %s", in.Name, got, want[i])
		}
	}
	if d := parseOK(t, instance("")).Instances[0].McastGroup; d != netip.MustParseAddr("224.0.0.18") {
		t.Errorf("default group = %s, want 224.0.0.18", d)
	}
	errs := parseErrs(t, instance("  mcast_dst_ip 10.0.0.7\n"))
	if !hasLine(errs, "test.conf:7: vrrp_instance VI_1: mcast_dst_ip 10.0.0.7 is not an IPv4 multicast address (as keepalived)") {
		t.Errorf("errors = %q", errs)
	}
}

func TestUnicastFaultNoPeerParsed(t *testing.T) {
	in := parseOK(t, instance("  unicast_src_ip 10.0.0.5\n  unicast_fault_no_peer\n")).Instances[0]
	if !in.UnicastFaultNoPeer || !in.UnicastConfigured || in.Unicast() {
		t.Errorf("instance = fault_no_peer %v configured %v unicast %v, want true true false",
			in.UnicastFaultNoPeer, in.UnicastConfigured, in.Unicast())
	}
	if in := parseOK(t, instance("")).Instances[0]; in.UnicastConfigured || in.UnicastFaultNoPeer {
		t.Errorf("plain instance has unicast configured")
	}
}

func TestTrackBFDRefused(t *testing.T) {
	errs := parseErrs(t, instance("  track_bfd {\n    b1\n  }\n"))
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "test.conf:7: vrrp_instance VI_1: track_bfd is not supported: hagent has no BFD") {
		t.Errorf("errors = %q", errs)
	}
	errs = parseErrs(t, instance("")+"vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  track_bfd {\n    b1\n  }\n}\n")
	if len(errs) != 1 || !strings.Contains(errs[0], "test.conf:12: vrrp_sync_group G: track_bfd is not supported") {
		t.Errorf("errors = %q", errs)
	}
}

func TestCheckUnicastSrcAndTrackSrcIPParsed(t *testing.T) {
	in := parseOK(t, instance("  check_unicast_src\n  track_src_ip\n  unicast_peer {\n    10.0.0.9\n  }\n")).Instances[0]
	if !in.CheckUnicastSrc || !in.TrackSrcIP || !in.UnicastConfigured {
		t.Errorf("check_unicast_src %v track_src_ip %v unicast configured %v, want all true", in.CheckUnicastSrc, in.TrackSrcIP, in.UnicastConfigured)
	}
	g := parseOK(t, "global_defs {\n  vrrp_check_unicast_src\n}\n"+instance("")).Instances[0]
	if !g.CheckUnicastSrc {
		t.Errorf("global vrrp_check_unicast_src not applied to the instance")
	}
	cfg := parseOK(t, instance("  check_unicast_src\n  track_src_ip\n  unicast_fault_no_peer\n"))
	for _, w := range warnings(cfg) {
		if strings.Contains(w, "ignored") {
			t.Errorf("still noted as ignored: %s", w)
		}
	}
}
