package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxIncludeDepth bounds nesting so that a pathological chain of distinct
// files cannot exhaust the stack; real configurations nest two or three deep.
const maxIncludeDepth = 32

// source is where configuration files come from: the file system in
// production, a map in tests and in the fuzzer.
type source interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

type osSource struct{}

func (osSource) ReadFile(name string) ([]byte, error)  { return os.ReadFile(name) }
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
}

func newReader(src source, diags *diagnostics) *reader {
	return &reader{
		src:   src,
		diags: diags,
		lexer: lineLexer{diags: diags},
		read:  make(map[string]bool),
		sum:   sha256.New(),
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
	fmt.Fprintf(r.sum, "%d:%s\x00%d:", len(name), name, len(data))
	r.sum.Write(data)

	r.open = append(r.open, absPath(name))
	defer func() { r.open = r.open[:len(r.open)-1] }()

	lines := strings.Split(string(data), "\n")
	var pending []token // tokens of a statement continued with a trailing "\"
	for i, raw := range lines {
		out := []outLine{{raw, Pos{File: name, Line: i + 1}}}
		if r.pre != nil {
			out = r.pre.line(name, raw, out[0].pos)
		}
		for _, ol := range out {
			pos := ol.pos
			if len(pending) > 0 {
				pos = pending[0].pos
			}
			toks, cont := r.lexer.lex(ol.text, pos)
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
		}
	}
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
	data, err := r.src.ReadFile(name)
	if err != nil {
		r.diags.errorf(at, "include %s: %v", name, err)
		return
	}
	r.addFile(name, data)
}

// absPath makes include-cycle detection independent of how a file was named.
func absPath(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}
