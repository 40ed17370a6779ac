# Steam (the paper's Fig. 5 dataset) on the pretrained SmolLM2-135M backbone at the smollm2-cpu
# scale (configs/scales/smollm2-cpu.mk); steam-cpu's data (5-core, D3's 8:1:1 time split).
include configs/scales/smollm2-cpu.mk
DS_IMPORT      = --format tsv $(DATA_ROOT)/steam --core 5
DS_CATEGORY    = steam
# the from-scratch study of the same data: its rows beside in Tables 3 and 4
DS_SCRATCH     = steam-cpu
