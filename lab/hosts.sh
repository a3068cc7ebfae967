#!/usr/bin/env bash
# hosts.sh — the seed's two hosts as real Debian 12 machines booted with systemd.
#
#   lab/hosts.sh up                 boot cenvm71 and cenvm72, install the .deb, migrate
#   lab/hosts.sh down               halt them and remove everything up created
#   lab/hosts.sh exec HOST CMD...   run CMD on HOST (cenvm71, 71, ..., or client)
#   lab/hosts.sh status             each host: systemd state, hagent, who holds the VIP
#   lab/hosts.sh rootfs             only build the cached Debian 12 root file system
#
# Each host is `systemd-nspawn --boot` of a Debian 12 root file system made once with
# debootstrap (cached in $HOSTS_CACHE) under a per-host overlay, in its own network
# namespace on a bridge, with nginx and keepalived from Debian (keepalived disabled).
# `up` does on each host what README's "Deploying on two hosts" says, step by step:
# the seed's keepalived.conf and check_ng.sh byte for byte (the host's interface is
# named as in the seed, eno16777736), `apt-get install ./hagent_*.deb`, the TCP API's
# certificates from `hactl certs`, `systemctl disable --now keepalived`,
# `systemctl enable --now hagent`. Nothing is created in the root network namespace:
#
#   ${HOSTS_PREFIX}sw       br0, ports p71 p72 pcl
#   ${HOSTS_PREFIX}cenvm71  eno16777736 192.168.188.71/24  (the machine cenvm71)
#   ${HOSTS_PREFIX}cenvm72  eno16777736 192.168.188.72/24  (the machine cenvm72)
#   ${HOSTS_PREFIX}client   eth0 192.168.188.10/24         (no machine: a namespace)
#
# Environment:
#   HOSTS_PREFIX  prefix of namespace and machine names (default hh)
#   HOSTS_STATE   state dir (default /var/tmp/hagent-hosts/$HOSTS_PREFIX): overlays,
#                 console logs, the PKI (pki/)
#   HOSTS_CACHE   where the root file system is cached (default /var/cache/hagent-hosts)
#   HOSTS_MIRROR  Debian mirror (default: the host's deb.debian.org-style one)
#   HOSTS_DEB     the .deb to install (default: the newest dist/hagent_*_amd64.deb)
#   HACTL         hactl binary for the certificates (default bin/hactl)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$LAB_DIR")
SEED_DIR=$REPO_ROOT/agent/config/testdata/seed
P=${HOSTS_PREFIX:-hh}
STATE=${HOSTS_STATE:-/var/tmp/hagent-hosts/$P}
CACHE=${HOSTS_CACHE:-/var/cache/hagent-hosts}
HACTL=${HACTL:-$REPO_ROOT/bin/hactl}
HOSTS="71 72"
NET=192.168.188
CLIENT_IP=$NET.10
IFACE=eno16777736 # the seed's interface name: its keepalived.conf needs no change
SUITE=bookworm
# What every host has from Debian: systemd as init, nginx, keepalived (disabled), and
# what the seed's check_ng.sh and the tests call (ps, ip).
PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,nginx,keepalived

log() { printf 'hosts: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

ns_sw() { echo "${P}sw"; }
ns_client() { echo "${P}client"; }
ns_host() { echo "${P}cenvm$1"; }
machine() { echo "${P}cenvm$1"; }
host_dir() { echo "$STATE/cenvm$1"; }
ns_exists() { [[ -e /run/netns/$1 ]]; }

host_num() {
	local n=${1#cenvm}
	[[ $n == 71 || $n == 72 ]] || die "unknown host '$1' (want cenvm71, cenvm72, 71 or 72)"
	echo "$n"
}

pid_alive() { [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null; }
read_pid() { if [[ -r $1 ]]; then tr -dc '0-9' <"$1"; fi; }

# ---------------------------------------------------------------- root file system

mirror() {
	if [[ -n ${HOSTS_MIRROR:-} ]]; then
		echo "$HOSTS_MIRROR"
		return
	fi
	local m
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
	[[ -n $m ]] || m=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1 || true)
	echo "${m:-http://deb.debian.org/debian}"
}

# rootfs_dir: the cached root file system; its name changes with what it contains.
rootfs_dir() {
	local key
	key=$(printf '%s %s v1' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-12)
	echo "$CACHE/rootfs-$SUITE-$key"
}

# ensure_rootfs: debootstrap once (a few minutes), then reuse. Parallel callers wait on
# one lock; a half-built tree is never used (.complete is written last).
ensure_rootfs() {
	local dir
	dir=$(rootfs_dir)
	[[ -e $dir/.complete ]] && return 0
	command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install debootstrap systemd-container)"
	mkdir -p "$CACHE"
	(
		flock 9
		[[ -e $dir/.complete ]] && exit 0
		rm -rf "$dir.tmp"
		log "building $dir with debootstrap from $(mirror) (once)"
		debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$dir.tmp" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
			die "debootstrap failed: see $CACHE/debootstrap.log"
		# A host being migrated: keepalived installed but disabled.
		chroot "$dir.tmp" systemctl disable keepalived.service >/dev/null 2>&1
		chroot "$dir.tmp" apt-get clean
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
		touch "$dir/.complete"
	) 9>"$CACHE/.lock"
}

# ---------------------------------------------------------------- network

make_topology() {
	local sw h ns addr port dev
	sw=$(ns_sw)
	for ns in "$sw" "$(ns_client)" "$(ns_host 71)" "$(ns_host 72)"; do
		ns_exists "$ns" && die "namespace $ns exists: the hosts lab (prefix $P) is up; run hosts.sh down first"
	done
	ip netns add "$sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$sw" link set br0 up
	for h in $HOSTS client; do
		if [[ $h == client ]]; then
			ns=$(ns_client) addr=$CLIENT_IP port=pcl dev=eth0
		else
			ns=$(ns_host "$h") addr=$NET.$h port=p$h dev=$IFACE
		fi
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# Both ends are created inside namespaces: nothing shows up in the root one.
		ip -n "$ns" link add "$dev" type veth peer name "$port" netns "$sw"
		ip -n "$sw" link set "$port" master br0
		ip -n "$sw" link set "$port" up
		ip -n "$ns" addr add "$addr/24" dev "$dev"
		ip -n "$ns" link set "$dev" up
	done
}

# ---------------------------------------------------------------- machines

leader() {
	local npid
	npid=$(read_pid "$(host_dir "$1")/nspawn.pid")
	pid_alive "$npid" || return 1
	ps -o pid= --ppid "$npid" | tr -d ' ' | head -1
}

# hexec NUM CMD...: run CMD inside the machine (all its namespaces, its root).
hexec() {
	local h=$1 pid
	shift
	pid=$(leader "$h") || die "cenvm$h is not running (is the hosts lab up?)"
	[[ -n $pid ]] || die "cenvm$h has no init process"
	nsenter -t "$pid" -a -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# prepare NUM: the host's file system before it boots (what a provisioned host has).
prepare() {
	local h=$1 dir root
	dir=$(host_dir "$h")
	root=$dir/root
	mkdir -p "$dir/upper" "$dir/work" "$root"
	mount -t overlay "overlay-$P-$h" -o "lowerdir=$(rootfs_dir),upperdir=$dir/upper,workdir=$dir/work" "$root"
	echo "cenvm$h" >"$root/etc/hostname"
	# nginx's page says the host's name.
	printf 'cenvm%s' "$h" >"$root/var/www/html/index.html"
	# The seed's files, byte for byte.
	install -m 0644 "$SEED_DIR/cenvm$h-keepalived.conf" "$root/etc/keepalived/keepalived.conf"
	install -m 0755 "$SEED_DIR/check_ng.sh" "$root/usr/local/sbin/check_ng.sh"
	install -m 0644 "$DEB" "$root/root/$(basename "$DEB")"
	install -d -m 0700 "$root/etc/hagent"
	install -m 0644 "$STATE/pki/ca.pem" "$STATE/pki/cenvm$h.pem" "$root/etc/hagent/"
	install -m 0600 "$STATE/pki/cenvm$h-key.pem" "$root/etc/hagent/"
}

boot() {
	local h=$1 dir
	dir=$(host_dir "$h")
	# --keep-unit/--register=no: no machined or system bus needed on this side.
	setsid systemd-nspawn --boot --keep-unit --register=no --console=pipe \
		--machine="$(machine "$h")" --hostname="cenvm$h" --directory="$dir/root" \
		--network-namespace-path="/run/netns/$(ns_host "$h")" \
		--capability=CAP_NET_ADMIN,CAP_NET_RAW \
		</dev/null >"$dir/console.log" 2>&1 &
	echo $! >"$dir/nspawn.pid"
}

wait_booted() {
	local h=$1 deadline=$((SECONDS + 90)) st=
	while :; do
		if leader "$h" >/dev/null 2>&1 && [[ -n $(leader "$h") ]]; then
			st=$(hexec "$h" systemctl is-system-running 2>/dev/null || true)
			case $st in
			running) return 0 ;;
			degraded)
				# Booted, with some unit failed: say which (the console log and the unit's
				# journal stay in the state dir while the lab is up) and go on.
				log "cenvm$h: systemd is degraded: $(hexec "$h" systemctl --failed --no-legend 2>&1 | head -5)"
				hexec "$h" journalctl -b --no-pager -p warning >"$(host_dir "$h")/boot-warnings.log" 2>&1 || true
				return 0
				;;
			esac
		fi
		((SECONDS < deadline)) || die "cenvm$h did not boot (systemd says '$st'): $(tail -c 500 "$(host_dir "$h")/console.log")"
		sleep 0.2
	done
}

# deploy NUM: README's deployment steps on the host.
deploy() {
	local h=$1 deb
	deb=/root/$(basename "$DEB")
	hexec "$h" apt-get install -y -q "$deb" >"$(host_dir "$h")/apt.log" 2>&1 ||
		die "cenvm$h: apt-get install $deb failed: $(tail -5 "$(host_dir "$h")/apt.log")"
	# Installing must have enabled and started nothing.
	local active enabled
	active=$(hexec "$h" systemctl is-active hagent.service || true)
	enabled=$(hexec "$h" systemctl is-enabled hagent.service || true)
	[[ $active == inactive && $enabled == disabled ]] ||
		die "cenvm$h: installing the .deb left hagent $active and $enabled (want inactive and disabled)"
	# The TCP API for hactl (README: systemctl edit hagent).
	hexec "$h" mkdir -p /etc/systemd/system/hagent.service.d
	hexec "$h" sh -c "cat > /etc/systemd/system/hagent.service.d/api.conf" <<EOF
[Service]
ExecStart=
ExecStart=/usr/sbin/hagent -f /etc/keepalived/keepalived.conf --api unix:///run/hagent/hagent.sock --api tcp://$NET.$h:9771 --tls-cert /etc/hagent/cenvm$h.pem --tls-key /etc/hagent/cenvm$h-key.pem --tls-ca /etc/hagent/ca.pem --operator ops
EOF
	hexec "$h" systemctl daemon-reload
	hexec "$h" systemctl disable --now keepalived.service >/dev/null 2>&1
	hexec "$h" systemctl enable --now hagent.service >/dev/null 2>&1 ||
		die "cenvm$h: systemctl enable --now hagent failed: $(hexec "$h" systemctl status hagent --no-pager 2>&1 | tail -10)"
}

# wait_vip_on NUM: up is done when the seed's state is reached: the VIP on that host
# only (hagent is READY before its checks have reported and the election has run).
wait_vip_on() {
	local want=$1 deadline=$((SECONDS + 30)) h holders
	while :; do
		holders=
		for h in $HOSTS; do
			if ip -n "$(ns_host "$h")" -4 -brief addr show dev "$IFACE" | grep -q " $NET.109/"; then
				holders+=" $h"
			fi
		done
		[[ $holders == " $want" ]] && return 0
		((SECONDS < deadline)) || die "the VIP is on '${holders# }', not on cenvm$want only, 30 s after hagent started"
		sleep 0.1
	done
}

find_deb() {
	if [[ -n ${HOSTS_DEB:-} ]]; then
		DEB=$HOSTS_DEB
	else
		DEB=$(ls -t "$REPO_ROOT"/dist/hagent_*_amd64.deb 2>/dev/null | head -1 || true)
	fi
	[[ -n $DEB && -r $DEB ]] || die "no .deb: run make package (or set HOSTS_DEB)"
}

cmd_up() {
	command -v systemd-nspawn >/dev/null || die "systemd-nspawn not installed (apt-get install systemd-container)"
	find_deb
	[[ -x $HACTL ]] || die "$HACTL not found: make build"
	ensure_rootfs
	mkdir -p "$STATE"
	# Whatever fails below (die exits), leave nothing behind.
	trap 'log "up failed; cleaning up"; cmd_down' EXIT
	make_topology
	"$HACTL" certs --dir "$STATE/pki" --server "cenvm71=$NET.71" --server "cenvm72=$NET.72" --client ops >/dev/null
	local h
	for h in $HOSTS; do prepare "$h"; done
	for h in $HOSTS; do boot "$h"; done
	for h in $HOSTS; do wait_booted "$h"; done
	# The master first, as an operator would migrate it.
	for h in $HOSTS; do deploy "$h"; done
	wait_vip_on 71
	trap - EXIT
	log "up: cenvm71 and cenvm72 run hagent; hosts.sh exec cenvm71 systemctl status keepalived"
}

cmd_down() {
	local h dir npid ns
	for h in $HOSTS; do
		dir=$(host_dir "$h")
		npid=$(read_pid "$dir/nspawn.pid")
		if pid_alive "$npid"; then
			# SIGTERM: nspawn asks the machine's systemd to halt (SIGRTMIN+3); a second
			# one, or SIGKILL after the deadline, ends it at once.
			kill -TERM "$npid" 2>/dev/null || true
		fi
	done
	for h in $HOSTS; do
		dir=$(host_dir "$h")
		npid=$(read_pid "$dir/nspawn.pid")
		local deadline=$((SECONDS + 20))
		while pid_alive "$npid" && ((SECONDS < deadline)); do sleep 0.1; done
		if pid_alive "$npid"; then kill -KILL "$npid" 2>/dev/null || true; fi
		if mountpoint -q "$dir/root" 2>/dev/null; then umount "$dir/root" || umount -l "$dir/root"; fi
	done
	for ns in "$(ns_host 71)" "$(ns_host 72)" "$(ns_client)" "$(ns_sw)"; do
		if ns_exists "$ns"; then ip netns del "$ns"; fi
	done
	rm -rf "$STATE"
}

cmd_exec() {
	[[ $# -ge 2 ]] || die "usage: hosts.sh exec HOST|client CMD..."
	local host=$1
	shift
	if [[ $host == client ]]; then
		ns_exists "$(ns_client)" || die "the hosts lab (prefix $P) is not up"
		exec ip netns exec "$(ns_client)" "$@"
	fi
	hexec "$(host_num "$host")" "$@"
}

cmd_status() {
	local h st act vip
	for h in $HOSTS; do
		if ! leader "$h" >/dev/null 2>&1; then
			echo "cenvm$h: not running"
			continue
		fi
		st=$(hexec "$h" systemctl is-system-running 2>/dev/null || true)
		act=$(hexec "$h" systemctl is-active hagent 2>/dev/null || true)
		vip=$(hexec "$h" ip -brief addr show dev "$IFACE" | grep -c "$NET.109" || true)
		echo "cenvm$h: system $st, hagent $act, VIP $([[ $vip -gt 0 ]] && echo held || echo -)"
	done
}

main() {
	[[ $# -ge 1 ]] || die "usage: hosts.sh up|down|exec HOST CMD...|status|rootfs"
	local cmd=$1
	shift
	case $cmd in
	up) cmd_up ;;
	down) cmd_down ;;
	exec) cmd_exec "$@" ;;
	status) cmd_status ;;
	rootfs) ensure_rootfs && rootfs_dir ;;
	*) die "unknown command $cmd" ;;
	esac
}

main "$@"
