/* ckpt-tool: check, copy/convert and create checkpoint directories (ckpt.h layout).
 *   --check DIR            load strictly (config.json + model.safetensors); print a summary
 *   --copy SRC DST         load and write again: F32, our config.json, tokenizer copied;
 *                          converts BF16/F16 HF Qwen2 checkpoints; on our own checkpoints the
 *                          result is byte-identical (tested)
 *   --init CONFIG DST      random-initialised model (N(0, 0.02), --seed) from an HF-style
 *                          config.json; --tokenizer M fills vocab_size / bos / eos / pad when
 *                          absent and is copied into DST
 *   --import-gguf FILE [PART...] -o DST
 *                          a llama.cpp GGUF model (llama / qwen2, byte-level BPE) as a
 *                          checkpoint with tokenizer.json (gguf_import.h); several files are
 *                          the parts of one GGUF file split in raw pieces, in order */
#include "ckpt.h"
#include "gguf_import.h"
#include "model.h"
#include "tok.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: ckpt-tool --check DIR\n"
"       ckpt-tool --copy SRC DST\n"
"       ckpt-tool --init CONFIG.json DST [--tokenizer tokenizer.model] [--seed N]\n"
"       ckpt-tool --import-gguf FILE.gguf [PART2 ...] -o DST\n"
"Check a checkpoint directory (config.json, model.safetensors; strict reader: a bad file\n"
"gets one line naming file, tensor and problem), copy/convert it (F32, HF Qwen2 names,\n"
"atomic), or create a randomly initialised one. --check prints one JSON line.\n"
"--import-gguf converts a llama.cpp GGUF model (arch llama or qwen2; F32/F16/BF16/Q4_0/Q4_1/\n"
"Q5_0/Q5_1/Q8_0/Q4_K/Q5_K/Q6_K tensors dequantised to F32) into a checkpoint with the HF\n"
"tokenizer.json built from its vocabulary; several files = one GGUF split in raw parts.\n");
    exit(code);
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *check = NULL, *src = NULL, *dst = NULL, *config = NULL, *tok = NULL, *out = NULL;
    const char **gguf = xcalloc((size_t)argc, sizeof *gguf);
    int ngguf = 0, importing = 0;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--check") && i + 1 < argc) check = argv[++i];
        else if (!strcmp(a, "--copy") && i + 2 < argc) { src = argv[++i]; dst = argv[++i]; }
        else if (!strcmp(a, "--init") && i + 2 < argc) { config = argv[++i]; dst = argv[++i]; }
        else if (!strcmp(a, "--tokenizer") && i + 1 < argc) tok = argv[++i];
        else if (!strcmp(a, "--import-gguf")) importing = 1;
        else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (importing && a[0] != '-') gguf[ngguf++] = a;
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            char *e; long long v = strtoll(argv[++i], &e, 10);
            if (*e || v < 0) die(EXIT_USAGE, "--seed: expected a non-negative integer, got '%s'", argv[i]);
            seed = (uint64_t)v;
        } else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!!check + !!src + !!config + importing != 1) usage(EXIT_USAGE);
    if (importing) {
        if (!ngguf || !out) die(EXIT_USAGE, "--import-gguf needs FILE.gguf [PART...] and -o DST");
        gguf_import(ngguf, gguf, out);
        free(gguf);
        return 0;
    }
    free(gguf);
    if (check) {
        Model *m = model_load(check);
        const ModelConfig *c = model_config(m);
        /* the tokenizer is loaded as the tools load it, and must fit the model */
        char *tp = tok_find(check);
        Tok *tk = tp ? tok_load(tp) : NULL;
        if (tk && tok_vocab_size(tk) > c->vocab_size)
            die(EXIT_DATA, "%s: tokenizer has %d pieces but vocab_size is %d", tp, tok_vocab_size(tk), c->vocab_size);
        printf("{\"dir\": ");
        json_put_str(stdout, check);
        printf(", \"parameters\": %zu, \"vocab_size\": %d, \"hidden_size\": %d, \"layers\": %d, \"heads\": %d, "
               "\"kv_heads\": %d, \"tied\": %s, \"tokenizer\": %s}\n", model_num_params(m), c->vocab_size, c->hidden_size,
               c->num_hidden_layers, c->num_attention_heads, c->num_key_value_heads,
               c->tie_word_embeddings ? "true" : "false", tk ? "true" : "false");
        tok_free(tk);
        free(tp);
        model_free(m);
        return 0;
    }
    if (src) {
        Model *m = model_load(src);
        char *tp = NULL;
        if (tok) tp = xstrdup(tok);
        else tp = tok_find(src);
        ckpt_save(m, dst, tp, NULL, 0);
        free(tp);
        model_free(m);
        return 0;
    }
    ModelConfig cfg;
    Tok *sp = tok ? tok_load(tok) : NULL;
    ckpt_read_config_file(config, &cfg, sp ? tok_vocab_size(sp) : -1);
    if (sp) {
        if (tok_vocab_size(sp) > cfg.vocab_size)
            die(EXIT_DATA, "%s: tokenizer has %d pieces but vocab_size is %d", tok, tok_vocab_size(sp), cfg.vocab_size);
        if (cfg.bos_token_id < 0) cfg.bos_token_id = tok_bos_id(sp);
        if (cfg.eos_token_id < 0) cfg.eos_token_id = tok_eos_id(sp);
        if (cfg.pad_token_id < 0) cfg.pad_token_id = tok_pad_id(sp);
        tok_free(sp);
    }
    Model *m = model_new(&cfg, seed);
    ckpt_save(m, dst, tok, NULL, 0);
    model_free(m);
    return 0;
}
