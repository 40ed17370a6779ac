/* cft-step: the CFT trainer (Counterfactual Fine-Tuning, Sec. 3.2 / Algorithm 1) and the
 * plain causal-LM trainer of the in-project base model, over model.h (CPU reference path).
 *
 * Objective rec (default), per prompt record {prompt, response, cf_prompt}:
 *   normal sequence         x_h ++ y   = enc(prompt)    ++ enc(response) ++ [EOS]
 *   counterfactual sequence x_0 ++ y   = enc(cf_prompt) ++ enc(response) ++ [EOS]
 *   labels only on the |y| response tokens (EOS included). Token weights (Eq. 5)
 *   omega_t = 1 - (1-beta)(t-1)/(|y|-1) (1 when |y| = 1), normalised by Omega = sum of omega
 *   over the EFFECTIVE batch (the whole batch is tokenised before its micro-batches run, so
 *   gradient accumulation is exact):
 *     L_c = sum omega_t CE(f(x_h,y<t) - f(x_0,y<t); y_t) / Omega                    (Eq. 4)
 *     L_n = sum omega_t CE(f(x_h,y<t); y_t) / Omega  (authors' code; --no-weight-normal:
 *           sum CE / number of response tokens in the effective batch)            (Eq. 1)
 *     L   = L_n + lambda L_c                                                         (Eq. 3)
 *   lambda 0 skips the counterfactual pass entirely (BIGRec cost).
 * Objective lm: each text line -> enc(line) ++ [EOS], one row per line (right-padded),
 *   next-token CE averaged over the tokens of a micro-batch and the micro-batches averaged
 *   (as the HF Trainer does with gradient accumulation).
 *
 * Training loop (the authors' HF-Trainer setup): AdamW (lr 1e-4, betas 0.9/0.999, eps 1e-8,
 * decoupled weight decay), effective batch --batch (64) as micro-batches + accumulation,
 * linear warm-up over --warmup (20) steps then linear decay to 0 at the planned last step
 * (HF get_linear_schedule_with_warmup: the lr of optimizer step s (1-based) is
 * lr * f(s-1)), grad-norm clip 1.0, --epochs cap, validation L_n after every epoch (never
 * L_c; weighted like the training L_n: omega/Omega over the whole validation file, or the
 * token mean with --no-weight-normal), best checkpoint kept in --out, early stop when the
 * validation loss fails to improve for --patience (1) epochs.
 *
 * Determinism and resume. The epoch's sample order is a function of (seed, epoch), the
 * dropout masks of (seed, step, micro-batch), the lr of the step: the whole run is a
 * function of (seed, thread count, data, flags). A resumable state (weights, AdamW moments,
 * step, epoch, position, best validation loss) is written every --save-every steps and at
 * each epoch end to --state (default OUT.state), atomically; --resume STATE continues
 * bitwise-identically, even after a SIGKILL.
 *
 * History-side truncation (--max-len): when prompt+response exceeds it, tokens are dropped
 * from the START of the behaviour sequence -- the oldest history, right after the
 * instruction prefix the prompt shares with cf_prompt -- never from the instruction head,
 * the end of the prompt or the response. */
#include "ckpt.h"
#include "model.h"
#include "tok.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: cft-step --train FILE [--valid FILE] (--init DIR | --config FILE --tokenizer M)\n"
"                --out DIR [options]          train (objective rec: prompt records)\n"
"       cft-step --eval FILE --init DIR [...]  print L_n, L_c of a checkpoint as JSON\n"
"  --objective rec|lm   rec (default): CFT on prompt records; lm: causal LM on text lines\n"
"  --lambda X           causal-loss weight (0.1; 0 = no counterfactual pass)\n"
"  --beta X | --beta-prime X   last-token weight beta (0.25), or beta = 1 - 1/beta'\n"
"  --no-weight-normal   L_n unweighted (token mean) instead of omega/Omega\n"
"  --lr 1e-4 --weight-decay 0 --adam-beta1 0.9 --adam-beta2 0.999 --adam-eps 1e-8\n"
"  --warmup 20 --clip 1.0 --batch 64 --micro-batch 16 --epochs 3 --patience 1\n"
"  --max-samples N      use the first N training records\n"
"  --max-len N          (1024) longer records lose their OLDEST history tokens (right after\n"
"                       the instruction prefix shared with cf_prompt), never the response\n"
"  --dropout P          residual-branch dropout while training (0.05, as the paper)\n"
"  --freeze-layers N    (0) train only layers N.. and the final norm (and an untied lm_head):\n"
"                       the token embedding and layers 0..N-1 stay bitwise at their --init\n"
"                       values (a tied lm_head is the embedding: frozen too when N > 0); the\n"
"                       backward stops at layer N, AdamW skips the frozen weights (less time\n"
"                       and memory on a small machine)\n"
"  --seed N (42) --threads N (all cores)\n"
"  --device cpu|cuda    (cpu) cuda: the model's CUDA twin on GPU 0 (fails in one line without\n"
"                       one); --precision tf32|fp32|bf16 (tf32) for its GEMMs (bf16: the\n"
"                       layers' GEMMs on bf16 copies of the fp32 weights and activations,\n"
"                       fp32 accumulation, the head in TF32); --attention plain|fused\n"
"                       (plain): fused keeps no attention probabilities (FlashAttention-2's\n"
"                       schedule). The CUDA path has not yet run on a GPU (README, Limits)\n"
"  --save-every N       resumable state every N steps (and each epoch end) to --state DIR\n"
"                       (default OUT.state); --resume DIR continues a killed run exactly;\n"
"                       --auto-resume: resume from the state dir when it exists\n"
"  --log FILE           one JSON line per step (--log-every N) and per validation\n"
"  --tokenizer FILE     tokenizer.model or tokenizer.json (default: the --init checkpoint's)\n"
"  --per-sample FILE    (--eval) one JSON line per record: id, L_n, L_c (own Omega);\n"
"                       --dump-logits F: their response-position logits, raw f32 (tests)\n"
"  --effect FILE        (--eval, instead of the losses) CFT's premises per response position\n"
"                       and per title token: KL(p(.|x_h) || p(.|x_0)), |delta logit| and\n"
"                       |delta log p| of the target, argmax accuracy with / without the history\n"
"                       and given the response prefix alone (footnote 3); JSON (docs/FORMATS.md)\n"
"  -q                   no progress bar / info on stderr\n"
"Each epoch: validation L_n (never L_c; weighted like training), best checkpoint kept in\n"
"--out DIR (config.json, model.safetensors, the tokenizer), early stop on no improvement.\n");
    exit(code);
}

/* ------------------------------------------------------------------ options */
typedef struct {
    const char *train, *valid, *init, *config, *out, *tokenizer, *state, *resume, *log, *eval, *per_sample, *dump_logits, *effect;
    const char *objective, *device, *precision, *attention;
    double lambda, beta, lr, wd, b1, b2, eps, clip, dropout;
    int weight_normal, warmup, batch, micro, epochs, patience, max_len, threads, save_every, log_every, freeze;
    long max_samples;
    uint64_t seed;
} Opt;

static double num_arg(const char *flag, const char *s, double lo, double hi) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e || !(v >= lo && v <= hi)) die(EXIT_USAGE, "%s: expected a number in [%g, %g], got '%s'", flag, lo, hi, s);
    return v;
}
static long int_arg(const char *flag, const char *s, long lo, long hi) {
    char *e;
    long long v = strtoll(s, &e, 10);
    if (e == s || *e || v < lo || v > hi) die(EXIT_USAGE, "%s: expected an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
    return (long)v;
}

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ data */
typedef struct {
    long long id;
    int *tok, n, P;        /* normal: prompt (P tokens) ++ response (n - P tokens) */
    int *cf, nc, Pc;       /* counterfactual: cf prompt ++ response (nc == 0: none) */
} Rec;
typedef struct { Rec *r; int n, no_cf; uint64_t fingerprint; long long tokens; const char *path; } Data;

static int *concat(const int *a, int na, const int *b, int nb, int eos, int *n) {
    int *o = xmalloc(sizeof(int) * (size_t)(na + nb + 1));
    memcpy(o, a, sizeof(int) * (size_t)na);
    if (nb) memcpy(o + na, b, sizeof(int) * (size_t)nb);
    o[na + nb] = eos;
    *n = na + nb + 1;
    return o;
}

static uint64_t fnv(uint64_t h, const int *x, int n) {
    for (int i = 0; i < n; i++) { h ^= (uint32_t)x[i]; h *= 0x100000001b3ULL; }
    return h;
}

/* rec: prompt records -> token sequences (see the header for the layout and truncation).
 * cf: 2 = cf_prompt required, 1 = used when present (truncation still finds the history). */
static Data load_rec(const char *path, const Tok *sp, int eos, int cf, int max_len, long max_n) {
    Data d = {0};
    d.path = path;
    d.fingerprint = 0xcbf29ce484222325ULL;
    int cap = 0;
    long truncated = 0;
    LineReader *lr = lr_open(path);
    for (char *ln; (max_n < 0 || d.n < max_n) && (ln = lr_next(lr, NULL));) {
        Where w = {lr_name(lr), lr_lineno(lr)};
        if (!*ln) die(EXIT_DATA, "%s:%ld: empty line", w.file, w.line);
        cJSON *o = json_parse_line(ln, w);
        Rec r = {0};
        r.id = json_int(o, "id", w);
        int *p, *y, *c = NULL;
        int np = tok_encode_at(sp, json_str(o, "prompt", w), &p, w, "prompt");
        int ny = tok_encode_at(sp, json_str(o, "response", w), &y, w, "response");
        int ncp = 0;
        if (np == 0) die(EXIT_DATA, "%s:%ld: prompt: empty (the first response token needs a context)", w.file, w.line);
        const cJSON *cfv = cJSON_GetObjectItemCaseSensitive(o, "cf_prompt");
        if (cf == 2 || (cf == 1 && cfv && !cJSON_IsNull(cfv))) {
            ncp = tok_encode_at(sp, json_str(o, "cf_prompt", w), &c, w, "cf_prompt");
            if (ncp == 0) die(EXIT_DATA, "%s:%ld: cf_prompt: empty", w.file, w.line);
        }
        if (ny + 1 > max_len / 2)
            die(EXIT_DATA, "%s:%ld: response: %d tokens, too long for --max-len %d", w.file, w.line, ny + 1, max_len);
        if (np + ny + 1 > max_len) {
            /* drop the oldest history tokens: those right after the shared instruction prefix */
            int lcp = 0;
            while (c && lcp < np && lcp < ncp && p[lcp] == c[lcp]) lcp++;
            int k = np + ny + 1 - max_len;
            if (lcp + k > np - 1) lcp = 0;   /* no usable prefix: cut from the very start */
            if (k > np - 1) die(EXIT_DATA, "%s:%ld: prompt: cannot fit --max-len %d", w.file, w.line, max_len);
            memmove(p + lcp, p + lcp + k, sizeof(int) * (size_t)(np - lcp - k));
            np -= k;
            truncated++;
        }
        if (c && ncp + ny + 1 > max_len) die(EXIT_DATA, "%s:%ld: cf_prompt: longer than --max-len %d", w.file, w.line, max_len);
        r.tok = concat(p, np, y, ny, eos, &r.n);
        r.P = np;
        if (c) { r.cf = concat(c, ncp, y, ny, eos, &r.nc); r.Pc = ncp; }
        free(p); free(y); free(c);
        cJSON_Delete(o);
        d.fingerprint = fnv(fnv(d.fingerprint, r.tok, r.n), r.cf, r.nc);
        if (!c && !r.cf) d.no_cf++;
        d.tokens += r.n + r.nc;
        if (d.n == cap) { cap = cap ? 2 * cap : 1024; d.r = xrealloc(d.r, sizeof(Rec) * (size_t)cap); }
        d.r[d.n++] = r;
    }
    lr_close(lr);
    if (d.n == 0) die(EXIT_DATA, "%s: no records", path);
    if (truncated) info("%s: %ld records truncated to --max-len %d (oldest history tokens dropped)", path, truncated, max_len);
    return d;
}

/* lm: text lines -> enc(line) ++ [EOS], truncated at max_len; lines giving < 2 tokens skipped (counted) */
static Data load_lm(const char *path, const Tok *sp, int eos, int max_len, long max_n) {
    Data d = {0};
    d.path = path;
    d.fingerprint = 0xcbf29ce484222325ULL;
    int cap = 0;
    long skipped = 0, truncated = 0;
    LineReader *lr = lr_open(path);
    for (char *ln; (max_n < 0 || d.n < max_n) && (ln = lr_next(lr, NULL));) {
        Where w = {lr_name(lr), lr_lineno(lr)};
        int *x, nx = tok_encode_at(sp, ln, &x, w, "text");
        if (nx == 0) { skipped++; free(x); continue; }
        if (nx + 1 > max_len) { nx = max_len - 1; truncated++; }
        Rec r = {0};
        r.id = lr_lineno(lr);
        r.tok = concat(x, nx, NULL, 0, eos, &r.n);
        free(x);
        d.fingerprint = fnv(d.fingerprint, r.tok, r.n);
        d.tokens += r.n;
        if (d.n == cap) { cap = cap ? 2 * cap : 1024; d.r = xrealloc(d.r, sizeof(Rec) * (size_t)cap); }
        d.r[d.n++] = r;
    }
    lr_close(lr);
    if (skipped) info("%s: %ld empty lines skipped", path, skipped);
    if (truncated) info("%s: %ld lines truncated to --max-len %d", path, truncated, max_len);
    if (d.n == 0) die(EXIT_DATA, "%s: no non-empty lines", path);
    return d;
}

static void data_free(Data *d) {
    for (int i = 0; i < d->n; i++) { free(d->r[i].tok); free(d->r[i].cf); }
    free(d->r);
}

/* ------------------------------------------------------------------ batches */
typedef struct {
    size_t cap_t, cap_c, cap_r, cap_b;
    int *tokens, *lengths, *cf_tokens, *cf_lengths, *resp_pos, *cf_resp_pos, *resp_label;
    float *nw, *cw;
} Bufs;

/* grow the micro-batch buffers to B rows, T normal / Tc counterfactual columns, R responses */
static void bufs_reserve(Bufs *bf, int B, int T, int Tc, int R) {
    size_t nt = (size_t)B * T + 1, nc = (size_t)B * Tc + 1, nr = (size_t)B * R + 1, nb = (size_t)B + 1;
    if (nt > bf->cap_t) { bf->cap_t = nt; bf->tokens = xrealloc(bf->tokens, sizeof(int) * nt); }
    if (nc > bf->cap_c) { bf->cap_c = nc; bf->cf_tokens = xrealloc(bf->cf_tokens, sizeof(int) * nc); }
    if (nr > bf->cap_r) {
        bf->cap_r = nr;
        bf->resp_pos = xrealloc(bf->resp_pos, sizeof(int) * nr);
        bf->cf_resp_pos = xrealloc(bf->cf_resp_pos, sizeof(int) * nr);
        bf->resp_label = xrealloc(bf->resp_label, sizeof(int) * nr);
        bf->nw = xrealloc(bf->nw, sizeof(float) * nr);
        bf->cw = xrealloc(bf->cw, sizeof(float) * nr);
    }
    if (nb > bf->cap_b) {
        bf->cap_b = nb;
        bf->lengths = xrealloc(bf->lengths, sizeof(int) * nb);
        bf->cf_lengths = xrealloc(bf->cf_lengths, sizeof(int) * nb);
    }
}
static void bufs_free(Bufs *bf) {
    free(bf->tokens); free(bf->lengths); free(bf->cf_tokens); free(bf->cf_lengths);
    free(bf->resp_pos); free(bf->cf_resp_pos); free(bf->resp_label); free(bf->nw); free(bf->cw);
}

/* token weight omega_t (Eq. 5), t = 1..ny */
static double token_weight(int t, int ny, double beta) {
    return ny <= 1 ? 1.0 : 1.0 - (1.0 - beta) * (double)(t - 1) / (double)(ny - 1);
}

/* Run micro-batch idx[0..B) of the rec objective. nscale/cscale: per-token weight
 * multipliers (1/Omega, or 1/Ntok for the unweighted L_n); use_cf: run the cf pass. */
static float rec_micro(Model *m, Bufs *bf, const Data *d, const int *idx, int B, double beta, int weight_normal,
                       double nscale, double cscale, int use_cf, float lambda, int train, double *Ln, double *Lc,
                       long long *ntok, int pad) {
    int T = 0, Tc = 0, R = 0;
    for (int b = 0; b < B; b++) {
        const Rec *r = &d->r[idx[b]];
        if (r->n - 1 > T) T = r->n - 1;        /* the last response token is only a label */
        if (use_cf && r->nc - 1 > Tc) Tc = r->nc - 1;
        if (r->n - r->P > R) R = r->n - r->P;
    }
    bufs_reserve(bf, B, T, use_cf ? Tc : 0, R);
    long long nt = 0;
    for (int b = 0; b < B; b++) {
        const Rec *r = &d->r[idx[b]];
        int ny = r->n - r->P;
        for (int t = 0; t < T; t++) bf->tokens[b * T + t] = t < r->n - 1 ? r->tok[t] : pad;
        bf->lengths[b] = r->n - 1;
        nt += r->n - 1;
        if (use_cf) {
            for (int t = 0; t < Tc; t++) bf->cf_tokens[b * Tc + t] = t < r->nc - 1 ? r->cf[t] : pad;
            bf->cf_lengths[b] = r->nc - 1;
            nt += r->nc - 1;
        }
        for (int k = 0; k < R; k++) {
            int j = b * R + k;
            if (k < ny) {
                double w = token_weight(k + 1, ny, beta);
                bf->resp_pos[j] = r->P + k - 1;
                bf->cf_resp_pos[j] = use_cf ? r->Pc + k - 1 : -1;
                bf->resp_label[j] = r->tok[r->P + k];
                bf->nw[j] = (float)((weight_normal ? w : 1.0) * nscale);
                bf->cw[j] = (float)(w * cscale);
            } else {
                bf->resp_pos[j] = bf->cf_resp_pos[j] = -1;
                bf->resp_label[j] = 0;
                bf->nw[j] = bf->cw[j] = 0;
            }
        }
    }
    CftBatch cb = {B, T, use_cf ? Tc : 0, R, bf->tokens, bf->lengths, bf->cf_tokens, bf->cf_lengths,
                   bf->resp_pos, bf->cf_resp_pos, bf->resp_label, bf->nw, bf->cw};
    float ln = 0, lc = 0;
    float loss = model_cft_step(m, &cb, lambda, train, &ln, &lc);
    *Ln += ln;
    *Lc += lc;
    if (ntok) *ntok += nt;
    return loss;
}

/* lm micro-batch: rows idx[0..B); returns the token-mean CE, *count = predicted tokens */
static float lm_micro(Model *m, Bufs *bf, const Data *d, const int *idx, int B, int train, long long *count,
                      long long *ntok, int pad) {
    int T = 0;
    for (int b = 0; b < B; b++) if (d->r[idx[b]].n > T) T = d->r[idx[b]].n;
    bufs_reserve(bf, B, T, 0, 0);
    long long c = 0;
    for (int b = 0; b < B; b++) {
        const Rec *r = &d->r[idx[b]];
        for (int t = 0; t < T; t++) bf->tokens[b * T + t] = t < r->n ? r->tok[t] : pad;
        bf->lengths[b] = r->n;
        c += r->n - 1;
        if (ntok) *ntok += r->n;
    }
    *count = c;
    return model_lm_step(m, B, T, bf->tokens, bf->lengths, train);
}

/* Whole-file loss without gradients (validation and --eval). rec: L_n and L_c weighted over
 * the whole file (Omega = total weight). lm: token-mean CE (Lc = 0). */
static void evaluate(Model *m, Bufs *bf, const Data *d, int lm, int micro, double beta, int weight_normal,
                     int use_cf, double *Ln, double *Lc, int pad) {
    *Ln = *Lc = 0;
    int *idx = xmalloc(sizeof(int) * (size_t)micro);
    if (lm) {
        double s = 0; long long tot = 0;
        for (int i = 0; i < d->n; i += micro) {
            int B = d->n - i < micro ? d->n - i : micro;
            for (int b = 0; b < B; b++) idx[b] = i + b;
            long long c;
            float l = lm_micro(m, bf, d, idx, B, 0, &c, NULL, pad);
            s += (double)l * c; tot += c;
        }
        *Ln = tot ? s / tot : 0;
    } else {
        double omega = 0; long long ntok = 0;
        for (int i = 0; i < d->n; i++) {
            int ny = d->r[i].n - d->r[i].P;
            for (int t = 1; t <= ny; t++) omega += token_weight(t, ny, beta);
            ntok += ny;
        }
        double nscale = weight_normal ? 1.0 / omega : 1.0 / (double)ntok;
        for (int i = 0; i < d->n; i += micro) {
            int B = d->n - i < micro ? d->n - i : micro;
            for (int b = 0; b < B; b++) idx[b] = i + b;
            rec_micro(m, bf, d, idx, B, beta, weight_normal, nscale, 1.0 / omega, use_cf, 0.0f, 0, Ln, Lc, NULL, pad);
        }
    }
    free(idx);
}

/* ------------------------------------------------------------------ --effect */
/* CFT's two premises, measured (Sec. 3.2.2 and its footnote 3). For every response position t
 * of every record (t = 1..|y|, EOS included, the positions Eq. 5 weights):
 *   kl     KL(p(.|x_h,y<t) || p(.|x_0,y<t)): how much the behaviour sequence moves the whole
 *          next-token distribution (x_0 = cf_prompt);
 *   dlogit |f(x_h,y<t)[y_t] - f(x_0,y<t)[y_t]|, the target's raw logit gap (what Eq. 4 fits),
 *   dlogp  |log p(y_t|x_h,y<t) - log p(y_t|x_0,y<t)| (the same, free of the logits' offset);
 *   acc_h / acc_0  argmax == y_t with / without the history;
 *   acc_prefix     argmax == y_t given the response prefix alone, no prompt at all (footnote 3:
 *          "considering only the prefix tokens"); the opening quote is that context, so t = 1
 *          has no prefix-only prediction.
 * The same statistics by TITLE token (i = 1 the title's first token, which follows the opening
 * quote; the last one before the closing quote), so a first-vs-last comparison is not one of
 * quote tokens: the title's tokens are found by decoding response prefixes. */
typedef struct { long n, npre; double kl, dlogit, dlogp, acc_h, acc_0, acc_pre, w; } EffAcc;
typedef struct { EffAcc *pos, *title; int cap_pos, cap_title; EffAcc first, last, tfirst, tlast; long no_span; } Effect;

static EffAcc *eff_slot(EffAcc **a, int *cap, int i) {
    if (i >= *cap) {
        int nc = *cap ? *cap : 32;
        while (nc <= i) nc *= 2;
        *a = xrealloc(*a, sizeof(EffAcc) * (size_t)nc);
        memset(*a + *cap, 0, sizeof(EffAcc) * (size_t)(nc - *cap));
        *cap = nc;
    }
    return &(*a)[i];
}

/* log-softmax statistics of one row pair: KL(h || 0), log p_h(y) - log p_0(y), argmaxes */
static void eff_row(const float *zh, const float *z0, int V, int y, double *kl, double *dlogp, int *ah, int *a0) {
    float mh = zh[0], m0 = z0[0];
    int ih = 0, i0 = 0;
    for (int v = 1; v < V; v++) {
        if (zh[v] > mh) { mh = zh[v]; ih = v; }
        if (z0[v] > m0) { m0 = z0[v]; i0 = v; }
    }
    double sh = 0, s0 = 0;
    for (int v = 0; v < V; v++) { sh += exp((double)zh[v] - mh); s0 += exp((double)z0[v] - m0); }
    double lh = mh + log(sh), l0 = m0 + log(s0), k = 0;
    for (int v = 0; v < V; v++) {
        double ph = exp((double)zh[v] - lh);
        k += ph * (((double)zh[v] - lh) - ((double)z0[v] - l0));
    }
    *kl = k > 0 ? k : 0;
    *dlogp = ((double)zh[y] - lh) - ((double)z0[y] - l0);
    *ah = ih; *a0 = i0;
}

static void eff_add(EffAcc *a, double kl, double dlogit, double dlogp, int ok_h, int ok_0, int pre, double w) {
    a->n++; a->kl += kl; a->dlogit += dlogit; a->dlogp += dlogp; a->acc_h += ok_h; a->acc_0 += ok_0; a->w += w;
    if (pre >= 0) { a->npre++; a->acc_pre += pre; }
}

static void eff_put(FILE *f, const char *key, int idx, const EffAcc *a) {
    double n = a->n ? (double)a->n : 1;
    fprintf(f, "{");
    if (key) fprintf(f, "\"%s\": %d, ", key, idx);
    fprintf(f, "\"n\": %ld, \"kl\": %.6g, \"dlogit\": %.6g, \"dlogp\": %.6g, \"acc_h\": %.6g, \"acc_0\": %.6g, \"weight\": %.6g, ",
            a->n, a->kl / n, a->dlogit / n, a->dlogp / n, a->acc_h / n, a->acc_0 / n, a->w / n);
    if (a->npre) fprintf(f, "\"n_prefix\": %ld, \"acc_prefix\": %.6g}", a->npre, a->acc_pre / (double)a->npre);
    else fprintf(f, "\"n_prefix\": 0, \"acc_prefix\": null}");
}

/* [first, last] response indices (0-based, into y) of the title's tokens, from the decoded
 * length of each response prefix: response = '"' title '"\n' (docs/FORMATS.md). 0 when the
 * response is not of that form. */
static int title_span(const Tok *sp, const int *y, int ny, int *first, int *last) {
    char *all = tok_decode(sp, y, ny);
    size_t L = strlen(all);
    int ok = L >= 4 && all[0] == '"' && all[L - 2] == '"' && all[L - 1] == '\n';
    free(all);
    if (!ok) return 0;
    size_t tlen = L - 3;
    *first = *last = -1;
    for (int k = 0; k < ny; k++) {
        char *a = tok_decode(sp, y, k), *b = tok_decode(sp, y, k + 1);
        size_t la = strlen(a), lb = strlen(b);   /* bytes before / through token k */
        free(a); free(b);
        if (lb > 1 && la < 1 + tlen) { if (*first < 0) *first = k; *last = k; }
    }
    return *first >= 0;
}

/* mean statistics over d (every record needs cf_prompt); writes one JSON object to path */
static void causal_effect(Model *m, const Tok *sp, Bufs *bf, const Data *d, int micro, double beta, int pad,
                          const char *path, const char *model_dir) {
    int V = model_config(m)->vocab_size;
    Effect e = {0};
    /* prefix-only records: the response alone, its opening token as the whole context */
    Data pre = *d;
    pre.r = xmalloc(sizeof(Rec) * (size_t)d->n);
    for (int i = 0; i < d->n; i++) {
        const Rec *r = &d->r[i];
        Rec q = {0};
        q.id = r->id; q.n = r->n - r->P; q.P = 1;
        q.tok = xmalloc(sizeof(int) * (size_t)q.n);
        memcpy(q.tok, r->tok + r->P, sizeof(int) * (size_t)q.n);
        pre.r[i] = q;
    }
    int *idx = xmalloc(sizeof(int) * (size_t)micro);
    float *zpre = NULL;
    size_t zpre_cap = 0;
    Progress pg;
    progress_start(&pg, "effect", (uint64_t)d->n);
    for (int i0 = 0; i0 < d->n; i0 += micro) {
        int B = d->n - i0 < micro ? d->n - i0 : micro;
        for (int b = 0; b < B; b++) idx[b] = i0 + b;
        double a = 0, c = 0;
        int rows = 0;
        /* prefix-only first (its logits are copied out: the next step overwrites them) */
        rec_micro(m, bf, &pre, idx, B, beta, 1, 1.0, 1.0, 0, 0.0f, 0, &a, &c, NULL, pad);
        const float *z = model_last_logits(m, &rows);
        if ((size_t)rows * V > zpre_cap) { zpre_cap = (size_t)rows * V; zpre = xrealloc(zpre, sizeof(float) * zpre_cap); }
        memcpy(zpre, z, sizeof(float) * (size_t)rows * V);
        rec_micro(m, bf, d, idx, B, beta, 1, 1.0, 1.0, 1, 0.0f, 0, &a, &c, NULL, pad);
        z = model_last_logits(m, &rows);
        int nn = rows / 2;                      /* normal rows, then the counterfactual ones */
        int rn = 0, rp = 0;
        for (int b = 0; b < B; b++) {
            const Rec *r = &d->r[idx[b]];
            int ny = r->n - r->P, tf, tl;
            const int *y = r->tok + r->P;
            int span = title_span(sp, y, ny - 1, &tf, &tl);   /* without the EOS */
            if (!span) e.no_span++;
            for (int k = 0; k < ny; k++, rn++) {
                const float *zh = z + (size_t)rn * V, *z0 = z + (size_t)(nn + rn) * V;
                double kl, dlogp;
                int ah, a0, ap = -1;
                eff_row(zh, z0, V, y[k], &kl, &dlogp, &ah, &a0);
                if (k > 0) {                    /* prefix-only row k-1 predicts y[k] */
                    const float *zp = zpre + (size_t)rp++ * V;
                    int am = 0;
                    for (int v = 1; v < V; v++) if (zp[v] > zp[am]) am = v;
                    ap = am == y[k];
                }
                double dl = fabs((double)zh[y[k]] - (double)z0[y[k]]), w = token_weight(k + 1, ny, beta);
                int okh = ah == y[k], ok0 = a0 == y[k];
                eff_add(eff_slot(&e.pos, &e.cap_pos, k), kl, dl, fabs(dlogp), okh, ok0, ap, w);
                if (k == 0) eff_add(&e.first, kl, dl, fabs(dlogp), okh, ok0, ap, w);
                if (k == ny - 1) eff_add(&e.last, kl, dl, fabs(dlogp), okh, ok0, ap, w);
                if (span && k >= tf && k <= tl) {
                    eff_add(eff_slot(&e.title, &e.cap_title, k - tf), kl, dl, fabs(dlogp), okh, ok0, ap, w);
                    if (k == tf) eff_add(&e.tfirst, kl, dl, fabs(dlogp), okh, ok0, ap, w);
                    if (k == tl) eff_add(&e.tlast, kl, dl, fabs(dlogp), okh, ok0, ap, w);
                }
            }
        }
        if (rn != nn) die(EXIT_DATA, "--effect: internal: %d logit rows for %d response tokens", nn, rn);
        progress_update(&pg, (uint64_t)(i0 + B));
    }
    progress_end(&pg);
    OutFile of = out_open(path);
    atomic_cleanup_register(&of);
    FILE *f = of.f;
    fprintf(f, "{\"file\": ");
    json_put_str(f, d->path);
    fprintf(f, ", \"model\": ");
    json_put_str(f, model_dir);
    fprintf(f, ", \"n\": %d, \"beta\": %g, \"no_title_span\": %ld,\n \"response_first\": ", d->n, beta, e.no_span);
    eff_put(f, NULL, 0, &e.first);
    fprintf(f, ",\n \"response_last\": ");
    eff_put(f, NULL, 0, &e.last);
    fprintf(f, ",\n \"title_first\": ");
    eff_put(f, NULL, 0, &e.tfirst);
    fprintf(f, ",\n \"title_last\": ");
    eff_put(f, NULL, 0, &e.tlast);
    fprintf(f, ",\n \"by_position\": [");
    for (int k = 0; k < e.cap_pos && e.pos[k].n; k++) { fprintf(f, "%s\n  ", k ? "," : ""); eff_put(f, "t", k + 1, &e.pos[k]); }
    fprintf(f, "],\n \"by_title_position\": [");
    for (int k = 0; k < e.cap_title && e.title[k].n; k++) { fprintf(f, "%s\n  ", k ? "," : ""); eff_put(f, "i", k + 1, &e.title[k]); }
    fprintf(f, "]}\n");
    out_commit(&of);
    data_free(&pre);
    free(idx); free(zpre); free(e.pos); free(e.title);
}

/* ------------------------------------------------------------------ schedule */
/* HF get_linear_schedule_with_warmup, s = optimizer steps already taken (0-based) */
static double lr_at(const Opt *o, long s, long total) {
    if (s < o->warmup) return o->lr * (double)s / (double)(o->warmup > 0 ? o->warmup : 1);
    long den = total - o->warmup;
    if (den <= 0) return 0;
    double f = (double)(total - s) / (double)den;
    return o->lr * (f > 0 ? f : 0);
}

static void shuffle_order(int *order, int n, uint64_t seed, long epoch) {
    for (int i = 0; i < n; i++) order[i] = i;
    Rng r; rng_seed(&r, mix64(seed ^ mix64(0x5eedULL + (uint64_t)epoch)));
    for (int i = n; i > 1; i--) {
        int j = (int)rng_below(&r, (uint32_t)i);
        int t = order[i - 1]; order[i - 1] = order[j]; order[j] = t;
    }
}

/* the run's identity: a --resume must match it */
static cJSON *run_args(const Opt *o, const Data *tr, const Data *va) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "objective", o->objective);
    cJSON_AddNumberToObject(a, "lambda", o->lambda);
    cJSON_AddNumberToObject(a, "beta", o->beta);
    cJSON_AddBoolToObject(a, "weight_normal", o->weight_normal);
    cJSON_AddNumberToObject(a, "lr", o->lr);
    cJSON_AddNumberToObject(a, "weight_decay", o->wd);
    cJSON_AddNumberToObject(a, "adam_beta1", o->b1);
    cJSON_AddNumberToObject(a, "adam_beta2", o->b2);
    cJSON_AddNumberToObject(a, "adam_eps", o->eps);
    cJSON_AddNumberToObject(a, "clip", o->clip);
    cJSON_AddNumberToObject(a, "dropout", o->dropout);
    cJSON_AddNumberToObject(a, "warmup", o->warmup);
    cJSON_AddNumberToObject(a, "batch", o->batch);
    cJSON_AddNumberToObject(a, "micro_batch", o->micro);
    cJSON_AddNumberToObject(a, "epochs", o->epochs);
    cJSON_AddNumberToObject(a, "patience", o->patience);
    cJSON_AddNumberToObject(a, "max_len", o->max_len);
    cJSON_AddNumberToObject(a, "seed", (double)o->seed);
    cJSON_AddNumberToObject(a, "threads", o->threads);
    cJSON_AddNumberToObject(a, "freeze_layers", o->freeze);
    cJSON_AddNumberToObject(a, "train_records", tr->n);
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)tr->fingerprint);
    cJSON_AddStringToObject(a, "train_fingerprint", fp);
    if (va) {
        snprintf(fp, sizeof fp, "%016llx", (unsigned long long)va->fingerprint);
        cJSON_AddStringToObject(a, "valid_fingerprint", fp);
    }
    return a;
}

/* a state directory is a file users pass around: every field is checked for type and range
 * before it indexes anything (a negative epoch_step once read before the sample order) */
static long st_int(const cJSON *s, const char *key, const char *dir, long lo, long hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!cJSON_IsNumber(v)) die(EXIT_DATA, "%s/trainer_state.json: %s: missing or not a number", dir, key);
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        die(EXIT_DATA, "%s/trainer_state.json: %s: %g is not an integer in [%ld, %ld]", dir, key, d, lo, hi);
    return (long)d;
}

/* ------------------------------------------------------------------ main */
/* file scope, not locals: a die() deep inside keeps them reachable (LeakSanitizer) */
static Model *m;
static Tok *sp;
static Data tr, va;
static cJSON *args;
static Bufs bf;
static int *order;
static char *tokbuf, *state_dir;

int main(int argc, char **argv) {
    util_init(argc, argv);
    Opt o = {0};
    o.objective = "rec"; o.device = "cpu"; o.precision = "tf32"; o.attention = "plain";
    o.lambda = 0.1; o.beta = 0.25; o.lr = 1e-4; o.wd = 0; o.b1 = 0.9; o.b2 = 0.999; o.eps = 1e-8;
    o.clip = 1.0; o.dropout = 0.05; o.weight_normal = 1; o.warmup = 20; o.batch = 64; o.micro = 16;
    o.epochs = 3; o.patience = 1; o.max_len = 1024; o.threads = 0; o.log_every = 1;
    o.max_samples = -1; o.seed = 42;
    int beta_set = 0, beta_prime_set = 0, auto_resume = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define STR(flag, field) else if (!strcmp(a, flag) && v) { o.field = v; i++; }
#define NUM(flag, field, lo, hi) else if (!strcmp(a, flag) && v) { o.field = num_arg(flag, v, lo, hi); i++; }
#define INT(flag, field, lo, hi) else if (!strcmp(a, flag) && v) { o.field = int_arg(flag, v, lo, hi); i++; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--no-weight-normal")) o.weight_normal = 0;
        else if (!strcmp(a, "--auto-resume")) auto_resume = 1;
        else if (!strcmp(a, "--beta") && v) { o.beta = num_arg(a, v, 0, 1); beta_set = 1; i++; }
        else if (!strcmp(a, "--beta-prime") && v) { o.beta = 1.0 - 1.0 / num_arg(a, v, 1, 1e9); beta_prime_set = 1; i++; }
        else if (!strcmp(a, "--seed") && v) { o.seed = (uint64_t)int_arg(a, v, 0, 1L << 53); i++; }
        STR("--train", train) STR("--valid", valid) STR("--init", init) STR("--config", config)
        STR("--out", out) STR("--tokenizer", tokenizer) STR("--state", state) STR("--resume", resume)
        STR("--log", log) STR("--eval", eval) STR("--per-sample", per_sample) STR("--dump-logits", dump_logits) STR("--objective", objective) STR("--effect", effect)
        STR("--device", device) STR("--precision", precision) STR("--attention", attention)
        NUM("--lambda", lambda, 0, 1e6) NUM("--lr", lr, 0, 1e38) NUM("--weight-decay", wd, 0, 10)
        NUM("--adam-beta1", b1, 0, 0.999999) NUM("--adam-beta2", b2, 0, 0.99999999) NUM("--adam-eps", eps, 0, 1)
        NUM("--clip", clip, 0, 1e9) NUM("--dropout", dropout, 0, 0.95)
        INT("--warmup", warmup, 0, 1 << 30) INT("--batch", batch, 1, 1 << 20) INT("--micro-batch", micro, 1, 1 << 16)
        INT("--epochs", epochs, 1, 100000) INT("--patience", patience, 1, 100000) INT("--max-len", max_len, 8, 1 << 20)
        INT("--threads", threads, 0, 4096) INT("--save-every", save_every, 0, 1 << 30) INT("--log-every", log_every, 1, 1 << 30)
        INT("--max-samples", max_samples, 1, 1L << 40) INT("--freeze-layers", freeze, 0, 1 << 20)
        else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
#undef STR
#undef NUM
#undef INT
    }
    if (beta_set && beta_prime_set) die(EXIT_USAGE, "--beta and --beta-prime are exclusive");
    if (strcmp(o.device, "cpu") && strcmp(o.device, "cuda")) die(EXIT_USAGE, "--device: expected cpu or cuda, got '%s'", o.device);
    if (strcmp(o.precision, "tf32") && strcmp(o.precision, "fp32") && strcmp(o.precision, "bf16"))
        die(EXIT_USAGE, "--precision: expected tf32, fp32 or bf16, got '%s'", o.precision);
    int lm = !strcmp(o.objective, "lm");
    if (!lm && strcmp(o.objective, "rec")) die(EXIT_USAGE, "--objective: expected rec or lm, got '%s'", o.objective);
    if (o.micro > o.batch) o.micro = o.batch;
    if (o.eval) {
        if (!o.init) die(EXIT_USAGE, "--eval needs --init DIR (the checkpoint to evaluate)");
    } else {
        if (!o.train) die(EXIT_USAGE, "--train is required (or --eval FILE)");
        if (!o.out) die(EXIT_USAGE, "--out is required");
        /* --resume wins over --init/--config, so a killed command can be rerun with --resume added */
        if (!o.resume && !!o.init + !!o.config != 1) die(EXIT_USAGE, "exactly one of --init DIR or --config FILE (or --resume DIR)");
    }
    if (o.per_sample && !o.eval) die(EXIT_USAGE, "--per-sample goes with --eval");
    if (o.effect && (!o.eval || lm || o.per_sample)) die(EXIT_USAGE, "--effect goes with --eval (objective rec), without --per-sample");
    if (o.dump_logits && (!o.per_sample || lm)) die(EXIT_USAGE, "--dump-logits goes with --eval --per-sample (objective rec)");

    /* ---- model + tokenizer ---- */
    if (!o.eval) {
        if (o.state) state_dir = xstrdup(o.state);
        else {
            state_dir = xmalloc(strlen(o.out) + 8);
            strcpy(state_dir, o.out);
            for (size_t l = strlen(state_dir); l > 1 && state_dir[l - 1] == '/'; l--) state_dir[l - 1] = 0;
            strcat(state_dir, ".state");
        }
        if (!strcmp(state_dir, o.out)) die(EXIT_USAGE, "--state must differ from --out (%s)", o.out);
        if (auto_resume && !o.resume && ckpt_has(state_dir, "trainer_state.json") && ckpt_has(state_dir, "optimizer.safetensors")) {
            o.resume = state_dir;
            info("--auto-resume: continuing from %s", state_dir);
        }
    }
    if (o.resume) o.config = NULL;
    const char *init_dir = o.resume ? o.resume : o.init;
    const char *tokpath = o.tokenizer;
    if (!tokpath) {
        if (!init_dir) die(EXIT_USAGE, "--config needs --tokenizer (tokenizer.model or tokenizer.json)");
        tokbuf = tok_find(init_dir);
        if (!tokbuf) die(EXIT_IO, "%s: no tokenizer.json or tokenizer.model (give --tokenizer)", init_dir);
        tokpath = tokbuf;
    }
    sp = tok_load(tokpath);
    if (init_dir) m = model_load(init_dir);
    else {
        ModelConfig cfg;
        ckpt_read_config_file(o.config, &cfg, tok_vocab_size(sp));
        if (cfg.bos_token_id < 0) cfg.bos_token_id = tok_bos_id(sp);
        if (cfg.eos_token_id < 0) cfg.eos_token_id = tok_eos_id(sp);
        if (cfg.pad_token_id < 0) cfg.pad_token_id = tok_pad_id(sp);
        m = model_new(&cfg, o.seed);
    }
    const ModelConfig *cfg = model_config(m);
    if (tok_vocab_size(sp) > cfg->vocab_size)
        die(EXIT_DATA, "%s: tokenizer has %d pieces but the model's vocab_size is %d", tokpath, tok_vocab_size(sp), cfg->vocab_size);
    int eos = cfg->eos_token_id >= 0 ? cfg->eos_token_id : tok_eos_id(sp);
    if (eos < 0) die(EXIT_DATA, "%s: no eos id in the tokenizer or the model config", tokpath);
    if (tok_eos_id(sp) >= 0 && tok_eos_id(sp) != eos)
        die(EXIT_DATA, "%s: eos id %d differs from the model config's eos_token_id %d", tokpath, tok_eos_id(sp), eos);
    int pad = cfg->pad_token_id >= 0 ? cfg->pad_token_id : eos;   /* padded slots are masked anyway */
    if (o.max_len > cfg->max_position_embeddings) o.max_len = cfg->max_position_embeddings;
    model_set_threads(m, o.threads);
    model_set_device(m, o.device, o.precision);
    model_set_attention(m, o.attention);
    if (strcmp(o.device, "cpu")) info("device: %s, %s GEMMs", model_device_name(m), o.precision);
    if (o.freeze > cfg->num_hidden_layers)
        die(EXIT_USAGE, "--freeze-layers %d: the model has only %d layers", o.freeze, cfg->num_hidden_layers);
    if (!o.eval) model_set_freeze_layers(m, o.freeze);
    int nthreads = o.threads > 0 ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = nthreads;

    /* ---- --eval ---- */
    if (o.eval) {
        /* cf_prompt optional in eval: L_c only when every record has one */
        Data d = tr = lm ? load_lm(o.eval, sp, eos, o.max_len, o.max_samples) : load_rec(o.eval, sp, eos, 1, o.max_len, o.max_samples);
        int has_cf = !lm && d.no_cf == 0;
        if (o.effect) {
            if (!has_cf) die(EXIT_DATA, "%s: --effect needs cf_prompt in every record (%d have none; mkprompt --pair)", o.eval, d.no_cf);
            causal_effect(m, sp, &bf, &d, o.micro, o.beta, pad, o.effect, o.init);
            data_free(&d); bufs_free(&bf);
            model_free(m); tok_free(sp); free(tokbuf);
            return 0;
        }
        double Ln, Lc;
        evaluate(m, &bf, &d, lm, o.micro, o.beta, o.weight_normal, has_cf, &Ln, &Lc, pad);
        printf("{\"file\": ");
        json_put_str(stdout, o.eval);
        printf(", \"objective\": \"%s\", \"n\": %d, \"tokens\": %lld, \"L_n\": %.9g", o.objective, d.n, d.tokens, Ln);
        if (has_cf) printf(", \"L_c\": %.9g, \"loss\": %.9g", Lc, Ln + o.lambda * Lc);
        printf(", \"lambda\": %g, \"beta\": %g, \"weight_normal\": %s}\n", o.lambda, o.beta, o.weight_normal ? "true" : "false");
        if (o.per_sample) {
            OutFile of = out_open(o.per_sample), lf = {0};
            atomic_cleanup_register(&of);
            if (o.dump_logits) { lf = out_open(o.dump_logits); atomic_cleanup_register(&lf); }
            for (int i = 0; i < d.n; i++) {
                Data one = d;
                one.r = &d.r[i]; one.n = 1;
                double a, b;
                evaluate(m, &bf, &one, lm, 1, o.beta, o.weight_normal, has_cf, &a, &b, pad);
                if (o.dump_logits) {   /* rows: normal response positions, then counterfactual ones */
                    int rows;
                    const float *z = model_last_logits(m, &rows);
                    if (fwrite(z, sizeof(float) * (size_t)cfg->vocab_size, (size_t)rows, lf.f) != (size_t)rows)
                        die(EXIT_IO, "%s: write error", o.dump_logits);
                }
                fprintf(of.f, "{\"id\": %lld, \"L_n\": %.9g", d.r[i].id, a);
                if (has_cf) fprintf(of.f, ", \"L_c\": %.9g", b);
                fprintf(of.f, "}\n");
            }
            out_commit(&of);
            if (o.dump_logits) out_commit(&lf);
        }
        if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error");
        data_free(&d);
        bufs_free(&bf);
        model_free(m); tok_free(sp); free(tokbuf);
        return 0;
    }

    /* ---- data ---- */
    int use_cf = !lm && o.lambda > 0;
    tr = lm ? load_lm(o.train, sp, eos, o.max_len, o.max_samples)
                 : load_rec(o.train, sp, eos, use_cf ? 2 : 1, o.max_len, o.max_samples);
    int has_valid = o.valid != NULL;
    if (has_valid) va = lm ? load_lm(o.valid, sp, eos, o.max_len, -1) : load_rec(o.valid, sp, eos, 1, o.max_len, -1);
    long spe = (tr.n + o.batch - 1) / o.batch;   /* optimizer steps per epoch */
    long total = spe * o.epochs;
    args = run_args(&o, &tr, has_valid ? &va : NULL);

    long step = 0, epoch = 0, epoch_step = 0;
    double best_val = INFINITY;
    long best_epoch = -1, bad = 0;
    int stopped = 0;
    if (o.resume) {
        cJSON *st = ckpt_load_state(m, o.resume);
        const cJSON *sa = cJSON_GetObjectItemCaseSensitive(st, "args");
        if (!sa) die(EXIT_DATA, "%s/trainer_state.json: args: missing", o.resume);
        for (const cJSON *x = args->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(sa, x->string);
            /* states written before --freeze-layers existed froze nothing */
            if (!y && !strcmp(x->string, "freeze_layers") && x->valuedouble == 0) continue;
            if (!y || !cJSON_Compare(x, y, 1)) {
                char *want = y ? cJSON_PrintUnformatted(y) : xstrdup("(absent)"), *got = cJSON_PrintUnformatted(x);
                char msg[512];
                snprintf(msg, sizeof msg, "--resume %s: %s is %s in this run but %s in the saved one (same flags and data needed)",
                         o.resume, x->string, got, want);
                free(want); free(got); cJSON_Delete(st);
                die(EXIT_USAGE, "%s", msg);
            }
        }
        const char *R = o.resume;
        st_int(st, "steps_per_epoch", R, spe, spe);
        epoch = st_int(st, "epoch", R, 0, o.epochs);
        epoch_step = st_int(st, "epoch_step", R, 0, spe);
        step = st_int(st, "step", R, 0, (long)o.epochs * spe);
        best_epoch = st_int(st, "best_epoch", R, -1, epoch);
        bad = st_int(st, "bad_epochs", R, 0, epoch);
        stopped = (int)st_int(st, "stopped", R, 0, 1);
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(st, "best_val");
        if (bv && !(cJSON_IsNumber(bv) && isfinite(bv->valuedouble)))
            die(EXIT_DATA, "%s/trainer_state.json: best_val: expected a finite number", R);
        best_val = bv ? bv->valuedouble : INFINITY;
        cJSON_Delete(st);
        if (step != epoch * spe + epoch_step || (epoch == o.epochs && epoch_step != 0))
            die(EXIT_DATA, "%s/trainer_state.json: step %ld is not epoch %ld x %ld steps + epoch_step %ld", R, step, epoch, spe, epoch_step);
        if ((best_epoch < 0) != !bv && has_valid)
            die(EXIT_DATA, "%s/trainer_state.json: best_val and best_epoch disagree (one is set, the other not)", R);
        info("resuming at step %ld (epoch %ld, step %ld of %ld)", step, epoch, epoch_step, spe);
    }

    if (o.resume && o.log && access(o.log, F_OK) == 0) {
        /* drop what the killed run logged after the saved state: the resumed run logs it again */
        LineReader *lr = lr_open(o.log);
        OutFile of = out_open(o.log);
        long dropped = 0;
        for (char *ln; (ln = lr_next(lr, NULL));) {
            cJSON *j = cJSON_Parse(ln);
            const cJSON *sj = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
            int is_end = j && cJSON_GetObjectItemCaseSensitive(j, "epoch_end") != NULL;
            long ls = cJSON_IsNumber(sj) ? (long)sj->valuedouble : step + 1;
            int keep = ls < step || (ls == step && !(is_end && epoch_step == spe));
            cJSON_Delete(j);
            if (keep) fprintf(of.f, "%s\n", ln);
            else dropped++;
        }
        lr_close(lr);
        out_commit(&of);
        if (dropped) info("%s: %ld lines after step %ld dropped (they are redone)", o.log, dropped, step);
    }
    FILE *logf = NULL;
    if (o.log) {
        logf = fopen(o.log, o.resume ? "a" : "w");
        if (!logf) die(EXIT_IO, "%s: cannot write", o.log);
    }
    info("%d training records, %d validation, %ld steps/epoch x %d epochs, batch %d (micro %d), %zu parameters, %d threads",
         tr.n, va.n, spe, o.epochs, o.batch, o.micro, model_num_params(m), nthreads);

#define SAVE_STATE() do { \
        cJSON *s_ = cJSON_CreateObject(); \
        cJSON_AddNumberToObject(s_, "step", step); cJSON_AddNumberToObject(s_, "epoch", epoch); \
        cJSON_AddNumberToObject(s_, "epoch_step", epoch_step); cJSON_AddNumberToObject(s_, "steps_per_epoch", spe); \
        if (isfinite(best_val)) cJSON_AddNumberToObject(s_, "best_val", best_val); \
        cJSON_AddNumberToObject(s_, "best_epoch", best_epoch); cJSON_AddNumberToObject(s_, "bad_epochs", bad); \
        cJSON_AddNumberToObject(s_, "stopped", stopped); \
        cJSON_AddItemReferenceToObject(s_, "args", args); \
        ckpt_save(m, state_dir, tokpath, s_, 1); cJSON_Delete(s_); } while (0)

    order = xmalloc(sizeof(int) * (size_t)tr.n);
    Progress pg;
    progress_start(&pg, "train", (uint64_t)total);
    double t_start = now_s();
    /* test hook: SIGKILL ourselves in the middle of step N (after its first micro-batch) */
    long kill_at = getenv("CFT_TEST_KILL_AT_STEP") ? atol(getenv("CFT_TEST_KILL_AT_STEP")) : -1;
    long long tok_done = 0, samp_done = 0;
    while (!stopped && epoch < o.epochs) {
        shuffle_order(order, tr.n, o.seed, epoch);
        for (; epoch_step < spe; ) {
            int beg = (int)(epoch_step * o.batch), n = tr.n - beg < o.batch ? tr.n - beg : o.batch;
            const int *idx = order + beg;
            double t0 = now_s();
            model_zero_grad(m);
            model_set_dropout(m, (float)o.dropout, mix64(o.seed ^ mix64((uint64_t)step + 1)));
            double Ln = 0, Lc = 0, loss = 0;
            long long ntok = 0;
            if (lm) {
                int nmicro = 0;
                for (int i = 0; i < n; i += o.micro, nmicro++) {
                    long long c;
                    loss += lm_micro(m, &bf, &tr, idx + i, n - i < o.micro ? n - i : o.micro, 1, &c, &ntok, pad);
                }
                model_scale_grads(m, 1.0f / (float)nmicro);   /* mean over micro-batches, as HF */
                loss /= nmicro; Ln = loss;
            } else {
                double omega = 0; long long nresp = 0;
                for (int i = 0; i < n; i++) {
                    int ny = tr.r[idx[i]].n - tr.r[idx[i]].P;
                    for (int t = 1; t <= ny; t++) omega += token_weight(t, ny, o.beta);
                    nresp += ny;
                }
                double nscale = o.weight_normal ? 1.0 / omega : 1.0 / (double)nresp;
                for (int i = 0; i < n; i += o.micro) {
                    rec_micro(m, &bf, &tr, idx + i, n - i < o.micro ? n - i : o.micro, o.beta, o.weight_normal,
                              nscale, 1.0 / omega, use_cf, (float)o.lambda, 1, &Ln, &Lc, &ntok, pad);
                    if (step + 1 == kill_at) raise(SIGKILL);
                }
                loss = Ln + o.lambda * Lc;
            }
            float gn = model_grad_norm(m);
            if (!isfinite(loss) || !isfinite(gn))
                die(EXIT_DATA, "non-finite loss at step %ld (epoch %ld): loss %g, L_n %g, L_c %g, grad norm %g",
                    step + 1, epoch + 1, loss, Ln, Lc, (double)gn);
            if (o.clip > 0 && gn > o.clip) model_scale_grads(m, (float)(o.clip / ((double)gn + 1e-6)));
            double lr = lr_at(&o, step, total);
            model_adamw(m, (float)lr, (float)o.b1, (float)o.b2, (float)o.eps, (float)o.wd, step + 1);
            step++; epoch_step++;
            double dt = now_s() - t0;
            tok_done += ntok; samp_done += n;
            if (logf && step % o.log_every == 0) {
                fprintf(logf, "{\"step\": %ld, \"epoch\": %.4f, \"lr\": %.6g, \"loss\": %.6g, \"L_n\": %.6g, \"L_c\": %.6g, "
                        "\"grad_norm\": %.6g, \"samples_per_s\": %.3f, \"tokens_per_s\": %.1f}\n",
                        step, (double)step / spe, lr, loss, Ln, Lc, (double)gn, n / dt, ntok / dt);
                fflush(logf);
            }
            progress_update(&pg, (uint64_t)step);
            if (o.save_every && step % o.save_every == 0) SAVE_STATE();
        }
        /* epoch end: validation L_n (never L_c) */
        int improved = 1;
        double val = NAN;
        if (has_valid) {
            double lc;
            evaluate(m, &bf, &va, lm, o.micro, o.beta, o.weight_normal, 0, &val, &lc, pad);
            if (!isfinite(val)) die(EXIT_DATA, "non-finite validation loss after epoch %ld (step %ld)", epoch + 1, step);
            improved = val < best_val;
        }
        if (improved) {
            if (has_valid) best_val = val;
            best_epoch = epoch + 1;
            bad = 0;
            cJSON *s = cJSON_CreateObject();
            cJSON_AddNumberToObject(s, "step", step);
            cJSON_AddNumberToObject(s, "epoch", epoch + 1);
            if (has_valid) cJSON_AddNumberToObject(s, "val_L_n", val);
            cJSON_AddItemReferenceToObject(s, "args", args);
            ckpt_save(m, o.out, tokpath, s, 0);
            cJSON_Delete(s);
        } else bad++;
        if (logf) {
            fprintf(logf, "{\"epoch_end\": %ld, \"step\": %ld, \"val_L_n\": %.9g, \"best_val_L_n\": %.9g, \"best_epoch\": %ld}\n",
                    epoch + 1, step, val, best_val, best_epoch);
            fflush(logf);
        }
        if (pg.active) fprintf(stderr, "\r\033[K");
        info("epoch %ld: validation L_n %.6f%s", epoch + 1, val, improved ? " (best, saved)" : "");
        epoch++; epoch_step = 0;
        if (bad >= o.patience) { stopped = 1; info("early stop: no improvement for %ld epoch(s)", bad); }
        if (o.save_every) SAVE_STATE();
    }
    progress_end(&pg);
    double el = now_s() - t_start;
    info("done: %ld steps, best epoch %ld (validation L_n %.6f), %.1f samples/s, %.0f tokens/s", step, best_epoch, best_val,
         el > 0 ? samp_done / el : 0, el > 0 ? tok_done / el : 0);
    if (logf) fclose(logf);
    cJSON_Delete(args);
    free(order); free(state_dir); free(tokbuf);
    bufs_free(&bf);
    data_free(&tr);
    if (has_valid) data_free(&va);
    model_free(m);
    tok_free(sp);
    return 0;
}
