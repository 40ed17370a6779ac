#!/bin/bash
# import --format d3csv: D3's processed CDs split CSVs -> sample records (oracle: Python csv
# + ast.literal_eval), split from the directory, id base, malformed rows.
source "$ROOT/tests/lib.sh"
I="$BIN/import"
V="$DATA_ROOT/d3-cds/valid/CDs_and_Vinyl_5_2015-10-2018-11.csv"
TE="$DATA_ROOT/d3-cds/test/CDs_and_Vinyl_5_2015-10-2018-11.csv"

"$I" --format d3csv "$V" --stats v.json > v.jsonl
[ "$(jq -c '[.samples,.split,.max_history]' v.json)" = '[6156,"valid",10]' ] || die "valid: $(cat v.json)"
jq -s -e 'length == 6156 and (map(.history | length) | max <= 10 and min >= 1) and (map(.id) == [range(0; 6156)])
  and all(.[]; .split == "valid" and (.history | all(.ts <= 9999999999)) and (.target.title | length > 0))' v.jsonl > /dev/null \
  || die "valid samples malformed"
"$PY" "$ROOT/tests/import_oracle.py" d3csv "$V" valid 0 > ov.jsonl
same v.jsonl ov.jsonl
# titles with quotes inside Python literals: ["Don't Explain", ...]
jq -r 'select(.id == 3) | .history[0].title' v.jsonl | grep -qx "Don't Explain" || die "python literal quoting"
"$I" --format d3csv "$TE" --id-base 6156 > t.jsonl
[ "$(wc -l < t.jsonl)" = 6157 ] && [ "$(head -c 12 t.jsonl)" = '{"id": 6156,' ] && [ "$(jq -r .split t.jsonl | sort -u)" = test ] || die "test split"
"$PY" "$ROOT/tests/import_oracle.py" d3csv "$TE" test 6156 > ot.jsonl
same t.jsonl ot.jsonl
# split from --split; a path without train/valid/test needs it
cp "$V" cds.csv
expect_fail 2 'cannot tell the split from the path; give --split' "$I" --format d3csv cds.csv
"$I" --format d3csv cds.csv --split valid | cmp -s - v.jsonl || die "--split valid differs"
expect_fail 2 'd3csv input is already split' "$I" --format d3csv --core 5 cds.csv --split valid
# malformed rows: a broken list, a length mismatch, an unterminated quote
head -n 2 "$V" > bad.csv
echo 'U1,"[\x27B1\x27, \x27B2\x27","B3","[1, 2]",3,"[\x27T1\x27, \x27T2\x27]",T3,"[5.0, 5.0]",5.0,"[1, 2]",3' | sed "s/\\\\x27/'/g" >> bad.csv
expect_fail 1 '^import: bad\.csv:3: item_asins: expected .,. or .\]. in list$' "$I" --format d3csv bad.csv --split test -o out.jsonl
[ ! -e out.jsonl ] || die "output left behind"
head -n 2 "$V" > bad2.csv
echo "U1,\"['B1']\",B3,[1],3,\"['T1', 'T2']\",T3,[5.0],5.0,[1],3" >> bad2.csv
expect_fail 1 'bad2\.csv:3: history lists differ in length \(1 asins, 2 titles, 1 timestamps\)' "$I" --format d3csv bad2.csv --split test
head -n 2 "$V" > bad3.csv; echo 'U1,"[oops' >> bad3.csv
expect_fail 1 'bad3\.csv:3: unterminated quoted field' "$I" --format d3csv bad3.csv --split test
[ "$("$I" --format d3csv bad.csv --split test --skip-bad 2>/dev/null | wc -l)" = 1 ] || die "--skip-bad"
echo ok
