# The "cpu" scale shared by the *-cpu dataset configs and the demo: what one 2-core machine
# runs in minutes per dataset. Base LM on 20,000 lines of the train-period corpus, then one
# fine-tuning epoch on the 20,000 most recent train samples, early stopping on 500 valid
# samples, 1,000 test samples (both spread evenly over their periods); model
# configs/models/demo.json (d=128, 2 layers, 4/2 heads, BPE vocab 4000) from scratch, hence
# learning rates far above the paper's 1e-4.
# Raise DS_TRAIN_MAX / DS_LM_MAX (0 = all), DS_EPOCHS and DS_MODEL for a longer run.
DS_MODEL       = configs/models/demo.json
DS_VOCAB       = 4000
DS_TRAIN_MAX   = 20000
DS_VALID_MAX   = 500
DS_TEST_MAX    = 1000
DS_LM_MAX      = 20000
DS_BASE_LR     = 3e-3
DS_BASE_EPOCHS = 1
DS_LR          = 2e-3
DS_EPOCHS      = 1
DS_LAMBDA      = 0.1
DS_BETA_PRIME  = 1.6
