/* attention_fused.cuh: the fused twin of attention.cuh (FlashAttention-2's schedule in fp32 on
 * CUDA cores): the same grouped-query causal attention over the plan's sequences, but the
 * (NH, qn, klen) probabilities are never stored. The forward keeps one log-sum-exp per (row,
 * head); the backward recomputes each probability from q, k and that log-sum-exp. Memory per
 * layer drops from NH * qn * klen floats per sequence to NH per row, and keys/values are read
 * once per tile of queries instead of once per query.
 *   forward:  a warp per query row, FA_BQ rows per block, keys in shared-memory tiles of FA_BK
 *             (a lane per key for the scores, a lane per head dimension for the output);
 *             online softmax (running max m and sum l, rescaled per tile).
 *   backward: Drow = dO . O per (row, head) (= sum_j P dP); dq as the forward's schedule;
 *             dK/dV a warp per key, queries in tiles of 32 (a lane per query), written per
 *             index entry like attention.cuh (kpart/vpart, then gather_add_kernel): no atomics,
 *             every sum in a fixed order.
 * Needs HD <= FA_MAXHD. Status: never run on a GPU (tests/test_cuda.sh compares it with the
 * CPU when a GPU is present); run on the CPU under tests/cuda_emu (an emulation of blocks,
 * barriers and warp shuffles) against a double reference by tests/test_cuda_emu.sh. */
#pragma once
#include "common.cuh"

#define FA_BQ 8          /* query rows per block (one warp each) */
#define FA_BK 32         /* keys per tile (one lane each) */
#define FA_BKV 8         /* keys per block in the dK/dV kernel (one warp each) */
#define FA_MAXHD 128
#define FA_NC (FA_MAXHD / 32)   /* head dimensions per lane */

static __device__ inline float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
static __device__ inline float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* shared floats of the forward and dq kernels */
static inline size_t fa_q_shared(int HD) {
    return sizeof(float) * ((size_t)FA_BK * (HD + 1) + (size_t)FA_BK * HD + 2 * (size_t)FA_BQ * HD + (size_t)FA_BQ * FA_BK);
}
/* and of the dK/dV kernel */
static inline size_t fa_kv_shared(int HD) {
    return sizeof(float) * (2 * (size_t)32 * (HD + 1) + 2 * (size_t)FA_BKV * HD + 2 * (size_t)FA_BKV * 32 + 2 * 32);
}

/* Load a tile of FA_BK keys/values (positions j0..j0+FA_BK-1 below kend, else zeros) of kv
 * head g: ks rows padded to HD+1 (a lane per key reads a column: no bank conflicts). */
static __device__ inline void fa_load_kv(float *ks, float *vs, const float *k, const float *v, const int *ix, int j0,
                                         int kend, int g, int HD, int KVD) {
    for (int t = threadIdx.x; t < FA_BK * HD; t += blockDim.x) {
        int j = t / HD, e = t % HD;
        float kv = 0.0f, vv = 0.0f;
        if (j0 + j < kend) {
            size_t row = (size_t)ix[j0 + j] * KVD + (size_t)g * HD + e;
            kv = k[row]; vv = v[row];
        }
        ks[j * (HD + 1) + e] = kv;
        vs[j * HD + e] = vv;
    }
}

/* grid (cdiv(maxq, FA_BQ), NH, nseq), FA_BQ * 32 threads, fa_q_shared(HD) bytes.
 * out (n, QD) = softmax(q k^T scale) v; lse (n, NH) = log sum exp of the row's scores. */
static __global__ void attention_fused_forward_kernel(float *out, float *lse, const float *q, const float *k,
                                                      const float *v, const Seq *seqs, const int *idx, int NH, int KVH,
                                                      int HD, float scale) {
    const Seq S = seqs[blockIdx.z];
    int i0 = blockIdx.x * FA_BQ;
    if (i0 >= S.qn) return;   /* the whole block: no barrier is skipped by part of it */
    int h = blockIdx.y, g = h / (NH / KVH), QD = NH * HD, KVD = KVH * HD;
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31, i = i0 + w, last = S.qstart + i;
    bool active = i < S.qn;
    extern __shared__ float sm[];
    float *ks = sm, *vs = ks + FA_BK * (HD + 1), *qs = vs + FA_BK * HD, *ps = qs + 2 * FA_BQ * HD;
    for (int t = threadIdx.x; t < FA_BQ * HD; t += blockDim.x) {
        int r = t / HD, e = t % HD;
        qs[t] = i0 + r < S.qn ? q[(size_t)(S.qoff + i0 + r) * QD + (size_t)h * HD + e] : 0.0f;
    }
    const int *ix = idx + S.idx_off;
    int kend = S.qstart + min(i0 + FA_BQ, S.qn);   /* keys any row of the block reads */
    float m = -INFINITY, l = 0.0f, o[FA_NC];
#pragma unroll
    for (int c = 0; c < FA_NC; c++) o[c] = 0.0f;
    for (int j0 = 0; j0 < kend; j0 += FA_BK) {
        __syncthreads();   /* the previous tile is consumed (and qs written, the first time) */
        fa_load_kv(ks, vs, k, v, ix, j0, kend, g, HD, KVD);
        __syncthreads();
        if (!active || j0 > last) continue;   /* warp-uniform */
        int j = j0 + lane;
        float s = -INFINITY;
        if (j <= last) {
            const float *qr = qs + w * HD, *kr = ks + lane * (HD + 1);
            float acc = 0.0f;
            for (int e = 0; e < HD; e++) acc += qr[e] * kr[e];
            s = acc * scale;
        }
        float mnew = fmaxf(m, warp_max(s));   /* finite: lane 0's key j0 <= last */
        float p = j <= last ? expf(s - mnew) : 0.0f, alpha = expf(m - mnew);
        l = l * alpha + warp_sum(p);
        ps[w * FA_BK + lane] = p;
        __syncwarp();
        int nj = min(FA_BK, last - j0 + 1);
#pragma unroll
        for (int c = 0; c < FA_NC; c++) {
            int e = lane + 32 * c;
            if (e < HD) {
                float acc = o[c] * alpha;
                for (int jj = 0; jj < nj; jj++) acc += ps[w * FA_BK + jj] * vs[jj * HD + e];
                o[c] = acc;
            }
        }
        __syncwarp();      /* ps is rewritten by the next tile */
        m = mnew;
    }
    if (!active) return;
    float inv = 1.0f / l;
    float *orow = out + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
#pragma unroll
    for (int c = 0; c < FA_NC; c++) {
        int e = lane + 32 * c;
        if (e < HD) orow[e] = o[c] * inv;
    }
    if (lane == 0) lse[(size_t)(S.qoff + i) * NH + h] = m + logf(l);
}

/* grid (n, NH), 32 threads: Drow (n, NH) = dO . O per row and head */
static __global__ void attention_fused_rowdot_kernel(float *Drow, const float *dout, const float *out, int NH, int HD) {
    int r = blockIdx.x, h = blockIdx.y, QD = NH * HD;
    const float *a = dout + (size_t)r * QD + (size_t)h * HD, *b = out + (size_t)r * QD + (size_t)h * HD;
    float s = 0.0f;
    for (int e = threadIdx.x; e < HD; e += 32) s += a[e] * b[e];
    s = warp_sum(s);
    if (threadIdx.x == 0) Drow[(size_t)r * NH + h] = s;
}

/* grid (cdiv(maxq, FA_BQ), NH, nseq), FA_BQ * 32 threads, fa_q_shared(HD) bytes.
 * dq (n, QD) = sum_j dS_j k_j (written, not added), dS_j = P_j (dO . v_j - Drow) scale. */
static __global__ void attention_fused_backward_dq_kernel(float *dq, const float *dout, const float *lse,
                                                          const float *Drow, const float *q, const float *k,
                                                          const float *v, const Seq *seqs, const int *idx, int NH,
                                                          int KVH, int HD, float scale) {
    const Seq S = seqs[blockIdx.z];
    int i0 = blockIdx.x * FA_BQ;
    if (i0 >= S.qn) return;
    int h = blockIdx.y, g = h / (NH / KVH), QD = NH * HD, KVD = KVH * HD;
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31, i = i0 + w, last = S.qstart + i;
    bool active = i < S.qn;
    extern __shared__ float sm[];
    float *ks = sm, *vs = ks + FA_BK * (HD + 1), *qs = vs + FA_BK * HD, *dos = qs + FA_BQ * HD, *ps = dos + FA_BQ * HD;
    for (int t = threadIdx.x; t < FA_BQ * HD; t += blockDim.x) {
        int r = t / HD, e = t % HD;
        bool ok = i0 + r < S.qn;
        size_t row = (size_t)(S.qoff + i0 + r) * QD + (size_t)h * HD + e;
        qs[t] = ok ? q[row] : 0.0f;
        dos[t] = ok ? dout[row] : 0.0f;
    }
    float L = active ? lse[(size_t)(S.qoff + i) * NH + h] : 0.0f, D = active ? Drow[(size_t)(S.qoff + i) * NH + h] : 0.0f;
    const int *ix = idx + S.idx_off;
    int kend = S.qstart + min(i0 + FA_BQ, S.qn);
    float acc[FA_NC];
#pragma unroll
    for (int c = 0; c < FA_NC; c++) acc[c] = 0.0f;
    for (int j0 = 0; j0 < kend; j0 += FA_BK) {
        __syncthreads();
        fa_load_kv(ks, vs, k, v, ix, j0, kend, g, HD, KVD);
        __syncthreads();
        if (!active || j0 > last) continue;
        int j = j0 + lane;
        float ds = 0.0f;
        if (j <= last) {
            const float *qr = qs + w * HD, *dr = dos + w * HD, *kr = ks + lane * (HD + 1), *vr = vs + lane * HD;
            float s = 0.0f, dp = 0.0f;
            for (int e = 0; e < HD; e++) { s += qr[e] * kr[e]; dp += dr[e] * vr[e]; }
            ds = expf(s * scale - L) * (dp - D) * scale;
        }
        ps[w * FA_BK + lane] = ds;
        __syncwarp();
        int nj = min(FA_BK, last - j0 + 1);
#pragma unroll
        for (int c = 0; c < FA_NC; c++) {
            int e = lane + 32 * c;
            if (e < HD)
                for (int jj = 0; jj < nj; jj++) acc[c] += ps[w * FA_BK + jj] * ks[jj * (HD + 1) + e];
        }
        __syncwarp();
    }
    if (!active) return;
    float *dqr = dq + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
#pragma unroll
    for (int c = 0; c < FA_NC; c++) {
        int e = lane + 32 * c;
        if (e < HD) dqr[e] = acc[c];
    }
}

/* grid (cdiv(maxk, FA_BKV), KVH, nseq), FA_BKV * 32 threads, fa_kv_shared(HD) bytes. Key j of kv
 * head g (a warp) sums over the query heads of its group and the queries at or after it
 * dV += P dO and dK += dS q into entry rows kpart/vpart (nidx, KVD) at idx_off + j. */
static __global__ void attention_fused_backward_dkv_kernel(float *kpart, float *vpart, const float *dout,
                                                           const float *lse, const float *Drow, const float *q,
                                                           const float *k, const float *v, const Seq *seqs,
                                                           const int *idx, int NH, int KVH, int HD, float scale) {
    const Seq S = seqs[blockIdx.z];
    int jb = blockIdx.x * FA_BKV;
    if (jb >= S.klen) return;
    int g = blockIdx.y, rep = NH / KVH, QD = NH * HD, KVD = KVH * HD;
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31, j = jb + w;
    bool active = j < S.klen;
    extern __shared__ float sm[];
    float *qs = sm, *dos = qs + 32 * (HD + 1), *kk = dos + 32 * (HD + 1), *vv = kk + FA_BKV * HD;
    float *pp = vv + FA_BKV * HD, *dd = pp + FA_BKV * 32, *Ls = dd + FA_BKV * 32, *Ds = Ls + 32;
    const int *ix = idx + S.idx_off;
    for (int t = threadIdx.x; t < FA_BKV * HD; t += blockDim.x) {
        int r = t / HD, e = t % HD;
        bool ok = jb + r < S.klen;
        size_t row = ok ? (size_t)ix[jb + r] * KVD + (size_t)g * HD + e : 0;
        kk[t] = ok ? k[row] : 0.0f;
        vv[t] = ok ? v[row] : 0.0f;
    }
    float dk[FA_NC], dv[FA_NC];
#pragma unroll
    for (int c = 0; c < FA_NC; c++) dk[c] = dv[c] = 0.0f;
    /* queries at positions >= jb: query index i has position qstart + i */
    int ib = jb > S.qstart ? jb - S.qstart : 0;
    ib = ib / 32 * 32;
    for (int hh = 0; hh < rep; hh++) {
        int h = g * rep + hh;
        for (int it = ib; it < S.qn; it += 32) {
            __syncthreads();   /* the previous tile is consumed (kk/vv written, the first time) */
            for (int t = threadIdx.x; t < 32 * HD; t += blockDim.x) {
                int r = t / HD, e = t % HD;
                bool ok = it + r < S.qn;
                size_t row = (size_t)(S.qoff + it + r) * QD + (size_t)h * HD + e;
                qs[r * (HD + 1) + e] = ok ? q[row] : 0.0f;
                dos[r * (HD + 1) + e] = ok ? dout[row] : 0.0f;
            }
            if (threadIdx.x < 32) {
                int r = threadIdx.x;
                bool ok = it + r < S.qn;
                Ls[r] = ok ? lse[(size_t)(S.qoff + it + r) * NH + h] : 0.0f;
                Ds[r] = ok ? Drow[(size_t)(S.qoff + it + r) * NH + h] : 0.0f;
            }
            __syncthreads();
            if (!active) continue;
            int i = it + lane;
            float p = 0.0f, ds = 0.0f;
            if (i < S.qn && S.qstart + i >= j) {
                const float *qr = qs + lane * (HD + 1), *dr = dos + lane * (HD + 1), *kr = kk + w * HD, *vr = vv + w * HD;
                float s = 0.0f, dp = 0.0f;
                for (int e = 0; e < HD; e++) { s += qr[e] * kr[e]; dp += dr[e] * vr[e]; }
                p = expf(s * scale - Ls[lane]);
                ds = p * (dp - Ds[lane]) * scale;
            }
            pp[w * 32 + lane] = p;
            dd[w * 32 + lane] = ds;
            __syncwarp();
#pragma unroll
            for (int c = 0; c < FA_NC; c++) {
                int e = lane + 32 * c;
                if (e < HD)
                    for (int r = 0; r < 32; r++) {
                        dv[c] += pp[w * 32 + r] * dos[r * (HD + 1) + e];
                        dk[c] += dd[w * 32 + r] * qs[r * (HD + 1) + e];
                    }
            }
            __syncwarp();
        }
    }
    if (!active) return;
    size_t ent = (S.idx_off + (size_t)j) * KVD + (size_t)g * HD;
#pragma unroll
    for (int c = 0; c < FA_NC; c++) {
        int e = lane + 32 * c;
        if (e < HD) { kpart[ent + e] = dk[c]; vpart[ent + e] = dv[c]; }
    }
}
