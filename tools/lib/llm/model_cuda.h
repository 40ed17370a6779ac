/* model_cuda: the CUDA twin of model.c's training math, behind model.h (model_set_device).
 * The host keeps building the step (model.c's Plan: packed rows, the shared counterfactual
 * prefix, the loss items); the device holds the weights, gradients, AdamW moments and
 * activations in the same layout as the CPU buffers and runs each layer as the CPU path
 * does, one CUDA source per concern under cuda/ (embedding, rmsnorm, linear, rope,
 * attention, swiglu, dropout, loss head, adamw). GEMMs go through cuBLAS, fp32 storage with
 * fp32 or TF32 products (precision below); no float atomics: every sum has a fixed order, so
 * a step is deterministic on a given GPU.
 * Without nvcc at build time model_cuda_none.c stands in: cuda_model_new says why and
 * returns NULL. Status: compiled and linked in CI, run on the CPU emulation of tests/cuda_emu
 * (tests/test_cuda_emu.sh, make test-cuda-emu); the kernels have not yet run on a GPU
 * (README, Limits) -- tests/test_cuda.sh is their parity suite. */
#ifndef CFT_MODEL_CUDA_H
#define CFT_MODEL_CUDA_H
#include <stddef.h>
#include <stdint.h>
#include "model_plan.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct CudaModel CudaModel;

/* float offsets of every tensor in the contiguous parameter buffer (model.c's order) */
typedef struct {
    int L, C, NH, KVH, HD, F, V, QD, KVD;
    int tied, bias;
    float eps;
    size_t nparams;
    size_t embed, norm, lm_head;
    const size_t *ln1, *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *ln2, *gu_w, *down_w;   /* [L] */
} CudaLayout;

/* GEMM precision: fp32 (the parity reference), TF32 products, or bf16 operands (the body's
 * GEMMs read bf16 copies of fp32 weights and activations, made per GEMM; fp32 accumulation
 * and outputs; the head's logits GEMMs stay TF32, and everything else fp32) */
enum { CUDA_FP32 = 0, CUDA_TF32 = 1, CUDA_BF16 = 2 };
enum { CUDA_PARAMS = 0, CUDA_GRADS = 1, CUDA_ADAM_M = 2, CUDA_ADAM_V = 3 };

/* Device 0 with the weights uploaded, or NULL with the reason in why (no driver, no device,
 * out of memory, built without CUDA). */
CudaModel *cuda_model_new(const CudaLayout *lay, const float *params, int precision, char *why, size_t nwhy);
void cuda_model_free(CudaModel *cm);
const char *cuda_device_name(const CudaModel *cm);
/* Attention kernels: 0 attention.cuh (straightforward, the default), 1 attention_fused.cuh
 * (no stored probabilities). -1 with the reason in why when the model's shape does not fit. */
int cuda_model_set_attention(CudaModel *cm, int fused, char *why, size_t nwhy);
/* whole buffers of nparams floats (the moments and gradients are allocated on first use) */
void cuda_upload(CudaModel *cm, int what, const float *host);
void cuda_download(CudaModel *cm, int what, float *host);

/* Residual dropout of one step: keys[2l + branch] as model.c's drop_key(l, branch). */
typedef struct { int on; float p; const uint64_t *keys; } CudaDrop;

/* Forward of layers 0..L-1 over the plan's rows (res[L] kept on the device). rope tables
 * (rope_n, HD/2) are model.c's, uploaded when they grow. */
void cuda_forward(CudaModel *cm, const Plan *p, const float *rope_cos, const float *rope_sin, int rope_n,
                  const CudaDrop *d, double *flops);
/* Zero the residual gradient dL/d res[L] before the head steps of a training step. */
void cuda_head_begin(CudaModel *cm);
/* Final norm, logits of rows[0..nr) of res[L], the loss items (CE and the CFT
 * logit-difference CE), and when train the backward into dL/d res[L] (body_grad) and the
 * head's weights (unless head_frozen). Adds the weighted sums to *Ln / *Lc. */
void cuda_head(CudaModel *cm, const int *rows, int nr, const Item *items, int ni, float lambda, int train,
               int head_frozen, int body_grad, double *Ln, double *Lc, double *flops);
/* Logits (rows, V) of the last cuda_head with train == 0 into host (rows * V floats). */
void cuda_last_logits(CudaModel *cm, float *host, int rows);
/* Backward of layers L-1..freeze (embedding too when freeze == 0), adding into the gradients. */
void cuda_backward(CudaModel *cm, const Plan *p, const CudaDrop *d, int freeze, double *flops);

/* Optimizer side, over the trainable floats [off, nparams): */
void cuda_zero_grad(CudaModel *cm, size_t off);
double cuda_grad_sumsq(CudaModel *cm, size_t off);     /* fixed chunks, summed in order */
void cuda_scale_grads(CudaModel *cm, size_t off, float s);
/* torch AdamW as model_adamw: step_size = lr / (1 - b1^t), bc2s = sqrt(1 - b2^t), decay = 1 - lr wd,
 * omb = 1 - beta (each rounded as model_adamw rounds it) */
void cuda_adamw(CudaModel *cm, size_t off, float step_size, float bc2s, float decay, float beta1, float beta2,
                float omb1, float omb2, float eps);
#ifdef __cplusplus
}
#endif
#endif
