/* seqrec_model: see seqrec_model.h. */
#include "seqrec_model.h"
#include "seqrec_layers.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SR_MAX_LAYERS 8
#define SR_MAX_TAB 1100

struct SeqRec {
    SrConfig c;
    int maxB;
    size_t np;
    float *params, *grads, *adam_m, *adam_v;
    long step;
    SrParam tab[SR_MAX_TAB];
    int ntab;
    Rng rng;                       /* dropout masks */
    /* parameters (pointers into params) */
    float *E, *P;
    float *ln1w[SR_MAX_LAYERS], *ln1b[SR_MAX_LAYERS], *Wqkv[SR_MAX_LAYERS];
    float *ln2w[SR_MAX_LAYERS], *ln2b[SR_MAX_LAYERS], *W1[SR_MAX_LAYERS], *b1[SR_MAX_LAYERS];
    float *W2[SR_MAX_LAYERS], *b2[SR_MAX_LAYERS], *lnfw, *lnfb;
    float *Wih, *Whh, *bih, *bhh, *Wd, *bd;
    float **Wh, **bh, *Wv, *bv, *Wf1, *bf1, *Wf2, *bf2;
    /* batch */
    int B, train;
    int *items, *len, *off, *ntok, *tok_id, *tok_pos, *start, T;
    /* SASRec activations */
    float *x0, *mask0;
    float *xin[SR_MAX_LAYERS + 1], *ln1[SR_MAX_LAYERS], *mu1[SR_MAX_LAYERS], *rs1[SR_MAX_LAYERS];
    float *qkv[SR_MAX_LAYERS], *att[SR_MAX_LAYERS], *ao[SR_MAX_LAYERS], *dm1[SR_MAX_LAYERS];
    float *xmid[SR_MAX_LAYERS], *ln2[SR_MAX_LAYERS], *mu2[SR_MAX_LAYERS], *rs2[SR_MAX_LAYERS];
    float *f1[SR_MAX_LAYERS], *fr[SR_MAX_LAYERS], *f2[SR_MAX_LAYERS], *dm2[SR_MAX_LAYERS];
    float *last, *muf, *rsf;
    float *dx, *dtmp, *dqkv, *df, *dfr;
    /* GRU4Rec activations */
    float *gx, *gmask, *gxd, *gxg, *ghg, *ggates, *ghs, *ghlast, *gscr, *gdx, *gdh;
    /* Caser activations */
    float *cX, *ccat, *cmask, *ccatd, *cunf, **cact, *cz1, *cz, *cscr, *cdcat, *cdz, *cdX;
    int **carg;
    /* output */
    float *h, *probs, *dh;
};

const char *seqrec_kind_name(int kind) {
    return kind == SR_SASREC ? "sasrec" : kind == SR_GRU4REC ? "gru4rec" : "caser";
}
int seqrec_kind_parse(const char *s) {
    if (!strcmp(s, "sasrec")) return SR_SASREC;
    if (!strcmp(s, "gru4rec")) return SR_GRU4REC;
    if (!strcmp(s, "caser")) return SR_CASER;
    return -1;
}

/* ---- parameter layout: first pass counts, second assigns pointers ---- */
static float *addp(SeqRec *m, const char *name, int d0, int d1) {
    if (m->ntab >= SR_MAX_TAB) die(EXIT_USAGE, "seqrec: too many parameter tensors");
    SrParam *p = &m->tab[m->ntab++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->off = m->np;
    p->ndim = d1 > 0 ? 2 : 1;
    p->shape[0] = d0; p->shape[1] = d1 > 0 ? d1 : 0;
    p->numel = (size_t)d0 * (d1 > 0 ? (size_t)d1 : 1);
    m->np += p->numel;
    return m->params ? m->params + p->off : NULL;
}

static void layout(SeqRec *m) {
    const SrConfig *c = &m->c;
    int N = c->n_items, D = c->hidden, L = c->max_len;
    char nm[48];
    m->ntab = 0; m->np = 0;
    m->E = addp(m, "item_emb", N + 1, D);
    if (c->kind == SR_SASREC) {
        m->P = addp(m, "pos_emb", L, D);
        for (int l = 0; l < c->layers; l++) {
#define NAME(fmt) (snprintf(nm, sizeof nm, fmt, l), nm)
            m->ln1w[l] = addp(m, NAME("blocks.%d.ln1.weight"), D, 0);
            m->ln1b[l] = addp(m, NAME("blocks.%d.ln1.bias"), D, 0);
            m->Wqkv[l] = addp(m, NAME("blocks.%d.qkv.weight"), 3 * D, D);
            m->ln2w[l] = addp(m, NAME("blocks.%d.ln2.weight"), D, 0);
            m->ln2b[l] = addp(m, NAME("blocks.%d.ln2.bias"), D, 0);
            m->W1[l] = addp(m, NAME("blocks.%d.ffn1.weight"), c->ffn, D);
            m->b1[l] = addp(m, NAME("blocks.%d.ffn1.bias"), c->ffn, 0);
            m->W2[l] = addp(m, NAME("blocks.%d.ffn2.weight"), D, c->ffn);
            m->b2[l] = addp(m, NAME("blocks.%d.ffn2.bias"), D, 0);
#undef NAME
        }
        m->lnfw = addp(m, "lnf.weight", D, 0);
        m->lnfb = addp(m, "lnf.bias", D, 0);
    } else if (c->kind == SR_GRU4REC) {
        int H = c->gru_hidden;
        m->Wih = addp(m, "gru.weight_ih", 3 * H, D);
        m->Whh = addp(m, "gru.weight_hh", 3 * H, H);
        m->bih = addp(m, "gru.bias_ih", 3 * H, 0);
        m->bhh = addp(m, "gru.bias_hh", 3 * H, 0);
        m->Wd = addp(m, "dense.weight", D, H);
        m->bd = addp(m, "dense.bias", D, 0);
    } else {
        if (!m->Wh) { m->Wh = xcalloc(L + 1, sizeof(float *)); m->bh = xcalloc(L + 1, sizeof(float *)); }
        for (int h = 1; h <= L; h++) {
            snprintf(nm, sizeof nm, "conv_h.%d.weight", h); m->Wh[h] = addp(m, nm, c->nh, h * D);
            snprintf(nm, sizeof nm, "conv_h.%d.bias", h);   m->bh[h] = addp(m, nm, c->nh, 0);
        }
        m->Wv = addp(m, "conv_v.weight", c->nv, L);
        m->bv = addp(m, "conv_v.bias", c->nv, 0);
        m->Wf1 = addp(m, "fc1.weight", D, c->nv * D + c->nh * L);
        m->bf1 = addp(m, "fc1.bias", D, 0);
        m->Wf2 = addp(m, "fc2.weight", D, D);
        m->bf2 = addp(m, "fc2.bias", D, 0);
    }
}

#define GRAD(p) (m->grads + ((p) - m->params))

static float *fa(size_t n) { return xcalloc(n ? n : 1, sizeof(float)); }

SeqRec *seqrec_new(const SrConfig *c, int maxB, uint64_t seed) {
    SeqRec *m = xcalloc(1, sizeof *m);
    m->c = *c;
    m->maxB = maxB;
    int N = c->n_items, D = c->hidden, L = c->max_len;
    if (N < 1 || D < 1 || L < 1 || L > SR_MAX_LEN || maxB < 1) die(EXIT_USAGE, "seqrec: bad model sizes");
    if (c->kind == SR_SASREC && (c->layers < 1 || c->layers > SR_MAX_LAYERS || c->heads < 1 ||
                                 D % c->heads || c->ffn < 1))
        die(EXIT_USAGE, "seqrec: sasrec needs 1..%d layers, heads dividing hidden, ffn >= 1", SR_MAX_LAYERS);
    if (c->kind == SR_GRU4REC && c->gru_hidden < 1) die(EXIT_USAGE, "seqrec: gru4rec needs gru_hidden >= 1");
    if (c->kind == SR_CASER && (c->nh < 1 || c->nv < 1)) die(EXIT_USAGE, "seqrec: caser needs nh, nv >= 1");
    if (c->dropout < 0 || c->dropout >= 1) die(EXIT_USAGE, "seqrec: dropout must be in [0,1)");
    layout(m);
    m->params = fa(m->np); m->grads = fa(m->np); m->adam_m = fa(m->np); m->adam_v = fa(m->np);
    layout(m);
    /* init: N(0, init_std) for matrices and embeddings, LN weight 1, biases 0 */
    Rng r; rng_seed(&r, seed);
    for (int i = 0; i < m->ntab; i++) {
        SrParam *p = &m->tab[i];
        float *w = m->params + p->off;
        if (strstr(p->name, "ln") && strstr(p->name, ".weight")) for (size_t k = 0; k < p->numel; k++) w[k] = 1;
        else if (p->ndim == 2) for (size_t k = 0; k < p->numel; k++) w[k] = c->init_std * rng_normal(&r);
    }
    memset(m->E + (size_t)N * D, 0, sizeof(float) * D);    /* padding row */
    rng_seed(&m->rng, seed ^ 0x5eed5eedULL);

    size_t Tm = (size_t)maxB * L;
    m->items = xcalloc(Tm, sizeof(int)); m->len = xcalloc(maxB, sizeof(int));
    m->off = xcalloc(maxB + 1, sizeof(int)); m->ntok = xcalloc(maxB, sizeof(int));
    m->tok_id = xcalloc(Tm, sizeof(int)); m->tok_pos = xcalloc(Tm, sizeof(int));
    m->start = xcalloc(maxB, sizeof(int));
    m->h = fa((size_t)maxB * D); m->dh = fa((size_t)maxB * D); m->probs = fa((size_t)maxB * N);
    if (c->kind == SR_SASREC) {
        int F = c->ffn;
        m->x0 = fa(Tm * D); m->mask0 = fa(Tm * D);
        for (int l = 0; l <= c->layers; l++) m->xin[l] = fa(Tm * D);
        for (int l = 0; l < c->layers; l++) {
            m->ln1[l] = fa(Tm * D); m->mu1[l] = fa(Tm); m->rs1[l] = fa(Tm);
            m->qkv[l] = fa(Tm * 3 * D); m->att[l] = fa((size_t)maxB * c->heads * L * L);
            m->ao[l] = fa(Tm * D); m->dm1[l] = fa(Tm * D); m->xmid[l] = fa(Tm * D);
            m->ln2[l] = fa(Tm * D); m->mu2[l] = fa(Tm); m->rs2[l] = fa(Tm);
            m->f1[l] = fa(Tm * F); m->fr[l] = fa(Tm * F); m->f2[l] = fa(Tm * D); m->dm2[l] = fa(Tm * D);
        }
        m->last = fa((size_t)maxB * D); m->muf = fa(maxB); m->rsf = fa(maxB);
        m->dx = fa(Tm * D); m->dtmp = fa(Tm * D); m->dqkv = fa(Tm * 3 * D); m->df = fa(Tm * F); m->dfr = fa(Tm * F);
    } else if (c->kind == SR_GRU4REC) {
        int H = c->gru_hidden;
        m->gx = fa(Tm * D); m->gmask = fa(Tm * D); m->gxd = fa(Tm * D);
        m->gxg = fa(Tm * 3 * H); m->ghg = fa(Tm * 3 * H); m->ggates = fa(Tm * 3 * H);
        m->ghs = fa((size_t)maxB * (L + 1) * H); m->ghlast = fa((size_t)maxB * H);
        m->gscr = fa(Tm * 3 * H + (size_t)maxB * (3 * H + 2 * H));
        m->gdx = fa(Tm * D); m->gdh = fa((size_t)maxB * H);
    } else {
        int W = c->nv * D + c->nh * L;
        size_t scr = 0;
        m->cX = fa(Tm * D); m->cdX = fa(Tm * D);
        m->ccat = fa((size_t)maxB * W); m->cmask = fa((size_t)maxB * W); m->ccatd = fa((size_t)maxB * W);
        m->cdcat = fa((size_t)maxB * W);
        m->cact = xcalloc(L + 1, sizeof(float *));
        m->carg = xcalloc(L + 1, sizeof(int *));
        for (int h = 1; h <= L; h++) {
            size_t P = (size_t)maxB * (L - h + 1);
            m->cact[h] = fa(P * c->nh);
            m->carg[h] = xcalloc((size_t)maxB * c->nh, sizeof(int));
            if (P * (c->nh + 2 * (size_t)h * D) > scr) scr = P * (c->nh + 2 * (size_t)h * D);
        }
        m->cscr = fa(scr);
        m->cunf = m->cscr;   /* forward's unfold shares the backward scratch */
        m->cz1 = fa((size_t)maxB * D); m->cz = fa((size_t)maxB * D); m->cdz = fa((size_t)maxB * D);
    }
    return m;
}

void seqrec_free(SeqRec *m) {
    if (!m) return;
    const SrConfig *c = &m->c;
    free(m->params); free(m->grads); free(m->adam_m); free(m->adam_v);
    free(m->items); free(m->len); free(m->off); free(m->ntok); free(m->tok_id); free(m->tok_pos); free(m->start);
    free(m->h); free(m->dh); free(m->probs);
    if (c->kind == SR_SASREC) {
        free(m->x0); free(m->mask0);
        for (int l = 0; l <= c->layers; l++) free(m->xin[l]);
        for (int l = 0; l < c->layers; l++) {
            free(m->ln1[l]); free(m->mu1[l]); free(m->rs1[l]); free(m->qkv[l]); free(m->att[l]);
            free(m->ao[l]); free(m->dm1[l]); free(m->xmid[l]); free(m->ln2[l]); free(m->mu2[l]);
            free(m->rs2[l]); free(m->f1[l]); free(m->fr[l]); free(m->f2[l]); free(m->dm2[l]);
        }
        free(m->last); free(m->muf); free(m->rsf);
        free(m->dx); free(m->dtmp); free(m->dqkv); free(m->df); free(m->dfr);
    } else if (c->kind == SR_GRU4REC) {
        free(m->gx); free(m->gmask); free(m->gxd); free(m->gxg); free(m->ghg); free(m->ggates);
        free(m->ghs); free(m->ghlast); free(m->gscr); free(m->gdx); free(m->gdh);
    } else {
        for (int h = 1; h <= c->max_len; h++) { free(m->cact[h]); free(m->carg[h]); }
        free(m->cact); free(m->carg); free(m->Wh); free(m->bh);
        free(m->cX); free(m->cdX); free(m->ccat); free(m->cmask); free(m->ccatd); free(m->cdcat);
        free(m->cscr); free(m->cz1); free(m->cz); free(m->cdz);
    }
    free(m);
}

const SrConfig *seqrec_config(const SeqRec *m) { return &m->c; }
size_t seqrec_num_params(const SeqRec *m) { return m->np; }
float *seqrec_params(SeqRec *m) { return m->params; }
float *seqrec_grads(SeqRec *m) { return m->grads; }
int seqrec_param_table(const SeqRec *m, const SrParam **tab) { *tab = m->tab; return m->ntab; }
float *seqrec_item_emb(SeqRec *m) { return m->E; }
void seqrec_set_threads(SeqRec *m, int n) {
    (void)m;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
    (void)n;
}
void seqrec_zero_grad(SeqRec *m) { memset(m->grads, 0, sizeof(float) * m->np); }

/* ---------------- SASRec ---------------- */
static void sasrec_forward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, F = c->ffn, B = m->B, T;
    float p = m->train ? c->dropout : 0;
    /* pack: sequence b is its ntok[b] newest tokens at positions L-ntok .. L-1 */
    T = 0;
    for (int b = 0; b < B; b++) {
        int n = m->len[b] > 0 ? m->len[b] : 1;
        m->off[b] = T; m->ntok[b] = n;
        for (int j = 0; j < n; j++) {
            m->tok_id[T] = m->items[(size_t)b * L + L - n + j];
            m->tok_pos[T] = L - n + j;
            T++;
        }
    }
    m->off[B] = T; m->T = T;
    /* x0 (T, D) = E[id] + P[pos] */
    sr_embedding_forward(m->x0, m->tok_id, m->E, T, D);
    for (int t = 0; t < T; t++) {
        float *x = m->x0 + (size_t)t * D; const float *pp = m->P + (size_t)m->tok_pos[t] * D;
        for (int i = 0; i < D; i++) x[i] += pp[i];
    }
    sr_dropout_forward(m->xin[0], p > 0 ? m->mask0 : NULL, m->x0, (size_t)T * D, p, &m->rng);
    for (int l = 0; l < c->layers; l++) {
        float *x = m->xin[l];
        sr_layernorm_forward(m->ln1[l], m->mu1[l], m->rs1[l], x, m->ln1w[l], m->ln1b[l], T, D);
        sr_linear_forward(m->qkv[l], m->ln1[l], m->Wqkv[l], NULL, T, D, 3 * D);          /* (T, 3D) */
        sr_attention_forward(m->ao[l], m->att[l], m->qkv[l], m->off, m->ntok, B, L, D, c->heads);
        sr_dropout_forward(m->dtmp, p > 0 ? m->dm1[l] : NULL, m->ao[l], (size_t)T * D, p, &m->rng);
        for (size_t i = 0; i < (size_t)T * D; i++) m->xmid[l][i] = x[i] + m->dtmp[i];
        sr_layernorm_forward(m->ln2[l], m->mu2[l], m->rs2[l], m->xmid[l], m->ln2w[l], m->ln2b[l], T, D);
        sr_linear_forward(m->f1[l], m->ln2[l], m->W1[l], m->b1[l], T, D, F);              /* (T, F) */
        sr_relu_forward(m->fr[l], m->f1[l], (size_t)T * F);
        sr_linear_forward(m->f2[l], m->fr[l], m->W2[l], m->b2[l], T, F, D);               /* (T, D) */
        sr_dropout_forward(m->dtmp, p > 0 ? m->dm2[l] : NULL, m->f2[l], (size_t)T * D, p, &m->rng);
        for (size_t i = 0; i < (size_t)T * D; i++) m->xin[l + 1][i] = m->xmid[l][i] + m->dtmp[i];
    }
    /* newest token of each sequence -> LN_f -> h (B, D) */
    for (int b = 0; b < B; b++)
        memcpy(m->last + (size_t)b * D, m->xin[c->layers] + (size_t)(m->off[b] + m->ntok[b] - 1) * D, sizeof(float) * D);
    sr_layernorm_forward(m->h, m->muf, m->rsf, m->last, m->lnfw, m->lnfb, B, D);
}

static void sasrec_backward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, F = c->ffn, B = m->B, T = m->T;
    size_t TD = (size_t)T * D;
    float *dlast = m->dtmp;
    memset(dlast, 0, sizeof(float) * (size_t)B * D);
    sr_layernorm_backward(dlast, GRAD(m->lnfw), GRAD(m->lnfb), m->dh, m->last, m->lnfw, m->muf, m->rsf, B, D);
    memset(m->dx, 0, sizeof(float) * TD);
    for (int b = 0; b < B; b++)
        memcpy(m->dx + (size_t)(m->off[b] + m->ntok[b] - 1) * D, dlast + (size_t)b * D, sizeof(float) * D);
    int drop = m->train && c->dropout > 0;
    for (int l = c->layers - 1; l >= 0; l--) {
        /* x_out = xmid + Dropout(FFN(LN2(xmid))): dx flows to xmid unchanged, plus FFN path */
        sr_dropout_backward(m->dtmp, drop ? m->dm2[l] : NULL, m->dx, TD);                /* d f2 */
        memset(m->dfr, 0, sizeof(float) * (size_t)T * F);
        sr_linear_backward(m->dfr, GRAD(m->W2[l]), GRAD(m->b2[l]), m->dtmp, m->fr[l], m->W2[l], T, F, D);
        memset(m->df, 0, sizeof(float) * (size_t)T * F);
        sr_relu_backward(m->df, m->dfr, m->fr[l], (size_t)T * F);
        memset(m->dtmp, 0, sizeof(float) * TD);
        sr_linear_backward(m->dtmp, GRAD(m->W1[l]), GRAD(m->b1[l]), m->df, m->ln2[l], m->W1[l], T, D, F);
        sr_layernorm_backward(m->dx, GRAD(m->ln2w[l]), GRAD(m->ln2b[l]), m->dtmp, m->xmid[l], m->ln2w[l],
                           m->mu2[l], m->rs2[l], T, D);                                 /* dx = d xmid */
        /* xmid = x + Dropout(SA(LN1(x))) */
        sr_dropout_backward(m->dtmp, drop ? m->dm1[l] : NULL, m->dx, TD);                /* d ao */
        memset(m->dqkv, 0, sizeof(float) * TD * 3);
        sr_attention_backward(m->dqkv, m->dtmp, m->qkv[l], m->att[l], m->off, m->ntok, B, L, D, c->heads);
        memset(m->dtmp, 0, sizeof(float) * TD);
        sr_linear_backward(m->dtmp, GRAD(m->Wqkv[l]), NULL, m->dqkv, m->ln1[l], m->Wqkv[l], T, D, 3 * D);
        sr_layernorm_backward(m->dx, GRAD(m->ln1w[l]), GRAD(m->ln1b[l]), m->dtmp, m->xin[l], m->ln1w[l],
                           m->mu1[l], m->rs1[l], T, D);                                 /* dx = d x */
    }
    sr_dropout_backward(m->dx, drop ? m->mask0 : NULL, m->dx, TD);
    sr_embedding_backward(GRAD(m->E), m->dx, m->tok_id, T, D);
    sr_embedding_backward(GRAD(m->P), m->dx, m->tok_pos, T, D);
}

/* ---------------- GRU4Rec ---------------- */
static void gru4rec_forward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, H = c->gru_hidden, B = m->B;
    float p = m->train ? c->dropout : 0;
    for (int b = 0; b < B; b++) m->start[b] = L - (m->len[b] > 0 ? m->len[b] : 1);
    sr_embedding_forward(m->gx, m->items, m->E, B * L, D);                              /* (B, L, D) */
    sr_dropout_forward(m->gxd, p > 0 ? m->gmask : NULL, m->gx, (size_t)B * L * D, p, &m->rng);
    sr_gru_forward(m->ghs, m->gxg, m->ghg, m->ggates, m->gxd, m->start, m->Wih, m->Whh, m->bih, m->bhh,
                B, L, D, H, m->gscr);
    for (int b = 0; b < B; b++)
        memcpy(m->ghlast + (size_t)b * H, m->ghs + ((size_t)b * (L + 1) + L) * H, sizeof(float) * H);
    sr_linear_forward(m->h, m->ghlast, m->Wd, m->bd, B, H, D);                           /* (B, D) */
}

static void gru4rec_backward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, H = c->gru_hidden, B = m->B;
    memset(m->gdh, 0, sizeof(float) * (size_t)B * H);
    sr_linear_backward(m->gdh, GRAD(m->Wd), GRAD(m->bd), m->dh, m->ghlast, m->Wd, B, H, D);
    memset(m->gdx, 0, sizeof(float) * (size_t)B * L * D);
    sr_gru_backward(m->gdx, GRAD(m->Wih), GRAD(m->Whh), GRAD(m->bih), GRAD(m->bhh), m->gdh, m->ghs, m->ghg,
                 m->ggates, m->gxd, m->start, m->Wih, m->Whh, B, L, D, H, m->gscr);
    sr_dropout_backward(m->gdx, m->train && c->dropout > 0 ? m->gmask : NULL, m->gdx, (size_t)B * L * D);
    sr_embedding_backward(GRAD(m->E), m->gdx, m->items, B * L, D);
}

/* ---------------- Caser ---------------- */
static void caser_forward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, B = m->B, W = c->nv * D + c->nh * L;
    float p = m->train ? c->dropout : 0;
    sr_embedding_forward(m->cX, m->items, m->E, B * L, D);                               /* (B, L, D) */
    sr_caser_vconv_forward(m->ccat, W, m->cX, m->Wv, m->bv, B, L, D, c->nv);             /* cols [0, nv*D) */
    for (int h = 1; h <= L; h++)                                                      /* cols nv*D + (h-1)*nh */
        sr_caser_hconv_forward(m->ccat + c->nv * D + (h - 1) * c->nh, W, m->cunf, m->cact[h], m->carg[h],
                            m->cX, m->Wh[h], m->bh[h], B, L, D, h, c->nh);
    sr_dropout_forward(m->ccatd, p > 0 ? m->cmask : NULL, m->ccat, (size_t)B * W, p, &m->rng);
    sr_linear_forward(m->cz1, m->ccatd, m->Wf1, m->bf1, B, W, D);
    sr_relu_forward(m->cz, m->cz1, (size_t)B * D);
    sr_linear_forward(m->h, m->cz, m->Wf2, m->bf2, B, D, D);
}

static void caser_backward(SeqRec *m) {
    const SrConfig *c = &m->c;
    int D = c->hidden, L = c->max_len, B = m->B, W = c->nv * D + c->nh * L;
    memset(m->cdz, 0, sizeof(float) * (size_t)B * D);
    sr_linear_backward(m->cdz, GRAD(m->Wf2), GRAD(m->bf2), m->dh, m->cz, m->Wf2, B, D, D);
    memset(m->cz1, 0, sizeof(float) * (size_t)B * D);                                /* reuse as d z1 */
    sr_relu_backward(m->cz1, m->cdz, m->cz, (size_t)B * D);
    memset(m->cdcat, 0, sizeof(float) * (size_t)B * W);
    sr_linear_backward(m->cdcat, GRAD(m->Wf1), GRAD(m->bf1), m->cz1, m->ccatd, m->Wf1, B, W, D);
    sr_dropout_backward(m->cdcat, m->train && c->dropout > 0 ? m->cmask : NULL, m->cdcat, (size_t)B * W);
    memset(m->cdX, 0, sizeof(float) * (size_t)B * L * D);
    sr_caser_vconv_backward(m->cdX, GRAD(m->Wv), GRAD(m->bv), m->cdcat, W, m->cX, m->Wv, B, L, D, c->nv);
    for (int h = 1; h <= L; h++)
        sr_caser_hconv_backward(m->cdX, GRAD(m->Wh[h]), GRAD(m->bh[h]), m->cdcat + c->nv * D + (h - 1) * c->nh, W,
                             m->cX, m->cact[h], m->carg[h], m->Wh[h], B, L, D, h, c->nh, m->cscr);
    sr_embedding_backward(GRAD(m->E), m->cdX, m->items, B * L, D);
}

/* ---------------- common ---------------- */
const float *seqrec_forward(SeqRec *m, const int *items, const int *len, int B, int train) {
    const SrConfig *c = &m->c;
    if (B > m->maxB) die(EXIT_USAGE, "seqrec: batch %d > %d", B, m->maxB);
    m->B = B; m->train = train;
    memcpy(m->items, items, sizeof(int) * (size_t)B * c->max_len);
    memcpy(m->len, len, sizeof(int) * B);
    if (c->kind == SR_SASREC) sasrec_forward(m);
    else if (c->kind == SR_GRU4REC) gru4rec_forward(m);
    else caser_forward(m);
    return m->h;
}

float seqrec_step(SeqRec *m, const int *items, const int *len, const int *target, int B,
                  int train, int backward) {
    const SrConfig *c = &m->c;
    int N = c->n_items, D = c->hidden;
    seqrec_forward(m, items, len, B, train);
    float loss = sr_softmax_ce_forward(m->probs, m->h, m->E, target, B, N, D);
    if (!backward) return loss;
    memset(m->dh, 0, sizeof(float) * (size_t)B * D);
    sr_softmax_ce_backward(m->dh, GRAD(m->E), m->probs, m->h, m->E, target, B, N, D);
    if (c->kind == SR_SASREC) sasrec_backward(m);
    else if (c->kind == SR_GRU4REC) gru4rec_backward(m);
    else caser_backward(m);
    return loss;
}

void seqrec_adam(SeqRec *m, float lr, float b1, float b2, float eps, float wd) {
    int N = m->c.n_items, D = m->c.hidden;
    memset(GRAD(m->E) + (size_t)N * D, 0, sizeof(float) * D);
    m->step++;
    sr_adam_update(m->params, m->grads, m->adam_m, m->adam_v, m->np, lr, b1, b2, eps, wd, m->step);
    memset(m->E + (size_t)N * D, 0, sizeof(float) * D);   /* weight decay must not move it either */
}

void seqrec_scores(SeqRec *m, int B, float *scores) {
    int N = m->c.n_items, D = m->c.hidden;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, D, 1.0f, m->h, D, m->E, D, 0.0f, scores, N);
}
