package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jitterBound is the backup's Master_Down_Interval at VRRPv3 advert_int 0.01,
// priority 90: 3 × 10 ms + (256−90)/256 × 10 ms.
const jitterBound = 36484 * time.Microsecond

// jitterResult is one capture window.
type jitterResult struct {
	daemon    Daemon
	condition string
	adverts   int // from cenvm71
	gaps      []time.Duration
	backupAdv int // adverts from cenvm72: it took over
	episodes  int // bursts of cenvm72 adverts (a spurious takeover each)
	masterLog int // cenvm72 log lines entering MASTER in the window
	dropped   string
}

// jitterGroup: VRRPv3 at advert_int 0.01, the master's advert inter-arrival times
// on the bridge, idle and with two CPU hogs, and spurious takeovers by the backup.
func (r *benchRun) jitterGroup(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("the jitter benchmark needs tcpdump (apt-get install tcpdump): %v", err)
	}
	started, load := time.Now(), loadAvg()
	var res []jitterResult
	for _, d := range r.daemons {
		t.Run(string(d), func(t *testing.T) {
			l := Start(t, Options{Daemon: d, Configs: map[string]string{
				master: benchConf("v3-10ms-71.conf"), backup: benchConf("v3-10ms-72.conf")}})
			r.version(l, d)
			for _, cond := range []string{"idle", "2 CPU hogs"} {
				waitServes(l, master)
				time.Sleep(3 * time.Second)
				res = append(res, captureJitter(t, l, d, cond, r.window))
			}
		})
	}
	var w strings.Builder
	fmt.Fprintf(&w, "lab/conf/v3-10ms-7x.conf: the seed configs as VRRPv3, advert_int 0.01, no authentication, the seed's check script kept (as the anchors' jitter profile). tcpdump on br0 in the switch namespace (`-i br0 -U -s 96 vrrp`) for %v per condition (the anchors used 120 s); hogs = two `sh -c 'while :; do :; done'` started and killed by PID, on this 2-vCPU machine. Inter-arrival = time between consecutive adverts from cenvm71 (tcpdump software timestamps). A spurious takeover = a burst of adverts from cenvm72 (bursts split by > 1 s); \"MASTER log lines\" counts cenvm72's log lines entering MASTER in the window (keepalived \"Entering MASTER STATE\", hagent `state change ... to=MASTER`). Backup's Master_Down_Interval = %.2f ms.\n\n", r.window, ms(jitterBound))
	w.WriteString("| daemon | condition | adverts from cenvm71 | mean ms | p50 ms | p99 ms | p99.9 ms | max ms | min ms | gaps > 20 ms | gaps > 36.5 ms | cenvm72 adverts | spurious takeovers | cenvm72 MASTER log lines | tcpdump |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range res {
		g := slices.Clone(x.gaps)
		slices.Sort(g)
		var sum time.Duration
		over20, overB := 0, 0
		for _, v := range g {
			sum += v
			if v > 20*time.Millisecond {
				over20++
			}
			if v > jitterBound {
				overB++
			}
		}
		if len(g) == 0 {
			fmt.Fprintf(&w, "| %s | %s | %d | - | - | - | - | - | - | - | - | %d | %d | %d | %s |\n", x.daemon, x.condition, x.adverts, x.backupAdv, x.episodes, x.masterLog, x.dropped)
			continue
		}
		fmt.Fprintf(&w, "| %s | %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %d | %d | %d | %d | %s |\n", x.daemon, x.condition, x.adverts,
			ms(sum)/float64(len(g)), ms(pct(g, 50)), ms(pct(g, 99)), ms(pct(g, 99.9)), ms(g[len(g)-1]), ms(g[0]), over20, overB, x.backupAdv, x.episodes, x.masterLog, x.dropped)
	}
	r.section(t, "Advert jitter at VRRPv3 advert_int 0.01", w.String(), started, load)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func captureJitter(t *testing.T, l *Lab, d Daemon, cond string, window time.Duration) jitterResult {
	file := filepath.Join(t.TempDir(), "vrrp.pcap")
	var stderr bytes.Buffer
	dump := exec.Command("ip", "netns", "exec", l.NetNS("sw"), "tcpdump", "-i", "br0", "-U", "-s", "96", "-w", file, "vrrp")
	dump.Stderr = &stderr
	if err := dump.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	l.WaitFor(func() bool { return strings.Contains(stderr.String(), "listening on") }, 10*time.Second, "tcpdump to start")
	var hogs []*exec.Cmd
	if cond != "idle" {
		for range 2 {
			h := exec.Command("sh", "-c", "while :; do :; done")
			if err := h.Start(); err != nil {
				t.Fatalf("start CPU hog: %v", err)
			}
			hogs = append(hogs, h)
		}
	}
	logBefore := len(l.AgentLog(backup))
	t.Logf("%s %s: capture %v, load %s", d, cond, window, loadAvg())
	time.Sleep(window)
	for _, h := range hogs {
		_ = h.Process.Kill()
		_ = h.Wait()
	}
	_ = dump.Process.Signal(syscall.SIGINT)
	_ = dump.Wait()
	x := jitterResult{daemon: d, condition: cond}
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if strings.Contains(line, "dropped by kernel") {
			x.dropped = strings.TrimSpace(line)
		}
	}
	for line := range strings.SplitSeq(l.AgentLog(backup)[logBefore:], "\n") {
		if strings.Contains(line, "Entering MASTER STATE") || (strings.Contains(line, `msg="state change"`) && strings.Contains(line, "to=MASTER")) {
			x.masterLog++
		}
	}
	pkts, err := readVRRPPcap(file)
	if err != nil {
		t.Fatal(err)
	}
	var prev, prevBackup time.Time
	for _, p := range pkts {
		switch p.src.String() {
		case "192.168.188.71":
			x.adverts++
			if !prev.IsZero() {
				x.gaps = append(x.gaps, p.at.Sub(prev))
			}
			prev = p.at
		case "192.168.188.72":
			x.backupAdv++
			if prevBackup.IsZero() || p.at.Sub(prevBackup) > time.Second {
				x.episodes++
			}
			prevBackup = p.at
		}
	}
	t.Logf("%s %s: %d adverts from %s, %d from %s (%d episodes), %s", d, cond, x.adverts, master, x.backupAdv, backup, x.episodes, x.dropped)
	return x
}

type pcapPacket struct {
	at  time.Time
	src net.IP
}

// readVRRPPcap reads the IPv4 VRRP packets of a classic pcap file of Ethernet
// frames (what tcpdump -w writes).
func readVRRPPcap(path string) ([]pcapPacket, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("capture %s: short file (%d bytes)", path, len(b))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	default:
		bo = binary.BigEndian
		switch binary.BigEndian.Uint32(b) {
		case 0xa1b2c3d4:
		case 0xa1b23c4d:
			nano = true
		default:
			return nil, fmt.Errorf("capture %s: not a pcap file", path)
		}
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("capture %s: link type %d, want Ethernet", path, lt)
	}
	var out []pcapPacket
	for off := 24; off+16 <= len(b); {
		sec, frac, incl := bo.Uint32(b[off:]), bo.Uint32(b[off+4:]), int(bo.Uint32(b[off+8:]))
		data := b[off+16 : min(off+16+incl, len(b))]
		off += 16 + incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		if len(data) < 34 || binary.BigEndian.Uint16(data[12:]) != 0x0800 || data[23] != 112 {
			continue
		}
		out = append(out, pcapPacket{at: time.Unix(int64(sec), ns), src: net.IP(slices.Clone(data[26:30]))})
	}
	return out, nil
}
