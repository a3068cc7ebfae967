package e2e

// Issue 10: keepalived's pre-1.3.6 VRRPv3 unicast checksum (224.0.0.18 in the
// pseudo-header, whatever the unicast destination), between hagent and keepalived 2.2.7.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hagent-dev/hagent/lab"
)

// oldChecksumConfig is the seed's host config as VRRPv3 over unicast to the other host,
// with extra (e.g. "old_unicast_checksum") in the instance.
func oldChecksumConfig(t *testing.T, host, extra string) string {
	t.Helper()
	self, peer, state, prio := "192.168.188.71", "192.168.188.72", "MASTER", 100
	if host == "cenvm72" {
		self, peer, state, prio = peer, self, "BACKUP", 90
	}
	conf := fmt.Sprintf(`global_defs {
   router_id LVS_DEVEL
   vrrp_version 3
}
vrrp_script chk_nginx {
    script "@HOSTDIR@/check_ng.sh"
    interval 3
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    %s
    virtual_ipaddress {
        192.168.188.109
    }
    track_script {
        chk_nginx
    }
}
`, state, prio, self, peer, extra)
	path := filepath.Join(t.TempDir(), host+"-oldchecksum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInteropOldUnicastChecksum runs a unicast VRRPv3 pair of hagent and keepalived
// 2.2.7 where one side sends keepalived's pre-1.3.6 checksum (`old_unicast_checksum`).
// The other side detects it on the first advert and switches to it, as keepalived's
// vrrp_check_packet does: roles settle, a failover and a preemption work, and the side
// that switched rejects nothing. With `old_unicast_checksum never` on hagent, it must
// reject keepalived's adverts as bad checksums and become MASTER too.
func TestInteropOldUnicastChecksum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		order  [2]lab.Daemon // cenvm71 (master), cenvm72 (backup)
		extra  map[string]string
		refuse bool
	}{
		{"keepalived-sends-old", [2]lab.Daemon{lab.Keepalived, lab.Hagent}, map[string]string{"cenvm71": "old_unicast_checksum"}, false},
		{"hagent-sends-old", [2]lab.Daemon{lab.Hagent, lab.Keepalived}, map[string]string{"cenvm71": "old_unicast_checksum"}, false},
		{"hagent-never", [2]lab.Daemon{lab.Keepalived, lab.Hagent},
			map[string]string{"cenvm71": "old_unicast_checksum", "cenvm72": "old_unicast_checksum never"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			configs := map[string]string{}
			for _, h := range []string{"cenvm71", "cenvm72"} {
				configs[h] = oldChecksumConfig(t, h, tc.extra[h])
			}
			c := interopStart(t, tc.order, configs)
			if tc.refuse {
				// One rejected advert is all keepalived is sure to send: once hagent is MASTER
				// too, keepalived 2.2.7 re-arms its own advert timer on every packet it reads,
				// rejected ones included (vrrp_scheduler.c: vrrp_dispatcher_read), and
				// hagent's adverts, exactly an advert_int apart, arrive just before it
				// expires: keepalived keeps the VIP and falls silent (README, advert_int).
				var errs map[string]uint64
				c.l.WaitFor(func() bool {
					errs = interopReceiveErrors(c.l, "cenvm72")
					return c.role("cenvm71") == "MASTER" && c.role("cenvm72") == "MASTER" && errs["checksum"] >= 1
				}, issue3SettleTimeout, "both MASTER, hagent on cenvm72 counting checksum errors (has %v)", errs)
				if len(errs) != 1 {
					t.Fatalf("hagent on cenvm72 counted %v, want checksum errors alone", errs)
				}
				return
			}
			c.waitRoles("cenvm71", "cenvm72")
			c.l.StopAgent("cenvm71")
			c.waitRoles("cenvm72", "")
			c.l.StartAgent("cenvm71")
			c.waitRoles("cenvm71", "cenvm72")
			// The side without the keyword switched and rejected nothing. The side with it
			// may have rejected the other's first adverts, sent before it switched (when
			// the other timed out first at start): keepalived does the same.
			other := "cenvm72"
			switch c.daemon[other] {
			case lab.Keepalived:
				log := c.l.AgentLog(other)
				if !strings.Contains(log, "(VI_1) Setting unicast VRRPv3 checksum to old version") {
					t.Errorf("keepalived on %s did not switch to the old checksum:\n%s", other, log)
				}
				for line := range strings.SplitSeq(log, "\n") {
					if interopKeepalivedRecvError.MatchString(line) {
						t.Errorf("keepalived on %s logged a receive error: %s", other, line)
					}
				}
			case lab.Hagent:
				if log := c.l.AgentLog(other); !strings.Contains(log, "unicast VRRPv3 checksum switched") {
					t.Errorf("hagent on %s did not log the switch to the old checksum:\n%s", other, log)
				}
				if errs := interopReceiveErrors(c.l, other); len(errs) > 0 {
					t.Errorf("hagent on %s counted receive errors %v, want none", other, errs)
				}
			}
			if c.daemon["cenvm71"] == lab.Hagent {
				for cause := range interopReceiveErrors(c.l, "cenvm71") {
					if cause != "checksum" {
						t.Errorf("hagent on cenvm71 counted %q receive errors", cause)
					}
				}
			}
		})
	}
}
