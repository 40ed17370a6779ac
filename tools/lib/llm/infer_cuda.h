/* infer_cuda: the CUDA twin of infer.c (KV-cache inference for decode and ground), behind
 * infer.h (infer_set_device). infer.c keeps the host side: it checks every argument and builds
 * each row's ancestry list, then hands the step here. The device holds its own copy of the
 * weights (q/k/v separate, gate|up fused so one GEMM feeds SwiGLU), the prefix and generation
 * K/V caches in infer.c's layouts, and the activations; logits and hidden states come back to
 * the host, where beam search, the trie and grounding run unchanged. Kernels are the cuda/ headers
 * (embedding, rmsnorm, linear, rope, swiglu shared with the trainer; kvcache.cuh for the
 * cache writes and the online-softmax attention over a prefix and an ancestry). fp32 storage,
 * GEMMs fp32 or TF32. No float atomics.
 * Without nvcc at build time infer_cuda_none.c stands in (cuda_infer_new says why, NULL).
 * Status: compiled and linked, run on tests/cuda_emu's CPU emulation; never run on a GPU yet
 * (README, Limits) -- tests/test_cuda.sh
 * compares it with the CPU path. */
#ifndef CFT_INFER_CUDA_H
#define CFT_INFER_CUDA_H
#include <stddef.h>
#include "model.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct CudaInfer CudaInfer;

typedef struct {
    int L, C, NH, KVH, HD, QD, KVD, F, V;
    int bias;          /* q/k/v biases present */
    float eps, scale;  /* RMSNorm eps, 1/sqrt(HD) */
} InferShape;

/* Device 0 with w uploaded, or NULL with the reason in why. inv_freq (HD/2): infer.c's RoPE
 * frequencies, from which the device's cos/sin tables are built exactly as infer.c computes
 * them. precision: CUDA_FP32 or CUDA_TF32 (model_cuda.h). */
CudaInfer *cuda_infer_new(const InferShape *s, const ModelWeights *w, const float *inv_freq, int precision,
                          char *why, size_t nwhy);
void cuda_infer_free(CudaInfer *ci);
const char *cuda_infer_device_name(const CudaInfer *ci);
/* infer_prefill on the device (arguments already checked by infer.c); the sequences share
 * their first P tokens (infer.c's shared_prefix: computed once, as on the CPU) */
void cuda_infer_prefill(CudaInfer *ci, int nseq, const int *lens, const int *tokens, int P, int keep_cache,
                        float *out_hidden, float *out_logits);
void cuda_infer_gen_reserve(CudaInfer *ci, int max_rows, int max_new);
/* infer_step on the device: idx (n, stride) lists row r's generation entries, idx[r*stride+tau]
 * the row of step tau holding its position tau, tau = 0..t (the last is r itself) */
void cuda_infer_step(CudaInfer *ci, int n, const int *tokens, const int *prefix, int t, const int *idx,
                     int stride, float *out_logits);
#ifdef __cplusplus
}
#endif
#endif
