# MovieLens-1M (5-core, 6,040 users / 3,416 movies / 999,611 ratings), CPU scale.
# No date window (ML-1M spans 2000-04..2003-02), 8:1:1 time split as D3.
# Cost on 2 cores (measured, reports/*-ml1m-cpu.md): table3 + ablation + fig4 about 13 min.
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/movielens-1m --core 5
DS_CATEGORY    = movies
DS_MAXNEW      = 32
# 10,000 of the 99,358 test samples (every k-th): 1,000 gave CIs of about +-0.015 HR@10, wider
# than the differences between methods; decoding 10,000 costs about a minute per decoder
DS_TEST_MAX    = 10000
