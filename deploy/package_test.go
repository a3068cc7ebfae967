// Package deploy holds what goes onto a host: the systemd unit, the nfpm description of
// the .deb and .rpm, their maintainer scripts and man pages. Its test builds the packages
// with `make package` and checks them with the distribution's own tools.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hagent-dev/hagent/lab"
)

// packaged is every file the packages install, as README's deployment section lists them.
var packaged = []string{
	"/usr/sbin/hagent",
	"/usr/bin/hactl",
	"/usr/share/doc/hagent/README.md",
	"/usr/share/man/man8/hagent.8.gz",
	"/usr/share/man/man1/hactl.1.gz",
}

// Only in one of them: Debian's unit directory, copyright and changelog, lintian's
// overrides; Red Hat's unit directory.
var (
	debOnly = []string{
		"/lib/systemd/system/hagent.service",
		"/usr/share/doc/hagent/copyright",
		"/usr/share/doc/hagent/changelog.Debian.gz",
		"/usr/share/lintian/overrides/hagent",
	}
	rpmOnly = []string{"/usr/lib/systemd/system/hagent.service"}
)

// needTools installs the packaging tools where they are missing (as root, with
// apt-get, like the lab); it skips the test without root, and fails it when the install
// fails.
func needTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("packaging tools: installing them needs root")
	}
	err := lab.EnsureCommands(map[string]string{
		"make":     "make",
		"dpkg-deb": "dpkg",
		"lintian":  "lintian",
		"rpm":      "rpm",
	})
	if err != nil {
		t.Fatalf("packaging tools: %v", err)
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildPackages runs `make package` into a temporary dist directory and returns the
// .deb and the .rpm.
func buildPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	// Own BIN and DIST: other packages' tests may build the packages at the same time.
	dist, bin := t.TempDir(), t.TempDir()
	run(t, "..", "make", "package", "DIST="+dist, "BIN="+bin, "PKG_VERSION=1.2.3+test")
	deb = filepath.Join(dist, "hagent_1.2.3+test_amd64.deb")
	rpm = filepath.Join(dist, "hagent-1.2.3+test.x86_64.rpm")
	for _, f := range []string{deb, rpm} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("make package did not write %s: %v", f, err)
		}
	}
	return deb, rpm
}

// sorted joins path lists, sorted.
func sorted(paths ...[]string) []string {
	var all []string
	for _, p := range paths {
		all = append(all, p...)
	}
	slices.Sort(all)
	return all
}

func TestPackages(t *testing.T) {
	needTools(t)
	deb, rpm := buildPackages(t)

	t.Run("deb files", func(t *testing.T) {
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(run(t, ".", "dpkg-deb", "-c", deb)), "\n") {
			f := strings.Fields(line)
			if len(f) < 6 || strings.HasPrefix(f[0], "d") {
				continue
			}
			got = append(got, strings.TrimPrefix(f[5], "."))
		}
		slices.Sort(got)
		if want := sorted(packaged, debOnly); !slices.Equal(got, want) {
			t.Errorf("dpkg-deb -c lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("rpm files", func(t *testing.T) {
		got := strings.Fields(run(t, ".", "rpm", "-qlp", rpm))
		slices.Sort(got)
		if want := sorted(packaged, rpmOnly); !slices.Equal(got, want) {
			t.Errorf("rpm -qlp lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("README lists the files", func(t *testing.T) {
		readme, err := os.ReadFile("../README.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sorted(packaged, debOnly[:1], rpmOnly) {
			if !strings.Contains(string(readme), f) {
				t.Errorf("README.md does not mention %s, which the packages install", f)
			}
		}
	})

	t.Run("unit is deploy's", func(t *testing.T) {
		dir := t.TempDir()
		run(t, ".", "dpkg-deb", "-x", deb, dir)
		got, err := os.ReadFile(filepath.Join(dir, "lib/systemd/system/hagent.service"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("hagent.service")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Error("the .deb's unit differs from deploy/hagent.service")
		}
	})

	t.Run("lintian errors", func(t *testing.T) {
		// lintian exits non-zero on errors; read its tags either way.
		out, _ := exec.Command("lintian", "--no-cfg", "--allow-root", deb).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "E: ") {
				t.Errorf("lintian: %s", line)
			}
		}
	})

	t.Run("maintainer scripts neither enable nor start", func(t *testing.T) {
		dir := t.TempDir()
		run(t, ".", "dpkg-deb", "-e", deb, dir)
		if _, err := os.Stat(filepath.Join(dir, "conffiles")); err == nil {
			t.Error("the .deb has conffiles: it must not own anything in /etc (/etc/keepalived stays the operator's)")
		}
		scripts := map[string]string{}
		for _, name := range []string{"preinst", "postinst", "prerm", "postrm"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				scripts["deb "+name] = string(b)
			}
		}
		if len(scripts) == 0 {
			t.Fatal("the .deb has no maintainer scripts: the unit would not be stopped on removal")
		}
		rpmScripts := run(t, ".", "rpm", "-qp", "--scripts", rpm)
		scripts["rpm"] = rpmScripts
		// Anything that would enable, start or restart a unit, or touch /etc/keepalived.
		forbidden := regexp.MustCompile(`\b(enable|start|restart|try-restart|reload-or-restart|preset|unmask)\b|--now|deb-systemd-invoke|invoke-rc\.d|update-rc\.d|/etc/keepalived`)
		for name, body := range scripts {
			for i, line := range strings.Split(body, "\n") {
				code, _, _ := strings.Cut(line, "#")
				if m := forbidden.FindString(code); m != "" {
					t.Errorf("%s line %d runs %q: installing must neither enable nor start anything: %s", name, i+1, m, line)
				}
			}
		}
		// Removal stops a running agent (which hands its VIPs over, ExecStopPost cleans up).
		if !strings.Contains(scripts["deb prerm"], "systemctl stop hagent.service") {
			t.Error("the .deb's prerm does not stop hagent: removal could leave a VIP bound")
		}
		if !strings.Contains(rpmScripts, "systemctl stop hagent.service") {
			t.Error("the .rpm's preuninstall does not stop hagent: removal could leave a VIP bound")
		}
	})
}
