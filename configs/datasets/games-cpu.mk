# Amazon 2018 Video_Games ("Games", one of the paper's three datasets), CPU scale.
# Data: $(DATA_ROOT)/amazon2018-games (5-core, 1999-10..2018-10, titles with HTML entities).
# D3's window 2017-10-01..2018-11-01 + 5-core leaves NOTHING of this 5-core file (the k-core
# collapses), so the window is widened a year at a time as D3's code does: from 2015-10-01
# it keeps 10,108 users / 4,170 items / 76,978 interactions (see reports/).
# Scale: as the demo (base LM on 20k corpus lines, 1 epoch on the most recent 20k train
# samples, 500 valid, 1000 test, model demo.json d=128 x 2 layers) — sized to what one
# 3-hour working session could run for three datasets; raise DS_TRAIN_MAX/DS_LM_MAX and
# DS_MODEL for a longer run.
# Paper scale: games-paper.mk (GPU).
# Cost on 2 cores (measured, reports/*-games-cpu.md): all stages of table3 + ablation + fig4
# about 13 min of compute (table3 alone 11 min incl. the seqrec baselines).
include configs/scales/cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/amazon2018-games --since 2015-10-01 --until 2018-11-01 --core 5
DS_CATEGORY    = games
DS_MAXNEW      = 48
# lambda selected by `make grid` on validation NDCG@10 (reports/grid-games-cpu.md, 3 x 3
# points; the spread between points is within validation noise); beta' stays 1.6
DS_LAMBDA      = 0.025
# every test sample (6,687): with 1,000 the paired-bootstrap CIs were about +-0.015 HR@10,
# wider than any difference between methods; decoding all of them costs minutes, not hours
DS_TEST_MAX    = 0
