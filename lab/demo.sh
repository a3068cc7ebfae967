#!/usr/bin/env bash
# demo.sh — `make demo`: the two-host lab with the hactl console attached.
#
# Brings the lab up (lab/lab.sh up with LAB_API_TCP=1: every agent also serves its API
# on tcp://192.168.188.7x:9771 with mutual TLS) unless it is already up, then runs
# hactl inside the client namespace, connected to every agent over TCP with the lab's
# client certificate, with this terminal attached. Quitting hactl leaves the lab up;
# `make demo-down` (lab/lab.sh down) removes it.
#
# Environment (as lab.sh): LAB_PREFIX, LAB_STATE, HAGENT (default bin/hagent);
# HACTL is the console binary (default bin/hactl). Needs root.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$LAB_DIR")
LAB_PREFIX=${LAB_PREFIX:-}
LAB_STATE=${LAB_STATE:-/run/hagent-lab/${LAB_PREFIX:-default}}
HACTL=${HACTL:-$REPO_ROOT/bin/hactl}
export LAB_PREFIX LAB_STATE LAB_API_TCP=1
export HAGENT=${HAGENT:-$REPO_ROOT/bin/hagent}
NET=192.168.188
API_PORT=9771
CLIENT_NS=${LAB_PREFIX}client
PKI=$LAB_STATE/pki

die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

[[ $EUID -eq 0 ]] || die "the lab needs root (network namespaces): run as root"
[[ -x $HACTL ]] || die "hactl binary $HACTL not found: run 'make demo' (it builds first) or set HACTL"

# lab.sh generates the PKI with openssl and checks nginx with curl; it installs nginx
# itself when it is missing.
for tool in openssl curl; do
	command -v "$tool" >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool" >&2 ||
		die "$tool is missing and apt-get install $tool failed"
done

# tcp_api_enabled: every running agent was started with the TCP listener (a lab brought
# up by `lab.sh up` without LAB_API_TCP=1 has only the unix sockets).
tcp_api_enabled() {
	local h pid
	for h in "${hosts[@]}"; do
		pid=$(tr -dc '0-9' <"$LAB_STATE/cenvm$h/agent.pid" 2>/dev/null || true)
		[[ -n $pid && -r /proc/$pid/cmdline ]] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--tls-ca" || return 1
	done
}

if [[ -e /run/netns/$CLIENT_NS && -r $LAB_STATE/hosts ]]; then
	read -ra hosts <"$LAB_STATE/hosts"
	printf 'demo: the lab is already up (state %s); reusing it\n' "$LAB_STATE" >&2
	tcp_api_enabled || die "the lab was brought up without the TCP API (LAB_API_TCP=1); run 'make demo-down' first"
elif [[ -e $LAB_STATE || -e /run/netns/$CLIENT_NS ]]; then
	die "a half-built lab is in the way ($LAB_STATE); run 'make demo-down' first"
else
	"$LAB_DIR/lab.sh" up
	read -ra hosts <"$LAB_STATE/hosts"
fi

agents=() names=()
for h in "${hosts[@]}"; do
	agents+=(--agent "cenvm$h=tcp://$NET.$h:$API_PORT")
	names+=("cenvm$h ($NET.$h)")
done
for f in client.crt client.key ca.crt; do
	[[ -r $PKI/$f ]] || die "the lab's PKI has no $PKI/$f"
done

cat <<EOF

  hactl, the cluster console, in the lab's client namespace (${CLIENT_NS}),
  connected over TCP (port $API_PORT, mutual TLS) to ${names[*]}.

  Try:
    f   forced failover of the selected instance (a dialog names from → to; y confirms)
    c   clear the override again (cenvm71, priority 100, takes the VIP back)
    t   failover test: a client probes http://$NET.109/ every 10 ms from here while the
        VIP moves over and back, then the gap and the failed requests are reported
    m   maintenance on/off for the selected node (↑/↓ select)
    /   filter the event log, ? all keys, q quit (the lab stays up)

  In another terminal (same LAB_PREFIX), break things and watch:
    LAB_API_TCP=1 lab/lab.sh stop 72      agent down: cenvm72 shows UNREACHABLE
    LAB_API_TCP=1 lab/lab.sh start 72     and back
    lab/lab.sh nginx-break 71; lab/lab.sh nginx-kill 71
                                          the check script stops cenvm71's agent: the VIP moves
    lab/lab.sh nginx-fix 71; LAB_API_TCP=1 lab/lab.sh start 71      and comes back

  The console's certificate (CN=hactl) is the agents' --operator. A read-only one for
  dashboards is $PKI/reader.crt: with it, f and m are refused in one line.
  Remove the lab with: make demo-down

EOF
if [[ -t 0 && -t 1 ]]; then
	read -r -t 30 -p "  Press Enter to start hactl… " _ || true
fi

exec ip netns exec "$CLIENT_NS" "$HACTL" "${agents[@]}" \
	--tls-cert "$PKI/client.crt" --tls-key "$PKI/client.key" --tls-ca "$PKI/ca.crt"
