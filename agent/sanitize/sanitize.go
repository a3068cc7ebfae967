package sanitize

import (
	"strings"
	"sync"
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
	// Only the fields through which a string can be reached: a console receives
	// hundreds of advert timings a second, each a dozen Durations and Timestamps
	// that hold none.
	for _, fd := range textFields(m.Descriptor()) {
		if !m.Has(fd) {
			continue // unset, empty or zero: no text
		}
		v := m.Get(fd)
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
	}
	return changed
}

// textFieldsCache maps a message descriptor to its textFields.
var textFieldsCache sync.Map

// textFields returns the fields of md through which a string can be reached: string
// fields, and lists, maps and messages that hold one at any depth. Extensions are not
// walked (the API defines none).
func textFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if fs, ok := textFieldsCache.Load(md); ok {
		return fs.([]protoreflect.FieldDescriptor)
	}
	var fs []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fieldHasText(fd, map[protoreflect.FullName]bool{md.FullName(): true}) {
			fs = append(fs, fd)
		}
	}
	textFieldsCache.Store(md, fs)
	return fs
}

// fieldHasText reports whether a value of fd can hold a string. visiting holds the
// messages on the current path: a field leading back into one of them adds no string
// that the walk does not find on that message's other fields.
func fieldHasText(fd protoreflect.FieldDescriptor, visiting map[protoreflect.FullName]bool) bool {
	if fd.IsMap() {
		return fd.MapKey().Kind() == protoreflect.StringKind || fieldHasText(fd.MapValue(), visiting)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if visiting[md.FullName()] {
			return false
		}
		visiting[md.FullName()] = true
		defer delete(visiting, md.FullName())
		fields := md.Fields()
		for i := range fields.Len() {
			if fieldHasText(fields.Get(i), visiting) {
				return true
			}
		}
	}
	return false
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
