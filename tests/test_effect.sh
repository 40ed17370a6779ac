#!/bin/bash
# cft-step --eval --effect (CFT's premises per position and footnote 3) on SmolLM2-135M against
# an HF oracle (tests/effect_oracle.py): the logits come from transformers, the tokens and the
# title spans from HF tokenizers, every mean is recomputed in float64. Micro-batch 4 over 7
# records exercises a batch boundary and a short last batch. Also: what --effect refuses.
source "$ROOT/tests/lib.sh"
M="$ROOT/build/models/smollm2"
[ -f "$M/config.json" ] || die "backbone missing: run 'make backbone-smollm2'"
D=$DATA_ROOT/amazon2018-games
python3 - "$ROOT" <<'PY' > s.jsonl
import json
# seven samples with histories of different lengths, one title with non-ASCII text
hist = [["Halo 5: Guardians - Xbox One", "Mario Kart 8 Deluxe"], ["Pokémon Sun"], ["Tetris Effect"],
        ["The Legend of Zelda: Breath of the Wild", "Splatoon 2", "ARMS"], ["FIFA 17 - PlayStation 4"],
        ["Minecraft"], ["Call of Duty: Black Ops III", "Destiny"]]
tgt = ["Super Mario Odyssey", "Pokémon Ultra Moon", "Tetris", "Xenoblade Chronicles 2",
       "Madden NFL 18 - PlayStation 4", "Terraria", "Overwatch - Origins Edition!"]
for i, (h, t) in enumerate(zip(hist, tgt)):
    print(json.dumps({"id": i, "user": str(i), "history": [{"item": str(100 + j), "title": x, "ts": 1500000000 + j} for j, x in enumerate(h)],
                      "target": {"item": "9", "title": t, "ts": 1600000000}, "split": "test"}))
PY
"$BIN/mkprompt" --category games --pair -q < s.jsonl > pairs.jsonl
"$BIN/cft-step" --eval pairs.jsonl --init "$M" --effect eff.json --beta 0.375 --micro-batch 4 --threads 2 -q
"$PY" "$ROOT/tests/effect_oracle.py" "$M" pairs.jsonl eff.json 0.375
# refusals: prompts without cf_prompt, --effect outside --eval, with --per-sample
"$BIN/mkprompt" --category games -q < s.jsonl > plain.jsonl
expect_fail 1 'needs cf_prompt in every record' "$BIN/cft-step" --eval plain.jsonl --init "$M" --effect e2.json -q
[ ! -e e2.json ] || die "--effect left output after an error"
expect_fail 2 'goes with --eval' "$BIN/cft-step" --train pairs.jsonl --init "$M" --out X --effect e2.json -q
expect_fail 2 'without --per-sample' "$BIN/cft-step" --eval pairs.jsonl --init "$M" --effect e2.json --per-sample p.jsonl -q
echo "effect: ok"
