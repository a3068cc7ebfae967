package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hagent-dev/hagent/agent/sanitize"
)

// Pos is where something was written: a file and a 1-based line.
type Pos struct {
	File string
	Line int
}

// String formats the position as "FILE:LINE".
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is one problem in a configuration, located at a file and line.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "FILE:LINE: message", the format editors and
// `hagent -t` users expect.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Pos returns the position of the problem.
func (e *Error) Pos() Pos { return Pos{File: e.File, Line: e.Line} }

// Errors is every problem found in a configuration, in file order.
type Errors []*Error

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// diagnostics collects errors and warnings while a configuration is read.
type diagnostics struct {
	errs  Errors
	warns []*Error
}

func (d *diagnostics) errorf(p Pos, format string, args ...any) {
	d.errs = append(d.errs, newError(p, format, args...))
}

func (d *diagnostics) warnf(p Pos, format string, args ...any) {
	d.warns = append(d.warns, newError(p, format, args...))
}

// newError quotes the configuration's own text, which may be any bytes: the
// message and file name are made valid UTF-8, as they reach logs, the reload
// event and the API.
func newError(p Pos, format string, args ...any) *Error {
	return &Error{File: sanitize.UTF8(p.File), Line: p.Line, Msg: sanitize.UTF8(fmt.Sprintf(format, args...))}
}

// sortByFile orders problems by the order in which their files were first
// read, then by line, keeping discovery order for equal positions; this makes
// the report read top to bottom like the configuration.
func sortByFile(list []*Error, files []string) {
	rank := make(map[string]int, len(files))
	for i, f := range files {
		if _, ok := rank[f]; !ok {
			rank[f] = i
		}
	}
	fileRank := func(f string) int {
		if r, ok := rank[f]; ok {
			return r
		}
		return len(files)
	}
	slices.SortStableFunc(list, func(a, b *Error) int {
		if c := cmp.Compare(fileRank(a.File), fileRank(b.File)); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
}
