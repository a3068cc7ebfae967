// Package format renders durations, ages and rates compactly and the same way in every
// pane of the console.
package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Age renders a coarse elapsed time: 12s, 3m12s, 2h05m, 3d4h.
func Age(d time.Duration) string {
	// strconv, not fmt: the compact list redoes every instance's age on each tick.
	if d < 0 {
		d = 0
	}
	var b [24]byte
	out := b[:0]
	switch {
	case d < time.Minute:
		out = append(strconv.AppendInt(out, int64(d/time.Second), 10), 's')
	case d < time.Hour:
		out = append(strconv.AppendInt(out, int64(d/time.Minute), 10), 'm')
		out = append(two(out, int64(d/time.Second)%60), 's')
	case d < 24*time.Hour:
		out = append(strconv.AppendInt(out, int64(d/time.Hour), 10), 'h')
		out = append(two(out, int64(d/time.Minute)%60), 'm')
	default:
		h := int64(d / time.Hour)
		out = append(strconv.AppendInt(out, h/24, 10), 'd')
		out = append(strconv.AppendInt(out, h%24, 10), 'h')
	}
	return string(out)
}

// two appends n (0–99) in two digits.
func two(b []byte, n int64) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// Dur renders a short precise duration: 850ms, 1.00s, 3.61s, 12ms, 250µs.
func Dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// Rate renders a per-second rate: 1.0/s, 0/s.
func Rate(r float64) string {
	if r == 0 {
		return "0/s"
	}
	return fmt.Sprintf("%.1f/s", r)
}

// Fit truncates a (possibly styled) line to width cells, with an ellipsis, and never
// lets it wrap.
func Fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if lipgloss.Width(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// Pad right-pads a (possibly styled) string to width cells.
func Pad(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// Width is the display width of a (possibly styled) string.
func Width(s string) int { return lipgloss.Width(s) }
