/* model: a Qwen2/Llama-shaped decoder-only LLM (fp32, CPU reference path). The two HF
 * architectures differ here only in the q/k/v biases (Qwen2 always has them; Llama has them when
 * config.json says attention_bias), so both are one model; model_type is kept to write the
 * config back as it was read.
 * Shapes: B batch, T time, C hidden_size, NH heads, KVH kv heads, HD = C/NH head dim,
 * F intermediate_size, V vocab_size, L layers.
 * Weights live in one contiguous buffer (params) in the order of ModelWeights below so that
 * AdamW, grad-norm and checkpointing treat them as one vector; the HF tensor names are
 * produced by model_param_name(). The training math (forward/backward/CFT loss) lives in
 * model.c; KV-cache inference (decode, ground) lives in infer.c on the same weights. */
#ifndef CFT_MODEL_H
#define CFT_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    int vocab_size, hidden_size, intermediate_size, num_hidden_layers;
    int num_attention_heads, num_key_value_heads;
    int max_position_embeddings;
    float rms_norm_eps, rope_theta;
    int tie_word_embeddings;
    int bos_token_id, eos_token_id, pad_token_id;
    int model_type;             /* MODEL_QWEN2 (default) or MODEL_LLAMA */
    int attention_bias;         /* q/k/v biases present (always for Qwen2) */
} ModelConfig;
enum { MODEL_QWEN2 = 0, MODEL_LLAMA = 1 };

/* Pointers into one contiguous float buffer, per layer l: */
typedef struct {
    float *embed_tokens;        /* (V, C)   model.embed_tokens.weight */
    float **input_layernorm;    /* [L](C)   model.layers.l.input_layernorm.weight */
    float **q_proj_w, **q_proj_b;   /* (NH*HD, C), (NH*HD); biases NULL without attention_bias */
    float **k_proj_w, **k_proj_b;   /* (KVH*HD, C), (KVH*HD) */
    float **v_proj_w, **v_proj_b;   /* (KVH*HD, C), (KVH*HD) */
    float **o_proj_w;               /* (C, NH*HD), no bias */
    float **post_attention_layernorm; /* [L](C) */
    float **gate_proj_w, **up_proj_w; /* (F, C) */
    float **down_proj_w;              /* (C, F) */
    float *norm;                /* (C)      model.norm.weight */
    float *lm_head;             /* (V, C)   == embed_tokens when tied */
} ModelWeights;

typedef struct Model Model;   /* opaque: config, weights, grads, activations, threads */

/* One row per HF tensor, in buffer order; ckpt.c maps these to safetensors. */
typedef struct { char name[96]; size_t offset, numel; int ndim; int shape[2]; } ParamInfo;
int model_param_table(const Model *m, const ParamInfo **out);   /* returns count */
float *model_params(Model *m);          /* contiguous, model_num_params() floats */
float *model_grads(Model *m);           /* same layout */

/* CFT micro-batch (Eq. 1, 3, 4, 5). Normal and counterfactual sequences are right-padded;
 * response token r of row b is predicted from position resp_pos[b*R+r] of the normal
 * sequence and cf_resp_pos[b*R+r] of the counterfactual one (-1 = no such token).
 * Weights are final: the caller has already divided by Omega (sum of weights over the
 * effective batch) so that gradient accumulation over micro-batches is exact. */
typedef struct {
    int B, T, Tc, R;            /* Tc == 0: no counterfactual pass (BIGRec, lambda 0, eval) */
    const int *tokens;          /* (B,T) */
    const int *lengths;         /* (B)  valid tokens per row (padding mask) */
    const int *cf_tokens;       /* (B,Tc) */
    const int *cf_lengths;      /* (B) */
    const int *resp_pos;        /* (B,R) */
    const int *cf_resp_pos;     /* (B,R) */
    const int *resp_label;      /* (B,R) token id to predict */
    const float *norm_weight;   /* (B,R) weight of each token's CE in L_n */
    const float *causal_weight; /* (B,R) weight of each token's CE in L_c */
} CftBatch;

/* Forward (+ backward when train != 0, accumulating into grads) of
 *   L = sum norm_weight*CE(f(x_h)) + lambda * sum causal_weight*CE(f(x_h)-f(x_0)).
 * Returns L; *Ln and *Lc get the two weighted sums. Dropout applies only when train. */
float model_cft_step(Model *m, const CftBatch *b, float lambda, int train, float *Ln, float *Lc);
/* Plain causal LM on rows of tokens (objective lm): labels = next token, pad masked. */
float model_lm_step(Model *m, int B, int T, const int *tokens, const int *lengths, int train);
void model_zero_grad(Model *m);
void model_set_dropout(Model *m, float p, uint64_t seed);
void model_set_threads(Model *m, int n);

/* AdamW (decoupled weight decay, bias-corrected), state in the Model. */
float model_grad_norm(const Model *m);
void model_scale_grads(Model *m, float s);
void model_adamw(Model *m, float lr, float beta1, float beta2, float eps, float wd, long step);
float *model_adam_m(Model *m);          /* first moment, model_num_params() floats */
float *model_adam_v(Model *m);          /* second moment */

/* Checkpoint directory I/O (config.json + model.safetensors, HF Qwen2 names). */
Model *model_load(const char *dir);                 /* dies with a clear error on bad input */
Model *model_new(const ModelConfig *cfg, uint64_t seed);   /* random init (N(0,0.02)) */
/* Sizes checked and the weight buffer allocated, parameters left for the caller to fill
 * (loading and importing overwrite every one; a 0.5B model's random init alone costs seconds).
 * Gradients and AdamW moments are allocated only when first needed (a training step, or
 * model_grads / model_adam_m / model_adam_v): inference holds the weights alone. */
Model *model_alloc(const ModelConfig *cfg);
/* The tensor table model_alloc would build (*out: caller frees; *nparams: total floats), from
 * the config alone, so a loader checks a file's shapes before it allocates anything. */
int model_config_table(const ModelConfig *cfg, ParamInfo **out, size_t *nparams);
void model_save(const Model *m, const char *dir);   /* atomic: temp dir + rename */
void model_free(Model *m);
const ModelConfig *model_config(const Model *m);
const ModelWeights *model_weights(const Model *m);
size_t model_num_params(const Model *m);
/* ---- additions by the model-math helper (additive) ---- */
/* Reuse the normal rows' hidden states for the token prefix the counterfactual prompt shares
 * with the normal one (default on; identical math without dropout). 0 = two full passes. */
void model_set_share_prefix(Model *m, int on);
/* Run the last block only for the rows whose logits model_cft_step needs (keys/values still
 * for all rows): default on, same math. 0 = full last block. */
void model_set_prune_last(Model *m, int on);
/* Freeze layers 0..n-1 and the token embedding (default 0 = train everything; 0 <= n <= L):
 * the backward stops at layer n's input (no gradient into layer n-1, no embedding scatter),
 * frozen gradients stay exactly zero, and model_adamw / model_grad_norm / model_scale_grads /
 * model_zero_grad skip the frozen parameters (AdamW leaves them, and their moments, bitwise
 * unchanged: no weight decay either). With tied embeddings and n > 0 the lm_head, being the
 * embedding matrix, is frozen too; an untied lm_head and the final norm stay trainable.
 * Frozen layers keep no activations for the backward (less memory). */
void model_set_freeze_layers(Model *m, int n);
int model_freeze_layers(const Model *m);
/* Run the steps on device "cpu" (the default; a no-op) or "cuda" (model_cuda.h: the CUDA twin
 * of this module, GEMMs in precision "tf32", "fp32" or "bf16"). Dies with the reason, in one line, when
 * no GPU can be used or the build has no CUDA. Everything else in this interface keeps working:
 * model_params / model_grads / model_adam_m / model_adam_v return current host copies (and
 * what the caller writes there reaches the device before its next step), model_save saves
 * what the device trained. The last block is not pruned on cuda (same math). */
void model_set_device(Model *m, const char *device, const char *precision);
const char *model_device_name(const Model *m);   /* "cpu", or the GPU's name */
/* Attention on cuda (call after model_set_device): "plain" (cuda/attention.cuh, the default)
 * or "fused" (cuda/attention_fused.cuh: FlashAttention-2's schedule, probabilities never
 * stored; not yet run on a GPU). "fused" on the CPU is a usage error (exit 2). */
void model_set_attention(Model *m, const char *kind);
/* FLOPs performed by the model so far (GEMMs + attention, counted as the work is done). */
double model_flops(const Model *m);
/* Logits (rows, V) of the last model_cft_step with train == 0: the normal response rows
 * (in (b,r) order, resp_pos >= 0), then the counterfactual rows of those tokens that have
 * cf_resp_pos >= 0. Overwritten by the next step; train != 0 leaves gradients there. */
const float *model_last_logits(const Model *m, int *rows);
/* Finite-difference gradient checks of every layer pair (rmsnorm, linear, rope, attention,
 * swiglu, dropout, CFT loss head) on small random inputs; prints one line per check to f;
 * returns the number of failed checks. Used by model-check gradcheck. */
int model_gradcheck_layers(uint64_t seed, FILE *f);
#endif
