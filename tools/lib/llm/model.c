/* model.c: the training math of the Qwen2-shaped LLM (fp32, CPU reference path).
 *
 * Forward and backward as llm.c-style *_forward / *_backward pairs. Matrix products go
 * through OpenBLAS (cblas_sgemm), split by rows over our OpenMP threads with OpenBLAS itself
 * single-threaded (one thread pool, see mm); every other loop is OpenMP-parallel with static
 * schedules and no float atomics, so results are bitwise reproducible for a fixed thread
 * count (not across thread counts: the GEMM row split changes with it).
 * Block l: h = x + drop(o_proj(attn(rope(q(rms1(x))), rope(k(rms1(x))), v(rms1(x)))));
 *          x' = h + drop(down(silu(gate(rms2(h))) * up(rms2(h)))).
 * RMSNorm sums squares in double; exp is a vectorisable polynomial (fexp, ~1 ulp).
 *
 * Token packing. Activations are "packed": only valid (non-padding) tokens are computed,
 * laid out as rows (n, C). A step is described by a Plan: the token ids and RoPE positions of
 * the n rows, and a list of attention sequences. A sequence attends over klen positions whose
 * key/value rows are given by an index list, and owns the queries of positions
 * [qstart, klen). Normal rows own all their positions. With right padding and positions
 * starting at 0 per row this is exactly the padded computation with a padding mask.
 *
 * Shared instruction prefix (CFT). The counterfactual prompt x_0 and the normal prompt x_h
 * share their leading tokens (the instruction text before the behaviour sequence). With a
 * causal model the hidden states of a shared prefix are identical in both passes, so the
 * counterfactual sequence reuses the normal sequence's rows for its longest common token
 * prefix and only computes its own suffix; its attention reads the prefix keys/values of the
 * normal rows and its backward adds into their gradients. All position-wise layers run as one
 * GEMM over normal + counterfactual-suffix rows. Mathematically identical to two separate
 * passes without dropout (tested); with dropout the shared prefix draws one mask for both
 * passes (the authors' code draws two). model_set_share_prefix(m, 0) turns it off.
 *
 * Dropout (model_set_dropout, training only): inverted dropout on the two residual branches
 * of each block -- the attention output after o_proj and the MLP output after down_proj --
 * before they are added to the residual stream. The keep mask of element (row, channel) of
 * branch (layer, attn|mlp) is a hash of (seed, train-call counter, layer, branch, row,
 * channel): reproducible for any thread count, recomputed in the backward pass; p is
 * resolved to 1/65536 (16 hash bits per element). model_set_dropout resets the counter, so
 * a trainer that calls it every optimizer step with a seed derived from (seed, step) gets
 * the same masks after --resume.
 *
 * Logits are computed only at the response positions of the CFT batch (V is large), and the
 * last block runs its queries, o_proj and MLP only for the rows from the first response
 * position of each sequence on (Prune; keys/values of every row are still computed):
 * identical math, model_set_prune_last(m, 0) turns it off. The LM objective needs every
 * position and runs unpruned, its head in chunks of 512 rows.
 *
 * FLOPs (model_flops) are counted where the work is done: 2*M*N*K per GEMM (the attention
 * GEMMs over the full (queries x keys) rectangle, as computed), nothing for elementwise ops. */
#include "model.h"
#include "model_plan.h"
#include "model_cuda.h"
#include "util.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- activations ---- */
typedef struct {
    size_t cap;             /* floats in buf */
    float *buf;
    /* per layer, saved for backward */
    float **res;            /* [L+1] (n,C) residual stream entering layer l; res[L] = final */
    float **ln1, **rstd1, **q, **k, **v, **att, **ao, **mid, **ln2, **rstd2, **gu, **hh;
    /* scratch */
    float *t1;              /* (n,C) branch output / grad */
    float *dres, *dln, *dq, *dk, *dv, *dao, *dgu, *dh;
    float *scratch;         /* per-thread attention scratch (attn_scratch_floats) */
} Acts;

/* Last-layer pruning: only the rows whose logits are needed (plus the rows after them in the
 * same sequence, to keep each sequence's query block contiguous) go through the last block's
 * query projection, attention, o_proj and MLP; keys/values still use every row. */
typedef struct {
    int mc;                 /* compact rows */
    int *crow, *cpos;       /* (mc) full packed row, RoPE position */
    int *owner;             /* (n) sequence owning each full row */
    int *map;               /* (n) full row -> compact row or -1 */
    int cap_n, cap_mc, cap_seq;
    Plan lp;                /* compact query blocks; idx borrowed from the full plan */
    size_t cap; float *buf;
    float *lnc, *qc, *aoc, *resg, *midc, *ln2c, *rstd2c, *guc, *hhc, *out, *att, *t1c;
    float *dresc, *dlnc, *dqc, *daoc, *dguc, *dhc;
} Prune;

struct Model {
    ModelConfig cfg;
    int L, C, NH, KVH, HD, F, V, QD, KVD;
    size_t nparams;
    float *params, *grads, *adam_m, *adam_v;
    ModelWeights w, g;
    float **ptrs;           /* storage of the per-layer pointer arrays of w and g */
    ParamInfo *table; int ntable;
    int threads;
    float drop_p; uint64_t drop_seed, drop_calls;
    int share_prefix, prune_last, pruned;
    int freeze;             /* layers 0..freeze-1 and the embedding get no gradient */
    size_t train_off;       /* first trainable float: the frozen tensors are a buffer prefix */
    size_t dirty_lo;        /* grads[dirty_lo..] may be nonzero (model_zero_grad clears them) */
    float gscale;           /* pending model_scale_grads factor, see grads_flush */
    Prune pr;
    double flops;
    Plan plan;
    Acts a;
    float *rope_cos, *rope_sin; int rope_n;   /* (rope_n, HD/2) */
    /* head scratch */
    float *hx, *hln, *hrstd, *hlogits, *hdx; size_t hcap_rows;
    double *item_ln, *item_lc; size_t item_cap;
    int last_nr;            /* rows of hlogits from the last head_step */
    /* the CUDA twin (model_set_device): the device holds the authoritative copy of a buffer
     * whose host copy is stale (host_stale[CUDA_PARAMS..CUDA_ADAM_V]); a host copy handed out
     * by an accessor may be written, so it is uploaded before the next device use (dev_stale) */
    CudaModel *cuda;
    int host_stale[4], dev_stale[4], logits_stale;
};

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(nt)")
static void grads_flush(Model *m);

/* exp(x) for float, vectorisable (inlined into `omp simd` loops): x = n ln2 + r, |r| <= ln2/2,
 * exp(r) by its degree-7 Taylor polynomial (truncation < 1e-8 relative), times 2^n built in the
 * exponent bits. Within 1 ulp of the rounded exp over [-87, 88] (checked on a fine grid);
 * inputs are clamped to that range. */
static inline float fexp(float x) {
    if (x != x) return x;   /* NaN: propagate (the clamp below would turn it into an int conversion UB) */
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest (1.5*2^23 trick) */
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720; p = p * r + 1.0f / 120; p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6; p = p * r + 0.5f; p = p * r + 1.0f; p = p * r + 1.0f;
    union { float f; int32_t i; } u;
    u.i = ((int32_t)n + 127) << 23;
    return p * u.f;
}

/* ------------------------------------------------------------- helpers ---- */
static inline uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Row-major C (M,N) = alpha op(A) (M,K) op(B) (K,N) + beta C, split over M across the
 * OpenMP threads, each block a single-threaded OpenBLAS call. One thread pool for the whole
 * model (OpenBLAS runs with 1 thread): no two pools spinning against each other on a small
 * machine; a fixed thread count gives a fixed partition, hence bitwise-reproducible sums. */
static void mm(int nt, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *Cm, int ldc) {
    if (M <= 0 || N <= 0) return;
    int parts = nt;
    if (parts > 1 && (double)M * N * K < 2e5) parts = 1;   /* not worth a fork */
    if (parts > M) parts = M;
    #pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        int m0 = (int)((long)M * t / parts), m1 = (int)((long)M * (t + 1) / parts);
        m0 = m0 / 8 * 8; m1 = t + 1 == parts ? M : m1 / 8 * 8;   /* block edges on 8 rows */
        if (m1 <= m0) continue;
        const float *Ab = ta ? A + m0 : A + (size_t)m0 * lda;
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m1 - m0, N, K,
                    alpha, Ab, lda, B, ldb, beta, Cm + (size_t)m0 * ldc, ldc);
    }
}
/* single-threaded, for use inside a parallel region */
static inline void mm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *Cm, int ldc) {
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, Cm, ldc);
}

/* ------------------------------------------------------ layer: embedding ---- */
/* x (n,C) = embed[tok] (V,C) */
static void embedding_forward(float *x, const int *tok, const float *embed, int n, int C, int nt) {
    PAR_FOR
    for (int i = 0; i < n; i++) memcpy(x + (size_t)i * C, embed + (size_t)tok[i] * C, sizeof(float) * C);
}
/* dembed (V,C) += scatter of dx (n,C); channels split across threads so each element is
 * summed by one thread in row order (deterministic, no atomics). */
static void embedding_backward(float *dembed, const float *dx, const int *tok, int n, int C, int nt) {
    #pragma omp parallel num_threads(nt)
    {
        int T = omp_get_num_threads(), id = omp_get_thread_num();
        int c0 = (int)((long)C * id / T), c1 = (int)((long)C * (id + 1) / T);
        for (int i = 0; i < n; i++) {
            float *d = dembed + (size_t)tok[i] * C;
            const float *s = dx + (size_t)i * C;
            for (int c = c0; c < c1; c++) d[c] += s[c];
        }
    }
}

/* -------------------------------------------------------- layer: rmsnorm ---- */
/* y (n,C) = x * rsqrt(mean(x^2) + eps) * w ; rstd (n) saved. fp32 in, sum in double. */
static void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int n, int C,
                            float eps, int nt) {
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * C;
        float *yi = y + (size_t)i * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)xi[c] * xi[c];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        rstd[i] = r;
        for (int c = 0; c < C; c++) yi[c] = w[c] * (xi[c] * r);
    }
}
/* dx (n,C) += d/dx (skipped when dx is NULL: nothing below needs it) ; dw (C) += sum_rows dy * x * rstd */
static void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                             const float *rstd, int n, int C, int nt) {
    if (dx) {
        PAR_FOR
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * C, *dyi = dy + (size_t)i * C;
            float *dxi = dx + (size_t)i * C;
            float r = rstd[i];
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double)dyi[c] * w[c] * xi[c];
            float k = (float)(dot * r * r * r / C);
            for (int c = 0; c < C; c++) dxi[c] += r * w[c] * dyi[c] - k * xi[c];
        }
    }
    #pragma omp parallel num_threads(nt)
    {
        int T = omp_get_num_threads(), id = omp_get_thread_num();
        int c0 = (int)((long)C * id / T), c1 = (int)((long)C * (id + 1) / T);
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * C, *dyi = dy + (size_t)i * C;
            float r = rstd[i];
            for (int c = c0; c < c1; c++) dw[c] += dyi[c] * (xi[c] * r);
        }
    }
}

/* --------------------------------------------------------- layer: linear ---- */
/* y (n,OUT) = x (n,IN) @ w^T, w (OUT,IN) as HF stores it; + b (OUT) if b */
static void linear_forward(Model *m, float *y, const float *x, const float *w, const float *b,
                           int n, int IN, int OUT, int nt) {
    if (n == 0) return;
    mm(nt, 0, 1, n, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, y, OUT);
    m->flops += 2.0 * n * IN * OUT;
    if (b) {
        PAR_FOR
        for (int i = 0; i < n; i++) {
            float *yi = y + (size_t)i * OUT;
            for (int o = 0; o < OUT; o++) yi[o] += b[o];
        }
    }
}
/* dx (n,IN) = dy (n,OUT) @ w  (+= when accumulate) ; dw (OUT,IN) += dy^T @ x (skipped when dw is
 * NULL: a frozen weight) ; db (OUT) += column sums of dy (columns split across threads, rows in order). */
static void linear_backward(Model *m, float *dx, int accumulate, float *dw, float *db, const float *dy,
                            const float *x, const float *w, int n, int IN, int OUT, int nt) {
    if (n == 0) return;
    if (dx) {
        mm(nt, 0, 0, n, IN, OUT, 1.0f, dy, OUT, w, IN, accumulate ? 1.0f : 0.0f, dx, IN);
        m->flops += 2.0 * n * IN * OUT;
    }
    if (dw) {
        mm(nt, 1, 0, OUT, IN, n, 1.0f, dy, OUT, x, IN, 1.0f, dw, IN);
        m->flops += 2.0 * n * IN * OUT;
    }
    if (db) {
        #pragma omp parallel num_threads(nt)
        {
            int T = omp_get_num_threads(), id = omp_get_thread_num();
            int c0 = (int)((long)OUT * id / T), c1 = (int)((long)OUT * (id + 1) / T);
            for (int i = 0; i < n; i++) {
                const float *d = dy + (size_t)i * OUT;
                for (int c = c0; c < c1; c++) db[c] += d[c];
            }
        }
    }
}

/* ----------------------------------------------------------- layer: rope ---- */
/* HF rotate-half RoPE, in place on x (n, H*HD): for i < HD/2 with angle pos * theta^(-2i/HD)
 *   x'[i] = x[i] cos - x[i+HD/2] sin ;  x'[i+HD/2] = x[i+HD/2] cos + x[i] sin */
static void rope_forward(float *x, const int *pos, const float *cosT, const float *sinT, int n, int H,
                         int HD, int nt) {
    int h2 = HD / 2;
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *cs = cosT + (size_t)pos[i] * h2, *sn = sinT + (size_t)pos[i] * h2;
        for (int h = 0; h < H; h++) {
            float *v = x + (size_t)i * H * HD + (size_t)h * HD;
            for (int j = 0; j < h2; j++) {
                float a = v[j], b = v[j + h2];
                v[j] = a * cs[j] - b * sn[j];
                v[j + h2] = b * cs[j] + a * sn[j];
            }
        }
    }
}
/* the transpose rotation, in place on the gradient dx (n, H*HD) */
static void rope_backward(float *dx, const int *pos, const float *cosT, const float *sinT, int n, int H,
                          int HD, int nt) {
    int h2 = HD / 2;
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *cs = cosT + (size_t)pos[i] * h2, *sn = sinT + (size_t)pos[i] * h2;
        for (int h = 0; h < H; h++) {
            float *v = dx + (size_t)i * H * HD + (size_t)h * HD;
            for (int j = 0; j < h2; j++) {
                float a = v[j], b = v[j + h2];
                v[j] = a * cs[j] + b * sn[j];
                v[j + h2] = b * cs[j] - a * sn[j];
            }
        }
    }
}

/* ------------------------------------------------------ layer: attention ---- */
/* Grouped-query causal attention over the plan's sequences.
 * q (n, NH*HD) and k, v (n, KVH*HD) post-RoPE; out (n, NH*HD); att: saved probabilities,
 * per sequence (NH, qn, klen), zero above the causal diagonal. Query head h reads kv head
 * h / (NH/KVH). Work item = (sample b, kv head g): it gathers the sequence's keys/values of
 * head g into contiguous scratch (klen, HD), runs the products as single-threaded sgemms, and
 * owns every row its sequences write, so the backward's key/value sums need no atomics.
 * Scratch per thread: attn_scratch_floats(maxk, HD). */
static size_t attn_scratch_floats(int maxk, int HD) { return (size_t)maxk * (4 * (size_t)HD + (size_t)maxk); }

static double attn_flops(const Plan *p, int NH, int HD, double per_pair) {
    double fl = 0;   /* the sgemms compute the full (qn, klen) rectangle */
    for (int s = 0; s < p->nseq; s++) fl += (double)p->seq[s].qn * p->seq[s].klen * NH * HD * per_pair;
    return fl;
}

static void attention_forward(Model *m, float *out, float *att, const float *q, const float *k,
                              const float *v, const Plan *p, float *scratch, int nt) {
    int NH = m->NH, KVH = m->KVH, HD = m->HD, QD = m->QD, KVD = m->KVD, rep = NH / KVH;
    float scale = 1.0f / sqrtf((float)HD);
    int nitems = p->B * KVH, maxk = p->maxk;
    m->flops += attn_flops(p, NH, HD, 4.0);
    #pragma omp parallel num_threads(nt)
    {
        float *Kg = scratch + (size_t)omp_get_thread_num() * attn_scratch_floats(maxk, HD);
        float *Vg = Kg + (size_t)maxk * HD;
        #pragma omp for schedule(static)
        for (int it = 0; it < nitems; it++) {
            int b = it / KVH, g = it % KVH;
            for (int which = 0; which < 1 + p->has_cf; which++) {
                const Seq *S = &p->seq[b + which * p->B];
                if (S->qn == 0) continue;
                const int *idx = p->idx + S->idx_off;
                int kl = S->klen, qn = S->qn;
                for (int j = 0; j < kl; j++) {
                    memcpy(Kg + (size_t)j * HD, k + (size_t)idx[j] * KVD + (size_t)g * HD, sizeof(float) * HD);
                    memcpy(Vg + (size_t)j * HD, v + (size_t)idx[j] * KVD + (size_t)g * HD, sizeof(float) * HD);
                }
                for (int hh = 0; hh < rep; hh++) {
                    int h = g * rep + hh;
                    const float *Q = q + (size_t)S->qoff * QD + (size_t)h * HD;
                    float *P = att + S->att_off + (size_t)h * qn * kl;
                    /* scores (qn, klen) = Q (qn, HD) Kg^T * scale */
                    mm1(0, 1, qn, kl, HD, scale, Q, QD, Kg, HD, 0.0f, P, kl);
                    for (int i = 0; i < qn; i++) {
                        float *Pi = P + (size_t)i * kl;
                        int last = S->qstart + i;          /* causal: keys 0..last */
                        float mx = -INFINITY;
                        for (int j = 0; j <= last; j++) if (Pi[j] > mx) mx = Pi[j];
                        float sum = 0;
                        #pragma omp simd reduction(+:sum)
                        for (int j = 0; j <= last; j++) { Pi[j] = fexp(Pi[j] - mx); sum += Pi[j]; }
                        float inv = 1.0f / sum;
                        for (int j = 0; j <= last; j++) Pi[j] *= inv;
                        for (int j = last + 1; j < kl; j++) Pi[j] = 0.0f;
                    }
                    /* out (qn, HD) = P (qn, klen) Vg (klen, HD) */
                    mm1(0, 0, qn, HD, kl, 1.0f, P, kl, Vg, HD, 0.0f, out + (size_t)S->qoff * QD + (size_t)h * HD, QD);
                }
            }
        }
    }
}

/* dq (n,NH*HD) = ; dk, dv (n,KVH*HD) must be zero on entry (they are summed into) */
static void attention_backward(Model *m, float *dq, float *dk, float *dv, const float *dout,
                               const float *att, const float *q, const float *k, const float *v,
                               const Plan *p, float *scratch, int nt) {
    int NH = m->NH, KVH = m->KVH, HD = m->HD, QD = m->QD, KVD = m->KVD, rep = NH / KVH;
    float scale = 1.0f / sqrtf((float)HD);
    int nitems = p->B * KVH, maxk = p->maxk;
    m->flops += attn_flops(p, NH, HD, 8.0);
    #pragma omp parallel num_threads(nt)
    {
        float *Kg = scratch + (size_t)omp_get_thread_num() * attn_scratch_floats(maxk, HD);
        float *Vg = Kg + (size_t)maxk * HD, *dKg = Vg + (size_t)maxk * HD, *dVg = dKg + (size_t)maxk * HD;
        float *dS = dVg + (size_t)maxk * HD;
        #pragma omp for schedule(static)
        for (int it = 0; it < nitems; it++) {
            int b = it / KVH, g = it % KVH;
            for (int which = 0; which < 1 + p->has_cf; which++) {
                const Seq *S = &p->seq[b + which * p->B];
                if (S->qn == 0) continue;
                const int *idx = p->idx + S->idx_off;
                int kl = S->klen, qn = S->qn;
                for (int j = 0; j < kl; j++) {
                    memcpy(Kg + (size_t)j * HD, k + (size_t)idx[j] * KVD + (size_t)g * HD, sizeof(float) * HD);
                    memcpy(Vg + (size_t)j * HD, v + (size_t)idx[j] * KVD + (size_t)g * HD, sizeof(float) * HD);
                }
                memset(dKg, 0, sizeof(float) * (size_t)kl * HD);
                memset(dVg, 0, sizeof(float) * (size_t)kl * HD);
                for (int hh = 0; hh < rep; hh++) {
                    int h = g * rep + hh;
                    const float *Q = q + (size_t)S->qoff * QD + (size_t)h * HD;
                    const float *dO = dout + (size_t)S->qoff * QD + (size_t)h * HD;
                    const float *P = att + S->att_off + (size_t)h * qn * kl;
                    /* dP (qn, klen) = dO Vg^T ; dVg += P^T dO */
                    mm1(0, 1, qn, kl, HD, 1.0f, dO, QD, Vg, HD, 0.0f, dS, kl);
                    mm1(1, 0, kl, HD, qn, 1.0f, P, kl, dO, QD, 1.0f, dVg, HD);
                    /* dS = P * (dP - sum_j P dP) * scale (zero above the diagonal as P is) */
                    for (int i = 0; i < qn; i++) {
                        const float *Pi = P + (size_t)i * kl;
                        float *di = dS + (size_t)i * kl;
                        int last = S->qstart + i;
                        float sum = 0;
                        for (int j = 0; j <= last; j++) sum += Pi[j] * di[j];
                        for (int j = 0; j <= last; j++) di[j] = Pi[j] * (di[j] - sum) * scale;
                        for (int j = last + 1; j < kl; j++) di[j] = 0.0f;
                    }
                    /* dQ (qn, HD) = dS Kg ; dKg += dS^T Q */
                    mm1(0, 0, qn, HD, kl, 1.0f, dS, kl, Kg, HD, 0.0f, dq + (size_t)S->qoff * QD + (size_t)h * HD, QD);
                    mm1(1, 0, kl, HD, qn, 1.0f, dS, kl, Q, QD, 1.0f, dKg, HD);
                }
                for (int j = 0; j < kl; j++) {
                    float *dkr = dk + (size_t)idx[j] * KVD + (size_t)g * HD, *dvr = dv + (size_t)idx[j] * KVD + (size_t)g * HD;
                    const float *a = dKg + (size_t)j * HD, *c = dVg + (size_t)j * HD;
                    for (int e = 0; e < HD; e++) { dkr[e] += a[e]; dvr[e] += c[e]; }
                }
            }
        }
    }
}

/* --------------------------------------------------------- layer: swiglu ---- */
/* h (n,F) = silu(gate) * up, gu (n,2F) = [gate | up] rows */
static void swiglu_forward(float *h, const float *gu, int n, int F, int nt) {
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F;
        float *hi = h + (size_t)i * F;
        #pragma omp simd
        for (int c = 0; c < F; c++) hi[c] = g[c] / (1.0f + fexp(-g[c])) * u[c];
    }
}
/* dgu (n,2F) = d/d[gate|up] given dh (n,F) */
static void swiglu_backward(float *dgu, const float *dh, const float *gu, int n, int F, int nt) {
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F, *d = dh + (size_t)i * F;
        float *dg = dgu + (size_t)i * 2 * F, *du = dg + F;
        #pragma omp simd
        for (int c = 0; c < F; c++) {
            float sg = 1.0f / (1.0f + fexp(-g[c]));
            float silu = g[c] * sg;
            du[c] = d[c] * silu;
            dg[c] = d[c] * u[c] * sg * (1.0f + g[c] * (1.0f - sg));
        }
    }
}

/* -------------------------------------------------------- layer: dropout ---- */
/* Keep mask of one row: one 64-bit hash per 4 channels, 16 bits each compared with
 * p * 65536 (p resolved to 1/65536), scaled by 1/(1-p). */
static void drop_row(float *mk, uint64_t key, size_t row, int c0, int c1, uint32_t thr16, float scale) {
    for (int c = c0 & ~3; c < c1; c += 4) {
        uint64_t h = mix64(key ^ mix64(((uint64_t)row << 24) ^ (uint64_t)(c >> 2)));
        for (int k = 0; k < 4; k++)
            if (c + k >= c0 && c + k < c1) mk[c + k - c0] = ((h >> (16 * k)) & 0xffff) >= thr16 ? scale : 0.0f;
    }
}
#define DROP_CHUNK 256
/* out (n,C) = res + dropout(branch); key selects (seed, call, layer, branch) */
static void residual_dropout_forward(float *out, const float *res, const float *branch, int n, int C,
                                     int on, float p, uint64_t key, int nt) {
    uint32_t thr = (uint32_t)lrint((double)p * 65536.0);
    float scale = 1.0f / (1.0f - p);
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *r = res + (size_t)i * C, *b = branch + (size_t)i * C;
        float *o = out + (size_t)i * C;
        if (!on) { for (int c = 0; c < C; c++) o[c] = r[c] + b[c]; continue; }
        float mk[DROP_CHUNK];
        for (int c0 = 0; c0 < C; c0 += DROP_CHUNK) {
            int c1 = c0 + DROP_CHUNK < C ? c0 + DROP_CHUNK : C;
            drop_row(mk, key, (size_t)i, c0, c1, thr, scale);
            for (int c = c0; c < c1; c++) o[c] = r[c] + b[c] * mk[c - c0];
        }
    }
}
/* dbranch (n,C) = dropout mask * dout */
static void residual_dropout_backward(float *dbranch, const float *dout, int n, int C, int on, float p,
                                      uint64_t key, int nt) {
    uint32_t thr = (uint32_t)lrint((double)p * 65536.0);
    float scale = 1.0f / (1.0f - p);
    PAR_FOR
    for (int i = 0; i < n; i++) {
        const float *d = dout + (size_t)i * C;
        float *o = dbranch + (size_t)i * C;
        if (!on) { memcpy(o, d, sizeof(float) * C); continue; }
        float mk[DROP_CHUNK];
        for (int c0 = 0; c0 < C; c0 += DROP_CHUNK) {
            int c1 = c0 + DROP_CHUNK < C ? c0 + DROP_CHUNK : C;
            drop_row(mk, key, (size_t)i, c0, c1, thr, scale);
            for (int c = c0; c < c1; c++) o[c] = d[c] * mk[c - c0];
        }
    }
}
static uint64_t drop_key(const Model *m, int l, int branch) {
    return mix64(m->drop_seed ^ mix64(m->drop_calls * 1000003ULL + (uint64_t)l * 2 + (uint64_t)branch));
}

/* ------------------------------------------------------------ model setup ---- */
static void fill_views(Model *m, float *base, ModelWeights *w, float **ptrs) {
    int L = m->L, C = m->C, F = m->F, V = m->V, QD = m->QD, KVD = m->KVD;
    w->input_layernorm = ptrs + 0 * L; w->q_proj_w = ptrs + 1 * L; w->q_proj_b = ptrs + 2 * L;
    w->k_proj_w = ptrs + 3 * L; w->k_proj_b = ptrs + 4 * L; w->v_proj_w = ptrs + 5 * L;
    w->v_proj_b = ptrs + 6 * L; w->o_proj_w = ptrs + 7 * L; w->post_attention_layernorm = ptrs + 8 * L;
    w->gate_proj_w = ptrs + 9 * L; w->up_proj_w = ptrs + 10 * L; w->down_proj_w = ptrs + 11 * L;
    float *p = base;
    w->embed_tokens = p; p += (size_t)V * C;
    for (int l = 0; l < L; l++) {
        w->input_layernorm[l] = p; p += C;
        int bias = m->cfg.attention_bias;
        w->q_proj_w[l] = p; p += (size_t)QD * C;
        w->q_proj_b[l] = bias ? p : NULL; p += bias ? QD : 0;
        w->k_proj_w[l] = p; p += (size_t)KVD * C;
        w->k_proj_b[l] = bias ? p : NULL; p += bias ? KVD : 0;
        w->v_proj_w[l] = p; p += (size_t)KVD * C;
        w->v_proj_b[l] = bias ? p : NULL; p += bias ? KVD : 0;
        w->o_proj_w[l] = p; p += (size_t)C * QD;
        w->post_attention_layernorm[l] = p; p += C;
        w->gate_proj_w[l] = p; p += (size_t)F * C;
        w->up_proj_w[l] = p; p += (size_t)F * C;   /* contiguous after gate: one (2F,C) GEMM */
        w->down_proj_w[l] = p; p += (size_t)C * F;
    }
    w->norm = p; p += C;
    if (m->cfg.tie_word_embeddings) w->lm_head = w->embed_tokens;
    else { w->lm_head = p; p += (size_t)V * C; }
}

/* The tensor table in buffer order (the order of fill_views): offsets are running sums, so
 * it is known from the config alone, before any weight is allocated or read. */
static void add_param(ParamInfo *t, int *n, size_t *off, const char *name, int ndim, int d0, int d1) {
    ParamInfo *pi = &t[(*n)++];
    snprintf(pi->name, sizeof pi->name, "%s", name);
    pi->offset = *off;
    pi->ndim = ndim; pi->shape[0] = d0; pi->shape[1] = ndim > 1 ? d1 : 0;
    pi->numel = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    *off += pi->numel;
}

static const char *config_error(const ModelConfig *c) {
    static char msg[160];
    if (c->vocab_size < 1 || c->hidden_size < 1 || c->intermediate_size < 1 || c->num_hidden_layers < 1 ||
        c->num_attention_heads < 1 || c->num_key_value_heads < 1)
        return "sizes must be positive";
    if (c->hidden_size % c->num_attention_heads)
        snprintf(msg, sizeof msg, "hidden_size %d not divisible by num_attention_heads %d", c->hidden_size, c->num_attention_heads);
    else if ((c->hidden_size / c->num_attention_heads) % 2)
        snprintf(msg, sizeof msg, "head dim %d must be even (RoPE)", c->hidden_size / c->num_attention_heads);
    else if (c->num_attention_heads % c->num_key_value_heads)
        snprintf(msg, sizeof msg, "num_attention_heads %d not divisible by num_key_value_heads %d",
                 c->num_attention_heads, c->num_key_value_heads);
    else if (!(c->rms_norm_eps > 0) || !(c->rope_theta > 0))
        snprintf(msg, sizeof msg, "rms_norm_eps and rope_theta must be positive");
    else return NULL;
    return msg;
}

int model_config_table(const ModelConfig *c, ParamInfo **out, size_t *nparams) {
    const char *err = config_error(c);
    if (err) die(EXIT_DATA, "model config: %s", err);
    int L = c->num_hidden_layers, C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    int HD = C / c->num_attention_heads, QD = c->num_attention_heads * HD, KVD = c->num_key_value_heads * HD;
    ParamInfo *t = xcalloc((size_t)12 * L + 3, sizeof(ParamInfo));
    int n = 0;
    size_t off = 0;
    char nm[96];
    add_param(t, &n, &off, "model.embed_tokens.weight", 2, V, C);
    for (int l = 0; l < L; l++) {
#define P(suffix, nd, a0, a1) do { snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix); \
        add_param(t, &n, &off, nm, nd, a0, a1); } while (0)
        P("input_layernorm.weight", 1, C, 0);
        int bias = c->attention_bias;
        P("self_attn.q_proj.weight", 2, QD, C);
        if (bias) P("self_attn.q_proj.bias", 1, QD, 0);
        P("self_attn.k_proj.weight", 2, KVD, C);
        if (bias) P("self_attn.k_proj.bias", 1, KVD, 0);
        P("self_attn.v_proj.weight", 2, KVD, C);
        if (bias) P("self_attn.v_proj.bias", 1, KVD, 0);
        P("self_attn.o_proj.weight", 2, C, QD);
        P("post_attention_layernorm.weight", 1, C, 0);
        P("mlp.gate_proj.weight", 2, F, C);
        P("mlp.up_proj.weight", 2, F, C);
        P("mlp.down_proj.weight", 2, C, F);
#undef P
    }
    add_param(t, &n, &off, "model.norm.weight", 1, C, 0);
    if (!c->tie_word_embeddings) add_param(t, &n, &off, "lm_head.weight", 2, V, C);
    *out = t;
    if (nparams) *nparams = off;
    return n;
}

Model *model_alloc(const ModelConfig *cfg) {
    const ModelConfig *c = cfg;
    Model *m = xcalloc(1, sizeof(Model));
    m->cfg = *cfg;
    m->ntable = model_config_table(cfg, &m->table, &m->nparams);
    m->L = c->num_hidden_layers; m->C = c->hidden_size; m->NH = c->num_attention_heads;
    m->KVH = c->num_key_value_heads; m->HD = m->C / m->NH; m->F = c->intermediate_size;
    m->V = c->vocab_size; m->QD = m->NH * m->HD; m->KVD = m->KVH * m->HD;
    m->params = xmalloc(m->nparams * sizeof(float));
    m->ptrs = xcalloc((size_t)24 * m->L, sizeof(float *));
    fill_views(m, m->params, &m->w, m->ptrs);
    size_t end = c->tie_word_embeddings ? (size_t)(m->w.norm - m->params) + (size_t)m->C
                                        : (size_t)(m->w.lm_head - m->params) + (size_t)m->V * m->C;
    if (end != m->nparams) die(EXIT_DATA, "model: internal error: tensor table and buffer layout disagree");
    m->threads = omp_get_num_procs();
    m->share_prefix = 1;
    m->gscale = 1.0f;
    m->prune_last = 1;
    return m;
}

/* Gradients and AdamW moments exist only once something trains (or reads them): decode,
 * ground and ckpt-tool hold the weights alone. */
static void train_state(Model *m) {
    if (m->grads) return;
    m->grads = xcalloc(m->nparams, sizeof(float));
    m->adam_m = xcalloc(m->nparams, sizeof(float));
    m->adam_v = xcalloc(m->nparams, sizeof(float));
    fill_views(m, m->grads, &m->g, m->ptrs + 12 * m->L);
    m->dirty_lo = m->nparams;   /* calloc'd: nothing to clear yet */
    if (m->cuda) m->host_stale[CUDA_GRADS] = m->host_stale[CUDA_ADAM_M] = m->host_stale[CUDA_ADAM_V] = 1;
}

Model *model_new(const ModelConfig *cfg, uint64_t seed) {
    Model *m = model_alloc(cfg);
    /* init: N(0, 0.02) for matrices, 1 for norms, 0 for biases, in buffer order */
    Rng r; rng_seed(&r, seed);
    for (int t = 0; t < m->ntable; t++) {
        const ParamInfo *pi = &m->table[t];
        float *p = m->params + pi->offset;
        const char *nm = pi->name; size_t ln = strlen(nm);
        int is_norm = strstr(nm, "norm.weight") != NULL;
        int is_bias = ln > 5 && !strcmp(nm + ln - 5, ".bias");
        for (size_t i = 0; i < pi->numel; i++)
            p[i] = is_norm ? 1.0f : is_bias ? 0.0f : 0.02f * rng_normal(&r);
    }
    return m;
}

void model_free(Model *m) {
    if (!m) return;
    cuda_model_free(m->cuda);
    free(m->params); free(m->grads); free(m->adam_m); free(m->adam_v);
    free(m->ptrs); free(m->table);
    Plan *p = &m->plan;
    free(p->tok); free(p->pos); free(p->seq); free(p->idx);
    Acts *a = &m->a;
    free(a->buf); free(a->res); free(a->ln1); free(a->rstd1); free(a->q); free(a->k); free(a->v);
    free(a->att); free(a->ao); free(a->mid); free(a->ln2); free(a->rstd2); free(a->gu); free(a->hh);
    free(m->rope_cos); free(m->rope_sin);
    free(m->hx); free(m->hln); free(m->hrstd); free(m->hlogits); free(m->hdx);
    free(m->item_ln); free(m->item_lc);
    Prune *pr = &m->pr;
    free(pr->crow); free(pr->cpos); free(pr->owner); free(pr->map); free(pr->lp.seq); free(pr->buf);
    free(m);
}

int model_param_table(const Model *m, const ParamInfo **out) { *out = m->table; return m->ntable; }
/* ---------------------------------------------------------------- device ---- */
static float *host_buf(Model *m, int what) {
    return what == CUDA_PARAMS ? m->params : what == CUDA_GRADS ? m->grads : what == CUDA_ADAM_M ? m->adam_m : m->adam_v;
}
/* the host copy of a buffer, current, and from now on possibly written by the caller */
static float *host_access(Model *m, int what) {
    if (what != CUDA_PARAMS) train_state(m);
    if (m->cuda) {
        if (m->host_stale[what]) cuda_download(m->cuda, what, host_buf(m, what));
        m->host_stale[what] = 0;
        m->dev_stale[what] = 1;
    }
    return host_buf(m, what);
}
/* before a device operation: upload what the host changed; afterwards the device copies of
 * `writes` (a bit per buffer) are newer than the host's */
static void dev_begin(Model *m) {
    for (int w = 0; w < 4; w++)
        if (m->dev_stale[w] && host_buf(m, w)) { cuda_upload(m->cuda, w, host_buf(m, w)); m->dev_stale[w] = 0; }
}
static void dev_end(Model *m, int writes) {
    for (int w = 0; w < 4; w++) if (writes >> w & 1) m->host_stale[w] = 1;
}

void model_set_device(Model *m, const char *device, const char *precision) {
    if (!strcmp(device, "cpu")) return;
    if (strcmp(device, "cuda")) die(EXIT_USAGE, "--device: expected cpu or cuda, got '%s'", device);
    int prec = !strcmp(precision, "tf32") ? CUDA_TF32 : !strcmp(precision, "fp32") ? CUDA_FP32
             : !strcmp(precision, "bf16") ? CUDA_BF16 : -1;
    if (prec < 0) die(EXIT_USAGE, "--precision: expected tf32, fp32 or bf16, got '%s'", precision);
    if (m->cuda) return;
    int L = m->L;
    size_t *off = xmalloc(sizeof(size_t) * 11 * (size_t)L);
    const ModelWeights *w = &m->w;
    float **src[11] = {w->input_layernorm, w->q_proj_w, w->q_proj_b, w->k_proj_w, w->k_proj_b, w->v_proj_w, w->v_proj_b,
                       w->o_proj_w, w->post_attention_layernorm, w->gate_proj_w, w->down_proj_w};
    for (int t = 0; t < 11; t++)
        for (int l = 0; l < L; l++) off[(size_t)t * L + l] = src[t][l] ? (size_t)(src[t][l] - m->params) : 0;
    CudaLayout lay = {.L = L, .C = m->C, .NH = m->NH, .KVH = m->KVH, .HD = m->HD, .F = m->F, .V = m->V, .QD = m->QD,
                      .KVD = m->KVD, .tied = m->cfg.tie_word_embeddings, .bias = m->cfg.attention_bias,
                      .eps = m->cfg.rms_norm_eps, .nparams = m->nparams, .embed = (size_t)(w->embed_tokens - m->params),
                      .norm = (size_t)(w->norm - m->params), .lm_head = (size_t)(w->lm_head - m->params),
                      .ln1 = off, .q_w = off + L, .q_b = off + 2 * L, .k_w = off + 3 * L, .k_b = off + 4 * L,
                      .v_w = off + 5 * L, .v_b = off + 6 * L, .o_w = off + 7 * L, .ln2 = off + 8 * L,
                      .gu_w = off + 9 * L, .down_w = off + 10 * L};
    char why[256];
    grads_flush(m);
    m->cuda = cuda_model_new(&lay, m->params, prec, why, sizeof why);
    free(off);
    if (!m->cuda) die(EXIT_USAGE, "--device cuda: %s", why);
    /* a trainer that has loaded optimizer state already: upload it at the first device step */
    if (m->grads) m->dev_stale[CUDA_GRADS] = m->dev_stale[CUDA_ADAM_M] = m->dev_stale[CUDA_ADAM_V] = 1;
    m->pruned = 0;
}
void model_set_attention(Model *m, const char *kind) {
    int fused = !strcmp(kind, "fused");
    if (!fused && strcmp(kind, "plain")) die(EXIT_USAGE, "--attention: expected plain or fused, got '%s'", kind);
    if (!m->cuda) {
        if (fused) die(EXIT_USAGE, "--attention fused: the fused kernels are CUDA's; give --device cuda");
        return;
    }
    char why[256];
    if (cuda_model_set_attention(m->cuda, fused, why, sizeof why) != 0) die(EXIT_USAGE, "--attention fused: %s", why);
}
const char *model_device_name(const Model *m) { return m->cuda ? cuda_device_name(m->cuda) : "cpu"; }

float *model_params(Model *m) { return host_access(m, CUDA_PARAMS); }
float *model_grads(Model *m) { train_state(m); grads_flush(m); return host_access(m, CUDA_GRADS); }
float *model_adam_m(Model *m) { return host_access(m, CUDA_ADAM_M); }
float *model_adam_v(Model *m) { return host_access(m, CUDA_ADAM_V); }
const ModelConfig *model_config(const Model *m) { return &m->cfg; }
const ModelWeights *model_weights(const Model *m) { return &m->w; }
size_t model_num_params(const Model *m) { return m->nparams; }
void model_set_threads(Model *m, int n) { m->threads = n > 0 ? n : omp_get_num_procs(); }
void model_set_share_prefix(Model *m, int on) { m->share_prefix = on; }
void model_set_prune_last(Model *m, int on) { m->prune_last = on; }
void model_set_freeze_layers(Model *m, int n) {
    if (n < 0 || n > m->L) die(EXIT_USAGE, "freeze layers %d: must be in [0, %d] (the model has %d layers)", n, m->L, m->L);
    m->freeze = n;
    /* buffer order is embedding, layer 0..L-1, norm, lm_head: the frozen tensors (embedding and
     * layers < n; the tied head is the embedding) are exactly the prefix before layer n */
    m->train_off = n == 0 ? 0 : (size_t)((n < m->L ? m->w.input_layernorm[n] : m->w.norm) - m->params);
}
int model_freeze_layers(const Model *m) { return m->freeze; }
double model_flops(const Model *m) { return m->flops; }
const float *model_last_logits(const Model *m, int *rows) {
    Model *mm_ = (Model *)m;   /* the host copy of device logits is a cache */
    if (m->cuda && m->logits_stale) { cuda_last_logits(m->cuda, mm_->hlogits, m->last_nr); mm_->logits_stale = 0; }
    *rows = m->last_nr;
    return m->hlogits;
}
void model_set_dropout(Model *m, float p, uint64_t seed) {
    if (!(p >= 0 && p < 1)) die(EXIT_USAGE, "dropout %g must be in [0, 1)", p);
    m->drop_p = p; m->drop_seed = seed; m->drop_calls = 0;
}

/* ---------------------------------------------------------------- plan ---- */
static void plan_reserve(Plan *p, int n, int nseq, size_t nidx) {
    if (n > p->cap_n) { p->cap_n = n; p->tok = xrealloc(p->tok, sizeof(int) * n); p->pos = xrealloc(p->pos, sizeof(int) * n); }
    if (nseq > p->cap_seq) { p->cap_seq = nseq; p->seq = xrealloc(p->seq, sizeof(Seq) * nseq); }
    if (nidx > p->cap_idx) { p->cap_idx = nidx; p->idx = xrealloc(p->idx, sizeof(int) * nidx); }
}

static void check_tokens(const Model *m, const int *tok, int n, int b, const char *what) {
    for (int t = 0; t < n; t++)
        if (tok[t] < 0 || tok[t] >= m->V)
            die(EXIT_DATA, "model: batch row %d: %s token %d at position %d outside vocab [0,%d)", b, what, tok[t], t, m->V);
}

/* Normal rows b = 0..B-1 (packed, valid tokens only), then counterfactual suffixes. */
static void plan_build(Model *m, int B, int T, const int *tokens, const int *lengths, int Tc,
                       const int *cf_tokens, const int *cf_lengths) {
    Plan *p = &m->plan;
    int has_cf = Tc > 0;
    int n = 0; size_t nidx = 0;
    for (int b = 0; b < B; b++) {
        if (lengths[b] < 0 || lengths[b] > T) die(EXIT_DATA, "model: batch row %d: length %d outside [0,%d]", b, lengths[b], T);
        if (lengths[b] > m->cfg.max_position_embeddings && m->cfg.max_position_embeddings > 0)
            die(EXIT_DATA, "model: batch row %d: length %d exceeds max_position_embeddings %d", b, lengths[b], m->cfg.max_position_embeddings);
        check_tokens(m, tokens + (size_t)b * T, lengths[b], b, "normal");
        n += lengths[b]; nidx += lengths[b];
        if (has_cf) {
            if (cf_lengths[b] < 0 || cf_lengths[b] > Tc) die(EXIT_DATA, "model: batch row %d: counterfactual length %d outside [0,%d]", b, cf_lengths[b], Tc);
            check_tokens(m, cf_tokens + (size_t)b * Tc, cf_lengths[b], b, "counterfactual");
            n += cf_lengths[b]; nidx += cf_lengths[b];
        }
    }
    plan_reserve(p, n, B * (1 + has_cf), nidx);
    p->B = B; p->has_cf = has_cf; p->nseq = B * (1 + has_cf); p->maxk = 1;
    int off = 0; size_t io = 0, ao = 0;
    for (int b = 0; b < B; b++) {
        Seq *S = &p->seq[b];
        int len = lengths[b];
        S->qstart = 0; S->qn = len; S->klen = len; S->qoff = off; S->idx_off = io; S->att_off = ao;
        for (int t = 0; t < len; t++) { p->tok[off + t] = tokens[(size_t)b * T + t]; p->pos[off + t] = t; p->idx[io + t] = off + t; }
        off += len; io += len; ao += (size_t)m->NH * len * len;
        if (len > p->maxk) p->maxk = len;
    }
    if (has_cf) {
        for (int b = 0; b < B; b++) {
            Seq *S = &p->seq[B + b];
            int len = cf_lengths[b], s = 0;
            const int *ct = cf_tokens + (size_t)b * Tc, *nt = tokens + (size_t)b * T;
            if (m->share_prefix) {
                int lim = len < lengths[b] ? len : lengths[b];
                while (s < lim && ct[s] == nt[s]) s++;
            }
            S->qstart = s; S->qn = len - s; S->klen = len; S->qoff = off; S->idx_off = io; S->att_off = ao;
            for (int t = 0; t < s; t++) p->idx[io + t] = p->seq[b].qoff + t;
            for (int t = s; t < len; t++) {
                p->tok[off + t - s] = ct[t]; p->pos[off + t - s] = t; p->idx[io + t] = off + t - s;
            }
            off += len - s; io += len; ao += (size_t)m->NH * (len - s) * len;
            if (len > p->maxk) p->maxk = len;
        }
    }
    p->n = off; p->nidx = io; p->natt = ao;
}

/* ------------------------------------------------------------ activations ---- */
static float **ptr_arr(float **old, int n) { return xrealloc(old, sizeof(float *) * n); }

static void acts_prepare(Model *m) {
    Plan *p = &m->plan; Acts *a = &m->a;
    int L = m->L, C = m->C, QD = m->QD, KVD = m->KVD, F = m->F;
    size_t n = (size_t)p->n;
    /* per layer: res ln1 mid ln2 (C), rstd1 rstd2, q ao (QD), k v (KVD), gu (2F), hh (F), att */
    size_t per = n * (4 * (size_t)C + 2 + 2 * (size_t)QD + 2 * (size_t)KVD + 3 * (size_t)F) + p->natt;
    /* scratch: t1 dres dln (C), dq dao (QD), dk dv (KVD), dgu (2F), dh (F), attention */
    size_t scratch = n * (3 * (size_t)C + 2 * (size_t)QD + 2 * (size_t)KVD + 3 * (size_t)F) +
                     (size_t)m->threads * attn_scratch_floats(p->maxk, m->HD);
    /* Frozen layers 0..F-1 are never differentiated, so they keep nothing for the backward:
     * they share one set of per-layer buffers, and res[0..F] one residual buffer (each frozen
     * layer overwrites its input, which nothing reads again; res[F] is layer F's saved input). */
    int fz = m->freeze, sets = fz > 0 ? L - fz + 1 : L;
    size_t need = per * sets + (fz > 0 ? 0 : n * C) + scratch;   /* sets hold res[L] when fz > 0 */
    if (!a->res) {
        a->res = ptr_arr(NULL, L + 1); a->ln1 = ptr_arr(NULL, L); a->rstd1 = ptr_arr(NULL, L);
        a->q = ptr_arr(NULL, L); a->k = ptr_arr(NULL, L); a->v = ptr_arr(NULL, L); a->att = ptr_arr(NULL, L);
        a->ao = ptr_arr(NULL, L); a->mid = ptr_arr(NULL, L); a->ln2 = ptr_arr(NULL, L); a->rstd2 = ptr_arr(NULL, L);
        a->gu = ptr_arr(NULL, L); a->hh = ptr_arr(NULL, L);
    }
    if (need > a->cap) { free(a->buf); a->buf = xmalloc(need * sizeof(float)); a->cap = need; }
    float *q = a->buf;
#define TAKE(dst, cnt) do { dst = q; q += (cnt); } while (0)
    for (int l = 0; l < L; l++) {
        if (l > 0 && l < fz) {
            a->res[l] = a->res[0]; a->ln1[l] = a->ln1[0]; a->rstd1[l] = a->rstd1[0]; a->q[l] = a->q[0];
            a->k[l] = a->k[0]; a->v[l] = a->v[0]; a->ao[l] = a->ao[0]; a->mid[l] = a->mid[0];
            a->ln2[l] = a->ln2[0]; a->rstd2[l] = a->rstd2[0]; a->gu[l] = a->gu[0]; a->hh[l] = a->hh[0];
            a->att[l] = a->att[0];
            continue;
        }
        if (l > 0 && l == fz) a->res[l] = a->res[0];
        else TAKE(a->res[l], n * C);
        TAKE(a->ln1[l], n * C); TAKE(a->rstd1[l], n); TAKE(a->q[l], n * QD);
        TAKE(a->k[l], n * KVD); TAKE(a->v[l], n * KVD); TAKE(a->ao[l], n * QD); TAKE(a->mid[l], n * C);
        TAKE(a->ln2[l], n * C); TAKE(a->rstd2[l], n); TAKE(a->gu[l], n * 2 * F); TAKE(a->hh[l], n * F);
        TAKE(a->att[l], p->natt);
    }
    if (fz == L) a->res[L] = a->res[0];
    else TAKE(a->res[L], n * C);
    TAKE(a->t1, n * C); TAKE(a->dres, n * C); TAKE(a->dln, n * C); TAKE(a->dq, n * QD);
    TAKE(a->dk, n * KVD); TAKE(a->dv, n * KVD); TAKE(a->dao, n * QD); TAKE(a->dgu, n * 2 * F);
    TAKE(a->dh, n * F); TAKE(a->scratch, (size_t)m->threads * attn_scratch_floats(p->maxk, m->HD));
#undef TAKE
    if ((size_t)(q - a->buf) > a->cap) die(EXIT_IO, "model: internal error: activation arena overflow");
}

static void rope_prepare(Model *m, int maxpos) {
    if (maxpos <= m->rope_n) return;
    int h2 = m->HD / 2;
    m->rope_cos = xrealloc(m->rope_cos, sizeof(float) * (size_t)maxpos * h2);
    m->rope_sin = xrealloc(m->rope_sin, sizeof(float) * (size_t)maxpos * h2);
    /* as HF computes it in fp32: inv_freq = 1 / theta^(2i/HD), angle = pos * inv_freq */
    for (int i = 0; i < h2; i++) {
        float inv = 1.0f / powf(m->cfg.rope_theta, (float)(2 * i) / (float)m->HD);
        for (int pp = m->rope_n; pp < maxpos; pp++) {
            float ang = (float)pp * inv;
            m->rope_cos[(size_t)pp * h2 + i] = (float)cos((double)ang);
            m->rope_sin[(size_t)pp * h2 + i] = (float)sin((double)ang);
        }
    }
    m->rope_n = maxpos;
}

/* Set up the compact rows of the last layer from the needed full rows; remaps rows[] to
 * compact indices. */
static void prune_prepare(Model *m, int *rows, int nr) {
    Plan *p = &m->plan; Prune *pr = &m->pr;
    int n = p->n;
    if (n > pr->cap_n) { pr->cap_n = n; pr->owner = xrealloc(pr->owner, sizeof(int) * n); pr->map = xrealloc(pr->map, sizeof(int) * n); }
    if (p->nseq > pr->cap_seq) { pr->cap_seq = p->nseq; pr->lp.seq = xrealloc(pr->lp.seq, sizeof(Seq) * p->nseq); }
    int *need = xmalloc(sizeof(int) * (size_t)(p->nseq + 1));
    for (int s = 0; s < p->nseq; s++) {
        const Seq *S = &p->seq[s];
        for (int i = 0; i < S->qn; i++) pr->owner[S->qoff + i] = s;
        need[s] = S->klen;
    }
    for (int i = 0; i < nr; i++) {
        int s = pr->owner[rows[i]];
        int pos = p->seq[s].qstart + (rows[i] - p->seq[s].qoff);
        if (pos < need[s]) need[s] = pos;
    }
    Plan *lp = &pr->lp;
    lp->B = p->B; lp->has_cf = p->has_cf; lp->nseq = p->nseq; lp->idx = p->idx; lp->nidx = p->nidx; lp->maxk = p->maxk;
    int mc = 0; size_t ao = 0;
    for (int s = 0; s < p->nseq; s++) {
        const Seq *S = &p->seq[s]; Seq *Q = &lp->seq[s];
        *Q = *S;
        Q->qstart = need[s]; Q->qn = S->klen - need[s]; Q->qoff = mc; Q->att_off = ao;
        mc += Q->qn; ao += (size_t)m->NH * Q->qn * Q->klen;
    }
    lp->n = mc; lp->natt = ao;
    if (mc > pr->cap_mc) { pr->cap_mc = mc; pr->crow = xrealloc(pr->crow, sizeof(int) * mc); pr->cpos = xrealloc(pr->cpos, sizeof(int) * mc); }
    for (int i = 0; i < n; i++) pr->map[i] = -1;
    for (int s = 0; s < p->nseq; s++) {
        const Seq *S = &p->seq[s], *Q = &lp->seq[s];
        for (int i = 0; i < Q->qn; i++) {
            int full = S->qoff + (Q->qstart - S->qstart) + i;
            pr->crow[Q->qoff + i] = full; pr->cpos[Q->qoff + i] = Q->qstart + i; pr->map[full] = Q->qoff + i;
        }
    }
    lp->pos = pr->cpos; lp->tok = NULL;
    for (int i = 0; i < nr; i++) rows[i] = pr->map[rows[i]];
    free(need);
    pr->mc = mc;
    /* compact buffers */
    int C = m->C, QD = m->QD, F = m->F;
    size_t M = (size_t)mc;
    size_t needf = M * (8 * (size_t)C + 1 + 4 * (size_t)QD + 6 * (size_t)F) + ao + 1;   /* +1: never NULL */
    if (needf > pr->cap) { free(pr->buf); pr->buf = xmalloc(needf * sizeof(float)); pr->cap = needf; }
    float *q = pr->buf;
#define TAKE(dst, cnt) do { dst = q; q += (cnt); } while (0)
    TAKE(pr->lnc, M * C); TAKE(pr->qc, M * QD); TAKE(pr->aoc, M * QD); TAKE(pr->resg, M * C); TAKE(pr->midc, M * C);
    TAKE(pr->ln2c, M * C); TAKE(pr->rstd2c, M); TAKE(pr->guc, M * 2 * F); TAKE(pr->hhc, M * F); TAKE(pr->out, M * C);
    TAKE(pr->t1c, M * C); TAKE(pr->att, ao);
    TAKE(pr->dresc, M * C); TAKE(pr->dlnc, M * C); TAKE(pr->dqc, M * QD); TAKE(pr->daoc, M * QD);
    TAKE(pr->dguc, M * 2 * F); TAKE(pr->dhc, M * F);
#undef TAKE
    if ((size_t)(q - pr->buf) > pr->cap) die(EXIT_IO, "model: internal error: prune arena overflow");
}

static void gather_rows(float *dst, const float *src, const int *rows, int mc, int C, int nt) {
    PAR_FOR
    for (int i = 0; i < mc; i++) memcpy(dst + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * C);
}

/* Does the backward of layer l's input norm owe a gradient to the residual stream below it?
 * Only when layer l-1 trains, or l == 0 and the embedding does (nothing frozen). */
static int res_grad_wanted(const Model *m, int l) { return l > m->freeze || m->freeze == 0; }

/* last block l = L-1 over the compact rows: a->res[l] (n,C) -> pr->out (mc,C) */
static void last_layer_pruned_forward(Model *m, int train) {
    Plan *p = &m->plan; Acts *a = &m->a; Prune *pr = &m->pr; const ModelWeights *w = &m->w;
    int n = p->n, mc = pr->mc, C = m->C, QD = m->QD, KVD = m->KVD, F = m->F, nt = m->threads, l = m->L - 1;
    float eps = m->cfg.rms_norm_eps;
    int drop = train && m->drop_p > 0;
    rmsnorm_forward(a->ln1[l], a->rstd1[l], a->res[l], w->input_layernorm[l], n, C, eps, nt);
    linear_forward(m, a->k[l], a->ln1[l], w->k_proj_w[l], w->k_proj_b[l], n, C, KVD, nt);
    linear_forward(m, a->v[l], a->ln1[l], w->v_proj_w[l], w->v_proj_b[l], n, C, KVD, nt);
    rope_forward(a->k[l], p->pos, m->rope_cos, m->rope_sin, n, m->KVH, m->HD, nt);
    gather_rows(pr->lnc, a->ln1[l], pr->crow, mc, C, nt);
    linear_forward(m, pr->qc, pr->lnc, w->q_proj_w[l], w->q_proj_b[l], mc, C, QD, nt);
    rope_forward(pr->qc, pr->cpos, m->rope_cos, m->rope_sin, mc, m->NH, m->HD, nt);
    attention_forward(m, pr->aoc, pr->att, pr->qc, a->k[l], a->v[l], &pr->lp, a->scratch, nt);
    linear_forward(m, pr->t1c, pr->aoc, w->o_proj_w[l], NULL, mc, QD, C, nt);
    gather_rows(pr->resg, a->res[l], pr->crow, mc, C, nt);
    residual_dropout_forward(pr->midc, pr->resg, pr->t1c, mc, C, drop, m->drop_p, drop_key(m, l, 0), nt);
    rmsnorm_forward(pr->ln2c, pr->rstd2c, pr->midc, w->post_attention_layernorm[l], mc, C, eps, nt);
    linear_forward(m, pr->guc, pr->ln2c, w->gate_proj_w[l], NULL, mc, C, 2 * F, nt);
    swiglu_forward(pr->hhc, pr->guc, mc, F, nt);
    linear_forward(m, pr->t1c, pr->hhc, w->down_proj_w[l], NULL, mc, F, C, nt);
    residual_dropout_forward(pr->out, pr->midc, pr->t1c, mc, C, drop, m->drop_p, drop_key(m, l, 1), nt);
}

/* pr->dresc (mc,C) holds dL/d out on entry; leaves dL/d res[L-1] in a->dres (n,C) */
static void last_layer_pruned_backward(Model *m, int train) {
    Plan *p = &m->plan; Acts *a = &m->a; Prune *pr = &m->pr; const ModelWeights *w = &m->w; ModelWeights *g = &m->g;
    int n = p->n, mc = pr->mc, C = m->C, QD = m->QD, KVD = m->KVD, F = m->F, nt = m->threads, l = m->L - 1;
    int drop = train && m->drop_p > 0;
    residual_dropout_backward(pr->t1c, pr->dresc, mc, C, drop, m->drop_p, drop_key(m, l, 1), nt);
    linear_backward(m, pr->dhc, 0, g->down_proj_w[l], NULL, pr->t1c, pr->hhc, w->down_proj_w[l], mc, F, C, nt);
    swiglu_backward(pr->dguc, pr->dhc, pr->guc, mc, F, nt);
    linear_backward(m, pr->dlnc, 0, g->gate_proj_w[l], NULL, pr->dguc, pr->ln2c, w->gate_proj_w[l], mc, C, 2 * F, nt);
    rmsnorm_backward(pr->dresc, g->post_attention_layernorm[l], pr->dlnc, pr->midc, w->post_attention_layernorm[l],
                     pr->rstd2c, mc, C, nt);
    residual_dropout_backward(pr->t1c, pr->dresc, mc, C, drop, m->drop_p, drop_key(m, l, 0), nt);
    linear_backward(m, pr->daoc, 0, g->o_proj_w[l], NULL, pr->t1c, pr->aoc, w->o_proj_w[l], mc, QD, C, nt);
    memset(a->dk, 0, sizeof(float) * (size_t)n * KVD);
    memset(a->dv, 0, sizeof(float) * (size_t)n * KVD);
    attention_backward(m, pr->dqc, a->dk, a->dv, pr->daoc, pr->att, pr->qc, a->k[l], a->v[l], &pr->lp, a->scratch, nt);
    rope_backward(pr->dqc, pr->cpos, m->rope_cos, m->rope_sin, mc, m->NH, m->HD, nt);
    rope_backward(a->dk, p->pos, m->rope_cos, m->rope_sin, n, m->KVH, m->HD, nt);
    linear_backward(m, pr->dlnc, 0, g->q_proj_w[l], g->q_proj_b[l], pr->dqc, pr->lnc, w->q_proj_w[l], mc, C, QD, nt);
    linear_backward(m, a->dln, 0, g->k_proj_w[l], g->k_proj_b[l], a->dk, a->ln1[l], w->k_proj_w[l], n, C, KVD, nt);
    linear_backward(m, a->dln, 1, g->v_proj_w[l], g->v_proj_b[l], a->dv, a->ln1[l], w->v_proj_w[l], n, C, KVD, nt);
    /* compact rows are distinct full rows: plain scatter */
    memset(a->dres, 0, sizeof(float) * (size_t)n * C);
    PAR_FOR
    for (int i = 0; i < mc; i++) {
        float *dl = a->dln + (size_t)pr->crow[i] * C, *dr = a->dres + (size_t)pr->crow[i] * C;
        const float *sl = pr->dlnc + (size_t)i * C, *sr = pr->dresc + (size_t)i * C;
        for (int c = 0; c < C; c++) { dl[c] += sl[c]; dr[c] = sr[c]; }
    }
    rmsnorm_backward(res_grad_wanted(m, l) ? a->dres : NULL, g->input_layernorm[l], a->dln, a->res[l], w->input_layernorm[l],
                     a->rstd1[l], n, C, nt);
}

/* ---------------------------------------------------------- body forward ---- */
static void body_forward(Model *m, int train) {
    Plan *p = &m->plan; Acts *a = &m->a; const ModelWeights *w = &m->w;
    int n = p->n, C = m->C, QD = m->QD, KVD = m->KVD, F = m->F, nt = m->threads;
    float eps = m->cfg.rms_norm_eps;
    int maxpos = 1;
    for (int i = 0; i < n; i++) if (p->pos[i] + 1 > maxpos) maxpos = p->pos[i] + 1;
    rope_prepare(m, maxpos);
    int drop = train && m->drop_p > 0;
    embedding_forward(a->res[0], p->tok, w->embed_tokens, n, C, nt);
    for (int l = 0; l < m->L - m->pruned; l++) {
        rmsnorm_forward(a->ln1[l], a->rstd1[l], a->res[l], w->input_layernorm[l], n, C, eps, nt);
        linear_forward(m, a->q[l], a->ln1[l], w->q_proj_w[l], w->q_proj_b[l], n, C, QD, nt);
        linear_forward(m, a->k[l], a->ln1[l], w->k_proj_w[l], w->k_proj_b[l], n, C, KVD, nt);
        linear_forward(m, a->v[l], a->ln1[l], w->v_proj_w[l], w->v_proj_b[l], n, C, KVD, nt);
        rope_forward(a->q[l], p->pos, m->rope_cos, m->rope_sin, n, m->NH, m->HD, nt);
        rope_forward(a->k[l], p->pos, m->rope_cos, m->rope_sin, n, m->KVH, m->HD, nt);
        attention_forward(m, a->ao[l], a->att[l], a->q[l], a->k[l], a->v[l], p, a->scratch, nt);
        linear_forward(m, a->t1, a->ao[l], w->o_proj_w[l], NULL, n, QD, C, nt);
        residual_dropout_forward(a->mid[l], a->res[l], a->t1, n, C, drop, m->drop_p, drop_key(m, l, 0), nt);
        rmsnorm_forward(a->ln2[l], a->rstd2[l], a->mid[l], w->post_attention_layernorm[l], n, C, eps, nt);
        linear_forward(m, a->gu[l], a->ln2[l], w->gate_proj_w[l], NULL, n, C, 2 * F, nt);
        swiglu_forward(a->hh[l], a->gu[l], n, F, nt);
        linear_forward(m, a->t1, a->hh[l], w->down_proj_w[l], NULL, n, F, C, nt);
        residual_dropout_forward(a->res[l + 1], a->mid[l], a->t1, n, C, drop, m->drop_p, drop_key(m, l, 1), nt);
    }
    if (m->pruned) last_layer_pruned_forward(m, train);
}

/* a->dres (n,C) holds dL/d res[L] on entry (pruned: pr->dresc holds dL/d pr->out) */
static void body_backward(Model *m, int train) {
    Plan *p = &m->plan; Acts *a = &m->a; const ModelWeights *w = &m->w; ModelWeights *g = &m->g;
    int n = p->n, C = m->C, QD = m->QD, KVD = m->KVD, F = m->F, nt = m->threads;
    int drop = train && m->drop_p > 0;
    /* the backward stops at the input of the first trainable layer (m->freeze) */
    if (m->pruned && m->L - 1 >= m->freeze) last_layer_pruned_backward(m, train);
    for (int l = m->L - 1 - m->pruned; l >= m->freeze; l--) {
        /* MLP branch: res[l+1] = mid + drop(down(swiglu(gate/up(rmsnorm(mid))))) */
        residual_dropout_backward(a->t1, a->dres, n, C, drop, m->drop_p, drop_key(m, l, 1), nt);
        linear_backward(m, a->dh, 0, g->down_proj_w[l], NULL, a->t1, a->hh[l], w->down_proj_w[l], n, F, C, nt);
        swiglu_backward(a->dgu, a->dh, a->gu[l], n, F, nt);
        linear_backward(m, a->dln, 0, g->gate_proj_w[l], NULL, a->dgu, a->ln2[l], w->gate_proj_w[l], n, C, 2 * F, nt);
        rmsnorm_backward(a->dres, g->post_attention_layernorm[l], a->dln, a->mid[l], w->post_attention_layernorm[l],
                         a->rstd2[l], n, C, nt);
        /* attention branch: mid = res + drop(o(attn(rope(q,k), v))) */
        residual_dropout_backward(a->t1, a->dres, n, C, drop, m->drop_p, drop_key(m, l, 0), nt);
        linear_backward(m, a->dao, 0, g->o_proj_w[l], NULL, a->t1, a->ao[l], w->o_proj_w[l], n, QD, C, nt);
        memset(a->dk, 0, sizeof(float) * (size_t)n * KVD);
        memset(a->dv, 0, sizeof(float) * (size_t)n * KVD);
        attention_backward(m, a->dq, a->dk, a->dv, a->dao, a->att[l], a->q[l], a->k[l], a->v[l], p, a->scratch, nt);
        rope_backward(a->dq, p->pos, m->rope_cos, m->rope_sin, n, m->NH, m->HD, nt);
        rope_backward(a->dk, p->pos, m->rope_cos, m->rope_sin, n, m->KVH, m->HD, nt);
        linear_backward(m, a->dln, 0, g->q_proj_w[l], g->q_proj_b[l], a->dq, a->ln1[l], w->q_proj_w[l], n, C, QD, nt);
        linear_backward(m, a->dln, 1, g->k_proj_w[l], g->k_proj_b[l], a->dk, a->ln1[l], w->k_proj_w[l], n, C, KVD, nt);
        linear_backward(m, a->dln, 1, g->v_proj_w[l], g->v_proj_b[l], a->dv, a->ln1[l], w->v_proj_w[l], n, C, KVD, nt);
        rmsnorm_backward(res_grad_wanted(m, l) ? a->dres : NULL, g->input_layernorm[l], a->dln, a->res[l], w->input_layernorm[l],
                         a->rstd1[l], n, C, nt);
    }
    if (m->freeze == 0) embedding_backward(g->embed_tokens, a->dres, p->tok, n, C, nt);
}

/* --------------------------------------------------------------- LM head ---- */
/* Tied embeddings with frozen layers: the head IS the embedding matrix, and it is frozen with
 * it (no head gradient either). Training it through the head would move the inputs of the
 * frozen layers under them, which is what freezing is meant to prevent; it is also what
 * PyTorch does (one Parameter: requires_grad False on embed_tokens freezes lm_head), and the
 * (V,C) weight gradient, its AdamW update and moments are the largest per-tensor cost of a
 * small-C, large-V model (SmolLM2: 28M of 135M parameters). An untied lm_head stays trainable. */
static int head_frozen(const Model *m) { return m->freeze > 0 && m->cfg.tie_word_embeddings; }


static void head_reserve(Model *m, size_t rows, size_t items) {
    if (rows > m->hcap_rows) {
        m->hcap_rows = rows;
        m->hx = xrealloc(m->hx, sizeof(float) * rows * m->C);
        m->hln = xrealloc(m->hln, sizeof(float) * rows * m->C);
        m->hdx = xrealloc(m->hdx, sizeof(float) * rows * m->C);
        m->hrstd = xrealloc(m->hrstd, sizeof(float) * rows);
        m->hlogits = xrealloc(m->hlogits, sizeof(float) * rows * m->V);
    }
    if (items > m->item_cap) {
        m->item_cap = items;
        m->item_ln = xrealloc(m->item_ln, sizeof(double) * items);
        m->item_lc = xrealloc(m->item_lc, sizeof(double) * items);
    }
}

/* logsumexp of z (V) or of z - z0 when z0. The sum is kept in double: over a 49k-150k
 * vocabulary a float sum's error depends on how the build vectorises it (an -O1 sanitizer
 * build was 8x less accurate on SmolLM2's vocabulary), and the head's cost is the GEMM. */
static float lse(const float *z, const float *z0, int V) {
    float mx = -INFINITY;
    double s = 0;
    if (z0) {
        for (int v = 0; v < V; v++) { float d = z[v] - z0[v]; mx = d > mx ? d : mx; }
        #pragma omp simd reduction(+:s)
        for (int v = 0; v < V; v++) s += fexp((z[v] - z0[v]) - mx);
    } else {
        for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        #pragma omp simd reduction(+:s)
        for (int v = 0; v < V; v++) s += fexp(z[v] - mx);
    }
    return mx + (float)log(s);
}

/* Final norm + logits for rows rows[0..nr) of src (the last block's output), the loss items,
 * and (train) the backward, summed into the same rows of dsrc. Adds the weighted sums to
 * *Ln / *Lc. */
static void head_step(Model *m, const float *src, float *dsrc, const int *rows, int nr, const Item *items, int ni,
                      float lambda, int train, double *Ln, double *Lc) {
    const ModelWeights *w = &m->w; ModelWeights *g = &m->g;
    int C = m->C, V = m->V, nt = m->threads;
    head_reserve(m, (size_t)nr, (size_t)ni);
    m->last_nr = nr;
    if (nr == 0) return;
    PAR_FOR
    for (int i = 0; i < nr; i++) memcpy(m->hx + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * C);
    rmsnorm_forward(m->hln, m->hrstd, m->hx, w->norm, nr, C, m->cfg.rms_norm_eps, nt);
    float *z = m->hlogits;
    /* logits (nr,V) = hln (nr,C) @ lm_head^T (V,C) */
    linear_forward(m, z, m->hln, w->lm_head, NULL, nr, C, V, nt);
    PAR_FOR
    for (int it = 0; it < ni; it++) {
        const Item *itm = &items[it];
        float *zh = z + (size_t)itm->ih * V;
        float *z0 = itm->i0 >= 0 ? z + (size_t)itm->i0 * V : NULL;
        float lh = lse(zh, NULL, V);
        m->item_ln[it] = (double)itm->nw * (lh - zh[itm->label]);
        float ld = 0;
        if (z0) { ld = lse(zh, z0, V); m->item_lc[it] = (double)itm->cw * (ld - (zh[itm->label] - z0[itm->label])); }
        else m->item_lc[it] = 0;
        if (!train) continue;
        /* dL/dz_h = nw (softmax(z_h) - onehot) + lambda cw (softmax(z_h - z_0) - onehot);
         * dL/dz_0 = -lambda cw (softmax(z_h - z_0) - onehot) */
        float lc = lambda * itm->cw, nw = itm->nw;
        if (z0) {
            #pragma omp simd
            for (int v = 0; v < V; v++) {
                float gh = nw * fexp(zh[v] - lh), gd = lc * fexp((zh[v] - z0[v]) - ld);
                zh[v] = gh + gd;
                z0[v] = -gd;
            }
            zh[itm->label] -= nw + lc;     /* the one-hot terms */
            z0[itm->label] += lc;
        } else {
            #pragma omp simd
            for (int v = 0; v < V; v++) zh[v] = nw * fexp(zh[v] - lh);
            zh[itm->label] -= nw;
        }
    }
    for (int it = 0; it < ni; it++) { *Ln += m->item_ln[it]; *Lc += m->item_lc[it]; }
    if (!train) return;
    /* rows that no item touches carry no gradient */
    {
        char *used = xcalloc((size_t)nr, 1);
        for (int it = 0; it < ni; it++) { used[items[it].ih] = 1; if (items[it].i0 >= 0) used[items[it].i0] = 1; }
        for (int i = 0; i < nr; i++) if (!used[i]) memset(z + (size_t)i * V, 0, sizeof(float) * V);
        free(used);
    }
    /* dhln (nr,C) = dz @ lm_head (into hdx) ; dlm_head += dz^T @ hln */
    float *dln = m->hdx;
    int body = m->freeze < m->L;   /* some layer below wants the residual gradient */
    linear_backward(m, dln, 0, head_frozen(m) ? NULL : g->lm_head, NULL, z, m->hln, w->lm_head, nr, C, V, nt);
    /* rmsnorm backward needs dy separate from dx: move dy into hln (no longer needed) */
    memcpy(m->hln, dln, sizeof(float) * (size_t)nr * C);
    memset(m->hdx, 0, sizeof(float) * (size_t)nr * C);
    rmsnorm_backward(body ? m->hdx : NULL, g->norm, m->hln, m->hx, w->norm, m->hrstd, nr, C, nt);
    /* scatter into the residual gradient in row order (rows may repeat) */
    for (int i = 0; body && i < nr; i++) {
        float *d = dsrc + (size_t)rows[i] * C; const float *s = m->hdx + (size_t)i * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
    }
}

/* OpenBLAS runs single-threaded inside our OpenMP blocks (see mm); this is process-wide,
 * so it is set at every step in case other code changed it. */
static void step_begin(Model *m, int train) {
    openblas_set_num_threads(1);
    if (m->cuda) { dev_begin(m); return; }
    if (train) train_state(m);
    if (train && m->train_off < m->dirty_lo) m->dirty_lo = m->train_off;
    if (train) grads_flush(m);   /* a backward adds to the scaled gradients */
}

/* The step's three phases on either device: model.c's layers or their CUDA twins. */
/* drop_key of every (layer, branch) of this step, for the device (caller frees) */
static uint64_t *drop_keys(const Model *m) {
    uint64_t *keys = xmalloc(sizeof(uint64_t) * 2 * (size_t)m->L);
    for (int l = 0; l < m->L; l++) { keys[2 * l] = drop_key(m, l, 0); keys[2 * l + 1] = drop_key(m, l, 1); }
    return keys;
}
static void run_forward(Model *m, int train) {
    if (!m->cuda) { body_forward(m, train); return; }
    Plan *p = &m->plan;
    int maxpos = 1;
    for (int i = 0; i < p->n; i++) if (p->pos[i] + 1 > maxpos) maxpos = p->pos[i] + 1;
    rope_prepare(m, maxpos);
    uint64_t *keys = drop_keys(m);
    CudaDrop d = {train && m->drop_p > 0, m->drop_p, keys};
    cuda_forward(m->cuda, p, m->rope_cos, m->rope_sin, m->rope_n, &d, &m->flops);
    free(keys);
    if (train) cuda_head_begin(m->cuda);
}
static void run_head(Model *m, const float *src, float *dsrc, const int *rows, int nr, const Item *items, int ni,
                     float lambda, int train, double *Ln, double *Lc) {
    if (!m->cuda) { head_step(m, src, dsrc, rows, nr, items, ni, lambda, train, Ln, Lc); return; }
    if (!train) head_reserve(m, (size_t)nr, (size_t)ni);   /* host room for model_last_logits */
    m->last_nr = nr;
    m->logits_stale = !train;
    cuda_head(m->cuda, rows, nr, items, ni, lambda, train, head_frozen(m), m->freeze < m->L, Ln, Lc, &m->flops);
}
static void run_backward(Model *m, int train) {
    if (!m->cuda) { body_backward(m, train); return; }
    uint64_t *keys = drop_keys(m);
    CudaDrop d = {train && m->drop_p > 0, m->drop_p, keys};
    cuda_backward(m->cuda, &m->plan, &d, m->freeze, &m->flops);
    free(keys);
    dev_end(m, 1 << CUDA_GRADS);
}

/* ------------------------------------------------------------- CFT step ---- */
float model_cft_step(Model *m, const CftBatch *bt, float lambda, int train, float *Ln, float *Lc) {
    step_begin(m, train);
    int B = bt->B, R = bt->R, V = m->V;
    plan_build(m, B, bt->T, bt->tokens, bt->lengths, bt->Tc, bt->cf_tokens, bt->cf_lengths);
    if (!m->cuda) acts_prepare(m);
    Plan *p = &m->plan;
    /* output rows: normal response positions, then counterfactual ones */
    int *rows = xmalloc(sizeof(int) * (size_t)(2 * B * R + 1));
    Item *items = xmalloc(sizeof(Item) * (size_t)(B * R + 1));
    int nr = 0, ni = 0;
    m->last_nr = 0;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            int pos = bt->resp_pos[b * R + r];
            if (pos < 0) continue;
            if (pos >= bt->lengths[b]) die(EXIT_DATA, "model: batch row %d: response position %d beyond length %d", b, pos, bt->lengths[b]);
            int lab = bt->resp_label[b * R + r];
            if (lab < 0 || lab >= V) die(EXIT_DATA, "model: batch row %d: response label %d outside vocab [0,%d)", b, lab, V);
            items[ni] = (Item){nr, -1, lab, bt->norm_weight[b * R + r], bt->causal_weight ? bt->causal_weight[b * R + r] : 0};
            rows[nr++] = p->seq[b].qoff + pos;
            ni++;
        }
    if (p->has_cf) {
        int k = 0;
        for (int b = 0; b < B; b++)
            for (int r = 0; r < R; r++) {
                if (bt->resp_pos[b * R + r] < 0) continue;
                int cp = bt->cf_resp_pos[b * R + r];
                if (cp >= 0) {
                    if (cp >= bt->cf_lengths[b]) die(EXIT_DATA, "model: batch row %d: counterfactual response position %d beyond length %d", b, cp, bt->cf_lengths[b]);
                    const Seq *S = &p->seq[B + b];
                    items[k].i0 = nr;
                    rows[nr++] = p->idx[S->idx_off + cp];   /* a shared-prefix position reads the normal row */
                }
                k++;
            }
    }
    m->pruned = m->prune_last && !m->cuda;        /* the CUDA twin runs the full last block */
    if (m->pruned) prune_prepare(m, rows, nr);    /* rows now index the compact last-layer rows */
    run_forward(m, train);
    /* the host's activations exist only on the CPU path (on cuda the head reads the device's) */
    const float *src = m->cuda ? NULL : m->pruned ? m->pr.out : m->a.res[m->L];
    float *dsrc = m->cuda ? NULL : m->pruned ? m->pr.dresc : m->a.dres;
    double ln = 0, lc = 0;
    if (train && !m->cuda) memset(dsrc, 0, sizeof(float) * (size_t)(m->pruned ? m->pr.mc : p->n) * m->C);
    run_head(m, src, dsrc, rows, nr, items, ni, lambda, train, &ln, &lc);
    free(rows); free(items);
    if (train) {
        run_backward(m, train);
        if (m->drop_p > 0) m->drop_calls++;
    }
    if (Ln) *Ln = (float)ln;
    if (Lc) *Lc = (float)lc;
    return (float)(ln + lambda * lc);
}

/* ------------------------------------------------------------- LM step ---- */
float model_lm_step(Model *m, int B, int T, const int *tokens, const int *lengths, int train) {
    step_begin(m, train);
    plan_build(m, B, T, tokens, lengths, 0, NULL, NULL);
    if (!m->cuda) acts_prepare(m);
    Plan *p = &m->plan;
    m->pruned = 0;    /* every position has a label: nothing to prune */
    run_forward(m, train);
    long count = 0;
    for (int b = 0; b < B; b++) if (lengths[b] > 1) count += lengths[b] - 1;
    double ln = 0, lc = 0;
    if (train && !m->cuda) memset(m->a.dres, 0, sizeof(float) * (size_t)p->n * m->C);
    if (count > 0) {
        /* the head runs over chunks of output rows to bound the (rows, V) logits buffer */
        const int CH = 512;
        const float *head_src = m->cuda ? NULL : m->a.res[m->L];   /* on cuda the head reads the device's */
        int *rows = xmalloc(sizeof(int) * CH);
        Item *items = xmalloc(sizeof(Item) * CH);
        float wgt = (float)(1.0 / (double)count);
        int nr = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t + 1 < lengths[b]; t++) {
                items[nr] = (Item){nr, -1, tokens[(size_t)b * T + t + 1], wgt, 0};
                rows[nr++] = p->seq[b].qoff + t;
                if (nr == CH) { run_head(m, head_src, m->a.dres, rows, nr, items, nr, 0, train, &ln, &lc); nr = 0; }
            }
        if (nr) run_head(m, head_src, m->a.dres, rows, nr, items, nr, 0, train, &ln, &lc);
        free(rows); free(items);
    }
    if (train) {
        run_backward(m, train);
        if (m->drop_p > 0) m->drop_calls++;
    }
    return (float)ln;
}

/* --------------------------------------------------------------- AdamW ---- */
/* Only what a backward may have written since the last call is cleared: frozen gradients stay
 * zero without being touched (their pages are never even committed). */
void model_zero_grad(Model *m) {
    if (m->cuda) { dev_begin(m); cuda_zero_grad(m->cuda, m->train_off); dev_end(m, 1 << CUDA_GRADS); return; }
    train_state(m);
    /* in blocks over the threads: one memset of 540 MB (SmolLM2) does not reach the bandwidth */
    const size_t CH = 1 << 18, lo = m->dirty_lo, N = m->nparams;
    long nch = lo < N ? (long)((N - lo + CH - 1) / CH) : 0;
    int nt = m->threads;
    PAR_FOR
    for (long c = 0; c < nch; c++) {
        size_t a = lo + (size_t)c * CH, e = a + CH < N ? a + CH : N;
        memset(m->grads + a, 0, sizeof(float) * (e - a));
    }
    m->dirty_lo = N;
    m->gscale = 1.0f;
}

float model_grad_norm(const Model *m) {
    if (m->cuda) { dev_begin((Model *)m); return (float)sqrt(cuda_grad_sumsq(m->cuda, m->train_off)); }
    if (!m->grads) return 0.0f;   /* nothing has trained: every gradient is zero */
    /* fixed chunking (independent of threads), chunk sums added in order: deterministic */
    /* over the trainable parameters only (frozen gradients are zero anyway) */
    const size_t CH = 1 << 16, off = m->train_off;
    size_t nch = (m->nparams - off + CH - 1) / CH;
    double *part = xcalloc(nch + 1, sizeof(double));
    int nt = m->threads;
    PAR_FOR
    for (long c = 0; c < (long)nch; c++) {
        size_t a = off + (size_t)c * CH, e = a + CH < m->nparams ? a + CH : m->nparams;
        /* 8 fixed lanes, summed in a fixed order: vectorised (one double add chain is
         * latency-bound at 135M parameters) and still independent of the thread count */
        const float *G = m->grads, gs = m->gscale;
        double l[8] = {0};
        size_t i = a;
        for (; i + 8 <= e; i += 8)
            for (int k = 0; k < 8; k++) { double g = (double)(G[i + k] * gs); l[k] += g * g; }
        for (; i < e; i++) { double g = (double)(G[i] * gs); l[0] += g * g; }
        part[c] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    }
    double s = 0;
    for (size_t c = 0; c < nch; c++) s += part[c];
    free(part);
    return (float)sqrt(s);
}

/* The scale is kept pending and applied where the gradients are next read (AdamW, the grad
 * norm: G*s rounds exactly as a stored G*s would) or added to (grads_flush): it saves a full
 * read+write pass over them every clipped step. Successive scales apply one after the other,
 * as stored multiplications would. */
static void grads_flush(Model *m) {
    if (m->gscale == 1.0f || !m->grads) return;
    float s = m->gscale;
    int nt = m->threads;
    PAR_FOR
    for (long i = (long)m->train_off; i < (long)m->nparams; i++) m->grads[i] *= s;
    m->gscale = 1.0f;
}
void model_scale_grads(Model *m, float s) {
    if (m->cuda) { dev_begin(m); cuda_scale_grads(m->cuda, m->train_off, s); dev_end(m, 1 << CUDA_GRADS); return; }
    train_state(m);
    if (m->gscale != 1.0f) grads_flush(m);   /* (G*a)*b is not G*(a*b) in floats */
    m->gscale = s;
}

/* torch.optim.AdamW (1.13, single-tensor path): p *= 1 - lr*wd; m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps) */
void model_adamw(Model *m, float lr, float beta1, float beta2, float eps, float wd, long step) {
    if (step < 1) die(EXIT_USAGE, "model_adamw: step must be >= 1");
    if (!m->cuda) train_state(m);
    double bc1 = 1.0 - pow((double)beta1, (double)step);
    double bc2 = 1.0 - pow((double)beta2, (double)step);
    float step_size = (float)((double)lr / bc1);
    float bc2s = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)lr * (double)wd);
    float omb1 = (float)(1.0 - (double)beta1), omb2 = (float)(1.0 - (double)beta2);
    if (m->cuda) {
        dev_begin(m);
        cuda_adamw(m->cuda, m->train_off, step_size, bc2s, decay, beta1, beta2, omb1, omb2, eps);
        dev_end(m, 1 << CUDA_PARAMS | 1 << CUDA_ADAM_M | 1 << CUDA_ADAM_V);
        return;
    }
    float *P = m->params, *G = m->grads, *M = m->adam_m, *Vv = m->adam_v, gs = m->gscale;
    int nt = m->threads;
    /* frozen parameters (a buffer prefix) are skipped: bitwise unchanged, no weight decay */
    #pragma omp parallel for simd schedule(static) num_threads(nt)
    for (long i = (long)m->train_off; i < (long)m->nparams; i++) {
        float g = G[i] * gs;
        P[i] *= decay;
        M[i] = M[i] * beta1 + g * omb1;
        Vv[i] = Vv[i] * beta2 + omb2 * g * g;
        float denom = sqrtf(Vv[i]) / bc2s + eps;
        P[i] += -step_size * (M[i] / denom);
    }
}

/* ------------------------------------------------------- gradient checks ---- */
/* Each check: a layer pair on small random inputs, scalar loss = sum(out * Rw) with random
 * Rw, analytic input/weight gradients from the *_backward vs central differences (double
 * loss, step h). Pass when max|fd - an| <= 1e-2 * max|an| + 1e-4. */
enum { GC_RMSNORM, GC_LINEAR, GC_ROPE, GC_ATTN, GC_SWIGLU, GC_DROPOUT };
typedef struct {
    int kind, n, in, out;
    Model *m;           /* dims, plan, rope tables for attention / rope */
    float *x, *w, *b, *y, *rw, *aux, *aux2, *aux3, *att;
    int *pos;
} GcCtx;

static double gc_loss(GcCtx *c) {
    Model *m = c->m;
    size_t ny = 0;
    switch (c->kind) {
    case GC_RMSNORM: rmsnorm_forward(c->y, c->aux, c->x, c->w, c->n, c->in, 1e-5f, 2); ny = (size_t)c->n * c->in; break;
    case GC_LINEAR: linear_forward(m, c->y, c->x, c->w, c->b, c->n, c->in, c->out, 2); ny = (size_t)c->n * c->out; break;
    case GC_ROPE:
        memcpy(c->y, c->x, sizeof(float) * (size_t)c->n * c->in);
        rope_forward(c->y, c->pos, m->rope_cos, m->rope_sin, c->n, c->in / m->HD, m->HD, 2);
        ny = (size_t)c->n * c->in; break;
    case GC_ATTN:   /* x = q (n,QD), w = k (n,KVD), b = v (n,KVD) */
        attention_forward(m, c->y, c->att, c->x, c->w, c->b, &m->plan, c->aux3, 2); ny = (size_t)c->n * m->QD; break;
    case GC_SWIGLU: swiglu_forward(c->y, c->x, c->n, c->in, 2); ny = (size_t)c->n * c->in; break;
    case GC_DROPOUT:
        residual_dropout_forward(c->y, c->w, c->x, c->n, c->in, 1, 0.3f, 12345, 2); ny = (size_t)c->n * c->in; break;
    }
    double L = 0;
    for (size_t i = 0; i < ny; i++) L += (double)c->y[i] * c->rw[i];
    return L;
}

static int gc_compare(FILE *f, const char *name, GcCtx *c, float *x, const float *an, size_t n) {
    const float h = 1e-2f;
    double maxan = 0, maxerr = 0;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        x[i] = save + h; double lp = gc_loss(c);
        x[i] = save - h; double lm = gc_loss(c);
        x[i] = save;
        double fd = (lp - lm) / (2.0 * h);
        if (fabs(an[i]) > maxan) maxan = fabs(an[i]);
        if (fabs(fd - an[i]) > maxerr) maxerr = fabs(fd - an[i]);
    }
    int ok = maxerr <= 1e-2 * maxan + 1e-4 && maxan > 0;
    if (f) fprintf(f, "%s gradcheck %-22s n=%-4zu max|grad|=%.3e max|fd-grad|=%.3e\n", ok ? "ok " : "BAD", name, n, maxan, maxerr);
    return !ok;
}

static float *gc_rand(Rng *r, size_t n, float sc, float off) {
    float *x = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = off + sc * rng_normal(r);
    return x;
}

int model_gradcheck_layers(uint64_t seed, FILE *f) {
    Rng r; rng_seed(&r, seed);
    int bad = 0;
    ModelConfig cfg = {.vocab_size = 11, .hidden_size = 8, .intermediate_size = 6, .num_hidden_layers = 1,
                       .num_attention_heads = 4, .num_key_value_heads = 2, .max_position_embeddings = 64,
                       .rms_norm_eps = 1e-5f, .rope_theta = 300.0f};
    Model *m = model_new(&cfg, seed);   /* NH 4, KVH 2, HD 2 */
    m->threads = 2;
    rope_prepare(m, 32);
    const int n = 5, C = 8;
    float *dx = xcalloc(4096, sizeof(float)), *dw = xcalloc(4096, sizeof(float)), *db = xcalloc(4096, sizeof(float));
    GcCtx c = {0};
    c.m = m; c.y = xcalloc(4096, sizeof(float)); c.rw = gc_rand(&r, 4096, 1.0f, 0); c.aux = xcalloc(4096, sizeof(float));
    /* rmsnorm */
    c.kind = GC_RMSNORM; c.n = n; c.in = C; c.x = gc_rand(&r, (size_t)n * C, 1, 0.3f); c.w = gc_rand(&r, C, 0.3f, 1);
    gc_loss(&c);
    memset(dx, 0, 4096 * 4); memset(dw, 0, 4096 * 4);
    rmsnorm_backward(dx, dw, c.rw, c.x, c.w, c.aux, n, C, 2);
    bad += gc_compare(f, "rmsnorm dx", &c, c.x, dx, (size_t)n * C);
    bad += gc_compare(f, "rmsnorm dw", &c, c.w, dw, C);
    free(c.x); free(c.w);
    /* linear with bias */
    c.kind = GC_LINEAR; c.in = 7; c.out = 6; c.x = gc_rand(&r, (size_t)n * 7, 1, 0); c.w = gc_rand(&r, 42, 0.5f, 0); c.b = gc_rand(&r, 6, 0.5f, 0);
    memset(dx, 0, 4096 * 4); memset(dw, 0, 4096 * 4); memset(db, 0, 4096 * 4);
    linear_backward(m, dx, 0, dw, db, c.rw, c.x, c.w, n, 7, 6, 2);
    bad += gc_compare(f, "linear dx", &c, c.x, dx, (size_t)n * 7);
    bad += gc_compare(f, "linear dw", &c, c.w, dw, 42);
    bad += gc_compare(f, "linear db", &c, c.b, db, 6);
    free(c.x); free(c.w); free(c.b); c.b = NULL;
    /* rope: 2 heads of HD 2 ... use HD = m->HD = 2 with 3 heads, positions far apart */
    int pos[5] = {0, 1, 7, 19, 31};
    c.kind = GC_ROPE; c.in = 3 * m->HD; c.pos = pos; c.x = gc_rand(&r, (size_t)n * c.in, 1, 0);
    memcpy(dx, c.rw, sizeof(float) * (size_t)n * c.in);
    rope_backward(dx, pos, m->rope_cos, m->rope_sin, n, 3, m->HD, 2);
    bad += gc_compare(f, "rope dx", &c, c.x, dx, (size_t)n * c.in);
    free(c.x);
    /* swiglu */
    c.kind = GC_SWIGLU; c.in = 6; c.x = gc_rand(&r, (size_t)n * 12, 1.5f, 0);
    swiglu_backward(dx, c.rw, c.x, n, 6, 2);
    bad += gc_compare(f, "swiglu d[gate|up]", &c, c.x, dx, (size_t)n * 12);
    free(c.x);
    /* residual dropout: gradient wrt the branch and the residual */
    c.kind = GC_DROPOUT; c.in = C; c.x = gc_rand(&r, (size_t)n * C, 1, 0); c.w = gc_rand(&r, (size_t)n * C, 1, 0);
    residual_dropout_backward(dx, c.rw, n, C, 1, 0.3f, 12345, 2);
    bad += gc_compare(f, "dropout d(branch)", &c, c.x, dx, (size_t)n * C);
    bad += gc_compare(f, "dropout d(residual)", &c, c.w, c.rw, (size_t)n * C);
    free(c.x); free(c.w);
    /* attention: 2 samples with a counterfactual each (shared prefix of 2 and 0 tokens) */
    {
        int T = 6, Tc = 5;
        int tok[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0}, len[2] = {6, 4};
        int ctok[10] = {1, 2, 9, 9, 5, 3, 3, 3, 0, 0}, clen[2] = {5, 3};
        plan_build(m, 2, T, tok, len, Tc, ctok, clen);
        Plan *p = &m->plan;
        int N = p->n, QD = m->QD, KVD = m->KVD;
        c.kind = GC_ATTN; c.n = N;
        c.x = gc_rand(&r, (size_t)N * QD, 1, 0); c.w = gc_rand(&r, (size_t)N * KVD, 1, 0); c.b = gc_rand(&r, (size_t)N * KVD, 1, 0);
        c.att = xcalloc(p->natt, sizeof(float));
        float *dq = xcalloc((size_t)N * QD, sizeof(float)), *dk = xcalloc((size_t)N * KVD, sizeof(float));
        float *dv = xcalloc((size_t)N * KVD, sizeof(float)), *scr = xcalloc((size_t)2 * attn_scratch_floats(p->maxk, m->HD), sizeof(float));
        c.aux3 = scr;
        gc_loss(&c);
        attention_backward(m, dq, dk, dv, c.rw, c.att, c.x, c.w, c.b, p, scr, 2);
        bad += gc_compare(f, "attention dq", &c, c.x, dq, (size_t)N * QD);
        bad += gc_compare(f, "attention dk", &c, c.w, dk, (size_t)N * KVD);
        bad += gc_compare(f, "attention dv", &c, c.b, dv, (size_t)N * KVD);
        free(c.x); free(c.w); free(c.b); free(c.att); free(dq); free(dk); free(dv); free(scr);
    }
    free(dx); free(dw); free(db); free(c.y); free(c.rw); free(c.aux);
    model_free(m);
    return bad;
}
