# Amazon 2018 CDs_and_Vinyl at the paper's scale (Table 2: 21,347 users / 14,239 items / 185,855 interactions), processed as D3:
# raw 5-core reviews + metadata (`make fetch-cds`, internet needed), window 2017-10-01 ..
# 2018-11-01 widened a year at a time while fewer than 10,000 items survive, 5-core, 8:1:1.
# Training as Sec. 4.1.4 (lr 1e-4, batch 64, dropout 0.05, 3 epochs, early stop, 5 beams).
# Needs a Qwen2-0.5B-shaped checkpoint and a GPU backend (not built yet): not run here.
include configs/scales/paper.mk
DS_AMZ         = $(DATA_ROOT)/amazon2018-full/CDs_and_Vinyl_5.json.gz --meta $(DATA_ROOT)/amazon2018-full/meta_CDs_and_Vinyl.json.gz --widen
DS_CATEGORY    = cds
