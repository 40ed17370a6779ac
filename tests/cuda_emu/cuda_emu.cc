/* cuda_emu.cc: the runtime of cuda_emu.h -- the block scheduler (coroutines with a minimal
 * x86-64 context switch: swapcontext's signal-mask system calls made the emulation 5x
 * slower), the CUDA runtime calls this project makes, and cuBLAS's GEMMs through OpenBLAS. */
#include "cuda_emu.h"
#include <cblas.h>
#include <unordered_map>
#include <vector>

#if !defined(__x86_64__)
#error "cuda_emu's context switch is written for x86-64"
#endif

/* emu_switch(&save_sp, load_sp): push the callee-saved registers, swap stacks, pop them */
extern "C" void emu_switch(void **save_sp, void *load_sp);
asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size emu_switch, .-emu_switch
)");

float sm[emu::SM_FLOATS];

namespace emu {
emu_u3 tid, bid;
dim3 bdim, gdim;

namespace {
constexpr size_t STACK = 64 * 1024;
struct Thread { void *sp; bool done; int wait; unsigned long at; };
std::vector<Thread> ths;
std::vector<std::vector<char>> stacks;
unsigned cur, nthreads;
void *sched_sp;
bool coroutines;            /* the block runs as coroutines (else threads in turn, no barrier allowed) */
bool met_barrier;
unsigned long bgen, barrived, progress;
std::vector<unsigned long> wgen, warrived;
std::vector<unsigned char> slots;
void (*body)(void *);
void *body_ctx;
std::unordered_map<const void *, bool> uses_barriers;   /* per kernel, learnt on its first block */

void set_tid(unsigned i) { tid = {i % bdim.x, (i / bdim.x) % bdim.y, i / (bdim.x * bdim.y)}; }
unsigned live_block() { unsigned n = 0; for (unsigned i = 0; i < nthreads; i++) n += !ths[i].done; return n; }
unsigned live_warp(unsigned w) {
    unsigned n = 0;
    for (unsigned i = w * 32; i < std::min(nthreads, w * 32 + 32); i++) n += !ths[i].done;
    return n;
}
void settle() {
    if (barrived && barrived == live_block()) { barrived = 0; bgen++; progress++; }
    for (unsigned w = 0; w < wgen.size(); w++)
        if (warrived[w] && warrived[w] == live_warp(w)) { warrived[w] = 0; wgen[w]++; progress++; }
}
void yield() { emu_switch(&ths[cur].sp, sched_sp); }
void need_coroutines() {
    met_barrier = true;
    if (!coroutines) {
        fprintf(stderr, "cuda_emu: a kernel that ran its first block without barriers met one later "
                        "(a barrier under a data-dependent condition); not modelled\n");
        exit(3);
    }
}
bool blocked(const Thread &t) {
    return (t.wait == 1 && bgen == t.at) || (t.wait == 2 && wgen[cur / 32] == t.at);
}
void trampoline() {
    body(body_ctx);
    ths[cur].done = true;
    progress++;
    settle();
    void *dead;
    emu_switch(&dead, sched_sp);   /* never resumed */
    abort();
}
void run_block_coroutines() {
    bgen = barrived = 0;
    wgen.assign(nthreads / 32, 0); warrived.assign(nthreads / 32, 0);
    slots.assign((size_t)nthreads * 8, 0);
    ths.assign(nthreads, Thread{nullptr, false, 0, 0});
    while (stacks.size() < nthreads) stacks.emplace_back(STACK);
    for (unsigned i = 0; i < nthreads; i++) {
        uintptr_t top = ((uintptr_t)stacks[i].data() + STACK) & ~(uintptr_t)15;
        void **sp = (void **)(top - 16);
        sp[0] = (void *)trampoline;                 /* emu_switch's ret lands here, rsp = top - 8 */
        sp -= 6;
        for (int r = 0; r < 6; r++) sp[r] = nullptr;   /* r15 .. rbp */
        ths[i].sp = sp;
    }
    for (;;) {
        unsigned long before = progress;
        bool any = false;
        for (unsigned i = 0; i < nthreads; i++) {
            Thread &t = ths[i];
            if (t.done) continue;
            any = true;
            cur = i;
            if (blocked(t)) continue;
            set_tid(i);
            emu_switch(&sched_sp, t.sp);
        }
        if (!any) break;
        if (progress == before) {
            fprintf(stderr, "cuda_emu: deadlock in block (%u,%u,%u): threads wait at a barrier others never reach\n",
                    bid.x, bid.y, bid.z);
            exit(3);
        }
    }
}
}  // namespace

void syncthreads() {
    need_coroutines();
    unsigned long g = bgen;
    barrived++; progress++;
    settle();
    Thread &t = ths[cur];
    t.wait = 1; t.at = g;
    while (bgen == g) yield();
    t.wait = 0;
}
void syncwarp() {
    need_coroutines();
    unsigned w = cur / 32;
    unsigned long g = wgen[w];
    warrived[w]++; progress++;
    settle();
    Thread &t = ths[cur];
    t.wait = 2; t.at = g;
    while (wgen[w] == g) yield();
    t.wait = 0;
}
void shfl_slot(const void *v, size_t n, unsigned lane_xor, unsigned src_lane, int xor_mode, void *out) {
    need_coroutines();
    memcpy(&slots[(size_t)cur * 8], v, n);
    syncwarp();
    unsigned src = (cur & ~31u) | ((xor_mode ? ((cur & 31u) ^ lane_xor) : src_lane) & 31u);
    memcpy(out, &slots[(size_t)src * 8], n);
    syncwarp();   /* nobody overwrites a slot before every lane has read */
}

void launch(dim3 grid, dim3 block, size_t shared, const void *key, void (*f)(void *), void *ctx) {
    nthreads = block.x * block.y * block.z;
    if (nthreads == 0 || nthreads > 1024) { fprintf(stderr, "cuda_emu: block of %u threads\n", nthreads); exit(2); }
    if (shared > sizeof(sm)) {
        fprintf(stderr, "cuda_emu: %zu bytes of dynamic shared memory (more than 48 KiB needs an opt-in)\n", shared);
        exit(2);
    }
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
        fprintf(stderr, "cuda_emu: invalid grid (%u,%u,%u)\n", grid.x, grid.y, grid.z);
        exit(2);
    }
    gdim = grid; bdim = block; body = f; body_ctx = ctx;
    auto it = uses_barriers.find(key);
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                bid = {x, y, z};
                if (shared) memset(sm, 0xff, shared);
                if (it == uses_barriers.end() || it->second) {
                    if (nthreads % 32) { fprintf(stderr, "cuda_emu: block of %u threads, not whole warps\n", nthreads); exit(2); }
                    coroutines = true; met_barrier = false;
                    run_block_coroutines();
                    if (it == uses_barriers.end()) it = uses_barriers.emplace(key, met_barrier).first;
                } else {
                    coroutines = false;
                    ths.assign(nthreads, Thread{nullptr, false, 0, 0});
                    for (unsigned i = 0; i < nthreads; i++) { cur = i; set_tid(i); f(ctx); }
                }
            }
}
}  // namespace emu

/* ---- runtime ---- */
cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    (void)d;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuda_emu (CPU emulation, not a GPU)");
    p->major = 9; p->minor = 0; p->totalGlobalMem = (size_t)16 << 30; p->multiProcessorCount = 1;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t n) {
    *p = malloc(n ? n : 1);
    if (!*p) return cudaErrorMemoryAllocation;
    memset(*p, 0xff, n);   /* uninitialised device memory reads as NaN */
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k) { (void)k; if (n) memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemcpy2D(void *d, size_t dpitch, const void *s, size_t spitch, size_t width, size_t height, cudaMemcpyKind k) {
    (void)k;
    if (width > dpitch || width > spitch) return cudaErrorInvalidValue;
    for (size_t r = 0; r < height; r++) memmove((char *)d + r * dpitch, (const char *)s + r * spitch, width);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *d, int v, size_t n) { if (n) memset(d, v, n); return cudaSuccess; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
const char *cudaGetErrorString(cudaError_t e) {
    return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory" : "invalid value";
}

/* ---- cuBLAS: column-major GEMMs as BLAS defines them ---- */
struct emu_blas { int math; };
cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = new emu_blas{0}; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { delete h; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { h->math = m; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc) {
    (void)h;
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, *alpha, A, lda,
                B, ldb, *beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}
static std::vector<float> widen(const void *p, cudaDataType t, size_t n) {
    std::vector<float> r(n);
    if (t == CUDA_R_32F) memcpy(r.data(), p, n * sizeof(float));
    else for (size_t i = 0; i < n; i++) r[i] = __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return r;
}
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                            int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t comp,
                            cublasGemmAlgo_t algo) {
    (void)algo;
    if (ct != CUDA_R_32F || comp != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_INVALID_VALUE;
    if (m <= 0 || n <= 0 || k <= 0) return cublasSgemm(h, ta, tb, m, n, k, (const float *)alpha, nullptr, std::max(1, lda),
                                                        nullptr, std::max(1, ldb), (const float *)beta, (float *)C, ldc);
    /* the operands as stored, column-major: A (ta ? k : m) rows x (ta ? m : k) columns at stride lda */
    size_t na = (size_t)((ta ? m : k) - 1) * lda + (ta ? k : m), nb = (size_t)((tb ? k : n) - 1) * ldb + (tb ? n : k);
    std::vector<float> a = widen(A, at, na), b = widen(B, bt, nb);
    return cublasSgemm(h, ta, tb, m, n, k, (const float *)alpha, a.data(), lda, b.data(), ldb, (const float *)beta,
                       (float *)C, ldc);
}
