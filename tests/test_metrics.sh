# metrics: hand-worked HR/NDCG (rank 0 -> 1, rank 2 -> 0.5, rank 5 -> 0 at K=5), title-shared
# hits, popularity groups, bootstrap determinism and coverage, bad input.
source "$ROOT/tests/lib.sh"

# catalogue: ids 0 and 2 share the title "A"
cat > items.jsonl <<'J'
{"id": 0, "item": "i0", "title": "A", "count": 5}
{"id": 1, "item": "i1", "title": "B", "count": 3}
{"id": 2, "item": "i2", "title": "A", "count": 1}
{"id": 3, "item": "i3", "title": "C", "count": 0}
{"id": 4, "item": "i4", "title": "D", "count": 2}
{"id": 5, "item": "i5", "title": "E", "count": 4}
{"id": 6, "item": "i6", "title": "F", "count": 0}
{"id": 7, "item": "i7", "title": "G", "count": 1}
J
s() { echo "{\"id\": $1, \"user\": \"u$1\", \"history\": [{\"item\": \"i7\", \"title\": \"G\", \"ts\": 1}], \"target\": {\"item\": \"$2\", \"title\": \"$3\", \"ts\": 2}, \"split\": \"test\"}"; }
{ s 10 i1 B; s 11 i0 A; s 12 i4 D; s 13 i3 C; } > test.jsonl
# 10: B at 0 -> HR 1, NDCG 1.  11: target i0 ("A"); i2 (also "A") at 2 -> rank 2, NDCG 1/log2(4) = 0.5
# 12: D at 5 -> miss at 5, hit at 10 with 1/log2(7).  13: C absent -> 0.
cat > ranked.jsonl <<'J'
{"id": 10, "items": [1, 0, 2, 3, 4, 5]}
{"id": 11, "items": [5, 4, 2, 0, 1, 3]}
{"id": 12, "items": [0, 1, 2, 3, 5, 4]}
{"id": 13, "items": [6, 0, 1]}
J
# HR@5 = 2/4, NDCG@5 = 1.5/4, HR@10 = 3/4, NDCG@10 = (1.5 + 1/log2 7)/4 = 0.4640517968
"$BIN/metrics" --truth test.jsonl --items items.jsonl < ranked.jsonl > m.json
[ "$(cat m.json)" = '{"n": 4, "HR@5": 0.5, "NDCG@5": 0.375, "HR@10": 0.75, "NDCG@10": 0.4640517968}' ] || die "metrics: $(cat m.json)"
"$BIN/metrics" --truth test.jsonl --items items.jsonl -k 1,3 --ranked ranked.jsonl > m13.json
[ "$(cat m13.json)" = '{"n": 4, "HR@1": 0.25, "NDCG@1": 0.25, "HR@3": 0.5, "NDCG@3": 0.375}' ] || die "k=1,3: $(cat m13.json)"

# per-sample values, in truth order
"$BIN/metrics" --truth test.jsonl --items items.jsonl --per-sample ps.jsonl < ranked.jsonl > /dev/null
cat > want_ps.jsonl <<'J'
{"id": 10, "rank": 0, "HR@5": 1, "NDCG@5": 1, "HR@10": 1, "NDCG@10": 1}
{"id": 11, "rank": 2, "HR@5": 1, "NDCG@5": 0.5, "HR@10": 1, "NDCG@10": 0.5}
{"id": 12, "rank": 5, "HR@5": 0, "NDCG@5": 0, "HR@10": 1, "NDCG@10": 0.3562071871}
{"id": 13, "rank": -1, "HR@5": 0, "NDCG@5": 0, "HR@10": 0, "NDCG@10": 0}
J
same ps.jsonl want_ps.jsonl

# popularity: items by (count, id): 3 6 | 2 7 4 | 1 5 0 (sizes 8*q/3: 2, 3, 3);
# top-3 of the four lists: g3 g3 g2 | g3 g2 g2 | g3 g3 g2 | g1 g3 g3 -> 1/12, 4/12, 7/12
"$BIN/metrics" --truth test.jsonl --items items.jsonl --popularity 3 --topk 3 < ranked.jsonl | jq -c .popularity > pop.json
[ "$(cat pop.json)" = '{"groups":3,"topk":3,"recs":12,"share":[0.08333333333,0.3333333333,0.5833333333],"items":[2,3,3],"count_min":[0,1,3],"count_max":[0,2,5]}' ] || die "popularity: $(cat pop.json)"
# ... and per sample, the group counts those shares sum
"$BIN/metrics" --truth test.jsonl --items items.jsonl --popularity 3 --topk 3 --per-sample psg.jsonl < ranked.jsonl > /dev/null
[ "$(jq -c .groups psg.jsonl | paste -sd' ')" = '[0,1,2] [0,2,1] [0,1,2] [1,0,2]' ] || die "per-sample groups: $(jq -c .groups psg.jsonl | paste -sd' ')"

# --compare: other misses everything -> diffs = this; p for HR@5 < 0.5
for i in 10 11 12 13; do echo "{\"id\": $i, \"items\": [7]}"; done > other.jsonl
"$BIN/metrics" --truth test.jsonl --items items.jsonl --compare other.jsonl --seed 7 < ranked.jsonl > c1.json
"$BIN/metrics" --truth test.jsonl --items items.jsonl --compare other.jsonl --seed 7 < ranked.jsonl > c2.json
same c1.json c2.json
[ "$(jq -c '.compare."HR@5" | [.this, .other, .diff]' c1.json)" = '[0.5,0,0.5]' ] || die "compare: $(cat c1.json)"
[ "$(jq -c '[.compare.resamples, .compare.seed]' c1.json)" = '[1000,7]' ] || die "compare header"
# a bootstrap mean of 4 values of {0,1} lies on a 1/4 grid inside [0, 1]
jq -e '.compare."HR@5".ci95 | .[0] >= 0 and .[1] <= 1 and .[0] < .[1]' c1.json > /dev/null || die "ci range: $(cat c1.json)"

# constructed case: n=400, this hits when i%5<3 (60%), other when (7i)%5<2 (40%):
# true difference 0.2; the 95% CI must contain it and exclude 0, and match the normal
# approximation's width (sd of paired diffs / sqrt(n)) within 15%.
echo '{"id": 0, "item": "x", "title": "X", "count": 1}' > it2.jsonl
echo '{"id": 1, "item": "y", "title": "Y", "count": 1}' >> it2.jsonl
awk 'BEGIN { for (i = 0; i < 400; i++) printf "{\"id\": %d, \"user\": \"u\", \"history\": [], \"target\": {\"item\": \"x\", \"title\": \"X\", \"ts\": 1}, \"split\": \"test\"}\n", i }' > t2.jsonl
awk 'BEGIN { for (i = 0; i < 400; i++) printf "{\"id\": %d, \"items\": [%d]}\n", i, (i % 5 < 3) ? 0 : 1 }' > a.jsonl
awk 'BEGIN { for (i = 0; i < 400; i++) printf "{\"id\": %d, \"items\": [%d]}\n", i, ((7 * i) % 5 < 2) ? 0 : 1 }' > b.jsonl
"$BIN/metrics" --truth t2.jsonl --items it2.jsonl -k 1 --compare b.jsonl --resamples 2000 --seed 3 < a.jsonl > c4.json
# same seed -> identical CI, another seed -> a different one
"$BIN/metrics" --truth t2.jsonl --items it2.jsonl -k 1 --compare b.jsonl --resamples 2000 --seed 3 < a.jsonl > c5.json
"$BIN/metrics" --truth t2.jsonl --items it2.jsonl -k 1 --compare b.jsonl --resamples 2000 --seed 4 < a.jsonl > c6.json
same c4.json c5.json
[ "$(jq -c '.compare."HR@1".ci95' c4.json)" != "$(jq -c '.compare."HR@1".ci95' c6.json)" ] || die "seed does not change the CI"
jq -e '.compare."HR@1" | .diff > 0.1999 and .diff < 0.2001 and .ci95[0] < 0.2 and .ci95[1] > 0.2 and .ci95[0] > 0' c4.json > /dev/null || die "ci: $(cat c4.json)"
"$PY" - c4.json <<'P'
import json, sys
a = [1 if i % 5 < 3 else 0 for i in range(400)]; b = [1 if (7 * i) % 5 < 2 else 0 for i in range(400)]
d = [x - y for x, y in zip(a, b)]; n = len(d); m = sum(d) / n
sd = (sum((x - m) ** 2 for x in d) / (n - 1)) ** 0.5
lo, hi = json.load(open(sys.argv[1]))["compare"]["HR@1"]["ci95"]
w, wn = hi - lo, 2 * 1.959964 * sd / n ** 0.5
assert abs(w / wn - 1) < 0.15, (w, wn)
assert abs((lo + hi) / 2 - m) < 0.1 * wn, (lo, hi, m)
P

# --allow-missing: a missing list counts as a miss, reported
head -3 ranked.jsonl > r3.jsonl
"$BIN/metrics" --truth test.jsonl --items items.jsonl --allow-missing < r3.jsonl > mm.json
[ "$(cat mm.json)" = '{"n": 4, "HR@5": 0.5, "NDCG@5": 0.375, "HR@10": 0.75, "NDCG@10": 0.4640517968, "missing": 1}' ] || die "allow-missing: $(cat mm.json)"

# ---- bad input: exact messages, exit codes, no per-sample file left behind ----
fails() { expect_fail "$@"; [ ! -e ps_bad.jsonl ] && [ -z "$(ls | grep 'ps_bad.jsonl.tmp' || true)" ] || die "per-sample output left behind"; }
M() { "$BIN/metrics" --truth test.jsonl --items items.jsonl --per-sample ps_bad.jsonl "$@"; }
fails 1 '^metrics: r3.jsonl: no ranked list for sample 13 \(test.jsonl:4\)$' M --ranked r3.jsonl
{ cat ranked.jsonl; echo '{"id": 99, "items": [1]}'; } > rx.jsonl
fails 1 '^metrics: rx.jsonl:5: id: sample 99 is not in the truth test.jsonl$' M --ranked rx.jsonl
"$BIN/metrics" --truth test.jsonl --items items.jsonl --allow-extra --ranked rx.jsonl > mx.json
same mx.json m.json
sed '2s/.*/{"id": 11, "items": [5, 99]}/' ranked.jsonl > ru.jsonl
fails 1 '^metrics: ru.jsonl:2: items\[1\]: unknown item id 99 \(catalogue items.jsonl has ids 0..7\)$' M --ranked ru.jsonl
sed '3s/.*/{"id": 12, "items": [1, "x"]}/' ranked.jsonl > rs.jsonl
fails 1 '^metrics: rs.jsonl:3: items\[1\]: expected an integer$' M --ranked rs.jsonl
sed '1s/.*/{"id": 10, "items": [1, /' ranked.jsonl > rm.jsonl
fails 1 '^metrics: rm.jsonl:1: malformed JSON$' M --ranked rm.jsonl
sed '2s/.*/{"id": 11}/' ranked.jsonl > rf.jsonl
fails 1 '^metrics: rf.jsonl:2: items: missing field$' M --ranked rf.jsonl
{ cat ranked.jsonl; head -1 ranked.jsonl; } > rd.jsonl
fails 1 '^metrics: rd.jsonl:5: id: duplicate ranked list for sample 10$' M --ranked rd.jsonl
{ s 10 i1 B; s 11 zz A; } > tz.jsonl
fails 1 "^metrics: tz.jsonl:2: target.item: 'zz' is not in the catalogue items.jsonl$" "$BIN/metrics" --truth tz.jsonl --items items.jsonl --per-sample ps_bad.jsonl --ranked ranked.jsonl
sed '2s/"title": "A"/"titel": "A"/' test.jsonl > tf.jsonl
fails 1 '^metrics: tf.jsonl:2: target.title: missing field$' "$BIN/metrics" --truth tf.jsonl --items items.jsonl --ranked ranked.jsonl
sed '3s/"id": 2/"id": 5/' items.jsonl > ib.jsonl
fails 1 '^metrics: ib.jsonl:3: id: expected 2 \(ids must be 0..N-1 in file order\), got 5$' "$BIN/metrics" --truth test.jsonl --items ib.jsonl --ranked ranked.jsonl
fails 3 '^metrics: nope.jsonl: cannot open: No such file or directory$' "$BIN/metrics" --truth test.jsonl --items nope.jsonl --ranked ranked.jsonl
fails 2 'metrics: --truth and --items are required' "$BIN/metrics" --items items.jsonl
fails 2 "^metrics: -k: bad list '5,x'$" M -k 5,x
fails 2 '^metrics: --popularity 9: more groups than the 8 catalogue items$' M --popularity 9 --ranked ranked.jsonl
"$BIN/metrics" --help | grep -q '^usage: metrics'
echo ok
