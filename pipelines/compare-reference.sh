#!/bin/sh
# compare-reference.sh NEW.md REFERENCE.md: the Table 3 rows (the first "| Method" table) of a
# user's run against the committed reference report. Exit 0 either way: a difference is
# expected on another CPU family (README, "Reproducibility"), so it is reported, not failed.
new=$1 ref=$2
rows() { awk '/^\| Method/{t=1} t&&/^\|/{print; next} t{exit}' "$1"; }
if [ ! -f "$ref" ]; then echo "no committed reference $ref to compare with"; exit 0; fi
if [ "$(rows "$new")" = "$(rows "$ref")" ]; then
  echo "every row equals the committed reference ($ref)"
else
  echo "rows that differ from the committed reference ($ref), reference first:"
  rows "$ref" > "$new.ref.rows"; rows "$new" > "$new.rows"
  diff "$new.ref.rows" "$new.rows" | grep '^[<>]' || true
  rm -f "$new.ref.rows" "$new.rows"
  echo "(LLM rows are bitwise reproducible only on the same CPU family, thread count and seed: README, Reproducibility)"
fi
