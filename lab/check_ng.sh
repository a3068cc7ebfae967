#!/bin/sh
# Lab adaptation of the seed's check_ng.sh (agent/config/testdata/seed/check_ng.sh).
#
# Same logic as the seed: count nginx processes; if there are none, start nginx;
# if there are still none, log and stop this host's VRRP daemon (what
# `systemctl stop keepalived` does: SIGTERM to the daemon's main process).
#
# What differs is only what "this host" means in the lab, where every host is a
# network namespace sharing one PID namespace and one filesystem:
#   - `ps -C nginx` would also see the other hosts' nginx, so only processes whose
#     /proc/PID/ns/net is our own network namespace are counted;
#   - "systemctl start nginx" is this host's `nginx -c <hostdir>/nginx.conf`;
#   - "systemctl stop keepalived" is SIGTERM to the pid in <hostdir>/agent.pid.
# lab.sh copies this file to <hostdir>/check_ng.sh; the host dir is found from $0.
dir=$(dirname "$(readlink -f "$0")")
d=$(date --date today +%Y%m%d_%H:%M:%S)

count_nginx() {
	self=$(readlink /proc/$$/ns/net)
	c=0
	for p in $(ps -C nginx -o pid=); do
		if [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$self" ]; then
			c=$((c + 1))
		fi
	done
	echo "$c"
}

n=$(count_nginx)
if [ "$n" -eq 0 ]; then
	nginx -c "$dir/nginx.conf" >>"$dir/check_ng.log" 2>&1
	n2=$(count_nginx)
	if [ "$n2" -eq 0 ]; then
		echo "$d nginx down,keepalived will stop" >>"$dir/check_ng.log"
		kill -TERM "$(cat "$dir/agent.pid")"
	fi
fi
