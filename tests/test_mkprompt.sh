# mkprompt: exact prompts for a 2-sample input in every mode (normal, counterfactual none /
# drop, pair), the category templates, the shared prefix, bad input.
source "$ROOT/tests/lib.sh"
cat > s.jsonl <<'J'
{"id": 3, "user": "u1", "history": [{"item": "b1", "title": "Dune", "ts": 1}, {"item": "b2", "title": "The \"Hobbit\"", "ts": 2}], "target": {"item": "b3", "title": "Émile", "ts": 3}, "split": "test"}
{"id": 4, "user": "u2", "history": [{"item": "b3", "title": "Émile", "ts": 5}], "target": {"item": "b1", "title": "Dune", "ts": 9}, "split": "train"}
J
# --pair: the normal prompt and the paper's counterfactual (history -> None), byte-exact
cat > want_pair.jsonl <<'J'
{"id": 3, "prompt": "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nGiven ten books that the user watched recently, please recommend a new book that the user likes to the user.\n\n### Input:\nThe user has watched the following books before: \"Dune\", \"The \"Hobbit\"\"\n\n### Response:\n", "response": "\"Émile\"\n", "cf_prompt": "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nGiven ten books that the user watched recently, please recommend a new book that the user likes to the user.\n\n### Input:\nThe user has watched the following books before: None\n\n### Response:\n"}
{"id": 4, "prompt": "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nGiven ten books that the user watched recently, please recommend a new book that the user likes to the user.\n\n### Input:\nThe user has watched the following books before: \"Émile\"\n\n### Response:\n", "response": "\"Dune\"\n", "cf_prompt": "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nGiven ten books that the user watched recently, please recommend a new book that the user likes to the user.\n\n### Input:\nThe user has watched the following books before: None\n\n### Response:\n"}
J
"$BIN/mkprompt" --category books --pair < s.jsonl > pair.jsonl
same pair.jsonl want_pair.jsonl
# default mode = the "prompt" field of --pair, without cf_prompt
"$BIN/mkprompt" --category books < s.jsonl > normal.jsonl
jq -c 'del(.cf_prompt)' want_pair.jsonl > want_normal.jsonl
jq -c . normal.jsonl > normal_c.jsonl
same normal_c.jsonl want_normal.jsonl
grep -q cf_prompt normal.jsonl && die "cf_prompt without --pair"
# --counterfactual and --counterfactual=none: prompt = the cf prompt
"$BIN/mkprompt" --category books --counterfactual < s.jsonl | jq -c . > cf1.jsonl
"$BIN/mkprompt" --category books --counterfactual=none < s.jsonl | jq -c . > cf2.jsonl
jq -c '{id, prompt: .cf_prompt, response}' want_pair.jsonl > want_cf.jsonl
same cf1.jsonl want_cf.jsonl; same cf2.jsonl want_cf.jsonl
# =drop: the template without the input section (authors' code)
printf '%s' 'Below is an instruction that describes a task. Write a response that appropriately completes the request.

### Instruction:
Given ten books that the user watched recently, please recommend a new book that the user likes to the user.

### Response:
' > want_drop.txt
"$BIN/mkprompt" --category books --counterfactual=drop < s.jsonl > drop.jsonl
jq -j 'select(.id == 4) | .prompt' drop.jsonl > drop4.txt
same drop4.txt want_drop.txt
"$BIN/mkprompt" --category books --pair --counterfactual=drop < s.jsonl > pdrop.jsonl
[ "$(jq -j 'select(.id == 3) | .cf_prompt' pdrop.jsonl)" = "$(cat want_drop.txt)" ] || die "pair drop"
[ "$(jq -j 'select(.id == 3) | .prompt' pdrop.jsonl)" = "$(jq -j 'select(.id == 3) | .prompt' want_pair.jsonl)" ] || die "pair drop normal"
# the normal and the None prompt share everything up to the history
jq -se '.[0] | (.prompt | split("before: ")[0]) == (.cf_prompt | split("before: ")[0])' pair.jsonl > /dev/null || die "shared prefix"

# category words; --template FILE; the default template
[ "$("$BIN/mkprompt" --category cds < s.jsonl | jq -j 'select(.id == 4) | .prompt' | sed -n 4p)" = \
  "Given ten CDs that the user listened to recently, please recommend a new CD that the user likes to the user." ] || die "cds"
[ "$("$BIN/mkprompt" --category games < s.jsonl | jq -j 'select(.id == 4) | .prompt' | sed -n 7p)" = \
  'The user has played the following video games before: "Émile"' ] || die "games"
[ "$("$BIN/mkprompt" < s.jsonl | jq -j 'select(.id == 4) | .prompt' | sed -n 4p)" = \
  "Given ten items that the user interacted with recently, please recommend a new item that the user likes to the user." ] || die "default"
for c in books cds games steam movies beauty toys gift_cards default; do "$BIN/mkprompt" --category $c < s.jsonl > /dev/null; done
printf '# mine\ninstruction: Pick one.\ninput: Seen: {history}.\n' > t.txt
[ "$("$BIN/mkprompt" --template t.txt < s.jsonl | jq -j 'select(.id == 3) | .prompt')" = "$(printf 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nPick one.\n\n### Input:\nSeen: "Dune", "The "Hobbit"".\n\n### Response:\n')" ] || die "template file"
# -o FILE is written atomically; determinism
"$BIN/mkprompt" --category books --pair -o out.jsonl < s.jsonl
same out.jsonl want_pair.jsonl

# --frame chatml renders exactly what the backbones' own chat templates (jinja, from their GGUF
# metadata) give for [system, user] with the assistant turn opened, normal and counterfactual
if [ -f "$ROOT/build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  for bb in "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|You are a helpful AI assistant named SmolLM, trained by Hugging Face" \
            "qwen2.5/part01.bin|You are Qwen, created by Alibaba Cloud. You are a helpful assistant."; do
    g=${bb%%|*}; sys=${bb#*|}
    "$BIN/mkprompt" --category games --frame chatml --system "$sys" --pair < s.jsonl > chat.jsonl
    "$PY" - "$ROOT/build/backbones/$g" "$sys" chat.jsonl s.jsonl <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["ROOT"] + "/tests")
from bpe_oracle import gguf_metadata
import jinja2
meta = gguf_metadata(sys.argv[1])
tpl = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(meta["tokenizer.chat_template"])
inst = "Given ten video games that the user played recently, please recommend a new video game that the user likes to the user."
for rec, smp in zip(map(json.loads, open(sys.argv[3])), map(json.loads, open(sys.argv[4]))):
    hist = ", ".join('"%s"' % h["title"] for h in smp["history"])
    for key, inp in (("prompt", hist), ("cf_prompt", "None")):
        user = inst + "\n\nThe user has played the following video games before: " + inp
        want = tpl.render(messages=[{"role": "system", "content": sys.argv[2]}, {"role": "user", "content": user}],
                          add_generation_prompt=True)
        assert rec[key] == want, (key, rec[key], want)
    assert rec["response"] == '"%s"\n' % smp["target"]["title"]
print("chatml frame matches", sys.argv[1])
PY
  done
fi
expect_fail 2 "^mkprompt: --frame: expected alpaca or chatml, got 'x'$" "$BIN/mkprompt" --frame x

# ---- bad input ----
sed '2s/"target"/"tarjet"/' s.jsonl > b1.jsonl
expect_fail 1 '^mkprompt: <stdin>:2: target: missing field$' sh -c "\"$BIN/mkprompt\" -o bad.jsonl < b1.jsonl"
[ ! -e bad.jsonl ] && [ -z "$(ls | grep '^bad.jsonl' || true)" ] || die "output left behind"
sed '1s/"title": "Dune"/"title": 5/' s.jsonl > b2.jsonl
expect_fail 1 '^mkprompt: <stdin>:1: history\[0\].title: expected a string$' sh -c "\"$BIN/mkprompt\" < b2.jsonl"
echo '{"id": 1, "user": "u", "history": [], "target": {"item": "a", "title": "A", "ts": 1}, "split": "test"}' > b3.jsonl
expect_fail 1 '^mkprompt: <stdin>:1: history: empty \(a prompt needs a behaviour sequence\)$' sh -c "\"$BIN/mkprompt\" < b3.jsonl"
echo 'not json' > b4.jsonl
expect_fail 1 '^mkprompt: <stdin>:1: malformed JSON$' sh -c "\"$BIN/mkprompt\" < b4.jsonl"
expect_fail 2 "^mkprompt: --counterfactual: expected none or drop, got 'x'$" "$BIN/mkprompt" --counterfactual=x
expect_fail 2 '^mkprompt: --category nosuch: no template nosuch.txt in ' "$BIN/mkprompt" --category nosuch
expect_fail 2 "^mkprompt: --category: bad name '../x'" "$BIN/mkprompt" --category ../x
printf 'instruction: a\ninput: no placeholder\n' > t2.txt
expect_fail 1 '^mkprompt: t2.txt: input: must contain \{history\} exactly once$' "$BIN/mkprompt" --template t2.txt
printf 'instruction: a\nfoo: b\n' > t3.txt
expect_fail 1 '^mkprompt: t3.txt:2: foo: unknown key \(expected instruction or input\)$' "$BIN/mkprompt" --template t3.txt
"$BIN/mkprompt" --help | grep -q '^usage: mkprompt'
echo ok
