package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestWatchJSON(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_BACKUP, 100, ""))
	cmd := exec.CommandContext(t.Context(), hactlBin, "watch", "--json", n1.flag())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("hactl watch ended early")
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("line is not JSON: %v: %s", err, l)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no line from hactl watch within 10s")
		}
		return nil
	}

	snap := next()
	if snap["node"] != "n1" || snap["event"].(map[string]any)["snapshot"] == nil {
		t.Fatalf("first line = %v, want n1's snapshot", snap)
	}
	n1.transition("VI_1", hactlv1.State_STATE_MASTER, "master down timer expired", time.Now())
	ev := next()
	tr, _ := ev["event"].(map[string]any)["transition"].(map[string]any)
	if ev["node"] != "n1" || ev["seq"] != float64(2) || ev["time"] == nil ||
		tr["instance"] != "VI_1" || tr["from"] != "STATE_BACKUP" || tr["to"] != "STATE_MASTER" {
		t.Errorf("transition line = %v", ev)
	}

	// Interrupted, watch ends normally.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("watch after SIGINT: %v, want exit 0", err)
	}
}

func TestWatchHumanLine(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	at := time.Date(2025, 1, 1, 15, 4, 5, 123e6, time.Local)
	resp := &hactlv1.WatchResponse{Seq: 7, Time: timestamppb.New(at), Event: &hactlv1.WatchResponse_Transition{
		Transition: &hactlv1.TransitionEvent{Instance: "VI_1", From: hactlv1.State_STATE_BACKUP, To: hactlv1.State_STATE_MASTER, Reason: "higher priority"},
	}}
	if err := writeWatchLine(&b, clusterEvent("cenvm71", resp)); err != nil {
		t.Fatal(err)
	}
	if want := "15:04:05.123 cenvm71 VI_1 BACKUP→MASTER (higher priority)\n"; b.String() != want {
		t.Errorf("line = %q, want %q", b.String(), want)
	}
}

// vipSim is the VIP's HTTP side of a simulated two-node cluster: it answers with
// the name of the node holding the VIP, or fails while nobody does.
type vipSim struct {
	mu     sync.Mutex
	holder string // "" while the VIP moves
	srv    *httptest.Server
}

func (v *vipSim) set(holder string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.holder = holder
}

func (v *vipSim) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	v.mu.Lock()
	h := v.holder
	v.mu.Unlock()
	if h == "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	fmt.Fprint(w, h)
}

// TestTestFailover runs `hactl test failover --failback` against two fake agents
// that move mastership (and the simulated VIP) when asked: a takeover on n2, then
// clearing the override hands it back to n1.
func TestTestFailover(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_MASTER, 100, "192.0.2.71"))
	n2 := startFakeAgent(t, testNode("n2", hactlv1.State_STATE_BACKUP, 90, "192.0.2.71"))
	vip := &vipSim{holder: "n1"}
	vip.srv = httptest.NewServer(vip)
	t.Cleanup(vip.srv.Close)

	const moveTime = 40 * time.Millisecond
	// move simulates VRRP after a control call: the VIP is down for moveTime, then
	// to holds it.
	move := func(from, to *fakeAgent, reason string) {
		start := time.Now()
		vip.set("")
		from.transition("VI_1", hactlv1.State_STATE_BACKUP, reason, start)
		time.Sleep(moveTime) // the simulated network's takeover delay
		to.transition("VI_1", hactlv1.State_STATE_MASTER, reason, start.Add(moveTime))
		vip.set(to.name)
	}
	n2.setFailover(func(req *hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
		if req.GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER {
			go move(n1, n2, "promoted")
		}
		return &hactlv1.FailoverResponse{Message: "ok"}, nil
	})
	n1.setFailover(func(req *hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
		if req.GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_NONE {
			go move(n2, n1, "preempt")
		}
		return &hactlv1.FailoverResponse{Message: "override cleared"}, nil
	})

	out, errOut, code := hactl(t, "test", "failover", "VI_1", "--url", vip.srv.URL, "--json", "--failback", n1.flag(), n2.flag())
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var rep struct {
		Instance           string
		Failover, Failback struct {
			From, To     string
			VIPMovedMS   *float64       `json:"vip_moved_ms"`
			ClientGapMS  *float64       `json:"client_gap_ms"`
			OldServer    string         `json:"old_server"`
			NewServer    string         `json:"new_server"`
			Failed       int            `json:"requests_failed"`
			FailedByKind map[string]int `json:"failed_by_kind"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	for _, p := range []struct {
		name, from, to string
		ph             reportPhase
	}{{"failover", "n1", "n2", rep.Failover}, {"failback", "n2", "n1", rep.Failback}} {
		ph := p.ph
		if ph.From != p.from || ph.To != p.to || ph.OldServer != p.from || ph.NewServer != p.to {
			t.Errorf("%s: %s → %s, servers %s → %s; want %s → %s\n%s", p.name, ph.From, ph.To, ph.OldServer, ph.NewServer, p.from, p.to, out)
		}
		// By the agents' clocks the move took exactly moveTime.
		if ph.VIPMovedMS == nil || *ph.VIPMovedMS != float64(moveTime.Milliseconds()) {
			t.Errorf("%s: vip_moved_ms = %v, want %d", p.name, ph.VIPMovedMS, moveTime.Milliseconds())
		}
		// The client saw 503s while nobody held the VIP: a gap of at least moveTime.
		if ph.ClientGapMS == nil || *ph.ClientGapMS < float64(moveTime.Milliseconds()) || *ph.ClientGapMS > 2000 {
			t.Errorf("%s: client_gap_ms = %v, want >= %d", p.name, ph.ClientGapMS, moveTime.Milliseconds())
		}
		if ph.Failed == 0 || ph.Failed != ph.FailedByKind["http_503"] {
			t.Errorf("%s: failed %d %v, want some, all http_503", p.name, ph.Failed, ph.FailedByKind)
		}
	}
}

func clusterEvent(node string, resp *hactlv1.WatchResponse) cluster.Event {
	return cluster.Event{Agent: node, Resp: resp, Received: time.Now()}
}

// reportPhase is a phase of `hactl test failover --json`.
type reportPhase struct {
	From, To     string
	VIPMovedMS   *float64       `json:"vip_moved_ms"`
	ClientGapMS  *float64       `json:"client_gap_ms"`
	OldServer    string         `json:"old_server"`
	NewServer    string         `json:"new_server"`
	Failed       int            `json:"requests_failed"`
	FailedByKind map[string]int `json:"failed_by_kind"`
}
