// Package keys is the console's key bindings, in one place, with their help texts.
package keys

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every binding of the console.
type KeyMap struct {
	Up, Down, Left, Right, NextInstance, PrevInstance key.Binding
	Failover, Clear, Maintenance, Drill               key.Binding
	Explain                                           key.Binding
	// Filter filters the instance list (name, VRID or VIP); LogFilter filters the event
	// log. "/" belongs to the instance list: at 255 instances finding one is the common
	// search, and the log keeps its own filter on l.
	Filter, NextProblem, ToggleView key.Binding
	LogFilter, PageUp, PageDown     key.Binding
	Help, Quit                      key.Binding
}

// Default returns the console's bindings.
func Default() KeyMap {
	return KeyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:         key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "prev node")),
		Right:        key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "next node")),
		NextInstance: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next instance")),
		PrevInstance: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev instance")),
		Failover:     key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "failover")),
		Clear:        key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear override")),
		Maintenance:  key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "maintenance")),
		Drill:        key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "failover test")),
		Explain:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "explain")),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		NextProblem:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next problem")),
		ToggleView:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "compact/full")),
		LogFilter:    key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "filter log")),
		PageUp:       key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "log back")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "log forward")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "findings+help")),
		Quit:         key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the footer: the keys an operator needs most.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Failover, k.Clear, k.Maintenance, k.Drill, k.Explain, k.Filter, k.NextProblem, k.LogFilter, k.Help, k.Quit}
}

// FullHelp is the ? view, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Left, k.Right, k.NextInstance, k.PrevInstance},
		{k.Failover, k.Clear, k.Maintenance, k.Drill, k.Explain},
		{k.Filter, k.NextProblem, k.ToggleView, k.LogFilter},
		{k.PageUp, k.PageDown, k.Help, k.Quit},
	}
}
