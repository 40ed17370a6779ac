# Amazon 2018 Video_Games at the paper's scale (Table 2: 34,089 users / 11,037 items /
# 252,015 interactions): the raw 5-core + metadata files (`make fetch-games`), D3's
# processing with the widened window, all samples, Qwen2-0.5B settings of Sec. 4.1.4
# (lr 1e-4, batch 64, dropout 0.05, 3 epochs, early stop). Needs a real Qwen2-shaped
# checkpoint in DS_INIT and a GPU; several GPU-days on CPU. Not run here.
DS_AMZ         = $(DATA_ROOT)/amazon2018-full/Video_Games_5.json.gz --meta $(DATA_ROOT)/amazon2018-full/meta_Video_Games.json.gz --widen
DS_CATEGORY    = games
DS_MODEL       = configs/models/qwen2-0.5b.json
DS_VOCAB       = 151936
DS_TRAIN_MAX   = 0
DS_VALID_MAX   = 100000
DS_TEST_MAX    = 100000
DS_BASE_LR     = 1e-4
# DS_INIT: an HF Qwen2-0.5B directory (config.json, model.safetensors; needs a sentencepiece tokenizer.model)
DS_INIT        = $(DATA_ROOT)/qwen2-0.5b
DS_LR          = 1e-4
DS_EPOCHS      = 3
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 64
