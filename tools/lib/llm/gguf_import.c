/* gguf_import: a llama.cpp GGUF model (arch llama or qwen2) as one of our checkpoint
 * directories: HF config.json, F32 weights under HF names, and the tokenizer as an HF
 * tokenizer.json + tokenizer_config.json built from the GGUF metadata, so every tool and HF
 * transformers take the result unchanged. See gguf_import.h. */
#include "gguf_import.h"
#include "ckpt.h"
#include "gguf.h"
#include "model.h"
#include "util.h"
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pre-tokenisers of HF's own tokenizer.json for each llama.cpp `tokenizer.ggml.pre`
 * name we support: llama.cpp copies these regexes from the HF files, and the checkpoint's
 * tokenizer must behave as the model's real tokenizer, so the HF form is written back. */
static const char SMOLLM_PRE[] =
    "{\"type\": \"Sequence\", \"pretokenizers\": ["
    "{\"type\": \"Digits\", \"individual_digits\": true},"
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}]}";
static const char QWEN2_PRE[] =
    "{\"type\": \"Sequence\", \"pretokenizers\": ["
    "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
    "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
    " \"behavior\": \"Isolated\", \"invert\": false},"
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false}]}";

typedef struct { const char *pre, *pretok, *normalizer; } PreSpec;
static const PreSpec PRES[] = {
    {"smollm", SMOLLM_PRE, "null"},
    {"qwen2", QWEN2_PRE, "{\"type\": \"NFC\"}"},
};

static const PreSpec *find_pre(const char *name) {
    for (size_t i = 0; i < sizeof PRES / sizeof *PRES; i++)
        if (!strcmp(PRES[i].pre, name)) return &PRES[i];
    return NULL;
}

static cJSON *parse_const(const char *json) {
    cJSON *o = cJSON_Parse(json);
    if (!o) die(EXIT_DATA, "gguf_import: internal JSON constant does not parse");
    return o;
}

static int id_or_none(const GgufFile *f, const char *key, int V) {
    const GgufKV *kv = gguf_find(f, key);
    if (!kv) return -1;
    uint64_t v = gguf_get_uint(f, key);
    if (v >= (uint64_t)V) die(EXIT_DATA, "%s: key '%s': token id %llu outside the vocabulary (%d)", f->path, key,
                              (unsigned long long)v, V);
    return (int)v;
}

/* ---------------------------------------------------------------- config ---- */
static void read_config(const GgufFile *f, const char *arch, ModelConfig *c, int *llama) {
    char k[128];
#define KEY(suffix) (snprintf(k, sizeof k, "%s.%s", arch, suffix), k)
    memset(c, 0, sizeof *c);
    *llama = !strcmp(arch, "llama");
    c->model_type = *llama ? MODEL_LLAMA : MODEL_QWEN2;
    uint64_t L = gguf_get_uint(f, KEY("block_count")), C = gguf_get_uint(f, KEY("embedding_length"));
    uint64_t F = gguf_get_uint(f, KEY("feed_forward_length")), NH = gguf_get_uint(f, KEY("attention.head_count"));
    uint64_t KVH = gguf_get_uint_or(f, KEY("attention.head_count_kv"), NH);
    uint64_t ctx = gguf_get_uint(f, KEY("context_length"));
    if (L < 1 || L > 1024 || C < 2 || C > 65536 || F < 1 || F > (1 << 18) || NH < 1 || NH > 1024 || KVH < 1 ||
        KVH > NH || ctx < 1 || ctx > (1 << 24))
        die(EXIT_DATA, "%s: %s sizes out of range (layers %llu, width %llu, ffn %llu, heads %llu/%llu, context %llu)",
            f->path, arch, (unsigned long long)L, (unsigned long long)C, (unsigned long long)F,
            (unsigned long long)NH, (unsigned long long)KVH, (unsigned long long)ctx);
    c->num_hidden_layers = (int)L; c->hidden_size = (int)C; c->intermediate_size = (int)F;
    c->num_attention_heads = (int)NH; c->num_key_value_heads = (int)KVH;
    c->max_position_embeddings = (int)ctx;
    c->rope_theta = (float)gguf_get_float_or(f, KEY("rope.freq_base"), 10000.0);
    c->rms_norm_eps = (float)gguf_get_float(f, KEY("attention.layer_norm_rms_epsilon"));
    if (C % NH || NH % KVH) die(EXIT_DATA, "%s: heads %llu/%llu do not divide width %llu", f->path,
                                (unsigned long long)NH, (unsigned long long)KVH, (unsigned long long)C);
    uint64_t HD = C / NH;
    /* variants our model does not compute: refuse instead of importing a different network */
    if (gguf_get_uint_or(f, KEY("rope.dimension_count"), HD) != HD)
        die(EXIT_DATA, "%s: key '%s': partial RoPE is not supported", f->path, k);
    if (gguf_get_uint_or(f, KEY("attention.key_length"), HD) != HD ||
        gguf_get_uint_or(f, KEY("attention.value_length"), HD) != HD)
        die(EXIT_DATA, "%s: head size differs from width / heads (not supported)", f->path);
    const char *sc = gguf_get_str_or(f, KEY("rope.scaling.type"), "none", NULL);
    if (strcmp(sc, "none")) die(EXIT_DATA, "%s: key '%s': RoPE scaling '%s' is not supported", f->path, k, sc);
    if (gguf_find(f, KEY("expert_count"))) die(EXIT_DATA, "%s: key '%s': mixture-of-experts is not supported", f->path, k);
    if (gguf_find(f, KEY("attention.sliding_window")))
        die(EXIT_DATA, "%s: key '%s': sliding-window attention is not supported", f->path, k);
#undef KEY
    c->vocab_size = (int)gguf_arr_len(f, "tokenizer.ggml.tokens", GGUF_T_STRING);
    if (c->vocab_size < 1 || c->vocab_size > (1 << 24)) die(EXIT_DATA, "%s: key 'tokenizer.ggml.tokens': %d tokens", f->path, c->vocab_size);
    c->bos_token_id = id_or_none(f, "tokenizer.ggml.bos_token_id", c->vocab_size);
    c->eos_token_id = id_or_none(f, "tokenizer.ggml.eos_token_id", c->vocab_size);
    c->pad_token_id = id_or_none(f, "tokenizer.ggml.padding_token_id", c->vocab_size);
    c->tie_word_embeddings = gguf_find_tensor(f, "output.weight") == NULL;
    c->attention_bias = gguf_find_tensor(f, "blk.0.attn_q.bias") != NULL;
    if (!*llama && !c->attention_bias) die(EXIT_DATA, "%s: tensor 'blk.0.attn_q.bias': missing (Qwen2 has q/k/v biases)", f->path);
}

/* ---------------------------------------------------------------- weights ---- */
/* HF name of a model parameter -> GGUF tensor name (NULL: not an HF name we know) */
static int gguf_name(const char *hf, char *out, size_t n) {
    static const struct { const char *hf, *gg; } LAYER[] = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"}, {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.weight", "attn_k.weight"}, {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.weight", "attn_v.weight"}, {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"}, {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    if (!strcmp(hf, "model.embed_tokens.weight")) return snprintf(out, n, "token_embd.weight"), 1;
    if (!strcmp(hf, "model.norm.weight")) return snprintf(out, n, "output_norm.weight"), 1;
    if (!strcmp(hf, "lm_head.weight")) return snprintf(out, n, "output.weight"), 1;
    int l, off = 0;
    if (sscanf(hf, "model.layers.%d.%n", &l, &off) == 1 && off > 0)
        for (size_t i = 0; i < sizeof LAYER / sizeof *LAYER; i++)
            if (!strcmp(hf + off, LAYER[i].hf)) return snprintf(out, n, "blk.%d.%s", l, LAYER[i].gg), 1;
    return 0;
}

/* llama.cpp's converter permutes the rows of Q and K of `llama` models so that each head's
 * RoPE pairs are adjacent (GPT-J / interleaved rotation): HF row (h, s, i), s the half and i
 * the pair, is stored at h*HD + 2i + s. Our RoPE is HF's rotate-half, so the rows are put
 * back. `qwen2` is converted unpermuted (llama.cpp rotates it NeoX-style, as HF does). */
static void unpermute_rows(float *w, int heads, int HD, int cols) {
    size_t hb = (size_t)HD * cols;
    float *tmp = xmalloc(hb * sizeof(float));
    for (int h = 0; h < heads; h++) {
        float *blk = w + (size_t)h * hb;
        memcpy(tmp, blk, hb * sizeof(float));
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < HD / 2; i++)
                memcpy(blk + (size_t)(s * HD / 2 + i) * cols, tmp + (size_t)(2 * i + s) * cols, sizeof(float) * cols);
    }
    free(tmp);
}

static void import_weights(const GgufFile *f, Model *m, int llama) {
    const ModelConfig *c = model_config(m);
    const ParamInfo *pt;
    int np = model_param_table(m, &pt);
    float *params = model_params(m);
    char *used = xcalloc((size_t)gguf_n_tensors(f) + 1, 1);
    int HD = c->hidden_size / c->num_attention_heads;
    for (int i = 0; i < np; i++) {
        char gn[128];
        if (!gguf_name(pt[i].name, gn, sizeof gn)) die(EXIT_DATA, "gguf_import: no GGUF name for '%s'", pt[i].name);
        const GgufTensor *t = gguf_find_tensor(f, gn);
        if (!t) die(EXIT_DATA, "%s: tensor '%s': missing (needed for %s)", f->path, gn, pt[i].name);
        /* ggml lists dims fastest first: an HF (rows, cols) matrix is ne = [cols, rows] */
        int ok = t->ndim == pt[i].ndim;
        if (ok && pt[i].ndim == 1) ok = t->ne[0] == (uint64_t)pt[i].shape[0];
        if (ok && pt[i].ndim == 2) ok = t->ne[0] == (uint64_t)pt[i].shape[1] && t->ne[1] == (uint64_t)pt[i].shape[0];
        if (!ok)
            die(EXIT_DATA, "%s: tensor '%s': shape [%llu, %llu] (ggml order) does not fit %s [%d, %d] of the header's config",
                f->path, gn, (unsigned long long)t->ne[0], (unsigned long long)(t->ndim > 1 ? t->ne[1] : 1), pt[i].name,
                pt[i].shape[0], pt[i].ndim > 1 ? pt[i].shape[1] : 1);
        if (!gguf_type_supported(t->type))
            die(EXIT_DATA, "%s: tensor '%s': type %s cannot be converted", f->path, gn,
                gguf_type_name(t->type) ? gguf_type_name(t->type) : "?");
        float *dst = params + pt[i].offset;
        gguf_tensor_f32(f, t, dst);
        used[t - f->t] = 1;
        if (llama) {
            int q = strstr(pt[i].name, "self_attn.q_proj.") != NULL;
            int k = strstr(pt[i].name, "self_attn.k_proj.") != NULL;
            if (q || k) {
                int heads = q ? c->num_attention_heads : c->num_key_value_heads;
                unpermute_rows(dst, heads, HD, pt[i].ndim == 2 ? pt[i].shape[1] : 1);
            }
        }
        info("import: %-40s %-6s -> %s", gn, gguf_type_name(t->type), pt[i].name);
    }
    for (int i = 0; i < gguf_n_tensors(f); i++)
        if (!used[i]) die(EXIT_DATA, "%s: tensor '%s': not a weight this %s model has", f->path, f->t[i].name,
                          llama ? "Llama" : "Qwen2");
    free(used);
    size_t n = model_num_params(m);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(params[i])) {
            const char *nm = "?";
            for (int k = 0; k < np; k++) if (i >= pt[k].offset && i < pt[k].offset + pt[k].numel) nm = pt[k].name;
            die(EXIT_DATA, "%s: weight '%s': non-finite value after dequantisation", f->path, nm);
        }
}

/* ---------------------------------------------------------------- tokenizer ---- */
/* GGUF token types (llama.cpp llama_token_type): 1 normal, 2 unknown, 3 control,
 * 4 user-defined, 5 unused, 6 byte. Control and user-defined tokens are HF added tokens
 * (matched whole before pre-tokenisation); control ones are special. */
static cJSON *tokenizer_json(const GgufFile *f, const char *pretok, const char *normalizer, int V) {
    const GgufKV *toks = gguf_find(f, "tokenizer.ggml.tokens");
    const GgufKV *types = gguf_find(f, "tokenizer.ggml.token_type");
    gguf_arr_len(f, "tokenizer.ggml.merges", GGUF_T_STRING);   /* dies unless a string array */
    const GgufKV *merges = gguf_find(f, "tokenizer.ggml.merges");
    if (types && gguf_arr_len(f, "tokenizer.ggml.token_type", GGUF_T_COUNT) != (uint64_t)V)
        die(EXIT_DATA, "%s: key 'tokenizer.ggml.token_type': %llu entries for %d tokens", f->path,
            (unsigned long long)types->arr_n, V);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", "1.0");
    cJSON_AddNullToObject(o, "truncation");
    cJSON_AddNullToObject(o, "padding");
    cJSON *added = cJSON_AddArrayToObject(o, "added_tokens");
    cJSON *vocab = cJSON_CreateObject();
    for (int i = 0; i < V; i++) {
        size_t len;
        const char *s = gguf_kv_arr_str(f, toks, (uint64_t)i, &len);
        if (strlen(s) != len) die(EXIT_DATA, "%s: key 'tokenizer.ggml.tokens': token %d holds a NUL byte", f->path, i);
        if (utf8_invalid_at(s, len) >= 0) die(EXIT_DATA, "%s: key 'tokenizer.ggml.tokens': token %d is not UTF-8", f->path, i);
        cJSON_AddItemToObject(vocab, s, cJSON_CreateNumber(i));
        int64_t ty = types ? gguf_kv_arr_int(f, types, (uint64_t)i) : 1;
        if (ty == 3 || ty == 4) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", i);
            cJSON_AddStringToObject(a, "content", s);
            cJSON_AddBoolToObject(a, "single_word", 0);
            cJSON_AddBoolToObject(a, "lstrip", 0);
            cJSON_AddBoolToObject(a, "rstrip", 0);
            cJSON_AddBoolToObject(a, "normalized", 0);
            cJSON_AddBoolToObject(a, "special", ty == 3);
            cJSON_AddItemToArray(added, a);
        }
    }
    cJSON_AddItemToObject(o, "normalizer", parse_const(normalizer));
    cJSON_AddItemToObject(o, "pre_tokenizer", parse_const(pretok));
    cJSON_AddNullToObject(o, "post_processor");
    cJSON_AddItemToObject(o, "decoder", parse_const(
        "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true}"));
    cJSON *model = cJSON_AddObjectToObject(o, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddNullToObject(model, "continuing_subword_prefix");
    cJSON_AddNullToObject(model, "end_of_word_suffix");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON *ml = cJSON_AddArrayToObject(model, "merges");
    for (uint64_t i = 0; i < merges->arr_n; i++) {
        size_t len;
        const char *s = gguf_kv_arr_str(f, merges, i, &len);
        const char *sp = strchr(s, ' ');
        if (strlen(s) != len || !sp || sp == s || !sp[1] || strchr(sp + 1, ' '))
            die(EXIT_DATA, "%s: key 'tokenizer.ggml.merges': entry %llu is not \"a b\"", f->path, (unsigned long long)i);
        cJSON_AddItemToArray(ml, cJSON_CreateString(s));
    }
    return o;
}

static cJSON *tokenizer_config(const GgufFile *f, const ModelConfig *c) {
    const GgufKV *toks = gguf_find(f, "tokenizer.ggml.tokens");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "add_bos_token", gguf_get_bool_or(f, "tokenizer.ggml.add_bos_token", 0));
    cJSON_AddBoolToObject(o, "add_eos_token", gguf_get_bool_or(f, "tokenizer.ggml.add_eos_token", 0));
    const struct { const char *key; int id; } sp[] = {
        {"bos_token", c->bos_token_id}, {"eos_token", c->eos_token_id}, {"pad_token", c->pad_token_id}};
    for (int i = 0; i < 3; i++) {
        if (sp[i].id < 0) cJSON_AddNullToObject(o, sp[i].key);
        else cJSON_AddStringToObject(o, sp[i].key, gguf_kv_arr_str(f, toks, (uint64_t)sp[i].id, NULL));
    }
    cJSON_AddNullToObject(o, "unk_token");
    cJSON_AddNumberToObject(o, "model_max_length", c->max_position_embeddings);
    cJSON_AddStringToObject(o, "tokenizer_class", "PreTrainedTokenizerFast");
    cJSON_AddBoolToObject(o, "clean_up_tokenization_spaces", 0);
    const char *tpl = gguf_get_str_or(f, "tokenizer.chat_template", NULL, NULL);
    if (tpl) cJSON_AddStringToObject(o, "chat_template", tpl);
    return o;
}

static void write_json(const char *path, const cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    if (!s) die(EXIT_IO, "%s: out of memory printing JSON", path);
    OutFile of = out_open(path);
    size_t n = strlen(s);
    if (fwrite(s, 1, n, of.f) != n || putc('\n', of.f) == EOF) { out_abort(&of); die(EXIT_IO, "%s: write error", path); }
    out_commit(&of);
    free(s);
}

/* ---------------------------------------------------------------- entry ---- */
static char *g_tokdir;
static void rm_tokdir(void) {
    if (!g_tokdir) return;
    static const char *const names[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", g_tokdir, names[i]);
        unlink(p);
    }
    rmdir(g_tokdir);
    free(g_tokdir);
    g_tokdir = NULL;
}

void gguf_import(int nparts, const char *const *parts, const char *out_dir) {
    GgufFile *f = nparts == 1 ? gguf_open(parts[0]) : gguf_open_parts(nparts, parts);
    const char *arch = gguf_get_str(f, "general.architecture", NULL);
    if (strcmp(arch, "llama") && strcmp(arch, "qwen2"))
        die(EXIT_DATA, "%s: key 'general.architecture': '%s' is not supported (llama, qwen2)", f->path, arch);
    const char *tm = gguf_get_str(f, "tokenizer.ggml.model", NULL);
    if (strcmp(tm, "gpt2")) die(EXIT_DATA, "%s: key 'tokenizer.ggml.model': '%s' is not supported (gpt2: byte-level BPE)", f->path, tm);
    const char *pre = gguf_get_str(f, "tokenizer.ggml.pre", NULL);
    const PreSpec *ps = find_pre(pre);
    if (!ps) die(EXIT_DATA, "%s: key 'tokenizer.ggml.pre': pre-tokeniser '%s' is not supported (smollm, qwen2)", f->path, pre);
    ModelConfig cfg;
    int llama;
    read_config(f, arch, &cfg, &llama);
    info("import: %s %s, %d layers, width %d, %d/%d heads, ffn %d, vocab %d, %s head, pre-tokeniser %s", f->path, arch,
         cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.intermediate_size,
         cfg.vocab_size, cfg.tie_word_embeddings ? "tied" : "untied", pre);
    /* the tokenizer first: it is cheap, and a bad vocabulary should fail before minutes of dequantising */
    const char *tmp = getenv("TMPDIR");
    g_tokdir = xmalloc(strlen(tmp ? tmp : "/tmp") + 32);
    sprintf(g_tokdir, "%s/gguf-import.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(g_tokdir)) die(EXIT_IO, "%s: cannot create: %s", g_tokdir, strerror(errno));
    atexit(rm_tokdir);
    char *tj = xmalloc(strlen(g_tokdir) + 32), *tc = xmalloc(strlen(g_tokdir) + 32);
    sprintf(tj, "%s/tokenizer.json", g_tokdir);
    sprintf(tc, "%s/tokenizer_config.json", g_tokdir);
    cJSON *tjs = tokenizer_json(f, ps->pretok, ps->normalizer, cfg.vocab_size);
    write_json(tj, tjs);
    cJSON_Delete(tjs);
    cJSON *tcs = tokenizer_config(f, &cfg);
    write_json(tc, tcs);
    cJSON_Delete(tcs);
    Model *m = model_alloc(&cfg);
    import_weights(f, m, llama);
    gguf_close(f);
    ckpt_save(m, out_dir, tj, NULL, 0);
    model_free(m);
    rm_tokdir();
    free(tj);
    free(tc);
}
