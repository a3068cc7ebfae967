package e2e

// Issue 11 (kw11): keepalived keywords that decide who is master, acted on: track_file
// and vrrp_mcast_group4, with real agents (and real keepalived 2.2.7) in the lab.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hagent-dev/hagent/lab"
)

// kw11Config is the seed's VRRP instance (no check script), priority 100 on cenvm71
// and 90 on cenvm72, with globals and instance lines added.
func kw11Config(t *testing.T, host, top, global, extra string) string {
	t.Helper()
	state, prio := "MASTER", 100
	if host == "cenvm72" {
		state, prio = "BACKUP", 90
	}
	conf := fmt.Sprintf(`global_defs {
    router_id LVS_DEVEL
%s
}
%s
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass hell>com
    }
    virtual_ipaddress {
        192.168.188.109
    }
%s
}
`, global, top, state, prio, extra)
	path := filepath.Join(t.TempDir(), host+"-kw11.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKw11TrackFileMovesMastership: cenvm71 (priority 100) tracks a file with weight
// -20, as keepalived's track_file. Writing 1 into it makes its priority 80, and
// cenvm72 (90) takes over; writing 0 gives it back; writing 13 (13 × -20 = -260 <=
// -254) puts it in FAULT (trackers/track_file.c process_update_vrrp_track_file_status).
// The file is created by init_file at start, with 0.
func TestKw11TrackFileMovesMastership(t *testing.T) {
	t.Parallel()
	const top = "track_file prio {\n    file @HOSTDIR@/prio\n    weight -20\n    init_file 0\n}"
	const track = "    track_file {\n        prio\n    }"
	configs := map[string]string{}
	for _, h := range []string{"cenvm71", "cenvm72"} {
		configs[h] = kw11Config(t, h, top, "", track)
	}
	c := interopStart(t, [2]lab.Daemon{lab.Hagent, lab.Hagent}, configs)
	c.waitRoles("cenvm71", "cenvm72")
	file := filepath.Join(c.l.HostDir("cenvm71"), "prio")
	if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Fatalf("init_file did not create %s with 0: %q %v", file, b, err)
	}
	write := func(v string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1")
	c.waitRoles("cenvm72", "cenvm71")
	if in, err := issue3Instance(c.l, "cenvm71"); err != nil || in.GetEffectivePriority() != 80 {
		t.Errorf("cenvm71 effective priority %d (%v), want 100 - 20 = 80", in.GetEffectivePriority(), err)
	}
	write("0")
	c.waitRoles("cenvm71", "cenvm72")
	write("13")
	c.l.WaitFor(func() bool {
		return c.role("cenvm71") == "FAULT" && c.role("cenvm72") == "MASTER" && c.l.Serves("cenvm72")
	}, issue3SettleTimeout, "cenvm71 FAULT (track_file 13 x -20 <= -254), cenvm72 MASTER")
	in, err := issue3Instance(c.l, "cenvm71")
	if err != nil || len(in.GetFaults()) != 1 || !strings.Contains(in.GetFaults()[0].String(), "prio") {
		t.Errorf("cenvm71 faults %v (%v), want the track_file prio", in.GetFaults(), err)
	}
	write("0")
	c.waitRoles("cenvm71", "cenvm72")
}

// TestKw11McastGroupInterop: with vrrp_mcast_group4 224.0.0.19 on both sides, hagent
// and keepalived 2.2.7 elect one master and fail over, in both orders. keepalived binds
// its socket to the configured group, so an agent that still sent to 224.0.0.18 would
// not be heard and both would be MASTER; and an advert to 224.0.0.18 (none here) would
// be a destination error.
func TestKw11McastGroupInterop(t *testing.T) {
	t.Parallel()
	for _, order := range [][2]lab.Daemon{{lab.Hagent, lab.Keepalived}, {lab.Keepalived, lab.Hagent}, {lab.Hagent, lab.Hagent}} {
		t.Run(fmt.Sprintf("%s-%s", order[0], order[1]), func(t *testing.T) {
			t.Parallel()
			configs := map[string]string{}
			for _, h := range []string{"cenvm71", "cenvm72"} {
				configs[h] = kw11Config(t, h, "", "    vrrp_mcast_group4 224.0.0.19", "")
			}
			c := interopStart(t, order, configs)
			c.waitRoles("cenvm71", "cenvm72")
			c.l.StopAgent("cenvm71")
			c.waitRoles("cenvm72", "")
			c.l.StartAgent("cenvm71")
			c.waitRoles("cenvm71", "cenvm72")
			for _, h := range []string{"cenvm71", "cenvm72"} {
				if c.daemon[h] != lab.Hagent {
					continue
				}
				if errs := interopReceiveErrors(c.l, h); len(errs) > 0 {
					t.Errorf("hagent on %s counted receive errors %v, want none", h, errs)
				}
			}
		})
	}
}

// TestKw11TrackSrcIP: cenvm71 sends from mcast_src_ip 192.168.188.81 with track_src_ip,
// and the address is not on its eth0 at start: it is FAULT and cenvm72 is MASTER. When
// the address is added, cenvm71 leaves FAULT and takes the VIP back (priority 100 >
// 90); when it is removed again, cenvm71 is FAULT again (keepalived_netlink.c
// netlink_if_address_filter: down_instance).
func TestKw11TrackSrcIP(t *testing.T) {
	t.Parallel()
	configs := map[string]string{
		"cenvm71": kw11Config(t, "cenvm71", "", "", "    mcast_src_ip 192.168.188.81\n    track_src_ip"),
		"cenvm72": kw11Config(t, "cenvm72", "", "", ""),
	}
	c := interopStart(t, [2]lab.Daemon{lab.Hagent, lab.Hagent}, configs)
	c.l.WaitFor(func() bool {
		return c.role("cenvm71") == "FAULT" && c.role("cenvm72") == "MASTER" && c.l.Serves("cenvm72")
	}, issue3SettleTimeout, "cenvm71 FAULT (source address missing), cenvm72 MASTER")
	if out, err := c.l.Exec("cenvm71", "ip", "addr", "add", "192.168.188.81/24", "dev", "eth0"); err != nil {
		t.Fatalf("add the source address: %v: %s", err, out)
	}
	// Not waitRoles: cenvm72 knows the master by its source address, .81 here.
	c.l.WaitFor(func() bool {
		return c.role("cenvm71") == "MASTER" && c.role("cenvm72") == "BACKUP" && c.l.Serves("cenvm71")
	}, issue3SettleTimeout, "cenvm71 MASTER again (source address back), cenvm72 BACKUP")
	if out, err := c.l.Exec("cenvm71", "ip", "addr", "del", "192.168.188.81/24", "dev", "eth0"); err != nil {
		t.Fatalf("remove the source address: %v: %s", err, out)
	}
	c.l.WaitFor(func() bool {
		return c.role("cenvm71") == "FAULT" && c.role("cenvm72") == "MASTER" && c.l.Serves("cenvm72")
	}, issue3SettleTimeout, "cenvm71 FAULT (source address removed), cenvm72 MASTER")
}

// TestKw11UnicastFaultNoPeer: cenvm71 (priority 100) has unicast_src_ip but no peer,
// with unicast_fault_no_peer: keepalived's vrrp_complete_instance keeps it in FAULT
// instead of falling back to multicast, so cenvm72 (90) is MASTER.
func TestKw11UnicastFaultNoPeer(t *testing.T) {
	t.Parallel()
	configs := map[string]string{
		"cenvm71": kw11Config(t, "cenvm71", "", "", "    unicast_src_ip 192.168.188.71\n    unicast_fault_no_peer"),
		"cenvm72": kw11Config(t, "cenvm72", "", "", ""),
	}
	c := interopStart(t, [2]lab.Daemon{lab.Hagent, lab.Hagent}, configs)
	c.l.WaitFor(func() bool {
		return c.role("cenvm71") == "FAULT" && c.role("cenvm72") == "MASTER" && c.l.Serves("cenvm72")
	}, issue3SettleTimeout, "cenvm71 FAULT (unicast without peers), cenvm72 MASTER")
	in, err := issue3Instance(c.l, "cenvm71")
	if err != nil || len(in.GetFaults()) != 1 || !strings.Contains(in.GetFaults()[0].String(), "unicast_fault_no_peer") {
		t.Errorf("cenvm71 faults %v (%v), want unicast_fault_no_peer", in.GetFaults(), err)
	}
}
