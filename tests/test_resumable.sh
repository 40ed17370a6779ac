#!/bin/bash
# pipelines/resumable.sh, the chunked line-for-line runner that carries decode / ground across
# sessions: a failed chunk leaves the store as it was; a rerun continues from the last full
# chunk and ends byte-identical to an uninterrupted run; a store made by another model, input
# or command is refused; a command that loses or adds lines is an error.
source "$ROOT/tests/lib.sh"
RS="$ROOT/pipelines/resumable.sh"
seq 1 10 | sed 's/^/{"id": /; s/$/}/' > in.jsonl
echo weights-a > model.a; echo weights-b > model.b
"$RS" ref.gz 3 in.jsonl ref.out model.a -- cat
same in.jsonl ref.out
[ "$(zcat ref.gz | wc -l)" = 10 ] || die "store"
# a command that fails in its third chunk: the store keeps the first two chunks (6 lines)
cat > flaky.sh <<'S'
#!/bin/bash
c=$(cat count 2>/dev/null || echo 0); echo $((c + 1)) > count
[ "$c" -lt 2 ] || exit 9
cat
S
chmod +x flaky.sh
rc=0; "$RS" st.gz 3 in.jsonl out.jsonl model.a -- ./flaky.sh 2> err.txt || rc=$?
[ "$rc" != 0 ] || die "a failing command did not fail the run"
[ ! -e out.jsonl ] || die "output written by a failed run"
[ "$(zcat st.gz | wc -l)" = 6 ] || die "store after the failure holds $(zcat st.gz | wc -l) lines, want 6"
rm count
# rerun (the same key: the script's content is not part of it, its command line is)
echo 0 > count
"$RS" st.gz 3 in.jsonl out.jsonl model.a -- ./flaky.sh
same in.jsonl out.jsonl
[ "$(cat count)" = 2 ] || die "the rerun ran $(cat count) chunks, want 2 (lines 7-9, 10)"
# another model / input / command: refused, the store untouched
cp st.gz keep.gz
expect_fail 1 'made by another model' "$RS" st.gz 3 in.jsonl o2 model.b -- ./flaky.sh
expect_fail 1 'made by another model' "$RS" st.gz 3 in.jsonl o2 model.a -- cat
head -n 9 in.jsonl > in9.jsonl
expect_fail 1 'made by another model' "$RS" st.gz 3 in9.jsonl o2 model.a -- ./flaky.sh
same st.gz keep.gz
# a retrain (other weights, same recipe) may take a COMPLETE store whole, measured on its
# first chunk; never an incomplete one, nor one its first chunk mostly disagrees with
expect_fail 1 'made by another model' "$RS" ref.gz 3 in.jsonl r1.out model.b -- cat
RESUMABLE_ACCEPT_RETRAIN=1 "$RS" ref.gz 3 in.jsonl r1.out model.b -- sed '3s/}/, "scores": [1]}/' 2> r1.err
same in.jsonl r1.out
[ "$(jq -c '[.compared, .equal_apart_from_scores, .mean_list_overlap]' r1.out.retrain.json)" = '[3,3,1]' ] || die "retrain check: $(cat r1.out.retrain.json)"
grep -q 'taken whole' r1.err || die "no word of the retrain on stderr"
RESUMABLE_ACCEPT_RETRAIN=1 expect_fail 1 'less than half' "$RS" ref.gz 3 in.jsonl r2.out model.b -- sed 's/id/ID/'
# lists that mostly agree (a near-tie reordered, one item of four changed) are a retrain
printf '{"id": 1, "items": [1, 2, 3, 4]}\n{"id": 2, "items": [5, 6, 7, 8]}\n' > li.jsonl
"$RS" li.gz 2 li.jsonl li.out model.a -- cat
RESUMABLE_ACCEPT_RETRAIN=1 "$RS" li.gz 2 li.jsonl li2.out model.b -- sed 's/2, 3/3, 2/; s/8]/9]/' 2> /dev/null
same li.jsonl li2.out
[ "$(jq -c '[.equal_apart_from_scores, .mean_list_overlap]' li2.out.retrain.json)" = '[0,0.875]' ] || die "list overlap: $(cat li2.out.retrain.json)"
[ ! -e r2.out ] && [ ! -e r2.out.retrain.json ] || die "a refused retrain left output"
zcat st.gz | head -n 6 | gzip > part.gz; cp st.gz.key part.gz.key
RESUMABLE_ACCEPT_RETRAIN=1 expect_fail 1 'made by another model' "$RS" part.gz 3 in.jsonl r3.out model.b -- cat
# the same weights again: the marker of an earlier retrain is dropped
"$RS" ref.gz 3 in.jsonl r1.out model.a -- cat
[ ! -e r1.out.retrain.json ] || die "stale retrain marker kept"
# a command that drops a line
expect_fail 1 'wrote 2 lines for 3 input lines' "$RS" bad.gz 3 in.jsonl o3 model.a -- head -n 2
expect_fail 1 'CHUNK must be' "$RS" bad2.gz 0 in.jsonl o3 model.a -- cat
# an input far longer than a chunk (a pipe from the input once died of SIGPIPE here)
seq 1 200000 > big.txt
"$RS" big.gz 1000 big.txt big.out model.a -- cat
same big.txt big.out
# ... whose store is far larger than a pipe's buffer, taken whole by a retrain
RESUMABLE_ACCEPT_RETRAIN=1 "$RS" big.gz 1000 big.txt big2.out model.b -- cat
same big.txt big2.out
echo ok
