/* infer_cuda.cu: the device side of infer.c's prefill and decode step (see infer_cuda.h).
 * Layouts follow infer.c: prefix cache pk/pv [L][pcap][KVD] (keys not transposed: the warp
 * kernel reads rows), generation cache gk/gv [max_new][nslots][L][KVD], entry (tau, r) the K/V
 * of the token row r fed at step tau. */
#include "cuda/common.cuh"
#include "cuda/embedding.cuh"
#include "cuda/rmsnorm.cuh"
#include "cuda/linear.cuh"
#include "cuda/rope.cuh"
#include "cuda/swiglu.cuh"
#include "cuda/kvcache.cuh"
#include "infer_cuda.h"
#include "model_cuda.h"
#include <math.h>
#include <string.h>
#include <vector>
#include <algorithm>

struct CudaInfer {
    InferShape s;
    char name[256];
    cublasHandle_t blas;
    /* weights: one device buffer; per layer the q/k/v projections, o, gate|up (2F, C), down */
    float *wbuf;
    float *embed, *norm, *lm_head;
    std::vector<float *> ln1, qw, qb, kw, kb, vw, vb, ow, ln2, guw, dw;
    /* RoPE tables (rope_n, HD/2), built on the host from infer.c's frequencies */
    std::vector<float> inv_freq;
    float *rcos = nullptr, *rsin = nullptr; int rope_n = 0;
    /* caches */
    float *pk = nullptr, *pv = nullptr; size_t pcap = 0;
    std::vector<int> poff, plen;
    float *gk = nullptr, *gv = nullptr; size_t gcap = 0; int nslots = 0, max_new = 0;
    /* activations for up to acap rows, head for up to hcap rows */
    float *abuf = nullptr; size_t acap = 0;
    float *x, *h, *rstd, *q, *k, *v, *att, *gu, *hh;
    int *ibuf = nullptr; size_t icap = 0;
    int *tok, *pos, *base, *n1, *base2, *n2, *gidx;
    float *hbuf = nullptr; size_t hcap = 0;
    float *last, *hid, *hrstd, *logits;
    int *rows = nullptr; size_t rcap = 0;
    std::vector<int> h_tok, h_pos, h_base, h_n1, h_base2, h_n2, h_rows, h_gidx;
};


/* ------------------------------------------------------------------ setup ---- */
extern "C" CudaInfer *cuda_infer_new(const InferShape *s, const ModelWeights *w, const float *inv_freq, int precision,
                                     char *why, size_t nwhy) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(why, nwhy, "no usable CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return nullptr;
    }
    if (s->HD > 32 * KV_MAXD || s->NH % s->KVH) {
        snprintf(why, nwhy, "head dim %d (at most %d) or %d heads over %d kv heads not supported by the CUDA path",
                 s->HD, 32 * KV_MAXD, s->NH, s->KVH);
        return nullptr;
    }
    CUDA_CHECK(cudaSetDevice(0));
    CudaInfer *ci = new CudaInfer();
    ci->s = *s;
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    snprintf(ci->name, sizeof ci->name, "%.200s (sm_%d%d, %.0f GiB)", prop.name, prop.major, prop.minor, prop.totalGlobalMem / 1073741824.0);
    if (cublasCreate(&ci->blas) != CUBLAS_STATUS_SUCCESS) {
        snprintf(why, nwhy, "cuBLAS could not be initialised on %s", ci->name);
        delete ci;
        return nullptr;
    }
    CUBLAS_CHECK(cublasSetMathMode(ci->blas, precision == CUDA_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    size_t L = s->L, C = s->C, QD = s->QD, KVD = s->KVD, F = s->F, V = s->V;
    int tied = w->lm_head == w->embed_tokens;
    size_t per = 2 * C + QD * C + 2 * KVD * C + (s->bias ? QD + 2 * KVD : 0) + C * QD + 2 * F * C + C * F;
    size_t total = V * C + C + (tied ? 0 : V * C) + L * per;
    ci->wbuf = (float *)dmalloc(total * sizeof(float));
    float *p = ci->wbuf;
    auto put = [&](const float *host, size_t n) { float *d = p; h2d(d, host, n); p += n; return d; };
    ci->embed = put(w->embed_tokens, V * C);
    ci->norm = put(w->norm, C);
    ci->lm_head = tied ? ci->embed : put(w->lm_head, V * C);
    for (size_t l = 0; l < L; l++) {
        ci->ln1.push_back(put(w->input_layernorm[l], C));
        ci->qw.push_back(put(w->q_proj_w[l], QD * C));
        ci->kw.push_back(put(w->k_proj_w[l], KVD * C));
        ci->vw.push_back(put(w->v_proj_w[l], KVD * C));
        ci->qb.push_back(s->bias ? put(w->q_proj_b[l], QD) : nullptr);
        ci->kb.push_back(s->bias ? put(w->k_proj_b[l], KVD) : nullptr);
        ci->vb.push_back(s->bias ? put(w->v_proj_b[l], KVD) : nullptr);
        ci->ow.push_back(put(w->o_proj_w[l], C * QD));
        ci->ln2.push_back(put(w->post_attention_layernorm[l], C));
        float *gu = put(w->gate_proj_w[l], F * C);
        put(w->up_proj_w[l], F * C);                 /* rows F..2F-1 of the fused (2F, C) */
        ci->guw.push_back(gu);
        ci->dw.push_back(put(w->down_proj_w[l], C * F));
    }
    if ((size_t)(p - ci->wbuf) != total) die(EXIT_IO, "infer_cuda: internal error: weight layout");
    ci->inv_freq.assign(inv_freq, inv_freq + s->HD / 2);
    return ci;
}

extern "C" void cuda_infer_free(CudaInfer *ci) {
    if (!ci) return;
    cudaFree(ci->wbuf); cudaFree(ci->rcos); cudaFree(ci->rsin); cudaFree(ci->pk); cudaFree(ci->pv);
    cudaFree(ci->gk); cudaFree(ci->gv); cudaFree(ci->abuf); cudaFree(ci->ibuf); cudaFree(ci->hbuf); cudaFree(ci->rows);
    cublasDestroy(ci->blas);
    delete ci;
}

extern "C" const char *cuda_infer_device_name(const CudaInfer *ci) { return ci->name; }

/* positions 0..n-1 of the RoPE tables, as infer.c's rope_forward computes them */
static void ensure_rope(CudaInfer *ci, int n) {
    if (n <= ci->rope_n) return;
    int h2 = ci->s.HD / 2, cap = std::max(n, 2 * ci->rope_n);
    std::vector<float> c((size_t)cap * h2), sn((size_t)cap * h2);
    for (int pos = 0; pos < cap; pos++)
        for (int i = 0; i < h2; i++) {
            float ang = (float)pos * ci->inv_freq[(size_t)i];
            c[(size_t)pos * h2 + i] = cosf(ang);
            sn[(size_t)pos * h2 + i] = sinf(ang);
        }
    cudaFree(ci->rcos); cudaFree(ci->rsin);
    ci->rcos = (float *)dmalloc(c.size() * sizeof(float) + 16);
    ci->rsin = (float *)dmalloc(sn.size() * sizeof(float) + 16);
    h2d(ci->rcos, c.data(), c.size()); h2d(ci->rsin, sn.data(), sn.size());
    ci->rope_n = cap;
}

/* every buffer of an arena starts on a 128-byte boundary (the fast cuBLAS kernels want 16) */
#define ALIGN 32
static size_t aligned(size_t nfloats) { return (nfloats + ALIGN - 1) / ALIGN * ALIGN; }

/* activations for n rows, ints for n rows plus g generation-list entries, head for nh rows */
static void ensure_rows(CudaInfer *ci, size_t n, size_t g, size_t nh) {
    const InferShape &s = ci->s;
    size_t C = s.C, QD = s.QD, KVD = s.KVD, F = s.F;
    if (n > ci->acap) {
        n = std::max(n, 2 * ci->acap);
        cudaFree(ci->abuf);
        ci->abuf = (float *)dmalloc((n * (2 * C + 1 + 2 * QD + 2 * KVD + 3 * F) + 9 * ALIGN) * sizeof(float));
        ci->acap = n;
        float *p = ci->abuf;
        auto take = [&](size_t cnt) { float *r = p; p += aligned(cnt); return r; };
        ci->x = take(n * C); ci->h = take(n * C); ci->rstd = take(n); ci->q = take(n * QD); ci->att = take(n * QD);
        ci->k = take(n * KVD); ci->v = take(n * KVD); ci->gu = take(n * 2 * F); ci->hh = take(n * F);
    }
    size_t ni = 6 * ci->acap + g;
    if (ni > ci->icap) {
        ni = std::max(ni, 2 * ci->icap);
        cudaFree(ci->ibuf);
        ci->ibuf = (int *)dmalloc(ni * sizeof(int));
        ci->icap = ni;
    }
    ci->tok = ci->ibuf; ci->pos = ci->tok + ci->acap; ci->base = ci->pos + ci->acap; ci->n1 = ci->base + ci->acap;
    ci->base2 = ci->n1 + ci->acap; ci->n2 = ci->base2 + ci->acap; ci->gidx = ci->n2 + ci->acap;
    if (nh > ci->hcap) {
        nh = std::max(nh, 2 * ci->hcap);
        cudaFree(ci->hbuf); cudaFree(ci->rows);
        ci->hbuf = (float *)dmalloc((nh * (2 * C + 1 + (size_t)s.V) + 4 * ALIGN) * sizeof(float));
        ci->rows = (int *)dmalloc(nh * sizeof(int));
        ci->hcap = nh;
        float *p = ci->hbuf;
        ci->last = p; p += aligned(nh * C);
        ci->hid = p; p += aligned(nh * C);
        ci->hrstd = p; p += aligned(nh);
        ci->logits = p;
    }
}

/* ------------------------------------------------------------------ layers ---- */
/* y (n,OUT) = x (n,IN) w^T + b */
static void linear(CudaInfer *ci, float *y, const float *x, const float *w, const float *b, int n, int IN, int OUT) {
    mm(ci->blas, 0, 1, n, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, y, OUT);
    if (b) { add_bias_kernel<<<n, 256>>>(y, b, OUT); LAUNCH_CHECK(); }
}
static void rmsnorm(CudaInfer *ci, float *y, float *rstd, const float *x, const float *w, int n) {
    rmsnorm_forward_kernel<<<n, 256>>>(y, rstd, x, w, ci->s.C, ci->s.eps); LAUNCH_CHECK();
}
/* x (n,C) += MLP(post_attention_layernorm(x)) */
static void mlp_block(CudaInfer *ci, int l, int n) {
    const InferShape &s = ci->s;
    rmsnorm(ci, ci->h, ci->rstd, ci->x, ci->ln2[(size_t)l], n);
    mm(ci->blas, 0, 1, n, 2 * s.F, s.C, 1.0f, ci->h, s.C, ci->guw[(size_t)l], s.C, 0.0f, ci->gu, 2 * s.F);
    long total = (long)n * s.F;
    swiglu_forward_kernel<<<cdiv(total, 256), 256>>>(ci->hh, ci->gu, total, s.F); LAUNCH_CHECK();
    mm(ci->blas, 0, 1, n, s.C, s.F, 1.0f, ci->hh, s.F, ci->dw[(size_t)l], s.F, 1.0f, ci->x, s.C);
}
/* x (n,C) += o_proj(attention(rope(q), rope(k), v)) with the keys kr names; store() puts this
 * layer's rotated k/v where the caches keep them before attention reads them */
template <typename Store>
static void attention_block(CudaInfer *ci, int l, int n, KvRows kr, Store store) {
    const InferShape &s = ci->s;
    rmsnorm(ci, ci->h, ci->rstd, ci->x, ci->ln1[(size_t)l], n);
    linear(ci, ci->q, ci->h, ci->qw[(size_t)l], ci->qb[(size_t)l], n, s.C, s.QD);
    linear(ci, ci->k, ci->h, ci->kw[(size_t)l], ci->kb[(size_t)l], n, s.C, s.KVD);
    linear(ci, ci->v, ci->h, ci->vw[(size_t)l], ci->vb[(size_t)l], n, s.C, s.KVD);
    rope_kernel<<<n, 256>>>(ci->q, ci->pos, ci->rcos, ci->rsin, s.NH, s.HD, 1); LAUNCH_CHECK();
    rope_kernel<<<n, 256>>>(ci->k, ci->pos, ci->rcos, ci->rsin, s.KVH, s.HD, 1); LAUNCH_CHECK();
    store();
    kv_attention_kernel<<<cdiv((long)n * s.NH, KV_WARPS), 32 * KV_WARPS>>>(ci->att, ci->q, kr, n, s.NH, s.KVH, s.HD, s.scale);
    LAUNCH_CHECK();
    mm(ci->blas, 0, 1, n, s.C, s.QD, 1.0f, ci->att, s.QD, ci->ow[(size_t)l], s.QD, 1.0f, ci->x, s.C);
}
/* final norm of rows h_rows[0..nr) of x (gather: every row of x in order when !gather) into
 * hid, logits when asked; both copied to the host */
static void head(CudaInfer *ci, int nr, int gather, float *out_hidden, float *out_logits) {
    const InferShape &s = ci->s;
    const float *src = ci->x;
    if (gather) {
        h2d(ci->rows, ci->h_rows.data(), (size_t)nr);
        embedding_forward_kernel<<<nr, 256>>>(ci->last, ci->rows, ci->x, s.C); LAUNCH_CHECK();   /* gather rows */
        src = ci->last;
    }
    rmsnorm(ci, ci->hid, ci->hrstd, src, ci->norm, nr);
    if (out_logits) {
        mm(ci->blas, 0, 1, nr, s.V, s.C, 1.0f, ci->hid, s.C, ci->lm_head, s.C, 0.0f, ci->logits, s.V);
        d2h(out_logits, ci->logits, (size_t)nr * s.V);
    }
    if (out_hidden) d2h(out_hidden, ci->hid, (size_t)nr * s.C);
}

/* ----------------------------------------------------------------- prefill ---- */
/* infer.c's prefill layout: rows 0..P-1 the sequences' shared first P positions, computed
 * once; then sequence q's positions P..len-1 at rows soff[q].. . A row attends to the shared
 * rows up to its position (the base range) and then to its own sequence's rows (base2). */
extern "C" void cuda_infer_prefill(CudaInfer *ci, int nseq, const int *lens, const int *tokens, int P, int keep_cache,
                                   float *out_hidden, float *out_logits) {
    const InferShape &s = ci->s;
    size_t N = 0, NR = (size_t)P;
    int maxlen = 0;
    std::vector<int> off((size_t)nseq), soff((size_t)nseq);
    for (int q = 0; q < nseq; q++) {
        off[(size_t)q] = (int)N; soff[(size_t)q] = (int)NR;
        N += (size_t)lens[q]; NR += (size_t)(lens[q] - P); maxlen = std::max(maxlen, lens[q]);
    }
    if (N == 0) return;
    ensure_rows(ci, NR, 0, (size_t)nseq);
    ensure_rope(ci, maxlen);
    ci->h_tok.resize(NR); ci->h_pos.resize(NR); ci->h_base.assign(NR, 0); ci->h_n1.resize(NR);
    ci->h_base2.resize(NR); ci->h_n2.resize(NR); ci->h_rows.resize((size_t)nseq);
    for (int i = 0; i < P; i++) {
        ci->h_tok[(size_t)i] = tokens[i]; ci->h_pos[(size_t)i] = i;
        ci->h_n1[(size_t)i] = i + 1; ci->h_base2[(size_t)i] = 0; ci->h_n2[(size_t)i] = 0;
    }
    for (int q = 0; q < nseq; q++) {
        for (int i = P; i < lens[q]; i++) {
            size_t r = (size_t)(soff[(size_t)q] + i - P);
            ci->h_tok[r] = tokens[(size_t)off[(size_t)q] + i]; ci->h_pos[r] = i;
            ci->h_n1[r] = P; ci->h_base2[r] = soff[(size_t)q]; ci->h_n2[r] = i - P + 1;
        }
        ci->h_rows[(size_t)q] = soff[(size_t)q] + lens[q] - P - 1;
    }
    h2d(ci->tok, ci->h_tok.data(), NR); h2d(ci->pos, ci->h_pos.data(), NR);
    h2d(ci->base, ci->h_base.data(), NR); h2d(ci->n1, ci->h_n1.data(), NR);
    h2d(ci->base2, ci->h_base2.data(), NR); h2d(ci->n2, ci->h_n2.data(), NR);
    if (keep_cache) {
        if (N > ci->pcap) {
            cudaFree(ci->pk); cudaFree(ci->pv);
            ci->pcap = N;
            ci->pk = (float *)dmalloc(N * s.L * s.KVD * sizeof(float));
            ci->pv = (float *)dmalloc(N * s.L * s.KVD * sizeof(float));
        }
        ci->poff.assign(off.begin(), off.end());
        ci->plen.assign(lens, lens + nseq);
    }
    embedding_forward_kernel<<<(unsigned)NR, 256>>>(ci->x, ci->tok, ci->embed, s.C); LAUNCH_CHECK();
    KvRows kr = {ci->k, ci->v, s.KVD, ci->base, ci->n1, nullptr, nullptr, 0, 0, nullptr, 0, 0, ci->base2, ci->n2};
    size_t row = s.KVD * sizeof(float);
    for (int l = 0; l < s.L; l++) {
        attention_block(ci, l, (int)NR, kr, [&] {
            if (!keep_cache) return;
            /* the prefix cache keeps every sequence whole at poff: the shared rows, then its own */
            float *pk = ci->pk + (size_t)l * ci->pcap * s.KVD, *pv = ci->pv + (size_t)l * ci->pcap * s.KVD;
            for (int q = 0; q < nseq; q++) {
                size_t dst = (size_t)off[(size_t)q] * s.KVD, own = (size_t)soff[(size_t)q] * s.KVD, n = (size_t)(lens[q] - P);
                if (P) {
                    CUDA_CHECK(cudaMemcpy(pk + dst, ci->k, P * row, cudaMemcpyDeviceToDevice));
                    CUDA_CHECK(cudaMemcpy(pv + dst, ci->v, P * row, cudaMemcpyDeviceToDevice));
                }
                CUDA_CHECK(cudaMemcpy(pk + dst + (size_t)P * s.KVD, ci->k + own, n * row, cudaMemcpyDeviceToDevice));
                CUDA_CHECK(cudaMemcpy(pv + dst + (size_t)P * s.KVD, ci->v + own, n * row, cudaMemcpyDeviceToDevice));
            }
        });
        mlp_block(ci, l, (int)NR);
    }
    head(ci, nseq, 1, out_hidden, out_logits);
}

extern "C" void cuda_infer_gen_reserve(CudaInfer *ci, int max_rows, int max_new) {
    size_t n = (size_t)max_new * max_rows * ci->s.L * ci->s.KVD;
    if (n > ci->gcap || !ci->gk) {
        cudaFree(ci->gk); cudaFree(ci->gv);
        ci->gk = (float *)dmalloc(n * sizeof(float));
        ci->gv = (float *)dmalloc(n * sizeof(float));
        ci->gcap = n;
    }
    ci->nslots = max_rows;
    ci->max_new = max_new;
}

/* -------------------------------------------------------------------- step ---- */
extern "C" void cuda_infer_step(CudaInfer *ci, int n, const int *tokens, const int *prefix, int t, const int *idx,
                                int stride, float *out_logits) {
    const InferShape &s = ci->s;
    size_t g = (size_t)n * (t + 1);
    ensure_rows(ci, (size_t)n, g, (size_t)n);
    int maxpos = 0;
    ci->h_pos.resize((size_t)n); ci->h_base.resize((size_t)n); ci->h_n1.resize((size_t)n);
    ci->h_gidx.resize(g);
    for (int r = 0; r < n; r++) {
        int p = prefix[r];
        ci->h_pos[(size_t)r] = ci->plen[(size_t)p] + t;
        ci->h_base[(size_t)r] = ci->poff[(size_t)p];
        ci->h_n1[(size_t)r] = ci->plen[(size_t)p];
        maxpos = std::max(maxpos, ci->h_pos[(size_t)r] + 1);
        memcpy(&ci->h_gidx[(size_t)r * (t + 1)], idx + (size_t)r * stride, sizeof(int) * (size_t)(t + 1));
    }
    ensure_rope(ci, maxpos);
    h2d(ci->tok, tokens, (size_t)n); h2d(ci->pos, ci->h_pos.data(), (size_t)n);
    h2d(ci->base, ci->h_base.data(), (size_t)n); h2d(ci->n1, ci->h_n1.data(), (size_t)n);
    h2d(ci->gidx, ci->h_gidx.data(), g);
    embedding_forward_kernel<<<n, 256>>>(ci->x, ci->tok, ci->embed, s.C); LAUNCH_CHECK();
    size_t row = (size_t)s.L * s.KVD, tau = (size_t)ci->nslots * row;
    for (int l = 0; l < s.L; l++) {
        size_t lo = (size_t)l * s.KVD;
        KvRows kr = {ci->pk + (size_t)l * ci->pcap * s.KVD, ci->pv + (size_t)l * ci->pcap * s.KVD, s.KVD, ci->base, ci->n1,
                     ci->gk + lo, ci->gv + lo, tau, row, ci->gidx, t + 1, t + 1, nullptr, nullptr};
        attention_block(ci, l, n, kr, [&] {
            /* entry (t, r) of layer l for every row: a strided copy, rows L*KVD apart */
            size_t w = s.KVD * sizeof(float);
            CUDA_CHECK(cudaMemcpy2D(ci->gk + (size_t)t * tau + lo, row * sizeof(float), ci->k, w, w, (size_t)n,
                                    cudaMemcpyDeviceToDevice));
            CUDA_CHECK(cudaMemcpy2D(ci->gv + (size_t)t * tau + lo, row * sizeof(float), ci->v, w, w, (size_t)n,
                                    cudaMemcpyDeviceToDevice));
        });
        mlp_block(ci, l, n);
    }
    head(ci, n, 0, nullptr, out_logits);
}
