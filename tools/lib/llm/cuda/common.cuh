/* common.cuh: error checks, the row-major cuBLAS product, block reductions and the gather-add
 * that replaces float atomics everywhere (a CSR of destination rows, each summed in order). */
#pragma once
#ifdef CFT_CUDA_EMU
#include "cuda_emu.h"   /* tests/cuda_emu: the kernels on the CPU, under an emulated execution model */
#else
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif
#include <stdint.h>
#include "model_plan.h"
extern "C" {
#include "util.h"
}

static inline int cdiv(long a, long b) { return (int)((a + b - 1) / b); }
#define CUDA_CHECK(x) do { cudaError_t e_ = (x); \
    if (e_ != cudaSuccess) die(EXIT_IO, "cuda: %s:%d: %s", __FILE__, __LINE__, cudaGetErrorString(e_)); } while (0)
#define CUBLAS_CHECK(x) do { cublasStatus_t s_ = (x); \
    if (s_ != CUBLAS_STATUS_SUCCESS) die(EXIT_IO, "cublas: %s:%d: status %d", __FILE__, __LINE__, (int)s_); } while (0)
/* after every launch: a bad launch configuration is reported where it happened */
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())


/* device memory: out of memory is a one-line error naming the size */
static inline void *dmalloc(size_t bytes) {
    void *p = nullptr;
    if (bytes == 0) bytes = 16;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) die(EXIT_IO, "cuda: cannot allocate %.1f MB of device memory: %s", bytes / 1e6, cudaGetErrorString(e));
    return p;
}
/* grow a device array to at least n elements (contents not kept) */
template <typename T> static void dgrow(T **p, size_t *cap, size_t n) {
    if (n <= *cap && *p) return;
    if (*p) CUDA_CHECK(cudaFree(*p));
    *cap = n > 16 ? n : 16;
    *p = (T *)dmalloc(*cap * sizeof(T));
}
template <typename T> static void h2d(T *d, const T *h, size_t n) {
    if (n) CUDA_CHECK(cudaMemcpy(d, h, n * sizeof(T), cudaMemcpyHostToDevice));
}
template <typename T> static void d2h(T *h, const T *d, size_t n) {
    if (n) CUDA_CHECK(cudaMemcpy(h, d, n * sizeof(T), cudaMemcpyDeviceToHost));
}

/* Row-major C (M,N) = alpha op(A) (M,K) op(B) (K,N) + beta C, as model.c's mm: cuBLAS is
 * column-major, and a row-major matrix is its column-major transpose, so C^T = op(B)^T op(A)^T. */
static void mm(cublasHandle_t h, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    CUBLAS_CHECK(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha,
                             B, ldb, A, lda, &beta, C, ldc));
}

/* sum / max over a block (blockDim.x a multiple of 32, <= 1024); every thread gets the result */
template <typename T> __device__ T block_sum(T v) {
    static __shared__ T sh[32];   /* static: one per block (also under tests/cuda_emu) */
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();                 /* sh may still be read by a previous call */
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = l < nw ? sh[l] : (T)0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline float block_max(float v) {
    static __shared__ float sh[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = l < nw ? sh[l] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* dst[udst[u]] (C) += sum over k in [start[u], start[u+1]) of src[list[k]] (C), in list order.
 * grid (nu, cdiv(C, blockDim.x)). With every destination row once in udst no two blocks write
 * the same element: the deterministic replacement of a scatter with atomics. */
static __global__ void gather_add_kernel(float *dst, const float *src, int C, const int *udst, const int *start,
                                  const int *list) {
    int u = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float acc = dst[(size_t)udst[u] * C + c];
    for (int k = start[u]; k < start[u + 1]; k++) acc += src[(size_t)list[k] * C + c];
    dst[(size_t)udst[u] * C + c] = acc;
}

/* Column sums of a (n, C) matrix in fixed row chunks: part (nchunk, C); then dst (C) += the
 * chunk sums in chunk order. */
#define COL_CHUNK 64
static __global__ void colsum_partial_kernel(float *part, const float *x, int n, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, ch = blockIdx.y;
    if (c >= C) return;
    int i0 = ch * COL_CHUNK, i1 = min(n, i0 + COL_CHUNK);
    float s = 0;
    for (int i = i0; i < i1; i++) s += x[(size_t)i * C + c];
    part[(size_t)ch * C + c] = s;
}
static __global__ void colsum_finish_kernel(float *dst, const float *part, int nchunk, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = dst[c];
    for (int k = 0; k < nchunk; k++) s += part[(size_t)k * C + c];
    dst[c] = s;
}
