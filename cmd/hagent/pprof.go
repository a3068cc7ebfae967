//go:build pprof

package main

import "github.com/hagent-dev/hagent/cmd/internal/pprofenv"

// A profiling build serves pprof on $HAGENT_PPROF (lab/bench.sh's LAB_BENCH_PPROF) and
// keeps a flight recorder's trace of late adverts in $HAGENT_FLIGHT_DIR.
func init() {
	pprofenv.Serve("HAGENT_PPROF")
	lateAdvertHook = pprofenv.FlightRecorder("HAGENT_FLIGHT_DIR")
}
