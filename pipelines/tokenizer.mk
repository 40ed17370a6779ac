# Tokenizer and base-model corpora for a dataset directory D holding split811's items.jsonl,
# train.jsonl and mkprompt's train.prompts.jsonl (all training-period data):
#   make D/tokenizer.model  [SPM_VOCAB=4000 SPM_TYPE=unigram|bpe]
#       mkcorpus --mode spm (titles + template words) -> tools/spm-train.sh (spm_train,
#       deterministic; unk 0, bos 1, eos 2, pad 3, byte fallback, "\n" a piece)
#   make D/lm-corpus.txt
#       mkcorpus --mode lm: titles weighted by train popularity + train sequences; the input
#       of `cft-step --objective lm` (the in-project base model)
SPM_VOCAB ?= 4000
SPM_TYPE  ?= unigram

%/spm-corpus.txt: %/items.jsonl %/train.prompts.jsonl $(BIN)/mkcorpus
	$(BIN)/mkcorpus --mode spm --items $*/items.jsonl --prompts $*/train.prompts.jsonl -o $@ -q

%/tokenizer.model: %/spm-corpus.txt tools/spm-train.sh
	tools/spm-train.sh $< $@ $(SPM_VOCAB) $(SPM_TYPE)

%/lm-corpus.txt: %/items.jsonl %/train.jsonl $(BIN)/mkcorpus
	$(BIN)/mkcorpus --mode lm --items $*/items.jsonl --train $*/train.jsonl -o $@ -q
