package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// benchConf is a config under lab/conf/.
func benchConf(name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "conf", name)
}

// probesGroup: nginx death on the master per probe kind. The seed's check script
// rows come from the gaps group when it ran; here hagent's in-process probes.
func (r *benchRun) probesGroup(t *testing.T) {
	if !slices.Contains(r.daemons, Hagent) {
		t.Skip("hagent-only scenarios")
	}
	started, load := time.Now(), loadAvg()
	res := gapResults{}
	kinds := []struct{ name, conf string }{
		{"vrrp_track_process (process nginx, same_netns, weight 0)", "hagent-track-process"},
		{"vrrp_http_check (http://127.0.0.1/, interval 0.1, timeout 0.2, fall 2, rise 2, weight 0)", "hagent-http-check"},
	}
	var rows []string
	for _, k := range kinds {
		death, back := "nginx `kill -9` on the master: "+k.name, "nginx back on cenvm71, cenvm71 preempts: "+k.name
		rows = append(rows, death, back)
		t.Run(k.conf, func(t *testing.T) {
			l := Start(t, Options{Daemon: Hagent, Configs: map[string]string{
				master: benchConf(k.conf + "-71.conf"), backup: benchConf(k.conf + "-72.conf")}})
			r.version(l, Hagent)
			for i := range r.reps {
				t.Logf("%s repetition %d/%d", k.conf, i+1, r.reps)
				waitServes(l, master)
				time.Sleep(1500 * time.Millisecond)
				res.add(death, Hagent, measureGap(t, l, death, master, backup, advertInt, func() time.Time { return l.KillNginx(master) }))
				time.Sleep(1500 * time.Millisecond)
				res.add(back, Hagent, measureGap(t, l, back, backup, master, advertInt, func() time.Time {
					ev := time.Now()
					l.StartNginx(master)
					return ev
				}))
			}
		})
	}
	var w strings.Builder
	fmt.Fprintf(&w, "The master's nginx is SIGKILLed (master and worker) and cannot restart. Seed configs except the tracking; configs in lab/conf/. %d repetitions.\n\n", r.reps)
	if s := gapScenarios[4]; len(r.gapRes[s]) > 0 {
		res[s] = r.gapRes[s]
		rows = append([]string{s}, rows...)
		w.WriteString("The first row (seed check script, both daemons) is the gaps group's row of this run.\n\n")
	}
	w.WriteString(gapTable(res, rows, r.daemons))
	r.section(t, "nginx death per probe kind", w.String(), started, load)
}

// failoverGroup: `hactl failover VI_1 --node cenvm72` (the Failover RPC, TAKEOVER
// on cenvm72's agent) and clearing it, beside keepalived's graceful stop.
func (r *benchRun) failoverGroup(t *testing.T) {
	if !slices.Contains(r.daemons, Hagent) {
		t.Skip("hagent-only scenario")
	}
	started, load := time.Now(), loadAvg()
	res := gapResults{}
	takeover := "forced failover: Failover(VI_1, TAKEOVER, target cenvm72) on cenvm72's agent"
	clear := "clear the override: Failover(VI_1, NONE) on cenvm72, cenvm71 preempts back"
	l := Start(t, Options{Daemon: Hagent})
	r.version(l, Hagent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := api.DialAgent(ctx, "unix://"+l.APISocket(backup), nil)
	if err != nil {
		t.Fatalf("dial %s's agent: %v", backup, err)
	}
	defer conn.Close()
	c := hactlv1.NewAgentServiceClient(conn)
	call := func(mode hactlv1.OverrideMode) time.Time {
		ev := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		if _, err := c.Failover(rctx, &hactlv1.FailoverRequest{Instance: "VI_1", Mode: mode, TargetNode: backup}); err != nil {
			t.Fatalf("Failover %v on %s: %v", mode, backup, err)
		}
		return ev
	}
	for i := range r.reps {
		t.Logf("failover repetition %d/%d", i+1, r.reps)
		waitServes(l, master)
		time.Sleep(1500 * time.Millisecond)
		res.add(takeover, Hagent, measureGap(t, l, takeover, master, backup, advertInt, func() time.Time {
			return call(hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER)
		}))
		time.Sleep(1500 * time.Millisecond)
		res.add(clear, Hagent, measureGap(t, l, clear, backup, master, advertInt, func() time.Time {
			return call(hactlv1.OverrideMode_OVERRIDE_MODE_NONE)
		}))
	}
	rows := []string{takeover, clear}
	var w strings.Builder
	fmt.Fprintf(&w, "hagent only (keepalived has no such operation: its way to move the VIP is to stop the master). Seed configs, %d repetitions, the prober at 100 requests/s.\n\n", r.reps)
	for _, s := range []string{gapScenarios[0], gapScenarios[1]} {
		if len(r.gapRes[s]) > 0 {
			res[s] = r.gapRes[s]
			rows = append(rows, s)
		}
	}
	if len(rows) > 2 {
		w.WriteString("The graceful stop / preempt rows are the gaps group's rows of this run, for comparison.\n\n")
	}
	w.WriteString(gapTable(res, rows, r.daemons))
	r.section(t, "Forced failover (Failover RPC = hactl failover)", w.String(), started, load)
}

// partitionGroup: VRRP (IP protocol 112) dropped on input in both hosts, both
// become MASTER, the client follows cenvm72 (it took over last); then the
// partition heals and we measure until cenvm71 serves the client again.
func (r *benchRun) partitionGroup(t *testing.T) {
	started, load := time.Now(), loadAvg()
	res := gapResults{}
	const limit = 30 * time.Second
	scenario := "partition heals: client unserved or served by cenvm72 until cenvm71 serves"
	late, discarded := map[Daemon]int{}, map[Daemon]int{}
	for _, d := range r.daemons {
		t.Run(string(d), func(t *testing.T) {
			l := Start(t, Options{Daemon: d})
			r.version(l, d)
			for i, tries := 0, 0; i < r.reps && tries < 2*r.reps; tries++ {
				t.Logf("%s partition repetition %d/%d", d, i+1, r.reps)
				waitServes(l, master)
				time.Sleep(1500 * time.Millisecond)
				partition(t, l, true)
				l.WaitFor(func() bool {
					if !slices.Equal(l.VIPHolders(), []string{master, backup}) {
						return false
					}
					body, err := l.Curl()
					return err == nil && body == backup
				}, 20*time.Second, "both hosts MASTER and the client served by %s during the partition", backup)
				p := l.StartProber()
				time.Sleep(time.Second + rand.N(advertInt))
				ev := time.Now()
				partition(t, l, false)
				if _, err := p.WaitServed(master, ev, limit); err != nil {
					i++
					late[d]++
					s := p.Stop()
					res.add(scenario, d, Gap{Gap: limit, EventToServe: limit, Failed: len(Failures(s, ev, ev.Add(limit)))})
					t.Logf("%s: not served by %s within %v of the heal", d, master, limit)
					continue
				}
				time.Sleep(2 * time.Second) // the client must stay on cenvm71
				samples := p.Stop()
				if pre := composition(samples, ev.Add(-500*time.Millisecond), ev); pre != fmt.Sprint(map[string]int{backup: countStarts(samples, ev.Add(-500*time.Millisecond), ev)}) {
					// The client's ARP entry flipped to cenvm71 while both were
					// MASTER: not the scenario; heal again.
					t.Logf("partition heal: the client was not on %s just before the heal (%s); repetition discarded", backup, pre)
					discarded[d]++
					continue
				}
				i++
				g, err := Analyze(samples, ev, backup, master)
				if err != nil {
					t.Fatalf("partition heal: %v", err)
				}
				g.EventToServe = converged(samples, ev, master)
				t.Logf("partition heal: %v; before the heal: %s", g, composition(samples, ev.Add(-time.Second), ev))
				res.add(scenario, d, g)
			}
		})
	}
	var w strings.Builder
	fmt.Fprintf(&w, "In both host namespaces `nft` drops `ip protocol vrrp` on input (table inet part); the lab waits until both hosts hold the VIP and the client is served by cenvm72, starts the prober, and after 1 s + random 0..1 s deletes both tables at once (event = just before). Seed configs, %d repetitions. Here gap = last success from cenvm72 to the first from cenvm71 (it can start before the heal: the client can already flip to cenvm71 while both are MASTER), and **event → serves is the convergence time: from the heal to the end of the last request that was not served by cenvm71** (failed, or served by the demoted cenvm72); the prober runs 2 s past the first cenvm71 success to see it. The partition phase is also logged (requests in the last second before the heal, by server).\n\n", r.reps)
	for d, n := range discarded {
		fmt.Fprintf(&w, "%s: %d repetition(s) discarded and redone because the client was already served by cenvm71 in the 500 ms before the heal (its ARP entry flipped while both were MASTER).\n\n", d, n)
	}
	for d, n := range late {
		fmt.Fprintf(&w, "**%s: %d repetition(s) did not converge within %v; counted as %v.**\n\n", d, n, limit, limit)
	}
	w.WriteString(gapTable(res, []string{scenario}, r.daemons))
	r.section(t, "Partition heal", w.String(), started, load)
}

// partition adds (on) or deletes the VRRP-dropping nft table in both hosts at once.
func partition(t *testing.T, l *Lab, on bool) {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, h := range []string{master, backup} {
		wg.Go(func() {
			cmd := exec.Command("ip", "netns", "exec", l.NetNS(h), "nft", "-f", "-")
			script := "delete table inet part\n"
			if on {
				script = "table inet part {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip protocol vrrp drop\n\t}\n}\n"
			}
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("nft in %s: %w: %s", h, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// converged is the time from event until the end of the last request started
// after event that was not served by host (0 if there was none).
func converged(samples []Sample, event time.Time, host string) time.Duration {
	var last time.Time
	for _, x := range samples {
		if x.Start.After(event) && !(x.OK && x.Body == host) && x.End.After(last) {
			last = x.End
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(event)
}

// composition counts the requests started in [from, to) by outcome.
func composition(samples []Sample, from, to time.Time) string {
	n := map[string]int{}
	for _, x := range samples {
		if x.Start.Before(from) || !x.Start.Before(to) {
			continue
		}
		k := "failed"
		if x.OK {
			k = x.Body
		}
		n[k]++
	}
	return fmt.Sprintf("%v", n)
}

// countStarts counts the requests started in [from, to).
func countStarts(samples []Sample, from, to time.Time) int {
	n := 0
	for _, x := range samples {
		if !x.Start.Before(from) && x.Start.Before(to) {
			n++
		}
	}
	return n
}
