/* seqrec_layers: see seqrec_layers.h. */
#include "seqrec_layers.h"
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- linear ---------------- */
void sr_linear_forward(float *out, const float *in, const float *W, const float *b, int T, int C, int OC) {
    if (T <= 0) return;
    if (b) {
        for (int t = 0; t < T; t++) memcpy(out + (size_t)t * OC, b, sizeof(float) * OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, OC, C, 1.0f, in, C, W, C,
                b ? 1.0f : 0.0f, out, OC);
}

void sr_linear_backward(float *din, float *dW, float *db, const float *dout, const float *in,
                     const float *W, int T, int C, int OC) {
    if (T <= 0) return;
    if (din) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, C, OC, 1.0f, dout, OC, W, C, 1.0f, din, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, T, 1.0f, dout, OC, in, C, 1.0f, dW, C);
    if (db)
        for (int t = 0; t < T; t++) {
            const float *d = dout + (size_t)t * OC;
            for (int o = 0; o < OC; o++) db[o] += d[o];
        }
}

/* ---------------- layer norm ---------------- */
void sr_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
                       const float *w, const float *b, int T, int C) {
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C;
        float *o = out + (size_t)t * C;
        double m = 0, v = 0;
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        for (int i = 0; i < C; i++) { double d = x[i] - m; v += d * d; }
        v /= C;
        float s = (float)(1.0 / sqrt(v + SR_LN_EPS));
        for (int i = 0; i < C; i++) o[i] = ((x[i] - (float)m) * s) * w[i] + b[i];
        mean[t] = (float)m; rstd[t] = s;
    }
}

void sr_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, const float *mean, const float *rstd, int T, int C) {
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C, *g = dout + (size_t)t * C;
        float *dx = din + (size_t)t * C;
        float m = mean[t], s = rstd[t];
        double sg = 0, sgx = 0;
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s, gi = g[i] * w[i];
            sg += gi; sgx += gi * xh;
        }
        float a = (float)(sg / C), c = (float)(sgx / C);
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s;
            dx[i] += s * (g[i] * w[i] - a - xh * c);
        }
    }
    /* parameter grads serially: fixed summation order */
    for (int t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C, *g = dout + (size_t)t * C;
        float m = mean[t], s = rstd[t];
        for (int i = 0; i < C; i++) { dw[i] += g[i] * (x[i] - m) * s; db[i] += g[i]; }
    }
}

/* ---------------- causal self-attention ---------------- */
void sr_attention_forward(float *out, float *att, const float *qkv, const int *off, const int *len,
                       int B, int L, int C, int NH) {
    int HD = C / NH;
    float scale = 1.0f / sqrtf((float)HD);
    #pragma omp parallel for schedule(dynamic)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH, n = len[b];
        const float *base = qkv + (size_t)off[b] * 3 * C;
        float *A = att + (size_t)bh * L * L;
        for (int i = 0; i < n; i++) {
            const float *q = base + (size_t)i * 3 * C + h * HD;
            float *a = A + (size_t)i * L, mx = -FLT_MAX;
            for (int j = 0; j <= i; j++) {
                const float *k = base + (size_t)j * 3 * C + C + h * HD;
                float s = 0;
                for (int d = 0; d < HD; d++) s += q[d] * k[d];
                a[j] = s * scale;
                if (a[j] > mx) mx = a[j];
            }
            float sum = 0;
            for (int j = 0; j <= i; j++) { a[j] = expf(a[j] - mx); sum += a[j]; }
            for (int j = 0; j <= i; j++) a[j] /= sum;
            for (int j = i + 1; j < L; j++) a[j] = 0;
            float *o = out + (size_t)(off[b] + i) * C + h * HD;
            for (int d = 0; d < HD; d++) o[d] = 0;
            for (int j = 0; j <= i; j++) {
                const float *v = base + (size_t)j * 3 * C + 2 * C + h * HD;
                for (int d = 0; d < HD; d++) o[d] += a[j] * v[d];
            }
        }
    }
}

void sr_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                        const int *off, const int *len, int B, int L, int C, int NH) {
    int HD = C / NH;
    float scale = 1.0f / sqrtf((float)HD);
    /* heads of one sequence write disjoint columns; sequences write disjoint rows */
    #pragma omp parallel for schedule(dynamic)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH, n = len[b];
        const float *base = qkv + (size_t)off[b] * 3 * C;
        float *dbase = dqkv + (size_t)off[b] * 3 * C;
        const float *A = att + (size_t)bh * L * L;
        float da[SR_MAX_LEN];
        for (int i = 0; i < n; i++) {
            const float *a = A + (size_t)i * L;
            const float *g = dout + (size_t)(off[b] + i) * C + h * HD;
            float dot = 0;
            for (int j = 0; j <= i; j++) {
                const float *v = base + (size_t)j * 3 * C + 2 * C + h * HD;
                float *dv = dbase + (size_t)j * 3 * C + 2 * C + h * HD;
                float s = 0;
                for (int d = 0; d < HD; d++) { s += g[d] * v[d]; dv[d] += a[j] * g[d]; }
                da[j] = s;
                dot += a[j] * s;
            }
            const float *q = base + (size_t)i * 3 * C + h * HD;
            float *dq = dbase + (size_t)i * 3 * C + h * HD;
            for (int j = 0; j <= i; j++) {
                float ds = a[j] * (da[j] - dot) * scale;
                const float *k = base + (size_t)j * 3 * C + C + h * HD;
                float *dk = dbase + (size_t)j * 3 * C + C + h * HD;
                for (int d = 0; d < HD; d++) { dq[d] += ds * k[d]; dk[d] += ds * q[d]; }
            }
        }
    }
}

/* ---------------- pointwise ---------------- */
void sr_relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0;
}
void sr_relu_backward(float *din, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++) if (out[i] > 0) din[i] += dout[i];
}

void sr_dropout_forward(float *out, float *mask, const float *in, size_t n, float p, Rng *rng) {
    if (!mask || p <= 0) { if (out != in) memcpy(out, in, n * sizeof(float)); return; }
    /* 16 random bits per element (4 per rng call): the RNG dominated training time */
    float keep = 1.0f / (1.0f - p);
    uint32_t thr = (uint32_t)(p * 65536.0f + 0.5f);
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 3) == 0) bits = rng_u64(rng);
        mask[i] = (uint32_t)(bits & 0xffff) < thr ? 0.0f : keep;
        bits >>= 16;
        out[i] = in[i] * mask[i];
    }
}
void sr_dropout_backward(float *din, const float *mask, const float *dout, size_t n) {
    if (!mask) { if (din != dout) memcpy(din, dout, n * sizeof(float)); return; }
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}

void sr_embedding_forward(float *out, const int *ids, const float *E, int T, int C) {
    for (int t = 0; t < T; t++) memcpy(out + (size_t)t * C, E + (size_t)ids[t] * C, sizeof(float) * C);
}
void sr_embedding_backward(float *dE, const float *dout, const int *ids, int T, int C) {
    for (int t = 0; t < T; t++) {
        float *d = dE + (size_t)ids[t] * C;
        const float *g = dout + (size_t)t * C;
        for (int i = 0; i < C; i++) d[i] += g[i];
    }
}

/* ---------------- GRU ---------------- */
static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

void sr_gru_forward(float *hs, float *xg, float *hg, float *gates, const float *x, const int *start,
                 const float *Wih, const float *Whh, const float *bih, const float *bhh,
                 int B, int L, int C, int H, float *scratch) {
    int G = 3 * H;
    sr_linear_forward(xg, x, Wih, bih, B * L, C, G);           /* (B*L, 3H) */
    float *hprev = scratch + (size_t)B * G;                /* (B, H) contiguous h_{t-1} */
    float *hgt = scratch;                                  /* (B, 3H) */
    for (int b = 0; b < B; b++) memset(hs + (size_t)b * (L + 1) * H, 0, sizeof(float) * H);
    for (int t = 0; t < L; t++) {
        for (int b = 0; b < B; b++) memcpy(hprev + (size_t)b * H, hs + ((size_t)b * (L + 1) + t) * H, sizeof(float) * H);
        sr_linear_forward(hgt, hprev, Whh, bhh, B, H, G);
        #pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            const float *hp = hprev + (size_t)b * H, *xgb = xg + ((size_t)b * L + t) * G;
            const float *hgb = hgt + (size_t)b * G;
            float *hn = hs + ((size_t)b * (L + 1) + t + 1) * H;
            float *gt = gates + ((size_t)b * L + t) * G;
            memcpy(hg + ((size_t)b * L + t) * G, hgb, sizeof(float) * G);
            if (t < start[b]) {                       /* not started: h stays 0 */
                memset(hn, 0, sizeof(float) * H);
                memset(gt, 0, sizeof(float) * G);
                continue;
            }
            for (int j = 0; j < H; j++) {
                float r = sigm(xgb[j] + hgb[j]);
                float z = sigm(xgb[H + j] + hgb[H + j]);
                float nn = tanhf(xgb[2 * H + j] + r * hgb[2 * H + j]);
                gt[j] = r; gt[H + j] = z; gt[2 * H + j] = nn;
                hn[j] = (1 - z) * nn + z * hp[j];
            }
        }
    }
}

void sr_gru_backward(float *dx, float *dWih, float *dWhh, float *dbih, float *dbhh,
                  const float *dh_last, const float *hs, const float *hg, const float *gates,
                  const float *x, const int *start, const float *Wih, const float *Whh,
                  int B, int L, int C, int H, float *scratch) {
    int G = 3 * H;
    float *dxg = scratch;                                   /* (B, L, 3H) */
    float *dhg = dxg + (size_t)B * L * G;                   /* (B, 3H) */
    float *dh = dhg + (size_t)B * G;                        /* (B, H) grad wrt h_t */
    float *hprev = dh + (size_t)B * H;                      /* (B, H) */
    memset(dxg, 0, sizeof(float) * (size_t)B * L * G);
    memcpy(dh, dh_last, sizeof(float) * (size_t)B * H);
    for (int t = L - 1; t >= 0; t--) {
        #pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            const float *hp = hs + ((size_t)b * (L + 1) + t) * H;
            memcpy(hprev + (size_t)b * H, hp, sizeof(float) * H);
            float *dhgb = dhg + (size_t)b * G, *dxgb = dxg + ((size_t)b * L + t) * G;
            float *dhb = dh + (size_t)b * H;
            if (t < start[b]) { memset(dhgb, 0, sizeof(float) * G); memset(dhb, 0, sizeof(float) * H); continue; }
            const float *gt = gates + ((size_t)b * L + t) * G, *hgb = hg + ((size_t)b * L + t) * G;
            for (int j = 0; j < H; j++) {
                float r = gt[j], z = gt[H + j], nn = gt[2 * H + j], g = dhb[j];
                float dn = g * (1 - z), dz = g * (hp[j] - nn);
                float dnp = dn * (1 - nn * nn);
                float dr = dnp * hgb[2 * H + j];
                float drp = dr * r * (1 - r), dzp = dz * z * (1 - z);
                dxgb[j] = drp; dxgb[H + j] = dzp; dxgb[2 * H + j] = dnp;
                dhgb[j] = drp; dhgb[H + j] = dzp; dhgb[2 * H + j] = dnp * r;
                dhb[j] = g * z;                               /* direct path h_{t-1} -> h_t */
            }
        }
        /* dh_{t-1} += dhg Whh ; dWhh += dhg^T h_{t-1}; dbhh += colsum(dhg) */
        sr_linear_backward(dh, dWhh, dbhh, dhg, hprev, Whh, B, H, G);
    }
    sr_linear_backward(dx, dWih, dbih, dxg, x, Wih, B * L, C, G);
}

/* ---------------- Caser convolutions ---------------- */
/* window i of sequence b is rows i..i+h-1 of X_b: contiguous h*C floats */
static void unfold(float *unf, const float *X, int B, int L, int C, int h) {
    int P = L - h + 1, K = h * C;
    for (int bb = 0; bb < B; bb++)
        for (int i = 0; i < P; i++)
            memcpy(unf + ((size_t)bb * P + i) * K, X + ((size_t)bb * L + i) * C, sizeof(float) * K);
}

void sr_caser_hconv_forward(float *out, int ostride, float *unf, float *act, int *arg, const float *X,
                         const float *W, const float *b, int B, int L, int C, int h, int NF) {
    int P = L - h + 1, K = h * C;
    unfold(unf, X, B, L, C, h);
    sr_linear_forward(act, unf, W, b, B * P, K, NF);
    sr_relu_forward(act, act, (size_t)B * P * NF);
    for (int bb = 0; bb < B; bb++)
        for (int f = 0; f < NF; f++) {
            int best = 0; float mx = act[((size_t)bb * P) * NF + f];
            for (int i = 1; i < P; i++) {
                float v = act[((size_t)bb * P + i) * NF + f];
                if (v > mx) { mx = v; best = i; }
            }
            out[(size_t)bb * ostride + f] = mx;
            arg[(size_t)bb * NF + f] = best;
        }
}

void sr_caser_hconv_backward(float *dX, float *dW, float *db, const float *dout, int ostride,
                          const float *X, const float *act, const int *arg, const float *W,
                          int B, int L, int C, int h, int NF, float *scratch) {
    int P = L - h + 1, K = h * C;
    float *dact = scratch, *dunf = scratch + (size_t)B * P * NF, *unf = dunf + (size_t)B * P * K;
    unfold(unf, X, B, L, C, h);   /* recomputed: caching all heights costs O(B L^3 C) memory */
    memset(dact, 0, sizeof(float) * (size_t)B * P * NF);
    memset(dunf, 0, sizeof(float) * (size_t)B * P * K);
    for (int bb = 0; bb < B; bb++)
        for (int f = 0; f < NF; f++) {
            size_t k = ((size_t)bb * P + arg[(size_t)bb * NF + f]) * NF + f;
            if (act[k] > 0) dact[k] = dout[(size_t)bb * ostride + f];   /* max-pool then ReLU' */
        }
    sr_linear_backward(dunf, dW, db, dact, unf, W, B * P, K, NF);
    for (int bb = 0; bb < B; bb++)
        for (int i = 0; i < P; i++) {
            float *d = dX + ((size_t)bb * L + i) * C;
            const float *s = dunf + ((size_t)bb * P + i) * K;
            for (int k = 0; k < K; k++) d[k] += s[k];
        }
}

void sr_caser_vconv_forward(float *out, int ostride, const float *X, const float *W, const float *bias,
                         int B, int L, int C, int NV) {
    #pragma omp parallel for schedule(static)
    for (int bb = 0; bb < B; bb++) {
        float *o = out + (size_t)bb * ostride;
        for (int v = 0; v < NV; v++)
            for (int d = 0; d < C; d++) o[v * C + d] = bias[v];
        /* o (NV, C) += W (NV, L) @ X_b (L, C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NV, C, L, 1.0f, W, L,
                    X + (size_t)bb * L * C, C, 1.0f, o, C);
    }
}

void sr_caser_vconv_backward(float *dX, float *dW, float *dbias, const float *dout, int ostride,
                          const float *X, const float *W, int B, int L, int C, int NV) {
    #pragma omp parallel for schedule(static)
    for (int bb = 0; bb < B; bb++)   /* dX_b (L, C) += W^T (L, NV) @ dout_b (NV, C) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, C, NV, 1.0f, W, L,
                    dout + (size_t)bb * ostride, C, 1.0f, dX + (size_t)bb * L * C, C);
    for (int bb = 0; bb < B; bb++) {  /* serial: fixed order over the batch */
        const float *g = dout + (size_t)bb * ostride;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NV, L, C, 1.0f, g, C,
                    X + (size_t)bb * L * C, C, 1.0f, dW, L);
        for (int v = 0; v < NV; v++) { float s = 0; for (int d = 0; d < C; d++) s += g[v * C + d]; dbias[v] += s; }
    }
}

/* ---------------- softmax cross-entropy over all items ---------------- */
float sr_softmax_ce_forward(float *probs, const float *h, const float *E, const int *target,
                         int B, int N, int C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, C, 1.0f, h, C, E, C, 0.0f, probs, N);
    double loss = 0;
    double *lb = xmalloc(sizeof(double) * B);   /* per row, summed serially: same bits every run */
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *p = probs + (size_t)b * N, mx = -FLT_MAX;
        for (int i = 0; i < N; i++) if (p[i] > mx) mx = p[i];
        double sum = 0;
        for (int i = 0; i < N; i++) { p[i] = expf(p[i] - mx); sum += p[i]; }
        float inv = (float)(1.0 / sum);
        lb[b] = -log((double)p[target[b]] / sum);
        for (int i = 0; i < N; i++) p[i] *= inv;
    }
    for (int b = 0; b < B; b++) loss += lb[b];
    free(lb);
    return (float)(loss / B);
}

void sr_softmax_ce_backward(float *dh, float *dE, float *probs, const float *h, const float *E,
                         const int *target, int B, int N, int C) {
    float invB = 1.0f / B;
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *p = probs + (size_t)b * N;
        p[target[b]] -= 1.0f;
        for (int i = 0; i < N; i++) p[i] *= invB;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, N, 1.0f, probs, N, E, C, 1.0f, dh, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, C, B, 1.0f, probs, N, h, C, 1.0f, dE, C);
}

/* ---------------- Adam ---------------- */
void sr_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                 float b2, float eps, float wd, long step) {
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}
