/* fuzz_samples: the sample readers (samples_load over sample_reader, tools/lib/data/samples.c)
 * on arbitrary {train,valid,test}.jsonl files, resolved against a fixed real catalogue
 * (build/fuzz/data/items.jsonl, from seeds.sh) and without one; an accepted set must hold
 * what metrics / seqrec / mkprompt rely on. Input: the file. */
#include "fuzz_common.h"
#include "samples.h"
#include <string.h>

static const char *g_path;
static Catalogue *g_cat;
static int g_resolve;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("test.jsonl");
    g_cat = catalogue_load(fz_data("items.jsonl"));
    return 0;
}

static void check_event(const SampleEvent *e, const Catalogue *cat) {
    FZ_CHECK(e->item && e->title, "event without item or title");
    if (!cat) { FZ_CHECK(e->cid == -1, "cid without a catalogue"); return; }
    FZ_CHECK(e->cid == catalogue_find(cat, e->item), "cid %d is not the item's", e->cid);
    if (g_resolve) FZ_CHECK(e->cid >= 0, "unresolved item accepted");
}

static void run(void *arg) {
    const Catalogue *cat = arg;
    SampleSet *ss = samples_load(g_path, cat, g_resolve ? SAMPLES_RESOLVE : 0);
    for (int i = 0; i < ss->n; i++) {
        const Sample *s = &ss->s[i];
        FZ_CHECK(samples_find(ss, s->id) == s, "sample %lld not found by id", s->id);
        FZ_CHECK(s->n_hist >= 0 && s->n_hist <= SAMPLES_MAX_HISTORY, "history of %d", s->n_hist);
        FZ_CHECK(!strcmp(s->split, "train") || !strcmp(s->split, "valid") || !strcmp(s->split, "test"), "split");
        FZ_CHECK(s->user != NULL, "no user");
        for (int k = 0; k < s->n_hist; k++) check_event(&s->hist[k], cat);
        check_event(&s->target, cat);
    }
    samples_free(ss);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    g_resolve = 1;
    fz_guard(run, g_cat);
    g_resolve = 0;
    fz_guard(run, g_cat);
    fz_guard(run, NULL);
    return 0;
}
