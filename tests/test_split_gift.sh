# amz-filter + split811 on the real Gift_Cards reviews + metadata (window wide enough to keep
# data): every user and item has >= 5 interactions, 8:1:1 within one sample, chronology,
# agreement with the Python D3 oracle, byte-identical reruns.
source "$ROOT/tests/lib.sh"
R="$DATA_ROOT/amazon2018-raw"
"$BIN/amz-filter" -q --no-window --meta "$R/meta_Gift_Cards.json.gz" "$R/Gift_Cards_5.json.gz" > gift.jsonl
[ "$(jq -r .user gift.jsonl | sort | uniq -c | awk '$1 < 5' | wc -l)" = 0 ] || die "user with < 5 interactions"
[ "$(jq -r .item gift.jsonl | sort | uniq -c | awk '$1 < 5' | wc -l)" = 0 ] || die "item with < 5 interactions"
"$BIN/split811" -o gs < gift.jsonl
"$PY" "$ROOT/tests/split_oracle.py" gift.jsonl gs 811
n=$(( $(wc -l < gift.jsonl) - $(jq -r .user gift.jsonl | sort -u | wc -l) ))
tr=$(wc -l < gs/train.jsonl); va=$(wc -l < gs/valid.jsonl); te=$(wc -l < gs/test.jsonl)
[ $((tr + va + te)) = "$n" ] || die "sample count $tr+$va+$te != $n"
awk -v n="$n" -v a="$tr" -v b="$va" -v c="$te" 'BEGIN { exit !((a - 0.8*n)^2 <= 1 && (b - 0.1*n)^2 <= 1 && (c - 0.1*n)^2 <= 1) }' || die "proportions $tr/$va/$te of $n"
a=$(jq -s 'map(.target.ts) | max' gs/train.jsonl); b=$(jq -s 'map(.target.ts) | min' gs/valid.jsonl)
c=$(jq -s 'map(.target.ts) | max' gs/valid.jsonl); d=$(jq -s 'map(.target.ts) | min' gs/test.jsonl)
[ "$a" -le "$b" ] && [ "$c" -le "$d" ] || die "chronology: train max $a, valid $b..$c, test min $d"
"$BIN/amz-filter" -q --no-window --meta "$R/meta_Gift_Cards.json.gz" "$R/Gift_Cards_5.json.gz" | "$BIN/split811" -o gs2
for f in train valid test items; do same gs/$f.jsonl gs2/$f.jsonl; done
echo "gift: $n samples, train $tr valid $va test $te"
