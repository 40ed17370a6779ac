#!/bin/sh
# timed.sh TIMES.tsv STAGE cmd... : run cmd, append "STAGE<TAB>seconds<TAB>exit<TAB>end (UTC)<TAB>
# cores x CPU" to TIMES.tsv (docs/FORMATS.md)
f=$1; stage=$2; shift 2
mkdir -p "$(dirname "$f")"
s=$(date +%s.%N)
"$@"; rc=$?
e=$(date +%s.%N)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
printf '%s\t%.1f\t%d\t%s\t%s\n' "$stage" "$(echo "$e $s" | awk '{print $1-$2}')" "$rc" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$(nproc) x ${cpu:-unknown CPU}" >> "$f"
exit $rc
