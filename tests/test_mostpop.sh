# mostpop: the most popular train items (ties: lower id), same list for every sample;
# --exclude-history drops the sample's own history items.
source "$ROOT/tests/lib.sh"
cat > items.jsonl <<'J'
{"id": 0, "item": "a", "title": "A", "count": 1}
{"id": 1, "item": "b", "title": "B", "count": 7}
{"id": 2, "item": "c", "title": "C", "count": 3}
{"id": 3, "item": "d", "title": "D", "count": 7}
{"id": 4, "item": "e", "title": "E", "count": 0}
J
cat > s.jsonl <<'J'
{"id": 5, "user": "u", "history": [{"item": "d", "title": "D", "ts": 1}, {"item": "a", "title": "A", "ts": 2}], "target": {"item": "b", "title": "B", "ts": 3}, "split": "test"}
{"id": 9, "user": "v", "history": [{"item": "e", "title": "E", "ts": 1}], "target": {"item": "c", "title": "C", "ts": 3}, "split": "test"}
J
"$BIN/mostpop" --items items.jsonl -n 3 < s.jsonl > r.jsonl
printf '%s\n' '{"id": 5, "items": [1, 3, 2]}' '{"id": 9, "items": [1, 3, 2]}' > want.jsonl
same r.jsonl want.jsonl
"$BIN/mostpop" --items items.jsonl -n 3 --exclude-history < s.jsonl > rx.jsonl
printf '%s\n' '{"id": 5, "items": [1, 2, 4]}' '{"id": 9, "items": [1, 3, 2]}' > wantx.jsonl
same rx.jsonl wantx.jsonl
"$BIN/mostpop" --items items.jsonl -n 99 < s.jsonl | head -1 > r99.jsonl
echo '{"id": 5, "items": [1, 3, 2, 0, 4]}' > want99.jsonl
same r99.jsonl want99.jsonl
# the metrics tool reads it: sample 5 target b at rank 0, sample 9 target c at rank 2
[ "$("$BIN/metrics" --truth s.jsonl --items items.jsonl -k 1,3 < r.jsonl)" = '{"n": 2, "HR@1": 0.5, "NDCG@1": 0.5, "HR@3": 1, "NDCG@3": 0.75}' ] || die "metrics of mostpop"
sed '2s/"item": "e"/"item": "zz"/' s.jsonl > bad.jsonl
expect_fail 1 "^mostpop: <stdin>:2: history\[0\].item: 'zz' is not in the catalogue items.jsonl$" sh -c "\"$BIN/mostpop\" --items items.jsonl --exclude-history < bad.jsonl"
expect_fail 2 'mostpop: --items is required' "$BIN/mostpop"
expect_fail 2 "^mostpop: -n: expected a positive integer, got '0'$" "$BIN/mostpop" --items items.jsonl -n 0
"$BIN/mostpop" --help | grep -q '^usage: mostpop'
echo ok
