//go:build pprof

package pprofenv

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiling endpoints
	"os"
)

// Serve starts serving the profiling endpoints on $env (host:port, in the process's
// network namespace), if it is set.
func Serve(env string) {
	addr := os.Getenv(env)
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
