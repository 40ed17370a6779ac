# Amazon 2018 CDs_and_Vinyl at the paper's scale (Table 2: 21,347 users / 14,239 items / 185,855 interactions), processed as D3:
# raw 5-core reviews + metadata (`make fetch-cds`, internet needed), window 2017-10-01 ..
# 2018-11-01 widened a year at a time while fewer than 10,000 items survive, 5-core, 8:1:1.
# Training as Sec. 4.1.4 (lr 1e-4, batch 64, dropout 0.05, 3 epochs, early stop, 5 beams).
# Needs a Qwen2-0.5B-shaped checkpoint and a GPU backend (not built yet): not run here.
DS_AMZ         = $(DATA_ROOT)/amazon2018-full/CDs_and_Vinyl_5.json.gz --meta $(DATA_ROOT)/amazon2018-full/meta_CDs_and_Vinyl.json.gz --widen
DS_CATEGORY    = cds
DS_MODEL       = configs/models/qwen2-0.5b.json
DS_VOCAB       = 151936
DS_TRAIN_MAX   = 0
DS_VALID_MAX   = 1000000
DS_TEST_MAX    = 1000000
DS_LM_MAX      = 0
DS_BASE_LR     = 1e-4
# DS_INIT: an HF Qwen2-0.5B directory (config.json, model.safetensors; needs a sentencepiece tokenizer.model)
DS_INIT        = $(DATA_ROOT)/qwen2-0.5b
DS_LR          = 1e-4
DS_EPOCHS      = 3
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 64
