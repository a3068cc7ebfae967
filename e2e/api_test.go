package e2e

// Issue 5's lab acceptance: the agent API over TCP with mutual TLS. hactl runs inside
// the client namespace, as an operator's workstation would, and reaches both agents on
// tcp://192.168.188.7x:9771 with the lab's client certificate (CN=hactl).

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

const (
	apiInstance = "VI_1"
	// apiVIP is the VIP as the API renders it.
	apiVIP = lab.VIP + "/32"
	// apiMetricsPort is where TestAPIRefusals' agents serve /metrics (LAB_AGENT_ARGS).
	apiMetricsPort = "9772"
	// apiMasterDown is the seed's Master_Down_Interval for cenvm71 (priority 100,
	// advert_int 1): 3 * 1 s + (256-100)/256 s.
	apiMasterDown = 3*time.Second + 156*time.Second/256
	// apiCN is what the agents log as the caller holding the lab's client certificate.
	apiCN = `who="tls:CN=hactl"`
)

// apiAddr is host's mTLS API listener in the lab.
func apiAddr(host string) string {
	return "192.168.188." + strings.TrimPrefix(host, "cenvm") + ":9771"
}

// apiLabCreds are hactl's TLS flags for the lab's client certificate.
func apiLabCreds(l *lab.Lab) []string {
	pki := l.PKIDir()
	return []string{"--tls-cert", filepath.Join(pki, "client.crt"), "--tls-key", filepath.Join(pki, "client.key"),
		"--tls-ca", filepath.Join(pki, "ca.crt")}
}

// apiHactlResult is one hactl run.
type apiHactlResult struct {
	Stdout, Stderr string
	Code           int
}

func (r apiHactlResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// apiHactl runs hactl in the client namespace against both agents over TCP with the
// lab's client certificate.
func apiHactl(t *testing.T, l *lab.Lab, args ...string) apiHactlResult {
	t.Helper()
	return apiHactlWith(t, l, apiLabCreds(l), args...)
}

// apiHactlWith is apiHactl with other TLS flags.
func apiHactlWith(t *testing.T, l *lab.Lab, creds []string, args ...string) apiHactlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := []string{"netns", "exec", l.NetNS("client"), hactlBin,
		"--agent", "cenvm71=tcp://" + apiAddr("cenvm71"), "--agent", "cenvm72=tcp://" + apiAddr("cenvm72")}
	full = append(append(full, creds...), args...)
	return apiRun(ctx, t, full)
}

// apiRun runs `ip ARGS` (netns exec ... hactl ...) and returns what hactl said.
func apiRun(ctx context.Context, t *testing.T, full []string) apiHactlResult {
	t.Helper()
	args := full[3:]
	cmd := exec.CommandContext(ctx, "ip", full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := apiHactlResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("hactl %s: %v (%s)", strings.Join(args, " "), err, r)
	}
	return r
}

// apiMustHactl runs hactl and fails the test unless it exits 0.
func apiMustHactl(t *testing.T, l *lab.Lab, args ...string) apiHactlResult {
	t.Helper()
	r := apiHactl(t, l, args...)
	if r.Code != 0 {
		t.Fatalf("hactl %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// apiRefused runs hactl, expecting a refusal: a non-zero exit and want in its stderr.
// It returns the result for further checks.
func apiRefused(t *testing.T, l *lab.Lab, creds []string, want string, args ...string) apiHactlResult {
	t.Helper()
	r := apiHactlWith(t, l, creds, args...)
	if r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("hactl %s: want a non-zero exit with %q on stderr, got %s", strings.Join(args, " "), want, r)
	} else {
		t.Logf("hactl %s refused (exit %d): %s", strings.Join(args, " "), r.Code, strings.TrimSpace(r.Stderr))
	}
	return r
}

// apiStatusDoc is `hactl status --json` as the contract (DESIGN.md) and its additions
// (cluster/statusjson.go) spell it; decoded by hand so a renamed field fails here.
type apiStatusDoc struct {
	Nodes []struct {
		Name        string           `json:"name"`
		Reachable   bool             `json:"reachable"`
		Error       string           `json:"error"`
		Maintenance bool             `json:"maintenance"`
		Instances   []apiInstanceDoc `json:"instances"`
	} `json:"nodes"`
}

type apiInstanceDoc struct {
	Name              string   `json:"name"`
	VRID              uint32   `json:"vrid"`
	State             string   `json:"state"`
	Priority          uint32   `json:"priority"`
	EffectivePriority uint32   `json:"effective_priority"`
	VIPs              []string `json:"vips"`
	Master            string   `json:"master"`
	StateReason       string   `json:"state_reason"`
	BoundVIPs         []string `json:"bound_vips"`
	Maintenance       bool     `json:"maintenance"`
}

// inst returns VI_1 of node, or false when node is unreachable or lacks it.
func (d apiStatusDoc) inst(node string) (apiInstanceDoc, bool) {
	for _, n := range d.Nodes {
		if n.Name != node || !n.Reachable {
			continue
		}
		for _, in := range n.Instances {
			if in.Name == apiInstance {
				return in, true
			}
		}
	}
	return apiInstanceDoc{}, false
}

// roles maps each node to its VI_1 state, or "unreachable".
func (d apiStatusDoc) roles() map[string]string {
	m := map[string]string{}
	for _, n := range d.Nodes {
		m[n.Name] = "unreachable"
		if in, ok := d.inst(n.Name); ok {
			m[n.Name] = in.State
		}
	}
	return m
}

// apiStatus runs `hactl status --json` from the client namespace.
func apiStatus(t *testing.T, l *lab.Lab) apiStatusDoc {
	t.Helper()
	r := apiHactl(t, l, "status", "--json")
	var doc apiStatusDoc
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("hactl status --json: %v (%s)", err, r)
	}
	return doc
}

// apiWaitRoles waits until status shows want (node -> VI_1 state or "unreachable").
func apiWaitRoles(t *testing.T, l *lab.Lab, want map[string]string, timeout time.Duration) apiStatusDoc {
	t.Helper()
	var doc apiStatusDoc
	if err := lab.Poll(func() bool {
		doc = apiStatus(t, l)
		return maps.Equal(doc.roles(), want)
	}, timeout); err != nil {
		t.Fatalf("%v waiting for hactl status to show %v; last %v", err, want, doc.roles())
	}
	return doc
}

func apiNode(t *testing.T, l *lab.Lab, host string) *hactlv1.Node {
	t.Helper()
	n, err := l.Status(host)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func apiGRPCInstance(t *testing.T, l *lab.Lab, host string) *hactlv1.Instance {
	t.Helper()
	for _, in := range apiNode(t, l, host).GetInstances() {
		if in.GetName() == apiInstance {
			return in
		}
	}
	t.Fatalf("%s reports no instance %s", host, apiInstance)
	return nil
}

// apiLogHas reports whether one line of log contains every part.
func apiLogHas(log string, parts ...string) bool {
	for line := range strings.Lines(log) {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return true
		}
	}
	return false
}

// apiStartLab starts a lab with the mTLS API and waits for the seed's steady state:
// cenvm71 MASTER serving the VIP, cenvm72 BACKUP.
func apiStartLab(t *testing.T, opts lab.Options) *lab.Lab {
	t.Helper()
	opts.APITCP = true
	l := lab.Start(t, opts)
	l.WaitFor(func() bool { return l.Serves("cenvm71") }, 20*time.Second, "cenvm71 to serve the VIP")
	apiWaitRoles(t, l, map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP"}, 10*time.Second)
	return l
}

// apiMove is one forced move of the VIP as the client saw it.
type apiMove struct {
	Gap   lab.Gap
	Event time.Time // just before the command
	// Failed are the requests that failed between the command and 1 s after the first
	// request served by the new master, except those in Cut.
	Failed []lab.Sample
	// Cut are connections the client had open to the old master when the new master's
	// gratuitous ARP switched it over: its next segments went to the new master, which
	// has no such connection and resets it. No VRRP implementation can prevent that
	// (it would take connection state sync); at 100 requests/s of ~1 ms each it is a
	// request now and then. A reset request started before the new master first
	// served; nothing else is a cut (a request nobody answers times out).
	Cut []lab.Sample
}

func (m apiMove) String() string {
	return fmt.Sprintf("%v; from the command to 1 s after the move: %d failed, %d cut by the ARP switch",
		m.Gap, len(m.Failed), len(m.Cut))
}

// apiFailures formats failed samples relative to the command's start ev, for messages.
func apiFailures(ev time.Time, fails []lab.Sample) string {
	parts := make([]string, 0, len(fails))
	for _, f := range fails {
		parts = append(parts, fmt.Sprintf("+%v %s after %v", f.Start.Sub(ev).Round(time.Millisecond), f.Err,
			f.End.Sub(f.Start).Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// apiHandover runs `hactl args...` while p probes the VIP, waits until the client is
// served by to and the VIP is on to only, and measures the switch.
func apiHandover(t *testing.T, l *lab.Lab, p *lab.Prober, from, to string, args ...string) apiMove {
	t.Helper()
	if _, err := p.WaitServed(from, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ev := time.Now()
	r := apiMustHactl(t, l, args...)
	t.Logf("hactl %s: %s", strings.Join(args, " "), strings.TrimSpace(r.Stdout))
	first, err := p.WaitServed(to, ev, 10*time.Second)
	if err != nil {
		t.Fatalf("after hactl %s: %v", strings.Join(args, " "), err)
	}
	// Every request started before 1 s after the move has ended (each has a p.Timeout
	// deadline) once one that ended well after that is in.
	if _, err := p.WaitServed(to, first.End.Add(time.Second+2*p.Timeout), 5*time.Second); err != nil {
		t.Fatalf("after hactl %s: %v", strings.Join(args, " "), err)
	}
	l.WaitFor(func() bool { return slices.Equal(l.VIPHolders(), []string{to}) }, 5*time.Second, "the VIP on %s only", to)
	g, err := p.GapAround(ev, from, to)
	if err != nil {
		t.Fatalf("after hactl %s: %v", strings.Join(args, " "), err)
	}
	m := apiMove{Gap: g, Event: ev}
	for _, f := range lab.Failures(p.Samples(), ev, g.FirstNew.End.Add(time.Second)) {
		if f.Err == "reset" && f.Start.Before(g.FirstNew.End) {
			m.Cut = append(m.Cut, f)
		} else {
			m.Failed = append(m.Failed, f)
		}
	}
	return m
}

// TestAPIStatusAndFailover: hactl status from the client namespace shows both nodes
// with the right roles; `hactl failover VI_1 --node cenvm72` moves the VIP with no
// failed request at 100 requests/s and the override shows in status; `--clear` lets
// cenvm71 preempt back, again without a failed request. Not parallel: it measures the
// forced-failover gap for BENCHMARKS.md.
func TestAPIStatusAndFailover(t *testing.T) {
	l := apiStartLab(t, lab.Options{})

	doc := apiStatus(t, l)
	for _, want := range []struct {
		node, state string
		prio        uint32
		bound       []string
	}{
		{"cenvm71", "MASTER", 100, []string{apiVIP}},
		{"cenvm72", "BACKUP", 90, []string{}},
	} {
		in, ok := doc.inst(want.node)
		switch {
		case !ok:
			t.Errorf("status: %s unreachable or without %s: %+v", want.node, apiInstance, doc)
		case in.State != want.state || in.VRID != 51 || in.Priority != want.prio || in.EffectivePriority != want.prio:
			t.Errorf("status of %s: state %s vrid %d priority %d/%d, want %s 51 %d/%d", want.node,
				in.State, in.VRID, in.Priority, in.EffectivePriority, want.state, want.prio, want.prio)
		case !slices.Equal(in.VIPs, []string{apiVIP}) || !slices.Equal(in.BoundVIPs, want.bound):
			t.Errorf("status of %s: vips %q bound %q, want %q bound %q", want.node, in.VIPs, in.BoundVIPs, []string{apiVIP}, want.bound)
		case in.Master != "192.168.188.71":
			t.Errorf("status of %s: master %q, want 192.168.188.71", want.node, in.Master)
		}
	}

	p := l.StartProber()
	const rounds = 3
	for round := 1; round <= rounds; round++ {
		fo := apiHandover(t, l, p, "cenvm71", "cenvm72", "failover", apiInstance, "--node", "cenvm72")
		t.Logf("round %d failover VI_1 --node cenvm72: %v", round, fo)
		if len(fo.Failed) != 0 {
			t.Errorf("round %d: forced failover (make before break) lost %d requests: %s", round, len(fo.Failed), apiFailures(fo.Event, fo.Failed))
		}

		doc := apiWaitRoles(t, l, map[string]string{"cenvm71": "BACKUP", "cenvm72": "MASTER"}, 5*time.Second)
		if in, _ := doc.inst("cenvm72"); in.EffectivePriority != 254 || in.Priority != 90 || in.Master != "192.168.188.72" ||
			!strings.Contains(in.StateReason, "tls:CN=hactl") {
			t.Errorf("round %d: status of cenvm72 after the takeover: %+v; want priority 90, effective 254 (the override), master itself, reason naming tls:CN=hactl", round, in)
		}
		if in, _ := doc.inst("cenvm71"); in.Master != "192.168.188.72" {
			t.Errorf("round %d: cenvm71 believes in master %q, want 192.168.188.72", round, in.Master)
		}
		if o := apiGRPCInstance(t, l, "cenvm72").GetOverride(); o.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER || o.GetWho() != "tls:CN=hactl" {
			t.Errorf("round %d: override on cenvm72 is %v, want TAKEOVER by tls:CN=hactl", round, o)
		}
		if round == 1 && !apiLogHas(l.AgentLog("cenvm72"), "api control", "action=failover", apiCN) {
			t.Errorf("cenvm72's log has no control call by the client certificate's identity (%s)", apiCN)
		}

		back := apiHandover(t, l, p, "cenvm72", "cenvm71", "failover", apiInstance, "--clear")
		t.Logf("round %d failover VI_1 --clear (cenvm71 preempts back): %v", round, back)
		if len(back.Failed) != 0 {
			t.Errorf("round %d: preempting back after --clear lost %d requests: %s", round, len(back.Failed), apiFailures(back.Event, back.Failed))
		}
		doc = apiWaitRoles(t, l, map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP"}, 5*time.Second)
		if in, _ := doc.inst("cenvm72"); in.EffectivePriority != 90 {
			t.Errorf("round %d: cenvm72's effective priority after --clear is %d, want 90", round, in.EffectivePriority)
		}
		if o := apiGRPCInstance(t, l, "cenvm72").GetOverride(); o.GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER {
			t.Errorf("round %d: override on cenvm72 after --clear is still %v", round, o)
		}
	}
}

// TestAPIMaintenance: `hactl maintenance cenvm71 on` makes cenvm71 hand the VIP to
// cenvm72 and stay BACKUP although it outranks it, until `off` lets it preempt back.
//
// Maintenance is a hard hold, like pacemaker's standby node: the operator is working
// on the node, so it never becomes master, not even when the peer goes away (the VIP
// is then down until maintenance ends — asserted below, because an operator must know).
func TestAPIMaintenance(t *testing.T) {
	t.Parallel()
	l := apiStartLab(t, lab.Options{})
	p := l.StartProber()

	on := time.Now()
	r := apiMustHactl(t, l, "maintenance", "cenvm71", "on")
	t.Logf("hactl maintenance cenvm71 on: %s", strings.TrimSpace(r.Stdout))
	doc := apiWaitRoles(t, l, map[string]string{"cenvm71": "BACKUP", "cenvm72": "MASTER"}, 5*time.Second)
	if in, _ := doc.inst("cenvm71"); !in.Maintenance || !doc.Nodes[0].Maintenance {
		t.Errorf("status of cenvm71 in maintenance: node %+v; want maintenance shown", doc.Nodes[0])
	}
	l.WaitFor(func() bool { return l.Serves("cenvm72") }, 5*time.Second, "cenvm72 to serve the VIP after maintenance on cenvm71")
	if g, err := p.GapAround(on, "cenvm71", "cenvm72"); err == nil {
		t.Logf("maintenance on (priority 0, break before make): %v", g)
	}
	if !apiLogHas(l.AgentLog("cenvm71"), "api control", "action=maintenance", apiCN) {
		t.Errorf("cenvm71's log has no maintenance call by the client certificate's identity (%s)", apiCN)
	}

	// cenvm72 advertises 90 < 100 every second: without maintenance cenvm71 would preempt
	// at the first one. It must stay BACKUP through three of them.
	start := apiGRPCInstance(t, l, "cenvm71").GetAdvertsReceived()
	l.WaitFor(func() bool {
		in := apiGRPCInstance(t, l, "cenvm71")
		if in.GetState() != hactlv1.State_STATE_BACKUP || !slices.Equal(l.VIPHolders(), []string{"cenvm72"}) {
			t.Fatalf("cenvm71 in maintenance left BACKUP (%v) or the VIP moved (%v) while cenvm72 advertised a lower priority",
				in.GetState(), l.VIPHolders())
		}
		return in.GetAdvertsReceived() >= start+3
	}, 10*time.Second, "cenvm71 (in maintenance) to receive 3 adverts of cenvm72")

	off := apiHandover(t, l, p, "cenvm72", "cenvm71", "maintenance", "cenvm71", "off")
	t.Logf("maintenance off (cenvm71 preempts back): %v", off)
	doc = apiWaitRoles(t, l, map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP"}, 5*time.Second)
	if in, _ := doc.inst("cenvm71"); in.Maintenance || doc.Nodes[0].Maintenance {
		t.Errorf("status of cenvm71 after maintenance off still shows maintenance: %+v", doc.Nodes[0])
	}

	// The hard hold: with cenvm71 in maintenance and cenvm72 gone, nobody is master.
	apiMustHactl(t, l, "maintenance", "cenvm71", "on")
	l.WaitFor(func() bool { return l.Serves("cenvm72") }, 5*time.Second, "cenvm72 to serve the VIP after maintenance on cenvm71")
	stopped := l.StopAgent("cenvm72")
	hold := stopped.Add(apiMasterDown + time.Second)
	for time.Now().Before(hold) {
		if h := l.VIPHolders(); len(h) != 0 && !slices.Equal(h, []string{"cenvm72"}) {
			t.Fatalf("cenvm71 in maintenance took the VIP after cenvm72 stopped: holders %v", h)
		}
		if s := apiGRPCInstance(t, l, "cenvm71").GetState(); s != hactlv1.State_STATE_BACKUP {
			t.Fatalf("cenvm71 in maintenance went %v after cenvm72 stopped", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h := l.VIPHolders(); len(h) != 0 {
		t.Errorf("VIP holders %v %v after cenvm72 stopped, want none", h, time.Since(stopped))
	}
	cleared := time.Now()
	apiMustHactl(t, l, "maintenance", "cenvm71", "off")
	l.WaitFor(func() bool { return l.Serves("cenvm71") }, apiMasterDown+5*time.Second, "cenvm71 to take the VIP after maintenance off")
	t.Logf("maintenance off with no peer: cenvm71 serves %v later (Master_Down_Interval %v)", time.Since(cleared).Round(time.Millisecond), apiMasterDown)
}

// TestAPIRefusals: what cannot work is refused with a clear message and a non-zero
// exit, and the VIP stays where it is: an unknown instance, a target that is
// already master, in maintenance, FAULT, or absent; a client without a certificate of
// the cluster's CA. Control calls are logged with the certificate's identity, and
// /metrics (--metrics) is reachable from the client.
func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	l := apiStartLab(t, lab.Options{
		Configs: map[string]string{"cenvm72": "testdata/api/cenvm72-httpcheck.conf"},
		Env:     []string{"LAB_AGENT_ARGS=--metrics :" + apiMetricsPort},
	})
	creds := apiLabCreds(l)
	stays := func(what string) {
		t.Helper()
		if h := l.VIPHolders(); !slices.Equal(h, []string{"cenvm71"}) {
			t.Errorf("after %s: VIP on %v, want cenvm71 only", what, h)
		}
		in := apiGRPCInstance(t, l, "cenvm71")
		if in.GetState() != hactlv1.State_STATE_MASTER || in.GetOverride().GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH {
			t.Errorf("after %s: cenvm71 is %v with override %v, want MASTER without override", what, in.GetState(), in.GetOverride())
		}
	}

	t.Run("metrics", func(t *testing.T) {
		for host, state := range map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP"} {
			url := "http://" + strings.TrimSuffix(apiAddr(host), ":9771") + ":" + apiMetricsPort + "/metrics"
			out, err := l.Exec("client", "curl", "-sS", "-m", "5", url)
			if err != nil {
				t.Errorf("GET %s from the client: %v", url, err)
				continue
			}
			re := regexp.MustCompile(`(?m)^hagent_instance_state\{[^}]*instance="VI_1"[^}]*state="` + state + `"[^}]*\} 1$`)
			if !re.MatchString(out) {
				t.Errorf("%s's /metrics has no hagent_instance_state of VI_1 = %s:\n%s", host, state, apiGrep(out, "hagent_instance_state"))
			}
		}
	})

	t.Run("tls", func(t *testing.T) {
		pki := l.PKIDir()
		ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(ca) {
			t.Fatal("lab ca.crt holds no certificate")
		}
		client, err := tls.LoadX509KeyPair(filepath.Join(pki, "client.crt"), filepath.Join(pki, "client.key"))
		if err != nil {
			t.Fatal(err)
		}
		addr := apiAddr("cenvm71")
		server := strings.TrimSuffix(addr, ":9771")
		for _, c := range []struct {
			name   string
			creds  credentials.TransportCredentials
			accept bool
		}{
			{"lab client certificate", credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{client}, RootCAs: roots, ServerName: server, MinVersion: tls.VersionTLS12}), true},
			{"no client certificate", credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: server, MinVersion: tls.VersionTLS12}), false},
			{"plaintext", insecure.NewCredentials(), false},
		} {
			node, err := apiGetStatusFrom(l.NetNS("client"), addr, c.creds)
			switch {
			case c.accept && err != nil:
				t.Errorf("%s: GetStatus on %s refused: %v", c.name, addr, err)
			case c.accept && node.GetName() != "cenvm71":
				t.Errorf("%s: GetStatus on %s answered node %q", c.name, addr, node.GetName())
			case !c.accept && err == nil:
				t.Errorf("%s: GetStatus on %s was accepted (node %q)", c.name, addr, node.GetName())
			case !c.accept:
				t.Logf("%s: refused: %v", c.name, err)
			}
		}

		// A certificate from another CA (made by `hactl certs`) through hactl itself.
		rogue := t.TempDir()
		if out, err := exec.Command(hactlBin, "certs", "--dir", rogue, "--client", "rogue").CombinedOutput(); err != nil {
			t.Fatalf("hactl certs: %v\n%s", err, out)
		}
		other := []string{"--tls-cert", filepath.Join(rogue, "rogue.pem"), "--tls-key", filepath.Join(rogue, "rogue-key.pem"),
			"--tls-ca", filepath.Join(pki, "ca.crt")}
		apiRefused(t, l, other, "no agent is reachable", "status")
		apiRefused(t, l, other, "no agent is reachable", "failover", apiInstance, "--node", "cenvm72")
		stays("a failover with another CA's certificate")
	})

	t.Run("unknown instance", func(t *testing.T) {
		apiRefused(t, l, creds, "instance VI_9 unknown", "failover", "VI_9", "--node", "cenvm72")
		// --clear goes to every agent: both refuse, and log who asked.
		apiRefused(t, l, creds, "instance VI_9 unknown", "failover", "VI_9", "--clear")
		for _, h := range []string{"cenvm71", "cenvm72"} {
			if !apiLogHas(l.AgentLog(h), "api control refused", "VI_9", apiCN) {
				t.Errorf("%s's log has no refused control call by %s for VI_9", h, apiCN)
			}
		}
		stays("failover of an unknown instance")
	})

	t.Run("target already master", func(t *testing.T) {
		apiRefused(t, l, creds, "cenvm71 is already MASTER of VI_1", "failover", apiInstance, "--node", "cenvm71")
		apiRefused(t, l, creds, "node cenvm79 unknown", "failover", apiInstance, "--node", "cenvm79")
		stays("failover to the master")
	})

	t.Run("target in maintenance", func(t *testing.T) {
		apiMustHactl(t, l, "maintenance", "cenvm72", "on")
		apiRefused(t, l, creds, "target cenvm72 is in maintenance", "failover", apiInstance, "--node", "cenvm72")
		stays("failover to a node in maintenance")
		apiMustHactl(t, l, "maintenance", "cenvm72", "off")
	})

	t.Run("target FAULT", func(t *testing.T) {
		// cenvm72 tracks its nginx with an HTTP check of weight 0: nginx dead is FAULT.
		l.KillNginx("cenvm72")
		apiWaitRoles(t, l, map[string]string{"cenvm71": "MASTER", "cenvm72": "FAULT"}, 5*time.Second)
		apiRefused(t, l, creds, "target cenvm72 is FAULT", "failover", apiInstance, "--node", "cenvm72")
		apiRefused(t, l, creds, "target cenvm72 is FAULT", "failover", apiInstance)
		stays("failover to a FAULT node")
		l.StartNginx("cenvm72")
		apiWaitRoles(t, l, map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP"}, 5*time.Second)
	})

	t.Run("target absent", func(t *testing.T) {
		l.StopAgent("cenvm72")
		apiRefused(t, l, creds, "target cenvm72 is unreachable", "failover", apiInstance, "--node", "cenvm72")
		apiRefused(t, l, creds, "target cenvm72 is unreachable", "failover", apiInstance)
		stays("failover to an absent node")
	})
}

// apiGetStatusFrom calls GetStatus on addr from inside network namespace ns with creds.
func apiGetStatusFrom(ns, addr string, creds credentials.TransportCredentials) (*hactlv1.Node, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithContextDialer(apiDialFrom(ns)))
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := hactlv1.NewAgentServiceClient(conn).GetStatus(ctx, &hactlv1.GetStatusRequest{})
	if err != nil {
		return nil, fmt.Errorf("GetStatus (code %v): %w", status.Code(err), err)
	}
	return resp.GetNode(), nil
}

// apiDialFrom returns a dialer whose connections are made from network namespace ns.
// A socket belongs to the namespace it was created in, so the dialing goroutine's
// thread enters ns for the connect only and then returns; if it cannot return, the
// thread stays locked and Go discards it with the goroutine.
func apiDialFrom(ns string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		target, err := netns.GetFromName(ns)
		if err != nil {
			return nil, fmt.Errorf("open network namespace %s: %w", ns, err)
		}
		defer target.Close()
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("get current network namespace: %w", err)
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("enter network namespace %s: %w", ns, err)
		}
		var d net.Dialer
		conn, dialErr := d.DialContext(ctx, "tcp4", addr)
		if err := netns.Set(orig); err != nil {
			if conn != nil {
				conn.Close()
			}
			return nil, fmt.Errorf("leave network namespace %s: %w", ns, err)
		}
		runtime.UnlockOSThread()
		return conn, dialErr
	}
}

// apiGrep returns the lines of s that contain sub, for failure messages.
func apiGrep(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
