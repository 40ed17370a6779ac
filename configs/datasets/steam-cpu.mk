# Steam (Kang & McAuley), 5-core sample: 10,369 users / 3,593 games / 126,824 interactions
# (Sec. 4.4.3 of the paper). No window, 8:1:1 time split. CPU scale.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/steam --core 5
DS_CATEGORY    = steam
DS_MAXNEW      = 48
# Fine-tuning on the whole train split (2010-2017, one epoch) put BIGRec far below MostPop
# (reports/steam-cpu-full/): Steam's popularity drifts, so the 20,000 most recent train
# samples are kept; the base LM reads the whole train-period corpus.
DS_LM_MAX      = 0
# BIGRec stays below MostPop on validation at every learning rate tried (make lr-sweep,
# reports/lr-steam-cpu.md), and an 8x larger model (configs/models/cpu-medium.json, d=256,
# 4 layers) did no better (reports/steam-cpu-medium/): the demo model is kept.
# 1,000 validation samples: the lr sweep and early stopping select on them
DS_VALID_MAX   = 1000
# selected on validation NDCG@10 among lr 5e-4..1.6e-2 x 1 or 3 epochs (reports/lr-steam-cpu.md)
DS_LR          = 2e-3
DS_EPOCHS      = 3
# every test sample (11,646): with 1,000 the paired-bootstrap CIs were about +-0.015 HR@10,
# wider than any difference between methods; decoding all of them costs minutes, not hours
DS_TEST_MAX    = 0
