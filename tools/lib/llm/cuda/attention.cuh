/* attention.cuh: twin of model.c's attention_forward / attention_backward: grouped-query
 * causal attention over the plan's sequences (a sequence's keys/values are the packed rows
 * its index list names, so the counterfactual suffix reads the shared prefix of its normal
 * row). The straightforward correct kernels: one block per (query, head, sequence), scores
 * and probabilities in the saved att buffer (the CPU layout: per sequence (NH, qn, klen)).
 * The backward writes dS beside att, then one block per (key, kv head, sequence) sums dK and
 * dV over its queries into per-index-entry rows, reduced into the packed rows by
 * gather_add_kernel (a prefix row is read by two sequences): no atomics. Checked on the CPU
 * under tests/cuda_emu (tests/test_cuda_emu.sh); not yet run on a GPU. */
#pragma once
#include "common.cuh"

#define ATT_THREADS 128

/* grid (maxq, NH, nseq); shared: HD floats */
static __global__ void attention_forward_kernel(float *out, float *att, const float *q, const float *k, const float *v,
                                         const Seq *seqs, const int *idx, int NH, int KVH, int HD, float scale) {
    const Seq S = seqs[blockIdx.z];
    int i = blockIdx.x, h = blockIdx.y;
    if (i >= S.qn) return;
    int QD = NH * HD, KVD = KVH * HD, g = h / (NH / KVH), kl = S.klen, last = S.qstart + i;
    extern __shared__ float sm[];
    float *qs = sm;
    const float *qr = q + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
    for (int e = threadIdx.x; e < HD; e += blockDim.x) qs[e] = qr[e];
    __syncthreads();
    const int *ix = idx + S.idx_off;
    float *P = att + S.att_off + ((size_t)h * S.qn + i) * kl;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j <= last; j += blockDim.x) {
        const float *kr = k + (size_t)ix[j] * KVD + (size_t)g * HD;
        float s = 0;
        for (int e = 0; e < HD; e++) s += qs[e] * kr[e];
        s *= scale;
        P[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx);
    float sum = 0;
    for (int j = threadIdx.x; j <= last; j += blockDim.x) { float p = expf(P[j] - mx); P[j] = p; sum += p; }
    sum = block_sum(sum);
    float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < kl; j += blockDim.x) P[j] = j <= last ? P[j] * inv : 0.0f;
    __syncthreads();   /* P is read back by other threads below */
    float *o = out + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
    for (int e = threadIdx.x; e < HD; e += blockDim.x) {
        float acc = 0;
        for (int j = 0; j <= last; j++) acc += P[j] * v[(size_t)ix[j] * KVD + (size_t)g * HD + e];
        o[e] = acc;
    }
}

/* grid (maxq, NH, nseq); shared: HD floats. dS (same layout as att) = P * (dP - sum P dP) * scale
 * with dP = dO V^T; dq (n, QD) = dS K (written, not added). */
static __global__ void attention_backward_dq_kernel(float *dq, float *dS, const float *dout, const float *att,
                                             const float *k, const float *v, const Seq *seqs, const int *idx,
                                             int NH, int KVH, int HD, float scale) {
    const Seq S = seqs[blockIdx.z];
    int i = blockIdx.x, h = blockIdx.y;
    if (i >= S.qn) return;
    int QD = NH * HD, KVD = KVH * HD, g = h / (NH / KVH), kl = S.klen, last = S.qstart + i;
    extern __shared__ float sm[];
    float *dos = sm;
    const float *dor = dout + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
    for (int e = threadIdx.x; e < HD; e += blockDim.x) dos[e] = dor[e];
    __syncthreads();
    const int *ix = idx + S.idx_off;
    const float *P = att + S.att_off + ((size_t)h * S.qn + i) * kl;
    float *D = dS + S.att_off + ((size_t)h * S.qn + i) * kl;
    float dot = 0;
    for (int j = threadIdx.x; j <= last; j += blockDim.x) {
        const float *vr = v + (size_t)ix[j] * KVD + (size_t)g * HD;
        float dp = 0;
        for (int e = 0; e < HD; e++) dp += dos[e] * vr[e];
        D[j] = dp;
        dot += P[j] * dp;
    }
    dot = block_sum(dot);
    for (int j = threadIdx.x; j < kl; j += blockDim.x) D[j] = j <= last ? P[j] * (D[j] - dot) * scale : 0.0f;
    __syncthreads();
    float *dqr = dq + (size_t)(S.qoff + i) * QD + (size_t)h * HD;
    for (int e = threadIdx.x; e < HD; e += blockDim.x) {
        float acc = 0;
        for (int j = 0; j <= last; j++) acc += D[j] * k[(size_t)ix[j] * KVD + (size_t)g * HD + e];
        dqr[e] = acc;
    }
}

/* grid (maxk, KVH, nseq), threads over HD: key j of kv head g gathers, over the query heads of
 * its group and the queries at or after it, dV += P dO and dK += dS Q, into entry rows
 * kpart/vpart (nidx, KVD) at the sequence's index entry idx_off + j. */
static __global__ void attention_backward_dkv_kernel(float *kpart, float *vpart, const float *dS, const float *att,
                                              const float *q, const float *dout, const Seq *seqs,
                                              int NH, int KVH, int HD) {
    const Seq S = seqs[blockIdx.z];
    int j = blockIdx.x, g = blockIdx.y;
    if (j >= S.klen) return;
    int QD = NH * HD, KVD = KVH * HD, rep = NH / KVH, kl = S.klen;
    int i0 = j > S.qstart ? j - S.qstart : 0;   /* queries at positions >= j */
    size_t ent = (S.idx_off + (size_t)j) * KVD + (size_t)g * HD;
    for (int e = threadIdx.x; e < HD; e += blockDim.x) {
        float dk = 0, dv = 0;
        for (int hh = 0; hh < rep; hh++) {
            int h = g * rep + hh;
            const float *P = att + S.att_off + (size_t)h * S.qn * kl, *D = dS + S.att_off + (size_t)h * S.qn * kl;
            for (int i = i0; i < S.qn; i++) {
                size_t row = (size_t)(S.qoff + i) * QD + (size_t)h * HD + e;
                dv += P[(size_t)i * kl + j] * dout[row];
                dk += D[(size_t)i * kl + j] * q[row];
            }
        }
        kpart[ent + e] = dk;
        vpart[ent + e] = dv;
    }
}
