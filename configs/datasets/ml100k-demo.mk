# MovieLens-100k, demo scale (make demo): what a newcomer runs first on 2 CPU cores.
# Data: $(DATA_ROOT)/movielens-100k (943 users, 1682 movies, 100k ratings), no window,
# 5-core (leaves 943 users, 1349 items, 99,287 ratings), D3-style 8:1:1 time split,
# titles keep their year.
# Scale: base LM on 20,000 lines of the LM corpus (train-period title sequences, mkcorpus),
# then BIGRec / CFT fine-tuned 1 epoch on the most recent 20,000 train samples, early
# stopping on 500 valid samples, evaluated on 1000 test samples (every k-th of the test
# period). Model configs/models/demo.json (d=128, 2 layers, 4/2 heads, BPE vocab 4000)
# trained from scratch (no pretrained LLM can be downloaded here), hence learning rates
# far above the paper's 1e-4 (3e-3 base, 2e-3 fine-tuning).
# Cost: see README (measured stage times in reports/table3-ml100k-demo.md).
include configs/scales/cpu.mk
DS_IMPORT      = --format movielens $(DATA_ROOT)/movielens-100k --core 5
DS_CATEGORY    = movies
DS_MAXNEW      = 32
