# Steam (Kang & McAuley), 5-core sample: 10,369 users / 3,593 games / 126,824 interactions
# (Sec. 4.4.3 of the paper). No window, 8:1:1 time split. CPU scale.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/steam --core 5
DS_CATEGORY    = steam
DS_MAXNEW      = 48
