#!/bin/bash
# usage: bench-2026-11-30-jitter-shared.sh DIR (the TestBench jitter temp dir: 001 keepalived, 002 hagent, ... per window)  — per window (pairs of pcaps: keepalived, hagent), gaps > 20 ms of each master and how many overlap the other lab's
dir=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gaps() { tcpdump -r "$1" -tt -n 2>/dev/null | awk '$3=="192.168.188.71"{ if(p && $1-p>0.02) printf "%.6f %.6f\n",p,$1; p=$1 }'; }
i=1
while :; do
  k=$(printf "%s/%03d/vrrp.pcap" $dir $((2*i-1))); h=$(printf "%s/%03d/vrrp.pcap" $dir $((2*i)))
  [[ -f $k && -f $h ]] || break
  gaps $k > $tmp/k.txt; gaps $h > $tmp/h.txt
  sh=$(awk 'NR==FNR{a[NR]=$1;b[NR]=$2;n=NR;next}{for(j=1;j<=n;j++) if($1<b[j] && a[j]<$2){c++;break}} END{print c+0}' $tmp/k.txt $tmp/h.txt)
  sk=$(awk 'NR==FNR{a[NR]=$1;b[NR]=$2;n=NR;next}{for(j=1;j<=n;j++) if($1<b[j] && a[j]<$2){c++;break}} END{print c+0}' $tmp/h.txt $tmp/k.txt)
  hmax=$(awk '{g=($2-$1)*1000; if(g>m){m=g;t=$2}} END{printf "%.1f ms at %.3f", m, t}' $tmp/h.txt)
  echo "| $i | $(wc -l <$tmp/k.txt) ($sk) | $(wc -l <$tmp/h.txt) ($sh) | $hmax |"
  i=$((i+1))
done
