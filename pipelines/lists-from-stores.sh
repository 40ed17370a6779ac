#!/bin/bash
# pipelines/lists-from-stores.sh STORES RUNS DATA: every complete ranked-list chunk store
# STORES/<run>.ranked.jsonl.gz (docs/FORMATS.md) written out as RUNS/<run>.ranked.jsonl, so that
# metrics, comparisons and reports are rebuilt from the committed results alone: the models
# and predictions upstream of a ranked list are intermediate files (.SECONDARY in
# pipelines/experiment.mk), which make leaves missing while the list is newer than what they
# were made from. A store is complete when it holds one line for every prompt of its input
# (test, test without history, validation, the grid's validation samples); an incomplete one
# is named on stderr and counted, never written.
set -euo pipefail
die() { echo "lists-from-stores.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: lists-from-stores.sh STORES RUNS DATA"
stores=$1; runs=$2; data=$3
[ -d "$stores" ] || die "$stores: no such directory"
mkdir -p "$runs"
written=0; incomplete=0
for s in "$stores"/*.ranked.jsonl.gz; do
  [ -e "$s" ] || break
  run=$(basename "$s" .ranked.jsonl.gz)
  case $run in
    *.nohist) in=test.nohist.prompts.jsonl;;
    *.gval) in=valid.grid.prompts.jsonl;;
    *.val|*.vald3|*.vald3x) in=valid.eval.prompts.jsonl;;
    *) in=test.prompts.jsonl;;
  esac
  [ -f "$data/$in" ] || die "$s: its input $data/$in does not exist (make it first)"
  n=$(zcat "$s" | wc -l); want=$(wc -l < "$data/$in")
  if [ "$n" != "$want" ]; then
    echo "lists-from-stores.sh: $s: $n of $want lines: incomplete, not written" >&2
    incomplete=$((incomplete + 1))
    continue
  fi
  zcat "$s" > "$runs/$run.ranked.jsonl.tmp" && mv "$runs/$run.ranked.jsonl.tmp" "$runs/$run.ranked.jsonl"
  written=$((written + 1))
done
echo "lists-from-stores.sh: $written ranked lists written to $runs, $incomplete stores incomplete" >&2
