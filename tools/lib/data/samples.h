/* samples: readers for the dataset records split811 writes (docs/FORMATS.md) — the item
 * catalogue (items.jsonl), samples ({train,valid,test}.jsonl) and ranked lists — plus the
 * two small hash maps they need. Every reader dies with one line naming file:line: field
 * (exit EXIT_DATA) on bad input, like the rest of the toolkit (util.h).
 *
 * Typical use (metrics, ground, seqrec):
 *   Catalogue *cat = catalogue_load("data/x/items.jsonl");
 *   SampleSet *test = samples_load("data/x/test.jsonl", cat, SAMPLES_RESOLVE);
 *   for (int i = 0; i < test->n; i++) use(test->s[i].target.cid, test->s[i].hist, ...);
 *   RankedSet *rk = ranked_load("-", cat);          // stdin
 *   const Ranked *r = ranked_find(rk, test->s[i].id);
 * Streaming (mkprompt): SampleReader *rd = sample_reader_open("-", NULL, 0);
 *   for (const Sample *s; (s = sample_reader_next(rd)); ) ...   (valid until the next call)
 *
 * Titles: several catalogue ids may carry the same title (different ASINs of one product).
 * Each CatItem has a title_id, dense over the distinct titles; catalogue_title_items()
 * lists the ids sharing a title. Evaluation matches on titles (see metrics). */
#ifndef CFT_SAMPLES_H
#define CFT_SAMPLES_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* ---- string -> int64 map (open addressing; keys copied, their address never moves) ---- */
typedef struct { char **keys; long long *vals; size_t cap, n; } StrMap;
void strmap_init(StrMap *m, size_t hint);
long long *strmap_get(const StrMap *m, const char *key);          /* NULL if absent */
/* insert key -> val unless present; returns the map's own copy of the key (usable as an
 * interned string for the map's lifetime); *existed (may be NULL) tells which happened. */
const char *strmap_put(StrMap *m, const char *key, long long val, int *existed);
void strmap_free(StrMap *m);

/* ---- int64 -> int map (sample id -> index) ---- */
typedef struct { long long *keys; int *vals; unsigned char *used; size_t cap, n; } IdMap;
void idmap_init(IdMap *m, size_t hint);
int idmap_get(const IdMap *m, long long key);                     /* -1 if absent */
int idmap_put(IdMap *m, long long key, int val);                  /* returns the old value or -1 */
void idmap_free(IdMap *m);

/* A record's "id" (prompts, predictions, ranked lists): an integer in [0, 2^53], unique in
 * its file. seen maps the ids met so far to their line, for the duplicate's message. */
long long record_id(const cJSON *o, IdMap *seen, Where w);
void record_id_check(long long id, IdMap *seen, Where w);   /* the same for a parsed id */

/* ---- item catalogue: items.jsonl {"id","item","title","count"} ---- */
typedef struct {
    int id;                /* 0..n-1, equals its index */
    const char *item;      /* source item id (ASIN, MovieLens id, ...) */
    const char *title;
    long long count;       /* occurrences as a TRAIN target */
    int title_id;          /* dense id of the distinct title */
} CatItem;

typedef struct {
    int n, n_titles;
    CatItem *items;
    char *path;
    StrMap by_item;        /* item string -> id */
    StrMap by_title;       /* title -> title_id */
    int *title_start, *title_items;   /* ids of title t: title_items[title_start[t] .. title_start[t+1]) */
} Catalogue;

/* loads and checks: ids must be 0,1,2,... in file order, item strings unique. */
Catalogue *catalogue_load(const char *path);
int catalogue_find(const Catalogue *c, const char *item);         /* id or -1 */
int catalogue_find_title(const Catalogue *c, const char *title);  /* title_id or -1 */
const int *catalogue_title_items(const Catalogue *c, int title_id, int *n);  /* ascending ids */
void catalogue_free(Catalogue *c);

/* ---- samples: {"id","user","history":[{item,title,ts}...],"target":{...},"split"} ---- */
typedef struct {
    const char *item, *title;
    long long ts;
    int cid;               /* catalogue id, -1 when no catalogue was given */
} SampleEvent;

typedef struct {
    long long id;
    const char *user;
    int n_hist;            /* 0..SAMPLES_MAX_HISTORY, oldest first */
    SampleEvent *hist;
    SampleEvent target;
    const char *split;     /* "train" | "valid" | "test" */
    long line;             /* line number in its file, for error messages */
} Sample;

enum { SAMPLES_MAX_HISTORY = 1000 };
/* flags */
enum {
    SAMPLES_RESOLVE = 1,   /* every history/target item must be in the catalogue (else die) */
};

typedef struct SampleReader SampleReader;
SampleReader *sample_reader_open(const char *path, const Catalogue *cat, int flags);
const Sample *sample_reader_next(SampleReader *r);   /* NULL at EOF; valid until next call */
const char *sample_reader_name(const SampleReader *r);
void sample_reader_close(SampleReader *r);

typedef struct {
    int n;
    Sample *s;             /* in file order */
    char *path;
    StrMap pool;           /* interned strings the samples point into */
    SampleEvent *events;   /* all history events */
    IdMap by_id;
} SampleSet;

/* loads every sample; ids must be unique within the file. */
SampleSet *samples_load(const char *path, const Catalogue *cat, int flags);
const Sample *samples_find(const SampleSet *s, long long id);     /* NULL if absent */
void samples_free(SampleSet *s);

/* ---- ranked lists: {"id": int, "items": [catalogue id, ...]} best first ---- */
typedef struct { long long id; int n; int *items; long line; } Ranked;
typedef struct { int n; Ranked *r; char *path; IdMap by_id; } RankedSet;
/* ids must be unique; with cat, every item must be an integer in 0..cat->n-1. */
RankedSet *ranked_load(const char *path, const Catalogue *cat);
const Ranked *ranked_find(const RankedSet *s, long long id);     /* NULL if absent */
void ranked_free(RankedSet *s);
#endif
