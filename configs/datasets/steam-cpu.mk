# Steam (Kang & McAuley), 5-core sample: 10,369 users / 3,593 games / 126,824 interactions
# (Sec. 4.4.3 of the paper). No window, 8:1:1 time split. CPU scale.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/steam --core 5
DS_CATEGORY    = steam
DS_MAXNEW      = 48
# At the shared 20k scale BIGRec stayed below MostPop on Steam (reports/steam-cpu-20k/):
# Steam's whole train split (~93k samples) and LM corpus are used instead.
DS_TRAIN_MAX   = 0
DS_LM_MAX      = 0
