package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The /proc status split: the named kB fields in order, whatever else surrounds
// them; a missing field or a value that is not kB is an error, not a zero.
func TestParseKBFields(t *testing.T) {
	status := "Name:\thagent\nVmPeak:\t 1000 kB\nVmRSS:\t   15872 kB\nRssAnon:\t    6144 kB\nRssFile:\t    9728 kB\nRssShmem:\t       0 kB\nThreads:\t7\n"
	got, err := parseKBFields(status, "VmRSS", "RssAnon", "RssFile", "RssShmem")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{15872, 6144, 9728, 0}; !equalInts(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	rollup := "00400000-7ffd [rollup]\nRss:  15872 kB\nPss:   9421 kB\nPss_Anon:  6144 kB\n"
	if got, err := parseKBFields(rollup, "Pss"); err != nil || got[0] != 9421 {
		t.Fatalf("Pss = %v, %v; want 9421 (not Pss_Anon)", got, err)
	}
	if _, err := parseKBFields(status, "VmSwap"); err == nil {
		t.Fatal("a missing field parsed")
	}
	if _, err := parseKBFields("Threads:\t7 pages\n", "Threads"); err == nil {
		t.Fatal("a value in another unit parsed")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The scale profile: VRIDs 1..255 per interface and family, never reused; N <= 255
// is the anchors' IPv4 VRRPv2 profile on eth0; IPv6 instances are VRRPv3 without
// authentication; eth1 only past 510.
func TestScaleInstances(t *testing.T) {
	ins := scaleInstances(scaleMax)
	type key struct {
		iface string
		v6    bool
		vrid  int
	}
	seen, vips := map[key]bool{}, map[netip.Addr]bool{}
	for i, in := range ins {
		k := key{in.iface, in.v6, in.vrid}
		if seen[k] || vips[in.vip] {
			t.Fatalf("instance %d %+v: VRID or VIP used twice", i+1, in)
		}
		seen[k], vips[in.vip] = true, true
		if in.vrid < 1 || in.vrid > 255 || in.vip.Is6() != in.v6 {
			t.Fatalf("instance %d: %+v", i+1, in)
		}
	}
	if ins[0].vip != netip.MustParseAddr("192.168.189.1") || ins[254].vip != netip.MustParseAddr("192.168.189.255") || ins[254].iface != "eth0" || ins[254].v6 {
		t.Fatalf("the first 255 are not the anchors' profile: %+v %+v", ins[0], ins[254])
	}
	if ins[255].iface != "eth0" || !ins[255].v6 || ins[510].iface != "eth1" || ins[510].v6 || ins[765].iface != "eth1" || !ins[765].v6 {
		t.Fatalf("block order: %+v %+v %+v", ins[255], ins[510], ins[765])
	}
	if scaleNeedsEth1(510) || !scaleNeedsEth1(511) {
		t.Fatal("eth1 is needed from instance 511 on")
	}

	c := scaleConfigText(backup, 1000)
	if n := strings.Count(c, "vrrp_instance "); n != 1000 {
		t.Fatalf("%d instances in the 1000-instance config", n)
	}
	if n := strings.Count(c, "version 3"); n != 255+235 {
		t.Fatalf("%d VRRPv3 instances, want the 490 IPv6 ones", n)
	}
	if n := strings.Count(c, "auth_type PASS"); n != 510 {
		t.Fatalf("%d instances with authentication, want the 510 IPv4 ones", n)
	}
	if !strings.Contains(c, "state BACKUP\n    interface eth1\n    virtual_router_id 235\n    priority 90\n    advert_int 1\n    version 3\n    virtual_ipaddress {\n        fd00:191::235/128\n") {
		t.Fatal("the last instance of the 1000-instance backup config is not IPv6 VRRPv3 on eth1 VRID 235")
	}
}

// keepalived 2.2.7 accepts the generated configs (its own config test, -t, which
// wants the interfaces to exist: a veth pair eth0/eth1 in a throw-away network
// namespace that ends with the command), as root (keepalived installed if missing).
func TestScaleConfigKeepalived(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace)")
	}
	// As root it installs keepalived when missing, as the lab does: the check must run.
	if err := EnsureCommands(map[string]string{"keepalived": "keepalived"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{255, scaleMax} {
		for _, host := range []string{master, backup} {
			p := scaleConfig(t, dir, host, n)
			out, err := exec.Command("unshare", "--net", "sh", "-c",
				`ip link add eth0 type veth peer name eth1 && exec keepalived -t -f "$0"`, p).CombinedOutput()
			if err != nil {
				t.Fatalf("keepalived -t -f %s: %v\n%s", filepath.Base(p), err, out)
			}
		}
	}
}

func TestSizesAndGrowth(t *testing.T) {
	s, err := parseScaleSizes("1000, 1,255,1")
	if err != nil || !equalInts(s, []int{1, 255, 1000}) {
		t.Fatalf("parseScaleSizes = %v, %v", s, err)
	}
	for _, bad := range []string{"0", "1021", "x", "1,,2"} {
		if _, err := parseScaleSizes(bad); err == nil {
			t.Fatalf("parseScaleSizes(%q) accepted", bad)
		}
	}
	ns := []int{1, 255, 1000}
	// Linear: 1 + 2 per instance.
	if steps, lin := growthSteps(ns, []float64{3, 511, 2001}, 0); !lin || steps[0] != 2 || steps[1] != 2 {
		t.Fatalf("linear growth: %v %v", steps, lin)
	}
	// The second step costs 3 per instance, the first 2: faster than linear.
	if _, lin := growthSteps(ns, []float64{3, 511, 511 + 3*745}, 0); lin {
		t.Fatal("super-linear growth called linear")
	}
	// ... unless within the resolution.
	if _, lin := growthSteps(ns, []float64{0, 0, 0.02}, 0.06); !lin {
		t.Fatal("one tick over 745 instances called faster than linear")
	}
}

// scaleMixGrowth sets the step 510 → 1020 against the average of 1 → 510, whatever the
// step 255 → 510 did: dear IPv6 instances from 256 are not growth, a dearer second half
// is. Only with 510 and 1020 among the sizes.
func TestScaleMixGrowth(t *testing.T) {
	const window = time.Minute
	use := func(cpu map[int]float64) []usage {
		var out []usage
		for n, c := range cpu {
			d := time.Duration(c * float64(time.Second))
			out = append(out, usage{daemon: Hagent, node: master, label: fmt.Sprintf("%d instances", n),
				cpu: d, onCPU: d, window: window, mem: procMem{RSS: 5000 + 15*n}})
		}
		return out
	}
	sizes := []int{1, 255, 510, 1020}
	// IPv4 instances 1 ms/min each, IPv6 ones 2: 1 → 255 → 510 is 1 → 2 per instance
	// (faster, step by step); 510 → 1020 repeats the mix, 1.5 per instance as before.
	linear := use(map[int]float64{1: 0.001, 255: 0.255, 510: 0.765, 1020: 1.530})
	got := scaleMixGrowth(linear, []Daemon{Hagent}, sizes, window)
	if !strings.Contains(got, "hagent master: CPU 1.50 → 1.50 ms/min per instance (1.00×, at most linear)") {
		t.Errorf("constant mix, constant cost per instance:\n%s", got)
	}
	if !strings.Contains(scaleGrowth(linear, []Daemon{Hagent}, sizes, window), "CPU 1.00 → 2.00 → 1.50 ms/min per instance (**faster than linear**)") {
		t.Error("the step-by-step line no longer shows the IPv6 step as it is")
	}
	// The second 510 at 2 per instance: 1.33× the first's average.
	dearer := use(map[int]float64{1: 0.001, 255: 0.255, 510: 0.765, 1020: 1.785})
	if got := scaleMixGrowth(dearer, []Daemon{Hagent}, sizes, window); !strings.Contains(got, "(1.33×, **faster than linear**)") {
		t.Errorf("a dearer second half called linear:\n%s", got)
	}
	if got := scaleMixGrowth(linear, []Daemon{Hagent}, []int{1, 255, 1000}, window); got != "" {
		t.Errorf("without 510 and 1020: %q", got)
	}
}

// The adverts of a tcpdump capture: IPv4 and IPv6 VRRP with their VRIDs and
// timestamps, other frames skipped.
func TestParseAdvertPcap(t *testing.T) {
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr, 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 96)
	le.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	frame := func(sec, usec uint32, data []byte) {
		rec := make([]byte, 16)
		le.PutUint32(rec, sec)
		le.PutUint32(rec[4:], usec)
		le.PutUint32(rec[8:], uint32(len(data)))
		le.PutUint32(rec[12:], uint32(len(data)))
		b.Write(rec)
		b.Write(data)
	}
	eth := func(typ uint16) []byte {
		e := make([]byte, 14)
		binary.BigEndian.PutUint16(e[12:], typ)
		return e
	}
	v4 := append(eth(0x0800), make([]byte, 20+8)...)
	v4[14] = 0x45
	v4[14+9] = 112
	copy(v4[14+12:], []byte{192, 168, 188, 71})
	v4[14+20], v4[14+21] = 0x21, 42
	frame(1000, 250000, v4)
	arp := append(eth(0x0806), make([]byte, 28)...)
	frame(1000, 260000, arp)
	v6 := append(eth(0x86dd), make([]byte, 40+8)...)
	v6[14+6] = 112
	src := netip.MustParseAddr("fe80::1")
	s16 := src.As16()
	copy(v6[14+8:], s16[:])
	v6[14+40], v6[14+41] = 0x31, 7
	frame(1001, 5, v6)

	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readAdvertPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []advert{
		{time.Unix(1000, 250000000), netip.MustParseAddr("192.168.188.71"), 42},
		{time.Unix(1001, 5000), src, 7},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d adverts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !got[i].at.Equal(want[i].at) || got[i].src != want[i].src || got[i].vrid != want[i].vrid {
			t.Fatalf("advert %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// The failover times: first/half/all from the event, and per instance the time
// from its last advert to its VIP minus Master_Down_Interval.
func TestScaleTimes(t *testing.T) {
	ev := time.Unix(2000, 0)
	ins := scaleInstances(3)
	at := map[netip.Addr]time.Time{
		ins[0].vip: ev.Add(3000 * time.Millisecond),
		ins[1].vip: ev.Add(3100 * time.Millisecond),
		ins[2].vip: ev.Add(3500 * time.Millisecond),
	}
	m := netip.MustParseAddr("192.168.188.71")
	adverts := []advert{
		{ev.Add(-1500 * time.Millisecond), m, 1},
		{ev.Add(-500 * time.Millisecond), m, 1}, // the last of VRID 1
		{ev.Add(-600 * time.Millisecond), m, 2},
		// VRID 3: no advert captured on eth0 (eth1's VRID 3 is another instance).
	}
	f := scaleTimes(ins, at, map[string][]advert{"eth0": adverts, "eth1": {{ev, m, 3}}}, ev)
	if f.first != 3000*time.Millisecond || f.half != 3100*time.Millisecond || f.all != 3500*time.Millisecond || f.spread() != 500*time.Millisecond {
		t.Fatalf("first/half/all/spread = %v/%v/%v/%v", f.first, f.half, f.all, f.spread())
	}
	if len(f.late) != 2 || f.late[0] != 3500*time.Millisecond-scaleMDI || f.late[1] != 3700*time.Millisecond-scaleMDI || f.noAdvert != 1 {
		t.Fatalf("late %v, noAdvert %d", f.late, f.noAdvert)
	}
}

func TestMemStatsLine(t *testing.T) {
	heap := "heap profile: 1: 2 [3: 4] @ heap/1048576\n# runtime.MemStats\n# Alloc = 100\n# Sys = 20971520\n# HeapInuse = 1048576\n# Stack = 3145728 / 4194304\n# NumGC = 12\n# GCCPUFraction = 0.0125\n"
	if got, want := memStatsLine(heap), "Sys 20.0 MB, HeapInuse 1.0 MB, Stack 3.0 MB, NumGC 12, GCCPUFraction 1.2 %"; got != want {
		t.Fatalf("memStatsLine = %q, want %q", got, want)
	}
}
