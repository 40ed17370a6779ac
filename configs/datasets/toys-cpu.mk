# Amazon 2014 Toys 5-core (19,124 users / 11,758 items / 165,247 interactions) from $(DATA_ROOT)/amazon2014-toys,
# no window, 8:1:1 time split, at the shared cpu scale. Not one of the paper's datasets.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/amazon2014-toys --core 5
DS_CATEGORY    = toys
DS_MAXNEW      = 48
# 5,000 of the ~16,500 test samples (every k-th): CIs near +-0.007 HR@10 at a third of the
# decoding cost of the whole split
DS_TEST_MAX    = 5000
