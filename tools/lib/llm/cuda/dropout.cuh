/* dropout.cuh: twin of model.c's residual_dropout_forward / _backward. The keep mask is the
 * CPU's hash of (key, row, channel) bit for bit, so a step with dropout draws the same masks
 * on either device. */
#pragma once
#include "common.cuh"

__device__ inline uint64_t mix64_dev(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
__device__ inline float drop_mask(uint64_t key, long row, int c, uint32_t thr16, float scale) {
    uint64_t h = mix64_dev(key ^ mix64_dev(((uint64_t)row << 24) ^ (uint64_t)(c >> 2)));
    return ((h >> (16 * (c & 3))) & 0xffff) >= thr16 ? scale : 0.0f;
}
/* out (n,C) = res + mask * branch (mask 1 when !on) */
static __global__ void residual_dropout_forward_kernel(float *out, const float *res, const float *branch, long total, int C,
                                                int on, uint32_t thr16, float scale, uint64_t key) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    float b = branch[t];
    if (on) b *= drop_mask(key, t / C, (int)(t % C), thr16, scale);
    out[t] = res[t] + b;
}
/* dbranch (n,C) = mask * dout */
static __global__ void residual_dropout_backward_kernel(float *dbranch, const float *dout, long total, int C,
                                                 int on, uint32_t thr16, float scale, uint64_t key) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    float d = dout[t];
    dbranch[t] = on ? d * drop_mask(key, t / C, (int)(t % C), thr16, scale) : d;
}
