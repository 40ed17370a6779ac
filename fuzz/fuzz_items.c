/* fuzz_items: the item catalogue reader (catalogue_load, tools/lib/data/samples.c) on arbitrary
 * items.jsonl files (plain or gzip, as lr_open reads them); an accepted catalogue must be
 * consistent: ids dense, every item and title found again, the title index a partition of
 * the ids in ascending order. Input: the file. */
#include "fuzz_common.h"
#include "samples.h"
#include <stdlib.h>
#include <string.h>

static const char *g_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("items.jsonl");
    return 0;
}

static void run(void *arg) {
    (void)arg;
    Catalogue *c = catalogue_load(g_path);
    FZ_CHECK(c->n >= 1 && c->n_titles >= 1 && c->n_titles <= c->n, "n %d, titles %d", c->n, c->n_titles);
    int total = 0;
    for (int i = 0; i < c->n; i++) {
        const CatItem *it = &c->items[i];
        FZ_CHECK(it->id == i && catalogue_find(c, it->item) == i, "item %d not found under its name", i);
        FZ_CHECK(catalogue_find_title(c, it->title) == it->title_id, "item %d: title id", i);
        FZ_CHECK(it->count >= 0, "negative count");
    }
    for (int t = 0; t < c->n_titles; t++) {
        int n;
        const int *ids = catalogue_title_items(c, t, &n);
        FZ_CHECK(n >= 1, "title %d has no items", t);
        for (int k = 0; k < n; k++) {
            FZ_CHECK(ids[k] >= 0 && ids[k] < c->n && c->items[ids[k]].title_id == t, "title %d lists item %d", t, ids[k]);
            FZ_CHECK(k == 0 || ids[k] > ids[k - 1], "title %d: ids not ascending", t);
        }
        total += n;
    }
    FZ_CHECK(total == c->n, "title index covers %d of %d items", total, c->n);
    int n;
    FZ_CHECK(catalogue_title_items(c, -1, &n) == NULL && n == 0, "title -1");
    FZ_CHECK(catalogue_title_items(c, c->n_titles, &n) == NULL && n == 0, "title past the end");
    catalogue_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    fz_guard(run, NULL);
    return 0;
}
