/* rmsnorm.cuh: twin of model.c's rmsnorm_forward / rmsnorm_backward (sums of squares and the
 * backward's dot product in double, as on the CPU). One block per row. */
#pragma once
#include "common.cuh"

/* y (n,C) = x * rsqrt(mean(x^2) + eps) * w ; rstd (n) */
static __global__ void rmsnorm_forward_kernel(float *y, float *rstd, const float *x, const float *w, int C, float eps) {
    int i = blockIdx.x;
    const float *xi = x + (size_t)i * C;
    double ss = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) ss += (double)xi[c] * xi[c];
    ss = block_sum(ss);
    float r = (float)(1.0 / sqrt(ss / C + eps));
    if (threadIdx.x == 0) rstd[i] = r;
    for (int c = threadIdx.x; c < C; c += blockDim.x) y[(size_t)i * C + c] = w[c] * (xi[c] * r);
}
/* dx (n,C) += r w dy - (dot r^3 / C) x */
static __global__ void rmsnorm_backward_dx_kernel(float *dx, const float *dy, const float *x, const float *w,
                                           const float *rstd, int C) {
    int i = blockIdx.x;
    const float *xi = x + (size_t)i * C, *dyi = dy + (size_t)i * C;
    float r = rstd[i];
    double dot = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dot += (double)dyi[c] * w[c] * xi[c];
    dot = block_sum(dot);
    float k = (float)(dot * r * r * r / C);
    for (int c = threadIdx.x; c < C; c += blockDim.x) dx[(size_t)i * C + c] += r * w[c] * dyi[c] - k * xi[c];
}
/* part (nchunk, C): per chunk of rows, sum of dy * (x * rstd) */
static __global__ void rmsnorm_dw_partial_kernel(float *part, const float *dy, const float *x, const float *rstd, int n, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, ch = blockIdx.y;
    if (c >= C) return;
    int i0 = ch * COL_CHUNK, i1 = min(n, i0 + COL_CHUNK);
    float s = 0;
    for (int i = i0; i < i1; i++) s += dy[(size_t)i * C + c] * (x[(size_t)i * C + c] * rstd[i]);
    part[(size_t)ch * C + c] = s;
}
