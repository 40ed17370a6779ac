# Amazon 2014 Beauty 5-core (22,332 users / 12,086 items / 198,215 interactions) from $(DATA_ROOT)/amazon2014-beauty,
# no window, 8:1:1 time split, at the shared cpu scale. Not one of the paper's datasets.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/amazon2014-beauty --core 5
DS_CATEGORY    = beauty
DS_MAXNEW      = 48
