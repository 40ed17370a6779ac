# The paper's scale (Sec. 4.1.4): all samples, Qwen2-0.5B shape started from a real
# checkpoint (DS_INIT), lr 1e-4, batch 64, dropout 0.05, 3 epochs with early stopping,
# 5 beams. Needs a GPU backend (not built yet) and a sentencepiece tokenizer.model for the
# checkpoint; not run here.
DS_MODEL       = configs/models/qwen2-0.5b.json
DS_VOCAB       = 151936
# DS_INIT: an HF Qwen2-0.5B directory (config.json, model.safetensors, tokenizer.model)
DS_INIT        = $(DATA_ROOT)/qwen2-0.5b
DS_TRAIN_MAX   = 0
DS_VALID_MAX   = 1000000
DS_TEST_MAX    = 1000000
DS_LM_MAX      = 0
DS_BASE_LR     = 1e-4
DS_LR          = 1e-4
DS_EPOCHS      = 3
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 64
