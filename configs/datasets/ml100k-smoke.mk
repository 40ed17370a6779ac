# MovieLens-100k, smoke scale: the whole pipeline in about a minute (tests/test_pipeline.sh).
# Numbers from this scale mean nothing; it checks that every stage runs and chains.
DS_IMPORT      = --format movielens $(DATA_ROOT)/movielens-100k --core 5
DS_CATEGORY    = movies
DS_MODEL       = configs/models/demo.json
DS_VOCAB       = 4000
DS_TRAIN_MAX   = 256
DS_VALID_MAX   = 64
DS_TEST_MAX    = 40
DS_LM_MAX      = 2000
DS_BASE_LR     = 3e-3
DS_BASE_EPOCHS = 1
DS_LR          = 2e-3
DS_EPOCHS      = 1
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
DS_MAXNEW      = 16
DS_SEQREC_MIN  = 0.1
