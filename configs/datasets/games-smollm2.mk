# Amazon 2018 Video_Games ("Games") on the pretrained SmolLM2-135M backbone (imported from its
# GGUF file by `make backbone-smollm2`), a first CPU-scale BIGRec fine-tune: the 1,024 most
# recent train samples, one epoch at the paper's lr 1e-4 (batch 16, so that the epoch is 64
# AdamW steps rather than 16), early stopping on 128 valid samples, 1,000 test samples spread
# over the test period. The data is games-cpu's (D3's window widened to 2015-10-01).
# Cost on 2 cores: about 0.8 fine-tuning samples/s at this prompt length, decoding about
# 1 test prompt/s with 5 beams. The full study (issue: the paper's experiments on a
# pretrained backbone) raises DS_TRAIN_MAX / DS_TEST_MAX.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/amazon2018-games --since 2015-10-01 --until 2018-11-01 --core 5
DS_CATEGORY    = games
DS_INIT        = $(MODELS_DIR)/smollm2
DS_TRAIN_MAX   = 1024
DS_VALID_MAX   = 128
DS_TEST_MAX    = 1000
DS_MAXNEW      = 48
DS_BATCH       = 16
DS_MICRO       = 4
DS_LR          = 1e-4
DS_EPOCHS      = 1
DS_WARMUP      = 5
DS_SEQREC_MIN  = 10
