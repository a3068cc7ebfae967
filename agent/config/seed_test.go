package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// The two configurations of the seed scenario must load unchanged.
func TestSeedConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		state    string
		priority int
	}{
		{"testdata/seed/cenvm71-keepalived.conf", "MASTER", 100},
		{"testdata/seed/cenvm72-keepalived.conf", "BACKUP", 90},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			var checked []string
			cfg, err := Load(tt.file, WithFileCheck(func(path string) error {
				checked = append(checked, path)
				return nil
			}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// The only warnings are keepalived's about script security: the
			// seed runs its check as root without enable_script_security.
			for _, w := range warnings(cfg) {
				if !strings.Contains(w, "enable_script_security") && !strings.Contains(w, "scripts run as root") {
					t.Errorf("unexpected warning: %v", w)
				}
			}
			if !slices.ContainsFunc(warnings(cfg), func(w string) bool {
				return strings.HasSuffix(w, "global_defs: scripts are run but enable_script_security is not set (keepalived: SECURITY VIOLATION)")
			}) {
				t.Errorf("no warning that scripts run without enable_script_security: %v", warnings(cfg))
			}
			if !slices.Equal(checked, []string{"/usr/local/sbin/check_ng.sh"}) {
				t.Errorf("file check saw %v, want the script path", checked)
			}

			g := cfg.Global
			if g.RouterID != "LVS_DEVEL" || g.NotificationEmailFrom != "root@hell.com" ||
				g.SMTPServer != "127.0.0.1" || g.SMTPConnectTimeout != 30*time.Second ||
				!slices.Equal(g.NotificationEmail, []string{"hell@hell.com"}) || g.VRRPVersion != 2 {
				t.Errorf("global_defs = %+v", g)
			}

			sc := cfg.Scripts["chk_nginx"]
			if sc == nil {
				t.Fatalf("vrrp_script chk_nginx missing; scripts: %v", cfg.Scripts)
			}
			if sc.Script != "/usr/local/sbin/check_ng.sh" || sc.Interval != 3*time.Second ||
				sc.Timeout != 3*time.Second || sc.Fall != 1 || sc.Rise != 1 || sc.Weight != 0 || sc.Restart.Enabled() {
				t.Errorf("chk_nginx = %+v", sc)
			}

			if len(cfg.Instances) != 1 {
				t.Fatalf("%d instances, want 1", len(cfg.Instances))
			}
			in := cfg.Instances[0]
			want := Instance{
				Name: "VI_1", State: tt.state, Interface: "eno16777736", VRID: 51, Priority: tt.priority,
				AdvertInt: time.Second, Version: 2, AuthType: "PASS", AuthPass: "hell>com",
				GARPMasterDelay: 5 * time.Second, GARPMasterRepeat: 5, GARPMasterRefreshRepeat: 1, Accept: true,
			}
			if in.Name != want.Name || in.State != want.State || in.Interface != want.Interface ||
				in.VRID != want.VRID || in.Priority != want.Priority || in.AdvertInt != want.AdvertInt ||
				in.Version != want.Version || in.AuthType != want.AuthType || in.AuthPass != want.AuthPass ||
				in.GARPMasterDelay != want.GARPMasterDelay || in.GARPMasterRepeat != want.GARPMasterRepeat ||
				in.GARPMasterRefresh != 0 || in.GARPMasterRefreshRepeat != 1 || in.Accept != want.Accept ||
				in.NoPreempt || in.IPv6 {
				t.Errorf("VI_1 = %+v", in)
			}
			if in.AuthData() != [8]byte{'h', 'e', 'l', 'l', '>', 'c', 'o', 'm'} {
				t.Errorf("AuthData = %q", in.AuthData())
			}
			wantVIP := VIP{Prefix: netip.MustParsePrefix("192.168.188.109/32"), Dev: "eno16777736", Pos: Pos{tt.file, 25}}
			if len(in.VIPs) != 1 || in.VIPs[0] != wantVIP {
				t.Errorf("VIPs = %+v, want [%+v]", in.VIPs, wantVIP)
			}
			wantTrack := TrackRef{Name: "chk_nginx", Pos: Pos{tt.file, 28}}
			if len(in.TrackScripts) != 1 || in.TrackScripts[0] != wantTrack {
				t.Errorf("TrackScripts = %+v, want [%+v]", in.TrackScripts, wantTrack)
			}
			if in.Pos != (Pos{tt.file, 14}) {
				t.Errorf("Pos = %v", in.Pos)
			}
			if !slices.Equal(cfg.Files, []string{tt.file}) {
				t.Errorf("Files = %v", cfg.Files)
			}
			if len(cfg.Hash()) != 64 {
				t.Errorf("Hash = %q, want 64 hex digits", cfg.Hash())
			}
		})
	}
}

func TestSeedSummary(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/seed/cenvm71-keepalived.conf", CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"VI_1: vrid 51 on eno16777736, v2, priority 100, state MASTER, advert 1s, auth PASS, 1 VIP (192.168.188.109/32), tracks chk_nginx"}
	if got := cfg.Summary(); !slices.Equal(got, want) {
		t.Errorf("Summary =\n%q\nwant\n%q", got, want)
	}
}

// By default the script a vrrp_script names is looked for on the real file
// system; a missing one is a warning that says what the run does about it
// (issue 17: what `hagent -t` accepts, `hagent` starts).
func TestSeedMissingScriptIsAWarning(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/seed/cenvm71-keepalived.conf", WithFileCheck(func(path string) error {
		return errorString(path + " does not exist")
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := "testdata/seed/cenvm71-keepalived.conf:11: vrrp_script chk_nginx: script: /usr/local/sbin/check_ng.sh does not exist; " +
		"the check fails until it exists (keepalived 2.2.7 disables it instead): VI_1 FAULT"
	if got := fileWarnings(cfg); !slices.Equal(got, []string{want}) {
		t.Errorf("warnings %q\nwant %s", warnings(cfg), want)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// testdata/full.conf uses most supported keywords at once and must load
// with only the expected notes.
func TestFullConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/full.conf", CheckFiles(false))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{
		"testdata/full.conf:6: global_defs: lvs_timeouts is accepted but ignored by hagent",
		"testdata/full.conf:46: vrrp_instance VI_1: VRRP version 3 does not support authentication; ignored (as keepalived)",
		"testdata/full.conf:57: vrrp_instance VI_1: ignoring tracked script chk_nginx with weights due to SYNC group G (as keepalived; set sync_group_tracking_weight to keep them)",
		"testdata/full.conf:58: vrrp_instance VI_1: ignoring tracked script web with weights due to SYNC group G (as keepalived; set sync_group_tracking_weight to keep them)",
		"testdata/full.conf:64: vrrp_instance VI_1: ignoring weight of tracked interface eth1 due to SYNC group G: a failure is a FAULT (as keepalived)",
		"testdata/full.conf:67: vrrp_instance VI_1: use_vmac is accepted but ignored: no VMAC interface: the VIP is bound to the instance's interface and announced with its own MAC (gratuitous ARP on every takeover); who is master is unchanged",
		"testdata/full.conf:69: vrrp_sync_group G: has only 1 virtual router; this probably isn't what you want (as keepalived)",
	}
	if got := warnings(cfg); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%q\nwant\n%q", got, want)
	}
	want1 := "VI_1: vrid 51 on eth0, v3, priority 90, state BACKUP, advert 500ms, no auth, 1 VIP (192.168.188.109/24), " +
		"unicast to 192.168.188.72, nopreempt, tracks nginx, eth1" // the weighted scripts are dropped: sync group
	if got := cfg.Summary(); !slices.Equal(got, []string{want1}) {
		t.Errorf("Summary = %q\nwant %q", got, want1)
	}
}
