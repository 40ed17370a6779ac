#!/bin/bash
# amz-filter on bad input: exact messages, exit codes, no half-written -o file, --skip-bad.
source "$ROOT/tests/lib.sh"
A="$BIN/amz-filter"
RAW="$DATA_ROOT/amazon2018-raw"
M="$RAW/meta_Gift_Cards.json.gz"
zcat "$RAW/Gift_Cards_5.json.gz" | head -n 5 > r5.json
no_out() { ! ls out.jsonl* >/dev/null 2>&1 || die "output file left behind: $(ls out.jsonl*)"; }

# malformed line 3 (trailing comma): file, line, what
{ head -n 2 r5.json; echo '{"reviewerID": "A1", "asin": "B1", "unixReviewTime": 1529193600, "overall": 5.0,}'; tail -n 2 r5.json; } > bad.json
expect_fail 1 '^amz-filter: bad\.json:3: malformed JSON: expected a key string at byte 81$' "$A" --meta "$M" bad.json -o out.jsonl
no_out
# the same on stdin names <stdin>
expect_fail 1 '^amz-filter: <stdin>:3: malformed JSON' sh -c "\"$A\" --meta \"$M\" < bad.json"
# more malformed shapes: unterminated string, not an object, bad escape, trailing junk
for l in '{"reviewerID": "A1|unterminated string' '{"reviewerID": "A1, "asin": 1}|expected .,. or .}.' '[1, 2]|not a JSON object' '{"reviewerID": "A\q"}|bad escape' \
         '{"a": 1} x|trailing characters' '{"a": 01}|expected' '{"a": tru}|unexpected character' '{"a": [1, 2}|expected'; do
  line=${l%%|*}; re=${l#*|}; re=${re%%|*}
  printf '%s\n' "$line" > b1.json
  expect_fail 1 "b1\.json:1: malformed JSON: .*$re" "$A" --meta "$M" b1.json
done
# missing field / wrong type / non-integer time
echo '{"reviewerID": "A1", "asin": "B1", "overall": 5.0}' > mf.json
expect_fail 1 '^amz-filter: mf\.json:1: unixReviewTime: missing field$' "$A" --meta "$M" mf.json -o out.jsonl
no_out
echo '{"reviewerID": "A1", "asin": 7, "unixReviewTime": 1, "overall": 5.0}' > wt.json
expect_fail 1 '^amz-filter: wt\.json:1: asin: expected a string, got a number$' "$A" --meta "$M" wt.json
echo '{"reviewerID": "A1", "asin": "B1", "unixReviewTime": 1.5, "overall": 5.0}' > nt.json
expect_fail 1 'nt\.json:1: unixReviewTime: expected an integer, got 1\.5$' "$A" --meta "$M" nt.json

# truncated gzip (reviews as a path, on stdin, and as metadata): I/O error, exit 3
head -c 100000 "$RAW/Gift_Cards_5.json.gz" > trunc.json.gz
expect_fail 3 '^amz-filter: trunc\.json\.gz: corrupt or truncated input near line [0-9]+: .*unexpected end of file' "$A" --meta "$M" trunc.json.gz -o out.jsonl
no_out
expect_fail 3 'corrupt or truncated input' sh -c "\"$A\" --meta \"$M\" < trunc.json.gz"
head -c 100000 "$M" > tmeta.json.gz
expect_fail 3 '^amz-filter: tmeta\.json\.gz: corrupt or truncated input' "$A" --meta tmeta.json.gz r5.json -o out.jsonl
no_out

# missing meta: exit 3 before reading anything; no --meta at all: usage, exit 2
expect_fail 3 '^amz-filter: nope\.json\.gz: cannot open: No such file or directory$' "$A" --meta nope.json.gz r5.json -o out.jsonl
no_out
expect_fail 2 '--meta FILE is required' "$A" r5.json
expect_fail 2 "unknown or incomplete option '--bogus'" "$A" --meta "$M" --bogus
expect_fail 2 "--since: bad date 'yesterday'" "$A" --meta "$M" --since yesterday

# empty input (no lines at all) is an error; input whose rows are all filtered out is not
: > empty.json
expect_fail 1 '^amz-filter: empty\.json: empty input \(no reviews\)$' "$A" --meta "$M" empty.json -o out.jsonl
no_out
expect_fail 1 '<stdin>: empty input' sh -c "\"$A\" --meta \"$M\" < /dev/null"
# nothing surviving is an error with its cause, under -q too, and writes nothing
expect_fail 1 'nothing survives the filters: all [0-9]+ reviews fall outside the window 2030-01-01..2031-01-01' \
  "$A" -q --meta "$M" --since 2030-01-01 --until 2031-01-01 r5.json -o out.jsonl
no_out

# invalid UTF-8 in a field amz-filter keeps: an error naming file, line and field, or counted
# under --skip-bad (an escaped lone surrogate decodes to U+FFFD, so raw bytes are the way in)
{ head -n 2 r5.json; printf '{"reviewerID": "A\xe91", "asin": "B1", "unixReviewTime": 1529193600, "overall": 5.0}\n'; } > latin1.json
expect_fail 1 '^amz-filter: latin1\.json:3: reviewerID: invalid UTF-8 at byte 2$' "$A" --meta "$M" latin1.json -o out.jsonl
no_out
"$A" -q --meta "$M" --skip-bad --no-window --core 0 --stats su.json latin1.json > /dev/null
[ "$(jq .skipped_bad su.json)" = 1 ] || die "latin-1 review not counted: $(cat su.json)"
printf '{"asin": "B1", "title": "Caf\xe9 card"}\n' > meta_bad.json
expect_fail 1 '^amz-filter: meta_bad\.json:1: title: invalid UTF-8 at byte 4$' "$A" --meta meta_bad.json r5.json -o out.jsonl
no_out
# titles for other items only: the reason says so
printf '{"asin": "NOT-REVIEWED", "title": "A card"}\n' > meta_other.json
expect_fail 1 'none of the 5 reviews in the window has an item with a clean title in meta_other\.json: its 1 clean titles belong to other items' \
  "$A" --meta meta_other.json --no-window r5.json -o out.jsonl
no_out

# --skip-bad: counts and names the first skip, keeps the rest
{ cat bad.json; echo 'garbage'; cat mf.json; } > mixed.json
"$A" --meta "$M" --skip-bad --no-window --core 0 --stats st.json mixed.json > ok.jsonl 2> err.txt
grep -q '^amz-filter: skipped 3 malformed review lines of 7 (first: mixed\.json:3: malformed JSON' err.txt || die "skip message: $(cat err.txt)"
[ "$(jq .skipped_bad st.json)" = 3 ] || die "skipped_bad: $(cat st.json)"
[ "$(wc -l < ok.jsonl)" = 4 ] || die "skip-bad kept $(wc -l < ok.jsonl) rows, want 4"
echo ok
