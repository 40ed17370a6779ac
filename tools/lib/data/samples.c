/* samples: catalogue / sample / ranked-list readers (see samples.h). */
#include "samples.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- StrMap ---------------- */
static uint64_t hash_str(const char *s) {          /* FNV-1a 64 */
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h ^ (h >> 29);
}
static uint64_t hash_i64(long long k) {
    uint64_t z = (uint64_t)k + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static size_t pow2_at_least(size_t n) { size_t c = 16; while (c < n) c <<= 1; return c; }

void strmap_init(StrMap *m, size_t hint) {
    m->cap = pow2_at_least(hint * 2);
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
}
static size_t strmap_slot(const StrMap *m, const char *key) {
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
    return i;
}
long long *strmap_get(const StrMap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t i = strmap_slot(m, key);
    return m->keys[i] ? &m->vals[i] : NULL;
}
const char *strmap_put(StrMap *m, const char *key, long long val, int *existed) {
    if (!m->cap) strmap_init(m, 16);
    if ((m->n + 1) * 2 > m->cap) {                   /* keep load <= 1/2 */
        StrMap g; g.cap = m->cap * 2; g.n = m->n;
        g.keys = xcalloc(g.cap, sizeof *g.keys);
        g.vals = xcalloc(g.cap, sizeof *g.vals);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) { size_t j = strmap_slot(&g, m->keys[i]); g.keys[j] = m->keys[i]; g.vals[j] = m->vals[i]; }
        free(m->keys); free(m->vals);
        *m = g;
    }
    size_t i = strmap_slot(m, key);
    if (m->keys[i]) { if (existed) *existed = 1; return m->keys[i]; }
    m->keys[i] = xstrdup(key);
    m->vals[i] = val;
    m->n++;
    if (existed) *existed = 0;
    return m->keys[i];
}
void strmap_free(StrMap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys); free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---------------- IdMap ---------------- */
void idmap_init(IdMap *m, size_t hint) {
    m->cap = pow2_at_least(hint * 2);
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
    m->used = xcalloc(m->cap, 1);
}
static size_t idmap_slot(const IdMap *m, long long key) {
    size_t i = hash_i64(key) & (m->cap - 1);
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}
int idmap_get(const IdMap *m, long long key) {
    if (!m->cap) return -1;
    size_t i = idmap_slot(m, key);
    return m->used[i] ? m->vals[i] : -1;
}
int idmap_put(IdMap *m, long long key, int val) {
    if (!m->cap) idmap_init(m, 16);
    if ((m->n + 1) * 2 > m->cap) {
        IdMap g; idmap_init(&g, m->cap);
        for (size_t i = 0; i < m->cap; i++)
            if (m->used[i]) { size_t j = idmap_slot(&g, m->keys[i]); g.used[j] = 1; g.keys[j] = m->keys[i]; g.vals[j] = m->vals[i]; }
        g.n = m->n;
        idmap_free(m);
        *m = g;
    }
    size_t i = idmap_slot(m, key);
    if (m->used[i]) { int old = m->vals[i]; m->vals[i] = val; return old; }
    m->used[i] = 1; m->keys[i] = key; m->vals[i] = val; m->n++;
    return -1;
}
void idmap_free(IdMap *m) {
    free(m->keys); free(m->vals); free(m->used);
    memset(m, 0, sizeof *m);
}

/* ---------------- small JSON helpers with composite field names ---------------- */
static const cJSON *get_field(const cJSON *o, const char *field, const char *name, Where w) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v || cJSON_IsNull(v)) die(EXIT_DATA, "%s:%ld: %s: missing field", w.file, w.line, name);
    return v;
}
static const char *get_str(const cJSON *o, const char *field, const char *name, Where w) {
    const cJSON *v = get_field(o, field, name, w);
    if (!cJSON_IsString(v)) die(EXIT_DATA, "%s:%ld: %s: expected a string", w.file, w.line, name);
    return v->valuestring;
}
static long long num_to_int(const cJSON *v, const char *name, Where w) {
    if (!cJSON_IsNumber(v)) die(EXIT_DATA, "%s:%ld: %s: expected an integer", w.file, w.line, name);
    double d = v->valuedouble;
    if (d != floor(d) || fabs(d) > 9007199254740992.0)
        die(EXIT_DATA, "%s:%ld: %s: expected an integer", w.file, w.line, name);
    return (long long)d;
}
static long long get_int(const cJSON *o, const char *field, const char *name, Where w) {
    return num_to_int(get_field(o, field, name, w), name, w);
}

void record_id_check(long long id, IdMap *seen, Where w) {
    if (id < 0) die(EXIT_DATA, "%s:%ld: id: %lld is negative", w.file, w.line, id);
    int prev = idmap_put(seen, id, (int)(w.line > INT32_MAX ? INT32_MAX : w.line));
    if (prev >= 0) die(EXIT_DATA, "%s:%ld: id: duplicate id %lld (first on line %d)", w.file, w.line, id, prev);
}
long long record_id(const cJSON *o, IdMap *seen, Where w) {
    long long id = json_int(o, "id", w);
    record_id_check(id, seen, w);
    return id;
}

/* ---------------- Catalogue ---------------- */
Catalogue *catalogue_load(const char *path) {
    Catalogue *c = xcalloc(1, sizeof *c);
    LineReader *r = lr_open(path);
    c->path = xstrdup(lr_name(r));
    strmap_init(&c->by_item, 1024);
    strmap_init(&c->by_title, 1024);
    int cap = 1024;
    c->items = xmalloc(sizeof *c->items * (size_t)cap);
    size_t len;
    char *line;
    while ((line = lr_next(r, &len))) {
        Where w = { c->path, lr_lineno(r) };
        if (len == 0) die(EXIT_DATA, "%s:%ld: empty line", w.file, w.line);
        cJSON *o = json_parse_line(line, w);
        long long id = json_int(o, "id", w);
        if (id != c->n) die(EXIT_DATA, "%s:%ld: id: expected %d (ids must be 0..N-1 in file order), got %lld", w.file, w.line, c->n, id);
        const char *item = json_str(o, "item", w), *title = json_str(o, "title", w);
        long long count = json_int(o, "count", w);
        if (count < 0) die(EXIT_DATA, "%s:%ld: count: negative", w.file, w.line);
        if (c->n == cap) { cap *= 2; c->items = xrealloc(c->items, sizeof *c->items * (size_t)cap); }
        int existed;
        CatItem *it = &c->items[c->n];
        it->id = c->n;
        it->item = strmap_put(&c->by_item, item, c->n, &existed);
        if (existed) die(EXIT_DATA, "%s:%ld: item: duplicate item '%s'", w.file, w.line, item);
        it->title = strmap_put(&c->by_title, title, c->n_titles, &existed);
        if (!existed) c->n_titles++;
        it->title_id = (int)*strmap_get(&c->by_title, title);
        it->count = count;
        c->n++;
        cJSON_Delete(o);
    }
    if (c->n == 0) die(EXIT_DATA, "%s: empty catalogue", c->path);
    lr_close(r);
    /* title -> ids, by counting sort (ids ascending within a title) */
    c->title_start = xcalloc((size_t)c->n_titles + 1, sizeof *c->title_start);
    c->title_items = xmalloc(sizeof *c->title_items * (size_t)c->n);
    for (int i = 0; i < c->n; i++) c->title_start[c->items[i].title_id + 1]++;
    for (int t = 0; t < c->n_titles; t++) c->title_start[t + 1] += c->title_start[t];
    int *fill = xmalloc(sizeof *fill * ((size_t)c->n_titles + 1));
    memcpy(fill, c->title_start, sizeof *fill * ((size_t)c->n_titles + 1));
    for (int i = 0; i < c->n; i++) c->title_items[fill[c->items[i].title_id]++] = i;
    free(fill);
    return c;
}
int catalogue_find(const Catalogue *c, const char *item) {
    long long *v = strmap_get(&c->by_item, item);
    return v ? (int)*v : -1;
}
int catalogue_find_title(const Catalogue *c, const char *title) {
    long long *v = strmap_get(&c->by_title, title);
    return v ? (int)*v : -1;
}
const int *catalogue_title_items(const Catalogue *c, int t, int *n) {
    if (t < 0 || t >= c->n_titles) { *n = 0; return NULL; }
    *n = c->title_start[t + 1] - c->title_start[t];
    return c->title_items + c->title_start[t];
}
void catalogue_free(Catalogue *c) {
    if (!c) return;
    strmap_free(&c->by_item); strmap_free(&c->by_title);
    free(c->items); free(c->title_start); free(c->title_items); free(c->path); free(c);
}

/* ---------------- sample reader ---------------- */
struct SampleReader {
    LineReader *lr;
    const Catalogue *cat;
    int flags;
    cJSON *cur;
    Sample s;
    int hist_cap;
};

SampleReader *sample_reader_open(const char *path, const Catalogue *cat, int flags) {
    SampleReader *r = xcalloc(1, sizeof *r);
    r->lr = lr_open(path);
    r->cat = cat;
    r->flags = flags;
    r->hist_cap = 16;
    r->s.hist = xmalloc(sizeof *r->s.hist * (size_t)r->hist_cap);
    return r;
}
const char *sample_reader_name(const SampleReader *r) { return lr_name(r->lr); }

static void parse_event(const cJSON *o, const char *prefix, SampleEvent *e, const SampleReader *r, Where w) {
    char name[64];
    if (!cJSON_IsObject(o)) die(EXIT_DATA, "%s:%ld: %s: expected an object", w.file, w.line, prefix);
    snprintf(name, sizeof name, "%s.item", prefix);  e->item = get_str(o, "item", name, w);
    snprintf(name, sizeof name, "%s.title", prefix); e->title = get_str(o, "title", name, w);
    snprintf(name, sizeof name, "%s.ts", prefix);    e->ts = get_int(o, "ts", name, w);
    e->cid = -1;
    if (r->cat) {
        e->cid = catalogue_find(r->cat, e->item);
        if (e->cid < 0 && (r->flags & SAMPLES_RESOLVE))
            die(EXIT_DATA, "%s:%ld: %s.item: '%s' is not in the catalogue %s", w.file, w.line, prefix, e->item, r->cat->path);
    }
}

const Sample *sample_reader_next(SampleReader *r) {
    if (r->cur) { cJSON_Delete(r->cur); r->cur = NULL; }
    size_t len;
    char *line = lr_next(r->lr, &len);
    if (!line) return NULL;
    Where w = { lr_name(r->lr), lr_lineno(r->lr) };
    if (len == 0) die(EXIT_DATA, "%s:%ld: empty line", w.file, w.line);
    cJSON *o = r->cur = json_parse_line(line, w);
    Sample *s = &r->s;
    s->line = w.line;
    s->id = json_int(o, "id", w);
    s->user = json_str(o, "user", w);
    const cJSON *h = json_arr(o, "history", w);
    int n = cJSON_GetArraySize(h);
    if (n > SAMPLES_MAX_HISTORY) die(EXIT_DATA, "%s:%ld: history: %d items, more than %d", w.file, w.line, n, SAMPLES_MAX_HISTORY);
    if (n > r->hist_cap) { r->hist_cap = n; s->hist = xrealloc(s->hist, sizeof *s->hist * (size_t)n); }
    s->n_hist = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, h) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "history[%d]", s->n_hist);
        parse_event(e, prefix, &s->hist[s->n_hist], r, w);
        s->n_hist++;
    }
    parse_event(json_obj(o, "target", w), "target", &s->target, r, w);
    s->split = json_str(o, "split", w);
    if (strcmp(s->split, "train") && strcmp(s->split, "valid") && strcmp(s->split, "test"))
        die(EXIT_DATA, "%s:%ld: split: expected train, valid or test, got '%s'", w.file, w.line, s->split);
    return s;
}

void sample_reader_close(SampleReader *r) {
    if (!r) return;
    if (r->cur) cJSON_Delete(r->cur);
    lr_close(r->lr);
    free(r->s.hist);
    free(r);
}

/* ---------------- SampleSet ---------------- */
static const char *intern(StrMap *pool, const char *s) { return strmap_put(pool, s, 0, NULL); }

SampleSet *samples_load(const char *path, const Catalogue *cat, int flags) {
    SampleSet *ss = xcalloc(1, sizeof *ss);
    SampleReader *r = sample_reader_open(path, cat, flags);
    ss->path = xstrdup(sample_reader_name(r));
    strmap_init(&ss->pool, 4096);
    idmap_init(&ss->by_id, 1024);
    size_t cap = 1024, ecap = 8192, ne = 0;
    ss->s = xmalloc(sizeof *ss->s * cap);
    ss->events = xmalloc(sizeof *ss->events * ecap);
    const Sample *s;
    while ((s = sample_reader_next(r))) {
        if ((size_t)ss->n == cap) { cap *= 2; ss->s = xrealloc(ss->s, sizeof *ss->s * cap); }
        if (ne + (size_t)s->n_hist > ecap) { while (ne + (size_t)s->n_hist > ecap) ecap *= 2; ss->events = xrealloc(ss->events, sizeof *ss->events * ecap); }
        Sample *d = &ss->s[ss->n];
        *d = *s;
        d->user = intern(&ss->pool, s->user);
        d->split = intern(&ss->pool, s->split);
        d->target.item = intern(&ss->pool, s->target.item);
        d->target.title = intern(&ss->pool, s->target.title);
        d->hist = NULL;                     /* fixed up below: events may still move */
        for (int i = 0; i < s->n_hist; i++) {
            SampleEvent *e = &ss->events[ne + (size_t)i];
            *e = s->hist[i];
            e->item = intern(&ss->pool, s->hist[i].item);
            e->title = intern(&ss->pool, s->hist[i].title);
        }
        d->hist = (SampleEvent *)(uintptr_t)ne;   /* offset until the array is final */
        ne += (size_t)s->n_hist;
        if (idmap_put(&ss->by_id, s->id, ss->n) >= 0)
            die(EXIT_DATA, "%s:%ld: id: duplicate sample id %lld", ss->path, s->line, s->id);
        ss->n++;
    }
    sample_reader_close(r);
    for (int i = 0; i < ss->n; i++) ss->s[i].hist = ss->events + (uintptr_t)ss->s[i].hist;
    return ss;
}
const Sample *samples_find(const SampleSet *ss, long long id) {
    int i = idmap_get(&ss->by_id, id);
    return i < 0 ? NULL : &ss->s[i];
}
void samples_free(SampleSet *ss) {
    if (!ss) return;
    strmap_free(&ss->pool); idmap_free(&ss->by_id);
    free(ss->s); free(ss->events); free(ss->path); free(ss);
}

/* ---------------- RankedSet ---------------- */
RankedSet *ranked_load(const char *path, const Catalogue *cat) {
    RankedSet *rs = xcalloc(1, sizeof *rs);
    LineReader *r = lr_open(path);
    rs->path = xstrdup(lr_name(r));
    idmap_init(&rs->by_id, 1024);
    size_t cap = 1024, len;
    rs->r = xmalloc(sizeof *rs->r * cap);
    char *line;
    while ((line = lr_next(r, &len))) {
        Where w = { rs->path, lr_lineno(r) };
        if (len == 0) die(EXIT_DATA, "%s:%ld: empty line", w.file, w.line);
        cJSON *o = json_parse_line(line, w);
        long long id = json_int(o, "id", w);
        const cJSON *a = json_arr(o, "items", w);
        int n = cJSON_GetArraySize(a), k = 0;
        int *items = xmalloc(sizeof *items * (size_t)(n ? n : 1));
        const cJSON *v;
        cJSON_ArrayForEach(v, a) {
            char name[32];
            snprintf(name, sizeof name, "items[%d]", k);
            long long x = num_to_int(v, name, w);
            if (cat && (x < 0 || x >= cat->n))
                die(EXIT_DATA, "%s:%ld: %s: unknown item id %lld (catalogue %s has ids 0..%d)", w.file, w.line, name, x, cat->path, cat->n - 1);
            if (x < 0 || x > 2147483647LL) die(EXIT_DATA, "%s:%ld: %s: item id %lld out of range", w.file, w.line, name, x);
            items[k++] = (int)x;
        }
        cJSON_Delete(o);
        if ((size_t)rs->n == cap) { cap *= 2; rs->r = xrealloc(rs->r, sizeof *rs->r * cap); }
        rs->r[rs->n] = (Ranked){ id, n, items, w.line };
        if (idmap_put(&rs->by_id, id, rs->n) >= 0) {
            free(items);
            die(EXIT_DATA, "%s:%ld: id: duplicate ranked list for sample %lld", w.file, w.line, id);
        }
        rs->n++;
    }
    lr_close(r);
    return rs;
}
const Ranked *ranked_find(const RankedSet *rs, long long id) {
    int i = idmap_get(&rs->by_id, id);
    return i < 0 ? NULL : &rs->r[i];
}
void ranked_free(RankedSet *rs) {
    if (!rs) return;
    for (int i = 0; i < rs->n; i++) free(rs->r[i].items);
    idmap_free(&rs->by_id); free(rs->r); free(rs->path); free(rs);
}
