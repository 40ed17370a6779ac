# split811: hand-worked tiny case (tie order, 8:1:1 rounding, history window, valid/test
# histories reaching into train, item counts), leave-one-out, bad input, atomic output.
source "$ROOT/tests/lib.sh"

# input order matters for ties: users appear A, B, C, D; A's a4/a5 tie at ts 400;
# targets of A, B, C tie at ts 300; a1 and b2 share the title "Alpha".
cat > in.jsonl <<'J'
{"user": "A", "item": "a1", "title": "Alpha", "ts": 100, "rating": 5}
{"user": "B", "item": "b1", "title": "Beta", "ts": 100, "rating": 4}
{"user": "A", "item": "a2", "title": "Gamma", "ts": 300, "rating": 5}
{"user": "A", "item": "a3", "title": "Delta", "ts": 200, "rating": 3}
{"user": "B", "item": "b2", "title": "Alpha", "ts": 300, "rating": 1}
{"user": "C", "item": "a1", "title": "Alpha", "ts": 50, "rating": 2}
{"user": "C", "item": "a2", "title": "Gamma", "ts": 300, "rating": 5}
{"user": "A", "item": "a4", "title": "Eps", "ts": 400, "rating": 5}
{"user": "A", "item": "a5", "title": "Zeta", "ts": 400, "rating": 5}
{"user": "B", "item": "b3", "title": "Eta", "ts": 500, "rating": 5}
{"user": "D", "item": "d1", "title": "Theta", "ts": 600, "rating": 5}
{"user": "C", "item": "a3", "title": "Delta", "ts": 700}
J
# Worked by hand. Per user by ts (ties: input order): A a1 a3 a2 a4 a5 | B b1 b2 b3 |
# C a1 a2 a3 | D d1 (no sample). 8 samples sorted by target ts, ties by (user first
# appearance, position): A:a3@200, A:a2@300, B:b2@300, C:a2@300, A:a4@400, A:a5@400,
# B:b3@500, C:a3@700. Cuts int(8*0.8)=6, int(8*0.9)=7: train 0-5, valid 6, test 7.
# --max-history 3: sample 5 (A:a5) sees a3 a2 a4, not a1. Valid (B:b3) history holds b2,
# a train target; test (C:a3) history holds a2, a train target.
cat > want_train.jsonl <<'J'
{"id": 0, "user": "A", "history": [{"item": "a1", "title": "Alpha", "ts": 100}], "target": {"item": "a3", "title": "Delta", "ts": 200}, "split": "train"}
{"id": 1, "user": "A", "history": [{"item": "a1", "title": "Alpha", "ts": 100}, {"item": "a3", "title": "Delta", "ts": 200}], "target": {"item": "a2", "title": "Gamma", "ts": 300}, "split": "train"}
{"id": 2, "user": "B", "history": [{"item": "b1", "title": "Beta", "ts": 100}], "target": {"item": "b2", "title": "Alpha", "ts": 300}, "split": "train"}
{"id": 3, "user": "C", "history": [{"item": "a1", "title": "Alpha", "ts": 50}], "target": {"item": "a2", "title": "Gamma", "ts": 300}, "split": "train"}
{"id": 4, "user": "A", "history": [{"item": "a1", "title": "Alpha", "ts": 100}, {"item": "a3", "title": "Delta", "ts": 200}, {"item": "a2", "title": "Gamma", "ts": 300}], "target": {"item": "a4", "title": "Eps", "ts": 400}, "split": "train"}
{"id": 5, "user": "A", "history": [{"item": "a3", "title": "Delta", "ts": 200}, {"item": "a2", "title": "Gamma", "ts": 300}, {"item": "a4", "title": "Eps", "ts": 400}], "target": {"item": "a5", "title": "Zeta", "ts": 400}, "split": "train"}
J
cat > want_valid.jsonl <<'J'
{"id": 6, "user": "B", "history": [{"item": "b1", "title": "Beta", "ts": 100}, {"item": "b2", "title": "Alpha", "ts": 300}], "target": {"item": "b3", "title": "Eta", "ts": 500}, "split": "valid"}
J
cat > want_test.jsonl <<'J'
{"id": 7, "user": "C", "history": [{"item": "a1", "title": "Alpha", "ts": 50}, {"item": "a2", "title": "Gamma", "ts": 300}], "target": {"item": "a3", "title": "Delta", "ts": 700}, "split": "test"}
J
# items in first-appearance order; count = train-target occurrences (a2 twice)
cat > want_items.jsonl <<'J'
{"id": 0, "item": "a1", "title": "Alpha", "count": 0}
{"id": 1, "item": "b1", "title": "Beta", "count": 0}
{"id": 2, "item": "a2", "title": "Gamma", "count": 2}
{"id": 3, "item": "a3", "title": "Delta", "count": 1}
{"id": 4, "item": "b2", "title": "Alpha", "count": 1}
{"id": 5, "item": "a4", "title": "Eps", "count": 1}
{"id": 6, "item": "a5", "title": "Zeta", "count": 1}
{"id": 7, "item": "b3", "title": "Eta", "count": 0}
{"id": 8, "item": "d1", "title": "Theta", "count": 0}
J
"$BIN/split811" -o out --max-history 3 < in.jsonl
for f in train valid test items; do same out/$f.jsonl want_$f.jsonl; done
[ "$(ls out | wc -l)" = 4 ] || die "stray files in out: $(ls out)"
# the Python D3 oracle agrees on the same input
"$PY" "$ROOT/tests/split_oracle.py" in.jsonl out 811 3 >/dev/null

# default window 10: A's 4th sample sees all 4 earlier items
"$BIN/split811" -o out10 < in.jsonl
[ "$(jq -c '[.history[].item]' out10/train.jsonl | sed -n 6p)" = '["a1","a3","a2","a4"]' ] || die "window 10"
# window of exactly 10 on a long user: 12 interactions -> last history = items 2..11
for i in $(seq 1 12); do echo "{\"user\": \"L\", \"item\": \"x$i\", \"title\": \"X$i\", \"ts\": $i}"; done > long.jsonl
"$BIN/split811" -o outl < long.jsonl
[ "$(cat outl/{train,valid,test}.jsonl | jq -c 'select(.id == 10) | [.history[].item]')" = '["x2","x3","x4","x5","x6","x7","x8","x9","x10","x11"]' ] || die "window 10 on a long user"
[ "$(cat outl/{train,valid,test}.jsonl | jq -s 'map(.history | length) | max')" = 10 ] || die "history window is not 10"
# 11 samples: int(8.8)=8 train, int(9.9)=9 -> 1 valid, 2 test
[ "$(wc -l < outl/train.jsonl) $(wc -l < outl/valid.jsonl) $(wc -l < outl/test.jsonl)" = "8 1 2" ] || die "8:1:1 rounding on 11"

# leave-one-out (RecBole): per user last sample test, second-last valid, rest train
"$BIN/split811" -o loo --mode loo --max-history 3 < in.jsonl
[ "$(jq -r '"\(.id):\(.user):\(.target.item)"' loo/train.jsonl | tr '\n' ' ')" = "0:A:a3 1:A:a2 " ] || die "loo train: $(cat loo/train.jsonl)"
[ "$(jq -r '"\(.id):\(.user):\(.target.item)"' loo/valid.jsonl | tr '\n' ' ')" = "2:B:b2 3:C:a2 4:A:a4 " ] || die "loo valid"
[ "$(jq -r '"\(.id):\(.user):\(.target.item)"' loo/test.jsonl | tr '\n' ' ')" = "5:A:a5 6:B:b3 7:C:a3 " ] || die "loo test"
[ "$(jq -c '[.id, .count]' loo/items.jsonl | tr -d '\n')" = "[0,0][1,0][2,1][3,1][4,0][5,0][6,0][7,0][8,0]" ] || die "loo counts"
"$PY" "$ROOT/tests/split_oracle.py" in.jsonl loo loo 3 >/dev/null
# a user with 2 interactions has one sample: test only (RecBole's legal_leave_one_num)
printf '%s\n' '{"user":"u","item":"i","title":"I","ts":1}' '{"user":"u","item":"j","title":"J","ts":2}' | "$BIN/split811" -o loo2 --mode loo
[ "$(wc -l < loo2/test.jsonl) $(wc -l < loo2/valid.jsonl) $(wc -l < loo2/train.jsonl)" = "1 0 0" ] || die "loo with one sample"

# stats on stderr with -v (quiet otherwise when stderr is not a terminal)
"$BIN/split811" -v -o outv < in.jsonl 2> stats.txt
grep -q '^split811: 12 interactions, 4 users, 9 items, density 0.33333$' stats.txt || die "stats: $(cat stats.txt)"
grep -q '^split811: mode 811, history <= 10: 8 samples: train 6, valid 1, test 1$' stats.txt || die "stats: $(cat stats.txt)"
grep -q '^split811: chronology ok' stats.txt || die "no chronology line"
"$BIN/split811" -o outq < in.jsonl 2> quiet.txt
[ ! -s quiet.txt ] || die "not quiet without a TTY: $(cat quiet.txt)"

# determinism: a second run is byte-identical
"$BIN/split811" -o out2 --max-history 3 < in.jsonl
for f in train valid test items; do same out/$f.jsonl out2/$f.jsonl; done

# ---- bad input: exact message, exit code, old outputs untouched, no temp files ----
mkdir keep; echo old > keep/train.jsonl
bad() { # code regex input-file
  expect_fail "$1" "$2" sh -c "\"$BIN/split811\" -o keep < $3"
  [ "$(cat keep/train.jsonl)" = old ] || die "old output overwritten on error"
  [ "$(ls keep)" = train.jsonl ] || die "files left behind: $(ls keep)"
}
{ head -1 in.jsonl; echo '{"user": "A", "item": '; } > b1.jsonl
bad 1 '^split811: <stdin>:2: malformed JSON$' b1.jsonl
echo '{"user": "A", "item": "a1", "title": "Alpha"}' > b2.jsonl
bad 1 '^split811: <stdin>:1: ts: missing field$' b2.jsonl
echo '{"user": "A", "item": "a1", "title": "Alpha", "ts": 1.5}' > b3.jsonl
bad 1 '^split811: <stdin>:1: ts: expected an integer$' b3.jsonl
echo '{"user": 7, "item": "a1", "title": "Alpha", "ts": 1}' > b4.jsonl
bad 1 '^split811: <stdin>:1: user: expected a string$' b4.jsonl
: > b5.jsonl
bad 1 '^split811: <stdin>: no interactions$' b5.jsonl
printf '%s\n' '{"user":"u","item":"i","title":"I","ts":1}' '{"user":"v","item":"i","title":"I","ts":2}' > b6.jsonl
bad 1 '^split811: no samples: every user has a single interaction$' b6.jsonl
{ cat in.jsonl; echo; } > b7.jsonl
bad 1 '^split811: <stdin>:13: empty line$' b7.jsonl
expect_fail 2 'split811: -o DIR is required' "$BIN/split811"
expect_fail 2 "^split811: --mode: expected 811 or loo, got 'x'$" "$BIN/split811" -o d --mode x
expect_fail 2 "^split811: --max-history: expected 1..1000, got '0'$" "$BIN/split811" -o d --max-history 0
"$BIN/split811" --help | grep -q '^usage: split811'
echo ok
