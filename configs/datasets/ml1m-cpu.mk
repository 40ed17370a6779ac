# MovieLens-1M (5-core, 6,040 users / 3,416 movies / 999,611 ratings), CPU scale.
# No date window (ML-1M spans 2000-04..2003-02), 8:1:1 time split as D3.
DS_IMPORT      = --format tsv $(DATA_ROOT)/movielens-1m --core 5
DS_CATEGORY    = movies
DS_MODEL       = configs/models/demo.json
DS_VOCAB       = 4000
DS_TRAIN_MAX   = 20000
DS_VALID_MAX   = 500
DS_TEST_MAX    = 1000
DS_BASE_LR     = 3e-3
DS_BASE_EPOCHS = 1
DS_LR          = 2e-3
DS_EPOCHS      = 1
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 32
DS_SEQREC_MIN  = 1.5
DS_LM_MAX      = 20000
