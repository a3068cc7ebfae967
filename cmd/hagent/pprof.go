//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiling endpoints, only in a -tags pprof build
	"os"
)

// A profiling build (go build -tags pprof) serves net/http/pprof on $HAGENT_PPROF
// (host:port, inside the agent's network namespace). Release builds leave it out: it
// pulls in html/template and an HTTP server nobody asked for.
func init() {
	addr := os.Getenv("HAGENT_PPROF")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
