/* mkcorpus: text corpora from TRAINING-period data only, one sentence per line.
 *
 * --mode spm (tokenizer corpus, for spm_train / tools/spm-train.sh):
 *   every catalogue title once (quoted, as responses quote them), plus the text of the first
 *   --prompt-records training prompt records (prompt + response, split at newlines), so the
 *   template words and the quoting/punctuation of prompts get their own pieces.
 * --mode lm (pre-training corpus of the in-project base model, `cft-step --objective lm`):
 *   no pretrained weights can be downloaded, so the base model's "pre-training knowledge"
 *   is built from what the training period reveals:
 *   1. item knowledge: each catalogue title, quoted, repeated 1 + floor(log2(1 + count))
 *      times, count = its popularity as a TRAIN target (items.jsonl) -- popular items are
 *      better known, as they would be on the web;
 *   2. co-consumption knowledge: each train sample's sequence (history then target, all
 *      strictly inside the train split) as one line of quoted titles joined by ", ".
 *   Validation/test samples are never read (the tool refuses samples whose split is not
 *   "train"), so no valid/test target can leak into the base model.
 * Output lines are shuffled deterministically (--seed). */
#include "samples.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: mkcorpus --mode spm|lm --items items.jsonl [--train train.jsonl]\n"
"                [--prompts train.prompts.jsonl] [-o FILE] [--seed N] [-q]\n"
"Build a text corpus (one sentence per line) from training-period data only.\n"
"  --mode spm            tokenizer corpus: every title once (quoted) + the text of the\n"
"                        first --prompt-records prompt records (template words)\n"
"  --mode lm             base-model LM corpus: each title (quoted) repeated\n"
"                        1+floor(log2(1+count)) times (count = train popularity, capped by\n"
"                        --max-repeat) + each train sample's history+target as one line\n"
"                        of quoted titles joined by \", \" (needs --train; samples whose\n"
"                        split is not \"train\" are refused: no valid/test targets)\n"
"  --items FILE          item catalogue (split811 items.jsonl)\n"
"  --train FILE          train samples (split811 train.jsonl), mode lm\n"
"  --prompts FILE        training prompt records (mkprompt), mode spm (optional in lm:\n"
"                        adds their text too, off by default)\n"
"  --prompt-records N    prompt records to read (default 500 in spm, all in lm)\n"
"  --max-repeat N        cap on title repeats in mode lm (default 8)\n"
"  -o FILE               output (default stdout; written atomically)\n"
"  --seed N              shuffle seed (default 1); --no-shuffle keeps generation order\n");
    exit(code);
}

typedef struct { char **s; size_t n, cap; } Lines;
static void add(Lines *L, char *s) {
    for (char *p = s; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    if (L->n == L->cap) { L->cap = L->cap ? 2 * L->cap : 1024; L->s = xrealloc(L->s, L->cap * sizeof(char *)); }
    L->s[L->n++] = s;
}
static char *quoted(const char *t) {
    char *s = xmalloc(strlen(t) + 3);
    sprintf(s, "\"%s\"", t);
    return s;
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *mode = NULL, *items = NULL, *train = NULL, *prompts = NULL, *out = NULL;
    long prompt_records = -1, max_repeat = 8;
    uint64_t seed = 1;
    int shuffle = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--mode") && more) mode = argv[++i];
        else if (!strcmp(a, "--items") && more) items = argv[++i];
        else if (!strcmp(a, "--train") && more) train = argv[++i];
        else if (!strcmp(a, "--prompts") && more) prompts = argv[++i];
        else if (!strcmp(a, "-o") && more) out = argv[++i];
        else if (!strcmp(a, "--no-shuffle")) shuffle = 0;
        else if ((!strcmp(a, "--seed") || !strcmp(a, "--prompt-records") || !strcmp(a, "--max-repeat")) && more) {
            char *e; long long v = strtoll(argv[++i], &e, 10);
            if (*e || v < 0) die(EXIT_USAGE, "%s: expected a non-negative integer, got '%s'", a, argv[i]);
            if (!strcmp(a, "--seed")) seed = (uint64_t)v;
            else if (!strcmp(a, "--prompt-records")) prompt_records = (long)v;
            else max_repeat = (long)v;
        } else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!mode || (strcmp(mode, "spm") && strcmp(mode, "lm"))) die(EXIT_USAGE, "--mode: expected spm or lm");
    if (!items) die(EXIT_USAGE, "--items is required");
    int lm = !strcmp(mode, "lm");
    if (lm && !train) die(EXIT_USAGE, "--mode lm needs --train train.jsonl");
    if (!lm && prompt_records < 0) prompt_records = 500;

    Lines L = {0};
    Catalogue *cat = catalogue_load(items);
    long n_titles = 0, n_seq = 0, n_prompt = 0;
    /* titles: once per distinct title in spm, popularity-weighted in lm */
    char *seen = xcalloc((size_t)cat->n_titles + 1, 1);
    long long *tcount = xcalloc((size_t)cat->n_titles + 1, sizeof(long long));
    for (int i = 0; i < cat->n; i++) tcount[cat->items[i].title_id] += cat->items[i].count;
    for (int i = 0; i < cat->n; i++) {
        const CatItem *it = &cat->items[i];
        if (seen[it->title_id]) continue;
        seen[it->title_id] = 1;
        long rep = lm ? 1 + (long)floor(log2(1.0 + (double)tcount[it->title_id])) : 1;
        if (rep > max_repeat && max_repeat > 0) rep = max_repeat;
        for (long r = 0; r < rep; r++) { add(&L, quoted(it->title)); n_titles++; }
    }
    free(seen); free(tcount);
    if (lm) {
        SampleReader *rd = sample_reader_open(train, cat, SAMPLES_RESOLVE);
        for (const Sample *s; (s = sample_reader_next(rd));) {
            if (strcmp(s->split, "train"))
                die(EXIT_DATA, "%s:%ld: split: \"%s\" sample in the LM corpus input (only train samples may be used)",
                    sample_reader_name(rd), s->line, s->split);
            size_t len = 1;
            for (int h = 0; h <= s->n_hist; h++) len += strlen(h < s->n_hist ? s->hist[h].title : s->target.title) + 4;
            char *line = xmalloc(len), *p = line;
            for (int h = 0; h <= s->n_hist; h++)
                p += sprintf(p, "%s\"%s\"", h ? ", " : "", h < s->n_hist ? s->hist[h].title : s->target.title);
            add(&L, line);
            n_seq++;
        }
        sample_reader_close(rd);
    }
    if (prompts) {
        LineReader *r = lr_open(prompts);
        for (char *ln; (prompt_records < 0 || n_prompt < prompt_records) && (ln = lr_next(r, NULL));) {
            Where w = {lr_name(r), lr_lineno(r)};
            cJSON *o = json_parse_line(ln, w);
            const char *parts[2] = {json_str(o, "prompt", w), json_str(o, "response", w)};
            for (int k = 0; k < 2; k++) {
                char *t = xstrdup(parts[k]);
                for (char *s = strtok(t, "\n"); s; s = strtok(NULL, "\n"))
                    if (*s) add(&L, xstrdup(s));
                free(t);
            }
            cJSON_Delete(o);
            n_prompt++;
        }
        lr_close(r);
    }
    if (shuffle) {
        Rng rng; rng_seed(&rng, seed);
        for (size_t i = L.n; i > 1; i--) {
            size_t j = rng_below(&rng, (uint32_t)i);
            char *t = L.s[i - 1]; L.s[i - 1] = L.s[j]; L.s[j] = t;
        }
    }
    OutFile o = out_open(out);
    for (size_t i = 0; i < L.n; i++) { fputs(L.s[i], o.f); fputc('\n', o.f); free(L.s[i]); }
    if (ferror(o.f)) { out_abort(&o); die(EXIT_IO, "%s: write error", out ? out : "<stdout>"); }
    out_commit(&o);
    info("%zu lines: %ld title lines, %ld sequences, %ld prompt records", L.n, n_titles, n_seq, n_prompt);
    free(L.s);
    catalogue_free(cat);
    return 0;
}
