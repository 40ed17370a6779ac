# metrics against the numpy oracle on MovieLens-100k (real titles: some ids share a title),
# with random ranked lists and MostPop as the comparison; MostPop sanity values.
source "$ROOT/tests/lib.sh"
iconv -f latin1 -t utf-8 "$DATA_ROOT/movielens-100k/u.item" > u.item
awk -F'|' 'NR==FNR { t = $2; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); title[$1] = t; next }
  { split($0, f, "\t"); printf "{\"user\": \"%s\", \"item\": \"%s\", \"title\": \"%s\", \"ts\": %s}\n", f[1], f[2], title[f[2]], f[4] }' \
  u.item "$DATA_ROOT/movielens-100k/u.data" | "$BIN/split811" -o ml
"$PY" "$ROOT/tests/metrics_oracle.py" gen ml/test.jsonl ml/items.jsonl 1 rand.jsonl
"$BIN/mostpop" --items ml/items.jsonl -n 20 < ml/test.jsonl > mp.jsonl
"$BIN/metrics" --truth ml/test.jsonl --items ml/items.jsonl -k 1,5,10,20 --compare mp.jsonl \
  --popularity 5 --topk 20 --seed 11 < rand.jsonl > m.json
"$PY" "$ROOT/tests/metrics_oracle.py" check ml/test.jsonl ml/items.jsonl rand.jsonl mp.jsonl m.json
# MostPop recommends only the most popular group
"$BIN/metrics" --truth ml/test.jsonl --items ml/items.jsonl --ranked mp.jsonl --popularity 5 --topk 20 > mp.json
jq -e '.popularity.share == [0, 0, 0, 0, 1] and ."HR@10" > 0.02 and ."HR@10" < 0.1' mp.json > /dev/null || die "mostpop: $(cat mp.json)"
echo ok
