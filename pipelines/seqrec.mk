# seqrec external check on MovieLens-1M (issue 6): leave-one-out split, SASRec / GRU4Rec /
# Caser with full ranking, report beside RecBole's published numbers.
#   make baselines-ml1m [SEQREC_THREADS=2] [SEQREC_MIN=8]
# Each model trains for at most SEQREC_MIN minutes (then the best-validation epoch is used).
SEQREC_THREADS ?= 2
SEQREC_MIN     ?= 8
SEQREC_ML1M    ?= runs/seqrec/ml1m-loo
.PHONY: baselines-ml1m
baselines-ml1m: bin/seqrec bin/import bin/split811 bin/metrics
	@mkdir -p $(SEQREC_ML1M)
	@[ -s $(SEQREC_ML1M)/items.jsonl ] || { bin/import --format tsv $(DATA_ROOT)/movielens-1m -q \
	  -o $(SEQREC_ML1M)/interactions.jsonl && bin/split811 --mode loo -q -o $(SEQREC_ML1M) < $(SEQREC_ML1M)/interactions.jsonl; }
	@for m in sasrec gru4rec caser; do \
	  echo "seqrec $$m on $(SEQREC_ML1M) ($(SEQREC_MIN) min)"; \
	  nice bin/seqrec --model $$m --config configs/seqrec/$$m.conf --data $(SEQREC_ML1M) \
	    --threads $(SEQREC_THREADS) --epoch-samples 245373 --epochs 200 --patience 8 --max-minutes $(SEQREC_MIN) \
	    --out $(SEQREC_ML1M)/$$m.ranked.jsonl --report $(SEQREC_ML1M)/$$m.report.json -q || exit 1; \
	  bin/metrics --truth $(SEQREC_ML1M)/test.jsonl --items $(SEQREC_ML1M)/items.jsonl \
	    --ranked $(SEQREC_ML1M)/$$m.ranked.jsonl -q > $(SEQREC_ML1M)/$$m.metrics.json || exit 1; \
	done
	@mkdir -p $(REPORTS_DIR) && python3 pipelines/seqrec_ml1m_report.py $(SEQREC_ML1M) > $(REPORTS_DIR)/baselines-ml1m.md.tmp && \
	  mv $(REPORTS_DIR)/baselines-ml1m.md.tmp $(REPORTS_DIR)/baselines-ml1m.md && echo "wrote $(REPORTS_DIR)/baselines-ml1m.md"
