# Amazon 2018 Video_Games at the paper's scale (Table 2: 34,089 users / 11,037 items /
# 252,015 interactions): the raw 5-core + metadata files (`make fetch-games`), D3's
# processing with the widened window, all samples, Qwen2-0.5B settings of Sec. 4.1.4
# (lr 1e-4, batch 64, dropout 0.05, 3 epochs, early stop). Needs a real Qwen2-shaped
include configs/scales/paper.mk
DS_AMZ         = $(DATA_ROOT)/amazon2018-full/Video_Games_5.json.gz --meta $(DATA_ROOT)/amazon2018-full/meta_Video_Games.json.gz --widen
DS_CATEGORY    = games
