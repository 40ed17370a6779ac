/* fuzz_bpe: the byte-level BPE tokenizer (tools/lib/llm/bpe.c, through tok.c as the tools call
 * it) on arbitrary bytes, with two small tokenizers seeds.sh builds from real titles:
 *   smol: SmolLM2's layout (no normalizer; Digits + ByteLevel with the GPT-2 regex), every
 *         byte in the vocabulary, so decode(encode(x)) == x for every valid UTF-8 x;
 *   qwen: Qwen2's layout (NFC; Split with Qwen2's regex + ByteLevel), added tokens outside
 *         the vocabulary, so decode(encode(x)) == NFC(x) when x holds no added token.
 * Invariants: bpe_encode refuses (-1) exactly the texts utf8_invalid_at (utf8proc) calls
 * invalid, and tok_encode dies (exit 1) on exactly those; ids are in range and name their
 * pieces; decode is idempotent through encode; decode of arbitrary ids is valid UTF-8.
 * A die() anywhere but tok_encode's refusal is a bug. Input: the text. */
#include "bpe.h"
#include "fuzz_common.h"
#include "tok.h"
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct { const char *name; Bpe *bpe; Tok *tok; int nfc; } T;
static T g_t[2] = {{"smol", NULL, NULL, 0}, {"qwen", NULL, NULL, 1}};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "tokenizer_%s.json", g_t[i].name);
        const char *p = fz_data(name);
        g_t[i].bpe = bpe_load(p);
        g_t[i].tok = tok_load(p);
        int *ids = NULL;   /* warm the per-thread scratch outside any guard */
        if (bpe_encode(g_t[i].bpe, "warm up", 7, &ids) < 0) fz_fail("warm-up encode failed");
        free(ids);
    }
    return 0;
}

typedef struct { const T *t; const char *x; size_t n; } Job;

static int has_added(const char *x, size_t n) {
    static const char *const added[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(added[i]);
        for (size_t k = 0; k + l <= n; k++) if (!memcmp(x + k, added[i], l)) return 1;
    }
    return 0;
}

/* y (NUL-terminated, as decode returns it) equals want[0..wn) as far as C strings can tell */
static int same_text(const char *y, const char *want, size_t wn) {
    const char *z = memchr(want, 0, wn);
    size_t cut = z ? (size_t)(z - want) : wn;
    return strlen(y) == cut && !memcmp(y, want, cut);
}

static void check_ids(const T *t, const int *ids, int k) {
    int V = bpe_vocab_size(t->bpe);
    for (int i = 0; i < k; i++) {
        FZ_CHECK(ids[i] >= 0 && ids[i] < V, "%s: id %d outside [0, %d)", t->name, ids[i], V);
        FZ_CHECK(bpe_token_id(t->bpe, bpe_piece(t->bpe, ids[i])) == ids[i], "%s: id %d: its piece names another id", t->name, ids[i]);
    }
}

static void run_bpe(void *arg) {
    const Job *j = arg;
    const T *t = j->t;
    fz_forbid_die(1);
    long bad = utf8_invalid_at(j->x, j->n);
    int *ids = NULL;
    int k = bpe_encode(t->bpe, j->x, j->n, &ids);
    FZ_CHECK((k < 0) == (bad >= 0), "%s: bpe_encode %s, utf8proc says %s (byte %ld)", t->name, k < 0 ? "refused" : "accepted",
             bad >= 0 ? "invalid" : "valid", bad);
    if (k < 0) { FZ_CHECK(ids == NULL, "ids left after a refusal"); fz_forbid_die(0); return; }
    check_ids(t, ids, k);
    char *y = bpe_decode(t->bpe, ids, k);
    free(ids);
    if (!t->nfc) FZ_CHECK(same_text(y, j->x, j->n), "%s: decode(encode(x)) != x", t->name);
    else if (!has_added(j->x, j->n)) {
        utf8proc_uint8_t *norm = NULL;
        utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)j->x, (utf8proc_ssize_t)j->n, &norm,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        FZ_CHECK(m >= 0, "utf8proc_map failed on valid UTF-8");
        FZ_CHECK(same_text(y, (const char *)norm, (size_t)m), "%s: decode(encode(x)) != NFC(x)", t->name);
        free(norm);
    }
    /* again from the decoded text: a fixed point */
    size_t yn = strlen(y);
    k = bpe_encode(t->bpe, y, yn, &ids);
    FZ_CHECK(k >= 0, "%s: decode gave invalid UTF-8", t->name);
    char *y2 = bpe_decode(t->bpe, ids, k);
    FZ_CHECK(!strcmp(y, y2), "%s: decode(encode(decode(encode(x)))) != decode(encode(x))", t->name);
    free(ids); free(y); free(y2);
    fz_forbid_die(0);
}

static void run_tok(void *arg) {
    const Job *j = arg;   /* j->x NUL-terminated here, j->n its strlen */
    int *ids = NULL;
    int k = tok_encode(j->t->tok, j->x, &ids);
    FZ_CHECK(utf8_invalid_at(j->x, j->n) < 0, "%s: tok_encode accepted invalid UTF-8", j->t->name);
    check_ids(j->t, ids, k);
    free(ids);
}

static void run_ids(void *arg) {
    const Job *j = arg;
    fz_forbid_die(1);
    int V = bpe_vocab_size(j->t->bpe), n = (int)(j->n / 2 < 256 ? j->n / 2 : 256);
    int ids[256];
    for (int i = 0; i < n; i++) ids[i] = (int)(((unsigned char)j->x[2 * i] | (unsigned char)j->x[2 * i + 1] << 8) % (unsigned)V);
    char *y = bpe_decode(j->t->bpe, ids, n);
    FZ_CHECK(utf8_invalid_at(y, strlen(y)) < 0, "%s: decode of ids gave invalid UTF-8", j->t->name);
    free(y);
    fz_forbid_die(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *x = malloc(size + 1);
    memcpy(x, data, size);
    x[size] = 0;
    for (int i = 0; i < 2; i++) {
        Job j = {&g_t[i], x, size};
        fz_guard(run_bpe, &j);
        Job c = {&g_t[i], x, strlen(x)};
        int code = fz_guard(run_tok, &c);
        FZ_CHECK(code == 0 || (code == 1 && utf8_invalid_at(c.x, c.n) >= 0), "%s: tok_encode died (exit %d) on valid UTF-8",
                 g_t[i].name, code);
    }
    Job d = {&g_t[0], x, size};
    fz_guard(run_ids, &d);
    free(x);
    return 0;
}
