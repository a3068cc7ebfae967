// Package pprofenv serves net/http/pprof in a profiling build (go build -tags pprof) of
// hagent and hactl, on the address an environment variable names. Release builds leave
// it out: it pulls in html/template and an HTTP server nobody asked for.
package pprofenv
