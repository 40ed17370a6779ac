/* fuzz_prompts: cft-step's prompt-record reader (load_rec: {id, prompt, response, cf_prompt}
 * JSONL -> token sequences with history-side truncation to --max-len) and its LM-corpus
 * reader (load_lm), which live as static functions in tools/cft-step.c: the file is
 * included here with its main() renamed. Tokenizer: seeds.sh's SmolLM2-shaped BPE.
 * Invariants: every record fits max_len, keeps a non-empty prompt, ends in EOS, and the
 * normal and counterfactual sequences end in the same response tokens. Input: the file. */
#define main cft_step_main
#include "../tools/cft-step.c"
#undef main
#include "fuzz_common.h"

static const char *g_path;
static Tok *g_tok;
static int g_eos, g_V;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("train.pairs.jsonl");
    g_tok = tok_load(fz_data("tokenizer_smol.json"));
    g_eos = tok_eos_id(g_tok) >= 0 ? tok_eos_id(g_tok) : 2;
    g_V = tok_vocab_size(g_tok);
    int *ids = NULL;   /* the per-thread scratch, outside any guard */
    tok_encode(g_tok, "warm up", &ids);
    free(ids);
    return 0;
}

typedef struct { int lm, cf, max_len; } Mode;

static void check_rec(const Rec *r, const Mode *m) {
    FZ_CHECK(r->n >= 1 && r->n <= m->max_len, "record %lld: %d tokens, max_len %d", r->id, r->n, m->max_len);
    FZ_CHECK(r->tok[r->n - 1] == g_eos, "record %lld: does not end in EOS", r->id);
    for (int i = 0; i < r->n; i++) FZ_CHECK(r->tok[i] >= 0 && r->tok[i] < g_V, "token %d outside the vocabulary", r->tok[i]);
    if (m->lm) return;
    FZ_CHECK(r->P >= 1 && r->P < r->n, "record %lld: prompt of %d tokens in %d", r->id, r->P, r->n);
    if (m->cf == 2) FZ_CHECK(r->nc > 0, "record %lld: cf_prompt required but absent", r->id);
    if (!r->nc) return;
    FZ_CHECK(r->nc <= m->max_len && r->Pc >= 1 && r->Pc < r->nc, "record %lld: cf %d of %d", r->id, r->Pc, r->nc);
    FZ_CHECK(r->n - r->P == r->nc - r->Pc && !memcmp(r->tok + r->P, r->cf + r->Pc, sizeof(int) * (size_t)(r->n - r->P)),
             "record %lld: the normal and counterfactual responses differ", r->id);
}

static void run(void *arg) {
    const Mode *m = arg;
    Data d = m->lm ? load_lm(g_path, g_tok, g_eos, m->max_len, -1) : load_rec(g_path, g_tok, g_eos, m->cf, m->max_len, -1);
    FZ_CHECK(d.n >= 1, "no records accepted");
    for (int i = 0; i < d.n; i++) check_rec(&d.r[i], m);
    data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    /* 48: prompts truncated, cf_prompts too long; 160: real prompts truncated after the
     * prefix they share with cf_prompt; 4096: nothing truncated, cf_prompt required */
    static const Mode modes[] = {{0, 1, 48}, {0, 1, 160}, {0, 2, 4096}, {1, 0, 16}};
    for (int i = 0; i < 4; i++) fz_guard(run, (void *)&modes[i]);
    return 0;
}
