/* swiglu.cuh: twin of model.c's swiglu_forward / swiglu_backward; gu rows are [gate | up]. */
#pragma once
#include "common.cuh"

static __global__ void swiglu_forward_kernel(float *h, const float *gu, long total, int F) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    long i = t / F; int c = (int)(t % F);
    float g = gu[i * 2 * F + c], u = gu[i * 2 * F + F + c];
    h[t] = g / (1.0f + expf(-g)) * u;
}
static __global__ void swiglu_backward_kernel(float *dgu, const float *dh, const float *gu, long total, int F) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    long i = t / F; int c = (int)(t % F);
    float g = gu[i * 2 * F + c], u = gu[i * 2 * F + F + c], d = dh[t];
    float sg = 1.0f / (1.0f + expf(-g));
    dgu[i * 2 * F + F + c] = d * g * sg;
    dgu[i * 2 * F + c] = d * u * sg * (1.0f + g * (1.0f - sg));
}
