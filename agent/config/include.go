package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// maxIncludeDepth bounds nesting so that a pathological chain of distinct
// files cannot exhaust the stack; real configurations nest two or three deep.
const maxIncludeDepth = 32

// The input budget of one configuration, across all its includes: a glob that
// matches a huge file, or many, is an error instead of unbounded memory. A thousand
// instances with their scripts take a few hundred KiB and some 100 000 words.
const (
	maxConfigBytes  = 16 << 20
	maxConfigTokens = 2_000_000
)

// source is where configuration files come from: the file system in
// production, a map in tests and in the fuzzer.
type source interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

type osSource struct{}

func (osSource) ReadFile(name string) ([]byte, error)  { return readRegularFile(name, maxConfigBytes) }
func (osSource) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// reader turns a file and everything it includes into one token stream,
// the way keepalived splices included files into the including one.
type reader struct {
	src   source
	diags *diagnostics
	lexer lineLexer
	pre   *preprocessor // keepalived's @ID, $NAME and ~SEQ lines; nil: none

	toks  []token
	files []string        // every file read, in first-read order
	read  map[string]bool // files already in files
	open  []string        // absolute paths of the files being read (include stack)
	sum   hash.Hash       // over the names and bytes of every file read
	lines int             // logical lines read so far, across files
	bytes int             // bytes read so far, across files (maxConfigBytes)
	// maxTokens is the word budget, maxConfigTokens but for tests.
	maxTokens int
	over      bool // the budget is spent: stop reading
}

func newReader(src source, diags *diagnostics) *reader {
	return &reader{
		src:   src,
		diags: diags,
		lexer: lineLexer{diags: diags},
		read:  make(map[string]bool),
		sum:   sha256.New(),

		maxTokens: maxConfigTokens,
	}
}

// hash returns the hex SHA-256 over every file read.
func (r *reader) hash() string { return hex.EncodeToString(r.sum.Sum(nil)) }

// addFile lexes one file's contents, following its includes.
func (r *reader) addFile(name string, data []byte) {
	if !r.read[name] {
		r.read[name] = true
		r.files = append(r.files, name)
	}
	// Length-prefix each part so that moving bytes between files, or
	// renaming a file, changes the hash.
	r.bytes += len(data)
	fmt.Fprintf(r.sum, "%d:%s\x00%d:", len(name), name, len(data))
	r.sum.Write(data)

	r.open = append(r.open, absPath(name))
	defer func() { r.open = r.open[:len(r.open)-1] }()

	lines := strings.Split(string(data), "\n")
	var pending []token // tokens of a statement continued with a trailing "\"
	for i, raw := range lines {
		if r.over {
			return
		}
		out := []outLine{{raw, Pos{File: name, Line: i + 1}}}
		if r.pre != nil {
			out = r.pre.line(name, raw, out[0].pos)
		}
		for _, ol := range out {
			if r.over {
				return
			}
			pos := ol.pos
			if len(pending) > 0 {
				pos = pending[0].pos
			}
			toks, cont := r.lexLine(ol.text, pos)
			toks = append(pending, toks...)
			if cont && i < len(lines)-1 {
				pending = toks
				continue
			}
			pending = nil
			r.lines++
			for j := range toks {
				toks[j].line = r.lines
			}
			if len(toks) > 0 && toks[0].kind == tokWord && !toks[0].quoted && toks[0].text == "include" {
				r.include(name, toks)
				continue
			}
			r.toks = append(r.toks, toks...)
			if len(r.toks) > r.maxTokens {
				r.over = true
				r.toks = nil // an error already; do not make the parser chew through it
				r.diags.errorf(pos, "the configuration has more than %d words across its includes; stopped reading", r.maxTokens)
			}
		}
	}
}

// lexLine lexes one line. The lexer quotes the text it complains about; on an
// auth_pass line that text is the password, so there its messages are replaced by ones
// that name the keyword and the position only.
func (r *reader) lexLine(line string, pos Pos) ([]token, bool) {
	if !isSecretLine(line) {
		return r.lexer.lex(line, pos)
	}
	hidden := &diagnostics{}
	lx := r.lexer
	lx.diags = hidden
	toks, cont := lx.lex(line, pos)
	for _, e := range hidden.errs {
		r.diags.errorf(Pos{File: e.File, Line: e.Line}, "auth_pass: the value does not read (an unterminated quote?); it is not shown: a secret")
	}
	for _, w := range hidden.warns {
		r.diags.warnf(Pos{File: w.File, Line: w.Line}, "auth_pass: a \"#\" or \"!\" in the value starts a comment (as in keepalived) and cuts it; write \\# to keep it; the value is not shown: a secret")
	}
	return toks, cont
}

// isSecretLine reports whether line is an auth_pass statement.
func isSecretLine(line string) bool {
	rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "auth_pass")
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

// include expands an "include PATTERN" line. Patterns are relative to the
// directory of the including file; matches are read in sorted order; a
// pattern that matches nothing is only a warning, as in keepalived.
func (r *reader) include(from string, toks []token) {
	at := toks[0].pos
	if len(toks) < 2 {
		r.diags.errorf(at, "include: missing file name")
		return
	}
	for _, t := range toks[1:] {
		if t.kind != tokWord {
			r.diags.errorf(at, "include: unexpected %q", t.String())
			continue
		}
		pattern := t.text
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(from), pattern)
		}
		matches, err := r.src.Glob(pattern)
		if err != nil {
			r.diags.errorf(at, "include %q: %v", t.text, err)
			continue
		}
		if len(matches) == 0 {
			r.diags.warnf(at, "include %q: no file matches", t.text)
			continue
		}
		slices.Sort(matches)
		for _, m := range matches {
			r.includeFile(at, m)
		}
	}
}

func (r *reader) includeFile(at Pos, name string) {
	if slices.Contains(r.open, absPath(name)) {
		r.diags.errorf(at, "include cycle: %s is already being read", name)
		return
	}
	if len(r.open) >= maxIncludeDepth {
		r.diags.errorf(at, "include %s: nested more than %d deep", name, maxIncludeDepth)
		return
	}
	if r.over {
		return
	}
	data, err := r.src.ReadFile(name)
	if err != nil {
		r.diags.errorf(at, "include %s: %v", name, err)
		return
	}
	if r.bytes+len(data) > maxConfigBytes {
		r.over = true
		r.diags.errorf(at, "include %s: the configuration would exceed %d bytes across its includes; stopped reading", name, maxConfigBytes)
		return
	}
	r.addFile(name, data)
}

// readRegularFile reads a configuration file of at most limit bytes. Anything but a
// regular file is refused before a byte is read: a FIFO would block the agent at
// start or reload, /dev/zero would never end. The open does not block either
// (O_NONBLOCK, which a regular file ignores).
func readRegularFile(name string, limit int) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", name, fileKind(fi.Mode()))
	}
	if fi.Size() > int64(limit) {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a configuration may have", name, fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is more than the %d bytes a configuration may have", name, limit)
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	default:
		return m.Type().String()
	}
}

// absPath makes include-cycle detection independent of how a file was named.
func absPath(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}
