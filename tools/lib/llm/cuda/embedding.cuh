/* embedding.cuh: twin of model.c's embedding_forward / embedding_backward. */
#pragma once
#include "common.cuh"

/* x (n,C) = embed[tok] (V,C); grid (n), threads over C */
static __global__ void embedding_forward_kernel(float *x, const int *tok, const float *embed, int C) {
    int i = blockIdx.x;
    const float *e = embed + (size_t)tok[i] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) x[(size_t)i * C + c] = e[c];
}
/* dembed (V,C) += scatter of dx (n,C): gather_add_kernel over the rows of each distinct token
 * (in row order, as the CPU sums them), built on the host by the caller. */
