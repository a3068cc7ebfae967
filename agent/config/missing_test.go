package config

import (
	"slices"
	"strings"
	"testing"
)

// A missing vrrp_script program is a warning that says what the run will do with each
// instance tracking it: the check counts as failing until the file appears.
func TestMissingScriptWarningSaysWhatTheRunDoes(t *testing.T) {
	t.Parallel()
	src := "vrrp_script chk {\n  script /opt/missing.sh\n}\n" +
		"vrrp_script bonus {\n  script /opt/missing.sh\n  weight 10\n}\n" +
		"vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n" +
		"  track_script {\n    chk\n    bonus\n  }\n}\n" +
		"vrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {\n    10.0.0.2\n  }\n" +
		"  track_script {\n    chk weight -20\n    bonus weight 5 reverse\n  }\n}\n" +
		"vrrp_instance C {\n  interface eth0\n  virtual_router_id 3\n  virtual_ipaddress {\n    10.0.0.3\n  }\n" +
		"  track_script {\n    chk weight 0 reverse\n  }\n}\n"
	cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(p string) error {
		return errorString(p + " does not exist")
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{
		"test.conf:2: vrrp_script chk: script: /opt/missing.sh does not exist; the check fails until it exists (keepalived 2.2.7 disables it instead): A FAULT, B priority -20, C unaffected (reverse)",
		"test.conf:5: vrrp_script bonus: script: /opt/missing.sh does not exist; the check fails until it exists (keepalived 2.2.7 disables it instead): A without its +10, B priority +5",
	}
	if got := fileWarnings(cfg); !slices.Equal(got, want) {
		t.Errorf("warnings\n%q\nwant\n%q", got, want)
	}
}

// A script that script security disables (here: its user does not exist) is never run,
// and the warning about its missing file says so instead of a FAULT that will not happen.
func TestMissingScriptDisabledBySecurityIsNeverRun(t *testing.T) {
	t.Parallel()
	src := "vrrp_script chk {\n  script /opt/missing.sh\n  user no-such-user-hagent\n}\n" +
		"vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n" +
		"  track_script {\n    chk\n  }\n}\n"
	cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(p string) error {
		return errorString(p + " does not exist")
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{"test.conf:2: vrrp_script chk: script: /opt/missing.sh does not exist; disabled, so never run"}
	if got := fileWarnings(cfg); !slices.Equal(got, want) {
		t.Errorf("warnings\n%q\nwant\n%q", got, want)
	}
	if cfg.Scripts["chk"].Disabled == "" {
		t.Error("script with a user that does not exist not disabled")
	}
}

// fileWarnings are checkFiles' warnings (a program of a script or restart command),
// without the script security ones.
func fileWarnings(cfg *Config) []string {
	var out []string
	for _, w := range warnings(cfg) {
		if strings.Contains(w, ": script: ") || strings.Contains(w, ": restart_command: ") {
			out = append(out, w)
		}
	}
	return out
}
