/* ckpt: checkpoint directories (HF Qwen2 / Llama layout) and trainer state for --resume.
 * A checkpoint directory holds
 *   config.json         HF Qwen2Config / LlamaConfig keys (torch_dtype float32)
 *   model.safetensors   F32 weights under HF tensor names (lm_head.weight only when untied)
 *   tokenizer.model     sentencepiece model (copied in when the writer is given one), or
 *   tokenizer.json      an HF byte-level BPE tokenizer, with tokenizer_config.json (tok.h)
 *   optimizer.safetensors + trainer_state.json   only in resumable states (cft-step)
 * and is written as a whole: files go to DIR.tmp.PID/ (each fsync'd), then the directory is
 * swapped into place with renameat2(RENAME_EXCHANGE) (or two renames where the file system
 * lacks it) and the old copy removed. An existing DIR is only replaced when it looks like a
 * checkpoint (has config.json) or is empty. model_load / model_save (model.h) live in ckpt.c. */
#ifndef CFT_CKPT_H
#define CFT_CKPT_H
#include <cJSON.h>
#include "model.h"

/* Parse DIR/config.json into cfg; dies naming the file and key on anything unusable. */
void ckpt_read_config(const char *dir, ModelConfig *cfg);
/* The same for a config file; vocab_default > 0 stands in for a missing vocab_size, and a
 * missing model_type is accepted (a hand-written config for a fresh model). */
void ckpt_read_config_file(const char *file, ModelConfig *cfg, int vocab_default);
/* Write a checkpoint directory. tokenizer: path of a tokenizer.model or tokenizer.json to copy
 * in (NULL: none).
 * state: trainer state JSON to store as trainer_state.json; with_optimizer: also store the
 * AdamW moments as optimizer.safetensors (tensors "adam_m", "adam_v", flat). */
void ckpt_save(const Model *m, const char *dir, const char *tokenizer, const cJSON *state, int with_optimizer);
/* Load optimizer moments from DIR/optimizer.safetensors into m (sizes checked) and return
 * DIR/trainer_state.json parsed (caller frees with cJSON_Delete). Dies when absent/bad. */
cJSON *ckpt_load_state(Model *m, const char *dir);
/* 1 if DIR/NAME exists as a regular file */
int ckpt_has(const char *dir, const char *name);
#endif
