package config

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The preprocessor implements keepalived 2.2.7's line-level configuration
// language (keepalived.conf(5), ADVANCED CONFIGURATION; lib/parser.c
// read_line), which lets one file serve several hosts:
//
//   - "@ID line" keeps line only when ID is the config id, "@^ID line" only
//     when it is not (read_line);
//   - "$NAME=value" defines a parameter, a value ending with "\" continues
//     on the following lines (check_definition, the multiline_param_def part
//     of read_line);
//   - "$NAME" (followed by a blank, ",", ")" or the end of the line) and
//     "${NAME}" anywhere are replaced by the value, recursively; undefined
//     names stay as written (replace_param, find_definition);
//   - "~SEQ(var, start, step, end) line", "~SEQx(...)" and "~LST(...)"
//     repeat the rest of the line (add_seq, add_lst);
//   - ${_PWD}, ${_INSTANCE}, ${_RANDOM [MIN [MAX]]}, ${_HASH} and ${_BANG}
//     are predefined (set_std_definitions).
//
// It works on physical lines before they are split into words; lines that
// use none of it pass through unchanged.

const (
	// maxExpandedLines bounds what sequences and multiline parameters may
	// produce from one configuration (keepalived's own man page example
	// makes 65024 instances from one line).
	maxExpandedLines = 1 << 17
	// maxExpandDepth bounds nesting of multiline parameters and sequences,
	// so that a parameter that expands to itself is an error, not a hang.
	maxExpandDepth = 32
	// maxLineLen bounds one line after substitution (keepalived: its line
	// buffer, MAXBUF).
	maxLineLen = 64 << 10
	// maxSubstitutions bounds the replacements made in one line, so that a
	// parameter whose value refers to itself fails fast.
	maxSubstitutions = 4096
)

// definition is one $NAME.
type definition struct {
	lines     []string // the value; more than one for a multiline definition
	multiline bool
	// fn computes predefined values; params is what followed the name
	// inside the braces ("${_RANDOM 1 6}").
	fn        func(params string) string
	maxParams int
}

// outLine is a line for the lexer, with the position it is reported at.
type outLine struct {
	text string
	pos  Pos
}

type preprocessor struct {
	diags    *diagnostics
	configID string
	defs     map[string]*definition
	// collecting is the multiline definition being read, nil otherwise.
	collecting *definition
	expanded   int  // lines produced by expansions so far
	overflow   bool // maxExpandedLines was reported
	file       string
}

func newPreprocessor(diags *diagnostics, configID string) *preprocessor {
	p := &preprocessor{diags: diags, configID: configID, defs: make(map[string]*definition)}
	p.defs["_PWD"] = &definition{fn: func(string) string { return p.pwd() }}
	p.defs["_INSTANCE"] = &definition{fn: func(string) string { return p.configID }}
	p.defs["_RANDOM"] = &definition{fn: random, maxParams: 2}
	p.defs["_HASH"] = &definition{lines: []string{"#"}}
	p.defs["_BANG"] = &definition{lines: []string{"!"}}
	return p
}

// pwd is ${_PWD}: keepalived changes into the directory of each file it
// reads, so relative names resolve there.
func (p *preprocessor) pwd() string {
	if p.file == "" {
		wd, _ := os.Getwd()
		return wd
	}
	return filepath.Dir(absPath(p.file))
}

// random is ${_RANDOM [MIN [MAX]]} (get_random): defaults 0 and 32767.
func random(params string) string {
	lo, hi := int64(0), int64(32767)
	f := strings.Fields(params)
	if len(f) > 0 {
		lo, _ = strconv.ParseInt(f[0], 10, 64)
	}
	if len(f) > 1 {
		hi, _ = strconv.ParseInt(f[1], 10, 64)
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	return strconv.FormatInt(lo+rand.Int64N(hi-lo+1), 10)
}

// line processes one physical line of file and returns the lines to lex.
func (p *preprocessor) line(file, raw string, pos Pos) []outLine {
	p.file = file
	raw = strings.TrimRight(raw, "\r")
	if p.collecting != nil {
		p.collect(raw)
		return nil
	}
	t := strings.TrimLeft(raw, " \t")
	if t == "" || (t[0] != '@' && t[0] != '$' && t[0] != '~' && !strings.Contains(t, "$")) {
		return []outLine{{raw, pos}}
	}
	out, changed := p.process(raw, pos, 0)
	if !changed {
		// Nothing of the preprocessor's language: let the lexer see the
		// line as written (and warn about it as usual).
		return []outLine{{raw, pos}}
	}
	return out
}

// collect adds a line to the multiline definition being read
// (read_line, multiline_param_def): a blank line ends it, a line without a
// trailing "\" is its last one, lines holding only "\" add nothing.
func (p *preprocessor) collect(raw string) {
	if raw == "" {
		p.endCollect()
		return
	}
	d, cont := decomment(raw)
	if d == "" && !cont {
		return // a comment: keepalived skips it without ending the definition
	}
	if d != "" {
		p.collecting.lines = append(p.collecting.lines, d)
	}
	if !cont {
		p.endCollect()
	}
}

func (p *preprocessor) endCollect() {
	if len(p.collecting.lines) == 0 {
		p.collecting.multiline = false
		p.collecting.lines = []string{""}
	}
	p.collecting = nil
}

// finish is called at the end of the configuration.
func (p *preprocessor) finish() {
	if p.collecting != nil {
		p.endCollect()
	}
}

// process runs one logical line through conditionals, definitions,
// sequences and substitution. changed is false when none of them applied.
func (p *preprocessor) process(line string, pos Pos, depth int) (out []outLine, changed bool) {
	if depth > maxExpandDepth {
		p.diags.errorf(pos, "parameters or sequences nested more than %d deep (does a parameter expand to itself?)", maxExpandDepth)
		return nil, true
	}
	d, cont := decomment(line)
	var extras []string // following lines of multiline parameters, in order
	for round := 0; ; round++ {
		if d == "" {
			return nil, changed
		}
		if d[0] == '@' {
			rest, keep := p.conditional(d)
			if !keep {
				return nil, true
			}
			d, changed = rest, true
		}
		if d == "" {
			return nil, true
		}
		if d[0] == '$' {
			if name, value, ok := splitDefinition(d); ok {
				p.define(name, value, cont)
				return nil, true
			}
		}
		if strings.HasPrefix(d, "~SEQ") || strings.HasPrefix(d, "~LST") {
			return p.sequence(d, pos, depth), true
		}
		if d[0] == '~' || !strings.Contains(d, "$") {
			break
		}
		nd, more, ok := p.substitute(d, pos)
		if !ok {
			break
		}
		changed = true
		extras = append(more, extras...)
		if len(nd) > maxLineLen || round > maxSubstitutions {
			p.diags.errorf(pos, "parameter substitution makes the line longer than %d bytes (does a parameter expand to itself?)", maxLineLen)
			return nil, true
		}
		d, _ = decomment(nd)
	}
	if cont {
		d += ` \`
	}
	out = []outLine{{d, pos}}
	for _, e := range extras {
		if !p.count(pos, 1) {
			break
		}
		o, _ := p.process(e, pos, depth+1)
		out = append(out, o...)
	}
	return out, changed
}

// count records n more expanded lines and reports whether the budget holds.
func (p *preprocessor) count(pos Pos, n int) bool {
	p.expanded += n
	if p.expanded <= maxExpandedLines {
		return true
	}
	if !p.overflow {
		p.overflow = true
		p.diags.errorf(pos, "sequences and parameters expand to more than %d lines", maxExpandedLines)
	}
	return false
}

// conditional reads "@ID rest" or "@^ID rest": rest, and whether the line
// applies to this host. A line with nothing after the id is dropped, as in
// keepalived.
func (p *preprocessor) conditional(d string) (string, bool) {
	neg := strings.HasPrefix(d, "@^")
	id := d[1:]
	if neg {
		id = d[2:]
	}
	sp := strings.IndexAny(id, " \t")
	if sp < 0 {
		return "", false
	}
	rest := strings.TrimLeft(id[sp:], " \t")
	id = id[:sp]
	if (id == p.configID) == neg {
		return "", false
	}
	return rest, true
}

// splitDefinition recognises "$NAME=value" (check_definition): a name of
// letters, digits and "_" not starting with a digit, "=" right after it.
func splitDefinition(d string) (name, value string, ok bool) {
	if len(d) < 3 || !isNameStart(d[1]) {
		return "", "", false
	}
	i := 2
	for i < len(d) && isNameChar(d[i]) {
		i++
	}
	if i >= len(d) || d[i] != '=' {
		return "", "", false
	}
	return d[1:i], strings.TrimLeft(d[i+1:], " \t"), true
}

// define sets a parameter. A value continued with "\" starts a multiline
// definition whose next lines collect reads.
func (p *preprocessor) define(name, value string, cont bool) {
	def := &definition{}
	p.defs[name] = def
	if !cont {
		def.lines = []string{value}
		return
	}
	def.multiline = true
	if value != "" {
		def.lines = []string{value}
	}
	p.collecting = def
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// substitute replaces the first defined parameter of d and everything its
// value brings in (replace_param: scanning resumes where the value was put,
// so values are expanded recursively). It returns the new line, the further
// lines of a multiline value, and whether anything was replaced.
func (p *preprocessor) substitute(d string, pos Pos) (string, []string, bool) {
	var extras []string
	replaced := false
	for i, n := 0, 0; i < len(d); n++ {
		j := strings.IndexByte(d[i:], '$')
		if j < 0 || i+j+1 >= len(d) {
			break
		}
		i += j
		def, end, params := p.lookup(d, i)
		if def == nil {
			i++
			continue
		}
		var value string
		switch {
		case def.fn != nil:
			value = def.fn(params)
		case def.multiline:
			value = def.lines[0]
			extras = append(append([]string(nil), def.lines[1:]...), extras...)
		case len(def.lines) > 0:
			value = def.lines[0]
		}
		d = d[:i] + value + d[end:]
		replaced = true
		if len(d) > maxLineLen || n > maxSubstitutions {
			p.diags.errorf(pos, "parameter substitution makes the line longer than %d bytes (does a parameter expand to itself?)", maxLineLen)
			return "", nil, false
		}
		if strings.HasPrefix(strings.TrimLeft(value, " \t"), "~") {
			break // a value holding a sequence is handled by the caller
		}
	}
	return d, extras, replaced
}

// lookup finds the parameter referenced at d[i] == '$' (find_definition):
// the definition, the end of the reference, and the parameters written
// inside the braces of a predefined function.
func (p *preprocessor) lookup(d string, i int) (*definition, int, string) {
	k := i + 1
	braces := d[k] == '{'
	if braces {
		k++
	}
	if k >= len(d) || !isNameStart(d[k]) {
		return nil, 0, ""
	}
	e := k + 1
	for e < len(d) && isNameChar(d[e]) {
		e++
	}
	name := d[k:e]
	var params string
	end := e
	if braces {
		// Parameters: digits and spaces, not ending with a space.
		q := e
		for q < len(d) && (d[q] == ' ' || (d[q] >= '0' && d[q] <= '9')) {
			q++
		}
		params = d[e:q]
		if params != "" && (params[len(params)-1] == ' ' || strings.TrimSpace(params) == "") {
			return nil, 0, ""
		}
		if q >= len(d) || d[q] != '}' {
			return nil, 0, ""
		}
		end = q + 1
	} else if e < len(d) && !strings.ContainsRune(" \t,)", rune(d[e])) {
		return nil, 0, ""
	}
	def := p.defs[name]
	if def == nil {
		return nil, 0, ""
	}
	// A multiline value only replaces a reference that ends the line.
	if def.multiline && end != len(d) {
		return nil, 0, ""
	}
	if params != "" && def.maxParams == 0 {
		return nil, 0, ""
	}
	return def, end, strings.TrimSpace(params)
}

// sequence expands "~SEQ(...) rest", "~SEQx(...) rest" or "~LST(...) rest".
func (p *preprocessor) sequence(d string, pos Pos, depth int) []outLine {
	var (
		vars []string
		sets [][]string
		err  error
		rest string
	)
	if strings.HasPrefix(d, "~SEQ") {
		vars, sets, rest, err = p.parseSeq(d, pos)
	} else {
		vars, sets, rest, err = parseLst(d)
	}
	if err != nil {
		p.diags.errorf(pos, "%v", err)
		return nil
	}
	var out []outLine
	for _, set := range sets {
		if !p.count(pos, 1) {
			break
		}
		for i, v := range vars {
			p.defs[v] = &definition{lines: []string{set[i]}}
		}
		o, _ := p.process(rest, pos, depth+1)
		out = append(out, o...)
	}
	return out
}

// parseSeq reads ~SEQ[x](VAR, [[START,] STEP,] END) (add_seq): with one
// number it is the end and start is 1 (or -1 for a negative end); with two,
// start and end with a step of 1 or -1; the numbers may be written in C's
// notations (0x10, 010) and may be parameters.
func (p *preprocessor) parseSeq(d string, pos Pos) (vars []string, sets [][]string, rest string, err error) {
	bad := fmt.Errorf("invalid ~SEQ specification %q", d)
	s := d[len("~SEQ"):]
	hex := strings.HasPrefix(s, "x")
	if hex {
		s = s[1:]
	}
	s = strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(s, "(") {
		return nil, nil, "", bad
	}
	closing := strings.IndexByte(s, ')')
	if closing < 0 {
		return nil, nil, "", bad
	}
	args := strings.Split(s[1:closing], ",")
	rest = strings.TrimLeft(s[closing+1:], " \t")
	name := strings.TrimSpace(args[0])
	if name == "" || strings.ContainsAny(name, " \t") || len(args) < 2 || len(args) > 4 {
		return nil, nil, "", bad
	}
	nums := make([]int64, 0, 3)
	for _, a := range args[1:] {
		a = strings.TrimSpace(a)
		if strings.Contains(a, "$") {
			if sub, _, ok := p.substitute(a, pos); ok {
				a = strings.TrimSpace(sub)
			}
		}
		if a == "" {
			nums = append(nums, 0) // strtol of nothing
			continue
		}
		n, perr := parseCInt(a)
		if perr != nil {
			return nil, nil, "", fmt.Errorf("invalid ~SEQ specification %q: %q is not a number", d, a)
		}
		nums = append(nums, n)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			return nil, nil, "", fmt.Errorf("invalid ~SEQ values %q", d)
		}
	}
	if hex && (start < 0 || end < 0) {
		return nil, nil, "", fmt.Errorf("~SEQx is only valid for positive numbers %q", d)
	}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if len(sets) >= maxExpandedLines {
			return nil, nil, "", fmt.Errorf("~SEQ %q has more than %d values", d, maxExpandedLines)
		}
		if hex {
			sets = append(sets, []string{strconv.FormatInt(v, 16)})
		} else {
			sets = append(sets, []string{strconv.FormatInt(v, 10)})
		}
		if (step > 0 && v > end-step) || (step < 0 && v < end-step) {
			break // the next step would overflow or pass the end
		}
	}
	return []string{name}, sets, rest, nil
}

// parseCInt reads an integer as strtol(s, NULL, 0) does: decimal, 0x hex
// or 0 octal, with an optional sign.
func parseCInt(s string) (int64, error) {
	neg := false
	t := s
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, t = 8, t[1:]
	}
	n, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		n = -n
	}
	return n, nil
}

// parseLst reads ~LST(VAR, V1, V2...) or ~LST({A, B}, {A1, B1}, {A2, B2}...)
// (add_lst): missing values of a set are empty, extra ones are an error.
func parseLst(d string) (vars []string, sets [][]string, rest string, err error) {
	bad := fmt.Errorf("invalid ~LST specification %q", d)
	s := strings.TrimLeft(d[len("~LST"):], " \t")
	if !strings.HasPrefix(s, "(") {
		return nil, nil, "", bad
	}
	s = s[1:]
	// group reads "{a, b}" or "a" up to the next ",", returning its items.
	group := func(s string, stop string) ([]string, string, bool) {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "{") {
			e := strings.IndexByte(s, '}')
			if e < 0 {
				return nil, "", false
			}
			var items []string
			for _, it := range strings.Split(s[1:e], ",") {
				items = append(items, strings.TrimSpace(it))
			}
			return items, strings.TrimLeft(s[e+1:], " \t"), true
		}
		e := strings.IndexAny(s, stop)
		if e < 0 {
			return nil, "", false
		}
		return []string{strings.TrimSpace(s[:e])}, s[e:], true
	}
	vars, s, ok := group(s, ",)")
	if !ok || !strings.HasPrefix(s, ",") {
		return nil, nil, "", bad
	}
	for _, v := range vars {
		if v == "" || !isNameStart(v[0]) {
			return nil, nil, "", bad
		}
	}
	s = s[1:]
	for {
		var set []string
		set, s, ok = group(s, ",)")
		if !ok {
			return nil, nil, "", bad
		}
		if len(set) > len(vars) {
			return nil, nil, "", fmt.Errorf("~LST specification has too many values %q", d)
		}
		for len(set) < len(vars) {
			set = append(set, "")
		}
		sets = append(sets, set)
		if len(sets) > maxExpandedLines {
			return nil, nil, "", fmt.Errorf("~LST %q has more than %d values", d, maxExpandedLines)
		}
		if strings.HasPrefix(s, ")") {
			return vars, sets, strings.TrimLeft(s[1:], " \t"), nil
		}
		if !strings.HasPrefix(s, ",") {
			return nil, nil, "", bad
		}
		s = s[1:]
	}
}

// decomment strips leading blanks, a comment ("#" or "!" outside double
// quotes, not escaped) and trailing blanks, and reports whether the line
// ends with a continuation "\" (removed). Escapes are kept for the lexer.
// It follows lib/parser.c decomment.
func decomment(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t")
	quote, cont := false, false
	cut := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			if cut < 0 {
				quote = !quote
			}
		case c == '\\':
			if i == len(s)-1 {
				// keepalived honours a final "\" even after a comment.
				cont = true
				if cut < 0 {
					cut = i
				}
			}
			i++
		case cut < 0 && !quote && (c == '#' || c == '!'):
			cut = i
		}
	}
	if cut < 0 {
		cut = len(s)
	}
	return strings.TrimRight(s[:cut], " \t"), cont
}
