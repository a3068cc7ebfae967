//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiling endpoints, only in a -tags pprof build
	"os"
)

// A profiling build (go build -tags pprof) serves net/http/pprof on $HACTL_PPROF
// (host:port, in hactl's network namespace), like hagent's $HAGENT_PPROF: the console's
// own cost (issue 18) is measured with it. Release builds leave it out.
func init() {
	addr := os.Getenv("HACTL_PPROF")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
