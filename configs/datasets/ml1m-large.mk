# MovieLens-1M at 3x the shared cpu scale: at 20k samples (ml1m-cpu) BIGRec only tied MostPop
# and ignored the history (TV 0.03), so this config raises the base-LM corpus and the
# fine-tuning set to the 60,000 most recent lines / train samples.
# Cost on 2 cores (measured, reports/table3-ml1m-large.md): table3 + fig4 about 35 min.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/movielens-1m --core 5
DS_CATEGORY    = movies
DS_MAXNEW      = 32
DS_TRAIN_MAX   = 60000
DS_LM_MAX      = 60000
# 10,000 of the 99,358 test samples (every k-th): 1,000 gave CIs of about +-0.015 HR@10, wider
# than the differences between methods; decoding 10,000 costs about a minute per decoder
DS_TEST_MAX    = 10000
