//go:build pprof

package main

import "github.com/hagent-dev/hagent/cmd/internal/pprofenv"

// A profiling build serves pprof on $HACTL_PPROF, like hagent's $HAGENT_PPROF: the
// console's own cost (issue 18) is measured with it.
func init() { pprofenv.Serve("HACTL_PPROF") }
