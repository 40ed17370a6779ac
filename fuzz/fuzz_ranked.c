/* fuzz_ranked: the ranked-list reader (ranked_load, tools/lib/data/samples.c) on arbitrary
 * ranked.jsonl files, with a fixed real catalogue (ids must be in it) and without one.
 * Input: the file. */
#include "fuzz_common.h"
#include "samples.h"

static const char *g_path;
static Catalogue *g_cat;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("ranked.jsonl");
    g_cat = catalogue_load(fz_data("items.jsonl"));
    return 0;
}

static void run(void *arg) {
    const Catalogue *cat = arg;
    RankedSet *rs = ranked_load(g_path, cat);
    for (int i = 0; i < rs->n; i++) {
        const Ranked *r = &rs->r[i];
        FZ_CHECK(ranked_find(rs, r->id) == r, "list %lld not found by id", r->id);
        FZ_CHECK(r->n >= 0 && r->line >= 1, "n %d line %ld", r->n, r->line);
        for (int k = 0; k < r->n; k++)
            FZ_CHECK(r->items[k] >= 0 && (!cat || r->items[k] < cat->n), "item id %d", r->items[k]);
    }
    ranked_free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    fz_guard(run, g_cat);
    fz_guard(run, NULL);
    return 0;
}
