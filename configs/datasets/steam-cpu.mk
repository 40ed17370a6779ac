# Steam (Kang & McAuley), 5-core sample: 10,369 users / 3,593 games / 126,824 interactions
# (Sec. 4.4.3 of the paper). No window, 8:1:1 time split. CPU scale.
DS_IMPORT      = --format tsv $(DATA_ROOT)/steam --core 5
DS_CATEGORY    = steam
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
DS_MAXNEW      = 48
DS_SEQREC_MIN  = 1.5
DS_LM_MAX      = 20000
