# The "smollm2-cpu" scale: the pretrained SmolLM2-135M backbone (imported from its GGUF file by
# `make backbone-smollm2`) fine-tuned on what 2 cores carry in about 20 minutes a run: the
# 1,024 most recent train samples, one epoch at the paper's lr 1e-4 (batch 16, so that the
# epoch is 64 AdamW steps rather than 16), early stopping on 128 valid samples, 1,000 test
# samples spread over the test period. Resumable fine-tunes save every 16 steps.
# Cost on 2 cores: about 0.8 fine-tuning samples/s at this prompt length, decoding about
# 1 test prompt/s with 5 beams. The full study raises DS_TRAIN_MAX / DS_TEST_MAX.
include configs/scales/cpu.mk
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
DS_SAVE_EVERY  = 16
