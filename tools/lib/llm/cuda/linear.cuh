/* linear.cuh: twin of model.c's linear_forward / linear_backward: y = x w^T (+ b) with w
 * (OUT,IN) as HF stores it, through cuBLAS; the bias and its gradient here, and the bf16
 * operand copies of the bf16 precision. */
#pragma once
#include "common.cuh"
#ifndef CFT_CUDA_EMU
#include <cuda_bf16.h>
#endif

/* dst (rows, cols) packed = bf16(src (rows, cols) with row stride ld), round to nearest even */
static __global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, int rows, int cols, int ld) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (long)rows * cols) return;
    long r = t / cols, c = t % cols;
    dst[t] = __float2bfloat16(src[r * ld + c]);
}

/* y (n,OUT) += b (OUT); grid (n), threads over OUT */
static __global__ void add_bias_kernel(float *y, const float *b, int OUT) {
    int i = blockIdx.x;
    for (int o = threadIdx.x; o < OUT; o += blockDim.x) y[(size_t)i * OUT + o] += b[o];
}
