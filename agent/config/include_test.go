package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIncludeGlob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"keepalived.conf": "global_defs {\n  router_id R\n}\ninclude conf.d/*.conf   # instances\ninclude none.d/*.conf\n",
		// Sorted: a.conf before b.conf, whatever the directory order.
		"conf.d/b.conf":           "vrrp_instance VI_B {\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\n",
		"conf.d/a.conf":           "include scripts/*.conf\nvrrp_instance VI_A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n  track_script {\n    chk\n  }\n}\n",
		"conf.d/scripts/chk.conf": "vrrp_script chk {\n  script /bin/true\n}\n",
		"conf.d/ignored.txt":      "this is not included\n",
	})
	main := filepath.Join(dir, "keepalived.conf")
	cfg, err := Load(main, CheckFiles(false))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, in := range cfg.Instances {
		names = append(names, in.Name)
	}
	if !slices.Equal(names, []string{"VI_A", "VI_B"}) {
		t.Errorf("instances = %v, want [VI_A VI_B]", names)
	}
	if cfg.Scripts["chk"] == nil {
		t.Errorf("vrrp_script chk from the nested include is missing")
	}
	wantFiles := []string{
		main,
		filepath.Join(dir, "conf.d/a.conf"),
		filepath.Join(dir, "conf.d/scripts/chk.conf"),
		filepath.Join(dir, "conf.d/b.conf"),
	}
	if !slices.Equal(cfg.Files, wantFiles) {
		t.Errorf("Files = %q\nwant %q", cfg.Files, wantFiles)
	}
	if got := cfg.Instances[1].Pos; got != (Pos{filepath.Join(dir, "conf.d/b.conf"), 1}) {
		t.Errorf("VI_B at %v", got)
	}
	wantWarn := main + `:5: include "none.d/*.conf": no file matches`
	if !slices.Equal(warnings(cfg), []string{wantWarn}) {
		t.Errorf("warnings = %q, want %q", warnings(cfg), wantWarn)
	}

	// The hash covers included files too.
	before := cfg.Hash()
	writeFiles(t, dir, map[string]string{"conf.d/scripts/chk.conf": "vrrp_script chk {\n  script /bin/false\n}\n"})
	cfg2, err := Load(main, CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Hash() == before {
		t.Errorf("hash unchanged after an included file changed")
	}
	cfg3, err := Load(main, CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	if cfg3.Hash() != cfg2.Hash() {
		t.Errorf("hash not stable: %s vs %s", cfg3.Hash(), cfg2.Hash())
	}
}

func TestIncludeErrorsPointIntoTheIncludedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.conf": "include inst.conf\n",
		"inst.conf": "\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
	})
	_, err := Load(filepath.Join(dir, "main.conf"), CheckFiles(false))
	want := filepath.Join(dir, "inst.conf") + ":4: vrrp_instance VI_1: virtual_router_id 300 out of range 1..255"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestIncludeCycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.conf": "include b.conf\n",
		"b.conf": "\ninclude ./a.conf\n",
	})
	_, err := Load(filepath.Join(dir, "a.conf"), CheckFiles(false))
	want := filepath.Join(dir, "b.conf") + ":2: include cycle: " + filepath.Join(dir, "a.conf") + " is already being read"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestIncludeSelf(t *testing.T) {
	t.Parallel()
	got := parseErrs(t, "include test.conf\n", withSource(mapSource{"test.conf": "include test.conf\n"}))
	want := []string{"test.conf:1: include cycle: test.conf is already being read"}
	if !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestIncludeBadPattern(t *testing.T) {
	t.Parallel()
	got := parseErrs(t, "include [\n")
	want := []string{`test.conf:1: include "[": syntax error in pattern`}
	if !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.conf"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

// A one-line file included twice in a row gives two statements, not one
// statement with the words of both.
func TestIncludeSameFileTwice(t *testing.T) {
	t.Parallel()
	src := mapSource{"vip.conf": "10.0.0.5"}
	cfg, err := Parse("test.conf", []byte("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n"+
		"  virtual_ipaddress {\n    include vip.conf\n    include vip.conf\n  }\n}\n"),
		withSource(src), CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instances[0].VIPs; len(got) != 2 || got[1].Prefix.String() != "10.0.0.5/32" || got[1].Pos != (Pos{"vip.conf", 1}) {
		t.Errorf("VIPs = %+v", got)
	}
	if !slices.Equal(cfg.Files, []string{"test.conf", "vip.conf"}) {
		t.Errorf("Files = %q", cfg.Files)
	}
}
