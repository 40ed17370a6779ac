/* ckpt: checkpoint directory I/O (model_load / model_save of model.h) and trainer state.
 * See ckpt.h for the layout and the atomic-replace protocol. */
#define _GNU_SOURCE
#include "ckpt.h"
#include "safetensors.h"
#include "util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_join(const char *dir, const char *name) {
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

int ckpt_has(const char *dir, const char *name) {
    char *p = path_join(dir, name);
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}


/* ---------------- config.json ---------------- */
static int cfg_int(const cJSON *o, const char *file, const char *key, int dflt, int lo, int hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (dflt == INT32_MIN) die(EXIT_DATA, "%s: %s: missing key", file, key);
        return dflt;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        die(EXIT_DATA, "%s: %s: expected an integer in [%d, %d]", file, key, lo, hi);
    return (int)v->valuedouble;
}
static float cfg_float(const cJSON *o, const char *file, const char *key, float dflt, double lo, double hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return dflt;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        die(EXIT_DATA, "%s: %s: expected a number in [%g, %g]", file, key, lo, hi);
    return (float)v->valuedouble;
}

void ckpt_read_config(const char *dir, ModelConfig *c) {
    char *file = path_join(dir, "config.json");
    ckpt_read_config_file(file, c, -1);
    free(file);
}

void ckpt_read_config_file(const char *file, ModelConfig *c, int vocab_default) {
    size_t n;
    char *txt = slurp_file(file, 1 << 20, &n);
    cJSON *o = cJSON_ParseWithLength(txt, n);
    if (!o || !cJSON_IsObject(o)) die(EXIT_DATA, "%s: not a JSON object", file);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "model_type");
    if (mt && (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "qwen2") && strcmp(mt->valuestring, "llama"))))
        die(EXIT_DATA, "%s: model_type: expected \"qwen2\" or \"llama\" (the architectures supported)", file);
    int llama = mt && !strcmp(mt->valuestring, "llama");
    /* HF Llama options this model does not have: refuse rather than run a different network */
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(o, "mlp_bias");
    if (mb && !cJSON_IsFalse(mb)) die(EXIT_DATA, "%s: mlp_bias: only false is supported", file);
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(o, "pretraining_tp");
    if (tp && !(cJSON_IsNumber(tp) && tp->valuedouble == 1)) die(EXIT_DATA, "%s: pretraining_tp: only 1 is supported", file);
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(o, "attention_bias");
    if (ab && !cJSON_IsBool(ab)) die(EXIT_DATA, "%s: attention_bias: expected true or false", file);
    /* HF Qwen2 always has q/k/v biases and ignores the key; Llama defaults to none */
    if (mt && !llama && ab && cJSON_IsFalse(ab))
        die(EXIT_DATA, "%s: attention_bias: Qwen2 always has q/k/v biases (use model_type \"llama\")", file);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu")))
        die(EXIT_DATA, "%s: hidden_act: only \"silu\" is supported", file);
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(o, "use_sliding_window");
    if (sw && cJSON_IsTrue(sw)) die(EXIT_DATA, "%s: use_sliding_window: sliding-window attention is not supported", file);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) die(EXIT_DATA, "%s: rope_scaling: not supported", file);
    memset(c, 0, sizeof *c);
    c->model_type = llama ? MODEL_LLAMA : MODEL_QWEN2;
    c->attention_bias = ab ? cJSON_IsTrue(ab) : !llama;
    const int REQ = INT32_MIN;
    c->vocab_size = cfg_int(o, file, "vocab_size", vocab_default > 0 ? vocab_default : REQ, 1, 1 << 24);
    c->hidden_size = cfg_int(o, file, "hidden_size", REQ, 2, 1 << 16);
    c->intermediate_size = cfg_int(o, file, "intermediate_size", REQ, 1, 1 << 18);
    c->num_hidden_layers = cfg_int(o, file, "num_hidden_layers", REQ, 1, 1024);
    c->num_attention_heads = cfg_int(o, file, "num_attention_heads", REQ, 1, 1024);
    c->num_key_value_heads = cfg_int(o, file, "num_key_value_heads", c->num_attention_heads, 1, 1024);
    c->max_position_embeddings = cfg_int(o, file, "max_position_embeddings", 32768, 1, 1 << 24);
    c->rms_norm_eps = cfg_float(o, file, "rms_norm_eps", 1e-6f, 0, 1);
    c->rope_theta = cfg_float(o, file, "rope_theta", 10000.0f, 1, 1e12);
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(o, "tie_word_embeddings");
    if (tie && !cJSON_IsBool(tie)) die(EXIT_DATA, "%s: tie_word_embeddings: expected true or false", file);
    c->tie_word_embeddings = tie ? cJSON_IsTrue(tie) : 0;   /* HF Qwen2Config default: false */
    c->bos_token_id = cfg_int(o, file, "bos_token_id", -1, -1, c->vocab_size - 1);
    c->eos_token_id = cfg_int(o, file, "eos_token_id", -1, -1, c->vocab_size - 1);
    c->pad_token_id = cfg_int(o, file, "pad_token_id", -1, -1, c->vocab_size - 1);
    if (c->hidden_size % c->num_attention_heads)
        die(EXIT_DATA, "%s: hidden_size %d not divisible by num_attention_heads %d", file, c->hidden_size, c->num_attention_heads);
    if (c->num_attention_heads % c->num_key_value_heads)
        die(EXIT_DATA, "%s: num_attention_heads %d not divisible by num_key_value_heads %d", file, c->num_attention_heads, c->num_key_value_heads);
    int hd = c->hidden_size / c->num_attention_heads;
    if (hd % 2) die(EXIT_DATA, "%s: head dim %d must be even (RoPE)", file, hd);
    const cJSON *hdv = cJSON_GetObjectItemCaseSensitive(o, "head_dim");
    if (hdv && !cJSON_IsNull(hdv) && (!cJSON_IsNumber(hdv) || hdv->valuedouble != hd))
        die(EXIT_DATA, "%s: head_dim: must equal hidden_size / num_attention_heads = %d", file, hd);
    /* whole model must stay addressable: params = V*C*(2-tie) + L*(4C^2+3CF) roughly */
    double np = (double)c->vocab_size * c->hidden_size * 2 +
                (double)c->num_hidden_layers * (4.0 * c->hidden_size * c->hidden_size + 3.0 * c->hidden_size * c->intermediate_size);
    if (np > 4e9) die(EXIT_DATA, "%s: model too large (%.3g parameters)", file, np);
    cJSON_Delete(o);
    free(txt);
}

/* shortest decimal that reads back as the same float: config.json stays readable (1e-06) */
static cJSON *float_json(float x) {
    char buf[48];
    if (x == floorf(x) && fabsf(x) < 1e15f) {   /* integral: 10000.0, not 1e+04 */
        snprintf(buf, sizeof buf, "%.1f", (double)x);
        return cJSON_CreateRaw(buf);
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");   /* keep it a float literal: 10000.0 */
    return cJSON_CreateRaw(buf);
}

static char *config_json(const ModelConfig *c) {
    cJSON *o = cJSON_CreateObject();
    int llama = c->model_type == MODEL_LLAMA;
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM"));
    cJSON_AddStringToObject(o, "model_type", llama ? "llama" : "qwen2");
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->num_hidden_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->num_attention_heads);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->num_key_value_heads);
    cJSON_AddStringToObject(o, "hidden_act", "silu");
    cJSON_AddItemToObject(o, "rms_norm_eps", float_json(c->rms_norm_eps));
    cJSON_AddItemToObject(o, "rope_theta", float_json(c->rope_theta));
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_position_embeddings);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tie_word_embeddings);
    if (c->bos_token_id >= 0) cJSON_AddNumberToObject(o, "bos_token_id", c->bos_token_id);
    if (c->eos_token_id >= 0) cJSON_AddNumberToObject(o, "eos_token_id", c->eos_token_id);
    if (c->pad_token_id >= 0) cJSON_AddNumberToObject(o, "pad_token_id", c->pad_token_id);
    cJSON_AddStringToObject(o, "torch_dtype", "float32");
    if (llama) {
        cJSON_AddBoolToObject(o, "attention_bias", c->attention_bias);
        cJSON_AddBoolToObject(o, "mlp_bias", 0);
        cJSON_AddNumberToObject(o, "pretraining_tp", 1);
        cJSON_AddNullToObject(o, "rope_scaling");
    } else {
        cJSON_AddBoolToObject(o, "use_sliding_window", 0);
        cJSON_AddNumberToObject(o, "sliding_window", c->max_position_embeddings);
        cJSON_AddNumberToObject(o, "max_window_layers", c->num_hidden_layers);
    }
    cJSON_AddItemToObject(o, "attention_dropout", cJSON_CreateRaw("0.0"));
    cJSON_AddItemToObject(o, "initializer_range", cJSON_CreateRaw("0.02"));
    cJSON_AddBoolToObject(o, "use_cache", 1);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* ---------------- model_load ---------------- */
Model *model_load(const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0) die(EXIT_IO, "%s: cannot open checkpoint: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) die(EXIT_IO, "%s: not a checkpoint directory", dir);
    ModelConfig cfg;
    ckpt_read_config(dir, &cfg);
    char *stp = path_join(dir, "model.safetensors");
    if (stat(stp, &st) != 0) {
        if (ckpt_has(dir, "model.safetensors.index.json"))
            die(EXIT_DATA, "%s: sharded checkpoints (model.safetensors.index.json) are not supported", dir);
        die(EXIT_IO, "%s: cannot open: %s", stp, strerror(errno));
    }
    StFile *f = st_open(stp);
    /* every shape and dtype is checked against the file before anything is allocated: a small
     * checkpoint whose config claims a huge vocabulary is refused at once, and the weights
     * allocated are then bounded by what the file holds */
    static ParamInfo *pt;   /* static: still reachable if a check below dies (LeakSanitizer) */
    static char *used;
    int np = model_config_table(&cfg, &pt, NULL);
    used = xcalloc((size_t)f->n + 1, 1);
    static const StTensor **src;
    src = xcalloc((size_t)np, sizeof *src);
    for (int i = 0; i < np; i++) {
        const StTensor *t = st_find(f, pt[i].name);
        if (!t) die(EXIT_DATA, "%s: tensor '%s': missing", stp, pt[i].name);
        int ok = t->ndim == pt[i].ndim;
        for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == pt[i].shape[d];
        if (!ok) {
            char want[64], got[128] = "";
            if (pt[i].ndim == 2) snprintf(want, sizeof want, "[%d, %d]", pt[i].shape[0], pt[i].shape[1]);
            else snprintf(want, sizeof want, "[%d]", pt[i].shape[0]);
            for (int d = 0; d < t->ndim && strlen(got) < 100; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "", (long long)t->shape[d]);
            die(EXIT_DATA, "%s: tensor '%s': shape [%s] does not match config.json (expected %s)", stp, pt[i].name, got, want);
        }
        if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16)
            die(EXIT_DATA, "%s: tensor '%s': dtype %s not supported (F32, BF16, F16)", stp, pt[i].name, st_dtype_name(t->dtype));
        src[i] = t;
        used[t - f->t] = 1;
    }
    for (int i = 0; i < f->n; i++) {
        if (used[i]) continue;
        const char *nm = f->t[i].name;
        size_t l = strlen(nm);
        if (cfg.tie_word_embeddings && !strcmp(nm, "lm_head.weight"))
            info("%s: ignoring lm_head.weight (tie_word_embeddings is true)", stp);
        else if (l >= 19 && !strcmp(nm + l - 19, "rotary_emb.inv_freq"))
            continue;   /* old exports carry RoPE buffers; we compute them */
        else die(EXIT_DATA, "%s: tensor '%s': not a weight of this %s config", stp, nm,
                 cfg.model_type == MODEL_LLAMA ? "Llama" : "Qwen2");
    }
    Model *m = model_alloc(&cfg);
    float *params = model_params(m);
    for (int i = 0; i < np; i++) st_read_f32(f, src[i], params + pt[i].offset);
    free(src);
    src = NULL;
    /* non-finite weights would only surface as a NaN loss many steps later */
    size_t n = model_num_params(m);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(params[i])) {
            const char *nm = "?";
            for (int k = 0; k < np; k++) if (i >= pt[k].offset && i < pt[k].offset + pt[k].numel) nm = pt[k].name;
            die(EXIT_DATA, "%s: tensor '%s': non-finite value", stp, nm);
        }
    free(used); free(pt);
    used = NULL; pt = NULL;
    st_close(f);
    free(stp);
    return m;
}

/* ---------------- atomic directory write ---------------- */
static char *g_tmpdir;   /* removed at exit if a save dies half-way */

static void rm_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = path_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}
static void cleanup_tmpdir(void) {
    if (g_tmpdir) { rm_flat_dir(g_tmpdir); free(g_tmpdir); g_tmpdir = NULL; }
}

static void fsync_path(const char *p, int dir) {
    int fd = open(p, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) die(EXIT_IO, "%s: cannot open: %s", p, strerror(errno));
    if (fsync(fd) != 0 && !dir) die(EXIT_IO, "%s: fsync: %s", p, strerror(errno));
    close(fd);
}

static void copy_file(const char *src, const char *dst) {
    size_t n;
    char *b = slurp_file(src, (size_t)1 << 31, &n);
    OutFile o = out_open(dst);
    if (fwrite(b, 1, n, o.f) != n) { out_abort(&o); die(EXIT_IO, "%s: write error", dst); }
    out_commit(&o);
    free(b);
}

/* A tokenizer travels under its kind's name: tokenizer.model (sentencepiece), or
 * tokenizer.json with the tokenizer_config.json beside it (HF BPE: special tokens, chat
 * template). The kind is told by the name, as tok_find looks for it. */
static void copy_tokenizer(const char *src, const char *dir) {
    size_t l = strlen(src);
    int json = l >= 5 && !strcmp(src + l - 5, ".json");
    char *p = path_join(dir, json ? "tokenizer.json" : "tokenizer.model");
    copy_file(src, p);
    free(p);
    if (!json) return;
    const char *sl = strrchr(src, '/');
    char *sdir = sl ? xstrdup(src) : xstrdup(".");
    if (sl) sdir[sl - src] = 0;
    if (ckpt_has(sdir, "tokenizer_config.json")) {
        char *a = path_join(sdir, "tokenizer_config.json"), *b = path_join(dir, "tokenizer_config.json");
        copy_file(a, b);
        free(a); free(b);
    }
    free(sdir);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char *p = path_join(dir, name);
    OutFile o = out_open(p);
    size_t n = strlen(text);
    if (fwrite(text, 1, n, o.f) != n || putc('\n', o.f) == EOF) { out_abort(&o); die(EXIT_IO, "%s: write error", p); }
    out_commit(&o);
    free(p);
}

/* remove DIR.tmp.PID / DIR.old.PID left by a writer that was killed (PID no longer alive) */
static void clean_stale(const char *dir) {
    char *parent = xstrdup(dir), *sl = strrchr(parent, '/');
    const char *base = sl ? sl + 1 : dir;
    if (sl == parent) sl[1] = 0; else if (sl) *sl = 0; else strcpy(parent, ".");
    size_t bl = strlen(base);
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, base, bl)) continue;
        const char *rest = e->d_name + bl;
        if (strncmp(rest, ".tmp.", 5) && strncmp(rest, ".old.", 5)) continue;
        char *end;
        long pid = strtol(rest + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *p = path_join(parent, e->d_name);
        rm_flat_dir(p);
        free(p);
    }
    if (d) closedir(d);
    free(parent);
}

/* mkdir -p of DIR's parent, so --out runs/x/model works on a fresh tree */
static void make_parents(const char *dir) {
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) die(EXIT_IO, "%s: cannot create: %s", p, strerror(errno));
        *s = '/';
    }
    free(p);
}

void ckpt_save(const Model *m, const char *dir_arg, const char *tokenizer, const cJSON *state, int with_optimizer) {
    struct stat st;
    char *dir = xstrdup(dir_arg);
    for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; l--) dir[l - 1] = 0;
    make_parents(dir);
    clean_stale(dir);
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) die(EXIT_IO, "%s: exists and is not a directory", dir);
        DIR *d = opendir(dir);
        int empty = 1;
        struct dirent *e;
        while (d && (e = readdir(d))) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
        if (d) closedir(d);
        if (!empty && !ckpt_has(dir, "config.json"))
            die(EXIT_IO, "%s: refusing to replace a directory that is not a checkpoint (no config.json)", dir);
    }
    static int atexit_done;
    if (!atexit_done) { atexit(cleanup_tmpdir); atexit_done = 1; }
    char *tmp = xmalloc(strlen(dir) + 32);
    sprintf(tmp, "%s.tmp.%d", dir, (int)getpid());
    rm_flat_dir(tmp);   /* stale leftover of this pid */
    if (mkdir(tmp, 0755) != 0) die(EXIT_IO, "%s: cannot create: %s", tmp, strerror(errno));
    g_tmpdir = xstrdup(tmp);

    char *cj = config_json(model_config(m));
    write_text(tmp, "config.json", cj);
    free(cj);

    const ParamInfo *pt;
    int np = model_param_table(m, &pt);
    const float *params = model_params((Model *)m);
    StWriteTensor *wt = xcalloc((size_t)np, sizeof *wt);
    for (int i = 0; i < np; i++) {
        wt[i].name = pt[i].name;
        wt[i].data = params + pt[i].offset;
        wt[i].ndim = pt[i].ndim;
        for (int d = 0; d < pt[i].ndim; d++) wt[i].shape[d] = pt[i].shape[d];
    }
    static const char *const meta[] = {"format", "pt", NULL};   /* HF requires format=pt */
    char *p = path_join(tmp, "model.safetensors");
    st_write_f32(p, wt, np, meta);
    free(p);
    free(wt);
    if (with_optimizer) {
        size_t n = model_num_params(m);
        StWriteTensor ot[2] = {
            {"adam_m", model_adam_m((Model *)m), 1, {(int64_t)n}},
            {"adam_v", model_adam_v((Model *)m), 1, {(int64_t)n}},
        };
        p = path_join(tmp, "optimizer.safetensors");
        st_write_f32(p, ot, 2, NULL);
        free(p);
    }
    if (state) {
        char *s = cJSON_Print(state);
        write_text(tmp, "trainer_state.json", s);
        free(s);
    }
    if (tokenizer) copy_tokenizer(tokenizer, tmp);
    fsync_path(tmp, 1);
    /* test hook: SIGKILL ourselves between writing and swapping on the Nth save (resume tests) */
    static long nsave;
    const char *ks = getenv("CFT_TEST_KILL_IN_SAVE");
    if (ks && ++nsave == atol(ks)) raise(SIGKILL);

    /* swap into place: atomic when RENAME_EXCHANGE works, else two renames */
    if (stat(dir, &st) == 0) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0) {
            char *old = xmalloc(strlen(dir) + 32);
            sprintf(old, "%s.old.%d", dir, (int)getpid());
            if (rename(dir, old) != 0) die(EXIT_IO, "%s: cannot move aside: %s", dir, strerror(errno));
            if (rename(tmp, dir) != 0) die(EXIT_IO, "%s: cannot rename into place: %s", dir, strerror(errno));
            rm_flat_dir(old);
            free(old);
        }
        /* tmp now holds the old copy */
    } else if (rename(tmp, dir) != 0) {
        die(EXIT_IO, "%s: cannot rename into place: %s", dir, strerror(errno));
    }
    cleanup_tmpdir();
    char *parent = xstrdup(dir), *sl = strrchr(parent, '/');
    if (sl == parent) sl[1] = 0;
    else if (sl) *sl = 0;
    else strcpy(parent, ".");
    fsync_path(parent, 1);
    free(parent);
    free(tmp);
    free(dir);
}

void model_save(const Model *m, const char *dir) { ckpt_save(m, dir, NULL, NULL, 0); }

cJSON *ckpt_load_state(Model *m, const char *dir) {
    char *sp = path_join(dir, "trainer_state.json");
    char *op = path_join(dir, "optimizer.safetensors");
    if (!ckpt_has(dir, "trainer_state.json") || !ckpt_has(dir, "optimizer.safetensors"))
        die(EXIT_IO, "%s: not a resumable state (needs trainer_state.json and optimizer.safetensors)", dir);
    size_t len;
    char *txt = slurp_file(sp, 1 << 20, &len);
    cJSON *s = cJSON_ParseWithLength(txt, len);
    if (!s || !cJSON_IsObject(s)) die(EXIT_DATA, "%s: not a JSON object", sp);
    free(txt);
    StFile *f = st_open(op);
    size_t n = model_num_params(m);
    const char *names[2] = {"adam_m", "adam_v"};
    float *dst[2] = {model_adam_m(m), model_adam_v(m)};
    for (int k = 0; k < 2; k++) {
        const StTensor *t = st_find(f, names[k]);
        if (!t) die(EXIT_DATA, "%s: tensor '%s': missing", op, names[k]);
        if (t->ndim != 1 || (uint64_t)t->shape[0] != n || t->dtype != ST_F32)
            die(EXIT_DATA, "%s: tensor '%s': expected F32 [%zu] (model has %zu parameters)", op, names[k], n, n);
        st_read_f32(f, t, dst[k]);
    }
    /* moments a run passed around could hold anything: AdamW divides by sqrt(v) */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(dst[0][i]) || !isfinite(dst[1][i]) || dst[1][i] < 0)
            die(EXIT_DATA, "%s: element %zu: adam_m %g, adam_v %g (moments must be finite and adam_v >= 0)",
                op, i, (double)dst[0][i], (double)dst[1][i]);
    st_close(f);
    free(sp);
    free(op);
    return s;
}
