#!/bin/bash
# import --format movielens on the real MovieLens-100k: counts before filtering, latin-1 ->
# UTF-8 titles, year kept / stripped, input order, k-core, bad lines.
source "$ROOT/tests/lib.sh"
# smallest number of rows of any user or item (k-core check without jq -s on big files)
mincount() { jq -r '[.user, .item] | @tsv' "$1" | awk -F'\t' '{u[$1]++; i[$2]++} END {m = 1e18; for (k in u) if (u[k] < m) m = u[k]; for (k in i) if (i[k] < m) m = i[k]; print m}'; }
I="$BIN/import"
ML="$DATA_ROOT/movielens-100k"

"$I" --format movielens "$ML" --stats st.json > ml.jsonl
[ "$(jq -c '[.input_users,.input_items,.input_interactions,.users,.items,.interactions]' st.json)" = "[943,1682,100000,943,1682,100000]" ] \
  || die "ML-100k counts: $(cat st.json)"
[ "$(wc -l < ml.jsonl)" = 100000 ] || die "want 100000 records"
# input order: the first u.data line (196 242 3 881250949) comes first
[ "$(head -n 1 ml.jsonl)" = '{"user": "196", "item": "242", "title": "Kolya (1996)", "ts": 881250949, "rating": 3.0}' ] || die "first record: $(head -n 1 ml.jsonl)"
iconv -f UTF-8 -t UTF-8 ml.jsonl > /dev/null || die "output is not UTF-8"
[ "$(jq -r 'select(.item == "543") | .title' ml.jsonl | head -n 1)" = "Misérables, Les (1995)" ] || die "latin-1 title not converted"
"$I" --format movielens "$ML" > ml2.jsonl
same ml.jsonl ml2.jsonl
"$I" --format movielens --strip-year "$ML" > mly.jsonl
[ "$(jq -r 'select(.item == "543") | .title' mly.jsonl | head -n 1)" = "Misérables, Les" ] || die "--strip-year"
[ "$(jq -r 'select(.item == "267") | .title' mly.jsonl | head -n 1)" = "unknown" ] || die "yearless title changed"
# 20-core: every user and item keeps >= 20
"$I" --format movielens --core 20 "$ML" --stats st20.json > ml20.jsonl
[ "$(mincount ml20.jsonl)" -ge 20 ] || die "20-core property"
[ "$(jq .rounds st20.json)" -ge 2 ] || die "expected several k-core rounds: $(cat st20.json)"
# a bad u.data line names file, line and field; missing directory is an I/O error
mkdir bad && cp "$ML/u.item" bad/ && head -n 3 "$ML/u.data" > bad/u.data && printf '1\t2\tx\t3\n' >> bad/u.data
expect_fail 1 '^import: bad/u\.data:4: rating: expected an integer, got .x.$' "$I" --format movielens bad -o out.jsonl
[ ! -e out.jsonl ] || die "output left behind"
[ "$("$I" --format movielens bad --skip-bad 2> err.txt | wc -l)" = 3 ] || die "--skip-bad"
grep -q 'skipped 1 malformed lines' err.txt || die "skip count: $(cat err.txt)"
expect_fail 3 'nowhere/u\.item: cannot open' "$I" --format movielens nowhere
expect_fail 2 "unknown format 'csv'" "$I" --format csv "$ML"
echo ok
