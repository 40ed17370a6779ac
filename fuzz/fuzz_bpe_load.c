/* fuzz_bpe_load: the tokenizer.json loader (bpe_load, tools/lib/llm/bpe.c: model, merges,
 * added tokens, normalizers, pre-tokenizers with user regexes, decoder) on arbitrary files;
 * a tokenizer it accepts must then encode and decode a few fixed texts without dying, with
 * ids in range and decode giving valid UTF-8. Input: the file. */
#include "bpe.h"
#include "fuzz_common.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

static const char *g_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("tokenizer.json");
    return 0;
}

static void run(void *arg) {
    (void)arg;
    static const char *const texts[] = {
        "", " ", "Hello world 123 4567", "<|im_start|>user\n\"Kolya (1996)\"<|im_end|>\n",
        "Caf\xc3\xa9 e\xcc\x81 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xae  \t\r\n x", "'s 're ''ll aaaa"};
    Bpe *b = bpe_load(g_path);
    fz_forbid_die(1);
    int V = bpe_vocab_size(b);
    FZ_CHECK(V >= 1, "empty vocabulary accepted");
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        int *ids = NULL;
        int k = bpe_encode(b, texts[i], strlen(texts[i]), &ids);
        FZ_CHECK(k >= 0, "valid UTF-8 refused");
        for (int j = 0; j < k; j++) FZ_CHECK(ids[j] >= 0 && ids[j] < V, "id %d outside [0, %d)", ids[j], V);
        char *y = bpe_decode(b, ids, k);
        FZ_CHECK(utf8_invalid_at(y, strlen(y)) < 0, "decode gave invalid UTF-8");
        free(y);
        free(ids);
    }
    for (int id = 0; id < V && id < 64; id++) {
        (void)bpe_piece(b, id);
        (void)bpe_is_special(b, id);
    }
    (void)bpe_token_id(b, "<|endoftext|>");
    fz_forbid_die(0);
    bpe_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    fz_guard(run, NULL);
    return 0;
}
