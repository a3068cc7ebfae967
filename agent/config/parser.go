package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// parser interprets the statement tree into a Config. It reports through
// diags and never stops at the first problem.
type parser struct {
	diags *diagnostics
	cfg   *Config

	globalSeen bool
	// first definition of each named block, to report duplicates
	defined map[string]Pos
}

func newParser(diags *diagnostics) *parser {
	return &parser{
		diags: diags,
		cfg: &Config{
			Global:     defaultGlobal(),
			Scripts:    make(map[string]*Script),
			Processes:  make(map[string]*TrackProcess),
			HTTPChecks: make(map[string]*HTTPCheck),
			TrackFiles: make(map[string]*TrackFile),
		},
		defined: make(map[string]Pos),
	}
}

// keyword is how one keyword of a block is read.
type keyword struct {
	block bool // the keyword opens a { } block
	fn    func(s *stmt)
}

// value is a keyword that takes its arguments on the line.
func value(fn func(s *stmt)) keyword { return keyword{fn: fn} }

// block is a keyword followed by a { } block.
func block(fn func(s *stmt)) keyword { return keyword{block: true, fn: fn} }

// blockSpec describes how the statements of one block are read.
type blockSpec struct {
	ctx      string             // "vrrp_instance VI_1", for messages
	keywords map[string]keyword // what hagent reads
	ignored  map[string]string  // keepalived keywords accepted and ignored, with why
	// ignoreUnknown notes unknown keywords as ignored rather than unknown:
	// used for global_defs, where keepalived has hundreds of settings that
	// do not concern VRRP.
	ignoreUnknown bool
}

func (p *parser) readBlock(spec blockSpec, stmts []*stmt) {
	for _, s := range stmts {
		name := s.key.text
		kw, ok := spec.keywords[name]
		switch {
		case ok:
			if kw.block && !s.hasBlock {
				p.diags.errorf(s.pos(), "%s: %s needs a { } block", spec.ctx, name)
				continue
			}
			if !kw.block && s.hasBlock {
				p.diags.errorf(s.pos(), "%s: %s does not take a { } block", spec.ctx, name)
				continue
			}
			kw.fn(s)
		case spec.ignored[name] != "":
			p.diags.warnf(s.pos(), "%s: %s is accepted but ignored: %s", spec.ctx, name, spec.ignored[name])
		case spec.ignoreUnknown:
			p.diags.warnf(s.pos(), "%s: %s is accepted but ignored by hagent", spec.ctx, name)
		default:
			p.diags.warnf(s.pos(), "%s: unknown keyword %q ignored", spec.ctx, name)
		}
	}
}

// args checks the number of arguments of s: at least lo, and at most hi
// (hi < 0: any number). Missing arguments are an error, extra ones a warning.
func (p *parser) args(ctx string, s *stmt, lo, hi int) bool {
	if len(s.args) < lo {
		if lo == 1 {
			p.diags.errorf(s.pos(), "%s: %s needs a value", ctx, s.key.text)
		} else {
			p.diags.errorf(s.pos(), "%s: %s needs %d values", ctx, s.key.text, lo)
		}
		return false
	}
	if hi >= 0 && len(s.args) > hi {
		p.diags.warnf(s.pos(), "%s: %s: extra words ignored: %s", ctx, s.key.text, joinTokens(s.args[hi:]))
	}
	return true
}

func joinTokens(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.String()
	}
	return strings.Join(parts, " ")
}

// str reads a one-word value.
func (p *parser) str(ctx string, s *stmt, dst *string) bool {
	if !p.args(ctx, s, 1, 1) {
		return false
	}
	*dst = s.args[0].text
	return true
}

// command reads the rest of the line as a command line.
func (p *parser) command(ctx string, s *stmt, dst *string) bool {
	if !p.args(ctx, s, 1, -1) {
		return false
	}
	cmd := strings.TrimSpace(joinWords(s.args))
	if cmd == "" {
		p.diags.errorf(s.pos(), "%s: %s is empty", ctx, s.key.text)
		return false
	}
	*dst = cmd
	return true
}

// intIn reads a whole number within lo..hi.
func (p *parser) intIn(ctx string, s *stmt, lo, hi int, dst *int) bool {
	if !p.args(ctx, s, 1, 1) {
		return false
	}
	return p.intTokenIn(ctx, s, s.args[0], lo, hi, dst)
}

func (p *parser) intTokenIn(ctx string, s *stmt, t token, lo, hi int, dst *int) bool {
	n, err := parseInt(t.text)
	if err != nil {
		p.diags.errorf(s.pos(), "%s: %s: %v", ctx, s.key.text, err)
		return false
	}
	if n < lo || n > hi {
		p.diags.errorf(s.pos(), "%s: %s %d out of range %d..%d", ctx, s.key.text, n, lo, hi)
		return false
	}
	*dst = n
	return true
}

// seconds reads a TIMER value (see parseSeconds) of at least lo.
func (p *parser) seconds(ctx string, s *stmt, lo time.Duration, units bool, dst *time.Duration) bool {
	if !p.args(ctx, s, 1, 1) {
		return false
	}
	d, err := parseSeconds(s.args[0].text, units)
	if err != nil {
		p.diags.errorf(s.pos(), "%s: %s: %v", ctx, s.key.text, err)
		return false
	}
	if d < lo {
		if lo == time.Microsecond {
			p.diags.errorf(s.pos(), "%s: %s must be greater than 0", ctx, s.key.text)
		} else {
			p.diags.errorf(s.pos(), "%s: %s must be at least %v", ctx, s.key.text, lo)
		}
		return false
	}
	*dst = d
	return true
}

// flag reads a keyword that is true when present, with an optional BOOL.
func (p *parser) flag(ctx string, s *stmt, dst *bool) {
	if len(s.args) == 0 {
		*dst = true
		return
	}
	p.args(ctx, s, 0, 1)
	b, err := parseBool(s.args[0].text)
	if err != nil {
		p.diags.errorf(s.pos(), "%s: %s: %v", ctx, s.key.text, err)
		return
	}
	*dst = b
}

// addr reads one IP address.
func (p *parser) addr(ctx string, s *stmt, dst *netip.Addr) bool {
	if !p.args(ctx, s, 1, 1) {
		return false
	}
	a, err := parseAddr(s.args[0].text)
	if err != nil {
		p.diags.errorf(s.pos(), "%s: %s: %v", ctx, s.key.text, err)
		return false
	}
	*dst = a
	return true
}

// weight reads "weight N [reverse]" (N in -254..254, keepalived's range).
func (p *parser) weight(ctx string, s *stmt, w *int, reverse *bool) {
	if !p.args(ctx, s, 1, 2) {
		return
	}
	p.intTokenIn(ctx, s, s.args[0], -254, 254, w)
	if len(s.args) > 1 {
		if s.args[1].text == "reverse" {
			*reverse = true
		} else {
			p.diags.errorf(s.pos(), "%s: weight: expected \"reverse\" after the weight, got %q", ctx, s.args[1].text)
		}
	}
}

// count reads fall/rise: keepalived raises values below 1 to 1.
func (p *parser) count(ctx string, s *stmt, dst *int) {
	var n int
	if !p.intIn(ctx, s, 0, 1<<20, &n) {
		return
	}
	if n < 1 {
		p.diags.warnf(s.pos(), "%s: %s %d raised to 1 (as keepalived)", ctx, s.key.text, n)
		n = 1
	}
	*dst = n
}

// name reads the name of a named top-level block and registers it.
func (p *parser) name(kind string, s *stmt) (string, bool) {
	if len(s.args) == 0 {
		p.diags.errorf(s.pos(), "%s needs a name", kind)
		return "", false
	}
	if len(s.args) > 1 {
		p.diags.warnf(s.pos(), "%s %s: extra words ignored: %s", kind, s.args[0].text, joinTokens(s.args[1:]))
	}
	n := s.args[0].text
	key := kind + "\x00" + n
	if first, dup := p.defined[key]; dup {
		p.diags.errorf(s.pos(), "%s %s is already defined at %s", kind, n, first)
		return "", false
	}
	p.defined[key] = s.pos()
	return n, true
}

func (p *parser) fail(s *stmt, format string, args ...any) {
	p.diags.errorf(s.pos(), "%s", fmt.Sprintf(format, args...))
}
