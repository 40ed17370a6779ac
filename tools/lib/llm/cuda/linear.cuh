/* linear.cuh: twin of model.c's linear_forward / linear_backward: y = x w^T (+ b) with w
 * (OUT,IN) as HF stores it, through cuBLAS; the bias and its gradient here. */
#pragma once
#include "common.cuh"

/* y (n,OUT) += b (OUT); grid (n), threads over OUT */
static __global__ void add_bias_kernel(float *y, const float *b, int OUT) {
    int i = blockIdx.x;
    for (int o = threadIdx.x; o < OUT; o += blockDim.x) y[(size_t)i * OUT + o] += b[o];
}
