/* seqrec: the traditional sequential baselines of Table 3 (SASRec, GRU4Rec, Caser and the
 * starred variants whose item embeddings start from LLM item embeddings), trained on the
 * same samples as the LLM methods and writing the same ranked lists for `metrics`.
 * Training: every train sample is one next-item example (history of <= L items -> target),
 * full-softmax cross-entropy over all N catalogue items, Adam, early stopping on validation
 * NDCG@10 (the best epoch's parameters rank the test set). Inference: full ranking over all
 * items (no sampled negatives), ties to the lower id.
 * History items: by default NOT masked, so the lists are comparable with the LLM methods'
 * (whose grounding may return a history item too); --exclude-history masks the sample's
 * own history, --exclude-seen every item of the user's earlier samples (RecBole's protocol).
 * The run report carries the test metrics under both the chosen and the other protocol.
 * Layers: tools/lib/seqrec/seqrec_layers.c; models: tools/lib/seqrec/seqrec_model.c. */
#include "safetensors.h"
#include "samples.h"
#include "seqrec_layers.h"
#include "seqrec_model.h"
#include "util.h"
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: seqrec --model sasrec|gru4rec|caser (--data DIR | --train F --valid F --test F --items F)\n"
"              [--config FILE] [--out RANKED] [options]\n"
"Train a sequential recommender on split811 samples and rank ALL items for each test sample.\n"
"  --data DIR          DIR/{train,valid,test,items}.jsonl (any of the four flags overrides)\n"
"  --config FILE       key = value hyper-parameters (configs/seqrec/<model>.conf; flags win)\n"
"  --out FILE          test ranked lists {\"id\",\"items\":[catalogue ids]} (default stdout)\n"
"  --valid-out FILE    the same for the valid samples    --report FILE  run summary JSON\n"
"  --topn N            list length (20)   --exclude-history  never rank the sample's own\n"
"                      history items (default: they are ranked like any item, as the LLM\n"
"                      methods do)   --exclude-seen  RecBole's protocol: also never rank\n"
"                      the user's items of earlier splits (train; train+valid for test)\n"
"  --epochs N (50) --patience N (5: epochs without a better valid NDCG@10) --batch N (256)\n"
"  --epoch-samples N   train samples per epoch (0 = all; else a rolling shuffled stream)\n"
"  --max-minutes F     stop after the epoch that passes F minutes of training (0 = off)\n"
"  --lr F (1e-3) --wd F (0) --hidden N (64) --max-len N (10) --dropout F --init-std F\n"
"  --layers N --heads N --ffn N (SASRec)  --gru-hidden N (GRU4Rec)  --nh N --nv N (Caser)\n"
"  --init-emb FILE     starred variant: item embeddings from an LLM matrix, row i = item\n"
"                      id i: .safetensors (tensor --init-emb-key,\n"
"                      default item_emb (ground's cache) or the only 2-D one), .npy\n"
"                      (<f4, C order) or raw float32 with --init-emb-dims N,DIM;\n"
"                      reduced to --hidden by PCA, rescaled to std --init-std\n"
"  --seed N (42) --threads N (OpenMP + BLAS threads; results are identical for\n"
"                      the same seed and thread count)  -q quiet\n"
"  --gradcheck         finite-difference checks of every layer and model, then exit\n"
"  --parity-dump FILE  tiny model + batch + loss + gradients as JSON (tests/seqrec_parity.py)\n"
"  --dump-init FILE    initial item embeddings (N, hidden) as raw float32 (tests)\n");
    exit(code);
}

/* ---------------- options ---------------- */
typedef struct {
    SrConfig mc;
    int epochs, patience, batch, epoch_samples, topn, exclude_history, exclude_seen, threads, eval_batch;
    float lr, wd, beta1, beta2, adam_eps, max_minutes;
    uint64_t seed;
    const char *train, *valid, *test, *items, *data, *out, *valid_out, *report, *config;
    const char *init_emb, *init_emb_key, *dump_init;
    int init_n, init_d;
} Opts;

static void defaults(Opts *o, int kind) {
    memset(o, 0, sizeof *o);
    SrConfig *c = &o->mc;
    c->kind = kind; c->hidden = 64; c->max_len = 10; c->init_std = 0.02f;
    c->layers = 2; c->heads = 1; c->ffn = 64; c->gru_hidden = 64; c->nh = 16; c->nv = 4;
    c->dropout = kind == SR_SASREC ? 0.2f : kind == SR_GRU4REC ? 0.3f : 0.4f;
    o->epochs = 50; o->patience = 5; o->batch = 256; o->topn = 20; o->eval_batch = 512;
    o->lr = 1e-3f; o->wd = 0; o->beta1 = 0.9f; o->beta2 = 0.999f; o->adam_eps = 1e-8f;
    o->seed = 42; o->threads = 0;
}

static long parse_long(const char *v, const char *key, long lo, long hi, const char *where) {
    char *e; errno = 0;
    long x = strtol(v, &e, 10);
    if (errno || e == v || *e || x < lo || x > hi)
        die(EXIT_USAGE, "%s%s: expected an integer in %ld..%ld, got '%s'", where, key, lo, hi, v);
    return x;
}
static float parse_float(const char *v, const char *key, float lo, float hi, const char *where) {
    char *e; errno = 0;
    double x = strtod(v, &e);
    if (errno || e == v || *e || !(x >= lo && x <= hi))
        die(EXIT_USAGE, "%s%s: expected a number in [%g, %g], got '%s'", where, key, lo, hi, v);
    return (float)x;
}

/* one hyper-parameter / path by name (flag without "--" or config key); returns 0 if unknown */
static int set_opt(Opts *o, const char *k, const char *v, const char *where) {
    SrConfig *c = &o->mc;
#define IS(s) (!strcmp(k, s))
    if (IS("epochs")) o->epochs = (int)parse_long(v, k, 0, 100000, where);
    else if (IS("patience")) o->patience = (int)parse_long(v, k, 1, 100000, where);
    else if (IS("batch")) o->batch = (int)parse_long(v, k, 1, 65536, where);
    else if (IS("epoch-samples") || IS("epoch_samples")) o->epoch_samples = (int)parse_long(v, k, 0, 1000000000, where);
    else if (IS("topn")) o->topn = (int)parse_long(v, k, 1, 100000, where);
    else if (IS("threads")) o->threads = (int)parse_long(v, k, 0, 1024, where);
    else if (IS("seed")) o->seed = (uint64_t)parse_long(v, k, 0, 0x7fffffffL, where);
    else if (IS("max-minutes") || IS("max_minutes")) o->max_minutes = parse_float(v, k, 0, 1e6f, where);
    else if (IS("lr")) o->lr = parse_float(v, k, 0, 10, where);
    else if (IS("wd")) o->wd = parse_float(v, k, 0, 10, where);
    else if (IS("beta1")) o->beta1 = parse_float(v, k, 0, 0.999999f, where);
    else if (IS("beta2")) o->beta2 = parse_float(v, k, 0, 0.999999f, where);
    else if (IS("hidden")) c->hidden = (int)parse_long(v, k, 1, 4096, where);
    else if (IS("max-len") || IS("max_len")) c->max_len = (int)parse_long(v, k, 1, SR_MAX_LEN, where);
    else if (IS("layers")) c->layers = (int)parse_long(v, k, 1, 8, where);
    else if (IS("heads")) c->heads = (int)parse_long(v, k, 1, 64, where);
    else if (IS("ffn")) c->ffn = (int)parse_long(v, k, 1, 65536, where);
    else if (IS("gru-hidden") || IS("gru_hidden")) c->gru_hidden = (int)parse_long(v, k, 1, 4096, where);
    else if (IS("nh")) c->nh = (int)parse_long(v, k, 1, 4096, where);
    else if (IS("nv")) c->nv = (int)parse_long(v, k, 1, 4096, where);
    else if (IS("dropout")) c->dropout = parse_float(v, k, 0, 0.99f, where);
    else if (IS("init-std") || IS("init_std")) c->init_std = parse_float(v, k, 0, 10, where);
    else return 0;
#undef IS
    return 1;
}

static void load_config(Opts *o, const char *path) {
    LineReader *r = lr_open(path);
    char where[1100];
    for (char *s; (s = lr_next(r, NULL));) {
        snprintf(where, sizeof where, "%s:%ld: ", path, lr_lineno(r));
        char *h = strchr(s, '#'); if (h) *h = 0;
        char *eq = strchr(s, '=');
        char *k = s; while (*k == ' ' || *k == '\t') k++;
        if (!*k) continue;
        if (!eq) die(EXIT_USAGE, "%sexpected 'key = value'", where);
        *eq = 0;
        char *ke = eq - 1; while (ke >= k && (*ke == ' ' || *ke == '\t')) *ke-- = 0;
        char *v = eq + 1; while (*v == ' ' || *v == '\t') v++;
        char *ve = v + strlen(v) - 1; while (ve >= v && (*ve == ' ' || *ve == '\t')) *ve-- = 0;
        if (!strcmp(k, "model")) {
            if (seqrec_kind_parse(v) != o->mc.kind) die(EXIT_USAGE, "%smodel: config is for '%s', not '%s'", where, v, seqrec_kind_name(o->mc.kind));
            continue;
        }
        if (!set_opt(o, k, v, where)) die(EXIT_USAGE, "%s%s: unknown key", where, k);
    }
    lr_close(r);
}

/* ---------------- data ---------------- */
typedef struct {
    int n, L;
    int *items;      /* (n, L) left-padded with the padding id N */
    int *len;        /* (n) */
    int *target;     /* (n) */
    long long *id;   /* (n) */
    int *user;       /* (n) dense user index shared by the three splits */
    int *hist_off, *hist;   /* full sample history (for --exclude-history) */
} Data;

static void data_from(Data *d, const SampleSet *s, int L, int N, StrMap *users) {
    d->n = s->n; d->L = L;
    d->user = xmalloc(sizeof(int) * (s->n ? s->n : 1));
    for (int i = 0; i < s->n; i++) {
        long long *u = strmap_get(users, s->s[i].user);
        if (!u) { strmap_put(users, s->s[i].user, (long long)users->n, NULL); u = strmap_get(users, s->s[i].user); }
        d->user[i] = (int)*u;
    }
    d->items = xmalloc(sizeof(int) * (size_t)s->n * L);
    d->len = xmalloc(sizeof(int) * (s->n ? s->n : 1));
    d->target = xmalloc(sizeof(int) * (s->n ? s->n : 1));
    d->id = xmalloc(sizeof(long long) * (s->n ? s->n : 1));
    d->hist_off = xmalloc(sizeof(int) * (s->n + 1));
    size_t nh = 0;
    for (int i = 0; i < s->n; i++) nh += s->s[i].n_hist;
    d->hist = xmalloc(sizeof(int) * (nh ? nh : 1));
    nh = 0;
    for (int i = 0; i < s->n; i++) {
        const Sample *x = &s->s[i];
        int n = x->n_hist < L ? x->n_hist : L;   /* newest L items */
        int *row = d->items + (size_t)i * L;
        for (int j = 0; j < L - n; j++) row[j] = N;
        for (int j = 0; j < n; j++) row[L - n + j] = x->hist[x->n_hist - n + j].cid;
        d->len[i] = n; d->target[i] = x->target.cid; d->id[i] = x->id;
        d->hist_off[i] = (int)nh;
        for (int j = 0; j < x->n_hist; j++) d->hist[nh++] = x->hist[j].cid;
    }
    d->hist_off[s->n] = (int)nh;
}
static void data_free(Data *d) {
    free(d->items); free(d->len); free(d->target); free(d->id); free(d->hist_off); free(d->hist); free(d->user);
}

/* ---------------- LLM embedding initialisation (starred variants) ---------------- */
static float *read_npy(const char *path, int *rows, int *cols) {
    FILE *f = fopen(path, "rb");
    if (!f) die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) die(EXIT_DATA, "%s: not a .npy file", path);
    size_t hl = pre[8] | (pre[9] << 8);
    if (pre[6] >= 2) {   /* v2/v3: 4-byte header length */
        unsigned char b2[2];
        if (fread(b2, 1, 2, f) != 2) die(EXIT_DATA, "%s: truncated .npy header", path);
        hl = hl | ((size_t)b2[0] << 16) | ((size_t)b2[1] << 24);
    }
    if (hl > 1 << 20) die(EXIT_DATA, "%s: .npy header too large", path);
    char *h = xcalloc(hl + 1, 1);
    if (fread(h, 1, hl, f) != hl) die(EXIT_DATA, "%s: truncated .npy header", path);
    if (!strstr(h, "'descr': '<f4'")) die(EXIT_DATA, "%s: .npy dtype must be '<f4' (float32 little-endian)", path);
    if (!strstr(h, "'fortran_order': False")) die(EXIT_DATA, "%s: .npy must be C order", path);
    char *sh = strstr(h, "'shape': (");
    long r = 0, c = 0;
    if (!sh || sscanf(sh, "'shape': (%ld, %ld)", &r, &c) != 2 || r < 1 || c < 1)
        die(EXIT_DATA, "%s: .npy shape must be 2-D (rows, cols)", path);
    free(h);
    float *x = xmalloc(sizeof(float) * (size_t)r * c);
    if (fread(x, sizeof(float), (size_t)r * c, f) != (size_t)r * c) die(EXIT_DATA, "%s: .npy data shorter than its shape", path);
    fclose(f);
    *rows = (int)r; *cols = (int)c;
    return x;
}

static float *read_raw(const char *path, int rows, int cols) {
    struct stat st;
    if (stat(path, &st)) die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    if ((uint64_t)st.st_size != (uint64_t)rows * cols * 4)
        die(EXIT_DATA, "%s: %lld bytes, but --init-emb-dims %d,%d needs %llu", path, (long long)st.st_size,
            rows, cols, (unsigned long long)rows * cols * 4);
    FILE *f = fopen(path, "rb");
    if (!f) die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    float *x = xmalloc(sizeof(float) * (size_t)rows * cols);
    if (fread(x, 4, (size_t)rows * cols, f) != (size_t)rows * cols) die(EXIT_IO, "%s: read error", path);
    fclose(f);
    return x;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static float *load_llm_emb(const Opts *o, int *rows, int *cols) {
    const char *p = o->init_emb;
    if (ends_with(p, ".safetensors")) {
        StFile *f = st_open(p);
        const StTensor *t = NULL;
        if (o->init_emb_key) {
            t = st_find(f, o->init_emb_key);
            if (!t) die(EXIT_DATA, "%s: no tensor '%s'", p, o->init_emb_key);
        } else if (!(t = st_find(f, "item_emb"))) {   /* ground's cache names it item_emb */
            for (int i = 0; i < f->n; i++)
                if (f->t[i].ndim == 2) {
                    if (t) die(EXIT_USAGE, "%s: several 2-D tensors; pick one with --init-emb-key", p);
                    t = &f->t[i];
                }
            if (!t) die(EXIT_DATA, "%s: no 2-D tensor", p);
        }
        if (t->ndim != 2) die(EXIT_DATA, "%s: tensor '%s': expected 2-D (items, dim)", p, t->name);
        *rows = (int)t->shape[0]; *cols = (int)t->shape[1];
        float *x = xmalloc(sizeof(float) * t->numel);
        st_read_f32(f, t, x);
        st_close(f);
        return x;
    }
    if (ends_with(p, ".npy")) return read_npy(p, rows, cols);
    if (!o->init_n) die(EXIT_USAGE, "--init-emb %s: raw float32 needs --init-emb-dims N,DIM", p);
    *rows = o->init_n; *cols = o->init_d;
    return read_raw(p, o->init_n, o->init_d);
}

/* PCA of X (n, dl) to k dims by subspace iteration on the covariance; Y (n, k), columns
 * ordered by decreasing variance. Deterministic (fixed seed). */
static void pca_project(const float *X, int n, int dl, int k, float *Y) {
    float *Xc = xmalloc(sizeof(float) * (size_t)n * dl);
    double *mu = xcalloc(dl, sizeof(double));
    for (int i = 0; i < n; i++) for (int j = 0; j < dl; j++) mu[j] += X[(size_t)i * dl + j];
    for (int j = 0; j < dl; j++) mu[j] /= n;
    for (int i = 0; i < n; i++) for (int j = 0; j < dl; j++) Xc[(size_t)i * dl + j] = X[(size_t)i * dl + j] - (float)mu[j];
    if (dl <= k) {   /* nothing to reduce: copy, pad with zeros */
        memset(Y, 0, sizeof(float) * (size_t)n * k);
        for (int i = 0; i < n; i++) memcpy(Y + (size_t)i * k, Xc + (size_t)i * dl, sizeof(float) * dl);
        free(Xc); free(mu); return;
    }
    float *Cv = xmalloc(sizeof(float) * (size_t)dl * dl);       /* (dl, dl) = Xc^T Xc / n */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dl, n, 1.0f / n, Xc, dl, Xc, dl, 0.0f, Cv, dl);
    float *Q = xmalloc(sizeof(float) * (size_t)dl * k), *Z = xmalloc(sizeof(float) * (size_t)dl * k);
    Rng r; rng_seed(&r, 12345);
    for (size_t i = 0; i < (size_t)dl * k; i++) Q[i] = rng_normal(&r);
    for (int it = 0; it < 100; it++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, dl, k, dl, 1.0f, Cv, dl, Q, k, 0.0f, Z, k);
        for (int a = 0; a < k; a++) {      /* modified Gram-Schmidt over the columns of Z */
            for (int b = 0; b < a; b++) {
                double dot = 0;
                for (int j = 0; j < dl; j++) dot += (double)Z[(size_t)j * k + a] * Z[(size_t)j * k + b];
                for (int j = 0; j < dl; j++) Z[(size_t)j * k + a] -= (float)dot * Z[(size_t)j * k + b];
            }
            double nn = 0;
            for (int j = 0; j < dl; j++) nn += (double)Z[(size_t)j * k + a] * Z[(size_t)j * k + a];
            nn = sqrt(nn); if (nn < 1e-30) nn = 1;
            for (int j = 0; j < dl; j++) Z[(size_t)j * k + a] = (float)(Z[(size_t)j * k + a] / nn);
        }
        float *t = Q; Q = Z; Z = t;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, dl, 1.0f, Xc, dl, Q, k, 0.0f, Y, k);
    free(Xc); free(mu); free(Cv); free(Q); free(Z);
}

static void init_from_llm(SeqRec *m, const Opts *o) {
    const SrConfig *c = seqrec_config(m);
    int rows, cols;
    float *X = load_llm_emb(o, &rows, &cols);
    if (rows != c->n_items)
        die(EXIT_DATA, "%s: %d rows, but the catalogue has %d items (row i must be item id i)", o->init_emb, rows, c->n_items);
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (!isfinite(X[i])) die(EXIT_DATA, "%s: non-finite value at row %zu", o->init_emb, i / cols);
    float *Y = xmalloc(sizeof(float) * (size_t)rows * c->hidden);
    pca_project(X, rows, cols, c->hidden, Y);
    double ss = 0;
    for (size_t i = 0; i < (size_t)rows * c->hidden; i++) ss += (double)Y[i] * Y[i];
    double sd = sqrt(ss / ((double)rows * c->hidden));
    float s = sd > 0 ? (float)(c->init_std / sd) : 0;
    float *E = seqrec_item_emb(m);
    for (size_t i = 0; i < (size_t)rows * c->hidden; i++) E[i] = Y[i] * s;
    info("init-emb: %s (%d x %d) -> PCA %d dims, rescaled to std %g", o->init_emb, rows, cols, c->hidden, c->init_std);
    free(X); free(Y);
}

/* ---------------- ranking ---------------- */
/* Items a user interacted with before an evaluation sample, RecBole's full-ranking mask:
 * every history item and target of the user's samples in the given splits. CSR by user. */
typedef struct { int nu; int *off, *it; } Seen;
static int cmp_int(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static Seen seen_build(const Data *const *ds, int nd, int nu) {
    Seen S = {nu, xcalloc(nu + 1, sizeof(int)), NULL};
    for (int k = 0; k < nd; k++)
        for (int i = 0; i < ds[k]->n; i++)
            S.off[ds[k]->user[i] + 1] += ds[k]->hist_off[i + 1] - ds[k]->hist_off[i] + 1;
    for (int u = 0; u < nu; u++) S.off[u + 1] += S.off[u];
    int *fill = xmalloc(sizeof(int) * (nu + 1));
    memcpy(fill, S.off, sizeof(int) * (nu + 1));
    S.it = xmalloc(sizeof(int) * (S.off[nu] + 1));
    for (int k = 0; k < nd; k++)
        for (int i = 0; i < ds[k]->n; i++) {
            int u = ds[k]->user[i];
            for (int j = ds[k]->hist_off[i]; j < ds[k]->hist_off[i + 1]; j++) S.it[fill[u]++] = ds[k]->hist[j];
            S.it[fill[u]++] = ds[k]->target[i];
        }
    free(fill);
    for (int u = 0; u < nu; u++) qsort(S.it + S.off[u], S.off[u + 1] - S.off[u], sizeof(int), cmp_int);
    return S;
}
static void seen_free(Seen *S) { free(S->off); free(S->it); }

static inline int better(float sa, int a, float sb, int b) { return sa > sb || (sa == sb && a < b); }

typedef struct { double hr5, nd5, hr10, nd10; int n; } Metrics;

/* scores for samples [i0, i0+B) of d; masks history if asked; NaN check */
static void score_batch(SeqRec *m, const Data *d, int i0, int B, int excl, const Seen *seen, float *scores) {
    int N = seqrec_config(m)->n_items, L = d->L;
    seqrec_forward(m, d->items + (size_t)i0 * L, d->len + i0, B, 0);
    seqrec_scores(m, B, scores);
    for (int b = 0; b < B; b++) {
        float *s = scores + (size_t)b * N;
        for (int k = 0; k < N; k++) if (isnan(s[k])) die(EXIT_DATA, "seqrec: training diverged (NaN scores); lower --lr");
        if (excl || seen)   /* the sample's own history is "seen" too (earlier test samples) */
            for (int j = d->hist_off[i0 + b]; j < d->hist_off[i0 + b + 1]; j++) s[d->hist[j]] = -INFINITY;
        if (seen) {
            int u = d->user[i0 + b];
            if (u < seen->nu)
                for (int j = seen->off[u]; j < seen->off[u + 1]; j++) s[seen->it[j]] = -INFINITY;
        }
    }
}

/* full-ranking metrics over all of d (ties broken by lower id, like the ranked lists);
 * topn lists into out (d->n, topn) if out != NULL */
static Metrics evaluate(SeqRec *m, const Data *d, int eval_batch, int excl, const Seen *seen, int topn, int *out, double *secs) {
    int N = seqrec_config(m)->n_items;
    float *scores = xmalloc(sizeof(float) * (size_t)eval_batch * N);
    long *rk = xmalloc(sizeof(long) * eval_batch);
    Metrics r = {0};
    double t0 = now_s();
    for (int i0 = 0; i0 < d->n; i0 += eval_batch) {
        int B = d->n - i0 < eval_batch ? d->n - i0 : eval_batch;
        score_batch(m, d, i0, B, excl, seen, scores);
        #pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            const float *s = scores + (size_t)b * N;
            int t = d->target[i0 + b];
            float st = s[t];
            long rank = 0;
            for (int k = 0; k < N; k++) rank += better(s[k], k, st, t);
            rk[b] = rank;
            if (out) {   /* top-n by insertion into a sorted list */
                int *top = out + (size_t)(i0 + b) * topn, cnt = 0, K = topn < N ? topn : N;
                for (int k = 0; k < N; k++) {
                    if (cnt == K && !better(s[k], k, s[top[K - 1]], top[K - 1])) continue;
                    int p = cnt < K ? cnt++ : K - 1;
                    while (p > 0 && better(s[k], k, s[top[p - 1]], top[p - 1])) { top[p] = top[p - 1]; p--; }
                    top[p] = k;
                }
                for (int k = K; k < topn; k++) top[k] = -1;
            }
        }
        for (int b = 0; b < B; b++) {   /* serial sums: identical bits whatever the threads */
            if (rk[b] < 5) { r.hr5 += 1; r.nd5 += 1.0 / log2(rk[b] + 2.0); }
            if (rk[b] < 10) { r.hr10 += 1; r.nd10 += 1.0 / log2(rk[b] + 2.0); }
        }
    }
    if (secs) *secs = now_s() - t0;
    r.n = d->n;
    if (d->n) { r.hr5 /= d->n; r.nd5 /= d->n; r.hr10 /= d->n; r.nd10 /= d->n; }
    free(scores); free(rk);
    return r;
}

static void write_ranked(const char *path, const Data *d, const int *top, int topn) {
    OutFile o = out_open(path);
    atomic_cleanup_register(&o);
    for (int i = 0; i < d->n; i++) {
        fprintf(o.f, "{\"id\": %lld, \"items\": [", d->id[i]);
        for (int k = 0; k < topn && top[(size_t)i * topn + k] >= 0; k++)
            fprintf(o.f, k ? ", %d" : "%d", top[(size_t)i * topn + k]);
        fputs("]}\n", o.f);
    }
    if (ferror(o.f)) die(EXIT_IO, "%s: write error", path ? path : "<stdout>");
    out_commit(&o);
}

/* ---------------- gradient checks and parity dump (tiny models) ---------------- */
static SrConfig tiny_config(int kind) {
    SrConfig c = {0};
    c.kind = kind; c.n_items = 11; c.hidden = 8; c.max_len = 5; c.layers = 2; c.heads = 2; c.ffn = 12;
    c.gru_hidden = 6; c.nh = 3; c.nv = 2; c.dropout = 0; c.init_std = 0.3f;
    return c;
}
/* a batch covering the edge cases: empty history, short, full, repeated items */
enum { TINY_B = 5 };
static const int tiny_len[TINY_B] = {0, 1, 3, 5, 4};
static void tiny_batch(int N, int L, int *items, int *len, int *target) {
    static const int raw[TINY_B][5] = {{0}, {7}, {2, 9, 4}, {1, 3, 3, 10, 6}, {5, 0, 8, 2}};
    static const int tg[TINY_B] = {3, 0, 7, 10, 5};
    for (int b = 0; b < TINY_B; b++) {
        int n = tiny_len[b] < L ? tiny_len[b] : L;
        for (int j = 0; j < L; j++) items[b * L + j] = N;
        for (int j = 0; j < n; j++) items[b * L + L - n + j] = raw[b][tiny_len[b] - n + j] % N;
        len[b] = n; target[b] = tg[b] % N;
    }
}

/* random 1-D parameters (biases, LN) too: zero biases put ReLUs / max-pools of padded
 * windows exactly on their kink, where finite differences are meaningless */
static void tiny_perturb(SeqRec *m) {
    const SrParam *tab; int nt = seqrec_param_table(m, &tab);
    Rng r; rng_seed(&r, 99);
    for (int t = 0; t < nt; t++)
        if (tab[t].ndim == 1)
            for (size_t i = 0; i < tab[t].numel; i++) seqrec_params(m)[tab[t].off + i] += 0.2f * rng_normal(&r);
}

/* relative error ||a-n|| / (||a|| + ||n||) */
static double relerr(const double *a, const double *n, size_t k) {
    double d = 0, sa = 0, sn = 0;
    for (size_t i = 0; i < k; i++) { d += (a[i] - n[i]) * (a[i] - n[i]); sa += a[i] * a[i]; sn += n[i] * n[i]; }
    return sqrt(d) / (sqrt(sa) + sqrt(sn) + 1e-12);
}

static int g_gc_fail;
static void gc_report(const char *what, const char *tensor, double e, double tol) {
    int bad = !(e <= tol);
    g_gc_fail |= bad;
    printf("gradcheck %-10s %-24s relerr %.2e %s\n", what, tensor, e, bad ? "FAIL" : "ok");
}

/* Generic layer check: f(x) = sum(g . out(x)); x is one of several inputs/params.
 * run() recomputes out from the current buffers; grad holds the analytic dL/dx. */
typedef void (*FwdFn)(void *ctx);
static void fd_check(const char *layer, const char *name, float *x, const float *grad, size_t n,
                     FwdFn run, void *ctx, const float *out, const float *g, size_t nout, float eps) {
    double *a = xmalloc(sizeof(double) * n), *num = xmalloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        double fp = 0, fm = 0;
        x[i] = keep + eps; run(ctx); for (size_t j = 0; j < nout; j++) fp += (double)g[j] * out[j];
        x[i] = keep - eps; run(ctx); for (size_t j = 0; j < nout; j++) fm += (double)g[j] * out[j];
        x[i] = keep;
        num[i] = (fp - fm) / (2.0 * eps);
        a[i] = grad[i];
    }
    run(ctx);
    gc_report(layer, name, relerr(a, num, n), 1e-2);
    free(a); free(num);
}

static float *randv(Rng *r, size_t n, float s) {
    float *x = xmalloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = s * rng_normal(r);
    return x;
}

/* contexts for the layer checks */
typedef struct { float *out, *in, *W, *b; int T, C, OC; } LinCtx;
static void lin_run(void *p) { LinCtx *c = p; sr_linear_forward(c->out, c->in, c->W, c->b, c->T, c->C, c->OC); }
typedef struct { float *out, *mean, *rstd, *in, *w, *b; int T, C; } LnCtx;
static void ln_run(void *p) { LnCtx *c = p; sr_layernorm_forward(c->out, c->mean, c->rstd, c->in, c->w, c->b, c->T, c->C); }
typedef struct { float *out, *att, *qkv; const int *off, *len; int B, L, C, NH; } AttCtx;
static void att_run(void *p) { AttCtx *c = p; sr_attention_forward(c->out, c->att, c->qkv, c->off, c->len, c->B, c->L, c->C, c->NH); }
typedef struct { float *hs, *xg, *hg, *gates, *x, *Wih, *Whh, *bih, *bhh, *scr, *hl; const int *start; int B, L, C, H; } GruCtx;
static void gru_run(void *p) {
    GruCtx *c = p;
    sr_gru_forward(c->hs, c->xg, c->hg, c->gates, c->x, c->start, c->Wih, c->Whh, c->bih, c->bhh, c->B, c->L, c->C, c->H, c->scr);
    for (int b = 0; b < c->B; b++) memcpy(c->hl + (size_t)b * c->H, c->hs + ((size_t)b * (c->L + 1) + c->L) * c->H, sizeof(float) * c->H);
}
typedef struct { float *out, *unf, *act, *X, *W, *b; int *arg; int B, L, C, h, NF; } HcCtx;
static void hc_run(void *p) { HcCtx *c = p; sr_caser_hconv_forward(c->out, c->NF, c->unf, c->act, c->arg, c->X, c->W, c->b, c->B, c->L, c->C, c->h, c->NF); }
typedef struct { float *out, *X, *W, *b; int B, L, C, NV; } VcCtx;
static void vc_run(void *p) { VcCtx *c = p; sr_caser_vconv_forward(c->out, c->NV * c->C, c->X, c->W, c->b, c->B, c->L, c->C, c->NV); }
typedef struct { float *probs, *h, *E, *loss; const int *tg; int B, N, C; } CeCtx;
static void ce_run(void *p) { CeCtx *c = p; c->loss[0] = sr_softmax_ce_forward(c->probs, c->h, c->E, c->tg, c->B, c->N, c->C); }

static void gradcheck_layers(void) {
    Rng r; rng_seed(&r, 7);
    float eps = 1e-3f;
    { /* linear */
        int T = 4, C = 5, OC = 3;
        LinCtx c = {xmalloc(sizeof(float) * T * OC), randv(&r, T * C, 1), randv(&r, OC * C, 1), randv(&r, OC, 1), T, C, OC};
        float *g = randv(&r, T * OC, 1), *din = xcalloc(T * C, 4), *dW = xcalloc(OC * C, 4), *db = xcalloc(OC, 4);
        lin_run(&c); sr_linear_backward(din, dW, db, g, c.in, c.W, T, C, OC);
        fd_check("linear", "in", c.in, din, T * C, lin_run, &c, c.out, g, T * OC, eps);
        fd_check("linear", "W", c.W, dW, OC * C, lin_run, &c, c.out, g, T * OC, eps);
        fd_check("linear", "b", c.b, db, OC, lin_run, &c, c.out, g, T * OC, eps);
        free(c.out); free(c.in); free(c.W); free(c.b); free(g); free(din); free(dW); free(db);
    }
    { /* layer norm */
        int T = 3, C = 6;
        LnCtx c = {xmalloc(sizeof(float) * T * C), xmalloc(4 * T), xmalloc(4 * T), randv(&r, T * C, 1), randv(&r, C, 1), randv(&r, C, 1), T, C};
        float *g = randv(&r, T * C, 1), *din = xcalloc(T * C, 4), *dw = xcalloc(C, 4), *db = xcalloc(C, 4);
        ln_run(&c); sr_layernorm_backward(din, dw, db, g, c.in, c.w, c.mean, c.rstd, T, C);
        fd_check("layernorm", "in", c.in, din, T * C, ln_run, &c, c.out, g, T * C, eps);
        fd_check("layernorm", "weight", c.w, dw, C, ln_run, &c, c.out, g, T * C, eps);
        fd_check("layernorm", "bias", c.b, db, C, ln_run, &c, c.out, g, T * C, eps);
        free(c.out); free(c.mean); free(c.rstd); free(c.in); free(c.w); free(c.b); free(g); free(din); free(dw); free(db);
    }
    { /* causal attention, 2 sequences of lengths 3 and 4, 2 heads */
        int B = 2, L = 4, C = 6, NH = 2, off[3] = {0, 3, 7}, len[2] = {3, 4}, T = 7;
        AttCtx c = {xmalloc(sizeof(float) * T * C), xmalloc(sizeof(float) * B * NH * L * L), randv(&r, T * 3 * C, 1), off, len, B, L, C, NH};
        float *g = randv(&r, T * C, 1), *dqkv = xcalloc(T * 3 * C, 4);
        att_run(&c); sr_attention_backward(dqkv, g, c.qkv, c.att, off, len, B, L, C, NH);
        fd_check("attention", "qkv", c.qkv, dqkv, T * 3 * C, att_run, &c, c.out, g, T * C, eps);
        free(c.out); free(c.att); free(c.qkv); free(g); free(dqkv);
    }
    { /* GRU: 3 sequences starting at steps 0, 2, 3 of L=4 */
        int B = 3, L = 4, C = 3, H = 4, start[3] = {0, 2, 3};
        GruCtx c = {xmalloc(sizeof(float) * B * (L + 1) * H), xmalloc(sizeof(float) * B * L * 3 * H), xmalloc(sizeof(float) * B * L * 3 * H),
                    xmalloc(sizeof(float) * B * L * 3 * H), randv(&r, B * L * C, 1), randv(&r, 3 * H * C, 0.5f), randv(&r, 3 * H * H, 0.5f),
                    randv(&r, 3 * H, 0.5f), randv(&r, 3 * H, 0.5f), xmalloc(sizeof(float) * (B * L * 3 * H + B * 5 * H)),
                    xmalloc(sizeof(float) * B * H), start, B, L, C, H};
        float *g = randv(&r, B * H, 1), *dx = xcalloc(B * L * C, 4), *dWih = xcalloc(3 * H * C, 4), *dWhh = xcalloc(3 * H * H, 4);
        float *dbih = xcalloc(3 * H, 4), *dbhh = xcalloc(3 * H, 4);
        gru_run(&c);
        sr_gru_backward(dx, dWih, dWhh, dbih, dbhh, g, c.hs, c.hg, c.gates, c.x, start, c.Wih, c.Whh, B, L, C, H, c.scr);
        fd_check("gru", "x", c.x, dx, B * L * C, gru_run, &c, c.hl, g, B * H, eps);
        fd_check("gru", "weight_ih", c.Wih, dWih, 3 * H * C, gru_run, &c, c.hl, g, B * H, eps);
        fd_check("gru", "weight_hh", c.Whh, dWhh, 3 * H * H, gru_run, &c, c.hl, g, B * H, eps);
        fd_check("gru", "bias_ih", c.bih, dbih, 3 * H, gru_run, &c, c.hl, g, B * H, eps);
        fd_check("gru", "bias_hh", c.bhh, dbhh, 3 * H, gru_run, &c, c.hl, g, B * H, eps);
        free(c.hs); free(c.xg); free(c.hg); free(c.gates); free(c.x); free(c.Wih); free(c.Whh); free(c.bih); free(c.bhh);
        free(c.scr); free(c.hl); free(g); free(dx); free(dWih); free(dWhh); free(dbih); free(dbhh);
    }
    { /* Caser horizontal conv, height 2 */
        int B = 2, L = 4, C = 3, h = 2, NF = 3, P = L - h + 1;
        HcCtx c = {xmalloc(sizeof(float) * B * NF), xmalloc(sizeof(float) * B * P * h * C), xmalloc(sizeof(float) * B * P * NF),
                   randv(&r, B * L * C, 1), randv(&r, NF * h * C, 1), randv(&r, NF, 1), xmalloc(sizeof(int) * B * NF), B, L, C, h, NF};
        float *g = randv(&r, B * NF, 1), *dX = xcalloc(B * L * C, 4), *dW = xcalloc(NF * h * C, 4), *db = xcalloc(NF, 4);
        float *scr = xmalloc(sizeof(float) * B * P * (NF + 2 * h * C));
        hc_run(&c); sr_caser_hconv_backward(dX, dW, db, g, NF, c.X, c.act, c.arg, c.W, B, L, C, h, NF, scr);
        fd_check("caser_h", "X", c.X, dX, B * L * C, hc_run, &c, c.out, g, B * NF, eps);
        fd_check("caser_h", "weight", c.W, dW, NF * h * C, hc_run, &c, c.out, g, B * NF, eps);
        fd_check("caser_h", "bias", c.b, db, NF, hc_run, &c, c.out, g, B * NF, eps);
        free(c.out); free(c.unf); free(c.act); free(c.X); free(c.W); free(c.b); free(c.arg); free(g); free(dX); free(dW); free(db); free(scr);
    }
    { /* Caser vertical conv */
        int B = 2, L = 4, C = 3, NV = 2;
        VcCtx c = {xmalloc(sizeof(float) * B * NV * C), randv(&r, B * L * C, 1), randv(&r, NV * L, 1), randv(&r, NV, 1), B, L, C, NV};
        float *g = randv(&r, B * NV * C, 1), *dX = xcalloc(B * L * C, 4), *dW = xcalloc(NV * L, 4), *db = xcalloc(NV, 4);
        vc_run(&c); sr_caser_vconv_backward(dX, dW, db, g, NV * C, c.X, c.W, B, L, C, NV);
        fd_check("caser_v", "X", c.X, dX, B * L * C, vc_run, &c, c.out, g, B * NV * C, eps);
        fd_check("caser_v", "weight", c.W, dW, NV * L, vc_run, &c, c.out, g, B * NV * C, eps);
        fd_check("caser_v", "bias", c.b, db, NV, vc_run, &c, c.out, g, B * NV * C, eps);
        free(c.out); free(c.X); free(c.W); free(c.b); free(g); free(dX); free(dW); free(db);
    }
    { /* softmax CE over N items with tied E */
        int B = 3, N = 7, C = 4, tg[3] = {0, 6, 3};
        float loss, one = 1;
        CeCtx c = {xmalloc(sizeof(float) * B * N), randv(&r, B * C, 1), randv(&r, N * C, 1), &loss, tg, B, N, C};
        float *dh = xcalloc(B * C, 4), *dE = xcalloc(N * C, 4);
        ce_run(&c); sr_softmax_ce_backward(dh, dE, c.probs, c.h, c.E, tg, B, N, C);
        fd_check("softmax_ce", "h", c.h, dh, B * C, ce_run, &c, &loss, &one, 1, eps);
        fd_check("softmax_ce", "E", c.E, dE, N * C, ce_run, &c, &loss, &one, 1, eps);
        free(c.probs); free(c.h); free(c.E); free(dh); free(dE);
    }
}

static void gradcheck_model(int kind) {
    SrConfig c = tiny_config(kind);
    SeqRec *m = seqrec_new(&c, TINY_B, 3);
    tiny_perturb(m);
    int L = c.max_len, items[TINY_B * 5], len[TINY_B], tg[TINY_B];
    tiny_batch(c.n_items, L, items, len, tg);
    seqrec_zero_grad(m);
    seqrec_step(m, items, len, tg, TINY_B, 1, 1);
    const SrParam *tab; int nt = seqrec_param_table(m, &tab);
    float *P = seqrec_params(m), *G = seqrec_grads(m);
    float eps = 1e-2f;   /* float32 loss: smaller steps drown in rounding */
    for (int t = 0; t < nt; t++) {
        size_t n = tab[t].numel;
        if (t == 0) n -= c.hidden;   /* the padding row is not a parameter */
        double *a = xmalloc(sizeof(double) * n), *num = xmalloc(sizeof(double) * n);
        for (size_t i = 0; i < n; i++) {
            float *x = P + tab[t].off + i, keep = *x;
            *x = keep + eps; double fp = seqrec_step(m, items, len, tg, TINY_B, 1, 0);
            *x = keep - eps; double fm = seqrec_step(m, items, len, tg, TINY_B, 1, 0);
            *x = keep;
            num[i] = (fp - fm) / (2.0 * eps);
            a[i] = G[tab[t].off + i];
        }
        gc_report(seqrec_kind_name(kind), tab[t].name, relerr(a, num, n), 2e-2);
        free(a); free(num);
    }
    seqrec_free(m);
}

static void put_floats(FILE *f, const float *x, size_t n) {
    fputc('[', f);
    for (size_t i = 0; i < n; i++) fprintf(f, i ? ", %.9g" : "%.9g", x[i]);
    fputc(']', f);
}

static void parity_dump(int kind, const char *path) {
    SrConfig c = tiny_config(kind);
    SeqRec *m = seqrec_new(&c, TINY_B, 11);
    tiny_perturb(m);
    int L = c.max_len, items[TINY_B * 5], len[TINY_B], tg[TINY_B];
    tiny_batch(c.n_items, L, items, len, tg);
    seqrec_zero_grad(m);
    float loss = seqrec_step(m, items, len, tg, TINY_B, 1, 1);
    const SrParam *tab; int nt = seqrec_param_table(m, &tab);
    OutFile o = out_open(path);
    atomic_cleanup_register(&o);
    FILE *f = o.f;
    fprintf(f, "{\"model\": \"%s\", \"config\": {\"n_items\": %d, \"hidden\": %d, \"max_len\": %d, \"layers\": %d, "
               "\"heads\": %d, \"ffn\": %d, \"gru_hidden\": %d, \"nh\": %d, \"nv\": %d, \"ln_eps\": %g},\n",
            seqrec_kind_name(kind), c.n_items, c.hidden, c.max_len, c.layers, c.heads, c.ffn, c.gru_hidden, c.nh, c.nv, (double)SR_LN_EPS);
    fputs("\"items\": [", f);
    for (int i = 0; i < TINY_B * L; i++) fprintf(f, i ? ", %d" : "%d", items[i]);
    fputs("], \"len\": [", f);
    for (int i = 0; i < TINY_B; i++) fprintf(f, i ? ", %d" : "%d", len[i]);
    fputs("], \"target\": [", f);
    for (int i = 0; i < TINY_B; i++) fprintf(f, i ? ", %d" : "%d", tg[i]);
    fprintf(f, "], \"loss\": %.9g,\n\"params\": {", loss);
    for (int t = 0; t < nt; t++) {
        fprintf(f, "%s\n\"%s\": {\"shape\": [%d", t ? "," : "", tab[t].name, tab[t].shape[0]);
        if (tab[t].ndim == 2) fprintf(f, ", %d", tab[t].shape[1]);
        fputs("], \"data\": ", f);
        put_floats(f, seqrec_params(m) + tab[t].off, tab[t].numel);
        fputs(", \"grad\": ", f);
        put_floats(f, seqrec_grads(m) + tab[t].off, tab[t].numel);
        fputc('}', f);
    }
    fputs("}}\n", f);
    out_commit(&o);
    seqrec_free(m);
}

/* ---------------- main ---------------- */
static char *path_in(const char *dir, const char *name) {
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

int main(int argc, char **argv) {
    /* Idle OpenMP workers spin by default; on a shared machine the spinning threads take
     * the cores the other workers need (measured 6x slower with 2 threads under load).
     * The policy is read when libgomp loads, so set it and re-execute once. */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);   /* on failure just continue with the default */
    }
    util_init(argc, argv);
    int kind = -1, gradcheck = 0;
    const char *config = NULL, *parity = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) usage(0);
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            kind = seqrec_kind_parse(argv[++i]);
            if (kind < 0) die(EXIT_USAGE, "--model: expected sasrec, gru4rec or caser, got '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--gradcheck")) gradcheck = 1;
    }
    if (gradcheck) {
        gradcheck_layers();
        for (int k = 0; k < 3; k++) if (kind < 0 || kind == k) gradcheck_model(k);
        printf("gradcheck: %s\n", g_gc_fail ? "FAILED" : "all ok");
        return g_gc_fail ? EXIT_DATA : 0;
    }
    if (kind < 0) { fprintf(stderr, "%s: --model is required\n", g_prog); usage(EXIT_USAGE); }
    Opts o;
    defaults(&o, kind);
    if (config) load_config(&o, config);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet") || !strcmp(a, "--gradcheck")) continue;
        if (!strcmp(a, "--exclude-history")) { o.exclude_history = 1; continue; }
        if (!strcmp(a, "--exclude-seen")) { o.exclude_seen = 1; continue; }
        if (strncmp(a, "--", 2) || i + 1 >= argc) { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
        const char *k = a + 2, *v = argv[++i];
        if (!strcmp(k, "model") || !strcmp(k, "config")) continue;
        else if (!strcmp(k, "data")) o.data = v;
        else if (!strcmp(k, "train")) o.train = v;
        else if (!strcmp(k, "valid")) o.valid = v;
        else if (!strcmp(k, "test")) o.test = v;
        else if (!strcmp(k, "items")) o.items = v;
        else if (!strcmp(k, "out")) o.out = v;
        else if (!strcmp(k, "valid-out")) o.valid_out = v;
        else if (!strcmp(k, "report")) o.report = v;
        else if (!strcmp(k, "init-emb")) o.init_emb = v;
        else if (!strcmp(k, "init-emb-key")) o.init_emb_key = v;
        else if (!strcmp(k, "init-emb-dims")) {
            int d[2];
            if (parse_int_list(v, d, 2, "--init-emb-dims") != 2) die(EXIT_USAGE, "--init-emb-dims: expected N,DIM");
            o.init_n = d[0]; o.init_d = d[1];
        } else if (!strcmp(k, "parity-dump")) parity = v;
        else if (!strcmp(k, "dump-init")) o.dump_init = v;
        else if (!set_opt(&o, k, v, "--")) { fprintf(stderr, "%s: unknown option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
#ifdef _OPENMP
    if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
    if (o.threads > 0) openblas_set_num_threads(o.threads);
    if (parity) { parity_dump(kind, parity); return 0; }

    char *owned[4] = {0};
    if (o.data) {
        if (!o.train) o.train = owned[0] = path_in(o.data, "train.jsonl");
        if (!o.valid) o.valid = owned[1] = path_in(o.data, "valid.jsonl");
        if (!o.test) o.test = owned[2] = path_in(o.data, "test.jsonl");
        if (!o.items) o.items = owned[3] = path_in(o.data, "items.jsonl");
    }
    if (!o.train || !o.test || !o.items) die(EXIT_USAGE, "need --data DIR or --train, --test and --items (--valid for early stopping)");

    Catalogue *cat = catalogue_load(o.items);
    int N = cat->n, L = o.mc.max_len;
    o.mc.n_items = N;
    Data tr, va = {0}, te;
    StrMap users; strmap_init(&users, 1024);
    SampleSet *s = samples_load(o.train, cat, SAMPLES_RESOLVE);
    data_from(&tr, s, L, N, &users); samples_free(s);
    if (o.valid) { s = samples_load(o.valid, cat, SAMPLES_RESOLVE); data_from(&va, s, L, N, &users); samples_free(s); }
    s = samples_load(o.test, cat, SAMPLES_RESOLVE);
    data_from(&te, s, L, N, &users); samples_free(s);
    int nu = (int)users.n;
    strmap_free(&users);
    /* RecBole's mask: valid ranks without the user's train items, test without train+valid */
    const Data *before_valid[1] = {&tr}, *before_test[2] = {&tr, &va};
    Seen seen_va = seen_build(before_valid, 1, nu), seen_te = seen_build(before_test, o.valid ? 2 : 1, nu);
    if (tr.n == 0) die(EXIT_DATA, "%s: no training samples", o.train);
    info("%s: %d items, train %d, valid %d, test %d samples, history <= %d", seqrec_kind_name(kind), N, tr.n, va.n, te.n, L);

    int maxB = o.batch > o.eval_batch ? o.batch : o.eval_batch;
    SeqRec *m = seqrec_new(&o.mc, maxB, o.seed);
    if (o.init_emb) init_from_llm(m, &o);
    if (o.dump_init) {   /* the initial item embeddings (N, hidden) as raw float32, for tests */
        OutFile d = out_open(o.dump_init);
        atomic_cleanup_register(&d);
        if (fwrite(seqrec_item_emb(m), sizeof(float) * o.mc.hidden, N, d.f) != (size_t)N) die(EXIT_IO, "%s: write error", o.dump_init);
        out_commit(&d);
    }
    size_t np = seqrec_num_params(m);
    info("%zu parameters; dropout %g, lr %g, batch %d", np, o.mc.dropout, o.lr, o.batch);

    /* ---- training ---- */
    Rng rng; rng_seed(&rng, o.seed * 2654435761ULL + 1);
    int *perm = xmalloc(sizeof(int) * tr.n), pos = tr.n;
    for (int i = 0; i < tr.n; i++) perm[i] = i;
    int per_epoch = o.epoch_samples > 0 && o.epoch_samples < tr.n ? o.epoch_samples : tr.n;
    int *bi = xmalloc(sizeof(int) * o.batch * L), *bl = xmalloc(sizeof(int) * o.batch), *bt = xmalloc(sizeof(int) * o.batch);
    float *best = xmalloc(sizeof(float) * np);
    memcpy(best, seqrec_params(m), sizeof(float) * np);
    double best_nd = -1, train_secs = 0;
    int best_epoch = 0, bad = 0, epochs_run = 0, stopped_by_time = 0;
    double t_start = now_s();
    char *hist_json = xcalloc(1, 1); size_t hj = 0;
    for (int ep = 1; ep <= o.epochs; ep++) {
        double t0 = now_s(), lsum = 0;
        long nb = 0;
        Progress pr; char label[32]; snprintf(label, sizeof label, "epoch %d", ep);
        progress_start(&pr, label, per_epoch);
        for (int done = 0; done < per_epoch;) {
            int B = per_epoch - done < o.batch ? per_epoch - done : o.batch;
            for (int b = 0; b < B; b++) {
                if (pos >= tr.n) {   /* reshuffle: Fisher-Yates */
                    for (int i = tr.n - 1; i > 0; i--) { int j = (int)rng_below(&rng, (uint32_t)i + 1), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
                    pos = 0;
                }
                int i = perm[pos++];
                memcpy(bi + (size_t)b * L, tr.items + (size_t)i * L, sizeof(int) * L);
                bl[b] = tr.len[i]; bt[b] = tr.target[i];
            }
            seqrec_zero_grad(m);
            float loss = seqrec_step(m, bi, bl, bt, B, 1, 1);
            if (!isfinite(loss)) die(EXIT_DATA, "seqrec: training diverged (loss %g at epoch %d); lower --lr", loss, ep);
            seqrec_adam(m, o.lr, o.beta1, o.beta2, o.adam_eps, o.wd);
            lsum += loss; nb++; done += B;
            progress_update(&pr, done);
        }
        progress_end(&pr);
        double te_s = now_s() - t0;
        train_secs += te_s;
        epochs_run = ep;
        Metrics vm = {0};
        if (va.n) vm = evaluate(m, &va, o.eval_batch, o.exclude_history, o.exclude_seen ? &seen_va : NULL, 0, NULL, NULL);
        info("epoch %d: loss %.4f  valid HR@10 %.4f NDCG@10 %.4f  (%.1f s)", ep, lsum / nb, vm.hr10, vm.nd10, te_s);
        char line[256];
        int k = snprintf(line, sizeof line, "%s{\"epoch\": %d, \"loss\": %.6f, \"valid_HR@10\": %.6f, \"valid_NDCG@10\": %.6f, \"s\": %.3f}",
                         hj ? ", " : "", ep, lsum / nb, vm.hr10, vm.nd10, te_s);
        hist_json = xrealloc(hist_json, hj + k + 1); memcpy(hist_json + hj, line, k + 1); hj += k;
        if (!va.n || vm.nd10 > best_nd) {
            best_nd = vm.nd10; best_epoch = ep; bad = 0;
            memcpy(best, seqrec_params(m), sizeof(float) * np);
        } else if (++bad >= o.patience) {
            info("early stop: no better valid NDCG@10 for %d epochs; best epoch %d (%.4f)", bad, best_epoch, best_nd);
            break;
        }
        if (o.max_minutes > 0 && now_s() - t_start > 60.0 * o.max_minutes) {
            info("time limit: %.1f min after epoch %d; best epoch %d (%.4f)", (now_s() - t_start) / 60, ep, best_epoch, best_nd);
            stopped_by_time = 1;
            break;
        }
    }
    memcpy(seqrec_params(m), best, sizeof(float) * np);

    /* ---- ranking ---- */
    int *top = xmalloc(sizeof(int) * (size_t)(te.n > va.n ? te.n : va.n) * o.topn + 1);
    if (o.valid_out && va.n) {
        evaluate(m, &va, o.eval_batch, o.exclude_history, o.exclude_seen ? &seen_va : NULL, o.topn, top, NULL);
        write_ranked(o.valid_out, &va, top, o.topn);
    }
    double rank_s = 0;
    Metrics tm = evaluate(m, &te, o.eval_batch, o.exclude_history, o.exclude_seen ? &seen_te : NULL, o.topn, top, &rank_s);
    /* the other protocol too, for comparisons with published full-ranking numbers */
    Metrics tm2 = evaluate(m, &te, o.eval_batch, o.exclude_history, o.exclude_seen ? NULL : &seen_te, 0, NULL, NULL);
    write_ranked(o.out, &te, top, o.topn);
    info("test (by item id): HR@5 %.4f NDCG@5 %.4f HR@10 %.4f NDCG@10 %.4f (%d samples, %.0f ranked/s)",
         tm.hr5, tm.nd5, tm.hr10, tm.nd10, tm.n, rank_s > 0 ? tm.n / rank_s : 0);
    if (o.report) {
        OutFile r = out_open(o.report);
        atomic_cleanup_register(&r);
        fprintf(r.f, "{\"model\": \"%s\", \"init_emb\": %s, \"items\": %d, \"train\": %d, \"valid\": %d, \"test\": %d, "
                     "\"params\": %zu, \"epochs_run\": %d, \"stopped_by_time\": %s, \"best_epoch\": %d, \"valid_NDCG@10\": %.6f, "
                     "\"test\": {\"n\": %d, \"HR@5\": %.6f, \"NDCG@5\": %.6f, \"HR@10\": %.6f, \"NDCG@10\": %.6f}, "
                     "\"test_%s\": {\"HR@5\": %.6f, \"NDCG@5\": %.6f, \"HR@10\": %.6f, \"NDCG@10\": %.6f}, "
                     "\"samples_per_epoch\": %d, \"s_per_epoch\": %.3f, \"rank_per_s\": %.1f, \"epochs\": [%s]}\n",
                seqrec_kind_name(kind), o.init_emb ? "true" : "false", N, tr.n, va.n, te.n, np, epochs_run, stopped_by_time ? "true" : "false", best_epoch,
                best_nd, tm.n, tm.hr5, tm.nd5, tm.hr10, tm.nd10,
                o.exclude_seen ? "unmasked" : "exclude_seen", tm2.hr5, tm2.nd5, tm2.hr10, tm2.nd10, per_epoch, epochs_run ? train_secs / epochs_run : 0,
                rank_s > 0 ? tm.n / rank_s : 0, hist_json);
        out_commit(&r);
    }
    free(top); free(best); free(perm); free(bi); free(bl); free(bt); free(hist_json);
    data_free(&tr); data_free(&te); if (o.valid) data_free(&va);
    seen_free(&seen_va); seen_free(&seen_te);
    seqrec_free(m); catalogue_free(cat);
    for (int i = 0; i < 4; i++) free(owned[i]);
    return 0;
}
