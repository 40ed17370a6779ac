#!/bin/sh
# timed.sh TIMES.tsv STAGE cmd... : run cmd, append "STAGE<TAB>seconds<TAB>exit" to TIMES.tsv
f=$1; stage=$2; shift 2
mkdir -p "$(dirname "$f")"
s=$(date +%s.%N)
"$@"; rc=$?
e=$(date +%s.%N)
printf '%s\t%.1f\t%d\n' "$stage" "$(echo "$e $s" | awk '{print $1-$2}')" "$rc" >> "$f"
exit $rc
