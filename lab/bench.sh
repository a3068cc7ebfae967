#!/usr/bin/env bash
# bench.sh — failover benchmark of one VRRP daemon in the lab, as a markdown table.
#
#   lab/bench.sh [hagent|keepalived]      (default hagent; or DAEMON=...)
#   REPS=5 WINDOW=60s OUT=lab/results/<daemon>-<date>.md
#
# Runs TestBench (lab/bench_test.go): graceful stop, preempt back, host loss, link
# up, nginx death, each REPS times with the client-side prober, then the daemon's
# RSS and CPU over WINDOW. Takes about (40 s x REPS) + WINDOW + 30 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
daemon=${1:-${DAEMON:-hagent}}
out=${OUT:-lab/results/$daemon-$(date +%F).md}
[[ $out == /* ]] || out=$PWD/$out
mkdir -p "$(dirname "$out")"
LAB_BENCH=1 LAB_BENCH_DAEMON=$daemon LAB_BENCH_REPS=${REPS:-5} LAB_BENCH_WINDOW=${WINDOW:-60s} \
	LAB_BENCH_OUT=$out go test ./lab -run '^TestBench$' -count=1 -v -timeout 0
echo "report: $out"
