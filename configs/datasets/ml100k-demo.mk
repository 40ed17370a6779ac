# MovieLens-100k, demo scale (make demo): what a newcomer runs first on 2 CPU cores.
# Data: $(DATA_ROOT)/movielens-100k (943 users, 1682 movies, 100k ratings), no window,
# 5-core (a no-op on ML-100k), D3-style 8:1:1 time split, titles keep their year.
# Scale: base LM on 20,000 lines of the LM corpus (train-period title sequences, mkcorpus),
# then BIGRec / CFT fine-tuned 1 epoch on the most recent 20,000 train samples, early
# stopping on 500 valid samples, evaluated on 1000 test samples (every k-th of the test
# period). Model configs/models/demo.json (d=128, 2 layers, 4/2 heads, BPE vocab 4000)
# trained from scratch (no pretrained LLM can be downloaded here), hence learning rates
# far above the paper's 1e-4 (3e-3 base, 2e-3 fine-tuning).
# Cost: about 11 minutes on 2 cores (see README for the measured stage times).
DS_IMPORT      = --format movielens $(DATA_ROOT)/movielens-100k --core 5
DS_CATEGORY    = movies
DS_MODEL       = configs/models/demo.json
DS_VOCAB       = 4000
DS_TRAIN_MAX   = 20000
DS_VALID_MAX   = 500
DS_TEST_MAX    = 1000
DS_BASE_LR     = 3e-3
DS_BASE_EPOCHS = 1
DS_LM_MAX      = 20000
DS_LR          = 2e-3
DS_EPOCHS      = 1
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 32
DS_SEQREC_MIN  = 0.75
