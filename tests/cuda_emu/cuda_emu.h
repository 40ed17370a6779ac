/* cuda_emu.h: just enough of CUDA to build this project's CUDA sources (model_cuda.cu,
 * infer_cuda.cu, the cuda/ headers) as C++ and run them on a CPU, so that their kernels and host
 * logic are checked on machines without a GPU (tests/test_cuda_emu.sh). The runtime is
 * cuda_emu.cc.
 *  - Execution model: a launch runs its blocks one after another. A block runs its threads in
 *    turn on the host stack until one reaches a barrier; from then on (and for every later
 *    launch of that kernel) the block's threads are coroutines switched only at
 *    __syncthreads, __syncwarp and the warp shuffles, which act as barriers over the block's
 *    or warp's live threads (a returned thread no longer counts, as on Volta and later). A
 *    block whose threads wait at a barrier the others never reach is reported as a deadlock.
 *  - Memory: device memory is host memory; `static __shared__` locals are one per block (blocks
 *    run one at a time); the dynamic `extern __shared__ float sm[]` is emu_sm, NaN-filled at
 *    each block so a read before a write shows.
 *  - cuBLAS: Sgemm and GemmEx (bf16 or fp32 operands, fp32 out) through OpenBLAS in fp32; the
 *    math modes (TF32) are accepted and not modelled.
 * Not modelled: memory ordering and races the barriers do not order, timing, warp divergence
 * costs, precision of tensor cores, anything about performance or the hardware. */
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>

#define __global__
#define __device__
#define __host__
#define __shared__
#define __forceinline__ inline
using std::max;
using std::min;

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct emu_u3 { unsigned x, y, z; };

namespace emu {
constexpr size_t SM_FLOATS = 12 * 1024;          /* 48 KiB: the default dynamic shared limit */
extern emu_u3 tid, bid;
extern dim3 bdim, gdim;
void syncthreads();
void syncwarp();
void shfl_slot(const void *v, size_t n, unsigned src_lane_xor, unsigned src_lane, int xor_mode, void *out);
/* run f(ctx) as every block of grid (blocks in turn); key identifies the kernel */
void launch(dim3 grid, dim3 block, size_t shared, const void *key, void (*f)(void *), void *ctx);
}  // namespace emu

#define threadIdx (emu::tid)
#define blockIdx (emu::bid)
#define blockDim (emu::bdim)
#define gridDim (emu::gdim)
inline void __syncthreads() { emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)mask; emu::syncwarp(); }
template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    if (mask != 0xffffffffu) { fprintf(stderr, "cuda_emu: partial shuffle masks are not modelled\n"); exit(2); }
    T r; emu::shfl_slot(&v, sizeof(T), (unsigned)lane_mask, 0, 1, &r); return r;
}
template <typename T> T __shfl_sync(unsigned mask, T v, int src_lane) {
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    if (mask != 0xffffffffu) { fprintf(stderr, "cuda_emu: partial shuffle masks are not modelled\n"); exit(2); }
    T r; emu::shfl_slot(&v, sizeof(T), 0, (unsigned)src_lane, 0, &r); return r;
}

/* the dynamic shared memory of every kernel (they all name it sm) */
extern float sm[emu::SM_FLOATS];

/* kernel<<<grid, block, shared>>>(args...) is written emu_cfg(grid, block, shared).run(kernel, args...)
 * by tests/cuda_emu/emu_source.sh */
struct emu_cfg {
    dim3 g, b; size_t s;
    emu_cfg(dim3 g_, dim3 b_, size_t s_ = 0) : g(g_), b(b_), s(s_) {}
    template <typename... P, typename... A> void run(void (*k)(P...), A... args) {
        struct Ctx { void (*k)(P...); std::tuple<P...> a; } c{k, std::tuple<P...>((P)args...)};
        emu::launch(g, b, s, (const void *)k, [](void *p) { Ctx *c = (Ctx *)p; std::apply(c->k, c->a); }, &c);
    }
};

/* ---- bf16 ---- */
struct __nv_bfloat16 { uint16_t x; };
inline __nv_bfloat16 __float2bfloat16(float f) {   /* round to nearest even, as the device */
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(uint16_t)((u >> 16) | 0x40)};   /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return {(uint16_t)(u >> 16)};
}
inline float __bfloat162float(__nv_bfloat16 b) { uint32_t u = (uint32_t)b.x << 16; float f; memcpy(&f, &u, 4); return f; }

/* ---- runtime ---- */
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidValue = 1 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
struct cudaDeviceProp { char name[256]; int major, minor; size_t totalGlobalMem; int multiProcessorCount; };
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaMalloc(void **p, size_t n);
template <typename T> cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc((void **)p, n); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemset(void *d, int v, size_t n);
cudaError_t cudaMemcpy2D(void *d, size_t dpitch, const void *s, size_t spitch, size_t width, size_t height, cudaMemcpyKind k);
cudaError_t cudaGetLastError();
cudaError_t cudaDeviceSynchronize();
const char *cudaGetErrorString(cudaError_t e);

/* ---- cuBLAS ---- */
typedef struct emu_blas *cublasHandle_t;
typedef int cublasStatus_t;
enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 };
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2, CUBLAS_TF32_TENSOR_OP_MATH = 3 } cublasMath_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m);
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc);
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                            int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t comp,
                            cublasGemmAlgo_t algo);
