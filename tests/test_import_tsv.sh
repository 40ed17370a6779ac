#!/bin/bash
# import --format tsv on the processed 5-core sets: counts, HTML entities decoded (oracle:
# Python html.unescape), D3's window + 5-core (+ widening) on Games, missing titles.
source "$ROOT/tests/lib.sh"
# smallest number of rows of any user or item (k-core check without jq -s on big files)
mincount() { jq -r '[.user, .item] | @tsv' "$1" | awk -F'\t' '{u[$1]++; i[$2]++} END {m = 1e18; for (k in u) if (u[k] < m) m = u[k]; for (k in i) if (i[k] < m) m = i[k]; print m}'; }
I="$BIN/import"
counts() { jq -c '[.input_users,.input_items,.input_interactions,.users,.items,.interactions]' "$1"; }

"$I" --format tsv "$DATA_ROOT/movielens-1m" --stats m.json > m.jsonl
[ "$(counts m.json)" = "[6040,3416,999611,6040,3416,999611]" ] || die "ML-1M counts: $(cat m.json)"
[ "$(head -n 1 m.jsonl)" = '{"user": "100", "item": "2857", "title": "Girl, Interrupted", "ts": 978300019, "rating": 0.0}' ] || die "ML-1M first: $(head -n 1 m.jsonl)"

G="$DATA_ROOT/amazon2018-games"
"$I" --format tsv "$G" --stats g.json > g.jsonl
[ "$(counts g.json)" = "[50597,16874,453637,50597,16874,453637]" ] || die "Games counts: $(cat g.json)"
! grep -q '&amp;\|&quot;\|&reg;' g.jsonl || die "entities left in Games titles"
# D3's default window (2017-10-01..2018-11-01) + 5-core empties this 5-core extract ...
"$I" -q --format tsv "$G" --since 2017-10-01 --until 2018-11-01 --core 5 --stats gd.json > gd.jsonl
[ "$(jq -c '[.window_rows,.interactions]' gd.json)" = "[17630,0]" ] || die "Games D3 window: $(cat gd.json)"
# ... so D3 widens a year at a time until >= 10000 items survive: 2012-10-01
"$I" --format tsv "$G" --since 2017-10-01 --until 2018-11-01 --core 5 --widen --stats gw.json > gw.jsonl
[ "$(jq -c '[.since,.widened_years,.users,.items,.interactions]' gw.json)" = '["2012-10-01",5,34844,11445,289025]' ] || die "Games widened: $(cat gw.json)"
[ "$(mincount gw.jsonl)" -ge 5 ] || die "5-core property"
# the oracle on one window, and on Beauty's titles (&hearts;, &#9733;, &quot; ...)
"$I" --format tsv "$G" --since 2015-10-01 --until 2018-11-01 --core 5 > g15.jsonl
"$PY" "$ROOT/tests/import_oracle.py" tsv "$G" 2015-10-01 2018-11-01 5 > o15.jsonl
same g15.jsonl o15.jsonl
"$I" --format tsv "$DATA_ROOT/amazon2014-beauty" > b.jsonl
"$PY" "$ROOT/tests/import_oracle.py" tsv "$DATA_ROOT/amazon2014-beauty" -inf +inf 0 > ob.jsonl
same b.jsonl ob.jsonl
for d in amazon2014-toys:19124,11758,165247 steam:10369,3593,126824; do
  "$I" -q --format tsv "$DATA_ROOT/${d%%:*}" --stats s.json > /dev/null
  [ "$(jq -c '[.input_users,.input_items,.input_interactions]' s.json)" = "[${d#*:}]" ] || die "$d: $(cat s.json)"
done
# items without a (clean) title: their interactions are dropped and counted
printf 'ItemID\tTitle\n1\tOne &amp; Only\n2\t  \n' | gzip > items.tsv.gz
printf 'UserID\tItemID\tTimestamp\nu\t1\t10\nu\t2\t11\nu\t3\t12\n' | gzip > interactions.tsv.gz
"$I" --format tsv . --stats t.json > t.jsonl 2> err.txt
[ "$(cat t.jsonl)" = '{"user": "u", "item": "1", "title": "One & Only", "ts": 10, "rating": 0.0}' ] || die "tiny tsv: $(cat t.jsonl)"
grep -q '1 catalogue titles empty after cleaning; 2 interactions dropped for items without a title' err.txt || die "$(cat err.txt)"
printf 'UserID\tItemID\tTimestamp\nu\t1\tnoon\n' | gzip > interactions.tsv.gz
expect_fail 1 '^import: \./interactions\.tsv\.gz:2: Timestamp: expected an integer, got .noon.$' "$I" --format tsv . -o out.jsonl
[ ! -e out.jsonl ] || die "output left behind"
printf 'User\tItem\n' | gzip > interactions.tsv.gz
expect_fail 1 'interactions\.tsv\.gz:1: header: want UserID, ItemID and Timestamp' "$I" --format tsv .
echo ok
