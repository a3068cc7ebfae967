#!/usr/bin/env bash
# lab.sh — the seed's two-host hot-standby topology in network namespaces.
#
#   lab/lab.sh up | down | status
#   lab/lab.sh start|stop|kill HOST          VRRP daemon of HOST (SIGTERM+wait / SIGKILL)
#   lab/lab.sh nginx-start|nginx-kill HOST   nginx of HOST (kill = SIGKILL master+workers)
#   lab/lab.sh nginx-break|nginx-fix HOST    make HOST's nginx unable to start (and undo)
#   lab/lab.sh link HOST up|down [IF]        eth0 (or IF, e.g. eth1) of HOST
#   lab/lab.sh exec HOST|client CMD...       run CMD inside the host (netns + own hostname)
#   lab/lab.sh curl                          GET http://VIP/ from the client
#   lab/lab.sh vip-holder                    hosts holding the VIP, one per line
#   lab/lab.sh hactl-args                    --agent flags for hactl to reach every agent
#
# HOST is cenvm71 or 71. Topology (nothing at all is created in the root namespace):
#
#   ${LAB_PREFIX}sw       br0 (stp off, forward_delay 0, multicast_snooping 0), ports p71 p72 [p73] pcl
#   ${LAB_PREFIX}cenvm71  eth0 192.168.188.71/24  nginx + VRRP daemon (seed cenvm71 config)
#   ${LAB_PREFIX}cenvm72  eth0 192.168.188.72/24  nginx + VRRP daemon (seed cenvm72 config)
#   ${LAB_PREFIX}cenvm73  eth0 192.168.188.73/24  only with LAB_HOSTS="71 72 73"
#   ${LAB_PREFIX}client   eth0 192.168.188.10/24  VIP 192.168.188.109
#
# With LAB_ETH1=1 every host and the client also get eth1 on a second bridge br1 in
# the switch namespace (ports p71b p72b [p73b] pclb): 192.168.190.<host>/24, the
# client 192.168.190.10/24 (a second VRRP interface, e.g. for more than 255 VRIDs).
#
# Each host's nginx serves a page whose body is exactly the host name, WITHOUT a
# trailing newline ("cenvm71"). Its master runs as `nginx -c $LAB_STATE/<host>/nginx.conf`,
# so the command line identifies the host (all namespaces share one PID namespace).
#
# Environment:
#   LAB_PREFIX     prefix of the namespace names (default empty); keep it short
#   LAB_STATE      state dir (default /run/hagent-lab/${LAB_PREFIX:-default})
#   LAB_HOSTS      host numbers (default "71 72")
#   HAGENT         agent binary (default bin/hagent relative to the repo root)
#   LAB_DAEMON_71  hagent|keepalived|none for host 71 (default hagent); same for 72, 73
#   LAB_CONF_71    config for host 71 instead of the seed's (see render_conf)
#   LAB_DEFER_71=1 `up` does not start host 71's daemon (`start cenvm71` does); same for 72, 73
#   LAB_ETH1=1     a second interface eth1 on bridge br1 (see above)
#   LAB_API_TCP=1  hagent also listens on tcp://192.168.188.7x:9771 with mTLS
#   LAB_AGENT_ARGS extra hagent arguments for every host, split on spaces (e.g. "--metrics :9772")
#   LAB_FAIL_AT    test hook: make `up` fail after the named step (netns|links|nginx|agents)
#
# Per host state in $LAB_STATE/<host>/: keepalived.conf (rendered), check_ng.sh,
# nginx.conf, nginx.pid, html/, agent.pid, agent.log, api.sock, daemon.
# mTLS material in $LAB_STATE/pki/ (ca.crt, <host>.crt/.key, client.crt/.key for
# the operator CN=hactl, reader.crt/.key read-only).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$LAB_DIR")
SEED_DIR=$REPO_ROOT/agent/config/testdata/seed
LAB_PREFIX=${LAB_PREFIX:-}
LAB_STATE=${LAB_STATE:-/run/hagent-lab/${LAB_PREFIX:-default}}
LAB_HOSTS=${LAB_HOSTS:-71 72}
HAGENT=${HAGENT:-$REPO_ROOT/bin/hagent}
NET=192.168.188
NET1=192.168.190 # eth1's subnet with LAB_ETH1=1
VIP=$NET.109
CLIENT_IP=$NET.10
API_PORT=9771
ALL_HOSTS="71 72 73" # every host number `down` looks for, whatever LAB_HOSTS says

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

ns_sw() { echo "${LAB_PREFIX}sw"; }
ns_client() { echo "${LAB_PREFIX}client"; }
ns_host() { echo "${LAB_PREFIX}cenvm$1"; }
host_dir() { echo "$LAB_STATE/cenvm$1"; }

# host_num cenvm71|71 -> 71
host_num() {
	local n=${1#cenvm}
	[[ $n =~ ^[0-9]+$ ]] || die "unknown host '$1' (want cenvm71 or 71)"
	echo "$n"
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

fail_hook() {
	if [[ ${LAB_FAIL_AT:-} == "$1" ]]; then
		die "LAB_FAIL_AT=$1: failing on purpose after step '$1'"
	fi
}

# pid_alive PID: the process exists and is not a zombie. PID 1 on this VM does not
# reap orphans, so a dead daemon can linger as a zombie.
pid_alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# ours PID: the process is one the lab started — its command line names our state
# dir (daemon config, nginx config), or it lives in one of our namespaces.
ours() {
	local pid=$1 cmd ns netns
	pid_alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$LAB_STATE/"* ]] && return 0
	netns=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || return 1
	for ns in $(all_ns); do
		if ns_exists "$ns" && [[ $netns == "net:[$(stat -L -c %i "/run/netns/$ns")]" ]]; then
			return 0
		fi
	done
	return 1
}

all_ns() {
	local h
	for h in $ALL_HOSTS; do ns_host "$h"; done
	ns_client
	ns_sw
}

read_pid() { if [[ -r $1 ]]; then tr -dc '0-9' <"$1"; fi; }

children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

# wait_gone SECONDS PID...: wait until every PID has exited.
wait_gone() {
	local deadline=$((SECONDS + $1)) p left
	shift
	while :; do
		left=
		for p in "$@"; do pid_alive "$p" && left+=" $p"; done
		[[ -z $left ]] && return 0
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# nsexec NUM|client CMD...: run CMD in the host's namespace with its own hostname.
nsexec() {
	local ns name
	if [[ $1 == client ]]; then
		ns=$(ns_client) name=client
	else
		ns=$(ns_host "$1") name=cenvm$1
	fi
	shift
	ns_exists "$ns" || die "namespace $ns does not exist (is the lab up?)"
	# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
	exec ip netns exec "$ns" unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "$name" "$@"
}

# ---------------------------------------------------------------- install

# apt_install PKG: install a Debian package without letting its maintainer scripts
# start the system service (nginx's would listen on port 80 in the root namespace).
apt_install() {
	local policy=/usr/sbin/policy-rc.d added=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2; } ||
		{ [[ -n $added ]] && rm -f "$policy"; die "apt-get install $1 failed"; }
	if [[ -n $added ]]; then rm -f "$policy"; fi
}

ensure_tools() {
	command -v nginx >/dev/null || apt_install nginx
	local h
	for h in $LAB_HOSTS; do
		case $(daemon_of "$h") in
		keepalived) command -v keepalived >/dev/null || apt_install keepalived ;;
		hagent) [[ -x $HAGENT ]] || die "hagent binary $HAGENT not found: build it (go build -o bin/hagent ./cmd/hagent), set HAGENT, or use LAB_DAEMON_$h=keepalived" ;;
		none) ;;
		*) die "LAB_DAEMON_$h must be hagent, keepalived or none" ;;
		esac
	done
}

daemon_of() {
	local v=LAB_DAEMON_$1
	echo "${!v:-hagent}"
}

# ---------------------------------------------------------------- topology

make_topology() {
	local sw h ns addr port
	sw=$(ns_sw)
	for ns in $(all_ns); do
		ns_exists "$ns" && die "namespace $ns already exists: the lab (prefix '${LAB_PREFIX}') is up; run lab.sh down first"
	done
	ip netns add "$sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$sw" link set br0 up
	for h in $LAB_HOSTS client; do
		if [[ $h == client ]]; then ns=$(ns_client); else ns=$(ns_host "$h"); fi
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	fail_hook netns
	attach_all eth0 br0 "$NET" "$CLIENT_IP" ""
	if [[ ${LAB_ETH1:-0} == 1 ]]; then make_eth1; fi
	fail_hook links
}

# make_eth1: eth1 on every host and the client, on a second bridge br1 in the switch
# namespace; like eth0, nothing is created in the root namespace.
make_eth1() {
	local sw
	sw=$(ns_sw)
	ip -n "$sw" link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$sw" link set br1 up
	attach_all eth1 br1 "$NET1" "$NET1.10" b
}

# attach_all IF BRIDGE NET CLIENT_ADDR SUFFIX: interface IF of every host (NET.<host>/24)
# and of the client (CLIENT_ADDR/24), the other end of each veth (p<host>SUFFIX,
# pclSUFFIX) a port of BRIDGE in the switch namespace. Both ends are created inside
# namespaces: nothing ever shows up in the root one.
attach_all() {
	local ifname=$1 bridge=$2 net=$3 client_addr=$4 suffix=$5 sw h ns addr port
	sw=$(ns_sw)
	for h in $LAB_HOSTS client; do
		if [[ $h == client ]]; then
			ns=$(ns_client) addr=$client_addr port=pcl$suffix
		else
			ns=$(ns_host "$h") addr=$net.$h port=p$h$suffix
		fi
		ip -n "$ns" link add "$ifname" type veth peer name "$port" netns "$sw"
		ip -n "$sw" link set "$port" master "$bridge"
		ip -n "$sw" link set "$port" up
		ip -n "$ns" addr add "$addr/24" dev "$ifname"
		ip -n "$ns" link set "$ifname" up
	done
}

# ---------------------------------------------------------------- nginx

write_nginx() {
	local h=$1 dir
	dir=$(host_dir "$h")
	mkdir -p "$dir/html" "$dir/tmp"
	printf '%s' "cenvm$h" >"$dir/html/index.html"
	cat >"$dir/nginx.conf" <<EOF
# lab nginx for cenvm$h; everything it writes stays in $dir
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 80;
        root $dir/html;
        default_type text/plain;
        location / { index index.html; }
    }
}
EOF
}

nginx_start() {
	local h=$1 dir
	dir=$(host_dir "$h")
	# Output to a file: the daemonized master must not hold our caller's pipes open.
	(nsexec "$h" nginx -c "$dir/nginx.conf") </dev/null >>"$dir/nginx.out" 2>&1 ||
		die "nginx on cenvm$h did not start: $(tail -n 3 "$dir/nginx.out" 2>/dev/null)"
}

nginx_pids() {
	local master
	master=$(read_pid "$(host_dir "$1")/nginx.pid")
	if [[ -n $master ]] && ours "$master"; then
		echo "$master"
		children "$master"
	fi
}

nginx_kill() {
	local pids
	mapfile -t pids < <(nginx_pids "$1")
	if ((${#pids[@]} == 0)); then
		log "no nginx running on cenvm$1"
		return 0
	fi
	kill -KILL "${pids[@]}" 2>/dev/null || true
	wait_gone 5 "${pids[@]}" || die "nginx on cenvm$1 did not die"
}

wait_nginx() {
	local h=$1 deadline=$((SECONDS + 10)) body
	while :; do
		body=$( (nsexec "$h" curl -s -m 1 http://127.0.0.1/) 2>/dev/null || true)
		[[ $body == "cenvm$h" ]] && return 0
		((SECONDS < deadline)) || die "nginx on cenvm$h does not answer (got '$body'); see $(host_dir "$h")/nginx-error.log"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- daemon config

# render_conf NUM: write the host's keepalived.conf. Source is LAB_CONF_<NUM> if set,
# else the seed's cenvm<NUM>-keepalived.conf (cenvm73: the cenvm72 file at priority 80).
# The seed's interface becomes eth0 and its check script path the lab's check script;
# @HOSTDIR@ and @STATE@ in a LAB_CONF file become the host dir and the state dir.
render_conf() {
	local h=$1 dir src v=LAB_CONF_$1 extra=()
	dir=$(host_dir "$h")
	src=${!v:-}
	if [[ -z $src ]]; then
		src=$SEED_DIR/cenvm$h-keepalived.conf
		if [[ $h == 73 ]]; then
			src=$SEED_DIR/cenvm72-keepalived.conf
			extra=(-e 's/^\([[:space:]]*priority[[:space:]]\+\)90\b/\180/')
		fi
	fi
	[[ -r $src ]] || die "config for cenvm$h not found: $src"
	sed -e 's/eno16777736/eth0/g' \
		-e "s#/usr/local/sbin/check_ng.sh#$dir/check_ng.sh#g" \
		-e "s#@HOSTDIR@#$dir#g" -e "s#@STATE@#$LAB_STATE#g" \
		"${extra[@]}" "$src" >"$dir/keepalived.conf"
	install -m 755 "$LAB_DIR/check_ng.sh" "$dir/check_ng.sh"
}

# ---------------------------------------------------------------- PKI

# make_pki: a CA, one server certificate per host (IP SANs), a client certificate
# for hactl (CN=hactl, the agents' --operator) and a read-only one (reader.crt,
# CN=dashboard), in $LAB_STATE/pki. Kept separate so it can become `hactl certs` later.
make_pki() {
	local pki=$LAB_STATE/pki h
	mkdir -p "$pki"
	(
		umask 077
		cd "$pki"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.crt -days 365 -subj "/CN=hagent-lab CA ${LAB_PREFIX:-default}" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		for h in $LAB_HOSTS client reader; do
			local cn=cenvm$h ext f=cenvm$h subj
			case $h in
			client) cn=hactl f=client subj=/CN=hactl ext="extendedKeyUsage=clientAuth" ;;
			# A read-only certificate, as `hactl certs --reader dashboard` makes: the
			# agents let it read only, even if its name were an --operator.
			reader) cn=dashboard f=reader subj=/OU=hagent-read-only/CN=dashboard ext="extendedKeyUsage=clientAuth" ;;
			*)
				subj=/CN=$cn
				ext="subjectAltName=IP:$NET.$h,IP:127.0.0.1,DNS:cenvm$h
extendedKeyUsage=serverAuth,clientAuth"
				;;
			esac
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$f.key" -out "$f.csr" -subj "$subj" 2>/dev/null
			openssl x509 -req -in "$f.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 365 -out "$f.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
			rm -f "$f.csr"
		done
		chmod 644 ./*.crt
	) || die "generating the lab PKI with openssl failed"
}

# ---------------------------------------------------------------- daemons

agent_cmd() {
	local h=$1 dir daemon
	dir=$(host_dir "$h")
	daemon=$(cat "$dir/daemon")
	case $daemon in
	hagent)
		local hagent
		hagent=$(cat "$LAB_STATE/hagent-path")
		AGENT_CMD=("$hagent" -f "$dir/keepalived.conf" --name "cenvm$h" --api "unix://$dir/api.sock")
		if [[ ${LAB_API_TCP:-0} == 1 ]]; then
			AGENT_CMD+=(--api "tcp://$NET.$h:$API_PORT" --tls-cert "$LAB_STATE/pki/cenvm$h.crt"
				--tls-key "$LAB_STATE/pki/cenvm$h.key" --tls-ca "$LAB_STATE/pki/ca.crt"
				--operator hactl)
		fi
		if [[ -n ${LAB_AGENT_ARGS:-} ]]; then
			local extra
			read -ra extra <<<"$LAB_AGENT_ARGS"
			AGENT_CMD+=("${extra[@]}")
		fi
		;;
	keepalived)
		AGENT_CMD=(keepalived --dont-fork --log-console --log-detail --no-syslog
			"--use-file=$dir/keepalived.conf" "--pid=$dir/keepalived.pid"
			"--vrrp_pid=$dir/vrrp.pid" "--checkers_pid=$dir/checkers.pid" --vrrp)
		;;
	none) AGENT_CMD=() ;;
	*) die "unknown daemon '$daemon' for cenvm$h" ;;
	esac
}

agent_pid() {
	local pid
	pid=$(read_pid "$(host_dir "$1")/agent.pid")
	if [[ -n $pid ]] && ours "$pid"; then echo "$pid"; fi
}

# agent_pids NUM: the daemon's main process and its children (keepalived's VRRP
# child, a running check script).
agent_pids() {
	local pid
	pid=$(agent_pid "$1")
	if [[ -n $pid ]]; then
		echo "$pid"
		children "$pid"
	fi
}

agent_start() {
	local h=$1 dir
	dir=$(host_dir "$h")
	[[ -d $dir ]] || die "cenvm$h is not part of this lab"
	[[ -z $(agent_pid "$h") ]] || die "the daemon on cenvm$h is already running (pid $(agent_pid "$h"))"
	agent_cmd "$h"
	if ((${#AGENT_CMD[@]} == 0)); then
		log "cenvm$h runs no daemon"
		return 0
	fi
	rm -f "$dir/agent.pid"
	printf '=== %s start: %s\n' "$(date '+%F %T.%N')" "${AGENT_CMD[*]}" >>"$dir/agent.log"
	# The wrapper writes its own pid and then execs the daemon, so agent.pid is the
	# daemon's pid whatever ip/unshare/sh do in between.
	# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
	(nsexec "$h" sh -c 'echo $$ >"$0" && exec "$@"' "$dir/agent.pid" "${AGENT_CMD[@]}") \
		</dev/null >>"$dir/agent.log" 2>&1 &
	local deadline=$((SECONDS + 5))
	until [[ -s $dir/agent.pid ]]; do
		((SECONDS < deadline)) || die "the daemon on cenvm$h did not start (see $dir/agent.log)"
		sleep 0.02
	done
}

agent_signal() {
	local h=$1 sig=$2 pids
	if [[ $sig == KILL ]]; then
		# Freeze the whole daemon first so no process of it (keepalived's VRRP child
		# gets a parent-death SIGTERM) can clean up: this is a crash.
		mapfile -t pids < <(agent_pids "$h")
		if ((${#pids[@]} > 0)); then kill -STOP "${pids[@]}" 2>/dev/null || true; fi
	else
		mapfile -t pids < <(agent_pid "$h")
	fi
	if ((${#pids[@]} == 0)); then
		log "no daemon running on cenvm$h"
		return 0
	fi
	kill "-$sig" "${pids[@]}" 2>/dev/null || true
	wait_gone 15 "${pids[@]}" || die "the daemon on cenvm$h (pid ${pids[*]}) did not exit after SIG$sig"
}

# ---------------------------------------------------------------- commands

cmd_up() {
	[[ -e $LAB_STATE ]] && die "state dir $LAB_STATE exists: the lab (prefix '${LAB_PREFIX}') is up or was not torn down; run lab.sh down first"
	ensure_tools
	mkdir -p "$LAB_STATE"
	echo "$LAB_HOSTS" >"$LAB_STATE/hosts"
	readlink -f "$HAGENT" >"$LAB_STATE/hagent-path" || echo "$HAGENT" >"$LAB_STATE/hagent-path"
	make_topology
	local h
	make_pki
	for h in $LAB_HOSTS; do
		mkdir -p "$(host_dir "$h")"
		daemon_of "$h" >"$(host_dir "$h")/daemon"
		write_nginx "$h"
		render_conf "$h"
		nginx_start "$h"
	done
	for h in $LAB_HOSTS; do wait_nginx "$h"; done
	fail_hook nginx
	for h in $LAB_HOSTS; do
		local defer=LAB_DEFER_$h
		[[ -n ${!defer:-} ]] || agent_start "$h"
	done
	fail_hook agents
	log "up: hosts $(for h in $LAB_HOSTS; do printf 'cenvm%s(%s) ' "$h" "$(daemon_of "$h")"; done)state $LAB_STATE"
}

cmd_down() {
	local h pids=() p ns
	# 1. The processes we recorded: daemons gracefully (they remove their VIPs), nginx.
	for h in $ALL_HOSTS; do
		mapfile -t -O "${#pids[@]}" pids < <(agent_pid "$h")
		mapfile -t -O "${#pids[@]}" pids < <(nginx_pids "$h")
	done
	if ((${#pids[@]} > 0)); then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait_gone 3 "${pids[@]}" || true
	fi
	# 2. Anything still alive in our namespaces (children, an nginx a check script
	#    started, daemons that ignored SIGTERM) — all of it is ours.
	for ns in $(all_ns); do
		ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			# Never our caller: a Go test whose thread briefly sits in the client
			# namespace would otherwise be listed by `ip netns pids`.
			if [[ $p != "$$" && $p != "$PPID" ]]; then pids+=("$p"); fi
		done
	done
	for p in "${pids[@]}"; do
		if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
	done
	if ((${#pids[@]} > 0)); then
		wait_gone 5 "${pids[@]}" || log "warning: some lab processes did not exit: ${pids[*]}"
	fi
	# 3. Namespaces (their veths and the bridge go with them), then the state dir.
	for ns in $(all_ns); do
		if ns_exists "$ns"; then ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"; fi
	done
	rm -rf "$LAB_STATE"
	return 0
}

vip_holders() {
	local h
	for h in $ALL_HOSTS; do
		ns_exists "$(ns_host "$h")" || continue
		if ip -n "$(ns_host "$h")" -4 -o addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then
			echo "cenvm$h"
		fi
	done
}

alive_text() { if [[ -n $1 ]]; then echo "pid $1 alive"; else echo "not running"; fi; }

cmd_status() {
	local h ns pid
	echo "lab prefix '${LAB_PREFIX}', state $LAB_STATE"
	for ns in $(all_ns); do
		ns_exists "$ns" && echo "netns $ns"
	done
	for h in $ALL_HOSTS; do
		ns=$(ns_host "$h")
		ns_exists "$ns" || continue
		echo "cenvm$h:"
		echo "  addr   $(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | awk '{printf "%s ", $4}')($(ip -n "$ns" -o link show dev eth0 | grep -o 'state [A-Z]*'))"
		pid=$(agent_pid "$h")
		echo "  daemon $(cat "$(host_dir "$h")/daemon" 2>/dev/null || echo '?') $(alive_text "$pid")"
		pid=$(nginx_pids "$h" | head -n1)
		echo "  nginx  $(alive_text "$pid")"
	done
	echo "VIP $VIP on: $(vip_holders | tr '\n' ' ')"
	if ns_exists "$(ns_client)"; then
		echo "client GET http://$VIP/: $( (nsexec client curl -s -m 1 "http://$VIP/") 2>/dev/null || echo '(failed)')"
	fi
}

cmd_hactl_args() {
	local h
	for h in $(cat "$LAB_STATE/hosts" 2>/dev/null || echo "$LAB_HOSTS"); do
		printf -- '--agent cenvm%s=unix://%s/api.sock ' "$h" "$(host_dir "$h")"
	done
	echo
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	start) agent_start "$(host_num "${1:?start HOST}")" ;;
	stop) agent_signal "$(host_num "${1:?stop HOST}")" TERM ;;
	kill) agent_signal "$(host_num "${1:?kill HOST}")" KILL ;;
	nginx-start) nginx_start "$(host_num "${1:?nginx-start HOST}")" ;;
	nginx-kill) nginx_kill "$(host_num "${1:?nginx-kill HOST}")" ;;
	nginx-break)
		local d
		d=$(host_dir "$(host_num "${1:?nginx-break HOST}")")
		if [[ -e $d/nginx.conf ]]; then mv "$d/nginx.conf" "$d/nginx.conf.broken"; fi
		;;
	nginx-fix)
		local d
		d=$(host_dir "$(host_num "${1:?nginx-fix HOST}")")
		if [[ -e $d/nginx.conf.broken ]]; then mv "$d/nginx.conf.broken" "$d/nginx.conf"; fi
		;;
	link)
		local h
		h=$(host_num "${1:?link HOST up|down [IF]}")
		[[ ${2:-} == up || ${2:-} == down ]] || die "usage: lab.sh link HOST up|down [IF]"
		ip -n "$(ns_host "$h")" link set "${3:-eth0}" "$2"
		;;
	exec)
		local who=${1:?exec HOST CMD...}
		shift
		[[ $who == client ]] || who=$(host_num "$who")
		nsexec "$who" "$@"
		;;
	curl) nsexec client curl -s -m 1 "http://$VIP/" ;;
	vip-holder) vip_holders ;;
	hactl-args) cmd_hactl_args ;;
	*)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
