/* mostpop: the MostPop baseline — the most popular TRAIN items (items.jsonl count, ties by
 * lower id), the same list for every sample. By default the user's own history is NOT
 * excluded, like the LLM methods, which may recommend an item already in the history. */
#include "samples.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: mostpop --items items.jsonl [-n 50] [--exclude-history] [-q] < samples.jsonl > ranked.jsonl\n"
"MostPop: the n items with the highest train count (ties: lower id first), one ranked\n"
"list {id, items} per input sample, in input order.\n"
"  -n N               list length (default 50; at most the catalogue size)\n"
"  --exclude-history  drop the sample's history items from its list (default: keep them,\n"
"                     as the LLM methods do)\n");
    exit(code);
}

static const Catalogue *g_cat;
static int cmp_pop_desc(const void *a, const void *b) {
    const CatItem *x = &g_cat->items[*(const int *)a], *y = &g_cat->items[*(const int *)b];
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *items_path = NULL;
    long topn = 50;
    int exclude = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--items") && i + 1 < argc) items_path = argv[++i];
        else if (!strcmp(a, "--exclude-history")) exclude = 1;
        else if (!strcmp(a, "-n") && i + 1 < argc) {
            char *e; topn = strtol(argv[++i], &e, 10);
            if (*e || topn < 1 || topn > 100000000) die(EXIT_USAGE, "-n: expected a positive integer, got '%s'", argv[i]);
        } else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!items_path) { fprintf(stderr, "%s: --items is required\n", g_prog); usage(EXIT_USAGE); }
    Catalogue *cat = catalogue_load(items_path);
    int *order = xmalloc(sizeof *order * (size_t)cat->n);
    for (int i = 0; i < cat->n; i++) order[i] = i;
    g_cat = cat;
    qsort(order, (size_t)cat->n, sizeof *order, cmp_pop_desc);
    int n = topn < cat->n ? (int)topn : cat->n;
    if (n < topn) info("-n %ld: catalogue has only %d items", topn, cat->n);
    /* with --exclude-history the catalogue resolves history items to ids */
    SampleReader *rd = sample_reader_open(NULL, exclude ? cat : NULL, exclude ? SAMPLES_RESOLVE : 0);
    long ns = 0;
    for (const Sample *s; (s = sample_reader_next(rd)); ns++) {
        printf("{\"id\": %lld, \"items\": [", s->id);
        int k = 0;
        for (int j = 0; j < cat->n && k < n; j++) {
            if (exclude) {
                int skip = 0;
                for (int h = 0; h < s->n_hist && !skip; h++) skip = s->hist[h].cid == order[j];
                if (skip) continue;
            } else if (j >= n) break;
            printf(k ? ", %d" : "%d", order[j]);
            k++;
        }
        printf("]}\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) die(EXIT_IO, "<stdout>: write error");
    info("%ld ranked lists of %d items%s", ns, n, exclude ? " (history excluded)" : "");
    sample_reader_close(rd);
    free(order);
    catalogue_free(cat);
    return 0;
}
