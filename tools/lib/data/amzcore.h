/* amzcore: the interaction table and the D3-style filtering shared by amz-filter and
 * import — one home for the date window, the title requirement, the iterative k-core and
 * the year-at-a-time widening, and for writing interaction records (docs/FORMATS.md).
 *
 * Memory: users/items are interned once (string arena + open-addressing hash), each kept
 * interaction is 24 bytes (user id, item id, ts, rating), titles are stored once per item.
 * Nothing else of the input is kept. */
#ifndef CFT_AMZCORE_H
#define CFT_AMZCORE_H
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

/* ---- string interning: id 0..n-1 in first-seen order ---- */
typedef struct {
    char *arena; size_t alen, acap;      /* NUL-terminated strings back to back */
    size_t *off; uint32_t *len; uint64_t *hash;
    uint32_t n, cap;
    uint32_t *slot; uint32_t nslot;      /* id+1, 0 = empty; power of two */
} StrTab;
void strtab_init(StrTab *t);
void strtab_free(StrTab *t);
uint64_t str_hash(const char *s, size_t n);
/* id of s (inserted when absent; *isnew set if non-NULL) */
uint32_t strtab_intern(StrTab *t, const char *s, size_t n, int *isnew);
/* id of s or -1 */
int64_t strtab_find(const StrTab *t, const char *s, size_t n);
static inline const char *strtab_str(const StrTab *t, uint32_t id) { return t->arena + t->off[id]; }

/* ---- set of 64-bit fingerprints with a small flag (metadata asins) ---- */
typedef struct { uint64_t *key; uint8_t *val; size_t n, cap; } FpSet;
void fpset_init(FpSet *s);
void fpset_free(FpSet *s);
/* pointer to the flag byte of key k, inserting (flag 0) when absent; *isnew set */
uint8_t *fpset_get(FpSet *s, uint64_t k, int *isnew);

/* ---- interactions ---- */
typedef struct { uint32_t user, item; int64_t ts; double rating; } Inter;
typedef struct {
    StrTab users, items;
    char **title;        /* per item id: cleaned title (UTF-8), NULL = none */
    size_t title_cap;
    Inter *rows; size_t n, cap;
} ITable;
void it_init(ITable *t);
void it_free(ITable *t);
uint32_t it_user(ITable *t, const char *s, size_t n);
uint32_t it_item(ITable *t, const char *s, size_t n);
/* set the title of item id (copied); replaces an existing one */
void it_set_title(ITable *t, uint32_t item, const char *s, size_t n);
static inline const char *it_title(const ITable *t, uint32_t item) { return item < t->title_cap ? t->title[item] : NULL; }
void it_add(ITable *t, uint32_t user, uint32_t item, int64_t ts, double rating);

/* ---- window + title + k-core (+ widening) ---- */
#define TS_MIN INT64_MIN
#define TS_MAX INT64_MAX
typedef struct {
    int64_t since, until;   /* keep since <= ts < until (UTC seconds); TS_MIN/TS_MAX = open */
    int core;               /* k of the k-core on users AND items; <= 1 = no k-core */
    long min_items;         /* > 0: widen `since` a year at a time while fewer items survive */
    int floor_year;         /* widening stops once since's year reaches this (D3: 1996) */
} FilterOpts;
typedef struct {
    int64_t since, until;   /* the window finally used */
    long users, items, inter;
    int rounds;             /* k-core passes that removed something */
    int widenings;          /* years added by widening */
    long no_title;          /* rows (in the stored set) whose item has no clean title */
    long in_window;         /* rows inside the final window with a titled item, before k-core */
} FilterStats;
void filter_defaults_d3(FilterOpts *o);     /* 2017-10-01 .. 2018-11-01, core 5, no widening */
void filter_defaults_none(FilterOpts *o);   /* open window, no k-core */
/* Parse one window/core option at argv[*i] (advancing *i past its value); returns 1 when
 * consumed. --since D, --until D, --no-window, --core K, --widen, --min-items N. */
int filter_parse_opt(FilterOpts *o, int argc, char **argv, int *i);
extern const char *const filter_usage;      /* the help lines of those options */
/* The row mask of survivors (caller frees). Rows must already be restricted to what the
 * widest window could need (amz-filter drops rows >= until, and < since unless widening). */
uint8_t *it_filter(const ITable *t, const FilterOpts *o, FilterStats *st);

/* Parse YYYY-MM-DD[THH:MM[:SS]] (UTC) or plain Unix seconds; returns 0 ok. */
int parse_when(const char *s, int64_t *ts);
void fmt_when(int64_t ts, char *buf, size_t n);   /* "2017-10-01" or "2017-10-01T05:00:00", "-inf"/"+inf" */

/* ---- output ---- */
/* write the surviving rows in table (= input) order as interaction records */
void it_write(const ITable *t, const uint8_t *mask, FILE *f);
/* it_write to path atomically (NULL or "-" = stdout, block-buffered) */
void it_write_path(const ITable *t, const uint8_t *mask, const char *path);
/* stats line for humans: "users=.. items=.. interactions=.. density=.. rounds=.." */
void filter_stats_line(const FilterStats *st, char *buf, size_t n);
/* the same as JSON members (no braces): "\"users\": 1, ..." */
void filter_stats_json(FILE *f, const FilterStats *st);
/* append s as a JSON string literal (quotes, escapes) to the growing buffer */
void buf_json_str(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
#endif
