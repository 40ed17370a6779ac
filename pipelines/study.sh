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
# STUDY_STAGES="4 5" runs only those stages: on a fresh machine the model checkpoints are gone
# (never committed) and every earlier stage would retrain its models only to find its results
# already in the chunk store and its report already written.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: pipelines/study.sh DATASET [THREADS]" >&2; exit 2; }
D=$1; T=${2:-2}; R=runs/$D
cd "$(dirname "$0")/.."
M=(make DATASET="$D" THREADS="$T" REPORTS_DIR="${REPORTS_DIR:-reports}")
STAGES=" ${STUDY_STAGES:-1 2 3 4 5 6 7} "
for s in $STAGES; do [[ "$s" =~ ^[1-7]$ ]] || { echo "study.sh: STUDY_STAGES: '$s' is not a stage (1-7)" >&2; exit 2; }; done
stage() {
  case "$STAGES" in *" ${1%% *} "*) ;; *) echo "study.sh: $D: skipping stage $1 (STUDY_STAGES)"; return 0;; esac
  echo "study.sh: $D: $1 ($(date -u +%H:%M))"; shift; "${M[@]}" "$@"
}
stage "1 BIGRec, CFT, D3" $R/bigrec.bigrec.metrics.json $R/cft.bigrec.metrics.json \
  $R/cft.bigrec__vs__bigrec.bigrec.compare.json $R/bigrec.d3.metrics.json $R/cft.d3.metrics.json
stage "2 MostPop, SASRec" $R/mostpop.metrics.json $R/sasrec.metrics.json $R/bigrec.bigrec__vs__mostpop.compare.json \
  $R/cft.d3__vs__bigrec.d3.compare.json $R/bigrec.bigrec__vs__sasrec.compare.json $R/cft.bigrec__vs__sasrec.compare.json \
  $R/bigrec.d3__vs__sasrec.compare.json $R/cft.d3__vs__sasrec.compare.json
stage "3 ablation" ablation-one
stage "4 fig4" fig4-one
stage "6 baselines" baselines-one
stage "5 grid" grid-one GRID_LAMBDAS="${STUDY_GRID_LAMBDAS:-0.02 0.1 0.3}" GRID_BETAPS="${STUDY_GRID_BETAPS:-1.2 1.6 3}" \
  GRID_SHAPE="${STUDY_GRID_SHAPE:-cross}"
stage "7 table3" table3-one
echo "study.sh: $D: done ($(date -u +%H:%M))"
