package probe

import (
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

func TestSplitWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`/usr/local/sbin/check_ng.sh`, []string{"/usr/local/sbin/check_ng.sh"}},
		{`  /bin/check  a   b `, []string{"/bin/check", "a", "b"}},
		{`/bin/check "a b" 'c  d'`, []string{"/bin/check", "a b", "c  d"}},
		{`/bin/check a\ b "x\"y" 'p\q'`, []string{"/bin/check", "a b", `x"y`, `p\q`}},
		{`/bin/check ""`, []string{"/bin/check", ""}},
	} {
		got, err := script.Split(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("script.Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := script.Split(`/bin/check "open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func TestScriptExitZeroIsHealthyNonZeroFails(t *testing.T) {
	t.Parallel()
	ok, err := NewScript(ScriptSpec{Name: "ok", Script: "/bin/true", Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, ok)
	if c := r.next(time.Second, "initial event", func(Event) bool { return true }).Change; c == nil || !c.Healthy {
		t.Fatalf("first event must announce the initial healthy state, got %+v", c)
	}
	if res := r.result(2 * time.Second); !res.OK || res.Err != "" || res.Kind != KindScript || res.Probe != "ok" {
		t.Fatalf("result of /bin/true = %+v", res)
	}

	bad, err := NewScript(ScriptSpec{Name: "bad", Script: `/bin/sh -c "echo broken; exit 3"`, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, bad).change(false, 2*time.Second)
	if c.Reason != "exit status 3" {
		t.Errorf("reason = %q, want exit status 3", c.Reason)
	}
	h := bad.History()
	if len(h) == 0 || h[len(h)-1].Output != "broken" || h[len(h)-1].Duration <= 0 {
		t.Errorf("history = %+v, want the output and a duration", h)
	}
}

func TestScriptFallAndRise(t *testing.T) {
	t.Parallel()
	flag := filepath.Join(t.TempDir(), "healthy")
	p, err := NewScript(ScriptSpec{
		Name:     "flag",
		Script:   "/usr/bin/test -e " + flag,
		Interval: 50 * time.Millisecond,
		Timeout:  time.Second,
		Fall:     3,
		Rise:     2,
		InitFail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	if c := r.next(time.Second, "initial event", func(Event) bool { return true }).Change; c == nil || c.Healthy {
		t.Fatalf("init_fail: first event must announce FAILED, got %+v", c)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	countUntilChange := func(healthy bool) int {
		n := 0
		for {
			ev := r.next(2*time.Second, "result", func(ev Event) bool { return ev.Result.Kind == KindScript })
			if ev.Result.OK != healthy {
				n = 0 // results from before the flag flipped
				continue
			}
			n++
			if ev.Change != nil {
				if ev.Change.Healthy != healthy {
					t.Fatalf("change %+v, want healthy=%v", ev.Change, healthy)
				}
				return n
			}
		}
	}
	if n := countUntilChange(true); n != 2 {
		t.Errorf("recovered after %d successes, want rise=2", n)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	if n := countUntilChange(false); n != 3 {
		t.Errorf("failed after %d failures, want fall=3", n)
	}
}

func TestScriptTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := writeScript(t, "hang.sh", "#!/bin/sh\nsleep 100 &\necho $! > "+pidFile+"\nwait\n")
	p, err := NewScript(ScriptSpec{Name: "hang", Script: script, Interval: time.Hour, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	res := r.result(3 * time.Second)
	if res.OK || res.Err != "timeout after 300ms" {
		t.Fatalf("result = %+v, want timeout after 300ms", res)
	}
	if res.Duration > 2*time.Second {
		t.Errorf("hanging script took %v to be reported", res.Duration)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !processGone(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the script's child %d survived the timeout", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestScriptOutputIsBounded(t *testing.T) {
	t.Parallel()
	// 20 MB of output: the pipe is drained, the buffer stays at MaxOutput.
	script := writeScript(t, "chatty.sh", "#!/bin/sh\nhead -c 20000000 /dev/zero | tr '\\000' x\necho\nexit 0\n")
	p, err := NewScript(ScriptSpec{Name: "chatty", Script: script, Interval: time.Hour, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res := start(t, p).result(10 * time.Second)
	if !res.OK {
		t.Fatalf("result = %+v, want OK", res)
	}
	if len(res.Output) != MaxOutput || strings.Trim(res.Output, "x") != "" {
		t.Errorf("output has %d bytes, want exactly %d x's", len(res.Output), MaxOutput)
	}
}

func TestScriptWithoutShebangRunsUnderSh(t *testing.T) {
	t.Parallel()
	// Like the seed's check_ng.sh: no "#!" line.
	script := writeScript(t, "check_ng.sh", "# no shebang\nn=3\necho \"n=$n\"\nexit $n\n")
	p, err := NewScript(ScriptSpec{Name: "legacy", Script: script + " ignored-arg", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	res := start(t, p).result(3 * time.Second)
	if res.Err != "exit status 3" || res.Output != "n=3" {
		t.Fatalf("result = %+v, want exit status 3 with output n=3", res)
	}
}

func TestScriptRunsAsUser(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	p, err := NewScript(ScriptSpec{Name: "as-nobody", Script: "/usr/bin/id -u", Interval: time.Hour, User: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	res := start(t, p).result(3 * time.Second)
	if !res.OK || res.Output != nobody.Uid {
		t.Fatalf("result = %+v, want uid %s", res, nobody.Uid)
	}
}

func TestScriptEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("HAGENT_LEAK", "1")
	p, err := NewScript(ScriptSpec{Name: "env", Script: "/usr/bin/env", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	res := start(t, p).result(3 * time.Second)
	if got := strings.Split(res.Output, "\n"); !slices.Equal(got, script.Env) {
		t.Fatalf("environment = %q, want %q", got, script.Env)
	}
}

// A script that does not exist yet (deployed after the agent): the probe starts FAILED
// with the reason at once, whatever fall says, fails at every interval while it is
// missing, and runs it once the file appears (keepalived 2.2.7 would disable it until a
// reload instead: vrrp.c check_track_script_secure).
func TestScriptMissingAtStartFailsUntilTheFileAppears(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "late-check.sh")
	p, err := NewScript(ScriptSpec{Name: "late", Script: path + " arg", Interval: 50 * time.Millisecond, Fall: 3, Rise: 1})
	if err != nil {
		t.Fatalf("NewScript with a missing file: %v", err)
	}
	r := start(t, p)
	ev := r.next(3*time.Second, "initial state", func(ev Event) bool { return ev.Change != nil })
	if ev.Change.Healthy || ev.Change.Reason != path+" does not exist" {
		t.Fatalf("initial state %+v, want FAILED: %s does not exist", ev.Change, path)
	}
	if res := r.result(3 * time.Second); res.OK || res.Err != path+" does not exist" {
		t.Fatalf("check while missing: %+v", res)
	}
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho found \"$1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "install", "-m", "0755", src, path)
	r.change(true, 3*time.Second)
	if out := r.lastOutput(); out != "found arg" {
		t.Fatalf("output %q, want the script's", out)
	}
}

func TestNewScriptRejectsEmptyCommand(t *testing.T) {
	t.Parallel()
	if _, err := NewScript(ScriptSpec{Name: "x", Script: "  "}); err == nil {
		t.Fatal("empty script accepted")
	}
}
