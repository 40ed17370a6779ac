/* rope.cuh: twin of model.c's rope_forward / rope_backward (HF rotate-half, both Qwen2 and
 * Llama: the GGUF import has undone llama.cpp's interleaved Q/K rows). In place on x (n, H*HD);
 * dir +1 the rotation, -1 its transpose (the backward). grid (n), threads over H * HD/2. */
#pragma once
#include "common.cuh"

static __global__ void rope_kernel(float *x, const int *pos, const float *cosT, const float *sinT, int H, int HD, int dir) {
    int i = blockIdx.x, h2 = HD / 2;
    const float *cs = cosT + (size_t)pos[i] * h2, *sn = sinT + (size_t)pos[i] * h2;
    for (int t = threadIdx.x; t < H * h2; t += blockDim.x) {
        int h = t / h2, j = t % h2;
        float *v = x + (size_t)i * H * HD + (size_t)h * HD;
        float a = v[j], b = v[j + h2], s = dir > 0 ? sn[j] : -sn[j];
        v[j] = a * cs[j] - b * s;
        v[j + h2] = b * cs[j] + a * s;
    }
}
