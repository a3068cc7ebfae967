package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func vips(in *Instance) []string {
	var out []string
	for _, v := range in.VIPs {
		out = append(out, v.Prefix.String())
	}
	return out
}

func peers(in *Instance) []string {
	var out []string
	for _, p := range in.UnicastPeers {
		out = append(out, p.String())
	}
	return out
}

// The man page's conditional example (keepalived.conf(5), "Conditional
// configuration"): with -i main, router_id main_router, unicast_src_ip
// 1.2.3.4 and the peers of everyone but main.
const conditionalConf = `global_defs {
    @main   router_id main_router
    @backup router_id backup_router
}
vrrp_instance VRRP {
    interface eth0
    virtual_router_id 51
    @main    unicast_src_ip 1.2.3.4
    @backup  unicast_src_ip 1.2.3.5
    @backup2 unicast_src_ip 1.2.3.6
    unicast_peer {
        @^main    1.2.3.4
        @^backup  1.2.3.5
        @^backup2 1.2.3.6
    }
    @main
    virtual_ipaddress {
        10.0.0.1
    }
}
`

func TestReadLineConditional(t *testing.T) {
	for _, c := range []struct {
		id, routerID, src string
		peers             []string
	}{
		{"main", "main_router", "1.2.3.4", []string{"1.2.3.5", "1.2.3.6"}},
		{"backup", "backup_router", "1.2.3.5", []string{"1.2.3.4", "1.2.3.6"}},
		{"other", "", "invalid IP", []string{"1.2.3.4", "1.2.3.5", "1.2.3.6"}},
	} {
		cfg := parseOK(t, conditionalConf, ConfigID(c.id))
		in := cfg.Instances[0]
		if cfg.Global.RouterID != c.routerID || in.UnicastSrcIP.String() != c.src || !slices.Equal(peers(in), c.peers) {
			t.Errorf("-i %s: router_id %q, unicast_src_ip %v, peers %v; want %q, %s, %v",
				c.id, cfg.Global.RouterID, in.UnicastSrcIP, peers(in), c.routerID, c.src, c.peers)
		}
	}
}

func TestDefaultConfigIDIsShortHostname(t *testing.T) {
	id := DefaultConfigID()
	if id == "" || strings.Contains(id, ".") {
		t.Errorf("DefaultConfigID() = %q, want the host name up to its first dot", id)
	}
}

// TestCheckDefinitionReplaceParam: $NAME=value, $NAME before a blank, ${NAME}
// inside a word, recursion at replacement time (the man page's ADDRESS_BASE
// example), a definition made under a condition, and "$" that names nothing left
// as written (a script's $1).
func TestCheckDefinitionReplaceParam(t *testing.T) {
	cfg := parseOK(t, `
@main $PRIORITY=240
@backup $PRIORITY=200
$IF=eth0
$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
$ADDRESS_BASE_SUB=0
vrrp_script chk {
    script "/bin/check $1 ${UNDEFINED} ${IF} $IF"
}
vrrp_instance VI_1 {
    interface $IF
    virtual_router_id 51
    priority $PRIORITY
    virtual_ipaddress {
        ${ADDRESS_BASE}.100/32
$ADDRESS_BASE_SUB=10
        ${ADDRESS_BASE}.100/32
    }
}
`, ConfigID("backup"))
	in := cfg.Instances[0]
	if in.Interface != "eth0" || in.Priority != 200 {
		t.Errorf("interface %q priority %d, want eth0 200", in.Interface, in.Priority)
	}
	if got, want := vips(in), []string{"10.2.0.100/32", "10.2.10.100/32"}; !slices.Equal(got, want) {
		t.Errorf("VIPs %v, want %v", got, want)
	}
	if s := cfg.Scripts["chk"].Script; s != "/bin/check $1 ${UNDEFINED} eth0 $IF" {
		t.Errorf("script %q: an undefined $NAME, and $NAME glued to a quote, must stay as written (find_definition)", s)
	}
}

// TestReadLineMultilineDefinition is the man page's $INSTANCE example: a
// multiline definition holding a whole vrrp_instance, with conditional lines
// inside, used twice with different $NUM.
func TestReadLineMultilineDefinition(t *testing.T) {
	src := `$INSTANCE= \
vrrp_instance VI_${NUM} { \
    interface eth0.${NUM} \
    virtual_router_id 1${NUM} \
    @high priority 130 \
    @low priority 120 \
    advert_int 1 \
    virtual_ipaddress { \
        10.0.${NUM}.254/24 \
    } \
}

$NUM=0
$INSTANCE

$NUM=1
$INSTANCE
`
	cfg := parseOK(t, src, ConfigID("low"))
	if len(cfg.Instances) != 2 {
		t.Fatalf("%d instances, want 2", len(cfg.Instances))
	}
	for i, in := range cfg.Instances {
		n := fmt.Sprint(i)
		if in.Name != "VI_"+n || in.Interface != "eth0."+n || in.VRID != 10+i || in.Priority != 120 ||
			!slices.Equal(vips(in), []string{"10.0." + n + ".254/24"}) {
			t.Errorf("instance %d = %s on %s vrid %d priority %d VIPs %v", i, in.Name, in.Interface, in.VRID, in.Priority, vips(in))
		}
	}
}

// TestAddSeq follows add_seq and read_line's sequence loop: the man page's
// examples, the one- and two-number forms, nesting, and parameters as bounds.
func TestAddSeq(t *testing.T) {
	for _, c := range []struct {
		name, lines string
		want        []string
	}{
		{"start step end", "~SEQ(SUBNET, 0, 1, 3) 10.0.${SUBNET}.1", []string{"10.0.0.1/32", "10.0.1.1/32", "10.0.2.1/32", "10.0.3.1/32"}},
		{"start end", "~SEQ(S, 3, 1) 10.0.0.${S}", []string{"10.0.0.3/32", "10.0.0.2/32", "10.0.0.1/32"}},
		{"end only", "~SEQ(S, 2) 10.0.0.${S}", []string{"10.0.0.1/32", "10.0.0.2/32"}},
		{"hex", "~SEQx(SUBNET, 0x90, 0x10, 0xc0) fe80::20:${SUBNET}:1", []string{"fe80::20:90:1/128", "fe80::20:a0:1/128", "fe80::20:b0:1/128", "fe80::20:c0:1/128"}},
		{"nested", "~SEQ(A, 1, 2) ~SEQ(B, 5, 6) 10.0.${A}.${B}", []string{"10.0.1.5/32", "10.0.1.6/32", "10.0.2.5/32", "10.0.2.6/32"}},
		{"parameter bounds", "$LAST=2\n~SEQ(S, 1, $LAST) 10.0.0.${S}", []string{"10.0.0.1/32", "10.0.0.2/32"}},
		{"list", "~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}", []string{"192.168.10.1/32", "192.168.20.4/32"}},
		{"list and seq", "~LST(IP, 1, 2) ~SEQ(IP2, 5, 6) 192.168.${IP}.${IP2}", []string{"192.168.1.5/32", "192.168.1.6/32", "192.168.2.5/32", "192.168.2.6/32"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := parseOK(t, "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n"+c.lines+"\n }\n}\n")
			if got := vips(cfg.Instances[0]); !slices.Equal(got, c.want) {
				t.Errorf("VIPs %v, want %v", got, c.want)
			}
		})
	}
}

// TestAddSeqErrors: what add_seq refuses is an error at the line of the ~SEQ.
func TestAddSeqErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"~SEQ(S, 1, 0, 3) x", `test.conf:2: invalid ~SEQ values "~SEQ(S, 1, 0, 3) x"`},
		{"~SEQ(S, 1, -1, 3) x", `test.conf:2: invalid ~SEQ values "~SEQ(S, 1, -1, 3) x"`},
		{"~SEQx(S, -1, 3) x", `test.conf:2: ~SEQx is only valid for positive numbers "~SEQx(S, -1, 3) x"`},
		{"~SEQ(S) x", `test.conf:2: invalid ~SEQ specification "~SEQ(S) x"`},
		{"~SEQ(S, one) x", `test.conf:2: invalid ~SEQ specification "~SEQ(S, one) x": "one" is not a number`},
		{"~LST({A}, {1, 2}) x", `test.conf:2: ~LST specification has too many values "~LST({A}, {1, 2}) x"`},
	} {
		errs := parseErrs(t, "global_defs {\n"+c.line+"\n}\n")
		if !hasLine(errs, c.want) {
			t.Errorf("%s: errors %q, want %q", c.line, errs, c.want)
		}
	}
}

// TestReplaceParamRunaway: a parameter that refers to itself, or a multiline
// one that expands to itself, is an error with the line that used it, not a hang.
func TestReplaceParamRunaway(t *testing.T) {
	done := make(chan []string, 1)
	go func() {
		done <- append(parseErrs(t, "$A=x${A}\nglobal_defs {\n router_id $A\n}\n"),
			parseErrs(t, "$B= \\\nx \\\n$B\n\n$B\n")...)
	}()
	select {
	case errs := <-done:
		if !slices.ContainsFunc(errs, func(e string) bool {
			return strings.HasPrefix(e, "test.conf:3: parameter substitution makes the line longer")
		}) {
			t.Errorf("self-referring $A: errors %q", errs)
		}
		if !slices.ContainsFunc(errs, func(e string) bool {
			return strings.HasPrefix(e, "test.conf:5: parameters or sequences nested more than")
		}) {
			t.Errorf("self-expanding multiline $B: errors %q", errs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a self-referring parameter hangs the parser")
	}
}

// TestSeqExpansionBounded: a sequence too large to be a configuration is
// refused rather than eating memory.
func TestSeqExpansionBounded(t *testing.T) {
	errs := parseErrs(t, "global_defs {\n~SEQ(A, 1, 1000) ~SEQ(B, 1, 1000) router_id x\n}\n")
	if !slices.ContainsFunc(errs, func(e string) bool {
		return strings.HasPrefix(e, "test.conf:2: sequences and parameters expand to more than")
	}) {
		t.Errorf("errors %q", errs)
	}
}

// TestSetStdDefinitions: the predefined parameters.
func TestSetStdDefinitions(t *testing.T) {
	cfg := parseOK(t, `vrrp_script chk {
    script "${_PWD}/check ${_INSTANCE} ${_HASH}${_BANG} ${_RANDOM 7 7}"
}
`, ConfigID("node1"))
	dir := filepath.Dir(absPath("test.conf"))
	if got, want := cfg.Scripts["chk"].Script, dir+"/check node1 #! 7"; got != want {
		t.Errorf("script %q, want %q", got, want)
	}
}

// TestPreprocessorLeavesPlainLinesAlone: lines without @, $ or ~ reach the
// lexer as written, with its warnings (a "#" inside a word).
func TestPreprocessorLeavesPlainLinesAlone(t *testing.T) {
	cfg := parseOK(t, "global_defs {\n router_id a#b\n}\n")
	if cfg.Global.RouterID != "a" || len(cfg.Warnings) == 0 {
		t.Errorf("router_id %q, warnings %v", cfg.Global.RouterID, warnings(cfg))
	}
}
