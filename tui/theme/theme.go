// Package theme holds every style of the console, built on one lipgloss renderer so the
// colour profile (truecolor, 256, 16, none) and NO_COLOR are decided in one place:
// components never build a style of their own.
package theme

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Theme is the console's styles.
type Theme struct {
	R *lipgloss.Renderer

	Title, Subtle, Stale, Label, PaneTitle lipgloss.Style
	Selected                               lipgloss.Style

	// State badges.
	Master, Backup, Fault, Idle, Unreachable lipgloss.Style

	OK, Bad, Warn lipgloss.Style

	BannerSplit, BannerNoMaster lipgloss.Style

	Dialog, DialogTitle, DialogHint lipgloss.Style

	Status, StatusErr lipgloss.Style

	Help help.Styles
}

// Adaptive colours: the first of each pair is for light terminals.
var (
	green  = lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	blue   = lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
	red    = lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	yellow = lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	grey   = lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}
	faint  = lipgloss.AdaptiveColor{Light: "#8c959f", Dark: "#6e7681"}
	text   = lipgloss.AdaptiveColor{Light: "#1f2328", Dark: "#e6edf3"}
	white  = lipgloss.Color("#ffffff")
)

// New builds the theme on r (lipgloss.DefaultRenderer() for the terminal). Colours only
// appear if r's profile has them, so NO_COLOR and dumb terminals get plain text.
func New(r *lipgloss.Renderer) *Theme {
	s := r.NewStyle
	t := &Theme{
		R:         r,
		Title:     s().Bold(true),
		Subtle:    s().Foreground(grey),
		Stale:     s().Foreground(faint).Faint(true),
		Label:     s().Foreground(grey),
		PaneTitle: s().Bold(true).Foreground(text),
		Selected:  s().Bold(true),

		Master:      s().Bold(true).Foreground(green),
		Backup:      s().Bold(true).Foreground(blue),
		Fault:       s().Bold(true).Foreground(red),
		Idle:        s().Bold(true).Foreground(grey),
		Unreachable: s().Bold(true).Foreground(yellow),

		OK:   s().Foreground(green),
		Bad:  s().Foreground(red),
		Warn: s().Foreground(yellow),

		BannerSplit:    s().Bold(true).Foreground(white).Background(red),
		BannerNoMaster: s().Bold(true).Foreground(white).Background(yellow),

		Dialog:      s().Border(lipgloss.RoundedBorder()).BorderForeground(blue).Padding(0, 1),
		DialogTitle: s().Bold(true),
		DialogHint:  s().Foreground(grey),

		Status:    s().Foreground(text),
		StatusErr: s().Foreground(red),
	}
	t.Help = help.Styles{
		Ellipsis:       s().Foreground(grey),
		ShortKey:       s().Bold(true),
		ShortDesc:      s().Foreground(grey),
		ShortSeparator: s().Foreground(faint),
		FullKey:        s().Bold(true),
		FullDesc:       s().Foreground(grey),
		FullSeparator:  s().Foreground(faint),
	}
	return t
}

// Badge is the style of a state name (MASTER, BACKUP, FAULT, INIT, STOP, UNREACHABLE).
func (t *Theme) Badge(state string) lipgloss.Style {
	switch state {
	case "MASTER":
		return t.Master
	case "BACKUP":
		return t.Backup
	case "FAULT":
		return t.Fault
	case "UNREACHABLE":
		return t.Unreachable
	default:
		return t.Idle
	}
}
