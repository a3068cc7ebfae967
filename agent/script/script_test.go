package script

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestCheckSecurity follows check_security: for a script run as root, every
// directory on its path and the file itself must be root's and not writable by
// others; a sticky directory (/tmp) may be world-writable.
func TestCheckSecurity(t *testing.T) {
	requireRoot(t)
	root := Identity{Name: "root"}
	base := t.TempDir()
	sticky := filepath.Join(base, "sticky")
	open := filepath.Join(base, "open")
	for dir, mode := range map[string]os.FileMode{sticky: 0o777 | os.ModeSticky, open: 0o777} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	ok := filepath.Join(sticky, "ok.sh")
	write(t, ok, "#!/bin/sh\n", 0o755)
	inOpen := filepath.Join(open, "check.sh")
	write(t, inOpen, "#!/bin/sh\n", 0o755)
	worldFile := filepath.Join(sticky, "world.sh")
	write(t, worldFile, "#!/bin/sh\n", 0o757)
	nobodys := filepath.Join(sticky, "nobody.sh")
	write(t, nobodys, "#!/bin/sh\n", 0o755)
	if err := os.Chown(nobodys, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(sticky, "link.sh")
	if err := os.Symlink(inOpen, link); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		path string
		as   Identity
		want string // part of the reason, "" for secure
	}{
		{ok, root, ""},
		{inOpen, root, open + " is writable by non-root users"},
		{worldFile, root, worldFile + " is writable by non-root users"},
		{nobodys, root, nobodys + " is owned by uid 65534"},
		{link, root, open + " is writable by non-root users"}, // the resolved path counts too
		{inOpen, Identity{Name: "nobody", UID: 65534, GID: 65534}, ""},
		{inOpen, Identity{Name: "nobody-root-group", UID: 65534, GID: 0}, "writable"},
	} {
		got := Insecure(c.path, c.as)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("Insecure(%s, %s) = %q, want %q", c.path, c.as.Name, got, c.want)
		}
	}
}

// TestGetDefaultScriptUser: the script's own user wins, then script_user, then
// keepalived_script when it exists, else the agent's own user (flagged).
func TestGetDefaultScriptUser(t *testing.T) {
	id, fb, err := Resolve(RunAs{User: "nobody"}, RunAs{User: "root"}, true)
	if err != nil || id.Name != "nobody" || fb {
		t.Errorf("own user: %v %v %v", id, fb, err)
	}
	id, fb, err = Resolve(RunAs{}, RunAs{User: "nobody"}, true)
	if err != nil || id.Name != "nobody" || fb {
		t.Errorf("script_user: %v %v %v", id, fb, err)
	}
	if _, _, err := Resolve(RunAs{User: "no-such-user-hagent"}, RunAs{}, false); err == nil {
		t.Error("a user that does not exist was accepted")
	}
	_, lookErr := user.Lookup(DefaultUser)
	id, fb, err = Resolve(RunAs{}, RunAs{}, false)
	switch {
	case lookErr == nil && (err != nil || id.Name != DefaultUser || fb):
		t.Errorf("default with %s present: %v %v %v", DefaultUser, id, fb, err)
	case lookErr != nil && (err != nil || !id.Own || !fb):
		t.Errorf("default without %s: %v %v %v, want the agent's own user, flagged", DefaultUser, id, fb, err)
	}
	if _, _, err := Resolve(RunAs{}, RunAs{}, true); lookErr != nil && err == nil {
		t.Errorf("enable_script_security without script_user nor %s: accepted", DefaultUser)
	}
}

// TestSystemCallScriptENOEXEC: a file the kernel refuses to exec (no "#!" any
// more when it runs) is run by /bin/sh, with the same environment and output
// handling, as keepalived's system() fallback.
func TestSystemCallScriptENOEXEC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "check.sh")
	write(t, path, "#!/bin/sh\nexit 0\n", 0o755)
	cmd, err := Parse(path+" arg", Own())
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Argv()[0] != path {
		t.Fatalf("a script with #! runs directly, got %q", cmd.Argv())
	}
	// Rewritten without "#!" after Parse: execve fails with ENOEXEC.
	write(t, path, "echo \"sh ran $1 with PATH=$PATH\"\nexit 4\n", 0o755)
	out, failure := cmd.Run(context.Background(), 5*time.Second)
	if failure != "exit status 4" || out != "sh ran arg with PATH="+strings.TrimPrefix(Env[0], "PATH=") {
		t.Errorf("Run = %q, %q; want the /bin/sh fallback's output and exit status 4", out, failure)
	}
}

// TestRunOutputIsValidUTF8: output is cut at MaxOutput on a rune boundary and
// invalid bytes become U+FFFD.
func TestRunOutputIsValidUTF8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.sh")
	// 3000 × "é" (6000 bytes) after one Latin-1 byte.
	write(t, path, "#!/bin/sh\nprintf 'caf\\351 '\nhead -c 3000 /dev/zero | tr '\\000' x | sed 's/x/é/g'\n", 0o755)
	cmd, err := Parse(path, Own())
	if err != nil {
		t.Fatal(err)
	}
	out, failure := cmd.Run(context.Background(), 5*time.Second)
	if failure != "" || !strings.HasPrefix(out, "caf\uFFFD é") || len(out) > MaxOutput || !utf8.ValidString(out) ||
		strings.Count(out, "\uFFFD") != 1 || !strings.HasSuffix(out, "é") {
		t.Errorf("Run = %d bytes, valid %v, %d U+FFFD, ends %q, failure %q; want the Latin-1 byte replaced and the cut on a character",
			len(out), utf8.ValidString(out), strings.Count(out, "\uFFFD"), out[max(0, len(out)-4):], failure)
	}
}

// TestMissingProgramIsLocatedLate: a program missing at Parse is not an error
// (issue 17): Missing says why, each Run fails with that reason without
// starting anything, and once the file exists Run finds it, deciding again
// whether /bin/sh runs it (keepalived 2.2.7 would disable the script until a
// reload instead: check_script_secure, SC_NOTFOUND).
func TestMissingProgramIsLocatedLate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "late.sh")
	cmd, err := Parse(path+" arg", Own())
	if err != nil {
		t.Fatalf("Parse of a missing program: %v", err)
	}
	want := path + " does not exist"
	if cmd.Missing() != want || cmd.Path() != path {
		t.Fatalf("Missing = %q, Path = %q; want %q, %s", cmd.Missing(), cmd.Path(), want, path)
	}
	if out, failure := cmd.Run(context.Background(), 5*time.Second); failure != want || out != "" {
		t.Fatalf("Run while missing = %q, %q; want the reason", out, failure)
	}
	if c, err := Parse("no-such-program-hagent", Own()); err != nil || c.Missing() != "no-such-program-hagent not found in PATH" {
		t.Errorf("Parse of a bare name not in PATH: %v, missing %q", err, c.Missing())
	}

	// Deployed without "#!": found by Run on its own copy, run by /bin/sh.
	tmp := filepath.Join(dir, "tmp")
	write(t, tmp, "echo \"sh ran $1\"\n", 0o755)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if out, failure := cmd.Run(context.Background(), 5*time.Second); failure != "" || out != "sh ran arg" {
		t.Fatalf("Run once deployed = %q, %q; want /bin/sh running it", out, failure)
	}
	if cmd.Missing() == "" {
		t.Fatal("Run changed the caller's command; only Locate keeps the result")
	}
	if !cmd.Locate() || cmd.Missing() != "" || !slices.Equal(cmd.Argv(), []string{"/bin/sh", path, "arg"}) || cmd.Path() != path {
		t.Fatalf("after Locate: missing %q, argv %q, path %q; want found, run by /bin/sh", cmd.Missing(), cmd.Argv(), cmd.Path())
	}
}

// TestLateProgramUnderScriptSecurity: with enable_script_security, a program
// found only after the configuration was checked must pass Insecure before it
// runs as root, as check_script_secure would have required at load.
func TestLateProgramUnderScriptSecurity(t *testing.T) {
	requireRoot(t)
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(open, "late.sh")
	cmd, err := Parse(path, Identity{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Secure = true
	write(t, path, "#!/bin/sh\necho ran\n", 0o755)
	if out, failure := cmd.Run(context.Background(), 5*time.Second); !strings.HasPrefix(failure, "insecure: "+open+" is writable") || out != "" {
		t.Fatalf("Run of an insecure late script = %q, %q; want refused as insecure", out, failure)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, failure := cmd.Run(context.Background(), 5*time.Second); failure != "" || out != "ran" {
		t.Fatalf("Run once secure = %q, %q; want it run", out, failure)
	}
}
