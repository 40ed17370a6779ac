#!/bin/bash
# End to end on a real pretrained backbone: the experiment pipeline (make table3-one) at smoke
# scale on MovieLens-100k with SmolLM2-135M imported from its GGUF file
# (configs/datasets/ml100k-smollm2-smoke.mk): byte-level BPE tokenizer.json, the Llama variant,
# BIGRec and CFT fine-tunes from the imported weights, decode (BIGRec, D3, D3 10 beams, D3
# exact), ground, metrics, report. Checks the chain and the tokenizer seams, not the numbers.
# Decode and ground run resumable (DS_RESULTS, chunks of 3 prompts), as the long studies do.
source "$ROOT/tests/lib.sh"
[ -f "$ROOT/build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ] || die "backbone missing: run 'make backbones'"
DS=ml100k-smollm2-smoke
M="make -C $ROOT --no-print-directory BIN=$BIN DATA_ROOT=$DATA_ROOT DATA_DIR=$T/data RUNS_DIR=$T/runs REPORTS_DIR=$T/reports DATASET=$DS THREADS=2 DS_RESULTS=$T/results/$DS DS_CHUNK=3"
$M table3-one > make.log 2>&1 || { tail -30 make.log; die "make table3-one failed"; }
R=$T/runs/$DS; D=$T/data/$DS
grep -q '^| D3+CFT (exact) |' $T/reports/table3-$DS.md || die "report lacks the D3+CFT (exact) row"
# every decode and ground went through the chunk store: its lines are the run's, 3 chunks of 8 prompts
for f in bigrec.bigrec.pred cft.d3.ranked cft.d3x.pred; do
  cmp -s <(zcat $T/results/$DS/$f.jsonl.gz) $R/$f.jsonl || die "$f: the chunk store differs from the run's file"
  [ "$(zcat $T/results/$DS/$f.jsonl.gz | wc -l)" = 8 ] || die "$f: chunk store size"
done
# the fine-tuned checkpoints are Llama checkpoints with the model's own tokenizer
for m in bigrec cft; do
  grep -q '"model_type":	"llama"' $R/$m/config.json || die "$m: not a llama checkpoint"
  cmp -s $R/$m/tokenizer.json "$ROOT/build/models/smollm2/tokenizer.json" || die "$m: tokenizer.json not carried over"
  test -f $R/$m/tokenizer_config.json || die "$m: tokenizer_config.json not carried over"
done
# fine-tuning moved the weights away from the pretrained start and logged its steps
"$PY" - $R "$ROOT/build/models/smollm2" <<'PY'
import json, sys
from safetensors.numpy import load_file
run, base = sys.argv[1:]
b = load_file(base + "/model.safetensors")["model.layers.0.mlp.up_proj.weight"]
for m in ("bigrec", "cft"):
    w = load_file(f"{run}/{m}/model.safetensors")["model.layers.0.mlp.up_proj.weight"]
    assert abs(w - b).max() > 0, f"{m}: weights unchanged"
    log = [json.loads(l) for l in open(f"{run}/{m}.log.jsonl")]
    tr = [r for r in log if "loss" in r]
    assert tr, f"{m}: no training records in the log"
PY
# every test prompt decoded; 5 beams of text from BIGRec
for r in cft.bigrec bigrec.bigrec; do
  [ "$(wc -l < $R/$r.pred.jsonl)" = 8 ] || die "$r: not one prediction per test prompt"
  jq -e 'select((.predict|length) != 5)' $R/$r.pred.jsonl >/dev/null && die "$r: a prediction lacks 5 beams"
done
# D3's trie holds enc("\"title\"\n") ++ [eos] with the BPE tokenizer: every constrained output
# must decode back to a catalogue title (the prompt/response seam and the trie agree)
jq -r '.title' $D/items.jsonl | sort -u > titles.txt
jq -r '.predict[]' $R/cft.d3.pred.jsonl $R/bigrec.d3.pred.jsonl $R/cft.d3b10.pred.jsonl $R/cft.d3x.pred.jsonl | sort -u > pred.txt
[ -s pred.txt ] || die "D3 produced no titles"
comm -23 pred.txt titles.txt > outside.txt
[ ! -s outside.txt ] || die "D3 generated titles outside the catalogue: $(head -3 outside.txt)"
jq -e 'select((.predict|length) != 10 or (.exact|type) != "boolean")' $R/cft.d3x.pred.jsonl >/dev/null && die "a D3 (exact) list lacks 10 titles or its flag"
# ranked lists: 50 distinct catalogue ids each, for every method
for r in bigrec.bigrec cft.bigrec cft.d3 cft.d3x; do
  jq -e 'select((.items|length) != 50 or ((.items|unique|length) != (.items|length)))' $R/$r.ranked.jsonl >/dev/null \
    && die "$r: a ranked list is not 50 distinct items"
done
$M -q $R/cft.d3.metrics.json || die "finished steps are not up to date"
# the committed results alone rebuild the metrics and comparisons: no fine-tune, no decoding
cp $R/cft.d3.metrics.json $R/cft.bigrec__vs__bigrec.bigrec.compare.json $R/cft.d3x.metrics.json .
rm -rf $T/runs
$M lists-from-stores > lfs.log 2>&1 || { cat lfs.log; die "lists-from-stores failed"; }
grep -q "lists written to $R, 0 stores incomplete" lfs.log || die "lists-from-stores: $(tail -1 lfs.log)"
$M $R/cft.d3.metrics.json $R/cft.bigrec__vs__bigrec.bigrec.compare.json $R/cft.d3x.metrics.json > rebuild.log 2>&1 \
  || { tail -20 rebuild.log; die "metrics from the stored lists failed"; }
grep -E "cft-step|bin/decode|bin/ground" rebuild.log && die "metrics from the stored lists trained or decoded"
test ! -e $R/cft/config.json || die "a model was made while rebuilding from the stores"
for f in cft.d3.metrics.json cft.bigrec__vs__bigrec.bigrec.compare.json cft.d3x.metrics.json; do
  cmp -s $f $R/$f || die "$f: rebuilt from the stores, it differs"
done
# an incomplete store is named and counted, never written
zcat $T/results/$DS/cft.d3.ranked.jsonl.gz | head -n 5 | gzip > $T/results/$DS/cft.d3.ranked.jsonl.gz.tmp
mv $T/results/$DS/cft.d3.ranked.jsonl.gz.tmp $T/results/$DS/cft.d3.ranked.jsonl.gz
rm -f $R/cft.d3.ranked.jsonl
$M lists-from-stores > lfs2.log 2>&1 || die "lists-from-stores with an incomplete store failed"
grep -q "cft.d3.ranked.jsonl.gz: 5 of 8 lines: incomplete, not written" lfs2.log && grep -q ", 1 stores incomplete" lfs2.log \
  || die "an incomplete store was not named and counted: $(cat lfs2.log)"
test ! -e $R/cft.d3.ranked.jsonl || die "an incomplete store was written out"
echo "smollm2 pipeline ok: $(cut -f1,2 $T/results/$DS/times.tsv | tr '\t\n' '= ')"
