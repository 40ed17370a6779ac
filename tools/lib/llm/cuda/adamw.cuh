/* adamw.cuh: twin of model.c's model_adamw, model_grad_norm and model_scale_grads, over the
 * trainable floats [off, n) of the contiguous buffers. */
#pragma once
#include "common.cuh"

static __global__ void adamw_kernel(float *P, const float *G, float *M, float *Vv, size_t off, size_t n, float step_size,
                             float bc2s, float decay, float beta1, float beta2, float omb1, float omb2,
                             float eps) {
    size_t i = off + (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = G[i];
    float p = P[i] * decay;
    float m = M[i] * beta1 + g * omb1;
    float v = Vv[i] * beta2 + omb2 * g * g;
    M[i] = m; Vv[i] = v;
    P[i] = p + -step_size * (m / (sqrtf(v) / bc2s + eps));
}
/* sum of squares in double per fixed chunk of GN_CHUNK floats (one block each) */
#define GN_CHUNK (1 << 16)
static __global__ void sumsq_chunks_kernel(double *part, const float *G, size_t off, size_t n) {
    size_t a = off + (size_t)blockIdx.x * GN_CHUNK, e = a + GN_CHUNK < n ? a + GN_CHUNK : n;
    double s = 0;
    for (size_t i = a + threadIdx.x; i < e; i += blockDim.x) { double g = G[i]; s += g * g; }
    s = block_sum(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
static __global__ void scale_kernel(float *G, size_t off, size_t n, float s) {
    size_t i = off + (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) G[i] *= s;
}
