package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Each broken configuration must produce exactly these "FILE:LINE: message"
// errors.
const strictNoAccept = "test.conf:1: vrrp_instance VI_1: strict mode (strict_mode, vrrp_strict) is not supported here: " +
	"it implies no_accept, with which keepalived drops all traffic to the VIPs with nftables while a non-owner is MASTER, " +
	"and hagent installs no firewall rules; remove strict mode, or use VRRP version 3 with accept"

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Keywords that change who receives traffic are refused, never ignored.
		{
			name: "no_accept on a non-owner",
			src:  instance("  no_accept\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: no_accept is not supported: keepalived drops all traffic to the VIPs " +
				"with nftables while a non-owner is MASTER, hagent installs no firewall rules; remove no_accept"},
		},
		{
			name: "strict mode implies no_accept",
			src:  instance("  strict_mode\n"),
			want: []string{strictNoAccept},
		},
		{
			name: "vrrp_strict implies no_accept",
			src:  "global_defs {\n  vrrp_strict\n}\n" + instance(""),
			want: []string{"test.conf:4: " + strings.TrimPrefix(strictNoAccept, "test.conf:1: ")},
		},
		{
			// vrrp.c: vrrp_complete_instance resets accept for a VRRPv2 non-owner.
			name: "strict mode v2 with accept",
			src:  instance("  strict_mode\n  accept\n"),
			want: []string{strictNoAccept},
		},
		{
			name: "strict mode refuses unicast",
			src:  instance("  version 3\n  strict_mode\n  accept\n  unicast_peer {\n    10.0.0.2\n  }\n"),
			want: []string{"test.conf:1: vrrp_instance VI_1: unicast peers are not supported in strict mode (as keepalived)"},
		},
		{
			name: "vrid out of range",
			src:  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
			want: []string{"test.conf:3: vrrp_instance VI_1: virtual_router_id 300 out of range 1..255"},
		},
		{
			name: "vrid missing",
			src:  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
			want: []string{"test.conf:1: vrrp_instance VI_1: virtual_router_id is required"},
		},
		{
			name: "priority out of range",
			src:  instance("  priority 0\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: priority 0 out of range 1..255"},
		},
		{
			name: "priority not a number",
			src:  instance("  priority high\n"),
			want: []string{`test.conf:7: vrrp_instance VI_1: priority: "high" is not a whole number`},
		},
		{
			name: "missing closing brace",
			src:  "global_defs {\n  router_id A\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n}\n",
			want: []string{`test.conf:4: block "vrrp_instance VI_1" is not closed: missing '}'`},
		},
		{
			name: "extra closing brace",
			src:  instance("") + "}\n",
			want: []string{"test.conf:8: unexpected '}' (no block is open)"},
		},
		{
			name: "stray opening brace",
			src:  instance("") + "global_defs { } {\n}\n",
			want: []string{"test.conf:8: unexpected '{'"},
		},
		{
			name: "unknown top-level block",
			src:  "vrrp_instanse VI_1 {\n  interface eth0\n}\n",
			want: []string{`test.conf:1: unknown top-level keyword "vrrp_instanse"`},
		},
		{
			name: "top-level block without braces",
			src:  "vrrp_instance VI_1\n",
			want: []string{"test.conf:1: vrrp_instance VI_1 needs a { } block"},
		},
		{
			name: "duplicate vrid on the same interface",
			src: instance("") +
				"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\n",
			want: []string{"test.conf:8: vrrp_instance VI_2: virtual_router_id 51 is already used on eth0 (IPv4) by vrrp_instance VI_1 at test.conf:1"},
		},
		{
			name: "duplicate instance name",
			src:  instance("") + instance(""),
			want: []string{"test.conf:8: vrrp_instance VI_1 is already defined at test.conf:1"},
		},
		{
			name: "mixed families in virtual_ipaddress",
			src:  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1/24\n    2001:db8::1\n  }\n}\n",
			want: []string{"test.conf:6: vrrp_instance VI_1: virtual_ipaddress 2001:db8::1/128 is IPv6 but the instance is IPv4 (decided at test.conf:5)"},
		},
		{
			name: "unicast peer of the other family",
			src:  instance("  unicast_peer {\n    fe80::1\n  }\n"),
			want: []string{"test.conf:8: vrrp_instance VI_1: unicast_peer fe80::1 is IPv6 but the instance is IPv4 (decided at test.conf:5)"},
		},
		{
			name: "undefined track_script",
			src:  instance("  track_script {\n    chk_nginx\n  }\n"),
			want: []string{"test.conf:8: vrrp_instance VI_1: track_script chk_nginx: no vrrp_script or vrrp_http_check named chk_nginx"},
		},
		{
			name: "undefined track_process",
			src:  instance("  track_process {\n    nginx weight -20\n  }\n"),
			want: []string{"test.conf:8: vrrp_instance VI_1: track_process nginx: no vrrp_track_process named nginx"},
		},
		{
			name: "auth AH refused",
			src:  instance("  authentication {\n    auth_type AH\n    auth_pass x\n  }\n"),
			want: []string{"test.conf:8: vrrp_instance VI_1: auth_type AH is not supported by hagent: IPsec AH authentication is " +
				"deprecated (RFC 3768 removed it, VRRPv3 has none) and cannot interoperate reliably; use auth_type PASS or no authentication"},
		},
		{
			name: "bad state",
			src:  instance("  state master\n"),
			want: []string{`test.conf:7: vrrp_instance VI_1: state "master" must be MASTER or BACKUP`},
		},
		{
			name: "interface missing",
			src:  "vrrp_instance VI_1 {\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
			want: []string{"test.conf:1: vrrp_instance VI_1: interface is required"},
		},
		{
			name: "advert_int zero",
			src:  instance("  advert_int 0\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: advert_int must be greater than 0"},
		},
		{
			name: "advert_int out of VRRPv2 range",
			src:  instance("  advert_int 300\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: advert_int 5m0s out of range for VRRPv2 (1..255 s)"},
		},
		{
			name: "advert_int out of VRRPv3 range",
			src:  instance("  version 3\n  advert_int 41\n"),
			want: []string{"test.conf:8: vrrp_instance VI_1: advert_int 41s out of range for VRRPv3 (0.01..40.95 s)"},
		},
		{
			name: "bad duration",
			src:  "vrrp_script chk {\n  script /bin/true\n  interval 1m\n}\n",
			want: []string{`test.conf:3: vrrp_script chk: interval: "1m" is not a number of seconds`},
		},
		{
			name: "negative duration",
			src:  instance("  preempt_delay -5\n"),
			want: []string{`test.conf:7: vrrp_instance VI_1: preempt_delay: "-5" is not a number of seconds`},
		},
		{
			name: "VRRPv3 needs a VIP",
			src:  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  version 3\n}\n",
			want: []string{"test.conf:1: vrrp_instance VI_1: no virtual_ipaddress; at least one is required"},
		},
		{
			name: "bad VIP",
			src:  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.300\n    10.0.0.1/33\n    10.0.0.2 dev\n    10.0.0.3 frobnicate\n  }\n}\n",
			want: []string{
				`test.conf:5: vrrp_instance VI_1: virtual_ipaddress: "10.0.0.300" is not an IP address`,
				`test.conf:6: vrrp_instance VI_1: virtual_ipaddress: "10.0.0.1/33" is not an address with a prefix length`,
				"test.conf:7: vrrp_instance VI_1: virtual_ipaddress 10.0.0.2/32: dev needs a value",
				`test.conf:8: vrrp_instance VI_1: virtual_ipaddress 10.0.0.3/32: unknown option "frobnicate"`,
			},
		},
		{
			name: "vrrp_script without script",
			src:  "vrrp_script chk {\n  interval 2\n}\n",
			want: []string{"test.conf:1: vrrp_script chk: no script given"},
		},
		{
			name: "weight out of range",
			src:  "vrrp_script chk {\n  script /bin/true\n  weight 300\n}\n",
			want: []string{"test.conf:3: vrrp_script chk: weight 300 out of range -254..254"},
		},
		{
			name: "http check without url",
			src:  "vrrp_http_check web {\n  status 204\n}\n",
			want: []string{"test.conf:1: vrrp_http_check web: url is required"},
		},
		{
			name: "http check bad url",
			src:  "vrrp_http_check web {\n  url ftp://x/\n}\n",
			want: []string{`test.conf:2: vrrp_http_check web: url "ftp://x/" must be an absolute http:// or https:// URL`, "test.conf:1: vrrp_http_check web: url is required"},
		},
		{
			name: "http check named like a script",
			src:  "vrrp_script chk {\n  script /bin/true\n}\nvrrp_http_check chk {\n  url http://127.0.0.1/\n}\n",
			want: []string{"test.conf:4: vrrp_http_check chk: name already used by vrrp_script chk at test.conf:1"},
		},
		{
			name: "value keyword given a block",
			src:  instance("  priority 100 {\n  }\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: priority does not take a { } block"},
		},
		{
			name: "block keyword without a block",
			src:  instance("  track_script chk\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: track_script needs a { } block"},
		},
		{
			name: "missing value",
			src:  instance("  priority\n"),
			want: []string{"test.conf:7: vrrp_instance VI_1: priority needs a value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseErrs(t, tt.src)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// All problems are reported at once, in file order, not just the first.
func TestErrorsCollectsEverything(t *testing.T) {
	t.Parallel()
	src := `vrrp_instance VI_1 {
    virtual_router_id 300
    priority 256
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instanse typo {
}
`
	cfg, err := Parse("a.conf", []byte(src), withSource(mapSource{}), CheckFiles(false))
	if cfg == nil {
		t.Fatal("nil Config")
	}
	var list *Errors
	if !errors.As(err, &list) {
		t.Fatalf("err = %T %v, want *Errors", err, err)
	}
	want := "a.conf:1: vrrp_instance VI_1: interface is required\n" +
		"a.conf:2: vrrp_instance VI_1: virtual_router_id 300 out of range 1..255\n" +
		"a.conf:3: vrrp_instance VI_1: priority 256 out of range 1..255\n" +
		`a.conf:8: unknown top-level keyword "vrrp_instanse"`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	var one *Error
	if !errors.As(err, &one) || one.File != "a.conf" || one.Line != 1 {
		t.Errorf("errors.As(*Error) = %+v", one)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown keyword in a known block", instance("  frobnicate 1\n"),
			`test.conf:7: vrrp_instance VI_1: unknown keyword "frobnicate" ignored`},
		{"ignored instance keyword", instance("  use_vmac\n"),
			"test.conf:7: vrrp_instance VI_1: use_vmac is accepted but ignored: no VMAC interface: the VIP is bound to the instance's interface and announced with its own MAC (gratuitous ARP on every takeover); who is master is unchanged"},
		{"ignored global keyword", "global_defs {\n  lvs_timeouts tcp 900\n}\n",
			"test.conf:2: global_defs: lvs_timeouts is accepted but ignored by hagent"},
		{"ignored top-level block", "virtual_server 10.0.0.1 80 {\n  delay_loop 6\n}\n",
			"test.conf:1: virtual_server is accepted but ignored: LVS is not part of hagent"},
		{"nopreempt with state MASTER", instance("  state MASTER\n  priority 100\n  nopreempt\n"),
			"test.conf:9: vrrp_instance VI_1: nopreempt will not work with initial state MASTER; cleared (as keepalived)"},
		{"strict mode clears authentication", instance("  version 3\n  strict_mode\n  accept\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n"),
			"test.conf:10: vrrp_instance VI_1: strict mode does not support authentication; ignored (as keepalived)"},
		{"strict mode state must match owner", instance("  version 3\n  strict_mode\n  accept\n  state MASTER\n  priority 200\n"),
			"test.conf:1: vrrp_instance VI_1: strict mode: state MASTER must match being address owner (priority 255); state BACKUP (as keepalived)"},
		{"unknown old_unicast_checksum mode", instance("  old_unicast_checksum sometimes\n"),
			"test.conf:7: vrrp_instance VI_1: old_unicast_checksum: unknown mode sometimes; ignored (as keepalived)"},
		{"long auth_pass", instance("  authentication {\n    auth_type PASS\n    auth_pass 0123456789\n  }\n"),
			`test.conf:9: vrrp_instance VI_1: auth_pass is 10 characters long; only the first 8 are used (as keepalived)`},
		{"VRRPv2 fractional advert_int", instance("  advert_int 1.4\n"),
			"test.conf:7: vrrp_instance VI_1: VRRPv2 advert_int must be whole seconds; 1.4s rounded to 1s (as keepalived)"},
		{"VRRPv3 sub-centisecond advert_int", instance("  version 3\n  advert_int 0.015\n"),
			"test.conf:8: vrrp_instance VI_1: VRRPv3 advert_int must be in units of 10ms; 15ms rounded to 20ms (as keepalived)"},
		{"VRRPv3 drops authentication", instance("  version 3\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n"),
			"test.conf:8: vrrp_instance VI_1: VRRP version 3 does not support authentication; ignored (as keepalived)"},
		{"include matching nothing", "include conf.d/*.conf\n",
			`test.conf:1: include "conf.d/*.conf": no file matches`},
		{"sync group", instance("") + "vrrp_sync_group G {\n  group {\n    VI_1\n  }\n}\n",
			"test.conf:8: vrrp_sync_group G: has only 1 virtual router; this probably isn't what you want (as keepalived)"},
		{"sync group member missing", instance("") + "vrrp_sync_group G {\n  group {\n    VI_1 VI_9\n  }\n}\n",
			"test.conf:8: vrrp_sync_group G: vrrp_instance VI_9 does not exist; ignored (as keepalived)"},
		{"extra words", instance("  interface eth1 eth2\n"),
			"test.conf:7: vrrp_instance VI_1: interface: extra words ignored: eth2"},
		{"no VIP with VRRPv2", "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n}\n",
			"test.conf:1: vrrp_instance VI_1: no virtual_ipaddress; at least one is sensible"},
		{"first IPv6 VIP not link-local", "vrrp_instance V6 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    2001:db8::1\n  }\n}\n",
			"test.conf:5: vrrp_instance V6: the first IPv6 VIP should be link-local (as keepalived)"},
		{"own interface tracked", instance("  track_interface {\n    eth0\n  }\n"),
			"test.conf:8: vrrp_instance VI_1: track_interface eth0 is the instance's own interface, which is always tracked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := parseOK(t, tt.src)
			if !hasLine(warnings(cfg), tt.want) {
				t.Errorf("warnings:\n  %s\nwant a line:\n  %s", strings.Join(warnings(cfg), "\n  "), tt.want)
			}
		})
	}
}
