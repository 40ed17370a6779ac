#!/bin/bash
# amz-filter on hand-worked tiny inputs: k-core rounds, title cleaning, metadata duplicates.
source "$ROOT/tests/lib.sh"
A="$BIN/amz-filter"

# --- k-core with k=2 needing 3 rounds: u4 (1 row) goes, then i3 drops to 1, then u3 ---
cat > meta.json <<'J'
{"asin": "i1", "title": "One"}
{"asin": "i2", "title": "Two"}
{"asin": "i3", "title": "Three"}
J
r() { printf '{"reviewerID": "%s", "asin": "%s", "unixReviewTime": %s, "overall": %s}\n' "$@"; }
{ r u1 i1 100 5.0; r u3 i2 101 4.0; r u2 i1 102 3.0; r u4 i3 103 1.0; r u1 i2 104 2.5
  r u3 i3 105 5.0; r u2 i2 106 4.0; } > rev.json
"$A" --meta meta.json --no-window --core 2 --stats st.json < rev.json > out.jsonl
cat > want.jsonl <<'J'
{"user": "u1", "item": "i1", "title": "One", "ts": 100, "rating": 5.0}
{"user": "u2", "item": "i1", "title": "One", "ts": 102, "rating": 3.0}
{"user": "u1", "item": "i2", "title": "Two", "ts": 104, "rating": 2.5}
{"user": "u2", "item": "i2", "title": "Two", "ts": 106, "rating": 4.0}
J
same out.jsonl want.jsonl
[ "$(jq -c '[.rounds,.users,.items,.interactions]' st.json)" = "[3,2,2,4]" ] || die "k-core stats: $(cat st.json)"
# core 3 empties it; core 0 keeps all 7; window: since inclusive, until exclusive
expect_fail 1 'nothing survives the filters: the 3-core removed all 7 interactions' "$A" -q --meta meta.json --no-window --core 3 -o o3.jsonl < rev.json
[ ! -e o3.jsonl ] || die "core 3 leaves nothing, and nothing is written"
[ "$("$A" --meta meta.json --no-window --core 0 < rev.json | wc -l)" = 7 ] || die "core 0 keeps all"
[ "$("$A" --meta meta.json --since 101 --until 105 --core 0 < rev.json | jq -s -c 'map(.ts)')" = "[101,102,103,104]" ] \
  || die "window [101,105) wrong"
# dates are UTC midnight: 2017-10-01 = 1506816000
r a i1 1506815999 1.0 > edge.json; r a i1 1506816000 1.0 >> edge.json
[ "$("$A" --meta meta.json --since 2017-10-01 --until 2018-11-01 --core 0 < edge.json | jq .ts)" = 1506816000 ] || die "since not UTC-inclusive"

# JSON escapes in ids and titles are decoded (\u00e9, \", surrogate pairs), first key wins
printf '%s\n' '{"asin": "i\u0031", "title": "Caf\u00e9 \"Q\" \ud83c\udfb5", "asin": "ignored"}' > meta_esc.json
printf '%s\n' '{"reviewerID": "u\u00e9", "asin": "i1", "unixReviewTime": 5, "overall": 1}' > rev_esc.json
[ "$("$A" --meta meta_esc.json --no-window --core 0 < rev_esc.json)" = '{"user": "ué", "item": "i1", "title": "Café \"Q\" 🎵", "ts": 5, "rating": 1.0}' ] \
  || die "escapes: $("$A" --meta meta_esc.json --no-window --core 0 < rev_esc.json)"

# --- title cleaning and metadata duplicates ---
cat > meta2.json <<'J'
{"asin": "I1", "title": "&quot;Alpha &amp; Omega&quot;"}
{"asin": "I2", "title": "  \"Beta\"  "}
{"asin": "I3", "title": "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21"}
{"asin": "I4", "title": "<span id=\"x\">Gamma</span>"}
{"asin": "I5", "title": "Delta <b>bold</b>"}
{"asin": "I6", "title": "Caf&eacute; &#39;Noir&#39; &#x263A; &lt;3 &#151; &bogus; R&B"}
{"asin": "I6", "title": "Other title"}
{"asin": "I7", "brand": "no title here"}
{"asin": "I8", "title": " X "}
{"asin": "I9", "title": "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20"}
{"asin": "I10", "title": "&lt;b&gt;Bold&lt;/b&gt;"}
{"asin": "I11", "title": "'Til Death"}
{"asin": "I7", "title": "Late but clean"}
{"asin": "I2", "title": "Beta again"}
J
: > rev2.json
for i in 1 2 3 4 5 6 7 8 9 10 11; do r U I$i $((1000+i)) 5.0 >> rev2.json; done
"$A" -v --meta meta2.json --no-window --core 0 --stats st2.json < rev2.json > out2.jsonl 2> err2.txt
jq -r '[.item, .title] | @tsv' out2.jsonl > got.tsv
printf '%s\t%s\n' I1 'Alpha & Omega' I2 Beta I6 "Café 'Noir' ☺ <3 — &bogus; R&B" I7 'Late but clean' \
  I9 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20' I11 "'Til Death" > want.tsv
diff want.tsv got.tsv || die "title cleaning differs"
[ "$(jq -c '[.meta_rows,.meta_duplicates,.titles_kept,.titles_missing,.titles_empty,.titles_long,.titles_html]' st2.json)" \
  = "[14,3,6,1,1,1,3]" ] || die "title stats: $(cat st2.json)"
grep -q '3 duplicate metadata rows' err2.txt || die "duplicates not reported: $(cat err2.txt)"
# --max-words 0 keeps the 21-word title
"$A" -q --meta meta2.json --no-window --core 0 --max-words 0 < rev2.json | grep -q '"I3"' || die "--max-words 0"
echo ok
