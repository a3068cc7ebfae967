package config

import "strings"

// tokenKind tells words from braces.
type tokenKind uint8

const (
	tokWord tokenKind = iota
	tokOpen
	tokClose
)

// token is one word or brace of the configuration, with where it was written.
type token struct {
	kind   tokenKind
	text   string // for words: the text, quotes removed and escapes resolved
	quoted bool   // the word was written "like this"
	pos    Pos
	// line numbers each logical line read, so that a statement ends at the
	// end of its line even when the same file is included twice in a row.
	line int
}

func (t token) String() string {
	switch t.kind {
	case tokOpen:
		return "{"
	case tokClose:
		return "}"
	}
	if t.quoted {
		return `"` + t.text + `"`
	}
	return t.text
}

// isSpace is keepalived's idea of blank: isspace() in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'
}

// lineLexer splits one physical line of a file into tokens, following the
// rules of keepalived 2.x (lib/parser.c decomment and alloc_strvec):
//
//   - "#" and "!" outside double quotes start a comment, wherever they are,
//     even inside a word; "\#" and "\!" stand for the characters themselves;
//   - "..." is one word with the quotes removed ("\"" and "\\" inside);
//   - "{" and "}" are tokens of their own even when glued to a word;
//   - a "\" ending the line continues the statement on the next line.
type lineLexer struct {
	diags *diagnostics
}

// lex returns the tokens of line, and whether the line ends with a
// continuation backslash.
func (l lineLexer) lex(line string, pos Pos) (toks []token, cont bool) {
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c):
			i++
		case c == '#' || c == '!':
			return toks, false
		case c == '{':
			toks = append(toks, token{kind: tokOpen, pos: pos})
			i++
		case c == '}':
			toks = append(toks, token{kind: tokClose, pos: pos})
			i++
		case c == '"':
			text, next, ok := scanQuoted(line, i+1)
			if !ok {
				l.diags.errorf(pos, "unterminated quoted string %s", strings.TrimSpace(line[i:]))
				return toks, false
			}
			toks = append(toks, token{kind: tokWord, text: text, quoted: true, pos: pos})
			i = next
		case c == '\\' && i == len(line)-1:
			return toks, true
		default:
			text, next, stop := l.scanWord(line, i, pos)
			toks = append(toks, token{kind: tokWord, text: text, pos: pos})
			i = next
			if stop == stopContinuation {
				return toks, true
			}
		}
	}
	return toks, false
}

// scanQuoted reads a quoted string whose opening quote precedes start. It
// returns the text, the index after the closing quote, and false when the
// quote is not closed on this line.
func scanQuoted(line string, start int) (string, int, bool) {
	var b strings.Builder
	for i := start; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			b.WriteByte(line[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", len(line), false
}

type wordStop uint8

const (
	stopDelimiter wordStop = iota
	stopContinuation
)

// scanWord reads a bare word starting at start.
func (l lineLexer) scanWord(line string, start int, pos Pos) (string, int, wordStop) {
	var b strings.Builder
	i := start
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c) || c == '{' || c == '}' || c == '"':
			return b.String(), i, stopDelimiter
		case c == '#' || c == '!':
			// keepalived cuts the line here too; say so, because a password
			// or a path silently losing its tail is hard to debug.
			l.diags.warnf(pos, "%q in the middle of %q starts a comment (as in keepalived); write \\%c to keep it",
				string(c), b.String()+line[i:wordEnd(line, i)], c)
			return b.String(), i, stopDelimiter
		case c == '\\' && i+1 < len(line) && (line[i+1] == '#' || line[i+1] == '!'):
			b.WriteByte(line[i+1])
			i += 2
		case c == '\\' && i == len(line)-1:
			return b.String(), len(line), stopContinuation
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i, stopDelimiter
}

// wordEnd returns the index of the first blank at or after i.
func wordEnd(line string, i int) int {
	for i < len(line) && !isSpace(line[i]) {
		i++
	}
	return i
}
