# split811 on real data (MovieLens-100k, Steam): agrees record by record with the Python
# D3 / RecBole oracle, chronology holds, proportions 8:1:1, reruns byte-identical.
# Interactions are built here with awk (the import tool is tested on its own).
source "$ROOT/tests/lib.sh"

# MovieLens-100k: u.data (user item rating ts) + u.item titles (latin-1 -> UTF-8)
iconv -f latin1 -t utf-8 "$DATA_ROOT/movielens-100k/u.item" > u.item
awk -F'|' 'NR==FNR { t = $2; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); title[$1] = t; next }
  { split($0, f, "\t"); printf "{\"user\": \"%s\", \"item\": \"%s\", \"title\": \"%s\", \"ts\": %s, \"rating\": %s}\n", f[1], f[2], title[f[2]], f[4], f[3] }' \
  u.item "$DATA_ROOT/movielens-100k/u.data" > ml.jsonl
[ "$(wc -l < ml.jsonl)" = 100000 ] || die "ml.jsonl"

chrono() { # DIR: every train target ts <= every valid ts <= every test ts
  local a b c d
  a=$(jq -s 'map(.target.ts) | max' "$1/train.jsonl"); b=$(jq -s 'map(.target.ts) | min' "$1/valid.jsonl")
  c=$(jq -s 'map(.target.ts) | max' "$1/valid.jsonl"); d=$(jq -s 'map(.target.ts) | min' "$1/test.jsonl")
  [ "$a" -le "$b" ] && [ "$c" -le "$d" ] && [ "$a" -le "$d" ] || die "$1: chronology: train max $a valid $b..$c test min $d"
}
props() { # DIR N: 8:1:1 within one sample
  local tr va te
  tr=$(wc -l < "$1/train.jsonl"); va=$(wc -l < "$1/valid.jsonl"); te=$(wc -l < "$1/test.jsonl")
  [ $((tr + va + te)) = "$2" ] || die "$1: $tr+$va+$te != $2"
  awk -v n="$2" -v a="$tr" -v b="$va" -v c="$te" 'BEGIN { d1 = a - 0.8*n; d2 = b - 0.1*n; d3 = c - 0.1*n;
    exit !(d1 > -1 && d1 <= 1 && d2 > -1 && d2 <= 1 && d3 > -1 && d3 <= 1) }' || die "$1: proportions $tr/$va/$te of $2"
}

"$BIN/split811" -o ml < ml.jsonl
"$PY" "$ROOT/tests/split_oracle.py" ml.jsonl ml 811
chrono ml
props ml 99057                                   # 100000 - 943 users
[ "$(wc -l < ml/items.jsonl)" = 1682 ] || die "ml items"
[ "$(jq -s 'map(.count) | add' ml/items.jsonl)" = "$(wc -l < ml/train.jsonl)" ] || die "counts != train samples"
# MovieLens-100k has distinct ids with one title (e.g. "Chasing Amy (1997)" twice)
[ "$(jq -r .title ml/items.jsonl | sort | uniq -d | wc -l)" -gt 0 ] || die "expected shared titles"
"$BIN/split811" -o ml2 < ml.jsonl
for f in train valid test items; do same ml/$f.jsonl ml2/$f.jsonl; done
"$BIN/split811" -o mlloo --mode loo < ml.jsonl
"$PY" "$ROOT/tests/split_oracle.py" ml.jsonl mlloo loo
[ "$(wc -l < mlloo/test.jsonl)" = 943 ] && [ "$(wc -l < mlloo/valid.jsonl)" = 943 ] || die "loo: one test and one valid sample per user"

# Steam: day-resolution timestamps, so many ties — the tie order must match D3's
zcat "$DATA_ROOT/steam/items.tsv.gz" | tail -n +2 > st_items.tsv
zcat "$DATA_ROOT/steam/interactions.tsv.gz" | tail -n +2 |
  awk -F'\t' 'NR==FNR { t = $2; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); title[$1] = t; next }
  { printf "{\"user\": \"%s\", \"item\": \"%s\", \"title\": \"%s\", \"ts\": %s}\n", $1, $2, title[$2], $3 }' st_items.tsv - > st.jsonl
"$BIN/split811" -o st < st.jsonl
"$PY" "$ROOT/tests/split_oracle.py" st.jsonl st 811
chrono st
props st $((126824 - 10369))
echo ok
