// Package cluster is hactl's client-side model of a cluster of hagent agents: where the
// agents are (a cluster file or --agent flags), one Watch stream per agent folded into a
// live State, derived views (node × instance rows, split brain, no master), and the
// operator's controls (forced failover, clear, maintenance, status).
//
// Nothing here knows about the terminal: the TUI and the plain subcommands both sit on top.
package cluster
