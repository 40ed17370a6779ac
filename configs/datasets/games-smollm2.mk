# Amazon 2018 Video_Games ("Games") on the pretrained SmolLM2-135M backbone at the smollm2-cpu
# scale (configs/scales/smollm2-cpu.mk). The data is games-cpu's (D3's window widened to
# 2015-10-01).
include configs/scales/smollm2-cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/amazon2018-games --since 2015-10-01 --until 2018-11-01 --core 5
DS_CATEGORY    = games
# the from-scratch study of the same data: its rows beside in Tables 3 and 4
DS_SCRATCH     = games-cpu
