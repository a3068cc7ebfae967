package e2e

// Issue 17, acceptance: the daemon starts on a host that is not ready yet — no IPv4
// address, an IPv6 link-local address still tentative, an interface created later or
// deleted and created again while MASTER, a check script deployed after the daemon —
// stays up, and ends in the same role as keepalived 2.2.7 run through the same case.
// cenvm71 runs the daemon under test (hagent, then keepalived, each in its own lab);
// cenvm72 runs hagent at a lower priority as the peer.

import (
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/lab"
)

// unreadySettle bounds every wait: a FAULT cleared goes BACKUP, then MASTER after
// Master_Down_Interval (3.6 s at advert_int 1) or at once by preemption; the rest is the
// slack of a loaded two-core machine.
const unreadySettle = 40 * time.Second

// keepalived 2.2.7's state lines: "(VI_1) Entering MASTER STATE", and at start
// "(VI_1) entering FAULT state (no IPv4 address for interface)".
var unreadyKeepalivedState = regexp.MustCompile(`\((VI_\w+)\):? (?:E|e)ntering (\w+) (?:STATE|state)`)

// unreadyCase is one way of not being ready; run drives it on cenvm71 and returns when
// the lab has settled again.
type unreadyCase struct {
	name     string
	instance string
	configs  map[string]string // nil: the seed's
	deferred []string          // hosts whose daemon the case starts itself
	run      func(u *unreadyRun)
}

// TestUnreadyHost runs each case with hagent and with keepalived 2.2.7 on cenvm71: both
// must stay up and end in the same role (MASTER, cenvm72 BACKUP), and hagent must have
// been FAULT with the reason while the host was not ready.
func TestUnreadyHost(t *testing.T) {
	t.Parallel()
	mv := map[string]string{"cenvm71": "testdata/unready/mv-cenvm71.conf", "cenvm72": "testdata/unready/mv-cenvm72.conf"}
	cases := []unreadyCase{
		{name: "ipv4-address-added-after-start", instance: "VI_1", deferred: []string{"cenvm71"}, run: unreadyIPv4Address},
		{name: "ipv6-link-local-tentative-at-start", instance: "VI_6", deferred: []string{"cenvm71"}, run: unreadyIPv6LinkLocal,
			configs: map[string]string{"cenvm71": "testdata/unready/ipv6-cenvm71.conf", "cenvm72": "testdata/unready/ipv6-cenvm72.conf"}},
		{name: "interface-created-after-start", instance: "VI_1", configs: mv, deferred: []string{"cenvm71", "cenvm72"}, run: unreadyInterfaceCreated},
		{name: "interface-recreated-while-master", instance: "VI_1", configs: mv, deferred: []string{"cenvm71", "cenvm72"}, run: unreadyInterfaceRecreated},
		{name: "script-file-appears-after-start", instance: "VI_1", run: unreadyScriptAppears,
			configs: map[string]string{"cenvm71": "testdata/unready/script-cenvm71.conf"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			final := map[lab.Daemon]string{}
			t.Run("daemons", func(t *testing.T) {
				for _, d := range []lab.Daemon{lab.Hagent, lab.Keepalived} {
					t.Run(string(d), func(t *testing.T) {
						t.Parallel()
						u := unreadyStart(t, c, d)
						c.run(u)
						if u.l.AgentPID("cenvm71") == 0 {
							t.Fatalf("%s on cenvm71 exited", d)
						}
						mu.Lock()
						final[d] = u.role("cenvm71")
						mu.Unlock()
					})
				}
			})
			// Both ran (a -run pattern may pick one daemon) and neither failed.
			if len(final) == 2 && !t.Failed() && final[lab.Hagent] != final[lab.Keepalived] {
				t.Errorf("cenvm71 ends %s with hagent, %s with keepalived 2.2.7", final[lab.Hagent], final[lab.Keepalived])
			}
		})
	}
}

// unreadyRun is one case in one lab.
type unreadyRun struct {
	t      *testing.T
	l      *lab.Lab
	daemon lab.Daemon // on cenvm71; cenvm72 runs hagent
	inst   string
}

func unreadyStart(t *testing.T, c unreadyCase, d lab.Daemon) *unreadyRun {
	t.Helper()
	l := lab.Start(t, lab.Options{
		Daemons:  map[string]lab.Daemon{"cenvm71": d, "cenvm72": lab.Hagent},
		Configs:  c.configs,
		Deferred: c.deferred,
	})
	return &unreadyRun{t: t, l: l, daemon: d, inst: c.instance}
}

// sh runs script in host's namespace and fails the test if it fails.
func (u *unreadyRun) sh(host, script string) {
	u.t.Helper()
	if out, err := u.l.Exec(host, "sh", "-c", script); err != nil {
		u.t.Fatalf("on %s: %s: %v\n%s", host, script, err, out)
	}
}

// role is host's state of the instance as its daemon reports it: hagent's status, or
// the last state line keepalived logged since it was started; "" when not known.
func (u *unreadyRun) role(host string) string {
	if host != "cenvm71" || u.daemon == lab.Hagent {
		in, err := u.l.Instance(host, u.inst)
		if err != nil {
			return ""
		}
		return strings.TrimPrefix(in.GetState().String(), "STATE_")
	}
	if u.l.AgentPID(host) == 0 {
		return ""
	}
	state := ""
	for _, m := range unreadyKeepalivedState.FindAllStringSubmatch(interopCurrentRun(u.l.AgentLog(host)), -1) {
		if m[1] == u.inst {
			state = strings.ToUpper(m[2])
		}
	}
	return state
}

// hactlFault is host's state of the instance and its fault reasons ("source: reason;
// ...") as the operator sees them in `hactl status --json`.
func (u *unreadyRun) hactlFault(host string) (state, faults string) {
	doc, err := faultsStatus(u.l)
	if err != nil {
		return "", err.Error()
	}
	for _, n := range doc.Nodes {
		for _, in := range n.Instances {
			if n.Name != host || in.Name != u.inst {
				continue
			}
			var out []string
			for _, f := range in.Faults {
				out = append(out, f.Source+": "+f.Reason)
			}
			return in.State, strings.Join(out, "; ")
		}
	}
	return "", ""
}

// hasAddr reports whether host has addr on dev.
func (u *unreadyRun) hasAddr(host, dev, addr string) bool {
	out, err := u.l.Exec(host, "ip", "-o", "addr", "show", "dev", dev)
	return err == nil && strings.Contains(out, " "+addr+"/")
}

// waitFault waits until cenvm71 is FAULT because the host is not ready: hagent with a
// fault reason containing hagentReason in `hactl status --json`, keepalived having
// logged keepalivedLine.
func (u *unreadyRun) waitFault(hagentReason, keepalivedLine string) {
	u.t.Helper()
	if u.daemon == lab.Hagent {
		var state, faults string
		u.l.WaitFor(func() bool {
			state, faults = u.hactlFault("cenvm71")
			return state == "FAULT" && strings.Contains(faults, hagentReason)
		}, unreadySettle, "hactl status --json: cenvm71 FAULT with %q (last: %s, faults %q)", hagentReason, state, faults)
		return
	}
	u.l.WaitFor(func() bool {
		return u.role("cenvm71") == "FAULT" && strings.Contains(interopCurrentRun(u.l.AgentLog("cenvm71")), keepalivedLine)
	}, unreadySettle, "keepalived on cenvm71 FAULT, logging %q", keepalivedLine)
}

// waitSettled waits until cenvm71 is MASTER holding the VIP and cenvm72 BACKUP without
// it; holds(host) says whether host holds the VIP.
func (u *unreadyRun) waitSettled(holds func(host string) bool) {
	u.t.Helper()
	u.l.WaitFor(func() bool {
		return u.role("cenvm71") == "MASTER" && u.role("cenvm72") == "BACKUP" && holds("cenvm71") && !holds("cenvm72")
	}, unreadySettle, "%s on cenvm71 MASTER with the VIP, hagent on cenvm72 BACKUP without it", u.daemon)
}

// waitPeerMaster waits until cenvm72 alone holds the VIP.
func (u *unreadyRun) waitPeerMaster(holds func(host string) bool) {
	u.t.Helper()
	u.l.WaitFor(func() bool {
		return u.role("cenvm72") == "MASTER" && holds("cenvm72") && !holds("cenvm71")
	}, unreadySettle, "hagent on cenvm72 MASTER holding the VIP alone")
}

// eth0 without an IPv4 address when the daemon starts (DHCP not done): FAULT ("no IPv4
// address for interface", keepalived's vrrp_track.c initialise_vrrp_tracking_priorities),
// then the address arrives and cenvm71 takes over as in the seed.
func unreadyIPv4Address(u *unreadyRun) {
	serves := func(host string) bool { return u.l.Serves(host) }
	u.waitPeerMaster(func(h string) bool { return u.hasAddr(h, "eth0", lab.VIP) })
	u.sh("cenvm71", "ip -4 addr flush dev eth0")
	u.l.StartAgent("cenvm71")
	u.waitFault("source address: eth0 has no primary IPv4 address", "(VI_1) entering FAULT state (no IPv4 address for interface)")
	u.sh("cenvm71", "ip addr add 192.168.188.71/24 dev eth0")
	u.waitSettled(serves)
}

// eth0 without an IPv6 link-local address when the daemon starts, then one added with
// duplicate address detection on (three probes: tentative for three seconds). hagent
// stays FAULT while it is tentative (it cannot be a source yet), keepalived takes it at
// once; both end MASTER.
func unreadyIPv6LinkLocal(u *unreadyRun) {
	holds := func(h string) bool { return u.hasAddr(h, "eth0", "fd00::109") }
	u.waitPeerMaster(holds)
	u.sh("cenvm71", "sysctl -qw net.ipv6.conf.eth0.dad_transmits=3 && ip -6 addr flush dev eth0 scope link")
	u.l.StartAgent("cenvm71")
	u.waitFault("source address: eth0 has no IPv6 link-local address", "(VI_6) entering FAULT state (no IPv6 address for interface)")
	u.sh("cenvm71", "ip addr add fe80::71/64 dev eth0")
	if u.daemon == lab.Hagent {
		u.waitFault("is tentative (duplicate address detection running)", "")
	}
	u.waitSettled(holds)
}

// mv100 does not exist when the daemon starts (a VLAN or bond set up later): FAULT, then
// the interface is created with its address and cenvm71 takes over.
func unreadyInterfaceCreated(u *unreadyRun) {
	holds := func(h string) bool { return u.hasAddr(h, "mv100", "10.100.0.109") }
	unreadyCreateMV(u, "cenvm72")
	u.l.StartAgent("cenvm72")
	u.waitPeerMaster(holds)
	u.l.StartAgent("cenvm71")
	u.waitFault("interface mv100: does not exist", "(VI_1) entering FAULT state")
	unreadyCreateMV(u, "cenvm71")
	u.waitSettled(holds)
}

// mv100 deleted while cenvm71 is MASTER and created again (a new ifindex: the socket
// bound to the old one hears nothing, its multicast membership is gone, the VIP went
// with it): cenvm72 takes over, then cenvm71 again. hagent must hear cenvm72's adverts
// on the new interface, not only send its own.
func unreadyInterfaceRecreated(u *unreadyRun) {
	holds := func(h string) bool { return u.hasAddr(h, "mv100", "10.100.0.109") }
	unreadyCreateMV(u, "cenvm71")
	unreadyCreateMV(u, "cenvm72")
	u.l.StartAgent("cenvm71")
	u.l.StartAgent("cenvm72")
	u.waitSettled(holds)

	u.sh("cenvm71", "ip link del mv100")
	u.waitPeerMaster(holds)
	u.waitFault("interface mv100: does not exist", "(VI_1) Entering FAULT STATE")
	var heard uint64
	if u.daemon == lab.Hagent {
		in, err := u.l.Instance("cenvm71", u.inst)
		if err != nil {
			u.t.Fatal(err)
		}
		heard = in.GetAdvertsReceived()
	}
	unreadyCreateMV(u, "cenvm71")
	u.waitSettled(holds)
	if u.daemon == lab.Hagent {
		in, err := u.l.Instance("cenvm71", u.inst)
		if err != nil {
			u.t.Fatal(err)
		}
		if in.GetAdvertsReceived() <= heard {
			u.t.Errorf("hagent on cenvm71 received %d adverts after mv100 was re-created (%d before): its socket is deaf to the new interface",
				in.GetAdvertsReceived()-heard, heard)
		}
	}
}

// unreadyCreateMV creates mv100 (a macvlan on eth0: this kernel has no 8021q) with
// host's address on 10.100.0.0/24 and brings it up.
func unreadyCreateMV(u *unreadyRun, host string) {
	u.t.Helper()
	addr := "10.100.0." + strings.TrimPrefix(host, "cenvm") + "/24"
	u.sh(host, "ip link add link eth0 name mv100 type macvlan mode bridge && ip addr add "+addr+" dev mv100 && ip link set mv100 up")
}

// The tracked check script does not exist when the daemon starts and is deployed after.
// keepalived 2.2.7 disables it (vrrp.c check_track_script_secure) and goes MASTER
// without it; hagent is stricter: FAULT ("does not exist") until the file appears, then
// runs it and goes MASTER. Both end MASTER; `hagent -t` said beforehand what the run does.
func unreadyScriptAppears(u *unreadyRun) {
	script := filepath.Join(u.l.HostDir("cenvm71"), "late_check.sh")
	if u.daemon == lab.Hagent {
		conf := filepath.Join(u.l.HostDir("cenvm71"), "keepalived.conf")
		_, stderr, code := checkRun(u.t, "-t", "-f", conf)
		want := "vrrp_script chk_late: script: " + script + " does not exist; the check fails until it exists (keepalived 2.2.7 disables it instead): VI_1 FAULT"
		if code != 0 || !strings.Contains(stderr, want) {
			u.t.Errorf("hagent -t -f %s: exit %d, stderr:\n%s\nwant exit 0 and the warning %q", conf, code, stderr, want)
		}
		u.waitFault("script chk_late: "+script+" does not exist", "")
		u.waitPeerMaster(func(h string) bool { return u.l.Serves(h) })
	} else {
		u.l.WaitFor(func() bool {
			return strings.Contains(u.l.AgentLog("cenvm71"), "Disabling track script chk_late since not found/accessible")
		}, unreadySettle, "keepalived disabling chk_late")
	}
	// Written by another process and renamed in whole: a file this process had open for
	// writing could be inherited by a concurrent fork and fail the daemon's exec with
	// ETXTBSY, and a half-written one must never run.
	u.sh("cenvm71", "printf '#!/bin/sh\\nexit 0\\n' >"+script+".tmp && chmod 755 "+script+".tmp && mv "+script+".tmp "+script)
	u.waitSettled(func(h string) bool { return u.l.Serves(h) })
	if u.daemon == lab.Hagent {
		in, err := u.l.Instance("cenvm71", u.inst)
		if err != nil {
			u.t.Fatal(err)
		}
		for _, p := range in.GetProbes() {
			if p.GetName() == "chk_late" && !p.GetHealthy() {
				u.t.Errorf("chk_late unhealthy once the script exists: %s", p.GetReason())
			}
		}
	}
}
