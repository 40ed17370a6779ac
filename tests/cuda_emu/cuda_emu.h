/* cuda_emu.h: just enough of CUDA's execution model to run this project's kernels on a CPU,
 * so that their indexing, tiling, masking and reductions are checked on machines without a
 * GPU. A launch runs its blocks one after another; a block's threads are coroutines
 * (ucontext) switched only at __syncthreads, __syncwarp and the warp shuffles, which behave as
 * barriers over the block's or warp's live threads (a thread that has returned no longer
 * counts, as on Volta and later). Shared memory: `static __shared__` locals (one per block, as
 * blocks run one at a time) and the dynamic `extern __shared__ float sm[]` (emu_sm below,
 * checked against the launch's byte count). Not modelled: memory ordering, bank conflicts,
 * timing, anything about performance; a race the barriers do not order is invisible here.
 * A block that deadlocks (some threads at a barrier the others never reach) is reported. */
#pragma once
#include <ucontext.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

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
constexpr size_t SM_FLOATS = 1 << 16;            /* 256 KiB of dynamic shared memory */
inline emu_u3 tid, bid;
inline dim3 bdim, gdim;
/* wait: 0 runnable, 1 at the block barrier of generation wgen_at, 2 at its warp's */
struct Thread { ucontext_t ctx; bool done; unsigned id; int wait; unsigned long wgen_at; };
inline std::vector<std::vector<char>> stacks;    /* kept across blocks: allocating them per block costs page faults */
inline std::vector<Thread> *threads;
inline unsigned cur;
inline ucontext_t sched;
inline unsigned long bgen, barrived, progress;   /* block barrier */
inline std::vector<unsigned long> wgen, warrived; /* warp barriers */
inline std::vector<unsigned char> slot;          /* shuffle slots, 8 bytes per thread */
inline std::function<void()> body;

inline void yield() { swapcontext(&(*threads)[cur].ctx, &sched); }
inline unsigned live_block() {
    unsigned n = 0;
    for (auto &t : *threads) n += !t.done;
    return n;
}
inline unsigned live_warp(unsigned w) {
    unsigned n = 0;
    for (unsigned i = w * 32; i < std::min<unsigned>((unsigned)threads->size(), w * 32 + 32); i++) n += !(*threads)[i].done;
    return n;
}
/* release any barrier that every live thread has reached (after an arrival or an exit) */
inline void settle() {
    if (barrived && barrived == live_block()) { barrived = 0; bgen++; progress++; }
    for (unsigned w = 0; w < wgen.size(); w++)
        if (warrived[w] && warrived[w] == live_warp(w)) { warrived[w] = 0; wgen[w]++; progress++; }
}
inline void syncthreads() {
    unsigned long g = bgen;
    barrived++; progress++;
    settle();
    Thread &t = (*threads)[cur];
    t.wait = 1; t.wgen_at = g;
    while (bgen == g) yield();
    t.wait = 0;
}
inline void syncwarp() {
    unsigned w = cur / 32;
    unsigned long g = wgen[w];
    warrived[w]++; progress++;
    settle();
    Thread &t = (*threads)[cur];
    t.wait = 2; t.wgen_at = g;
    while (wgen[w] == g) yield();
    t.wait = 0;
}
/* still held at its barrier: no need to switch to it */
inline bool blocked(const Thread &t) {
    return (t.wait == 1 && bgen == t.wgen_at) || (t.wait == 2 && wgen[t.id / 32] == t.wgen_at);
}
template <typename T> T shfl_xor(T v, int mask) {
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    memcpy(&slot[(size_t)cur * 8], &v, sizeof(T));
    syncwarp();
    unsigned src = (cur & ~31u) | ((cur & 31u) ^ (unsigned)mask);
    T r;
    memcpy(&r, &slot[(size_t)src * 8], sizeof(T));
    syncwarp();   /* nobody overwrites a slot before every lane has read */
    return r;
}
inline void entry() {
    body();
    (*threads)[cur].done = true;
    progress++;
    settle();
}
/* run f as one block of bdim threads */
inline void run_block(const std::function<void()> &f) {
    unsigned n = bdim.x * bdim.y * bdim.z;
    if (n % 32) { fprintf(stderr, "cuda_emu: block of %u threads, not a multiple of 32\n", n); exit(2); }
    std::vector<Thread> ts(n);
    threads = &ts;
    body = f;
    bgen = barrived = 0;
    wgen.assign(n / 32, 0); warrived.assign(n / 32, 0);
    slot.assign((size_t)n * 8, 0);
    for (unsigned i = 0; i < n; i++) {
        Thread &t = ts[i];
        t.done = false; t.id = i; t.wait = 0; t.wgen_at = 0;
        if (stacks.size() <= i) stacks.emplace_back(64 * 1024);
        getcontext(&t.ctx);
        t.ctx.uc_stack.ss_sp = stacks[i].data();
        t.ctx.uc_stack.ss_size = stacks[i].size();
        t.ctx.uc_link = &sched;
        makecontext(&t.ctx, entry, 0);
    }
    for (;;) {
        unsigned long before = progress;
        bool any = false;
        for (unsigned i = 0; i < n; i++) {
            if (ts[i].done) continue;
            any = true;
            if (blocked(ts[i])) continue;
            cur = i;
            tid = {i % bdim.x, (i / bdim.x) % bdim.y, i / (bdim.x * bdim.y)};
            swapcontext(&sched, &ts[i].ctx);
        }
        if (!any) break;
        if (progress == before) {
            fprintf(stderr, "cuda_emu: deadlock in block (%u,%u,%u): threads wait at a barrier others never reach\n",
                    bid.x, bid.y, bid.z);
            exit(3);
        }
    }
    threads = nullptr;
}
}  // namespace emu

#define threadIdx (emu::tid)
#define blockIdx (emu::bid)
#define blockDim (emu::bdim)
#define gridDim (emu::gdim)
inline void __syncthreads() { emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)mask; emu::syncwarp(); }
template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
    if (mask != 0xffffffffu) { fprintf(stderr, "cuda_emu: partial shuffle masks are not modelled\n"); exit(2); }
    return emu::shfl_xor(v, lane_mask);
}

/* the dynamic shared memory of every kernel (they all name it sm) */
inline float sm[emu::SM_FLOATS];

/* emu_launch(grid, block, shared_bytes, kernel, args...): kernel<<<grid, block, shared_bytes>>>(args...) */
template <typename K, typename... A> void emu_launch(dim3 grid, dim3 block, size_t shared, K kernel, A... args) {
    if (shared > sizeof(sm)) { fprintf(stderr, "cuda_emu: %zu bytes of dynamic shared memory asked\n", shared); exit(2); }
    if (block.x * block.y * block.z > 1024) { fprintf(stderr, "cuda_emu: block of more than 1024 threads\n"); exit(2); }
    if (shared > 48 * 1024) { fprintf(stderr, "cuda_emu: %zu bytes of dynamic shared memory need an opt-in (cudaFuncSetAttribute)\n", shared); exit(2); }
    emu::gdim = grid; emu::bdim = block;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                emu::bid = {x, y, z};
                memset(sm, 0xff, shared);   /* NaN-filled: a read before a write shows up */
                emu::run_block([&] { kernel(args...); });
            }
}
