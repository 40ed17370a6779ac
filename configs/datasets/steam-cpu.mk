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
# With the cpu scale's d=128 model BIGRec stayed at half of MostPop's validation HR@10 at
# every learning rate from 1e-3 to 8e-3 (reports/steam-cpu-d128/lr-steam-cpu.md): the
# learning rate is not what limits it, so the model is 8x larger (d=256, 4 layers, ~4M
# parameters) and the rate is selected again on validation (make lr-sweep).
DS_MODEL       = configs/models/cpu-medium.json
# 1,000 validation samples: the lr sweep and early stopping select on them
DS_VALID_MAX   = 1000
