package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// securityConf writes an executable script into dir and returns a config that
// runs it as a vrrp_script (tracked by VI_1) and as VI_1's notify_master.
func securityConf(t *testing.T, dir, global, notifyUser string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, "global_defs {\n" + global + "}\n" +
		"vrrp_script chk {\n    script " + path + "\n}\n" +
		instance("    track_script {\n        chk\n    }\n    notify_master "+path+notifyUser+"\n")
}

func requireRootConfig(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: files must be owned by root to pass keepalived's checks")
	}
}

// TestCheckScriptSecure follows check_script_secure / check_security: a script run
// as root from a directory any user may write is disabled under
// enable_script_security (vrrp_script and notify alike) and only named without it;
// the same script run as nobody, or from a root-only directory, passes.
func TestCheckScriptSecure(t *testing.T) {
	requireRootConfig(t)
	open := filepath.Join(t.TempDir(), "world-writable")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	safe := t.TempDir()

	t.Run("enforced", func(t *testing.T) {
		_, src := securityConf(t, open, "    enable_script_security\n    script_user root\n", "")
		cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		if sc := cfg.Scripts["chk"]; !strings.Contains(sc.Disabled, "writable by non-root users") {
			t.Errorf("vrrp_script chk: Disabled %q, want it disabled as insecure", sc.Disabled)
		}
		if cfg.Instances[0].NotifyMaster != "" {
			t.Errorf("notify_master %q still set, want it disabled", cfg.Instances[0].NotifyMaster)
		}
		if !slices.ContainsFunc(warnings(cfg), func(w string) bool {
			return strings.HasPrefix(w, "test.conf:6: vrrp_script chk: script disabled by enable_script_security: it would run as root")
		}) {
			t.Errorf("warnings %q", warnings(cfg))
		}
	})
	t.Run("warned", func(t *testing.T) {
		_, src := securityConf(t, open, "    script_user root\n", "")
		cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Scripts["chk"].Disabled != "" || cfg.Instances[0].NotifyMaster == "" {
			t.Error("without enable_script_security nothing is disabled")
		}
		ws := warnings(cfg)
		if !slices.ContainsFunc(ws, func(w string) bool {
			return strings.Contains(w, "vrrp_script chk: script runs as root") && strings.Contains(w, "enable_script_security would disable it")
		}) || !slices.ContainsFunc(ws, func(w string) bool {
			return strings.HasSuffix(w, "enable_script_security is not set (keepalived: SECURITY VIOLATION); there are insecure scripts")
		}) {
			t.Errorf("warnings %q", ws)
		}
	})
	t.Run("run as nobody", func(t *testing.T) {
		_, src := securityConf(t, open, "    enable_script_security\n    script_user nobody\n", "")
		cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Scripts["chk"].Disabled != "" || cfg.Instances[0].NotifyMaster == "" || len(cfg.Warnings) != 0 {
			t.Errorf("a script run as nobody is not checked: disabled %q, warnings %q", cfg.Scripts["chk"].Disabled, warnings(cfg))
		}
	})
	t.Run("root-only directory", func(t *testing.T) {
		_, src := securityConf(t, safe, "    enable_script_security\n    script_user root\n", "")
		cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Scripts["chk"].Disabled != "" || len(cfg.Warnings) != 0 {
			t.Errorf("a root-owned script in a root-only directory: disabled %q, warnings %q", cfg.Scripts["chk"].Disabled, warnings(cfg))
		}
	})
}

// TestNotifyScriptInitUser: the words after a notify script are its run-as user
// and group (notify_script_init); a user that does not exist disables the
// script, as keepalived ignores it.
func TestNotifyScriptInitUser(t *testing.T) {
	_, src := securityConf(t, t.TempDir(), "    script_user root\n", " nobody nogroup")
	cfg := parseOK(t, src)
	if got := cfg.Instances[0].NotifyLines["notify_master"]; got.As.User != "nobody" || got.As.Group != "nogroup" || got.Pos.Line != 16 {
		t.Errorf("notify_master line = %+v, want user nobody group nogroup at line 16", got)
	}
	_, src = securityConf(t, t.TempDir(), "    script_user root\n", " no-such-user-hagent")
	cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Instances[0].NotifyMaster != "" || !slices.ContainsFunc(warnings(cfg), func(w string) bool {
		return strings.Contains(w, `notify_master disabled: script user "no-such-user-hagent" does not exist`)
	}) {
		t.Errorf("notify_master %q, warnings %q", cfg.Instances[0].NotifyMaster, warnings(cfg))
	}
}
