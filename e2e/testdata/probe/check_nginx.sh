#!/bin/sh
# check_nginx.sh HOSTDIR: exit 0 if this host's nginx runs, else print why and exit 1.
#
# The seed's check_ng.sh without its side effects: it neither restarts nginx nor
# stops the agent, so hagent's FAULT state does the failover instead. As in the
# lab's check_ng.sh, only nginx processes in this network namespace count (the lab
# hosts share one PID namespace); zombies (PID 1 of the lab VM does not reap) do not.
dir=${1:?usage: check_nginx.sh HOSTDIR}
self=$(readlink /proc/$$/ns/net)
n=0
for p in $(ps -C nginx -o pid=,stat= | awk '$2 !~ /^Z/ { print $1 }'); do
	if [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$self" ]; then
		n=$((n + 1))
	fi
done
if [ "$n" -eq 0 ]; then
	echo "no nginx running for $dir"
	exit 1
fi
echo "$n nginx processes"
