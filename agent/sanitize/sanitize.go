package sanitize

import (
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Replacement stands for each run of invalid bytes.
const Replacement = "\uFFFD"

// UTF8 returns s with every run of invalid UTF-8 replaced by U+FFFD.
func UTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, Replacement)
}

// Clip returns s as valid UTF-8 of at most max bytes, cut at a rune
// boundary (never in the middle of a multibyte character).
func Clip(s string, max int) string {
	if max <= 0 {
		return ""
	}
	// Cut first, so that a character split by the cut is dropped rather than
	// turned into U+FFFD; then again if replacements made it longer.
	s = UTF8(cut(s, max))
	return cut(s, max)
}

// cut bounds s to max bytes, before the character that straddles max.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// TrimPartialRune drops an incomplete UTF-8 sequence at the end of s: what a
// byte limit leaves when it falls inside a character.
func TrimPartialRune(s string) string {
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return s[:i]
			}
			return s
		}
	}
	return s
}

// Message replaces invalid UTF-8 in every string field of m, in place,
// through nested messages, lists and maps (keys included). It returns
// whether it changed anything, so that callers can log that the text of
// some source needs sanitising at its origin.
func Message(m proto.Message) bool {
	if m == nil {
		return false
	}
	return walker{UTF8}.message(m.ProtoReflect())
}

// PrintableMessage applies Printable to every string field of m, in place:
// what a console does with an agent's answer before printing or drawing it.
func PrintableMessage(m proto.Message) bool {
	if m == nil {
		return false
	}
	return walker{Printable}.message(m.ProtoReflect())
}

// walker rewrites the strings of a message with fn.
type walker struct {
	fn func(string) string
}

func (w walker) message(m protoreflect.Message) bool {
	if !m.IsValid() {
		return false
	}
	changed := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				nv, set, ch := w.fix(fd, l.Get(i))
				if set {
					l.Set(i, nv)
				}
				changed = changed || ch
			}
		case fd.IsMap():
			mp := v.Map()
			type kv struct {
				k protoreflect.MapKey
				v protoreflect.Value
			}
			var rekey []kv
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				nv, set, ch := w.fix(fd.MapValue(), mv)
				if set {
					mp.Set(k, nv)
					mv = nv
				}
				changed = changed || ch
				if fd.MapKey().Kind() == protoreflect.StringKind && w.fn(k.String()) != k.String() {
					rekey = append(rekey, kv{k, mv})
				}
				return true
			})
			for _, e := range rekey {
				mp.Clear(e.k)
				mp.Set(protoreflect.ValueOfString(w.fn(e.k.String())).MapKey(), e.v)
				changed = true
			}
		default:
			nv, set, ch := w.fix(fd, v)
			if set {
				m.Set(fd, nv)
			}
			changed = changed || ch
		}
		return true
	})
	return changed
}

// fix sanitises one singular element: it returns the value to store when
// set is true, and whether anything changed. Messages are fixed in place.
func (w walker) fix(fd protoreflect.FieldDescriptor, v protoreflect.Value) (nv protoreflect.Value, set, changed bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s := v.String()
		ns := w.fn(s)
		if ns == s {
			return v, false, false
		}
		return protoreflect.ValueOfString(ns), true, true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return v, false, w.message(v.Message())
	}
	return v, false, false
}
