#!/bin/bash
# pipelines/study.sh runs its stages in STUDY_STAGES' order (so a session can decode stage 7 with
# the weights stage 1 just trained), each as one make command with its goals; a stage that is
# not 1-7 or is named twice is refused before anything runs. STUDY_DRY=1 prints the commands.
source "$ROOT/tests/lib.sh"
S="$ROOT/pipelines/study.sh"
makes() { grep '^make ' | sed 's/^make DATASET=[^ ]* THREADS=[^ ]* REPORTS_DIR=[^ ]* //'; }
STUDY_DRY=1 "$S" games-smollm2 > all.txt
[ "$(grep -c '^make ' all.txt)" = 7 ] || die "the default study is not 7 make commands: $(cat all.txt)"
[ "$(sed -n 's/^study.sh: games-smollm2: \([1-7]\) .*/\1/p' all.txt | tr '\n' ' ')" = "1 2 3 4 6 5 7 " ] \
  || die "default stage order: $(cat all.txt)"
grep -q '^make DATASET=games-smollm2 THREADS=2 REPORTS_DIR=reports ' all.txt || die "make's variables: $(head -2 all.txt)"
STUDY_DRY=1 STUDY_STAGES="7 1" "$S" steam-smollm2 1 | makes > two.txt
[ "$(head -1 two.txt)" = "table3-one " ] || die "stage 7 did not run first: $(cat two.txt)"
grep -q '^runs/steam-smollm2/bigrec.bigrec.metrics.json .*runs/steam-smollm2/cft.d3.metrics.json $' two.txt \
  || die "stage 1's goals: $(cat two.txt)"
grep -q 'THREADS=1' <(STUDY_DRY=1 STUDY_STAGES=4 "$S" x 1) || die "THREADS not passed"
# the grid's value lists stay one make argument each
STUDY_DRY=1 STUDY_STAGES=5 STUDY_GRID_LAMBDAS="0.1 0.5" "$S" x | makes > grid.txt
grep -qF 'grid-one GRID_LAMBDAS=0.1\ 0.5 GRID_BETAPS=1.2\ 1.6\ 3 GRID_SHAPE=cross' grid.txt || die "grid: $(cat grid.txt)"
expect_fail 2 "STUDY_STAGES: '8' is not a stage" env STUDY_STAGES="1 8" STUDY_DRY=1 "$S" x
expect_fail 2 "stage 3 given twice" env STUDY_STAGES="3 4 3" STUDY_DRY=1 "$S" x
expect_fail 2 "usage" "$S"
echo ok
