// Package tui is hactl's live console. The root Model only routes: agent messages fold
// into a cluster.State, components (dashboard, timing, eventlog, dialog) render it, and
// every action runs through an injected function inside a tea.Cmd, so Update and View do
// no I/O and the model is tested without a network.
package tui
