package config

import (
	"slices"
	"strings"
	"testing"
)

func TestLexLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line     string
		want     []string // tokens, quoted ones shown with quotes
		cont     bool
		warnings int
	}{
		{line: "", want: nil},
		{line: "   # only a comment", want: nil},
		{line: "! keepalived's other comment", want: nil},
		{line: "auth_pass hell>com                    # 用于传输认证", want: []string{"auth_pass", "hell>com"}},
		{line: "global_defs {              # global_defs 这个模块", want: []string{"global_defs", "{"}},
		{line: "interval 3  ! three seconds", want: []string{"interval", "3"}},
		{line: `script "/usr/local/sbin/check_ng.sh arg"  # comment`, want: []string{"script", `"/usr/local/sbin/check_ng.sh arg"`}},
		{line: `script "/bin/echo # not a comment"`, want: []string{"script", `"/bin/echo # not a comment"`}},
		{line: `notify "/bin/say \"hi\""`, want: []string{"notify", `"/bin/say "hi""`}},
		{line: "vrrp_instance VI_1{", want: []string{"vrrp_instance", "VI_1", "{"}},
		{line: "track_script{chk}", want: []string{"track_script", "{", "chk", "}"}},
		{line: "}}", want: []string{"}", "}"}},
		{line: "\tpriority\t100\r", want: []string{"priority", "100"}},
		{line: `auth_pass pa\#ss\!`, want: []string{"auth_pass", "pa#ss!"}},
		{line: "auth_pass pa#ss", want: []string{"auth_pass", "pa"}, warnings: 1},
		{line: "script /bin/check \\", want: []string{"script", "/bin/check"}, cont: true},
		{line: "script /bin/check\\", want: []string{"script", "/bin/check"}, cont: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			d := &diagnostics{}
			toks, cont := lineLexer{diags: d}.lex(tt.line, Pos{"f", 7})
			var got []string
			for _, tok := range toks {
				got = append(got, tok.String())
				if tok.pos != (Pos{"f", 7}) {
					t.Errorf("token %v at %v, want f:7", tok, tok.pos)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("tokens = %q, want %q", got, tt.want)
			}
			if cont != tt.cont {
				t.Errorf("continuation = %v, want %v", cont, tt.cont)
			}
			if len(d.errs) != 0 {
				t.Errorf("errors: %v", d.errs)
			}
			if len(d.warns) != tt.warnings {
				t.Errorf("warnings = %v, want %d", d.warns, tt.warnings)
			}
		})
	}
}

func TestLexUnterminatedQuote(t *testing.T) {
	t.Parallel()
	got := parseErrs(t, "vrrp_script chk {\n  script \"/bin/true\n}\n")
	want := "test.conf:2: unterminated quoted string \"/bin/true"
	if !hasLine(got, want) {
		t.Errorf("errors = %q, want a line %q", got, want)
	}
}

func TestContinuationLine(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, "vrrp_script chk {\n  script /bin/check \\\n    --fast\n  interval 2\n}\n")
	sc := cfg.Scripts["chk"]
	if sc.Script != "/bin/check --fast" || sc.Interval != 2e9 || sc.scriptPos.Line != 2 {
		t.Errorf("script = %+v", sc)
	}
}

func TestMidWordCommentWarning(t *testing.T) {
	t.Parallel()
	cfg := parseOK(t, instance("    authentication {\n        auth_type PASS\n        auth_pass se!cret\n    }\n"))
	if got := cfg.Instances[0].AuthPass; got != "se" {
		t.Errorf("AuthPass = %q, want %q (keepalived cuts at !)", got, "se")
	}
	// auth_pass is a secret: the warning names the keyword and the line, not the value.
	want := `test.conf:9: auth_pass: a "#" or "!" in the value starts a comment (as in keepalived) and cuts it; write \# to keep it; the value is not shown: a secret`
	if !hasLine(warnings(cfg), want) || strings.Contains(strings.Join(warnings(cfg), "\n"), "!cret") {
		t.Errorf("warnings = %q, want %q", warnings(cfg), want)
	}
	other := parseOK(t, instance("    notify_master /bin/true#x\n"))
	want = `test.conf:7: "#" in the middle of "/bin/true#x" starts a comment (as in keepalived); write \# to keep it`
	if !hasLine(warnings(other), want) {
		t.Errorf("warnings = %q, want %q", warnings(other), want)
	}
}
