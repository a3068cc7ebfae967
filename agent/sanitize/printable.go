package sanitize

import (
	"fmt"
	"strings"
)

// Printable returns s, made valid UTF-8, with every character that a terminal
// would act on instead of showing replaced by a visible escape: C0 controls
// (ESC, CR, BEL, newline, tab...) and DEL as \xNN, C1 controls (U+0080 to
// U+009F, CSI among them) and the bidirectional overrides, which reorder
// what follows them on the line, as \u{NNNN}. A reason "ESC[2J" from an agent
// would otherwise clear the operator's screen.
func Printable(s string) string {
	if printableASCII(s) {
		return s // the common case, checked a byte at a time
	}
	s = UTF8(s)
	i := strings.IndexFunc(s, needsEscape)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u{%04x}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printableASCII reports whether s is ASCII without control characters: nothing to do.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func needsEscape(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
