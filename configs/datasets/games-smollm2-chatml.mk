# games-smollm2 with the prompts in SmolLM2's own chat turns (mkprompt --frame chatml, the
# system message its chat template puts in by default) instead of the paper's Alpaca frame:
# the same samples, the same fine-tune; `bigrec.val` of the two says which frame does better
# on validation (README, Pretrained backbones).
include configs/datasets/games-smollm2.mk
DS_FRAME       = chatml
DS_SYSTEM      = You are a helpful AI assistant named SmolLM, trained by Hugging Face
