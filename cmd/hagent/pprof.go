//go:build pprof

package main

import "github.com/hagent-dev/hagent/cmd/internal/pprofenv"

// A profiling build serves pprof on $HAGENT_PPROF (lab/bench.sh's LAB_BENCH_PPROF).
func init() { pprofenv.Serve("HAGENT_PPROF") }
