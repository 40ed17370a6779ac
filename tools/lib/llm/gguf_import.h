/* gguf_import: write a checkpoint directory (ckpt.h layout) from a llama.cpp GGUF model.
 * Supported: general.architecture llama (Llama / SmolLM2) and qwen2 (Qwen2 / Qwen2.5), every
 * tensor type gguf.h dequantises, tokenizer.ggml.model gpt2 (byte-level BPE) with the
 * pre-tokenisers smollm and qwen2. The directory gets
 *   config.json            HF LlamaConfig / Qwen2Config (attention_bias, tie_word_embeddings,
 *                          RoPE theta, eps, context, bos/eos/pad from the GGUF metadata)
 *   model.safetensors      F32, HF names; Llama's Q/K rows un-permuted (see gguf_import.c)
 *   tokenizer.json         HF tokenizers format: vocab, merges, added tokens (control and
 *                          user-defined GGUF tokens), the reference normaliser and pre-tokeniser
 *   tokenizer_config.json  special tokens by content, chat template
 * Anything the model would compute differently (partial or scaled RoPE, sliding windows,
 * experts, other pre-tokenisers) is refused with one line naming the key. nparts > 1: the
 * parts' byte concatenation is the GGUF file (models published split in raw pieces). */
#ifndef CFT_GGUF_IMPORT_H
#define CFT_GGUF_IMPORT_H
void gguf_import(int nparts, const char *const *parts, const char *out_dir);
#endif
