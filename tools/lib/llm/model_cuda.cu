/* model_cuda.cu: the device side of model.c's step, layer for layer (see model_cuda.h).
 * Buffers mirror the CPU ones: params / grads / adam_m / adam_v in the parameter buffer's
 * layout, activations per layer as model.c's Acts (every layer keeps its own: device memory
 * is not the constraint the CPU's frozen-layer sharing answers), the head's rows and logits.
 * Differences from the CPU path, all of them work-saving tricks not yet ported: the last
 * block runs over every row (no Prune), and the plan is uploaded synchronously each step.
 * Attention is attention.cuh's straightforward kernels, or attention_fused.cuh's
 * (cuda_model_set_attention). */
#include "cuda/common.cuh"
#include "cuda/embedding.cuh"
#include "cuda/rmsnorm.cuh"
#include "cuda/linear.cuh"
#include "cuda/rope.cuh"
#include "cuda/attention.cuh"
#include "cuda/attention_fused.cuh"
#include "cuda/swiglu.cuh"
#include "cuda/dropout.cuh"
#include "cuda/loss.cuh"
#include "cuda/adamw.cuh"
#include "model_cuda.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
#include <algorithm>

/* a CSR of destination rows for gather_add_kernel, on host and device */
struct Csr {
    std::vector<int> u, start, list;
    int *du = nullptr, *dstart = nullptr, *dlist = nullptr;
    size_t cu = 0, cs = 0, cl = 0;
    int nu() const { return (int)u.size(); }
};

struct CudaModel {
    CudaLayout lay;
    std::vector<size_t> offs;       /* storage of lay's per-layer arrays */
    char name[256];
    cublasHandle_t blas;
    int pbody, phead;               /* GEMM precision of the layers and of the lm head */
    int fused;                      /* cuda_model_set_attention: attention_fused.cuh */
    __nv_bfloat16 *bfa = nullptr, *bfb = nullptr; size_t cap_bfa = 0, cap_bfb = 0;   /* bf16 operands */
    float *params, *grads, *adam_m, *adam_v;
    /* plan */
    int *tok, *pos, *idx; Seq *seq; size_t cap_n, cap_pos, cap_seq, cap_idx;
    int n, nseq, maxq, maxk; size_t natt, nidx;
    Csr emb, kv, head;
    /* activations */
    float *abuf; size_t acap;
    std::vector<float *> res, ln1, rstd1, q, k, v, att, ao, mid, ln2, rstd2, gu, hh;
    float *t1, *dres, *dln, *dq, *dk, *dv, *dao, *dgu, *dh, *dS, *kpart, *vpart, *colpart;
    /* rope */
    float *rcos, *rsin; int rope_n;
    /* head */
    float *hx, *hln, *hrstd, *hlogits, *hdx; int *hrows; size_t hcap;
    Item *items; double *item_ln, *item_lc; size_t icap;
    double *gnpart; size_t gncap;
};

static void csr_upload(Csr *c) {
    dgrow(&c->du, &c->cu, c->u.size()); dgrow(&c->dstart, &c->cs, c->start.size()); dgrow(&c->dlist, &c->cl, c->list.size());
    h2d(c->du, c->u.data(), c->u.size()); h2d(c->dstart, c->start.data(), c->start.size());
    h2d(c->dlist, c->list.data(), c->list.size());
}
/* group the entries 0..m-1 by key[e] (a destination row): one group per distinct key, its
 * entries in increasing order */
static void csr_build(Csr *c, const int *key, int m) {
    std::vector<std::pair<int, int>> kv((size_t)m);
    for (int e = 0; e < m; e++) kv[(size_t)e] = {key[e], e};
    std::sort(kv.begin(), kv.end());
    c->u.clear(); c->start.clear(); c->list.clear();
    for (int e = 0; e < m; e++) {
        if (e == 0 || kv[(size_t)e].first != kv[(size_t)e - 1].first) { c->u.push_back(kv[(size_t)e].first); c->start.push_back(e); }
        c->list.push_back(kv[(size_t)e].second);
    }
    c->start.push_back(m);
    csr_upload(c);
}
static void csr_free(Csr *c) { cudaFree(c->du); cudaFree(c->dstart); cudaFree(c->dlist); }
static void gather_add(const Csr *c, float *dst, const float *src, int C) {
    if (c->nu() == 0) return;
    gather_add_kernel<<<dim3((unsigned)c->nu(), (unsigned)cdiv(C, 256)), 256>>>(dst, src, C, c->du, c->dstart, c->dlist);
    LAUNCH_CHECK();
}

static float *W(CudaModel *cm, size_t off) { return cm->params + off; }
static float *G(CudaModel *cm, size_t off) { return cm->grads + off; }

static void ensure_train(CudaModel *cm) {
    if (cm->grads) return;
    size_t b = cm->lay.nparams * sizeof(float);
    cm->grads = (float *)dmalloc(b); cm->adam_m = (float *)dmalloc(b); cm->adam_v = (float *)dmalloc(b);
    CUDA_CHECK(cudaMemset(cm->grads, 0, b)); CUDA_CHECK(cudaMemset(cm->adam_m, 0, b)); CUDA_CHECK(cudaMemset(cm->adam_v, 0, b));
}

/* ------------------------------------------------------------------ setup ---- */
extern "C" CudaModel *cuda_model_new(const CudaLayout *lay, const float *params, int precision, char *why, size_t nwhy) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(why, nwhy, "no usable CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return nullptr;
    }
    CUDA_CHECK(cudaSetDevice(0));
    CudaModel *cm = new CudaModel();
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    snprintf(cm->name, sizeof cm->name, "%.200s (sm_%d%d, %.0f GiB)", prop.name, prop.major, prop.minor, prop.totalGlobalMem / 1073741824.0);
    cm->lay = *lay;
    int L = lay->L;
    cm->offs.resize((size_t)11 * L);
    const size_t *src[11] = {lay->ln1, lay->q_w, lay->q_b, lay->k_w, lay->k_b, lay->v_w, lay->v_b, lay->o_w, lay->ln2, lay->gu_w, lay->down_w};
    const size_t **dst[11] = {&cm->lay.ln1, &cm->lay.q_w, &cm->lay.q_b, &cm->lay.k_w, &cm->lay.k_b, &cm->lay.v_w, &cm->lay.v_b,
                              &cm->lay.o_w, &cm->lay.ln2, &cm->lay.gu_w, &cm->lay.down_w};
    for (int t = 0; t < 11; t++) {
        memcpy(&cm->offs[(size_t)t * L], src[t], sizeof(size_t) * L);
        *dst[t] = &cm->offs[(size_t)t * L];
    }
    if (cublasCreate(&cm->blas) != CUBLAS_STATUS_SUCCESS) {
        snprintf(why, nwhy, "cuBLAS could not be initialised on %s", cm->name);
        delete cm;
        return nullptr;
    }
    /* fp32: no tensor-core shortcuts (the parity reference); tf32: 10-bit mantissa products,
     * fp32 accumulation */
    CUBLAS_CHECK(cublasSetMathMode(cm->blas, precision == CUDA_FP32 ? CUBLAS_PEDANTIC_MATH : CUBLAS_TF32_TENSOR_OP_MATH));
    cm->pbody = precision;
    cm->phead = precision == CUDA_BF16 ? CUDA_TF32 : precision;
    cm->params = (float *)dmalloc(lay->nparams * sizeof(float));
    h2d(cm->params, params, lay->nparams);
    return cm;
}

extern "C" void cuda_model_free(CudaModel *cm) {
    if (!cm) return;
    cudaFree(cm->params); cudaFree(cm->grads); cudaFree(cm->adam_m); cudaFree(cm->adam_v);
    cudaFree(cm->tok); cudaFree(cm->pos); cudaFree(cm->idx); cudaFree(cm->seq);
    csr_free(&cm->emb); csr_free(&cm->kv); csr_free(&cm->head);
    cudaFree(cm->abuf); cudaFree(cm->rcos); cudaFree(cm->rsin);
    cudaFree(cm->hx); cudaFree(cm->hln); cudaFree(cm->hrstd); cudaFree(cm->hlogits); cudaFree(cm->hdx); cudaFree(cm->hrows);
    cudaFree(cm->items); cudaFree(cm->item_ln); cudaFree(cm->item_lc); cudaFree(cm->gnpart);
    cudaFree(cm->bfa); cudaFree(cm->bfb);
    cublasDestroy(cm->blas);
    delete cm;
}

extern "C" const char *cuda_device_name(const CudaModel *cm) { return cm->name; }

extern "C" int cuda_model_set_attention(CudaModel *cm, int fused, char *why, size_t nwhy) {
    if (fused && cm->lay.HD > FA_MAXHD) {
        snprintf(why, nwhy, "the fused attention kernels take head_dim <= %d, this model has %d", FA_MAXHD, cm->lay.HD);
        return -1;
    }
    cm->fused = fused;   /* acts_prepare lays the arena out for it at the next step */
    return 0;
}

static float *buffer_of(CudaModel *cm, int what) {
    if (what != CUDA_PARAMS) ensure_train(cm);
    return what == CUDA_PARAMS ? cm->params : what == CUDA_GRADS ? cm->grads : what == CUDA_ADAM_M ? cm->adam_m : cm->adam_v;
}
extern "C" void cuda_upload(CudaModel *cm, int what, const float *host) { h2d(buffer_of(cm, what), host, cm->lay.nparams); }
extern "C" void cuda_download(CudaModel *cm, int what, float *host) {
    CUDA_CHECK(cudaMemcpy(host, buffer_of(cm, what), cm->lay.nparams * sizeof(float), cudaMemcpyDeviceToHost));
}

/* ----------------------------------------------------------- plan + acts ---- */
static void plan_upload(CudaModel *cm, const Plan *p) {
    int n = p->n;
    dgrow(&cm->tok, &cm->cap_n, (size_t)n);
    dgrow(&cm->pos, &cm->cap_pos, (size_t)n);
    dgrow(&cm->seq, &cm->cap_seq, (size_t)p->nseq);
    dgrow(&cm->idx, &cm->cap_idx, p->nidx);
    h2d(cm->tok, p->tok, (size_t)n); h2d(cm->pos, p->pos, (size_t)n);
    h2d(cm->seq, p->seq, (size_t)p->nseq); h2d(cm->idx, p->idx, p->nidx);
    cm->n = n; cm->nseq = p->nseq; cm->natt = p->natt; cm->nidx = p->nidx; cm->maxk = p->maxk;
    cm->maxq = 1;
    for (int s = 0; s < p->nseq; s++) cm->maxq = std::max(cm->maxq, p->seq[s].qn);
    csr_build(&cm->emb, p->tok, n);                    /* embedding rows grouped by token */
    csr_build(&cm->kv, p->idx, (int)p->nidx);          /* index entries grouped by packed row */
}

static void acts_prepare(CudaModel *cm) {
    const CudaLayout *y = &cm->lay;
    size_t n = (size_t)cm->n, L = (size_t)y->L, C = y->C, QD = y->QD, KVD = y->KVD, F = y->F;
    /* att[l]: the probabilities (natt), or with the fused kernels one log-sum-exp per row and
     * head; dS: their gradients, or dO . O per row and head */
    size_t natt = cm->fused ? n * (size_t)y->NH : cm->natt;
    size_t per = n * (4 * C + 2 + 2 * QD + 2 * KVD + 3 * F) + natt;
    size_t wmax = std::max(std::max(C, QD), 2 * F);
    /* column-sum partials: a layer's n rows, or the head's (at most 2n: a counterfactual item
     * may read a normal row another item reads) */
    size_t ncol = (size_t)cdiv(2 * (long)n, COL_CHUNK) * wmax;
    size_t scratch = n * (3 * C + 2 * QD + 2 * KVD + 3 * F) + natt + 2 * cm->nidx * KVD + ncol;
    size_t need = per * L + n * C + scratch;
    if (need > cm->acap) {
        cudaFree(cm->abuf);
        cm->abuf = (float *)dmalloc(need * sizeof(float));
        cm->acap = need;
    }
    for (auto *vec : {&cm->res, &cm->ln1, &cm->rstd1, &cm->q, &cm->k, &cm->v, &cm->att, &cm->ao, &cm->mid, &cm->ln2,
                      &cm->rstd2, &cm->gu, &cm->hh}) vec->resize(L + 1);
    float *q = cm->abuf;
    auto take = [&](size_t cnt) { float *r = q; q += cnt; return r; };
    for (size_t l = 0; l < L; l++) {
        cm->res[l] = take(n * C); cm->ln1[l] = take(n * C); cm->rstd1[l] = take(n); cm->q[l] = take(n * QD);
        cm->k[l] = take(n * KVD); cm->v[l] = take(n * KVD); cm->ao[l] = take(n * QD); cm->mid[l] = take(n * C);
        cm->ln2[l] = take(n * C); cm->rstd2[l] = take(n); cm->gu[l] = take(n * 2 * F); cm->hh[l] = take(n * F);
        cm->att[l] = take(natt);
    }
    cm->res[L] = take(n * C);
    cm->t1 = take(n * C); cm->dres = take(n * C); cm->dln = take(n * C); cm->dq = take(n * QD);
    cm->dk = take(n * KVD); cm->dv = take(n * KVD); cm->dao = take(n * QD); cm->dgu = take(n * 2 * F);
    cm->dh = take(n * F); cm->dS = take(natt); cm->kpart = take(cm->nidx * KVD); cm->vpart = take(cm->nidx * KVD);
    cm->colpart = take(ncol);
    if ((size_t)(q - cm->abuf) > cm->acap) die(EXIT_IO, "model_cuda: internal error: activation arena overflow");
}

/* --------------------------------------------------------- layer helpers ---- */
/* packed bf16 copy of a row-major (rows, cols) operand with row stride ld, in *buf */
static const __nv_bfloat16 *as_bf16(__nv_bfloat16 **buf, size_t *cap, const float *src, int rows, int cols, int ld) {
    size_t n = (size_t)rows * cols;
    dgrow(buf, cap, n);
    to_bf16_kernel<<<cdiv((long)n, 256), 256>>>(*buf, src, rows, cols, ld); LAUNCH_CHECK();
    return *buf;
}
/* mm (common.cuh) at a precision: CUDA_BF16 converts both operands and runs cublasGemmEx
 * (bf16 in, fp32 accumulate and out); fp32 / TF32 are the handle's math mode (TF32 set for
 * bf16 too, where the head's GEMMs use it) */
static void gemm(CudaModel *cm, int prec, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (prec != CUDA_BF16) { mm(cm->blas, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    const __nv_bfloat16 *a = as_bf16(&cm->bfa, &cm->cap_bfa, A, ar, ac, lda);
    const __nv_bfloat16 *b = as_bf16(&cm->bfb, &cm->cap_bfb, B, br, bc, ldb);
    CUBLAS_CHECK(cublasGemmEx(cm->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha,
                              b, CUDA_R_16BF, bc, a, CUDA_R_16BF, ac, &beta, C, CUDA_R_32F, ldc,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}
static void linear_forward(CudaModel *cm, int prec, float *y, const float *x, const float *w, const float *b, int n, int IN,
                           int OUT, double *flops) {
    if (n == 0) return;
    gemm(cm, prec, 0, 1, n, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, y, OUT);
    *flops += 2.0 * n * IN * OUT;
    if (b) { add_bias_kernel<<<n, 256>>>(y, b, OUT); LAUNCH_CHECK(); }
}
static void colsum_add(CudaModel *cm, float *dst, const float *x, int n, int C) {
    int nch = cdiv(n, COL_CHUNK);
    colsum_partial_kernel<<<dim3((unsigned)cdiv(C, 256), (unsigned)nch), 256>>>(cm->colpart, x, n, C); LAUNCH_CHECK();
    colsum_finish_kernel<<<cdiv(C, 256), 256>>>(dst, cm->colpart, nch, C); LAUNCH_CHECK();
}
static void linear_backward(CudaModel *cm, int prec, float *dx, int accumulate, float *dw, float *db, const float *dy,
                            const float *x, const float *w, int n, int IN, int OUT, double *flops) {
    if (n == 0) return;
    if (dx) { gemm(cm, prec, 0, 0, n, IN, OUT, 1.0f, dy, OUT, w, IN, accumulate ? 1.0f : 0.0f, dx, IN); *flops += 2.0 * n * IN * OUT; }
    if (dw) { gemm(cm, prec, 1, 0, OUT, IN, n, 1.0f, dy, OUT, x, IN, 1.0f, dw, IN); *flops += 2.0 * n * IN * OUT; }
    if (db) colsum_add(cm, db, dy, n, OUT);
}
static void rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int n, int C, float eps) {
    if (n == 0) return;
    rmsnorm_forward_kernel<<<n, 256>>>(y, rstd, x, w, C, eps); LAUNCH_CHECK();
}
static void rmsnorm_backward(CudaModel *cm, float *dx, float *dw, const float *dy, const float *x, const float *w,
                             const float *rstd, int n, int C) {
    if (n == 0) return;
    if (dx) { rmsnorm_backward_dx_kernel<<<n, 256>>>(dx, dy, x, w, rstd, C); LAUNCH_CHECK(); }
    int nch = cdiv(n, COL_CHUNK);
    rmsnorm_dw_partial_kernel<<<dim3((unsigned)cdiv(C, 256), (unsigned)nch), 256>>>(cm->colpart, dy, x, rstd, n, C); LAUNCH_CHECK();
    colsum_finish_kernel<<<cdiv(C, 256), 256>>>(dw, cm->colpart, nch, C); LAUNCH_CHECK();
}
static void rope(CudaModel *cm, float *x, int H, int dir) {
    if (cm->n == 0) return;
    rope_kernel<<<cm->n, 256>>>(x, cm->pos, cm->rcos, cm->rsin, H, cm->lay.HD, dir); LAUNCH_CHECK();
}
static void dropout_fwd(CudaModel *cm, float *out, const float *res, const float *branch, const CudaDrop *d, int l, int br) {
    long total = (long)cm->n * cm->lay.C;
    if (total == 0) return;
    uint32_t thr = (uint32_t)lrint((double)d->p * 65536.0);
    residual_dropout_forward_kernel<<<cdiv(total, 256), 256>>>(out, res, branch, total, cm->lay.C, d->on, thr,
                                                               1.0f / (1.0f - d->p), d->on ? d->keys[2 * l + br] : 0);
    LAUNCH_CHECK();
}
static void dropout_bwd(CudaModel *cm, float *dbranch, const float *dout, const CudaDrop *d, int l, int br) {
    long total = (long)cm->n * cm->lay.C;
    if (total == 0) return;
    uint32_t thr = (uint32_t)lrint((double)d->p * 65536.0);
    residual_dropout_backward_kernel<<<cdiv(total, 256), 256>>>(dbranch, dout, total, cm->lay.C, d->on, thr,
                                                                1.0f / (1.0f - d->p), d->on ? d->keys[2 * l + br] : 0);
    LAUNCH_CHECK();
}
static double attn_flops(const Plan *p, int NH, int HD, double per_pair) {
    double fl = 0;
    for (int s = 0; s < p->nseq; s++) fl += (double)p->seq[s].qn * p->seq[s].klen * NH * HD * per_pair;
    return fl;
}

/* ---------------------------------------------------------------- forward ---- */
extern "C" void cuda_forward(CudaModel *cm, const Plan *p, const float *rope_cos, const float *rope_sin, int rope_n,
                             const CudaDrop *d, double *flops) {
    const CudaLayout *y = &cm->lay;
    int C = y->C, QD = y->QD, KVD = y->KVD, F = y->F, NH = y->NH, KVH = y->KVH, HD = y->HD;
    if (rope_n > cm->rope_n) {
        size_t cap = 0;
        cudaFree(cm->rcos); cudaFree(cm->rsin); cm->rcos = nullptr; cm->rsin = nullptr;
        dgrow(&cm->rcos, &cap, (size_t)rope_n * (HD / 2)); cap = 0; dgrow(&cm->rsin, &cap, (size_t)rope_n * (HD / 2));
        h2d(cm->rcos, rope_cos, (size_t)rope_n * (HD / 2)); h2d(cm->rsin, rope_sin, (size_t)rope_n * (HD / 2));
        cm->rope_n = rope_n;
    }
    plan_upload(cm, p);
    acts_prepare(cm);
    int n = cm->n;
    if (n == 0) return;
    float scale = 1.0f / sqrtf((float)HD);
    embedding_forward_kernel<<<n, 256>>>(cm->res[0], cm->tok, W(cm, y->embed), C); LAUNCH_CHECK();
    dim3 ag((unsigned)cm->maxq, (unsigned)NH, (unsigned)cm->nseq), fq((unsigned)cdiv(cm->maxq, FA_BQ), (unsigned)NH, (unsigned)cm->nseq);
    for (int l = 0; l < y->L; l++) {
        rmsnorm_forward(cm->ln1[l], cm->rstd1[l], cm->res[l], W(cm, y->ln1[l]), n, C, y->eps);
        linear_forward(cm, cm->pbody, cm->q[l], cm->ln1[l], W(cm, y->q_w[l]), y->bias ? W(cm, y->q_b[l]) : nullptr, n, C, QD, flops);
        linear_forward(cm, cm->pbody, cm->k[l], cm->ln1[l], W(cm, y->k_w[l]), y->bias ? W(cm, y->k_b[l]) : nullptr, n, C, KVD, flops);
        linear_forward(cm, cm->pbody, cm->v[l], cm->ln1[l], W(cm, y->v_w[l]), y->bias ? W(cm, y->v_b[l]) : nullptr, n, C, KVD, flops);
        rope(cm, cm->q[l], NH, +1);
        rope(cm, cm->k[l], KVH, +1);
        if (cm->fused)
            attention_fused_forward_kernel<<<fq, FA_BQ * 32, fa_q_shared(HD)>>>(cm->ao[l], cm->att[l], cm->q[l], cm->k[l],
                                                                              cm->v[l], cm->seq, cm->idx, NH, KVH, HD, scale);
        else
            attention_forward_kernel<<<ag, ATT_THREADS, HD * sizeof(float)>>>(cm->ao[l], cm->att[l], cm->q[l], cm->k[l], cm->v[l],
                                                                             cm->seq, cm->idx, NH, KVH, HD, scale);
        LAUNCH_CHECK();
        *flops += attn_flops(p, NH, HD, 4.0);
        linear_forward(cm, cm->pbody, cm->t1, cm->ao[l], W(cm, y->o_w[l]), nullptr, n, QD, C, flops);
        dropout_fwd(cm, cm->mid[l], cm->res[l], cm->t1, d, l, 0);
        rmsnorm_forward(cm->ln2[l], cm->rstd2[l], cm->mid[l], W(cm, y->ln2[l]), n, C, y->eps);
        linear_forward(cm, cm->pbody, cm->gu[l], cm->ln2[l], W(cm, y->gu_w[l]), nullptr, n, C, 2 * F, flops);
        long tf = (long)n * F;
        swiglu_forward_kernel<<<cdiv(tf, 256), 256>>>(cm->hh[l], cm->gu[l], tf, F); LAUNCH_CHECK();
        linear_forward(cm, cm->pbody, cm->t1, cm->hh[l], W(cm, y->down_w[l]), nullptr, n, F, C, flops);
        dropout_fwd(cm, cm->res[l + 1], cm->mid[l], cm->t1, d, l, 1);
    }
}

/* ------------------------------------------------------------------- head ---- */
static void head_reserve(CudaModel *cm, size_t rows, size_t items) {
    if (rows > cm->hcap) {
        const CudaLayout *y = &cm->lay;
        cudaFree(cm->hx); cudaFree(cm->hln); cudaFree(cm->hdx); cudaFree(cm->hrstd); cudaFree(cm->hlogits); cudaFree(cm->hrows);
        cm->hcap = rows;
        cm->hx = (float *)dmalloc(rows * y->C * sizeof(float)); cm->hln = (float *)dmalloc(rows * y->C * sizeof(float));
        cm->hdx = (float *)dmalloc(rows * y->C * sizeof(float)); cm->hrstd = (float *)dmalloc(rows * sizeof(float));
        cm->hlogits = (float *)dmalloc(rows * (size_t)y->V * sizeof(float)); cm->hrows = (int *)dmalloc(rows * sizeof(int));
    }
    if (items > cm->icap) {
        cudaFree(cm->items); cudaFree(cm->item_ln); cudaFree(cm->item_lc);
        cm->icap = items;
        cm->items = (Item *)dmalloc(items * sizeof(Item));
        cm->item_ln = (double *)dmalloc(items * sizeof(double)); cm->item_lc = (double *)dmalloc(items * sizeof(double));
    }
}

__global__ void gather_rows_kernel(float *dst, const float *src, const int *rows, int C) {
    int i = blockIdx.x;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dst[(size_t)i * C + c] = src[(size_t)rows[i] * C + c];
}

extern "C" void cuda_head_begin(CudaModel *cm) {
    ensure_train(cm);
    if (cm->n) CUDA_CHECK(cudaMemset(cm->dres, 0, (size_t)cm->n * cm->lay.C * sizeof(float)));
}

extern "C" void cuda_head(CudaModel *cm, const int *rows, int nr, const Item *items, int ni, float lambda, int train,
                          int head_frozen, int body_grad, double *Ln, double *Lc, double *flops) {
    const CudaLayout *y = &cm->lay;
    int C = y->C, V = y->V;
    head_reserve(cm, (size_t)nr, (size_t)ni);
    if (nr == 0) return;
    h2d(cm->hrows, rows, (size_t)nr);
    gather_rows_kernel<<<nr, 256>>>(cm->hx, cm->res[y->L], cm->hrows, C); LAUNCH_CHECK();
    rmsnorm_forward(cm->hln, cm->hrstd, cm->hx, W(cm, y->norm), nr, C, y->eps);
    float *z = cm->hlogits;
    linear_forward(cm, cm->phead, z, cm->hln, W(cm, y->lm_head), nullptr, nr, C, V, flops);
    if (ni > 0) {
        h2d(cm->items, items, (size_t)ni);
        cft_loss_kernel<<<ni, LOSS_THREADS>>>(z, cm->item_ln, cm->item_lc, cm->items, V, lambda, train); LAUNCH_CHECK();
        std::vector<double> ln((size_t)ni), lc((size_t)ni);
        CUDA_CHECK(cudaMemcpy(ln.data(), cm->item_ln, ni * sizeof(double), cudaMemcpyDeviceToHost));
        CUDA_CHECK(cudaMemcpy(lc.data(), cm->item_lc, ni * sizeof(double), cudaMemcpyDeviceToHost));
        for (int it = 0; it < ni; it++) { *Ln += ln[(size_t)it]; *Lc += lc[(size_t)it]; }   /* in item order, as the CPU */
    }
    if (!train) return;
    ensure_train(cm);
    /* rows that no item touches carry no gradient */
    std::vector<char> used((size_t)nr, 0);
    for (int it = 0; it < ni; it++) { used[(size_t)items[it].ih] = 1; if (items[it].i0 >= 0) used[(size_t)items[it].i0] = 1; }
    for (int i = 0; i < nr; i++)
        if (!used[(size_t)i]) CUDA_CHECK(cudaMemset(z + (size_t)i * V, 0, (size_t)V * sizeof(float)));
    linear_backward(cm, cm->phead, cm->hdx, 0, head_frozen ? nullptr : G(cm, y->lm_head), nullptr, z, cm->hln, W(cm, y->lm_head), nr, C, V, flops);
    CUDA_CHECK(cudaMemcpy(cm->hln, cm->hdx, (size_t)nr * C * sizeof(float), cudaMemcpyDeviceToDevice));
    CUDA_CHECK(cudaMemset(cm->hdx, 0, (size_t)nr * C * sizeof(float)));
    rmsnorm_backward(cm, body_grad ? cm->hdx : nullptr, G(cm, y->norm), cm->hln, cm->hx, W(cm, y->norm), cm->hrstd, nr, C);
    if (body_grad) {
        csr_build(&cm->head, rows, nr);   /* output rows grouped by residual row (they may repeat) */
        gather_add(&cm->head, cm->dres, cm->hdx, C);
    }
}

extern "C" void cuda_last_logits(CudaModel *cm, float *host, int rows) {
    if (rows > 0)
        CUDA_CHECK(cudaMemcpy(host, cm->hlogits, (size_t)rows * cm->lay.V * sizeof(float), cudaMemcpyDeviceToHost));
}

/* --------------------------------------------------------------- backward ---- */
extern "C" void cuda_backward(CudaModel *cm, const Plan *p, const CudaDrop *d, int freeze, double *flops) {
    const CudaLayout *y = &cm->lay;
    int n = cm->n, C = y->C, QD = y->QD, KVD = y->KVD, F = y->F, NH = y->NH, KVH = y->KVH, HD = y->HD;
    if (n == 0) return;
    ensure_train(cm);
    float scale = 1.0f / sqrtf((float)HD);
    dim3 ag((unsigned)cm->maxq, (unsigned)NH, (unsigned)cm->nseq), kg((unsigned)cm->maxk, (unsigned)KVH, (unsigned)cm->nseq);
    dim3 fq((unsigned)cdiv(cm->maxq, FA_BQ), (unsigned)NH, (unsigned)cm->nseq);
    dim3 fk((unsigned)cdiv(cm->maxk, FA_BKV), (unsigned)KVH, (unsigned)cm->nseq);
    for (int l = y->L - 1; l >= freeze; l--) {
        /* MLP branch */
        dropout_bwd(cm, cm->t1, cm->dres, d, l, 1);
        linear_backward(cm, cm->pbody, cm->dh, 0, G(cm, y->down_w[l]), nullptr, cm->t1, cm->hh[l], W(cm, y->down_w[l]), n, F, C, flops);
        long tf = (long)n * F;
        swiglu_backward_kernel<<<cdiv(tf, 256), 256>>>(cm->dgu, cm->dh, cm->gu[l], tf, F); LAUNCH_CHECK();
        linear_backward(cm, cm->pbody, cm->dln, 0, G(cm, y->gu_w[l]), nullptr, cm->dgu, cm->ln2[l], W(cm, y->gu_w[l]), n, C, 2 * F, flops);
        rmsnorm_backward(cm, cm->dres, G(cm, y->ln2[l]), cm->dln, cm->mid[l], W(cm, y->ln2[l]), cm->rstd2[l], n, C);
        /* attention branch */
        dropout_bwd(cm, cm->t1, cm->dres, d, l, 0);
        linear_backward(cm, cm->pbody, cm->dao, 0, G(cm, y->o_w[l]), nullptr, cm->t1, cm->ao[l], W(cm, y->o_w[l]), n, QD, C, flops);
        if (cm->fused) {   /* dS holds dO . O per row and head */
            attention_fused_rowdot_kernel<<<dim3((unsigned)n, (unsigned)NH), 32>>>(cm->dS, cm->dao, cm->ao[l], NH, HD);
            LAUNCH_CHECK();
            attention_fused_backward_dq_kernel<<<fq, FA_BQ * 32, fa_q_shared(HD)>>>(cm->dq, cm->dao, cm->att[l], cm->dS, cm->q[l],
                                                                                  cm->k[l], cm->v[l], cm->seq, cm->idx, NH, KVH,
                                                                                  HD, scale);
            LAUNCH_CHECK();
            attention_fused_backward_dkv_kernel<<<fk, FA_BKV * 32, fa_kv_shared(HD)>>>(cm->kpart, cm->vpart, cm->dao, cm->att[l],
                                                                                     cm->dS, cm->q[l], cm->k[l], cm->v[l],
                                                                                     cm->seq, cm->idx, NH, KVH, HD, scale);
            LAUNCH_CHECK();
        } else {
            attention_backward_dq_kernel<<<ag, ATT_THREADS, HD * sizeof(float)>>>(cm->dq, cm->dS, cm->dao, cm->att[l], cm->k[l],
                                                                                 cm->v[l], cm->seq, cm->idx, NH, KVH, HD, scale);
            LAUNCH_CHECK();
            attention_backward_dkv_kernel<<<kg, 64>>>(cm->kpart, cm->vpart, cm->dS, cm->att[l], cm->q[l], cm->dao, cm->seq, NH, KVH, HD);
            LAUNCH_CHECK();
        }
        *flops += attn_flops(p, NH, HD, 8.0);
        CUDA_CHECK(cudaMemset(cm->dk, 0, (size_t)n * KVD * sizeof(float)));
        CUDA_CHECK(cudaMemset(cm->dv, 0, (size_t)n * KVD * sizeof(float)));
        gather_add(&cm->kv, cm->dk, cm->kpart, KVD);
        gather_add(&cm->kv, cm->dv, cm->vpart, KVD);
        rope(cm, cm->dq, NH, -1);
        rope(cm, cm->dk, KVH, -1);
        linear_backward(cm, cm->pbody, cm->dln, 0, G(cm, y->q_w[l]), y->bias ? G(cm, y->q_b[l]) : nullptr, cm->dq, cm->ln1[l], W(cm, y->q_w[l]), n, C, QD, flops);
        linear_backward(cm, cm->pbody, cm->dln, 1, G(cm, y->k_w[l]), y->bias ? G(cm, y->k_b[l]) : nullptr, cm->dk, cm->ln1[l], W(cm, y->k_w[l]), n, C, KVD, flops);
        linear_backward(cm, cm->pbody, cm->dln, 1, G(cm, y->v_w[l]), y->bias ? G(cm, y->v_b[l]) : nullptr, cm->dv, cm->ln1[l], W(cm, y->v_w[l]), n, C, KVD, flops);
        int want = l > freeze || freeze == 0;   /* model.c's res_grad_wanted */
        rmsnorm_backward(cm, want ? cm->dres : nullptr, G(cm, y->ln1[l]), cm->dln, cm->res[l], W(cm, y->ln1[l]), cm->rstd1[l], n, C);
    }
    if (freeze == 0) gather_add(&cm->emb, G(cm, y->embed), cm->dres, C);
}

/* -------------------------------------------------------------- optimizer ---- */
extern "C" void cuda_zero_grad(CudaModel *cm, size_t off) {
    ensure_train(cm);
    if (off < cm->lay.nparams) CUDA_CHECK(cudaMemset(cm->grads + off, 0, (cm->lay.nparams - off) * sizeof(float)));
}
extern "C" double cuda_grad_sumsq(CudaModel *cm, size_t off) {
    ensure_train(cm);
    size_t n = cm->lay.nparams;
    if (off >= n) return 0;
    size_t nch = (n - off + GN_CHUNK - 1) / GN_CHUNK;
    dgrow(&cm->gnpart, &cm->gncap, nch);
    sumsq_chunks_kernel<<<(unsigned)nch, 256>>>(cm->gnpart, cm->grads, off, n); LAUNCH_CHECK();
    std::vector<double> part(nch);
    CUDA_CHECK(cudaMemcpy(part.data(), cm->gnpart, nch * sizeof(double), cudaMemcpyDeviceToHost));
    double s = 0;
    for (size_t c = 0; c < nch; c++) s += part[c];
    return s;
}
extern "C" void cuda_scale_grads(CudaModel *cm, size_t off, float s) {
    ensure_train(cm);
    size_t n = cm->lay.nparams;
    if (off >= n) return;
    scale_kernel<<<cdiv((long)(n - off), 256), 256>>>(cm->grads, off, n, s); LAUNCH_CHECK();
}
extern "C" void cuda_adamw(CudaModel *cm, size_t off, float step_size, float bc2s, float decay, float beta1, float beta2,
                           float omb1, float omb2, float eps) {
    ensure_train(cm);
    size_t n = cm->lay.nparams;
    if (off >= n) return;
    adamw_kernel<<<cdiv((long)(n - off), 256), 256>>>(cm->params, cm->grads, cm->adam_m, cm->adam_v, off, n, step_size, bc2s,
                                                      decay, beta1, beta2, omb1, omb2, eps);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaDeviceSynchronize());
}
