# MovieLens-100k on the pretrained SmolLM2-135M backbone, smoke scale: the whole pipeline on
# real weights in a few minutes (tests/test_pipeline_smollm2.sh). Numbers mean nothing here;
# it checks that the byte-level BPE tokenizer, the Llama variant and the imported checkpoint
# chain through fine-tuning, decoding (BIGRec, D3, D3 exact), grounding and the report.
# The backbone is imported by `make backbone-smollm2` (build/models/smollm2), which this
# config's DS_INIT names, so make builds it when missing.
include configs/scales/cpu.mk
DS_IMPORT      = --format movielens $(DATA_ROOT)/movielens-100k --core 5
DS_CATEGORY    = movies
DS_INIT        = $(MODELS_DIR)/smollm2
DS_TRAIN_MAX   = 16
DS_VALID_MAX   = 4
DS_TEST_MAX    = 8
DS_MAXNEW      = 16
DS_BATCH       = 8
DS_MICRO       = 4
# the paper's rate for a pretrained backbone (a from-scratch model needs ~20x more)
DS_LR          = 1e-4
DS_WARMUP      = 1
WITH_BASELINES = 0
# D3's exact ranking with few rows: an untuned 135M model spreads its mass over many titles,
# and certifying all of them costs minutes; uncertified lists are flagged, which is enough here
DS_EXACT_ROWS  = 8
DS_EXACT_FRONTIER = 16
