/* kvcache.cuh: twin of infer.c's attend / attend_step: one query row and head against the keys
 * of its context, read where the KV caches keep them. A row's context is a base range (its
 * sequence's rows of this forward, or its prompt in the prefix cache) followed by n2 entries of
 * the generation cache reached through the row's ancestry list, so beam reordering copies no
 * K/V here either. The straightforward kernel: one warp per (row, head), keys in tiles of 32
 * (a lane scores one key), softmax online (running max and sum, rescaled per tile), each lane
 * accumulating HD/32 output dimensions; no scratch, no atomics. HD <= 32 * KV_MAXD. */
#pragma once
#include "common.cuh"

#define KV_WARPS 4     /* warps (rows x heads) per block */
#define KV_MAXD 8      /* output dims per lane: HD <= 256 */

/* Where row r's keys and values are: position j < n1[r] at row base[r] + j of k1/v1 (stride
 * s1 floats); position n1[r] + tau (tau < n2) at generation entry (tau, gidx[r*gstride + tau]),
 * entry (tau, e) at gk/gv + tau*gtau + e*grow. Or, when base2 is set (a prefill whose
 * sequences share their first rows: the shared rows are the base range), position
 * n1[r] + tau (tau < n2r[r]) at row base2[r] + tau of k1/v1: the sequence's own rows.
 * Pointers are already offset to the layer. */
struct KvRows {
    const float *k1, *v1;
    int s1;
    const int *base, *n1;
    const float *gk, *gv;
    size_t gtau, grow;
    const int *gidx;
    int gstride, n2;
    const int *base2, *n2r;
};

__device__ inline const float *kv_row(const KvRows &kr, const float *p1, const float *pg, int r, int j, int n1) {
    if (j < n1) return p1 + (size_t)(kr.base[r] + j) * kr.s1;
    int tau = j - n1;
    if (kr.base2) return p1 + (size_t)(kr.base2[r] + tau) * kr.s1;
    return pg + (size_t)tau * kr.gtau + (size_t)kr.gidx[(size_t)r * kr.gstride + tau] * kr.grow;
}

/* out (N, NH*HD) = softmax(q k^T * scale) v per (row, head), GQA head h reading kv head
 * h / (NH/KVH). grid cdiv(N*NH, KV_WARPS), block 32*KV_WARPS. */
static __global__ void kv_attention_kernel(float *out, const float *q, KvRows kr, int N, int NH, int KVH, int HD,
                                           float scale) {
    static __shared__ float qs[KV_WARPS][32 * KV_MAXD];   /* static: as common.cuh, one per block */
    int wi = threadIdx.x >> 5, lane = threadIdx.x & 31;
    long task = (long)blockIdx.x * KV_WARPS + wi;
    if (task >= (long)N * NH) return;          /* whole warps leave together */
    int r = (int)(task / NH), h = (int)(task % NH), g = h / (NH / KVH), QD = NH * HD;
    const float *qr = q + (size_t)r * QD + (size_t)h * HD;
    for (int d = lane; d < HD; d += 32) qs[wi][d] = qr[d];
    __syncwarp();
    const float *k1 = kr.k1 + (size_t)g * HD, *v1 = kr.v1 + (size_t)g * HD;
    const float *gk = kr.gk ? kr.gk + (size_t)g * HD : nullptr, *gv = kr.gv ? kr.gv + (size_t)g * HD : nullptr;
    int n1 = kr.n1[r], n = n1 + (kr.base2 ? kr.n2r[r] : kr.n2);
    float m = -INFINITY, l = 0, acc[KV_MAXD];
#pragma unroll
    for (int c = 0; c < KV_MAXD; c++) acc[c] = 0;
    for (int j0 = 0; j0 < n; j0 += 32) {
        int j = j0 + lane;
        float s = -INFINITY;
        if (j < n) {
            const float *kp = kv_row(kr, k1, gk, r, j, n1);
            float dot = 0;
            for (int d = 0; d < HD; d++) dot += qs[wi][d] * kp[d];
            s = dot * scale;
        }
        float mt = s;
        for (int o = 16; o > 0; o >>= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, o));
        float mn = fmaxf(m, mt);               /* finite: the tile has at least one key */
        float corr = expf(m - mn);             /* 0 on the first tile (m = -inf) */
        float p = j < n ? expf(s - mn) : 0.0f, ps = p;
        for (int o = 16; o > 0; o >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, o);
        l = l * corr + ps;
#pragma unroll
        for (int c = 0; c < KV_MAXD; c++) acc[c] *= corr;
        int cnt = n - j0 < 32 ? n - j0 : 32;
        for (int jj = 0; jj < cnt; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            const float *vp = kv_row(kr, v1, gv, r, j0 + jj, n1);
#pragma unroll
            for (int c = 0; c < KV_MAXD; c++) {
                int d = lane + 32 * c;
                if (d < HD) acc[c] += pj * vp[d];
            }
        }
        m = mn;
    }
    float inv = 1.0f / l;
    float *o = out + (size_t)r * QD + (size_t)h * HD;
#pragma unroll
    for (int c = 0; c < KV_MAXD; c++) {
        int d = lane + 32 * c;
        if (d < HD) o[d] = acc[c] * inv;
    }
}
