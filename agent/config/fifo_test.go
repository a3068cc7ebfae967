package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/hagent-dev/hagent/agent/script"
)

// keepalived 2.2.7 global_parser.c notify_fifo and notify_fifo_script: FILE
// [USER [GROUP]] and SCRIPT [USER [GROUP]]; a second one is ignored with a
// warning; vrrp_notify_priority_changes is the instances' default.
func TestNotifyFIFOKeywords(t *testing.T) {
	cfg := parseOK(t, `global_defs {
    notify_fifo /run/n.fifo nobody nogroup
    notify_fifo_script "/usr/local/bin/reader --x" root
    notify_fifo /run/other.fifo
    vrrp_notify_fifo /run/v.fifo
    vrrp_notify_fifo_script /usr/local/bin/vreader
    vrrp_notify_priority_changes
}
`+instance(""))
	g := cfg.Global
	want := NotifyFIFO{Path: "/run/n.fifo", Owner: script.RunAs{User: "nobody", Group: "nogroup"}, Pos: Pos{"test.conf", 2},
		Script: "/usr/local/bin/reader --x", ScriptAs: script.RunAs{User: "root"}, ScriptPos: Pos{"test.conf", 3}}
	if g.NotifyFIFO != want {
		t.Errorf("notify_fifo = %+v, want %+v", g.NotifyFIFO, want)
	}
	if g.VRRPNotifyFIFO.Path != "/run/v.fifo" || g.VRRPNotifyFIFO.Script != "/usr/local/bin/vreader" || g.VRRPNotifyFIFO.Owner != (script.RunAs{}) {
		t.Errorf("vrrp_notify_fifo = %+v", g.VRRPNotifyFIFO)
	}
	if !g.VRRPNotifyPriorityChanges || !cfg.Instances[0].NotifyPriorityChanges {
		t.Errorf("vrrp_notify_priority_changes %v, instance's %v; want both true", g.VRRPNotifyPriorityChanges, cfg.Instances[0].NotifyPriorityChanges)
	}
	if !hasLine(warnings(cfg), "test.conf:4: global_defs: notify_fifo already specified at test.conf:2 - ignoring /run/other.fifo (as keepalived)") {
		t.Errorf("warnings = %q", warnings(cfg))
	}
	for _, w := range warnings(cfg) {
		if strings.Contains(w, "fifo") && strings.Contains(w, "ignored") || strings.Contains(w, "priority_changes") {
			t.Errorf("still noted as ignored: %s", w)
		}
	}
}

// global_data.c init_global_data: the same file for notify_fifo and
// vrrp_notify_fifo would get every line twice, so the vrrp one goes, script and all.
func TestNotifyFIFOSameFileDropsVRRP(t *testing.T) {
	cfg := parseOK(t, `global_defs {
    notify_fifo /run/n.fifo
    vrrp_notify_fifo /run/n.fifo
    vrrp_notify_fifo_script /bin/true
}
`+instance(""))
	if cfg.Global.NotifyFIFO.Path != "/run/n.fifo" || cfg.Global.VRRPNotifyFIFO != (NotifyFIFO{}) {
		t.Errorf("notify_fifo %+v, vrrp_notify_fifo %+v", cfg.Global.NotifyFIFO, cfg.Global.VRRPNotifyFIFO)
	}
	if !slices.ContainsFunc(warnings(cfg), func(w string) bool { return strings.Contains(w, "ignoring vrrp FIFO") }) {
		t.Errorf("warnings = %q", warnings(cfg))
	}
}

// vrrp.c vrrp_complete_instance: notify_priority_changes is the instance's, else
// its sync group's, else the global vrrp_notify_priority_changes.
func TestNotifyPriorityChangesResolution(t *testing.T) {
	inst := func(name string, vrid int, body string) string {
		return strings.Replace(strings.Replace(instance(body), "VI_1", name, 1), "virtual_router_id 51", "virtual_router_id "+string(rune('0'+vrid)), 1)
	}
	cfg := parseOK(t, `global_defs {
    vrrp_notify_priority_changes true
}
`+inst("A", 1, "")+inst("B", 2, "    notify_priority_changes false\n")+inst("C", 3, "")+inst("D", 4, "")+
		inst("E", 5, "    notify_priority_changes\n")+`vrrp_sync_group G {
    group {
        C
        D
        E
    }
    notify_priority_changes off
}
`)
	want := map[string]bool{"A": true, "B": false, "C": false, "D": false, "E": true}
	for _, in := range cfg.Instances {
		if in.NotifyPriorityChanges != want[in.Name] {
			t.Errorf("%s: notify_priority_changes %v, want %v", in.Name, in.NotifyPriorityChanges, want[in.Name])
		}
	}
}

// The FIFO scripts pass the script checks of every script (vrrp.c
// check_vrrp_script_security runs check_notify_script_secure on them): a user
// that does not exist disables the script.
func TestNotifyFIFOScriptUserChecked(t *testing.T) {
	src := `global_defs {
    script_user root
    vrrp_notify_fifo /run/v.fifo
    vrrp_notify_fifo_script /bin/cat no-such-user-hagent
}
` + instance("")
	cfg, err := Parse("test.conf", []byte(src), withSource(mapSource{}), WithFileCheck(func(string) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.VRRPNotifyFIFO.Script != "" || !slices.ContainsFunc(warnings(cfg), func(w string) bool {
		return strings.Contains(w, `vrrp_notify_fifo_script disabled: script user "no-such-user-hagent" does not exist`)
	}) {
		t.Errorf("script %q, warnings %q", cfg.Global.VRRPNotifyFIFO.Script, warnings(cfg))
	}
}

// The LVS checker's FIFO stays ignored, with a reason: hagent runs no checker.
func TestLVSNotifyFIFOIgnored(t *testing.T) {
	cfg := parseOK(t, "global_defs {\n    lvs_notify_fifo /run/l.fifo\n    lvs_notify_fifo_script /bin/cat\n}\n"+instance(""))
	for _, kw := range []string{"lvs_notify_fifo", "lvs_notify_fifo_script"} {
		if !slices.ContainsFunc(warnings(cfg), func(w string) bool {
			return strings.Contains(w, "global_defs: "+kw+" is accepted but ignored: ") && strings.Contains(w, "LVS checker")
		}) {
			t.Errorf("%s: warnings %q", kw, warnings(cfg))
		}
	}
}
