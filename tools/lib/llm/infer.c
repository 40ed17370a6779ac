/* infer: batched KV-cache inference forward (see infer.h). Self-contained (does not call
 * model.c's training layers: those keep activations for backward, which inference does not
 * need); the math follows HF Qwen2 and is tested against PyTorch. */
#include "infer.h"
#include "infer_cuda.h"
#include "model_cuda.h"
#include "util.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct Infer {
    const ModelConfig *cfg;
    const ModelWeights *w;
    int C, NH, KVH, HD, QD, KVD, F, V, L;
    float eps, scale;
    float *inv_freq;                 /* (HD/2) RoPE frequencies, float32 as HF computes them */
    /* prefix cache: pv [L][pcap][KVD]; keys transposed, pkT [L][KVH][HD][pcap], so that a
     * query's scores over a prefix are HD contiguous axpys (vectorised over positions);
     * prefix p occupies positions poff[p] .. poff[p]+plen[p]-1 */
    int np, npcap;
    int *poff, *plen;
    size_t pcap;
    float *pk, *pv;
    /* generation cache: gk/gv [max_new][nslots][L][KVD]: entry (tau, r) holds the K/V of the
     * token that row r of step tau fed; a beam reaches its history through its ancestors'
     * row indices, so beam reordering copies nothing */
    int nslots, max_new;
    float *gk, *gv;
    int *anc_idx;                    /* (nslots, max_new) per-row entry list of the current step */
    /* activations for up to acap rows */
    size_t acap;
    float *x, *h, *q, *k, *v, *att, *g, *u, *last;
    int *row_seq, *row_pos;
    /* attention score scratch: threads x scap */
    size_t scap;
    int snt;
    float *scr;
    int threads;
    int share_prefix;                /* infer_set_share_prefix */
    long pf_positions, pf_rows;      /* infer_prefill_counts */
    CudaInfer *cuda;                 /* infer_set_device("cuda"): prefill and steps run there */
};

void infer_openmp_env(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;   /* the user chose */
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT");   /* exec failed: carry on with libgomp's defaults */
}

Infer *infer_new(const ModelConfig *cfg, const ModelWeights *w) {
    Infer *ix = xcalloc(1, sizeof *ix);
    ix->cfg = cfg; ix->w = w;
    ix->C = cfg->hidden_size; ix->NH = cfg->num_attention_heads; ix->KVH = cfg->num_key_value_heads;
    ix->HD = ix->C / ix->NH; ix->QD = ix->NH * ix->HD; ix->KVD = ix->KVH * ix->HD;
    ix->F = cfg->intermediate_size; ix->V = cfg->vocab_size; ix->L = cfg->num_hidden_layers;
    ix->eps = cfg->rms_norm_eps;
    ix->scale = 1.0f / sqrtf((float)ix->HD);
    int half = ix->HD / 2;
    ix->inv_freq = xmalloc(sizeof(float) * (size_t)(half > 0 ? half : 1));
    /* HF: 1 / theta ** (arange(0, HD, 2).float() / HD), in float32 */
    for (int i = 0; i < half; i++)
        ix->inv_freq[i] = 1.0f / powf(cfg->rope_theta, (float)(2 * i) / (float)ix->HD);
    infer_set_threads(ix, 0);
    ix->share_prefix = 1;
    return ix;
}

void infer_free(Infer *ix) {
    if (!ix) return;
    free(ix->inv_freq); free(ix->poff); free(ix->plen); free(ix->pk); free(ix->pv);
    free(ix->gk); free(ix->gv); free(ix->anc_idx);
    free(ix->x); free(ix->h); free(ix->q); free(ix->k); free(ix->v); free(ix->att); free(ix->g);
    free(ix->u); free(ix->last); free(ix->row_seq); free(ix->row_pos); free(ix->scr);
    cuda_infer_free(ix->cuda);
    free(ix);
}

void infer_set_threads(Infer *ix, int n) {
    if (n <= 0) n = omp_get_num_procs();
    ix->threads = n;
    openblas_set_num_threads(1);   /* see infer_matmul_nt */
}

void infer_set_device(Infer *ix, const char *device, const char *precision) {
    if (!strcmp(device, "cpu")) return;
    if (strcmp(device, "cuda")) die(EXIT_USAGE, "--device: expected cpu or cuda, got '%s'", device);
    int prec = !strcmp(precision, "tf32") ? CUDA_TF32 : !strcmp(precision, "fp32") ? CUDA_FP32 : -1;
    if (prec < 0) die(EXIT_USAGE, "--precision: expected tf32 or fp32, got '%s'", precision);
    if (ix->cuda) return;
    InferShape s = {.L = ix->L, .C = ix->C, .NH = ix->NH, .KVH = ix->KVH, .HD = ix->HD, .QD = ix->QD, .KVD = ix->KVD,
                    .F = ix->F, .V = ix->V, .bias = ix->L > 0 && ix->w->q_proj_b[0] != NULL, .eps = ix->eps,
                    .scale = ix->scale};
    char why[256];
    ix->cuda = cuda_infer_new(&s, ix->w, ix->inv_freq, prec, why, sizeof why);
    if (!ix->cuda) die(EXIT_USAGE, "--device cuda: %s", why);
}
void infer_set_share_prefix(Infer *ix, int on) { ix->share_prefix = on; }
void infer_prefill_counts(const Infer *ix, long *positions, long *rows) { *positions = ix->pf_positions; *rows = ix->pf_rows; }
const char *infer_device_name(const Infer *ix) { return ix->cuda ? cuda_infer_device_name(ix->cuda) : "cpu"; }

static void ensure_rows(Infer *ix, size_t rows) {
    if (rows <= ix->acap) return;
    size_t n = rows > 2 * ix->acap ? rows : 2 * ix->acap;
    free(ix->x); free(ix->h); free(ix->q); free(ix->k); free(ix->v); free(ix->att); free(ix->g);
    free(ix->u); free(ix->row_seq); free(ix->row_pos);
    ix->x = xmalloc(sizeof(float) * n * ix->C);
    ix->h = xmalloc(sizeof(float) * n * ix->C);
    ix->q = xmalloc(sizeof(float) * n * ix->QD);
    ix->att = xmalloc(sizeof(float) * n * ix->QD);
    ix->k = xmalloc(sizeof(float) * n * ix->KVD);
    ix->v = xmalloc(sizeof(float) * n * ix->KVD);
    ix->g = xmalloc(sizeof(float) * n * ix->F);
    ix->u = xmalloc(sizeof(float) * n * ix->F);
    ix->row_seq = xmalloc(sizeof(int) * n);
    ix->row_pos = xmalloc(sizeof(int) * n);
    ix->acap = n;
}

static void ensure_scratch(Infer *ix, size_t ctx) {
    int nt = ix->threads;
    if (ctx <= ix->scap && nt <= ix->snt) return;
    if (ctx < ix->scap) ctx = ix->scap;
    if (nt < ix->snt) nt = ix->snt;
    free(ix->scr);
    ix->scap = ctx; ix->snt = nt;
    ix->scr = xmalloc(sizeof(float) * ctx * (size_t)nt);
}

/* ---- layers (row-major, W is (out, in) as in HF) ---- */

/* C (M,N) = alpha A (M,K) W^T + beta C, W (N,K) row-major. One thread pool: OpenBLAS runs
 * single-threaded inside our OpenMP threads (two pools spinning against each other on a
 * 2-core machine cost 5x). Split over N (the weight rows) when M is small — decode steps have
 * few rows, and each thread then streams only its share of the weights — else over M. */
void infer_matmul_nt(const Infer *ix, int M, int N, int K, float alpha, const float *A, const float *W,
                     float beta, float *Cm) {
    if (M <= 0 || N <= 0) return;
    int parts = ix->threads;
    if ((double)M * N * K < 1e5) parts = 1;
    int split_n = M < 64 * parts;
    if (split_n && parts > N / 16) parts = N / 16 > 0 ? N / 16 : 1;
    if (!split_n && parts > M) parts = M;
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int t = 0; t < parts; t++) {
        if (split_n) {
            int n0 = (int)((long)N * t / parts) / 16 * 16, n1 = t + 1 == parts ? N : (int)((long)N * (t + 1) / parts) / 16 * 16;
            if (n1 > n0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n1 - n0, K, alpha, A, K,
                            W + (size_t)n0 * K, K, beta, Cm + n0, N);
        } else {
            int m0 = (int)((long)M * t / parts), m1 = (int)((long)M * (t + 1) / parts);
            if (m1 > m0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m1 - m0, N, K, alpha, A + (size_t)m0 * K, K,
                            W, K, beta, Cm + (size_t)m0 * N, N);
        }
    }
}

/* y (N,out) = x (N,in) W^T + b */
static void linear_forward(const Infer *ix, float *y, const float *x, const float *W, const float *b, int N, int in, int out) {
    float beta = 0.0f;
    if (b) {
        for (int r = 0; r < N; r++) memcpy(y + (size_t)r * out, b, sizeof(float) * out);
        beta = 1.0f;
    }
    infer_matmul_nt(ix, N, out, in, 1.0f, x, W, beta, y);
}

/* out (N,C) = x / sqrt(mean(x^2) + eps) * w */
static void rmsnorm_forward(float *out, const float *x, const float *wt, int N, int C, float eps, int nt) {
#pragma omp parallel for schedule(static) num_threads(nt) if ((size_t)N * C > (1u << 17))   /* small: no fork */
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * C;
        float *o = out + (size_t)r * C;
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)xr[i] * xr[i];
        float inv = 1.0f / sqrtf((float)(ss / C) + eps);
        for (int i = 0; i < C; i++) o[i] = wt[i] * (xr[i] * inv);
    }
}

/* HF rotate-half RoPE on nh heads of one row at position pos */
static void rope_forward(float *vec, int nh, int HD, int pos, const float *inv_freq) {
    int half = HD / 2;
    for (int i = 0; i < half; i++) {
        float ang = (float)pos * inv_freq[i];
        float c = cosf(ang), s = sinf(ang);
        for (int hh = 0; hh < nh; hh++) {
            float *p = vec + hh * HD;
            float a = p[i], b = p[i + half];
            p[i] = a * c - b * s;
            p[i + half] = b * c + a * s;
        }
    }
}

/* exp for softmax-style sums: Cephes' expf (range reduction by ln 2, degree-6 polynomial,
 * ~1 ulp), written once with GCC vector extensions (8 lanes) since gcc does not vectorise
 * glibc's expf; the scalar form handles the tails. */
/* all users are static: the psABI note about passing 32-byte vectors without -mavx (ASan
 * builds drop -march=native; gcc then splits the vectors into SSE halves) does not apply */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8sf __attribute__((vector_size(32)));
typedef int32_t v8si __attribute__((vector_size(32)));
static inline v8sf vsel(v8si m, v8sf a, v8sf b) { return (v8sf)(((v8si)a & m) | ((v8si)b & ~m)); }
static inline v8sf exp8(v8sf x) {
    const v8sf z = {0};
    x = vsel(x < -87.0f, z - 87.0f, x);
    x = vsel(x > 88.0f, z + 88.0f, x);
    v8sf t = x * 1.44269504088896341f + 0.5f;
    v8si ni = __builtin_convertvector(t, v8si);          /* truncation ... */
    ni += (__builtin_convertvector(ni, v8sf) > t);       /* ... to floor (true is -1) */
    v8sf n = __builtin_convertvector(ni, v8sf);
    v8sf r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v8sf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    v8sf y = p * r * r + r + 1.0f;
    return y * (v8sf)((ni + 127) << 23);
}
static inline float exp1(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    union { int32_t i; float f; } u;
    u.i = ((int32_t)n + 127) << 23;
    return y * u.f;
}
/* out[i] = exp(x[i] - shift) (out may be NULL or == x); returns the sum */
static float exp_sum(const float *x, float *out, int n, float shift) {
    v8sf acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8sf v;
        memcpy(&v, x + i, sizeof v);
        v = exp8(v - shift);
        if (out) memcpy(out + i, &v, sizeof v);
        acc += v;
    }
    float s = 0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) {
        float e = exp1(x[i] - shift);
        if (out) out[i] = e;
        s += e;
    }
    return s;
}

/* g (N,F) = silu(g) * u */
static void swiglu_forward(float *g, const float *u, size_t n, int nt) {
#pragma omp parallel for schedule(static) num_threads(nt) if (n > (1u << 17))
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
        size_t i = i0;
        for (; i + 8 <= i1; i += 8) {
            v8sf a, b;
            memcpy(&a, g + i, sizeof a);
            memcpy(&b, u + i, sizeof b);
            a = a / (1.0f + exp8(-a)) * b;
            memcpy(g + i, &a, sizeof a);
        }
        for (; i < i1; i++) g[i] = g[i] / (1.0f + exp1(-g[i])) * u[i];
    }
}

float infer_logsumexp(const float *x, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx + logf(exp_sum(x, NULL, n, mx));
}

static inline float dot(const float *a, const float *b, int n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int d = 0; d < n; d++) s += a[d] * b[d];
    return s;
}
static inline void axpy(float *y, float a, const float *x, int n) {
#pragma omp simd
    for (int d = 0; d < n; d++) y[d] += a * x[d];
}

/* one head of one query: out (HD) = softmax(q . K^T * scale) V over two key ranges
 * (k1/v1 n1 rows, then k2/v2 n2 rows, row stride KVD) */
static void attend(float *out, const float *q, const float *k1, const float *v1, int n1,
                   const float *k2, const float *v2, int n2, int KVD, int HD, float scale, float *sc) {
    int n = n1 + n2;
    float mx = -INFINITY;
    for (int j = 0; j < n1; j++) sc[j] = dot(q, k1 + (size_t)j * KVD, HD) * scale;
    for (int j = 0; j < n2; j++) sc[n1 + j] = dot(q, k2 + (size_t)j * KVD, HD) * scale;
    for (int j = 0; j < n; j++) if (sc[j] > mx) mx = sc[j];
    float sum = exp_sum(sc, sc, n, mx);
    float inv = 1.0f / sum;
    for (int d = 0; d < HD; d++) out[d] = 0;
    for (int j = 0; j < n1; j++) axpy(out, sc[j] * inv, v1 + (size_t)j * KVD, HD);
    for (int j = 0; j < n2; j++) axpy(out, sc[n1 + j] * inv, v2 + (size_t)j * KVD, HD);
}

/* sc[j] = scale * sum_d q[d] kt[d*ks + j], j < n: keys transposed, 64 positions per block
 * held in 8 vector registers while d runs */
static void scores_t(float *sc, const float *q, const float *kt, size_t ks, int n, int HD, float scale) {
    int j0 = 0;
    for (; j0 + 64 <= n; j0 += 64) {
        v8sf a[8] = {{0}};
        for (int d = 0; d < HD; d++) {
            const float *kr = kt + (size_t)d * ks + j0;
            v8sf qd = (v8sf){0} + q[d] * scale;
            for (int b = 0; b < 8; b++) {
                v8sf kv;
                memcpy(&kv, kr + 8 * b, sizeof kv);
                a[b] += qd * kv;
            }
        }
        memcpy(sc + j0, a, sizeof a);
    }
    if (j0 < n) {
        for (int j = j0; j < n; j++) sc[j] = 0;
        for (int d = 0; d < HD; d++) axpy(sc + j0, q[d] * scale, kt + (size_t)d * ks + j0, n - j0);
    }
}

/* out[d] = sum_j p[j] v[j*stride + d], d < HD: 64 columns per block in 8 vector registers */
static void pv_accum(float *out, const float *p, const float *v, int n, int stride, int HD) {
    int d0 = 0;
    for (; d0 + 64 <= HD; d0 += 64) {
        v8sf a[8];
        memcpy(a, out + d0, sizeof a);
        for (int j = 0; j < n; j++) {
            const float *vr = v + (size_t)j * stride + d0;
            v8sf pj = (v8sf){0} + p[j];
            for (int b = 0; b < 8; b++) {
                v8sf vv;
                memcpy(&vv, vr + 8 * b, sizeof vv);
                a[b] += pj * vv;
            }
        }
        memcpy(out + d0, a, sizeof a);
    }
    if (d0 < HD)
        for (int j = 0; j < n; j++) axpy(out + d0, p[j], v + (size_t)j * stride + d0, HD - d0);
}

/* x (N,C) += MLP(post_attention_layernorm(x)) for layer l */
static void mlp_block(Infer *ix, int l, int N) {
    const ModelWeights *w = ix->w;
    rmsnorm_forward(ix->h, ix->x, w->post_attention_layernorm[l], N, ix->C, ix->eps, ix->threads);
    linear_forward(ix, ix->g, ix->h, w->gate_proj_w[l], NULL, N, ix->C, ix->F);
    linear_forward(ix, ix->u, ix->h, w->up_proj_w[l], NULL, N, ix->C, ix->F);
    swiglu_forward(ix->g, ix->u, (size_t)N * ix->F, ix->threads);
    /* x += g Wd^T */
    infer_matmul_nt(ix, N, ix->C, ix->F, 1.0f, ix->g, w->down_proj_w[l], 1.0f, ix->x);
}

static void embed_rows(Infer *ix, const int *tokens, int N) {
    for (int r = 0; r < N; r++) {
        int t = tokens[r];
        if (t < 0 || t >= ix->V) die(EXIT_DATA, "token id %d outside the vocabulary (0..%d)", t, ix->V - 1);
        memcpy(ix->x + (size_t)r * ix->C, ix->w->embed_tokens + (size_t)t * ix->C, sizeof(float) * ix->C);
    }
}

/* final norm of the selected rows into hid (n,C), then logits (n,V) */
static void head_forward(Infer *ix, const float *rows, int n, float *hid, float *logits) {
    rmsnorm_forward(hid, rows, ix->w->norm, n, ix->C, ix->eps, ix->threads);
    if (logits)
        infer_matmul_nt(ix, n, ix->V, ix->C, 1.0f, hid, ix->w->lm_head, 0.0f, logits);
}

/* The sequences' longest common token prefix (the prompt template's instruction: about half
 * of a BIGRec prompt) is computed once, as rows 0..P-1; each sequence then has rows only for
 * its positions P..len-1, which attend to the shared rows and then their own. The same math
 * as prefilling every sequence whole; only the GEMMs' rounding moves (a row's products depend
 * on where it falls in a GEMM's tiles: scores within ~3e-5 on the Games prompts, the same
 * beams). P < every len, so each sequence keeps its own last row. 0 when sharing is off. */
static int shared_prefix(const Infer *ix, int nseq, const int *lens, const int *tokens, int maxlen) {
    if (!ix->share_prefix || nseq < 2) return 0;
    int minlen = maxlen;
    for (int s = 0; s < nseq; s++) if (lens[s] < minlen) minlen = lens[s];
    for (int s = 1, o = lens[0]; s < nseq; o += lens[s], s++) {
        int i = 0;
        while (i < minlen - 1 && tokens[o + i] == tokens[i]) i++;
        minlen = i + 1;
    }
    return minlen - 1;
}

void infer_prefill(Infer *ix, int nseq, const int *lens, const int *tokens, int keep_cache,
                   float *out_hidden, float *out_logits) {
    const ModelWeights *w = ix->w;
    size_t N = 0;
    int maxlen = 0;
    for (int s = 0; s < nseq; s++) {
        if (lens[s] < 1) die(EXIT_DATA, "empty sequence given to the model");
        N += lens[s];
        if (lens[s] > maxlen) maxlen = lens[s];
    }
    int P = shared_prefix(ix, nseq, lens, tokens, maxlen);
    ix->pf_positions += (long)N; ix->pf_rows += (long)(N - (size_t)P * (nseq - 1));
    if (ix->cuda) {
        for (size_t r = 0; r < N; r++)
            if (tokens[r] < 0 || tokens[r] >= ix->V) die(EXIT_DATA, "token id %d outside the vocabulary (0..%d)", tokens[r], ix->V - 1);
        if (keep_cache) {   /* the host keeps the prefix table: infer_step checks against it */
            if (nseq > ix->npcap) {
                ix->npcap = nseq;
                ix->poff = xrealloc(ix->poff, sizeof(int) * nseq);
                ix->plen = xrealloc(ix->plen, sizeof(int) * nseq);
            }
            ix->np = nseq;
            for (int s = 0, o = 0; s < nseq; o += lens[s], s++) { ix->poff[s] = o; ix->plen[s] = lens[s]; }
        }
        cuda_infer_prefill(ix->cuda, nseq, lens, tokens, P, keep_cache, out_hidden, out_logits);
        return;
    }
    size_t NR = P;                              /* computed rows: shared, then each suffix */
    int *off = xmalloc(sizeof(int) * (nseq + 1)), *soff = xmalloc(sizeof(int) * nseq);
    off[0] = 0;
    for (int s = 0; s < nseq; s++) { off[s + 1] = off[s] + lens[s]; soff[s] = (int)NR; NR += lens[s] - P; }
    ensure_rows(ix, NR);
    ensure_scratch(ix, maxlen);
    int *rtok = xmalloc(sizeof(int) * NR);
    for (int i = 0; i < P; i++) { ix->row_seq[i] = -1; ix->row_pos[i] = i; rtok[i] = tokens[i]; }
    for (int s = 0; s < nseq; s++)
        for (int i = P; i < lens[s]; i++) {
            size_t r = (size_t)soff[s] + i - P;
            ix->row_seq[r] = s; ix->row_pos[r] = i; rtok[r] = tokens[off[s] + i];
        }
    if (keep_cache) {
        if (N > ix->pcap) {
            free(ix->pk); free(ix->pv);
            ix->pcap = N;
            ix->pk = xmalloc(sizeof(float) * ix->pcap * ix->L * ix->KVD);
            ix->pv = xmalloc(sizeof(float) * ix->pcap * ix->L * ix->KVD);
        }
        if (nseq > ix->npcap) {
            ix->npcap = nseq;
            ix->poff = xrealloc(ix->poff, sizeof(int) * nseq);
            ix->plen = xrealloc(ix->plen, sizeof(int) * nseq);
        }
        ix->np = nseq;
        for (int s = 0; s < nseq; s++) { ix->poff[s] = off[s]; ix->plen[s] = lens[s]; }
    }
    embed_rows(ix, rtok, (int)NR);
    int NH = ix->NH, KVD = ix->KVD, HD = ix->HD, QD = ix->QD, grp = ix->NH / ix->KVH;
    for (int l = 0; l < ix->L; l++) {
        /* attention block: x (NR,C) += o_proj(attn(rope(q), rope(k), v)) */
        rmsnorm_forward(ix->h, ix->x, w->input_layernorm[l], (int)NR, ix->C, ix->eps, ix->threads);
        linear_forward(ix, ix->q, ix->h, w->q_proj_w[l], w->q_proj_b[l], (int)NR, ix->C, QD);
        linear_forward(ix, ix->k, ix->h, w->k_proj_w[l], w->k_proj_b[l], (int)NR, ix->C, KVD);
        linear_forward(ix, ix->v, ix->h, w->v_proj_w[l], w->v_proj_b[l], (int)NR, ix->C, KVD);
#pragma omp parallel for schedule(static) num_threads(ix->threads)
        for (size_t r = 0; r < NR; r++) {
            rope_forward(ix->q + r * QD, NH, HD, ix->row_pos[r], ix->inv_freq);
            rope_forward(ix->k + r * KVD, ix->KVH, HD, ix->row_pos[r], ix->inv_freq);
        }
        if (keep_cache) {   /* sequence s's positions 0..len-1 at poff[s]: shared rows, then its own */
            float *kt = ix->pk + (size_t)l * ix->pcap * KVD, *vt = ix->pv + (size_t)l * ix->pcap * KVD;
            for (int s = 0; s < nseq; s++)
                for (int i = 0; i < lens[s]; i++) {
                    size_t src = i < P ? (size_t)i : (size_t)soff[s] + i - P, dst = (size_t)off[s] + i;
                    for (int c = 0; c < KVD; c++) kt[(size_t)c * ix->pcap + dst] = ix->k[src * KVD + c];
                    memcpy(vt + dst * KVD, ix->v + src * KVD, sizeof(float) * KVD);
                }
        }
#pragma omp parallel for schedule(dynamic, 16) num_threads(ix->threads)
        for (size_t rh = 0; rh < NR * NH; rh++) {
            size_t r = rh / NH;
            int hh = (int)(rh % NH), kh = hh / grp;
            int s = ix->row_seq[r], i = ix->row_pos[r];
            size_t own = s < 0 ? 0 : (size_t)soff[s];   /* the row's own keys start here */
            int n1 = s < 0 ? 0 : P, n2 = s < 0 ? i + 1 : i - P + 1;
            attend(ix->att + r * QD + hh * HD, ix->q + r * QD + hh * HD, ix->k + kh * HD, ix->v + kh * HD, n1,
                   ix->k + own * KVD + kh * HD, ix->v + own * KVD + kh * HD, n2,
                   KVD, HD, ix->scale, ix->scr + (size_t)omp_get_thread_num() * ix->scap);
        }
        infer_matmul_nt(ix, (int)NR, ix->C, QD, 1.0f, ix->att, w->o_proj_w[l], 1.0f, ix->x);
        mlp_block(ix, l, (int)NR);
    }
    /* gather the last position of each sequence */
    ix->last = xrealloc(ix->last, sizeof(float) * (size_t)nseq * ix->C);
    for (int s = 0; s < nseq; s++)
        memcpy(ix->last + (size_t)s * ix->C, ix->x + ((size_t)soff[s] + lens[s] - P - 1) * ix->C, sizeof(float) * ix->C);
    float *hid = out_hidden ? out_hidden : xmalloc(sizeof(float) * (size_t)nseq * ix->C);
    head_forward(ix, ix->last, nseq, hid, out_logits);
    if (!out_hidden) free(hid);
    free(off); free(soff); free(rtok);
}

void infer_gen_reserve(Infer *ix, int max_rows, int max_new) {
    if (ix->cuda) {   /* the caches live on the device; the host keeps the ancestry lists */
        cuda_infer_gen_reserve(ix->cuda, max_rows, max_new);
        ix->nslots = max_rows;
        ix->max_new = max_new;
        ix->anc_idx = xrealloc(ix->anc_idx, sizeof(int) * (size_t)max_rows * max_new);
        return;
    }
    size_t n = (size_t)max_new * max_rows * ix->L * ix->KVD;
    if ((size_t)ix->max_new * ix->nslots * ix->L * ix->KVD < n || !ix->gk) {
        free(ix->gk); free(ix->gv);
        ix->gk = xcalloc(n, sizeof(float));
        ix->gv = xcalloc(n, sizeof(float));
    }
    ix->nslots = max_rows;
    ix->max_new = max_new;
    ix->anc_idx = xrealloc(ix->anc_idx, sizeof(int) * (size_t)max_rows * max_new);
}

/* entry (step tau, row r) of the generation cache, layer l */
static inline size_t gidx(const Infer *ix, int tau, int r, int l) {
    return (((size_t)tau * ix->nslots + r) * ix->L + l) * ix->KVD;
}

/* decode-step attention over the generated part: keys/values are entries (tau, idx[tau]) */
static void attend_step(const Infer *ix, float *out, const float *q, const float *kt, const float *v1, int n1,
                        const int *idx, int n2, int l, int koff, float *sc) {
    int n = n1 + n2, HD = ix->HD, KVD = ix->KVD;
    scores_t(sc, q, kt, ix->pcap, n1, HD, ix->scale);
    for (int j = 0; j < n2; j++) sc[n1 + j] = dot(q, ix->gk + gidx(ix, j, idx[j], l) + koff, HD) * ix->scale;
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) if (sc[j] > mx) mx = sc[j];
    float inv = 1.0f / exp_sum(sc, sc, n, mx);
    for (int j = 0; j < n; j++) sc[j] *= inv;
    for (int d = 0; d < HD; d++) out[d] = 0;
    pv_accum(out, sc, v1, n1, KVD, HD);
    for (int j = 0; j < n2; j++) axpy(out, sc[n1 + j], ix->gv + gidx(ix, j, idx[j], l) + koff, HD);
}

void infer_step(Infer *ix, int n, const int *tokens, const int *prefix, int t, const int *anc,
                float *out_logits) {
    const ModelWeights *w = ix->w;
    if (t < 0 || t >= ix->max_new) die(EXIT_DATA, "generation position %d beyond the reserved %d", t, ix->max_new);
    if (n > ix->nslots) die(EXIT_DATA, "infer_step: %d rows, %d reserved", n, ix->nslots);
    if (n <= 0) return;
    int maxctx = 0;
    for (int r = 0; r < n; r++) {
        if (prefix[r] < 0 || prefix[r] >= ix->np) die(EXIT_DATA, "infer_step: bad prefix for row %d", r);
        for (int tau = 0; tau < t; tau++)
            if (anc[(size_t)r * t + tau] < 0 || anc[(size_t)r * t + tau] >= ix->nslots)
                die(EXIT_DATA, "infer_step: bad ancestor for row %d", r);
        if (ix->plen[prefix[r]] + t + 1 > maxctx) maxctx = ix->plen[prefix[r]] + t + 1;
        /* row r's generated positions: its ancestors, then itself at step t */
        int *idx = ix->anc_idx + (size_t)r * ix->max_new;
        memcpy(idx, anc + (size_t)r * t, sizeof(int) * t);
        idx[t] = r;
    }
    if (ix->cuda) {
        for (int r = 0; r < n; r++)
            if (tokens[r] < 0 || tokens[r] >= ix->V) die(EXIT_DATA, "token id %d outside the vocabulary (0..%d)", tokens[r], ix->V - 1);
        cuda_infer_step(ix->cuda, n, tokens, prefix, t, ix->anc_idx, ix->max_new, out_logits);
        return;
    }
    ensure_rows(ix, n);
    ensure_scratch(ix, maxctx);
    embed_rows(ix, tokens, n);
    int NH = ix->NH, KVD = ix->KVD, HD = ix->HD, QD = ix->QD, grp = ix->NH / ix->KVH;
    for (int l = 0; l < ix->L; l++) {
        rmsnorm_forward(ix->h, ix->x, w->input_layernorm[l], n, ix->C, ix->eps, ix->threads);
        linear_forward(ix, ix->q, ix->h, w->q_proj_w[l], w->q_proj_b[l], n, ix->C, QD);
        linear_forward(ix, ix->k, ix->h, w->k_proj_w[l], w->k_proj_b[l], n, ix->C, KVD);
        linear_forward(ix, ix->v, ix->h, w->v_proj_w[l], w->v_proj_b[l], n, ix->C, KVD);
        for (int r = 0; r < n; r++) {
            int pos = ix->plen[prefix[r]] + t;
            rope_forward(ix->q + (size_t)r * QD, NH, HD, pos, ix->inv_freq);
            rope_forward(ix->k + (size_t)r * KVD, ix->KVH, HD, pos, ix->inv_freq);
            memcpy(ix->gk + gidx(ix, t, r, l), ix->k + (size_t)r * KVD, sizeof(float) * KVD);
            memcpy(ix->gv + gidx(ix, t, r, l), ix->v + (size_t)r * KVD, sizeof(float) * KVD);
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(ix->threads)
        for (int rh = 0; rh < n * NH; rh++) {
            int r = rh / NH, hh = rh % NH, kh = hh / grp, p = prefix[r];
            const float *kt = ix->pk + (size_t)l * ix->pcap * KVD + (size_t)kh * HD * ix->pcap + ix->poff[p];
            const float *v1 = ix->pv + ((size_t)l * ix->pcap + ix->poff[p]) * KVD + kh * HD;
            attend_step(ix, ix->att + (size_t)r * QD + hh * HD, ix->q + (size_t)r * QD + hh * HD, kt, v1,
                        ix->plen[p], ix->anc_idx + (size_t)r * ix->max_new, t + 1, l, kh * HD,
                        ix->scr + (size_t)omp_get_thread_num() * ix->scap);
        }
        infer_matmul_nt(ix, n, ix->C, QD, 1.0f, ix->att, w->o_proj_w[l], 1.0f, ix->x);
        mlp_block(ix, l, n);
    }
    head_forward(ix, ix->x, n, ix->h, out_logits);
}
