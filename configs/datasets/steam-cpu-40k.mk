# Steam with twice the fine-tuning data of steam-cpu: the 40,000 most recent train samples,
# back to 2016-01 (steam-cpu's 20,000 go back to 2016-10); everything else as steam-cpu
# (d=128 model, lr 2e-3, 3 epochs). Tried because on steam-cpu no learning rate, epoch count
# or 8x model brought BIGRec above MostPop on validation. It did no better
# (reports/lr-steam-cpu-40k.md). Cost on 2 cores: base LM ~3.5 min, each 3-epoch fine-tune
# ~7 min on one core.
include configs/datasets/steam-cpu.mk
DS_TRAIN_MAX   = 40000
