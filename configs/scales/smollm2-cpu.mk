# The "smollm2-cpu" scale: the pretrained SmolLM2-135M backbone (imported from its GGUF file by
# `make backbone-smollm2`) fine-tuned on what 2 cores carry in about 12 minutes a run: the
# 1,024 most recent train samples, one epoch (batch 16: 64 AdamW steps), full fine-tuning at
# lr 3e-4 -- chosen on Games' validation loss over lr 1e-4 / 3e-4 / 1e-3 x full / 20 layers
# frozen (reports/lr-games-smollm2.md) -- early stopping on 128 valid samples; 5,000 test
# samples spread over the test period (the issue's floor). Fine-tunes save every 16 steps and
# resume; decode / ground run in chunks kept under results/<DATASET>/ (committed), so the study,
# about a day of two cores, continues across sessions and machines: a fresh machine retrains the
# fine-tunes (deterministic for a thread count; the chunks' keys check the weights) and decodes
# only what is missing.
# Cost on 2 cores: about 1.4 fine-tuning samples/s at this prompt length, decoding about
# 1 test prompt/s with 5 beams.
include configs/scales/cpu.mk
DS_INIT        = $(MODELS_DIR)/smollm2
DS_TRAIN_MAX   = 1024
DS_VALID_MAX   = 128
# the lambda x beta' search scores its points on 1,000 validation samples (about 25 hits at
# HR@10 ~ 0.025; 128 would count 3): 6 minutes of decoding a point beside its 17-minute fine-tune
DS_GRID_VALID_MAX = 1000
DS_TEST_MAX    = 5000
DS_MAXNEW      = 48
DS_BATCH       = 16
DS_MICRO       = 4
DS_LR          = 3e-4
DS_EPOCHS      = 1
DS_WARMUP      = 5
DS_SAVE_EVERY  = 16
# OpenBLAS's AVX2 kernels on every machine (pipelines/experiment.mk): from 2026-12-04 on, so
# that a later session's retrain can reproduce a fine-tune; the runs before it used whatever
# their machine picked (their stores are taken whole with RESUMABLE_ACCEPT_RETRAIN=1)
DS_BLAS_CORETYPE = Haswell
DS_RESULTS     = results/$(DATASET)
