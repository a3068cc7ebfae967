#!/usr/bin/env bash
# bench.sh — keepalived 2.2.7 and hagent measured side by side in the lab, one
# markdown report.
#
#   lab/bench.sh                               every group, both daemons
#   SCENARIOS=gaps,probes lab/bench.sh         a subset (gaps probes failover partition scale jitter)
#   DAEMONS=hagent lab/bench.sh                one daemon only
#   REPS=5 WINDOW=60s SCALE=1,255,510,1020 LOAD_MAX=3 OUT=lab/results/bench-<date>.md
#   LAB_BENCH_PPROF=1 SCENARIOS=scale lab/bench.sh   + hagent's CPU and heap profiles
#
# Runs TestBench (lab/bench_*_test.go). The groups:
#   gaps       graceful stop, preempt back, host loss, link up, nginx death (seed
#              check script), then RSS/PSS/CPU over WINDOW       ~ 2 x (40 s x REPS + WINDOW)
#   probes     nginx death with hagent's vrrp_track_process and vrrp_http_check   ~ 25 s x REPS
#   failover   hagent's Failover RPC (hactl failover) and clearing it            ~ 10 s x REPS
#   partition  VRRP dropped both ways with nft, both MASTER, heal                ~ 2 x 15 s x REPS
#   scale      CPU, VmRSS/RssAnon/RssFile/PSS at SCALE instances (up to 1020: IPv4 and
#              IPv6 on eth0 and a second interface eth1), growth per instance and at a
#              constant mix (510 -> 1020 adds the mix of the first 510), link-down
#              failovers (min(REPS, 3)) at the largest size up to 255 and at the largest
#              size (spread, last advert -> VIP vs Master_Down_Interval; needs tcpdump),
#              issue 14's targets                            ~ 2 x (4 x WINDOW + 130 s)
#              With LAB_BENCH_PPROF=1, a -tags pprof build of this tree runs once more
#              at 255 instances: LAB_BENCH_PPROF_SECONDS (30) s CPU profile and a heap
#              profile of each node, kept in <OUT without .md>-pprof/, top entries in
#              the report                                    ~ 60 s + LAB_BENCH_PPROF_SECONDS
#   jitter     VRRPv3 advert_int 0.01, both daemons at max_auto_priority 50, labs side by
#              side, tcpdump on each bridge in every window; idle (1 window), 2 `yes` hogs,
#              hogs + 200 Watch clients on hagent's master: LAB_JITTER_WINDOWS (3) windows
#              of LAB_JITTER_SECONDS (default WINDOW) each ~ (1 + 2 x windows) x (window + 5 s)
#              With LAB_JITTER_FLIGHT=1, hagent's lab runs the -tags pprof build, whose
#              runtime flight recorder writes a trace of every advert sent 20 ms late or
#              more into <OUT without .md>-flight/ (go tool trace)
# The machine may be shared: LOAD_MAX waits (up to 3 min per group) for the 1-min
# load average to drop below it; the report records the load and the prober's
# max spacing. The jitter group needs tcpdump (apt-get install tcpdump).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scenarios=${SCENARIOS:-gaps,probes,failover,partition,scale,jitter}
out=${OUT:-lab/results/bench-$(date +%F).md}
[[ $out == /* ]] || out=$PWD/$out
mkdir -p "$(dirname "$out")"
if [[ $scenarios == *jitter* || $scenarios == *scale* ]] && ! command -v tcpdump >/dev/null; then
	echo "bench: the jitter and scale groups need tcpdump: apt-get install tcpdump" >&2
	exit 1
fi
# A private copy of the agent: bin/hagent may be rebuilt by someone else mid-run.
bindir=$(mktemp -d /tmp/hagent-bench.XXXXXX)
trap 'rm -rf "$bindir"' EXIT
src=${HAGENT:-bin/hagent}
[[ -x $src ]] || { echo "bench: no agent binary at $src (make build)" >&2; exit 1; }
cp "$src" "$bindir/hagent"
export HAGENT=$bindir/hagent
if [[ $out == *.md ]] && [[ ${LAB_JITTER_FLIGHT:-} == 1 ]]; then
	export LAB_JITTER_FLIGHT=${out%.md}-flight
fi
if [[ ${LAB_BENCH_PPROF:-} == 1 || -n ${LAB_JITTER_FLIGHT:-} ]]; then
	# The profiling build of this tree (cmd/hagent/pprof.go): the release build's
	# settings (Makefile: static, TAGS grpcnotrace) plus the pprof tag, with symbols.
	CGO_ENABLED=0 go build -trimpath -tags "${TAGS:-grpcnotrace} pprof" \
		-ldflags "-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)-pprof" \
		-o "$bindir/hagent-pprof" ./cmd/hagent
	export LAB_BENCH_PPROF_HAGENT=$bindir/hagent-pprof
fi
cmd="lab/bench.sh"
[[ -n ${SCENARIOS:-} ]] && cmd="SCENARIOS=$SCENARIOS $cmd"
[[ -n ${DAEMONS:-} ]] && cmd="DAEMONS=$DAEMONS $cmd"
[[ -n ${REPS:-} ]] && cmd="REPS=$REPS $cmd"
[[ -n ${WINDOW:-} ]] && cmd="WINDOW=$WINDOW $cmd"
[[ -n ${SCALE:-} ]] && cmd="SCALE=$SCALE $cmd"
[[ -n ${LOAD_MAX:-} ]] && cmd="LOAD_MAX=$LOAD_MAX $cmd"
for v in LAB_JITTER_WINDOWS LAB_JITTER_SECONDS LAB_JITTER_CONDITIONS LAB_JITTER_FLIGHT LAB_BENCH_PPROF LAB_BENCH_PPROF_SECONDS; do
	[[ -n ${!v:-} ]] && cmd="$v=${!v} $cmd"
done
LAB_BENCH=1 LAB_BENCH_SCENARIOS=$scenarios LAB_BENCH_DAEMONS=${DAEMONS:-keepalived,hagent} \
	LAB_BENCH_REPS=${REPS:-5} LAB_BENCH_WINDOW=${WINDOW:-60s} LAB_BENCH_SCALE=${SCALE:-1,255,510,1020} \
	LAB_BENCH_LOAD_MAX=${LOAD_MAX:-} LAB_BENCH_CMD="$cmd" LAB_BENCH_OUT=$out \
	go test ./lab -run '^TestBench$' -count=1 -v -timeout 0
echo "report: $out (agent: $src, $("$HAGENT" --version 2>&1 | head -1))"
