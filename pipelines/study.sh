#!/bin/bash
# pipelines/study.sh DATASET [THREADS]: the paper's experiments on one dataset, stage by stage
# in priority order, each a `make` goal of pipelines/experiment.mk (so every finished stage is
# skipped and decode/ground resume from the chunk store under DS_RESULTS). Run it again in a
# later session (after `make backbone-smollm2` on a fresh machine) and it continues. Stages:
#   1. BIGRec, BIGRec+CFT (Table 3's first rows) and their paired comparison; D3 and D3+CFT
#   2. MostPop, SASRec and every LLM row against both (the issue's reading of Table 3)
#   3. the ablation (Table 4), 4. Fig. 4 (with / without history)
#   6. the remaining baselines (minutes: run before the grid, while BIGRec's weights exist)
#   5. a reduced lambda x beta' search on validation, one hyper-parameter at a time through the
#      config's point as the paper did (STUDY_GRID_LAMBDAS / _BETAPS / _SHAPE; the config's own
#      point is the cft run, so it costs nothing)
#   7. the rest of Table 3 (D3 with 10 beams, D3's exact ranking)
# Progress goes to stdout; commit results/<DATASET>/ between sessions.
# STUDY_STAGES="4 5" runs only those stages, in the order given: on a fresh machine the model
# checkpoints are gone (never committed) and every earlier stage would retrain its models only to
# find its results already in the chunk store and its report already written. The order matters
# across sessions: "1 7" decodes stage 7 with the weights stage 1 just trained, where the default
# order would retrain them in a later session. STUDY_DRY=1 prints each stage's make command
# instead of running it.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: pipelines/study.sh DATASET [THREADS]" >&2; exit 2; }
D=$1; T=${2:-2}; R=runs/$D
cd "$(dirname "$0")/.."
M=(make DATASET="$D" THREADS="$T" REPORTS_DIR="${REPORTS_DIR:-reports}")
STAGES=${STUDY_STAGES:-1 2 3 4 6 5 7}
seen=" "
for s in $STAGES; do
  [[ "$s" =~ ^[1-7]$ ]] || { echo "study.sh: STUDY_STAGES: '$s' is not a stage (1-7)" >&2; exit 2; }
  case "$seen" in *" $s "*) echo "study.sh: STUDY_STAGES: stage $s given twice" >&2; exit 2;; esac
  seen+="$s "
done
# G=(the make goals of stage $1)
goals() {
  case $1 in
    1) G=($R/bigrec.bigrec.metrics.json $R/cft.bigrec.metrics.json $R/cft.bigrec__vs__bigrec.bigrec.compare.json
          $R/bigrec.d3.metrics.json $R/cft.d3.metrics.json) ;;
    2) G=($R/mostpop.metrics.json $R/sasrec.metrics.json $R/bigrec.bigrec__vs__mostpop.compare.json
          $R/cft.d3__vs__bigrec.d3.compare.json $R/bigrec.bigrec__vs__sasrec.compare.json $R/cft.bigrec__vs__sasrec.compare.json
          $R/bigrec.d3__vs__sasrec.compare.json $R/cft.d3__vs__sasrec.compare.json) ;;
    3) G=(ablation-one) ;;
    4) G=(fig4-one) ;;
    5) G=(grid-one GRID_LAMBDAS="${STUDY_GRID_LAMBDAS:-0.02 0.1 0.3}" GRID_BETAPS="${STUDY_GRID_BETAPS:-1.2 1.6 3}"
          GRID_SHAPE="${STUDY_GRID_SHAPE:-cross}") ;;
    6) G=(baselines-one) ;;
    7) G=(table3-one) ;;
  esac
}
NAME=([1]="BIGRec, CFT, D3" [2]="MostPop, SASRec" [3]=ablation [4]=fig4 [5]=grid [6]=baselines [7]=table3)
for s in $STAGES; do
  echo "study.sh: $D: $s ${NAME[$s]} ($(date -u +%H:%M))"
  goals "$s"
  if [ -n "${STUDY_DRY:-}" ]; then printf '%q ' "${M[@]}" "${G[@]}"; echo; else "${M[@]}" "${G[@]}"; fi
done
echo "study.sh: $D: done ($(date -u +%H:%M))"
