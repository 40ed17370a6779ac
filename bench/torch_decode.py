#!/usr/bin/env python3
"""PyTorch KV-cache beam search for bench/infer.sh: transformers' own generate()
(AutoModelForCausalLM: Qwen2 or Llama, use_cache=True, num_beams/num_return_sequences/length_penalty as decode)
on the same checkpoint and prompt ids, batches of prompts, torch threads = --threads;
--device cuda [--bf16] for bench/gpu.sh.
Prints: bench torch-decode prompts_per_s=... """
import argparse, json, time
import torch
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("dir"); ap.add_argument("prompts")
ap.add_argument("--beams", type=int, default=5); ap.add_argument("--ret", type=int, default=5)
ap.add_argument("--max-new", type=int, default=64); ap.add_argument("--lp", type=float, default=1.0)
ap.add_argument("--batch", type=int, default=16); ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--n", type=int, default=0, help="prompts to use (0: all)")
ap.add_argument("--device", default="cpu"); ap.add_argument("--bf16", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.set_grad_enabled(False)
dt = torch.bfloat16 if a.bf16 else torch.float32
m = AutoModelForCausalLM.from_pretrained(a.dir, torch_dtype=dt).to(a.device).eval()
P = [json.loads(l)["prompt_ids"] for l in open(a.prompts)]
if a.n:
    P = P[:a.n]
eos = m.config.eos_token_id
pad = m.config.pad_token_id if m.config.pad_token_id is not None else eos
t0 = time.time()
steps = 0
for b0 in range(0, len(P), a.batch):
    B = P[b0:b0 + a.batch]
    T = max(len(p) for p in B)
    ids = torch.tensor([[pad] * (T - len(p)) + p for p in B], device=a.device)          # left padding
    att = torch.tensor([[0] * (T - len(p)) + [1] * len(p) for p in B], device=a.device)
    o = m.generate(ids, attention_mask=att, num_beams=a.beams, num_return_sequences=a.ret,
                   length_penalty=a.lp, early_stopping=False, max_new_tokens=a.max_new,
                   do_sample=False, eos_token_id=eos, pad_token_id=pad, use_cache=True)
    steps += o.shape[1] - T
if a.device.startswith("cuda"):
    torch.cuda.synchronize()
el = time.time() - t0
print(f"bench torch-decode prompts_per_s={len(P) / el:.3f} prompts={len(P)} beams={a.beams} "
      f"max_new={a.max_new} batch={a.batch} threads={a.threads} seconds={el:.2f} "
      f"steps={steps} device={a.device} dtype={'bf16' if a.bf16 else 'fp32'} torch={torch.__version__}")
