#!/bin/sh
# spm-train.sh CORPUS.txt OUT.model [VOCAB_SIZE] [unigram|bpe]
# Train the project's sentencepiece tokenizer with Debian's spm_train, deterministically
# (one thread, no sentence sampling, fixed seed). Conventions the rest of the toolkit relies on:
#   ids: unk 0, bos 1, eos 2, pad 3; byte_fallback so ANY text encodes; "\n" is a
#   piece of its own (id 4); identity normalisation, no whitespace collapsing and no dummy
#   prefix, so
#   encode(prompt) ++ encode(response) decodes back to prompt + response exactly.
# Writes OUT.model (and OUT.vocab) atomically (temp dir, then rename). The model embeds the
# corpus path and the prefix: the prefix is a constant ("tokenizer", in a temp dir), so the
# same corpus file gives byte-identical models.
set -eu
[ $# -ge 2 ] || { echo "usage: spm-train.sh CORPUS.txt OUT.model [VOCAB_SIZE=4000] [unigram|bpe]" >&2; exit 2; }
corpus=$1; out=$2; vocab=${3:-4000}; type=${4:-unigram}
[ -s "$corpus" ] || { echo "spm-train.sh: $corpus: missing or empty corpus" >&2; exit 3; }
case $corpus in /*) ;; *) corpus="$PWD/$corpus";; esac
tmpd=$(mktemp -d "$(dirname "$out")/.spm-train.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
prefix=tokenizer
nl=$(printf "\nx"); nl=${nl%x}   # newline: its own piece (user-defined symbol)
cd "$tmpd"
spm_train --input="$corpus" --model_prefix="$prefix" --vocab_size="$vocab" --model_type="$type" \
  --character_coverage=1.0 --byte_fallback=true \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=false \
  --split_digits=${SPM_SPLIT_DIGITS:-true} --hard_vocab_limit=false --user_defined_symbols="$nl" \
  --num_threads=1 --shuffle_input_sentence=false --input_sentence_size=0 --random_seed=1 \
  --max_sentence_length=16384 --minloglevel=2 >"$prefix.log" 2>&1 \
  || { tail -n 5 "$prefix.log" >&2; echo "spm-train.sh: spm_train failed on $corpus" >&2; exit 1; }
cd - >/dev/null
mv "$tmpd/$prefix.vocab" "${out%.model}.vocab"
mv "$tmpd/$prefix.model" "$out"
