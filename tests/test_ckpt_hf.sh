#!/bin/bash
# HF compatibility: Hugging Face transformers' Qwen2ForCausalLM.from_pretrained loads our
# checkpoint directories as they are (tied and untied head, GQA, q/k/v biases), and the CFT
# losses it implies (L_n, L_c with token weights, per record and per file, right-padded batch)
# match `cft-step --eval` to 2e-5 relative, and so do the logits at every response position
# of both passes (1e-5 relative to the largest logit) (tests/hf_check.py).
source "$ROOT/tests/lib.sh"
"$PY" -c "import transformers, torch; from transformers import Qwen2ForCausalLM" || die "transformers not importable by $PY"
games_samples 20 500
head -10 d/valid.prompts.jsonl > v.jsonl
python3 -c "
import json
for l in open('v.jsonl'):
    r = json.loads(l)
    for k in ('prompt', 'response', 'cf_prompt'): print(json.dumps(r[k]))
" | "$BIN/tokenize" --model tok.model --json > v.ids
for tie in true false; do
  cat > cfg.json <<J
{"hidden_size": 32, "intermediate_size": 72, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 500.0, "max_position_embeddings": 512,
 "tie_word_embeddings": $tie}
J
  # a few steps at a high lr so biases, norms and head are far from their init
  "$BIN/cft-step" --train d/train.prompts.jsonl --config cfg.json --tokenizer tok.model --out M$tie \
    --max-samples 64 --batch 16 --micro-batch 16 --epochs 1 --lr 1e-2 --warmup 0 --dropout 0 --threads 2 -q
  "$BIN/cft-step" --eval v.jsonl --init M$tie --beta 0.4 --per-sample per.jsonl --dump-logits z.f32 --threads 2 > eval.json
  "$PY" "$ROOT/tests/hf_check.py" M$tie v.jsonl v.ids eval.json per.jsonl 0.4 z.f32
done
