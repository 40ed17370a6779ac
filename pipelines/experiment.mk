# The experiment pipeline for one dataset: data -> prompts -> tokenizer -> base LM ->
# BIGRec / CFT / ablation fine-tunes -> decode (BIGRec, D3) -> ground -> metrics -> report.
# Every step is a file target, so a re-run skips what is finished and a killed run resumes.
#   make table3   DATASET=ml100k-demo   (configs/datasets/<DATASET>.mk holds the scale)
#   make ablation DATASET=...           make fig4 DATASET=...
# Intermediate files: data/<DATASET>/ (records, prompts, tokenizer), runs/<DATASET>/ (models,
# predictions, ranked lists, metrics, times.tsv with the wall time of every stage).

DATASET ?= ml100k-demo
ifneq ($(wildcard configs/datasets/$(DATASET).mk),)
include configs/datasets/$(DATASET).mk
endif
# DS_BLAS_CORETYPE pins OpenBLAS's kernels (OPENBLAS_CORETYPE) for every tool: by default it
# picks them by CPU, and a fine-tune on a machine whose kernels differ ends with other weights
# (measured: Cooperlake, Haswell and SkylakeX kernels give three different models from one
# command), so a study that continues on another machine could not reproduce its fine-tunes
ifneq ($(DS_BLAS_CORETYPE),)
export OPENBLAS_CORETYPE := $(DS_BLAS_CORETYPE)
endif
DATA_DIR ?= data
RUNS_DIR ?= runs
# a user's runs report into runs/reports/ (ignored by git): the committed reports/ are the
# reference, refreshed only on purpose with REPORTS_DIR=reports
REPORTS_DIR ?= runs/reports
D := $(DATA_DIR)/$(DATASET)
R := $(RUNS_DIR)/$(DATASET)
B := $(BIN)
SEED ?= 42
THREADS ?= 0
DS_LAMBDA ?= 0.1
DS_BETA_PRIME ?= 1.6
DS_BATCH ?= 64
DS_MICRO ?= 16
DS_DROPOUT ?= 0.05
DS_BEAMS ?= 5
DS_MAXNEW ?= 48
DS_TOPN ?= 50
DS_VALID_MAX ?= 1000
DS_BASE_EPOCHS ?= 1
DS_LM_MAX ?= 0
DS_PATIENCE ?= 1
DS_WARMUP ?= 20
# tokenizer: BPE (as Qwen2's), years such as (1995) kept whole
DS_SPM_TYPE ?= bpe
DS_SPM_SPLIT_DIGITS ?= false
# OpenMP: spin briefly then sleep, so a busy machine does not stall every sync point
ifeq ($(origin GOMP_SPINCOUNT)$(origin OMP_WAIT_POLICY),undefinedundefined)
export GOMP_SPINCOUNT = 10000
endif
# every stage's wall time: beside a study's chunk store when it has one (committed with it, so
# the times of a study that spans sessions and machines add up), else in the run directory
TIMES = $(or $(DS_RESULTS),$(R))/times.tsv
TIMED = ./pipelines/timed.sh $(TIMES)
REPORT = /usr/bin/python3 pipelines/report.py --times $(TIMES)
# the fine-tuning variants: name -> cft-step flags (Sec. 4.3 ablations)
FT_bigrec = --lambda 0 --beta 1
FT_cft    = --lambda $(DS_LAMBDA) --beta-prime $(DS_BETA_PRIME)
FT_wocl   = --lambda 0 --beta-prime $(DS_BETA_PRIME)
FT_wotw   = --lambda $(DS_LAMBDA) --beta 1
# the counterfactual prompt x_0 (Sec. 3.2.1): the paper's history -> "None" (train.pairs.jsonl),
# or the input block dropped as the authors' code does (cftdrop: CFT on train.pairs.drop.jsonl)
FT_cftdrop = $(FT_cft)
PAIRS_cftdrop = $(D)/train.pairs.drop.jsonl
PAIRS_OF = $(or $(PAIRS_$(1)),$(D)/train.pairs.jsonl)
# inference settings: BIGRec = unconstrained, length penalty 1; D3 = trie-constrained, no
# length normalisation (D3's released code; the paper keeps 5 beams for all methods)
DEC_bigrec = --length-penalty 1.0
DEC_d3     = --length-penalty 0.0 --constrain $(D)/items.jsonl
# D3 as its authors released it (SAI990323/DecodingMatters): 10 beams and 10 titles returned,
# so the top 10 are all generated, not 5 generated + 5 second-nearest matches
DEC_d3b10  = $(DEC_d3)
BEAMS_d3b10 = 10
# D3's ranking computed exactly: the 10 catalogue titles with the highest sum of log-probs,
# over every title (decode --exact; 64 rows per prompt at first, more where a prompt needs
# them to be certified): what D3's beam search approximates, with no beam width to choose.
# Why 64 at first: a narrower first pass only buys a lower bound for the re-search, and costs
# more than it prunes (SmolLM2 BIGRec on 24 Steam validation prompts, --exact-guess 0: 371
# row-steps a prompt from 64 rows, 416 from 16, 475 from 10; the same certified lists). The
# guessed first bound (decode's default) is what prunes: 48 prompts in batches of 8, 273
# row-steps a prompt against 362 without it, the same lists
DS_EXACT_ROWS ?= 64
DS_EXACT_FRONTIER ?= 1024
DEC_d3x    = $(DEC_d3) --exact --max-frontier $(DS_EXACT_FRONTIER)
BEAMS_d3x  = $(DS_EXACT_ROWS)
RETURN_d3x = 10

.PHONY: data prompts tokenizer base finetune table3-one ablation-one fig4-one premises-one baselines-one baselines-sweep-one check-dataset
.SECONDARY:
.DELETE_ON_ERROR:
.SECONDEXPANSION:

check-dataset:
	@test -f configs/datasets/$(DATASET).mk || { echo "no configs/datasets/$(DATASET).mk (have: $$(ls configs/datasets | sed 's/\.mk//' | tr '\n' ' '))" >&2; exit 2; }

# ---- data ----
$(D)/interactions.jsonl:
	@$(MAKE) --no-print-directory check-dataset
	@mkdir -p $(D) $(R)
	$(if $(DS_AMZ),$(TIMED) amz-filter $(B)/amz-filter $(DS_AMZ) -o $@,$(TIMED) import $(B)/import $(DS_IMPORT) -o $@)
$(D)/split.done: $(D)/interactions.jsonl
	$(TIMED) split811 $(B)/split811 -o $(D) < $<
	@touch $@
# scale: the most recent DS_TRAIN_MAX train samples (closest in time to the test period),
# DS_VALID_MAX valid and DS_TEST_MAX test samples, every k-th, spread over their periods (the
# first N valid samples can be a few days: Steam's first 1,000 are 11 days of a summer sale)
$(D)/train.use.jsonl: $(D)/split.done
	@if [ "$(DS_TRAIN_MAX)" -gt 0 ]; then tail -n $(DS_TRAIN_MAX) $(D)/train.jsonl; else cat $(D)/train.jsonl; fi > $@.tmp && mv $@.tmp $@
# (0 = all). $(D)/<split>.size holds the sample size; it is rewritten (at parse time, so that
# `make -q` stays meaningful) only when DS_VALID_MAX / DS_TEST_MAX changes, which rebuilds the
# sample. An unchanged sample keeps its file and mtime, so nothing downstream reruns.
WRITE_SIZE = $(shell mkdir -p $(D) && [ "$$(cat $(D)/$(1).size 2>/dev/null)" = "$(2)" ] || echo $(2) > $(D)/$(1).size)
ifneq ($(wildcard configs/datasets/$(DATASET).mk),)
$(call WRITE_SIZE,valid,$(DS_VALID_MAX))$(call WRITE_SIZE,test,$(DS_TEST_MAX))
endif
EVERY_KTH = n=$$(wc -l < $(1)); m=$(2); [ $$m -gt 0 ] || m=$$n; k=$$(( n / (m > 0 ? m : 1) )); [ $$k -ge 1 ] || k=1; \
	  awk -v k=$$k -v m=$$m '(NR-1)%k==0 && c<m {print; c++}' $(1) > $@.tmp && \
	  { cmp -s $@.tmp $@ && rm -f $@.tmp && touch -r $@ $(3) || mv $@.tmp $@; }
$(D)/valid.use.jsonl: $(D)/split.done $(D)/valid.size
	@$(call EVERY_KTH,$(D)/valid.jsonl,$(DS_VALID_MAX),$(D)/valid.size)
$(D)/test.use.jsonl: $(D)/split.done $(D)/test.size
	@$(call EVERY_KTH,$(D)/test.jsonl,$(DS_TEST_MAX),$(D)/test.size)
data: $(D)/train.use.jsonl $(D)/valid.use.jsonl $(D)/test.use.jsonl

# ---- prompts (Table 1 template) ----
# DS_FRAME = alpaca (default, the authors' frame) | chatml (the instruction-tuned backbones'
# chat turns, with DS_SYSTEM as the system message); a config sets it once for all its prompts
MKPROMPT = $(B)/mkprompt --category $(DS_CATEGORY) $(if $(DS_FRAME),--frame $(DS_FRAME)) $(if $(DS_SYSTEM),--system '$(DS_SYSTEM)')
$(D)/train.pairs.jsonl: $(D)/train.use.jsonl
	$(MKPROMPT) --pair -o $@ < $<
$(D)/train.pairs.drop.jsonl: $(D)/train.use.jsonl
	$(MKPROMPT) --pair --counterfactual=drop -o $@ < $<
$(D)/valid.prompts.jsonl: $(D)/valid.use.jsonl
	$(MKPROMPT) -o $@ < $<
$(D)/test.prompts.jsonl: $(D)/test.use.jsonl
	$(MKPROMPT) -o $@ < $<
$(D)/test.nohist.prompts.jsonl: $(D)/test.use.jsonl
	$(MKPROMPT) --counterfactual -o $@ < $<
prompts: $(D)/train.pairs.jsonl $(D)/valid.prompts.jsonl $(D)/test.prompts.jsonl

# ---- tokenizer and in-project base model (no pretrained weights can be downloaded here) ----
$(D)/spm.corpus.txt: $(D)/train.pairs.jsonl
	$(B)/mkcorpus --mode spm --items $(D)/items.jsonl --prompts $< -o $@
$(D)/tokenizer.model: $(D)/spm.corpus.txt
	SPM_SPLIT_DIGITS=$(DS_SPM_SPLIT_DIGITS) $(TIMED) tokenizer ./tools/spm-train.sh $< $@ $(DS_VOCAB) $(DS_SPM_TYPE)
$(D)/lm.corpus.txt: $(D)/split.done
	$(B)/mkcorpus --mode lm --items $(D)/items.jsonl --train $(D)/train.jsonl -o $@
$(R)/base/config.json: $(D)/lm.corpus.txt $(D)/tokenizer.model $(DS_MODEL)
	@mkdir -p $(R)
	$(TIMED) base $(B)/cft-step --objective lm --train $< --config $(DS_MODEL) --tokenizer $(D)/tokenizer.model \
	  --out $(R)/base --lr $(DS_BASE_LR) --epochs $(DS_BASE_EPOCHS) --batch $(DS_BATCH) --micro-batch $(DS_MICRO) \
	  --warmup $(DS_WARMUP) --dropout 0 --seed $(SEED) --threads $(THREADS) --log $(R)/base.log.jsonl $(if $(filter-out 0,$(DS_LM_MAX)),--max-samples $(DS_LM_MAX)) $(DS_BASE_EXTRA)
tokenizer: $(D)/tokenizer.model
base: $(R)/base/config.json

# ---- fine-tuning: BIGRec (w/o Both), CFT, w/o CL, w/o TW ----
# Resumable: a killed fine-tune (Ctrl-C, the end of a session) leaves runs/DS/<variant>.state
# (every DS_SAVE_EVERY steps) and the same make command continues it bitwise (--auto-resume);
# the state is removed once the run has finished.
DS_SAVE_EVERY ?= 50
# DS_INIT = a real pretrained checkpoint directory replaces the in-project base model
BASE_DIR = $(if $(DS_INIT),$(DS_INIT),$(R)/base)
$(R)/%/config.json: $(BASE_DIR)/config.json $$(call PAIRS_OF,$$*) $(D)/valid.prompts.jsonl
	$(TIMED) ft-$* $(B)/cft-step --init $(BASE_DIR) --train $(call PAIRS_OF,$*) --valid $(D)/valid.prompts.jsonl \
	  --out $(R)/$* $(FT_$*) --lr $(or $(LR_$*),$(DS_LR)) --epochs $(or $(EP_$*),$(DS_EPOCHS)) --batch $(DS_BATCH) --micro-batch $(DS_MICRO) \
	  --warmup $(DS_WARMUP) --patience $(DS_PATIENCE) --dropout $(DS_DROPOUT) --seed $(SEED) --threads $(THREADS) \
	  --save-every $(DS_SAVE_EVERY) --auto-resume --log $(R)/$*.log.jsonl $(DS_FT_EXTRA) && rm -rf $(R)/$*.state

# ---- inference: decode (BIGRec / D3), ground (interleave), metrics ----
# runs/<DS>/<model>.<dec>[.nohist].pred.jsonl ; nohist = prompts without the behaviour sequence
# (Fig. 4): one prompt for every user, decoded once (decode --dedupe)
BEAMS_OF = $(or $(BEAMS_$(word 2,$(subst ., ,$(1)))),$(DS_BEAMS))
RETURN_OF = $(or $(RETURN_$(word 2,$(subst ., ,$(1)))),$(call BEAMS_OF,$(1)))
# DS_RESULTS = a directory (results/<DS>, committed): decode and ground run through
# pipelines/resumable.sh in chunks of DS_CHUNK prompts, each finished chunk kept there, keyed
# by the model's weights, the input and the command; a long run stopped at the end of a session
# continues in the next one, on another machine too (the fine-tunes are deterministic for a
# given thread count, and a retrained model that differs is refused by the key).
DS_RESULTS ?=
DS_CHUNK ?= 250
MODEL_OF = $(firstword $(subst ., ,$(1)))
DECODE_ARGS = --model $(R)/$(call MODEL_OF,$*) --beams $(call BEAMS_OF,$*) --return $(call RETURN_OF,$*) \
	    --max-new-tokens $(DS_MAXNEW) --threads $(THREADS) $(DEC_$(word 2,$(subst ., ,$*))) $(if $(filter %.nohist,$*),--dedupe)
GROUND_ARGS = --model $(R)/$(call MODEL_OF,$*) --items $(D)/items.jsonl -n $(DS_TOPN) --threads $(THREADS)
# $(call CHUNKED,LABEL,STORE,IN,MODEL_DIR,TOOL,ARGS): the recipe line that runs TOOL ARGS on IN
# into $@, through the chunk store DS_RESULTS/STORE.gz (keyed by IN, MODEL_DIR's weights and
# the command) when DS_RESULTS is set, else whole
CHUNKED = $(if $(DS_RESULTS),$(TIMED) $(1) ./pipelines/resumable.sh $(DS_RESULTS)/$(2).gz $(DS_CHUNK) $(3) $@ \
	  $(4)/model.safetensors -- $(5) -q $(6),$(TIMED) $(1) $(5) $(6) < $(3) > $@.tmp && mv $@.tmp $@)
$(R)/%.pred.jsonl: $$(R)/$$(firstword $$(subst ., ,$$*))/config.json $(D)/test.prompts.jsonl $(D)/test.nohist.prompts.jsonl
	@in=$(D)/test.prompts.jsonl; case $* in *.nohist) in=$(D)/test.nohist.prompts.jsonl;; esac; \
	  $(call CHUNKED,decode-$*,$*.pred.jsonl,$$in,$(R)/$(call MODEL_OF,$*),$(B)/decode,$(DECODE_ARGS))
$(R)/%.ranked.jsonl: $(R)/%.pred.jsonl
	@$(call CHUNKED,ground-$*,$*.ranked.jsonl,$<,$(R)/$(call MODEL_OF,$*),$(B)/ground,$(GROUND_ARGS))
$(R)/mostpop.ranked.jsonl: $(D)/test.use.jsonl
	@mkdir -p $(R)
	$(B)/mostpop --items $(D)/items.jsonl -n $(DS_TOPN) < $< > $@.tmp && mv $@.tmp $@
$(R)/%.metrics.json: $(R)/%.ranked.jsonl
	$(B)/metrics --truth $(D)/test.use.jsonl --items $(D)/items.jsonl --ranked $< --per-sample $(R)/$*.per-sample.jsonl --popularity 5 --topk 20 -q > $@.tmp && mv $@.tmp $@
# the committed results alone: every complete ranked-list store under DS_RESULTS becomes
# runs/<DS>/<run>.ranked.jsonl (pipelines/lists-from-stores.sh), after which the metrics,
# comparisons and reports of those runs are made without any model (a fresh machine's
# reviewer: `make lists-from-stores DATASET=x`, then the report's goal)
.PHONY: lists-from-stores
ifneq ($(filter lists-from-stores,$(MAKECMDGOALS)),)
ifeq ($(DS_RESULTS),)
$(error lists-from-stores: DATASET=$(DATASET) keeps no chunk stores (DS_RESULTS is empty))
endif
endif
lists-from-stores: $(D)/test.prompts.jsonl $(D)/test.nohist.prompts.jsonl $(D)/valid.eval.prompts.jsonl $(D)/valid.grid.prompts.jsonl
	./pipelines/lists-from-stores.sh $(DS_RESULTS) $(R) $(D)
# paired bootstrap CI of (A - B): runs/<DS>/<A>__vs__<B>.compare.json
$(R)/%.compare.json: $$(addsuffix .ranked.jsonl,$$(addprefix $$(R)/,$$(subst __vs__, ,$$*)))
	$(B)/metrics --truth $(D)/test.use.jsonl --items $(D)/items.jsonl --ranked $(word 1,$^) \
	  --compare $(word 2,$^) --seed $(SEED) --resamples 1000 -q > $@.tmp && mv $@.tmp $@


# ---- traditional baselines (seqrec): the same train/valid/test samples as the LLM methods ----
# Starred variants (SASRec*, GRU4Rec*) start from the item embeddings that ground cached
# for the fine-tuned BIGRec model (last-layer hidden state of each title), PCA'd to 64 dims.
# Each trains to early stopping on validation NDCG@10 (configs/seqrec/*.conf: patience, epoch
# cap, lr chosen on validation, reports/baselines-converged-cpu.md) over DS_SEQREC_VALID, by
# default the whole valid split: ranking it costs a second an epoch, and 500 samples were too
# noisy to stop on. DS_SEQREC_MIN is only a safety cap (the report says when it stopped a run);
# SEQREC_OPTS_<model> adds a dataset's own flags.
SEQREC_MODELS = caser gru4rec sasrec
DS_SEQREC_MIN ?= 30
DS_SEQREC_VALID ?= $(D)/valid.jsonl
SEQREC_RUN = $(B)/seqrec --config configs/seqrec/$(subst -star,,$*).conf --model $(subst -star,,$*) \
	  --train $(D)/train.use.jsonl --valid $(DS_SEQREC_VALID) --test $(D)/test.use.jsonl --items $(D)/items.jsonl \
	  --topn $(DS_TOPN) --threads $(THREADS) --seed $(SEED) --max-minutes $(DS_SEQREC_MIN) -q --report $(R)/$*.report.json \
	  $(SEQREC_OPTS_$(subst -star,,$*))
$(addprefix $(R)/,$(addsuffix .ranked.jsonl,$(SEQREC_MODELS))): $(R)/%.ranked.jsonl: $(D)/train.use.jsonl $(D)/split.done $(filter-out $(D)/valid.jsonl,$(DS_SEQREC_VALID)) $(D)/test.use.jsonl
	@mkdir -p $(R)
	$(TIMED) seqrec-$* $(SEQREC_RUN) --out $@.tmp && mv $@.tmp $@
# ground writes the cache; on a fresh machine whose bigrec ranking came whole from the chunk store
# (DS_RESULTS) ground never ran, so one prediction line is grounded to make it.
$(R)/sasrec-star.ranked.jsonl $(R)/gru4rec-star.ranked.jsonl: $(R)/%.ranked.jsonl: $(R)/bigrec.bigrec.ranked.jsonl
	@ls $(R)/bigrec/item_emb.*.safetensors > /dev/null 2>&1 || head -n 1 $(R)/bigrec.bigrec.pred.jsonl | \
	  $(B)/ground -q --model $(R)/bigrec --items $(D)/items.jsonl -n $(DS_TOPN) --threads $(THREADS) > /dev/null
	$(TIMED) seqrec-$* $(SEQREC_RUN) --init-emb $$(ls -t $(R)/bigrec/item_emb.*.safetensors | head -n 1) --out $@.tmp && mv $@.tmp $@
BASELINE_RUNS = $(SEQREC_MODELS) gru4rec-star sasrec-star
BASELINE_CMP = $(foreach r,$(BASELINE_RUNS),$(r)__vs__mostpop)
baselines-one: $(foreach r,$(BASELINE_RUNS),$(R)/$(r).metrics.json) $(foreach c,$(BASELINE_CMP),$(R)/$(c).compare.json)
	$(REPORT) seqrec-sweep --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk --out $(REPORTS_DIR)/baselines-$(DATASET)
# the baselines' learning rate, chosen on validation NDCG@10 (configs/seqrec/*.conf say which won):
#   make baselines-sweep-one DATASET=x [SEQREC_SWEEP_LRS="1e-3 3e-3"]  -> runs/x/sweep/<model>.lr<lr>.*
SEQREC_SWEEP_LRS ?= 1e-3 3e-3
SWEEP_POINTS = $(foreach m,$(SEQREC_MODELS),$(foreach l,$(SEQREC_SWEEP_LRS),$(R)/sweep/$(m).lr$(l).report.json))
$(R)/sweep/%.report.json: $(D)/train.use.jsonl $(D)/split.done $(D)/test.use.jsonl
	@mkdir -p $(R)/sweep
	m=$(firstword $(subst .lr, ,$*)); l=$(lastword $(subst .lr, ,$*)); \
	  $(TIMED) sweep-$* $(B)/seqrec --config configs/seqrec/$$m.conf --model $$m --train $(D)/train.use.jsonl --valid $(DS_SEQREC_VALID) \
	  --test $(D)/test.use.jsonl --items $(D)/items.jsonl --threads $(THREADS) --seed $(SEED) --epochs 300 --patience 20 --lr $$l \
	  --max-minutes 0 -q --report $@.tmp --out $(R)/sweep/$*.ranked.jsonl && mv $@.tmp $@
baselines-sweep-one: $(SWEEP_POINTS)

# D3 decoded beyond the paper's protocol (10 beams, exact): each as its own D3 and D3+CFT rows,
# compared with each other and with MostPop (pipelines/report.py D3_VARIANTS names them)
D3_VARIANTS = d3b10 d3x
TABLE3_RUNS = mostpop bigrec.bigrec bigrec.d3 cft.bigrec cft.d3 $(foreach v,$(D3_VARIANTS),bigrec.$(v) cft.$(v)) \
	      $(if $(filter 1,$(WITH_BASELINES)),$(BASELINE_RUNS))
WITH_BASELINES ?= 1
TABLE3_CMP  = cft.bigrec__vs__bigrec.bigrec cft.d3__vs__bigrec.d3 bigrec.bigrec__vs__mostpop \
	      $(foreach v,$(D3_VARIANTS),cft.$(v)__vs__bigrec.$(v) bigrec.$(v)__vs__mostpop cft.$(v)__vs__mostpop) \
	      $(if $(filter 1,$(WITH_BASELINES)),$(BASELINE_CMP) $(foreach r,bigrec.bigrec cft.bigrec bigrec.d3 cft.d3 $(foreach v,$(D3_VARIANTS),bigrec.$(v) cft.$(v)),$(r)__vs__sasrec))
table3-one: $(foreach r,$(TABLE3_RUNS),$(R)/$(r).metrics.json) $(foreach c,$(TABLE3_CMP),$(R)/$(c).compare.json)
	$(REPORT) table3 --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk --out $(REPORTS_DIR)/table3-$(DATASET) \
	  $(if $(DS_SCRATCH),--scratch $(DS_SCRATCH))

ABL_RUNS = cft.bigrec wocl.bigrec wotw.bigrec bigrec.bigrec cftdrop.bigrec
ABL_CMP  = $(foreach r,wocl wotw bigrec cftdrop,cft.bigrec__vs__$(r).bigrec) wocl.bigrec__vs__bigrec.bigrec wotw.bigrec__vs__bigrec.bigrec
ablation-one: $(foreach r,$(ABL_RUNS),$(R)/$(r).metrics.json) $(foreach c,$(ABL_CMP),$(R)/$(c).compare.json)
	$(REPORT) table4 --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk --out $(REPORTS_DIR)/table4-$(DATASET) \
	  $(if $(DS_SCRATCH),--scratch $(DS_SCRATCH))

FIG4_RUNS = bigrec.bigrec cft.bigrec bigrec.bigrec.nohist cft.bigrec.nohist
fig4-one: $(foreach r,$(FIG4_RUNS),$(R)/$(r).metrics.json)
	$(REPORT) fig4 --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk --out $(REPORTS_DIR)/fig4-$(DATASET)


# ---- CFT's premises, measured (Sec. 3.2.2 and footnote 3): cft-step --eval --effect ----
# on DS_EFFECT_MAX test samples (every k-th) as normal/counterfactual pairs, for the backbone
# before tuning (base), BIGRec and BIGRec+CFT; token weights reported with CFT's beta
DS_EFFECT_MAX ?= 1000
ifneq ($(wildcard configs/datasets/$(DATASET).mk),)
$(call WRITE_SIZE,effect,$(DS_EFFECT_MAX))
endif
$(D)/test.effect.jsonl: $(D)/test.use.jsonl $(D)/effect.size
	@$(call EVERY_KTH,$(D)/test.use.jsonl,$(DS_EFFECT_MAX),$(D)/effect.size)
$(D)/test.effect.pairs.jsonl: $(D)/test.effect.jsonl
	$(MKPROMPT) --pair -q -o $@ < $<
EFFECT_DIR = $(if $(filter base,$(1)),$(BASE_DIR),$(R)/$(1))
$(R)/%.effect.json: $$(call EFFECT_DIR,$$*)/config.json $(D)/test.effect.pairs.jsonl
	$(TIMED) effect-$* $(B)/cft-step --eval $(D)/test.effect.pairs.jsonl --init $(call EFFECT_DIR,$*) --effect $@ \
	  --beta-prime $(DS_BETA_PRIME) --micro-batch $(DS_MICRO) --threads $(THREADS) -q
PREMISE_RUNS = base bigrec cft
premises-one: $(foreach r,$(PREMISE_RUNS),$(R)/$(r).effect.json)
	$(REPORT) premises --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk --out $(REPORTS_DIR)/premises-$(DATASET)

# ---- lambda x beta' search (Sec. 4.1.4 ranges), selected by VALIDATION NDCG@10, never test ----
# make grid DATASET=x [GRID_LAMBDAS="..."] [GRID_BETAPS="..."] [GRID_SHAPE=cross] [GRID_JOBS=n] [GRID_PARALLEL_OPTS="--sshloginfile f"]
# Each point is an independent make target (runs/DS/grid-l<λ>-b<β'>/), run by GNU parallel.
# Points are scored on DS_GRID_VALID_MAX validation samples (valid.grid.jsonl, every k-th; by
# default the DS_VALID_MAX that early stopping uses): a scale whose early-stopping sample is
# a few hundred sets more, since a top-10 metric there counts a handful of hits. Every point
# is compared (paired bootstrap, on those samples) with BIGRec (lambda 0) and with the
# config's own DS_LAMBDA / DS_BETA_PRIME point, which is the `cft` fine-tune itself (the same
# cft-step command, so the same weights: linked, not retrained).
# GRID_SHAPE=cross searches one hyper-parameter at a time through the config's point (every
# lambda at DS_BETA_PRIME, every beta' at DS_LAMBDA), as the paper did ("we avoid grid
# search"): len(L) + len(B) - 1 fine-tunes instead of len(L) x len(B).
GRID_LAMBDAS ?= 0.01 0.02 0.025 0.05 0.1 0.2 0.3
GRID_BETAPS  ?= 1.1 1.2 1.4 1.6 2 3 10 25
GRID_SHAPE   ?= grid
GRID_JOBS    ?= 1
GRID_PARALLEL_OPTS ?=
GRID_DEFAULT = grid-l$(DS_LAMBDA)-b$(DS_BETA_PRIME)
GRID_PRODUCT = $(foreach l,$(GRID_LAMBDAS),$(foreach b,$(GRID_BETAPS),grid-l$(l)-b$(b)))
GRID_CROSS = $(GRID_DEFAULT) $(filter-out $(GRID_DEFAULT),$(foreach l,$(GRID_LAMBDAS),grid-l$(l)-b$(DS_BETA_PRIME)) \
	     $(foreach b,$(GRID_BETAPS),grid-l$(DS_LAMBDA)-b$(b)))
GRID_POINTS = $(if $(filter cross,$(GRID_SHAPE)),$(GRID_CROSS),$(if $(filter grid,$(GRID_SHAPE)),$(GRID_PRODUCT),$(error GRID_SHAPE: expected grid or cross, got '$(GRID_SHAPE)')))
GRID_LB = $(subst -b, ,$(patsubst grid-l%,%,$(1)))
$(foreach p,$(GRID_POINTS),$(eval FT_$(p) = --lambda $(word 1,$(call GRID_LB,$(p))) --beta-prime $(word 2,$(call GRID_LB,$(p)))))
$(R)/$(GRID_DEFAULT)/config.json: $(R)/cft/config.json
	ln -sfn cft $(R)/$(GRID_DEFAULT)
DS_GRID_VALID_MAX ?= $(DS_VALID_MAX)
ifneq ($(wildcard configs/datasets/$(DATASET).mk),)
$(call WRITE_SIZE,valid-grid,$(DS_GRID_VALID_MAX))
endif
$(D)/valid.grid.jsonl: $(D)/split.done $(D)/valid-grid.size
	@$(call EVERY_KTH,$(D)/valid.jsonl,$(DS_GRID_VALID_MAX),$(D)/valid-grid.size)
$(D)/valid.grid.prompts.jsonl: $(D)/valid.grid.jsonl
	$(MKPROMPT) -o $@ < $<
$(D)/valid.eval.prompts.jsonl: $(D)/valid.use.jsonl
	$(MKPROMPT) -o $@ < $<
# validation scoring of a fine-tuned run: <run>.val.* with BIGRec's decoding (what the searches
# select on by default), <run>.vald3.* with D3's, <run>.vald3x.* with D3's exact ranking, all on
# valid.use.jsonl; <run>.gval.* with BIGRec's on the grid's samples (valid.grid.jsonl), with
# <A>__vs__<B>.gval.compare.json their paired bootstrap
# (with DS_RESULTS, decode and ground go through the chunk store as the test runs do)
define VALIDATION_RULES
$(R)/%.$(1).pred.jsonl: $(R)/%/config.json $(3)
	@$$(call CHUNKED,$(1)-decode-$$*,$$*.$(1).pred.jsonl,$(3),$(R)/$$*,$(B)/decode,--model $(R)/$$* --beams $(call BEAMS_OF,x.$(2)) \
	  --return $(call RETURN_OF,x.$(2)) --max-new-tokens $(DS_MAXNEW) --threads $(THREADS) $(DEC_$(2)))
$(R)/%.$(1).ranked.jsonl: $(R)/%.$(1).pred.jsonl
	@$$(call CHUNKED,$(1)-ground-$$*,$$*.$(1).ranked.jsonl,$$<,$(R)/$$*,$(B)/ground,--model $(R)/$$* --items $(D)/items.jsonl \
	  -n $(DS_TOPN) --threads $(THREADS))
$(R)/%.$(1).metrics.json: $(R)/%.$(1).ranked.jsonl
	$(B)/metrics --truth $(4) --items $(D)/items.jsonl --ranked $$< -q > $$@.tmp && mv $$@.tmp $$@
$(R)/mostpop.$(1).ranked.jsonl: $(4)
	@mkdir -p $(R)
	$(B)/mostpop --items $(D)/items.jsonl -n $(DS_TOPN) < $$< > $$@.tmp && mv $$@.tmp $$@
endef
$(eval $(call VALIDATION_RULES,val,bigrec,$(D)/valid.eval.prompts.jsonl,$(D)/valid.use.jsonl))
$(eval $(call VALIDATION_RULES,vald3,d3,$(D)/valid.eval.prompts.jsonl,$(D)/valid.use.jsonl))
$(eval $(call VALIDATION_RULES,vald3x,d3x,$(D)/valid.eval.prompts.jsonl,$(D)/valid.use.jsonl))
$(eval $(call VALIDATION_RULES,gval,bigrec,$(D)/valid.grid.prompts.jsonl,$(D)/valid.grid.jsonl))
$(R)/%.gval.compare.json: $$(addsuffix .gval.ranked.jsonl,$$(addprefix $$(R)/,$$(subst __vs__, ,$$*)))
	$(B)/metrics --truth $(D)/valid.grid.jsonl --items $(D)/items.jsonl --ranked $(word 1,$^) \
	  --compare $(word 2,$^) --seed $(SEED) --resamples 1000 -q > $@.tmp && mv $@.tmp $@
.PHONY: grid grid-one
GRID_HAS_DEFAULT = $(filter $(GRID_DEFAULT),$(GRID_POINTS))
GRID_CMP = $(foreach p,$(GRID_POINTS),$(p)__vs__bigrec $(if $(GRID_HAS_DEFAULT),$(if $(filter $(GRID_DEFAULT),$(p)),,$(p)__vs__$(GRID_DEFAULT))))
grid-one: $(D)/train.pairs.jsonl $(D)/valid.grid.prompts.jsonl $(BASE_DIR)/config.json $(R)/mostpop.gval.metrics.json
	parallel -j $(GRID_JOBS) $(GRID_PARALLEL_OPTS) --halt now,fail=1 \
	  '$(MAKE) --no-print-directory DATASET=$(DATASET) THREADS=$(THREADS) $(R)/{}.gval.metrics.json' ::: bigrec $(GRID_POINTS)
	$(MAKE) --no-print-directory DATASET=$(DATASET) THREADS=$(THREADS) $(foreach c,$(GRID_CMP),$(R)/$(c).gval.compare.json)
	$(REPORT) grid --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk \
	  --out $(REPORTS_DIR)/grid-$(DATASET) --points "$(GRID_POINTS)" $(if $(GRID_HAS_DEFAULT),--default $(GRID_DEFAULT))
grid: all
	@$(MAKE) --no-print-directory grid-one DATASET=$(DATASET)

# ---- learning-rate (x epochs) sweep for BIGRec, selected by VALIDATION NDCG@10 ----
# The issue's rule: an LLM method that does not beat MostPop makes the LLM comparison noise,
# so tune the learning rate (above all) on validation first. MostPop's validation score is
# reported beside every point. Points: runs/DS/lr<lr>-e<epochs>/ (BIGRec flags).
#   make lr-sweep DATASET=x [LR_GRID="..."] [EPOCH_GRID="..."] [GRID_JOBS=n] [THREADS=n]
LR_GRID    ?= 1e-3 2e-3 4e-3 8e-3
EPOCH_GRID ?= $(DS_EPOCHS)
# the backbone issue's cheaper knob beside full fine-tuning: 0 = train every layer, n = freeze
# layers 0..n-1 and the embedding (cft-step --freeze-layers); points lr<l>-e<e>[-f<n>]
FREEZE_GRID ?= 0
# what selects: the validation decoding val (BIGRec's), vald3 (D3's), vald3x (D3's exact ranking), or
# loss: the best epoch's validation L_n (when the validation split is too small to rank by)
LR_SELECT  ?= val
# the validation decodings computed at every point (the selecting one among them)
LR_DECODINGS ?= val vald3 vald3x
LR_SUFFIX = $(if $(filter 0,$(1)),,-f$(1))
LR_POINTS = $(foreach l,$(LR_GRID),$(foreach e,$(EPOCH_GRID),$(foreach f,$(FREEZE_GRID),lr$(l)-e$(e)$(call LR_SUFFIX,$(f)))))
$(foreach l,$(LR_GRID),$(foreach e,$(EPOCH_GRID),$(foreach f,$(FREEZE_GRID),$(eval P := lr$(l)-e$(e)$(call LR_SUFFIX,$(f)))\
  $(eval FT_$(P) = $(FT_bigrec)$(if $(filter 0,$(f)),, --freeze-layers $(f)))$(eval LR_$(P) = $(l))$(eval EP_$(P) = $(e)))))
.PHONY: lr-sweep lr-sweep-one
lr-sweep-one: $(D)/train.pairs.jsonl $(D)/valid.eval.prompts.jsonl $(BASE_DIR)/config.json $(R)/mostpop.val.metrics.json
	parallel -j $(GRID_JOBS) $(GRID_PARALLEL_OPTS) --halt now,fail=1 \
	  '$(MAKE) --no-print-directory DATASET=$(DATASET) THREADS=$(THREADS) $(foreach d,$(sort $(filter-out loss,$(LR_SELECT)) $(LR_DECODINGS)),$(R)/{}.$(d).metrics.json) $(R)/{}/config.json' ::: $(LR_POINTS)
	$(REPORT) lrsweep --dataset $(DATASET) --runs $(R) --config configs/datasets/$(DATASET).mk \
	  --out $(REPORTS_DIR)/lr-$(DATASET) --points "$(LR_POINTS)" --select $(LR_SELECT)
lr-sweep: all
	@$(MAKE) --no-print-directory lr-sweep-one DATASET=$(DATASET)

# ---- top-level targets ----
# every *-cpu config except those that say DS_NOT_READY (with the reason, in the config)
DATASETS_ALL ?= $(patsubst configs/datasets/%.mk,%,$(shell grep -L '^DS_NOT_READY' configs/datasets/*-cpu.mk))
# the pretrained-backbone studies (pipelines/study.sh, not run by `make table3`): the combined
# tables show those whose reports exist
STUDY_DATASETS ?= games-smollm2 steam-smollm2
.PHONY: table3 ablation fig4 demo
RUN_DATASETS = $(if $(filter command line,$(origin DATASET)),$(DATASET),$(DATASETS_ALL))
# every dataset's own report, then reports/table3.md (table4.md): all of them in the paper's layout
table3: all
	@for d in $(RUN_DATASETS); do $(MAKE) --no-print-directory table3-one DATASET=$$d || exit 1; done
	$(REPORT) combine-table3 --dataset "$(DATASETS_ALL) $(STUDY_DATASETS)" --runs $(RUNS_DIR) --config - --out $(REPORTS_DIR)/table3
ablation: all
	@for d in $(RUN_DATASETS); do $(MAKE) --no-print-directory ablation-one DATASET=$$d || exit 1; done
	$(REPORT) combine-table4 --dataset "$(DATASETS_ALL) $(STUDY_DATASETS)" --runs $(RUNS_DIR) --config - --out $(REPORTS_DIR)/table4
fig4: all
	@for d in $(RUN_DATASETS); do $(MAKE) --no-print-directory fig4-one DATASET=$$d || exit 1; done
demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory table3-one fig4-one DATASET=ml100k-demo
	@sed -n '1,/^## Provenance/p' $(REPORTS_DIR)/table3-ml100k-demo.md | head -n -1
	@sed -n '/^History sensitivity/,/^## Provenance/p' $(REPORTS_DIR)/fig4-ml100k-demo.md | head -n -1
	@echo "reports written to $(REPORTS_DIR)/"
	@sh pipelines/compare-reference.sh $(REPORTS_DIR)/table3-ml100k-demo.md reports/table3-ml100k-demo.md

# make print-DS_MAXNEW DATASET=x: a config value, for scripts (bench/exact.sh)
print-%:
	@echo '$($*)'
