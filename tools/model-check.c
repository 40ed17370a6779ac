/* model-check: test and benchmark driver of the model math (tools/lib/llm/model.c).
 *   model-check dump --out DIR [model/batch flags]   one CFT step, every number as raw float32
 *   model-check gradcheck [--seed S]                 finite-difference checks, layer by layer
 *   model-check bench --config A|B|smollm2|smollm2-b64|qwen2.5-b64|sgemm [--iters N]   CFT and BIGRec step throughput
 *   model-check overfit [--iters N --lr X]           AdamW on one batch must cut both losses
 *   model-check logits --init DIR --ids a,b,c --out DIR   logits of a real checkpoint, both paths
 * The dump is read by tests/model_parity.py, which recomputes it in PyTorch. */
#include "infer.h"
#include "model.h"
#include "ckpt.h"
#include "util.h"
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
        "usage: model-check dump --out DIR [options]   one CFT step (eval + train + AdamW) as raw float32\n"
        "       model-check gradcheck [--seed S]       finite-difference gradient checks of every layer pair\n"
        "       model-check overfit [--iters N --lr X]  AdamW on one batch must cut L_n and L_c by 5x (exit 1 if not)\n"
        "       model-check bench --config A|B|smollm2|smollm2-b64|qwen2.5-b64|sgemm [--iters N] [--warmup N] [--freeze-layers N] [--plain 0|1] [--accum N]\n"
        "         CFT / BIGRec step throughput (--plain 1: also the CFT step without sharing/pruning;\n"
        "         --accum N: N micro-batches of B per AdamW step, as cft-step's --batch N*B --micro-batch B)\n"
        "       model-check logits --init DIR --ids a,b,c --out DIR   logits of a checkpoint at every position\n"
        "         (training forward, logits.bin (T,V)) and at the last (KV-cache inference, last.bin (V))\n"
        "real weights (dump): --init DIR starts from a checkpoint instead of random weights (the\n"
        "  model flags are then ignored); --keep-layers N keeps its first N layers (a slice)\n"
        "  --freeze-layers N (dump, bench; 0): layers < N and the embedding get no gradient (tied: the head neither)\n"
        "model options (dump):\n"
        "  --layers N --hidden C --heads NH --kv-heads KVH --ffn F --vocab V (2 32 4 2 40 50)\n"
        "  --theta X (rope_theta, 5000) --eps X (rms_norm_eps, 1e-6) --tied 0|1 (0)\n"
        "  --bias 0|1 (1): q/k/v biases (attention_bias; 0 = the Llama layout)\n"
        "batch options (dump): --batch B --len T --cf-len Tc --resp R (4 24 14 5); --cf-len 0 = no cf pass\n"
        "  --lambda X (0.3) --beta X (0.25, token weights of Eq. 5)\n"
        "  --lr X (1e-3) --wd X (0.1) --dropout P (0) --share 0|1 (1) --prune 0|1 (1) --init-std X (0.1)\n"
        "  --corrupt token|label|pos|cfpos|length   break the batch (tests the model's input checks)\n"
        "common: --seed S (1) --threads N (all cores) -q\n"
        "  --device cpu|cuda (dump, bench; cpu) --precision tf32|fp32|bf16 (tf32): the CUDA twin of the model\n"
        "    (tests/test_cuda.sh compares its dump with the CPU's; exit 2 with the reason when no GPU)\n"
        "    --attention plain|fused (plain): cuda's attention kernels (fused: no stored probabilities)\n");
    exit(code);
}

typedef struct {
    ModelConfig cfg;
    int B, T, Tc, R, threads, share, prune;
    float lambda, beta, lr, wd, dropout, init_std;
    uint64_t seed;
    const char *out, *config, *corrupt, *init, *ids, *device, *precision, *attention;
    int iters, warmup, keep_layers, freeze, plain, accum;
} Opts;

static double num(const char *s, const char *flag) {
    char *e; double v = strtod(s, &e);
    if (!*s || *e) die(EXIT_USAGE, "%s: not a number: '%s'", flag, s);
    return v;
}

static void parse(int argc, char **argv, Opts *o) {
    memset(o, 0, sizeof *o);
    ModelConfig *c = &o->cfg;
    c->num_hidden_layers = 2; c->hidden_size = 32; c->num_attention_heads = 4; c->num_key_value_heads = 2;
    c->intermediate_size = 40; c->vocab_size = 50; c->rope_theta = 5000; c->rms_norm_eps = 1e-6f;
    c->max_position_embeddings = 4096; c->tie_word_embeddings = 0; c->attention_bias = 1;
    o->B = 4; o->T = 24; o->Tc = 14; o->R = 5; o->lambda = 0.3f; o->beta = 0.25f; o->lr = 1e-3f; o->wd = 0.1f;
    o->seed = 1; o->share = 1; o->prune = 1; o->plain = 1; o->init_std = 0.1f; o->iters = 5; o->warmup = 1; o->accum = 1;
    o->device = "cpu"; o->precision = "tf32"; o->attention = "plain";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        if (i + 1 >= argc) die(EXIT_USAGE, "%s needs a value (see --help)", a);
        const char *v = argv[++i];
#define F_(name, dst) if (!strcmp(a, name)) { dst = num(v, a); continue; }
        F_("--layers", c->num_hidden_layers) F_("--hidden", c->hidden_size) F_("--heads", c->num_attention_heads)
        F_("--kv-heads", c->num_key_value_heads) F_("--ffn", c->intermediate_size) F_("--vocab", c->vocab_size)
        F_("--theta", c->rope_theta) F_("--eps", c->rms_norm_eps) F_("--tied", c->tie_word_embeddings)
        F_("--bias", c->attention_bias)
        F_("--batch", o->B) F_("--len", o->T) F_("--cf-len", o->Tc) F_("--resp", o->R)
        F_("--lambda", o->lambda) F_("--beta", o->beta) F_("--lr", o->lr) F_("--wd", o->wd)
        F_("--dropout", o->dropout) F_("--share", o->share) F_("--prune", o->prune) F_("--init-std", o->init_std)
        F_("--seed", o->seed) F_("--threads", o->threads) F_("--iters", o->iters) F_("--warmup", o->warmup)
        F_("--keep-layers", o->keep_layers) F_("--freeze-layers", o->freeze) F_("--plain", o->plain)
        F_("--accum", o->accum)
#undef F_
        if (!strcmp(a, "--out")) { o->out = v; continue; }
        if (!strcmp(a, "--config")) { o->config = v; continue; }
        if (!strcmp(a, "--corrupt")) { o->corrupt = v; continue; }
        if (!strcmp(a, "--init")) { o->init = v; continue; }
        if (!strcmp(a, "--ids")) { o->ids = v; continue; }
        if (!strcmp(a, "--device")) { o->device = v; continue; }
        if (!strcmp(a, "--precision")) { o->precision = v; continue; }
        if (!strcmp(a, "--attention")) { o->attention = v; continue; }
        die(EXIT_USAGE, "unknown option %s (see --help)", a);
    }
}

/* A random batch in the shape of the rec objective: normal row b has length len_b (right
 * padded to T), its last Rb tokens are the response; the counterfactual row shares the
 * first s_b tokens, then has its own "None" tokens, then the same response. Token weights
 * (Eq. 5) normalised over the batch; the normal weights are uniform to keep them distinct. */
typedef struct {
    int B, T, Tc, R;
    int *tok, *len, *ctok, *clen, *rpos, *cpos, *lab;
    float *nw, *cw;
} Batch;

static void make_batch(Batch *bt, int B, int T, int Tc, int R, int V, float beta, int shared, int full, Rng *r) {
    bt->B = B; bt->T = T; bt->Tc = Tc; bt->R = R;
    bt->tok = xcalloc((size_t)B * T, sizeof(int)); bt->len = xcalloc(B, sizeof(int));
    bt->ctok = xcalloc((size_t)B * (Tc ? Tc : 1), sizeof(int)); bt->clen = xcalloc(B, sizeof(int));
    bt->rpos = xcalloc((size_t)B * R, sizeof(int)); bt->cpos = xcalloc((size_t)B * R, sizeof(int));
    bt->lab = xcalloc((size_t)B * R, sizeof(int));
    bt->nw = xcalloc((size_t)B * R, sizeof(float)); bt->cw = xcalloc((size_t)B * R, sizeof(float));
    double omega = 0; int count = 0;
    for (int b = 0; b < B; b++) {
        int Rb = full ? R : R - (b % 3 == 2 ? 2 : 0);       /* some rows have fewer response tokens */
        if (Rb < 1) Rb = 1;
        int len = full ? T : T - (int)rng_below(r, (uint32_t)(T / 3 + 1));
        if (len < Rb + 2) len = Rb + 2;
        int clen = Tc ? (full ? Tc : Tc - (int)rng_below(r, (uint32_t)(Tc / 4 + 1))) : 0;
        if (Tc && clen < Rb + 2) clen = Rb + 2;
        bt->len[b] = len; bt->clen[b] = clen;
        int *t = bt->tok + (size_t)b * T;
        for (int i = 0; i < len; i++) t[i] = 2 + (int)rng_below(r, (uint32_t)(V - 2));
        for (int i = len; i < T; i++) t[i] = 0;                   /* pad */
        if (Tc) {
            int *c = bt->ctok + (size_t)b * Tc;
            int s = shared >= 0 ? shared : (clen - Rb) / 2 + (int)rng_below(r, 3);
            if (s > clen - Rb - 1) s = clen - Rb - 1;
            if (s < 0) s = 0;
            for (int i = 0; i < s; i++) c[i] = t[i];
            for (int i = s; i < clen - Rb; i++) { c[i] = 2 + (int)rng_below(r, (uint32_t)(V - 2)); }
            if (clen - Rb > s && c[s] == t[s]) c[s] = c[s] == 2 ? 3 : 2;   /* the prefix ends at s */
            for (int i = 0; i < Rb; i++) c[clen - Rb + i] = t[len - Rb + i];
            for (int i = clen; i < Tc; i++) c[i] = 0;
        }
        for (int k = 0; k < R; k++) {
            int idx = b * R + k;
            if (k >= Rb) { bt->rpos[idx] = -1; bt->cpos[idx] = -1; continue; }
            bt->rpos[idx] = len - Rb - 1 + k;
            bt->cpos[idx] = Tc ? clen - Rb - 1 + k : -1;
            bt->lab[idx] = t[len - Rb + k];
            float w = Rb == 1 ? 1.0f : 1.0f - (1.0f - beta) * k / (Rb - 1);   /* Eq. 5 */
            bt->cw[idx] = w; omega += w; count++;
        }
    }
    for (int i = 0; i < B * R; i++) if (bt->rpos[i] >= 0) { bt->cw[i] = (float)(bt->cw[i] / omega); bt->nw[i] = 1.0f / count; }
}

static CftBatch as_cft(const Batch *bt) {
    CftBatch c = {bt->B, bt->T, bt->Tc, bt->R, bt->tok, bt->len, bt->ctok, bt->clen, bt->rpos, bt->cpos,
                  bt->lab, bt->nw, bt->cw};
    return c;
}

static void free_batch(Batch *bt) {
    free(bt->tok); free(bt->len); free(bt->ctok); free(bt->clen); free(bt->rpos); free(bt->cpos);
    free(bt->lab); free(bt->nw); free(bt->cw);
}

static void write_f32(const char *dir, const char *name, const float *x, size_t n) {
    char path[4096]; snprintf(path, sizeof path, "%s/%s", dir, name);
    OutFile o = out_open(path);
    if (n && fwrite(x, sizeof(float), n, o.f) != n) die(EXIT_IO, "%s: write failed", path);
    out_commit(&o);
}

static void put_ints(FILE *f, const char *key, const int *x, size_t n) {
    fprintf(f, "\"%s\": [", key);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", x[i]);
    fprintf(f, "],\n");
}
static void put_floats(FILE *f, const char *key, const float *x, size_t n) {
    fprintf(f, "\"%s\": [", key);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.9g", i ? "," : "", x[i]);
    fprintf(f, "],\n");
}

/* rescale the N(0,0.02) init so the tiny test model is far from uniform logits, and give
 * norms and biases non-trivial values */
static void perturb(Model *m, float std, uint64_t seed) {
    const ParamInfo *t; int n = model_param_table(m, &t);
    float *p = model_params(m);
    Rng r; rng_seed(&r, seed ^ 0x5eedULL);
    for (int i = 0; i < n; i++) {
        size_t ln = strlen(t[i].name);
        int is_norm = strstr(t[i].name, "norm.weight") != NULL;
        int is_bias = ln > 5 && !strcmp(t[i].name + ln - 5, ".bias");
        for (size_t k = 0; k < t[i].numel; k++) {
            float *x = p + t[i].offset + k;
            if (is_norm) *x = 1.0f + 0.2f * rng_normal(&r);
            else if (is_bias) *x = 0.3f * rng_normal(&r);
            else *x *= std / 0.02f;
        }
    }
}

/* A checkpoint, optionally cut to its first keep layers: a real model's slice keeps the
 * parity oracle's cost small while testing the real weights' scales. */
static Model *load_slice(const char *dir, int keep) {
    Model *full = model_load(dir);
    const ModelConfig *fc = model_config(full);
    if (keep <= 0 || keep >= fc->num_hidden_layers) return full;
    ModelConfig c = *fc;
    c.num_hidden_layers = keep;
    Model *m = model_alloc(&c);
    const ParamInfo *ft, *t;
    int fn = model_param_table(full, &ft), n = model_param_table(m, &t);
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < fn && strcmp(ft[j].name, t[i].name)) j++;
        if (j == fn) die(EXIT_DATA, "%s: no tensor '%s' for the slice", dir, t[i].name);
        memcpy(model_params(m) + t[i].offset, model_params(full) + ft[j].offset, t[i].numel * sizeof(float));
    }
    model_free(full);
    return m;
}

static int cmd_logits(Opts *o) {
    if (!o->init || !o->ids || !o->out) die(EXIT_USAGE, "logits: --init DIR, --ids a,b,c and --out DIR are required");
    if (mkdir(o->out, 0777) && errno != EEXIST) die(EXIT_IO, "%s: cannot create directory", o->out);
    Model *m = load_slice(o->init, o->keep_layers);
    if (o->threads) model_set_threads(m, o->threads);
    const ModelConfig *c = model_config(m);
    int cap = (int)strlen(o->ids) / 2 + 2, *ids = xmalloc(sizeof(int) * (size_t)cap);
    int T = parse_int_list(o->ids, ids, cap, "--ids");
    if (T < 1) die(EXIT_USAGE, "logits: --ids is empty");
    for (int i = 0; i < T; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size) die(EXIT_USAGE, "--ids: %d outside the vocabulary", ids[i]);
    /* the training forward's logits at every position: a batch of one row whose "response"
     * is every position (label = the next token, or itself at the end: unused here) */
    int *rpos = xmalloc(sizeof(int) * (size_t)T), *lab = xmalloc(sizeof(int) * (size_t)T), *cpos = xmalloc(sizeof(int) * (size_t)T);
    float *w = xmalloc(sizeof(float) * (size_t)T);
    for (int t = 0; t < T; t++) { rpos[t] = t; cpos[t] = -1; lab[t] = ids[t + 1 < T ? t + 1 : t]; w[t] = 1.0f / T; }
    CftBatch b = {1, T, 0, T, ids, &T, NULL, NULL, rpos, cpos, lab, w, w};
    float ln, lc;
    model_cft_step(m, &b, 0.0f, 0, &ln, &lc);
    int rows; const float *lg = model_last_logits(m, &rows);
    write_f32(o->out, "logits.bin", lg, (size_t)rows * c->vocab_size);
    Infer *ix = infer_new(c, model_weights(m));
    if (o->threads) infer_set_threads(ix, o->threads);
    float *last = xmalloc(sizeof(float) * (size_t)c->vocab_size);
    infer_prefill(ix, 1, &T, ids, 0, NULL, last);
    write_f32(o->out, "last.bin", last, (size_t)c->vocab_size);
    printf("{\"T\": %d, \"V\": %d, \"rows\": %d, \"layers\": %d}\n", T, c->vocab_size, rows, c->num_hidden_layers);
    infer_free(ix);
    free(last); free(rpos); free(lab); free(cpos); free(w); free(ids);
    model_free(m);
    return 0;
}

static int cmd_dump(Opts *o) {
    if (!o->out) die(EXIT_USAGE, "dump: --out DIR is required");
    if (mkdir(o->out, 0777) && errno != EEXIST) die(EXIT_IO, "%s: cannot create directory", o->out);
    Model *m;
    if (o->init) {
        m = load_slice(o->init, o->keep_layers);
        o->cfg = *model_config(m);
    } else {
        m = model_new(&o->cfg, o->seed);
        perturb(m, o->init_std, o->seed);
    }
    if (o->threads) model_set_threads(m, o->threads);
    model_set_share_prefix(m, o->share);
    model_set_prune_last(m, o->prune);
    model_set_freeze_layers(m, o->freeze);
    model_set_device(m, o->device, o->precision);
    model_set_attention(m, o->attention);
    Rng r; rng_seed(&r, o->seed * 7919 + 3);
    Batch bt; make_batch(&bt, o->B, o->T, o->Tc, o->R, o->cfg.vocab_size, o->beta, -1, 0, &r);
    if (o->corrupt) {
        if (!strcmp(o->corrupt, "token")) bt.tok[1] = o->cfg.vocab_size;
        else if (!strcmp(o->corrupt, "label")) bt.lab[0] = -2;
        else if (!strcmp(o->corrupt, "pos")) bt.rpos[0] = bt.len[0];
        else if (!strcmp(o->corrupt, "cfpos")) bt.cpos[0] = bt.clen[0] + 1;
        else if (!strcmp(o->corrupt, "length")) bt.len[1] = o->T + 1;
        else die(EXIT_USAGE, "--corrupt: unknown kind '%s'", o->corrupt);
    }
    CftBatch cb = as_cft(&bt);
    size_t P = model_num_params(m);
    write_f32(o->out, "params0.bin", model_params(m), P);
    float ln_e, lc_e;
    float l_e = model_cft_step(m, &cb, o->lambda, 0, &ln_e, &lc_e);
    int rows; const float *lg = model_last_logits(m, &rows);
    write_f32(o->out, "logits.bin", lg, (size_t)rows * o->cfg.vocab_size);
    model_zero_grad(m);
    if (o->dropout > 0) model_set_dropout(m, o->dropout, o->seed);
    float ln_t, lc_t;
    float l_t = model_cft_step(m, &cb, o->lambda, 1, &ln_t, &lc_t);
    write_f32(o->out, "grads.bin", model_grads(m), P);
    float gn = model_grad_norm(m);
    model_adamw(m, o->lr, 0.9f, 0.999f, 1e-8f, o->wd, 1);
    model_adamw(m, o->lr, 0.9f, 0.999f, 1e-8f, o->wd, 2);   /* same grads again: exercises the moments */
    write_f32(o->out, "params2.bin", model_params(m), P);
    /* objective lm on the normal rows, from the updated weights */
    model_zero_grad(m);
    if (o->dropout > 0) model_set_dropout(m, o->dropout, o->seed);
    float lm_loss = model_lm_step(m, o->B, o->T, bt.tok, bt.len, 1);
    write_f32(o->out, "lm_grads.bin", model_grads(m), P);
    char path[4096]; snprintf(path, sizeof path, "%s/meta.json", o->out);
    OutFile of = out_open(path);
    FILE *f = of.f;
    const ModelConfig *c = &o->cfg;
    fprintf(f, "{\"vocab_size\": %d, \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d,\n"
               "\"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"rms_norm_eps\": %.9g, \"rope_theta\": %.9g,\n"
               "\"tie_word_embeddings\": %d, \"attention_bias\": %d, \"B\": %d, \"T\": %d, \"Tc\": %d, \"R\": %d, \"lambda\": %.9g,\n"
               "\"lr\": %.9g, \"wd\": %.9g, \"dropout\": %.9g, \"freeze_layers\": %d, \"logit_rows\": %d, \"lm_loss\": %.9g,\n"
               "\"L_eval\": %.9g, \"Ln_eval\": %.9g, \"Lc_eval\": %.9g, \"L_train\": %.9g, \"Ln_train\": %.9g, \"Lc_train\": %.9g, \"grad_norm\": %.9g,\n",
            c->vocab_size, c->hidden_size, c->intermediate_size, c->num_hidden_layers, c->num_attention_heads,
            c->num_key_value_heads, c->rms_norm_eps, c->rope_theta, c->tie_word_embeddings, c->attention_bias, o->B, o->T, o->Tc, o->R,
            o->lambda, o->lr, o->wd, o->dropout, o->freeze, rows, lm_loss, l_e, ln_e, lc_e, l_t, ln_t, lc_t, gn);
    put_ints(f, "tokens", bt.tok, (size_t)o->B * o->T); put_ints(f, "lengths", bt.len, o->B);
    put_ints(f, "cf_tokens", bt.ctok, (size_t)o->B * (o->Tc ? o->Tc : 1)); put_ints(f, "cf_lengths", bt.clen, o->B);
    put_ints(f, "resp_pos", bt.rpos, (size_t)o->B * o->R); put_ints(f, "cf_resp_pos", bt.cpos, (size_t)o->B * o->R);
    put_ints(f, "resp_label", bt.lab, (size_t)o->B * o->R);
    put_floats(f, "norm_weight", bt.nw, (size_t)o->B * o->R); put_floats(f, "causal_weight", bt.cw, (size_t)o->B * o->R);
    const ParamInfo *t; int n = model_param_table(m, &t);
    fprintf(f, "\"params\": [\n");
    for (int i = 0; i < n; i++)
    {
        char shp[64];
        if (t[i].ndim > 1) snprintf(shp, sizeof shp, "%d, %d", t[i].shape[0], t[i].shape[1]);
        else snprintf(shp, sizeof shp, "%d", t[i].shape[0]);
        fprintf(f, "  {\"name\": \"%s\", \"offset\": %zu, \"shape\": [%s]}%s\n", t[i].name, t[i].offset, shp,
                i + 1 < n ? "," : "");
    }
    fprintf(f, "]}\n");
    out_commit(&of);
    free_batch(&bt);
    model_free(m);
    return 0;
}

/* Whole-model finite differences of the CFT loss L = L_n + lambda L_c through both passes,
 * with dropout on (the mask is a function of the seed and the call counter, reset before
 * every call), for a few sampled coordinates of every tensor. */
static int cft_gradcheck(Opts *o, int share, int prune, float dropout) {
    ModelConfig cfg = o->cfg;
    cfg.num_hidden_layers = 2; cfg.hidden_size = 16; cfg.num_attention_heads = 4; cfg.num_key_value_heads = 2;
    cfg.intermediate_size = 24; cfg.vocab_size = 23; cfg.tie_word_embeddings = 0;
    Model *m = model_new(&cfg, o->seed);
    model_set_threads(m, 2);
    model_set_share_prefix(m, share);
    model_set_prune_last(m, prune);
    perturb(m, 0.2f, o->seed);
    Rng r; rng_seed(&r, o->seed + 99);
    Batch bt; make_batch(&bt, 3, 12, 9, 4, cfg.vocab_size, 0.25f, -1, 0, &r);
    CftBatch cb = as_cft(&bt);
    float lambda = 0.6f;
    model_zero_grad(m);
    model_set_dropout(m, dropout, 77);
    model_cft_step(m, &cb, lambda, 1, NULL, NULL);
    size_t P = model_num_params(m);
    float *an = xmalloc(sizeof(float) * P);
    memcpy(an, model_grads(m), sizeof(float) * P);
    float *p = model_params(m);
    const ParamInfo *t; int n = model_param_table(m, &t);
    int bad = 0;
    const float h = 1e-2f;
    for (int i = 0; i < n; i++) {
        double maxan = 0, maxerr = 0;
        for (size_t k = 0; k < t[i].numel; k++) if (fabs(an[t[i].offset + k]) > maxan) maxan = fabs(an[t[i].offset + k]);
        for (int s = 0; s < 4; s++) {
            /* sample the coordinate with the largest gradient first, then random ones */
            size_t k = 0;
            if (s == 0) { for (size_t j = 0; j < t[i].numel; j++) if (fabs(an[t[i].offset + j]) == maxan) { k = j; break; } }
            else k = rng_below(&r, (uint32_t)t[i].numel);
            float *x = p + t[i].offset + k, save = *x;
            *x = save + h; model_set_dropout(m, dropout, 77); double lp = model_cft_step(m, &cb, lambda, 1, NULL, NULL);
            *x = save - h; model_set_dropout(m, dropout, 77); double lm = model_cft_step(m, &cb, lambda, 1, NULL, NULL);
            *x = save;
            double fd = (lp - lm) / (2.0 * h), e = fabs(fd - an[t[i].offset + k]);
            if (e > maxerr) maxerr = e;
        }
        int ok = maxerr <= 2e-2 * maxan + 5e-4;
        printf("%s gradcheck cft-loss%s%s%s %-45s max|grad|=%.3e max|fd-grad|=%.3e\n", ok ? "ok " : "BAD",
               share ? "" : "-noshare", prune ? "" : "-noprune", dropout > 0 ? "-dropout" : "", t[i].name, maxan, maxerr);
        bad += !ok;
    }
    free(an); free_batch(&bt); model_free(m);
    return bad;
}

/* End-to-end sanity of the training math: AdamW on one fixed CFT batch must drive the loss
 * down (L_n and L_c both), with dropout on. */
static int cmd_overfit(Opts *o) {
    Model *m = model_new(&o->cfg, o->seed);
    if (o->threads) model_set_threads(m, o->threads);
    Rng r; rng_seed(&r, o->seed + 5);
    Batch bt; make_batch(&bt, o->B, o->T, o->Tc, o->R, o->cfg.vocab_size, o->beta, -1, 0, &r);
    CftBatch cb = as_cft(&bt);
    float ln0, lc0, ln, lc;
    float l0 = model_cft_step(m, &cb, o->lambda, 0, &ln0, &lc0), l = l0;
    for (int s = 1; s <= o->iters; s++) {
        model_zero_grad(m);
        model_set_dropout(m, 0.05f, o->seed + (uint64_t)s);
        model_cft_step(m, &cb, o->lambda, 1, NULL, NULL);
        float gn = model_grad_norm(m);
        if (gn > 1.0f) model_scale_grads(m, 1.0f / gn);
        model_adamw(m, o->lr, 0.9f, 0.999f, 1e-8f, o->wd, s);
    }
    l = model_cft_step(m, &cb, o->lambda, 0, &ln, &lc);
    printf("overfit steps=%d L %.4f -> %.4f  L_n %.4f -> %.4f  L_c %.4f -> %.4f\n", o->iters, l0, l, ln0, ln, lc0, lc);
    free_batch(&bt); model_free(m);
    return (ln < 0.2f * ln0 && lc < 0.2f * lc0) ? 0 : 1;
}

static int cmd_gradcheck(Opts *o) {
    int bad = model_gradcheck_layers(o->seed, stdout);
    bad += cft_gradcheck(o, 1, 1, 0.0f);
    bad += cft_gradcheck(o, 1, 1, 0.2f);
    bad += cft_gradcheck(o, 0, 0, 0.2f);
    printf("gradcheck: %d failed\n", bad);
    return bad ? 1 : 0;
}

/* Benchmark configs: micro-batch B, R response tokens at the end of each row, counterfactual
 * prompt shorter than the normal one; it shares its first Tc - R - 8 tokens with the normal
 * prompt (as mkprompt's None-history prompts share the instruction head and differ in the
 * ~8 tokens that close it). A and B are issue 3's (Qwen2 layout, micro-batch 16); smollm2 is
 * SmolLM2-135M (Llama layout, no q/k/v biases, tied) on a ~150-token prompt+response with a
 * 40-token counterfactual prompt (the instruction without the history) + the same 12-token
 * response, at a two-core micro-batch of 4. */
typedef struct { const char *name; int C, L, NH, KVH, F, V, T, Tc, B, R, bias; } BenchCfg;
static const BenchCfg BENCH[] = {
    {"A", 128, 2, 4, 2, 352, 4000, 100, 30, 16, 12, 1},
    {"B", 256, 4, 4, 2, 704, 8000, 160, 48, 16, 12, 1},
    {"smollm2", 576, 30, 9, 3, 1536, 49152, 150, 52, 4, 12, 0},
    /* GPU shapes (bench/gpu.sh): the paper's batch of 64 (one micro-batch on a GPU), SmolLM2
     * and Qwen2.5-0.5B (QKV biases, 14/2 heads, vocab 151936) */
    {"smollm2-b64", 576, 30, 9, 3, 1536, 49152, 150, 52, 64, 12, 0},
    {"qwen2.5-b64", 896, 24, 14, 2, 4864, 151936, 150, 52, 64, 12, 1},
};

static double cpu_s(void) {
    struct timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double g_cpu_ms;   /* CPU time per step of the last bench_run (all threads) */

/* one optimizer step = accum micro-batches (the same batch again: the work is what counts) */
static double bench_run(Model *m, const CftBatch *cb, float lambda, int iters, int warmup, int accum, double *gflops) {
    long step = 0;
    for (int i = 0; i < warmup; i++) {
        model_zero_grad(m);
        for (int a = 0; a < accum; a++) model_cft_step(m, cb, lambda, 1, NULL, NULL);
        model_adamw(m, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, ++step);
    }
    double f0 = model_flops(m), t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < iters; i++) {
        model_zero_grad(m);
        for (int a = 0; a < accum; a++) {
            float l = model_cft_step(m, cb, lambda, 1, NULL, NULL);
            if (!isfinite(l)) die(EXIT_DATA, "bench: non-finite loss");
        }
        model_scale_grads(m, 1.0f / fmaxf(1.0f, model_grad_norm(m)));
        model_adamw(m, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, ++step);
    }
    double dt = now_s() - t0;
    g_cpu_ms = (cpu_s() - c0) / iters * 1e3;
    *gflops = (model_flops(m) - f0) / dt / 1e9;
    return dt / iters;
}

/* reference: OpenBLAS sgemm rate on 1024^3 with the same thread count (GFLOP/s; printed
 * when print) */
static double bench_sgemm(int threads, int print) {
    int n = 1024;
    float *a = xmalloc(sizeof(float) * n * n), *b = xmalloc(sizeof(float) * n * n), *c = xmalloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    /* the best of 3 runs of 10: on a shared VM a single run swings by 2x (another tenant's
     * burst); the best is the rate the machine can give, so pct_sgemm errs low, never high */
    int reps = 10;
    double dt = INFINITY;
    for (int k = 0; k < 3; k++) {
        double t0 = now_s();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double d = (now_s() - t0) / reps;
        if (d < dt) dt = d;
    }
    if (print) printf("bench sgemm-1024 gflops=%.1f threads=%d\n", 2.0 * n * n * n / dt / 1e9, threads);
    fflush(stdout);
    free(a); free(b); free(c);
    return 2.0 * n * n * n / dt / 1e9;
}

/* peak resident set of the process so far, MiB */
static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Each step line: samples/s, GFLOP/s performed, pct_sgemm = that rate as % of an OpenBLAS
 * sgemm measured in this process right before the run (a same-moment peer: the ratio holds
 * on a loaded machine, the absolute rates do not), rss_mb = the process's peak resident set
 * after the timed steps (a running maximum: run one --freeze-layers per process to compare). */
static int cmd_bench(Opts *o) {
    int threads = o->threads ? o->threads : omp_get_num_procs();
    if (o->config && !strcmp(o->config, "sgemm")) { bench_sgemm(threads, 1); return 0; }
    const BenchCfg *bc = NULL;
    for (size_t i = 0; i < sizeof BENCH / sizeof *BENCH; i++) if (o->config && !strcmp(o->config, BENCH[i].name)) bc = &BENCH[i];
    if (!bc) die(EXIT_USAGE, "bench: --config A|B|smollm2|smollm2-b64|qwen2.5-b64|sgemm required");
    ModelConfig cfg = {.vocab_size = bc->V, .hidden_size = bc->C, .intermediate_size = bc->F, .num_hidden_layers = bc->L,
                       .num_attention_heads = bc->NH, .num_key_value_heads = bc->KVH, .max_position_embeddings = 4096,
                       .rms_norm_eps = 1e-6f, .rope_theta = 1e6f, .tie_word_embeddings = 1,
                       .attention_bias = bc->bias, .model_type = bc->bias ? MODEL_QWEN2 : MODEL_LLAMA};
    Model *m = model_new(&cfg, o->seed);
    if (o->threads) model_set_threads(m, o->threads);
    model_set_dropout(m, 0.05f, o->seed);
    model_set_freeze_layers(m, o->freeze);
    model_set_device(m, o->device, o->precision);
    model_set_attention(m, o->attention);
    int gpu = strcmp(o->device, "cpu") != 0;
    if (gpu) printf("bench device %s precision=%s attention=%s\n", model_device_name(m), o->precision, o->attention);
    const int B = bc->B, R = bc->R, shared = bc->Tc - R - 8;
    Rng r; rng_seed(&r, o->seed);
    Batch bt; make_batch(&bt, B, bc->T, bc->Tc, R, bc->V, 0.25f, shared, 1, &r);
    CftBatch cft = as_cft(&bt), big = cft;
    big.Tc = 0;
    if (o->accum < 1 || o->accum > 1024) die(EXIT_USAGE, "bench: --accum must be in 1..1024");
    char nm[64];
    snprintf(nm, sizeof nm, "%s", bc->name);
    if (o->accum > 1) snprintf(nm + strlen(nm), sizeof nm - strlen(nm), "-accum%d", o->accum);
    if (o->freeze) snprintf(nm + strlen(nm), sizeof nm - strlen(nm), "-freeze%d", o->freeze);
    const int S = B * o->accum;   /* samples per optimizer step */
    double gf, t, sg;
    sg = gpu ? NAN : bench_sgemm(threads, 0);
    t = bench_run(m, &cft, 0.1f, o->iters, o->warmup, o->accum, &gf);
    printf("bench train-cft-%s samples_per_s=%.3f gflops=%.1f pct_sgemm=%.1f sgemm_gflops=%.1f step_ms=%.1f cpu_ms=%.1f rss_mb=%.0f "
           "B=%d T=%d Tc=%d R=%d shared=%d freeze=%d threads=%d accum=%d\n",
           nm, S / t, gf, 100 * gf / sg, sg, t * 1e3, g_cpu_ms, peak_rss_mb(), B, bc->T, bc->Tc, R, shared, o->freeze, threads, o->accum);
    fflush(stdout);
    double tc = t;
    sg = gpu ? NAN : bench_sgemm(threads, 0);
    t = bench_run(m, &big, 0.1f, o->iters, o->warmup, o->accum, &gf);
    printf("bench train-bigrec-%s samples_per_s=%.3f gflops=%.1f pct_sgemm=%.1f sgemm_gflops=%.1f step_ms=%.1f cpu_ms=%.1f rss_mb=%.0f B=%d T=%d\n",
           nm, S / t, gf, 100 * gf / sg, sg, t * 1e3, g_cpu_ms, peak_rss_mb(), B, bc->T);
    fflush(stdout);
    double tb = t;
    if (o->plain) {
        model_set_share_prefix(m, 0);
        model_set_prune_last(m, 0);
        sg = gpu ? NAN : bench_sgemm(threads, 0);
        t = bench_run(m, &cft, 0.1f, o->iters, o->warmup, o->accum, &gf);
        printf("bench train-cft-plain-%s samples_per_s=%.3f gflops=%.1f pct_sgemm=%.1f step_ms=%.1f cpu_ms=%.1f\n",
               nm, S / t, gf, 100 * gf / sg, t * 1e3, g_cpu_ms);
        printf("bench cft-over-bigrec-%s ratio=%.3f ratio_plain=%.3f\n", nm, tc / tb, t / tb);
    } else printf("bench cft-over-bigrec-%s ratio=%.3f\n", nm, tc / tb);
    fflush(stdout);
    free_batch(&bt);
    model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    if (argc < 2) usage(EXIT_USAGE);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) usage(0);
    Opts o; parse(argc, argv, &o);
    if (!strcmp(argv[1], "dump")) return cmd_dump(&o);
    if (!strcmp(argv[1], "gradcheck")) return cmd_gradcheck(&o);
    if (!strcmp(argv[1], "bench")) return cmd_bench(&o);
    if (!strcmp(argv[1], "overfit")) return cmd_overfit(&o);
    if (!strcmp(argv[1], "logits")) return cmd_logits(&o);
    die(EXIT_USAGE, "unknown command '%s' (see --help)", argv[1]);
}
