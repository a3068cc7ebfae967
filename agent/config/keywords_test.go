package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInstanceKeywords(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr
	tests := []struct {
		name  string
		body  string
		check func(in *Instance) bool
	}{
		{"defaults", "", func(in *Instance) bool {
			return in.State == "BACKUP" && in.Priority == 100 && in.AdvertInt == time.Second && in.Version == 2 &&
				in.AuthType == "" && in.GARPMasterDelay == 5*time.Second && in.GARPMasterRepeat == 5 &&
				in.GARPMasterRefresh == 0 && in.GARPMasterRefreshRepeat == 1 && in.Accept && !in.AcceptSet &&
				!in.NoPreempt && !in.IPv6 && in.VIPs[0].Prefix == netip.MustParsePrefix("10.0.0.1/32") && in.VIPs[0].Dev == "eth0"
		}},
		{"state MASTER without priority owns the address", "  state MASTER\n", func(in *Instance) bool {
			return in.State == "MASTER" && in.Priority == 255 && in.AddressOwner()
		}},
		{"priority 255 without state starts MASTER", "  priority 255\n", func(in *Instance) bool {
			return in.State == "MASTER" && in.Priority == 255
		}},
		{"state BACKUP", "  state BACKUP\n  priority 90\n", func(in *Instance) bool {
			return in.State == "BACKUP" && in.Priority == 90
		}},
		{"advert_int fraction in v3", "  version 3\n  advert_int 0.01\n", func(in *Instance) bool {
			return in.Version == 3 && in.AdvertInt == 10*time.Millisecond
		}},
		{"advert_int whole seconds in v2", "  advert_int 3\n", func(in *Instance) bool {
			return in.AdvertInt == 3*time.Second
		}},
		{"authentication PASS", "  authentication {\n    auth_type PASS\n    auth_pass 0123456789\n  }\n", func(in *Instance) bool {
			return in.AuthType == "PASS" && in.AuthPass == "0123456789" && in.EffectiveAuthPass() == "01234567" &&
				in.AuthData() == [8]byte{'0', '1', '2', '3', '4', '5', '6', '7'}
		}},
		{"short auth_pass zero padded", "  authentication {\n    auth_type PASS\n    auth_pass \"a b\"\n  }\n", func(in *Instance) bool {
			return in.AuthPass == "a b" && in.AuthData() == [8]byte{'a', ' ', 'b'}
		}},
		{"VIP options", "  virtual_ipaddress {\n    192.168.1.10/24 dev eth1 label eth1:vip scope global brd 192.168.1.255\n  }\n", func(in *Instance) bool {
			v := in.VIPs[1]
			return v.Prefix == netip.MustParsePrefix("192.168.1.10/24") && v.Dev == "eth1" && v.Label == "eth1:vip" &&
				v.Scope == "global" && v.Broadcast == ip("192.168.1.255") && v.Pos.Line == 8
		}},
		{"excluded VIPs may be IPv6", "  virtual_ipaddress_excluded {\n    2001:db8::5/64\n    10.1.1.1 dev lo\n  }\n", func(in *Instance) bool {
			return len(in.ExcludedVIPs) == 2 && in.ExcludedVIPs[0].Prefix == netip.MustParsePrefix("2001:db8::5/64") &&
				in.ExcludedVIPs[0].Dev == "eth0" && in.ExcludedVIPs[1].Dev == "lo" && !in.IPv6
		}},
		{"track_script with weights", "  track_script {\n    a\n    b weight -20\n    c weight 10 reverse\n  }\n", func(in *Instance) bool {
			return reflect.DeepEqual(in.TrackScripts, []TrackRef{
				{Name: "a", Pos: Pos{"test.conf", 8}},
				{Name: "b", Weight: -20, WeightSet: true, Pos: Pos{"test.conf", 9}},
				{Name: "c", Weight: 10, WeightSet: true, Reverse: true, Pos: Pos{"test.conf", 10}},
			})
		}},
		{"track_interface", "  track_interface {\n    eth1 weight 5\n    eth2\n  }\n", func(in *Instance) bool {
			return len(in.TrackInterfaces) == 2 && in.TrackInterfaces[0].Name == "eth1" && in.TrackInterfaces[0].Weight == 5 &&
				in.TrackInterfaces[1].Name == "eth2" && !in.TrackInterfaces[1].WeightSet
		}},
		{"track_process on one line", "  track_process { nginx weight 0 }\n", func(in *Instance) bool {
			return len(in.TrackProcesses) == 1 && in.TrackProcesses[0].Name == "nginx" && in.TrackProcesses[0].WeightSet
		}},
		{"nopreempt with BACKUP", "  state BACKUP\n  nopreempt\n", func(in *Instance) bool { return in.NoPreempt }},
		{"preempt clears nopreempt", "  nopreempt\n  preempt\n", func(in *Instance) bool { return !in.NoPreempt }},
		{"preempt_delay", "  preempt_delay 2.5\n", func(in *Instance) bool { return in.PreemptDelay == 2500*time.Millisecond }},
		{"unicast", "  unicast_src_ip 10.0.0.71\n  unicast_peer {\n    10.0.0.72\n    10.0.0.73\n  }\n", func(in *Instance) bool {
			return in.UnicastSrcIP == ip("10.0.0.71") && slices.Equal(in.UnicastPeers, []netip.Addr{ip("10.0.0.72"), ip("10.0.0.73")}) && in.Unicast()
		}},
		{"mcast_src_ip", "  mcast_src_ip 10.0.0.71\n", func(in *Instance) bool { return in.McastSrcIP == ip("10.0.0.71") }},
		{"garp settings", "  garp_master_delay 1\n  garp_master_repeat 3\n  garp_master_refresh 60\n  garp_master_refresh_repeat 2\n", func(in *Instance) bool {
			return in.GARPMasterDelay == time.Second && in.GARPMasterRepeat == 3 && in.GARPMasterRefresh == time.Minute && in.GARPMasterRefreshRepeat == 2
		}},
		{"notify scripts", "  notify /etc/keepalived/notify.sh\n  notify_master \"/bin/m.sh master now\"\n  notify_backup /bin/b.sh\n  notify_fault /bin/f.sh\n  notify_stop /bin/s.sh\n", func(in *Instance) bool {
			return in.Notify == "/etc/keepalived/notify.sh" && in.NotifyMaster == "/bin/m.sh master now" &&
				in.NotifyBackup == "/bin/b.sh" && in.NotifyFault == "/bin/f.sh" && in.NotifyStop == "/bin/s.sh"
		}},
		{"accept", "  accept\n", func(in *Instance) bool { return in.Accept && in.AcceptSet && !in.LowerPrioNoAdvert }},
		{"no_accept on the address owner", "  priority 255\n  no_accept\n", func(in *Instance) bool { return !in.Accept && in.AcceptSet }},
		// vrrp.c: vrrp_complete_instance: strict mode keeps accept for VRRPv3 and forces
		// lower_prio_no_advert; the owner always accepts.
		{"strict mode v3 with accept", "  version 3\n  strict_mode\n  accept\n", func(in *Instance) bool {
			return in.StrictMode && in.Accept && in.LowerPrioNoAdvert
		}},
		{"strict mode owner", "  strict_mode\n  priority 255\n", func(in *Instance) bool {
			return in.StrictMode && in.Accept && in.State == "MASTER"
		}},
		{"strict mode clears auth and preempt_delay", "  version 3\n  strict_mode\n  accept\n  preempt_delay 5\n", func(in *Instance) bool {
			return in.PreemptDelay == 0
		}},
		{"strict mode state must match owner", "  strict_mode\n  state MASTER\n  priority 255\n", func(in *Instance) bool {
			return in.State == "MASTER"
		}},
		{"old_unicast_checksum", "  old_unicast_checksum\n", func(in *Instance) bool { return in.OldUnicastChecksum == OldUnicastChecksumOn }},
		{"old_unicast_checksum never", "  old_unicast_checksum never\n", func(in *Instance) bool { return in.OldUnicastChecksum == OldUnicastChecksumNever }},
		{"old_unicast_checksum not written", "", func(in *Instance) bool { return in.OldUnicastChecksum == OldUnicastChecksumAuto }},
		{"skip_check_adv_addr", "  skip_check_adv_addr\n", func(in *Instance) bool { return in.SkipCheckAdvAddr }},
		{"lower_prio_no_advert", "  lower_prio_no_advert\n", func(in *Instance) bool { return in.LowerPrioNoAdvert }},
		{"lower_prio_no_advert off", "  lower_prio_no_advert off\n", func(in *Instance) bool { return !in.LowerPrioNoAdvert }},
		{"strict mode forces lower_prio_no_advert", "  version 3\n  strict_mode\n  accept\n  lower_prio_no_advert off\n", func(in *Instance) bool {
			return in.LowerPrioNoAdvert
		}},
		{"flags", "  dont_track_primary\n  smtp_alert\n  debug 2\n  skip_check_adv_addr off\n", func(in *Instance) bool {
			return in.DontTrackPrimary && in.SMTPAlert && in.Debug == 2 && !in.SkipCheckAdvAddr
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Tracked objects are defined after the instance, so that line
			// numbers in the body start at 7.
			defs := "vrrp_script a {\n script /bin/a\n}\nvrrp_script b {\n script /bin/b\n}\n" +
				"vrrp_http_check c {\n url http://127.0.0.1/\n}\nvrrp_track_process nginx {\n process nginx\n}\n"
			cfg := parseOK(t, instance(tt.body)+defs)
			if in := cfg.Instances[0]; !tt.check(in) {
				t.Errorf("instance = %+v", in)
			}
		})
	}
}

func TestIPv6Instance(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, "vrrp_instance V6 {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    fe80::9\n    2001:db8::9/64\n  }\n}\n"+
		"vrrp_instance V4 {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    10.0.0.9\n  }\n}\n")
	v6 := cfg.Instances[0]
	if !v6.IPv6 || v6.Version != 3 || v6.VIPs[0].Prefix != netip.MustParsePrefix("fe80::9/128") {
		t.Errorf("V6 = %+v", v6)
	}
	// Same VRID on the same interface is fine across families.
	if cfg.Instances[1].IPv6 {
		t.Errorf("V4 is IPv6")
	}
	want := "test.conf:1: vrrp_instance V6: VRRP version 2 does not support IPv6; using version 3"
	if !hasLine(warnings(cfg), want) {
		t.Errorf("warnings = %q", warnings(cfg))
	}
}

func TestGlobalKeywords(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, `global_defs {
  router_id R1
  notification_email {
    a@example.com
    b@example.com
  }
  notification_email_from k@example.com
  smtp_server 10.0.0.25 2525
  smtp_connect_timeout 10
  enable_script_security
  script_user nobody nogroup
  vrrp_version 3
  vrrp_strict
  vrrp_skip_check_adv_addr
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 30
  vrrp_garp_master_refresh_repeat 4
  vrrp_garp_interval 0.001
  vrrp_gna_interval 0.002
  vrrp_mcast_group4 224.0.0.19
  vrrp_iptables
  max_auto_priority 50
}
`+instance("  state BACKUP\n  accept\n"))
	g := cfg.Global
	want := Global{
		RouterID: "R1", NotificationEmail: []string{"a@example.com", "b@example.com"}, NotificationEmailFrom: "k@example.com",
		SMTPServer: "10.0.0.25", SMTPPort: 2525, SMTPConnectTimeout: 10 * time.Second,
		EnableScriptSecurity: true, ScriptUser: "nobody", ScriptGroup: "nogroup",
		VRRPVersion: 3, VRRPStrict: true, VRRPSkipCheckAdvAddr: true,
		VRRPMcastGroup4: netip.MustParseAddr("224.0.0.19"), VRRPMcastGroup6: netip.MustParseAddr("ff02::12"),
		GARPMasterDelay: 2 * time.Second, GARPMasterRepeat: 3, GARPMasterRefresh: 30 * time.Second, GARPMasterRefreshRepeat: 4,
		GARPInterval: time.Millisecond, GNAInterval: 2 * time.Millisecond, MaxAutoPriority: 50,
		Pos: Pos{"test.conf", 1},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("global =\n%+v\nwant\n%+v", g, want)
	}
	// Instances inherit the global defaults.
	in := cfg.Instances[0]
	if in.Version != 3 || !in.StrictMode || !in.SkipCheckAdvAddr || in.GARPMasterDelay != 2*time.Second ||
		in.GARPMasterRepeat != 3 || in.GARPMasterRefresh != 30*time.Second || in.GARPMasterRefreshRepeat != 4 || !in.Accept ||
		!in.LowerPrioNoAdvert {
		t.Errorf("instance = %+v", in)
	}
	if !hasLine(warnings(cfg), "test.conf:22: global_defs: vrrp_iptables is accepted but ignored by hagent") {
		t.Errorf("warnings = %q", warnings(cfg))
	}
}

func TestScriptKeywords(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, `vrrp_script chk {
  script "/usr/local/sbin/check_ng.sh --quick"
  interval 2
  timeout 1.5
  weight -30 reverse
  fall 3
  rise 2
  user nginx nginx
  init_fail
  restart_command "systemctl restart nginx"
  restart_backoff 3
}
vrrp_script bare {
  script /bin/check one two
  fall 0
}
`)
	want := &Script{
		Name: "chk", Script: "/usr/local/sbin/check_ng.sh --quick", Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond,
		Weight: -30, Reverse: true, Fall: 3, Rise: 2, User: "nginx", Group: "nginx", InitFail: true,
		Restart: Restart{Command: "systemctl restart nginx", Attempts: 1, Backoff: 3 * time.Second},
		Pos:     Pos{"test.conf", 1}, scriptPos: Pos{"test.conf", 2}, restartPos: Pos{"test.conf", 10},
	}
	if got := cfg.Scripts["chk"]; !reflect.DeepEqual(got, want) {
		t.Errorf("chk =\n%+v\nwant\n%+v", got, want)
	}
	bare := cfg.Scripts["bare"]
	if bare.Script != "/bin/check one two" || bare.Interval != time.Second || bare.Timeout != time.Second || bare.Fall != 1 || bare.Restart.Enabled() {
		t.Errorf("bare = %+v", bare)
	}
	if !hasLine(warnings(cfg), "test.conf:15: vrrp_script bare: fall 0 raised to 1 (as keepalived)") {
		t.Errorf("warnings = %q", warnings(cfg))
	}
}

func TestTrackProcessKeywords(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, `vrrp_track_process nginx {
  process nginx -g daemon
  param_match partial
  quorum 2
  quorum_max 8
  weight 10
  delay 0.5
  fork_delay 2
  full_command
  restart_command /usr/bin/systemctl restart nginx
  restart_attempts 2
  restart_backoff 500ms
}
vrrp_track_process master {
  process "nginx: master process"
}
`)
	want := &TrackProcess{
		Name: "nginx", Process: "nginx", Params: []string{"-g", "daemon"}, ParamMatch: "partial", Quorum: 2, QuorumMax: 8,
		Weight: 10, Delay: 500 * time.Millisecond, TerminateDelay: 500 * time.Millisecond, ForkDelay: 2 * time.Second,
		FullCommand: true, Restart: Restart{Command: "/usr/bin/systemctl restart nginx", Attempts: 2, Backoff: 500 * time.Millisecond},
		Pos: Pos{"test.conf", 1}, restartPos: Pos{"test.conf", 10},
	}
	if got := cfg.Processes["nginx"]; !reflect.DeepEqual(got, want) {
		t.Errorf("nginx =\n%+v\nwant\n%+v", got, want)
	}
	m := cfg.Processes["master"]
	if m.Process != "nginx: master process" || m.Params != nil || m.ParamMatch != "exact" || m.Quorum != 1 || m.QuorumMax != 0 {
		t.Errorf("master = %+v", m)
	}
}

func TestHTTPCheckKeywords(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, `vrrp_http_check web {
  url http://127.0.0.1/health
  status 204
  body_contains "it works"
  interval 0.2
  timeout 150ms
  fall 2
  rise 3
  weight -50
  restart_command "systemctl restart nginx"
  restart_attempts 1
  restart_backoff 5
}
vrrp_http_check minimal {
  url https://localhost:8443/
}
`+instance("  track_script {\n    web\n    minimal weight 5\n  }\n"))
	want := &HTTPCheck{
		Name: "web", URL: "http://127.0.0.1/health", Status: 204, BodyContains: "it works",
		Interval: 200 * time.Millisecond, Timeout: 150 * time.Millisecond, Fall: 2, Rise: 3, Weight: -50,
		Restart: Restart{Command: "systemctl restart nginx", Attempts: 1, Backoff: 5 * time.Second},
		Pos:     Pos{"test.conf", 1}, restartPos: Pos{"test.conf", 10},
	}
	if got := cfg.HTTPChecks["web"]; !reflect.DeepEqual(got, want) {
		t.Errorf("web =\n%+v\nwant\n%+v", got, want)
	}
	m := cfg.HTTPChecks["minimal"]
	if m.Status != 200 || m.Interval != time.Second || m.Timeout != time.Second || m.Fall != 1 || m.Rise != 1 {
		t.Errorf("minimal = %+v", m)
	}
}

func TestRestartWithoutCommand(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, "vrrp_script chk {\n  script /bin/true\n  restart_attempts 3\n}\n")
	if cfg.Scripts["chk"].Restart != (Restart{}) {
		t.Errorf("Restart = %+v, want none", cfg.Scripts["chk"].Restart)
	}
	want := "test.conf:1: vrrp_script chk: restart_attempts and restart_backoff are ignored without restart_command"
	if !hasLine(warnings(cfg), want) {
		t.Errorf("warnings = %q", warnings(cfg))
	}
}

func TestSyncGroup(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, instance("")+`vrrp_sync_group G1 {
  group {
    VI_1
  }
  notify_master "/bin/m.sh G1"
  smtp_alert
}
`)
	if len(cfg.SyncGroups) != 1 {
		t.Fatalf("sync groups = %v", cfg.SyncGroups)
	}
	sg := cfg.SyncGroups[0]
	if sg.Name != "G1" || !slices.Equal(sg.Instances, []string{"VI_1"}) || sg.NotifyMaster != "/bin/m.sh G1" || !sg.SMTPAlert {
		t.Errorf("group = %+v", sg)
	}
	if cfg.Instances[0].SyncGroup != "G1" {
		t.Errorf("VI_1.SyncGroup = %q", cfg.Instances[0].SyncGroup)
	}
}

// A "{" may sit on the line after the keyword, and blocks may be written
// on one line, as keepalived accepts.
func TestBraceLayouts(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, "vrrp_instance VI_1\n{\n  interface eth0\n  virtual_router_id 7\n  virtual_ipaddress { 10.0.0.7/24 dev eth0 }\n  track_interface{eth1}\n}\n")
	in := cfg.Instances[0]
	if in.VRID != 7 || len(in.VIPs) != 1 || in.VIPs[0].Prefix != netip.MustParsePrefix("10.0.0.7/24") ||
		len(in.TrackInterfaces) != 1 || in.TrackInterfaces[0].Name != "eth1" {
		t.Errorf("instance = %+v", in)
	}
}

func TestFileChecks(t *testing.T) {
	t.Parallel()
	src := "vrrp_script chk {\n  script \"/opt/check.sh --fast\"\n  restart_command \"'/opt/my restart' now\"\n}\n" +
		"vrrp_http_check web {\n  url http://127.0.0.1/\n  restart_command systemctl restart nginx\n}\n"
	var seen []string
	cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(p string) error {
		seen = append(seen, p)
		if p == "/opt/check.sh" {
			return errorString("/opt/check.sh does not exist")
		}
		return nil
	}))
	// A missing program is a warning: `hagent -t` and `hagent` accept the same configs.
	want := "test.conf:2: vrrp_script chk: script: /opt/check.sh does not exist; not tracked by any instance, so never run"
	if err != nil {
		t.Errorf("err = %v, want only a warning", err)
	} else if got := warnings(cfg); !slices.Contains(got, want) {
		t.Errorf("warnings %q, want %s", got, want)
	}
	if !slices.Equal(seen, []string{"/opt/check.sh", "/opt/my restart", "systemctl"}) {
		t.Errorf("checked %q", seen)
	}
	if _, err := Parse("test.conf", []byte(src), withSource(mapSource{}), CheckFiles(false)); err != nil {
		t.Errorf("with CheckFiles(false): %v", err)
	}
}

func TestInterfaceCheck(t *testing.T) {
	t.Parallel()
	check := WithInterfaceCheck(func(name string) error {
		if name == "eth0" {
			return nil
		}
		return errorString("no such interface")
	})
	got := parseErrs(t, instance("  track_interface {\n    bond0\n  }\n"), check)
	want := []string{"test.conf:8: vrrp_instance VI_1: track_interface bond0: no such interface"}
	if !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"/usr/local/sbin/check_ng.sh", []string{"/usr/local/sbin/check_ng.sh"}},
		{"  systemctl   restart nginx ", []string{"systemctl", "restart", "nginx"}},
		{`/bin/sh -c 'kill -0 $(cat /run/nginx.pid)'`, []string{"/bin/sh", "-c", "kill -0 $(cat /run/nginx.pid)"}},
		{`a "b c" d\ e`, []string{"a", "b c", "d e"}},
		{`''`, []string{""}},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `a\`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q): no error", bad)
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, "vrrp_track_process nginx {\n  process nginx\n}\n"+
		instance("  version 3\n  advert_int 0.5\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.3 dev eth1\n  }\n  nopreempt\n  track_process {\n    nginx\n  }\n"))
	want := []string{"VI_1: vrid 51 on eth0, v3, priority 100, state BACKUP, advert 500ms, no auth, " +
		"2 VIPs (10.0.0.1/32, 10.0.0.3/32 dev eth1), unicast to 10.0.0.2, nopreempt, tracks nginx"}
	if got := cfg.Summary(); !slices.Equal(got, want) {
		t.Errorf("Summary =\n%q\nwant\n%q", got, want)
	}
}

// keepalived 2.2.7 vrrp.c vrrp_complete_instance and sync_group_tracking_init: a
// member's weighted track_script is dropped and its track_interface weight cleared
// unless the group has sync_group_tracking_weight; the group's track_* lines are added
// to every member.
func TestSyncGroupTracking(t *testing.T) {
	t.Parallel()
	two := func(group string) string {
		return `vrrp_script weighted {
  script /bin/true
  weight -20
}
vrrp_script plain {
  script /bin/true
}
vrrp_script gchk {
  script /bin/true
}
` + instance("  track_script {\n    weighted\n    plain\n  }\n  track_interface {\n    eth1 weight 10\n  }\n") +
			strings.Replace(strings.Replace(instance(""), "VI_1", "VI_2", 1), "virtual_router_id 51", "virtual_router_id 52", 1) +
			"vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  track_script {\n    gchk\n  }\n  track_interface {\n    eth2\n  }\n" + group + "}\n"
	}
	names := func(refs []TrackRef) (out []string) {
		for _, r := range refs {
			out = append(out, fmt.Sprintf("%s:%d", r.Name, r.Weight))
		}
		return out
	}
	cfg := parseOK(t, two(""))
	vi1, vi2 := cfg.Instances[0], cfg.Instances[1]
	if got := names(vi1.TrackScripts); !slices.Equal(got, []string{"plain:0", "gchk:0"}) {
		t.Errorf("VI_1 track_script %v, want plain and the group's gchk (weighted dropped)", got)
	}
	if got := names(vi1.TrackInterfaces); !slices.Equal(got, []string{"eth1:0", "eth2:0"}) {
		t.Errorf("VI_1 track_interface %v, want eth1 weight 0 and the group's eth2", got)
	}
	if got := names(vi2.TrackScripts); !slices.Equal(got, []string{"gchk:0"}) {
		t.Errorf("VI_2 track_script %v, want the group's gchk", got)
	}
	if !slices.Equal(cfg.SyncGroups[0].Members, []string{"VI_1", "VI_2"}) {
		t.Errorf("members %v", cfg.SyncGroups[0].Members)
	}
	for _, kw := range []string{"sync_group_tracking_weight", "global_tracking"} {
		cfg = parseOK(t, two("  "+kw+"\n"))
		if got := names(cfg.Instances[0].TrackScripts); !slices.Equal(got, []string{"weighted:0", "plain:0", "gchk:0"}) {
			t.Errorf("%s: VI_1 track_script %v, want the weighted script kept", kw, got)
		}
		if got := names(cfg.Instances[0].TrackInterfaces); !slices.Equal(got, []string{"eth1:10", "eth2:0"}) {
			t.Errorf("%s: VI_1 track_interface %v, want eth1's weight kept", kw, got)
		}
		if !cfg.SyncGroups[0].TrackingWeight {
			t.Errorf("%s: TrackingWeight not set", kw)
		}
	}
}
