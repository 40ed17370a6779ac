/* split811: interaction records (stdin) -> DIR/{train,valid,test}.jsonl + DIR/items.jsonl.
 * Reproduces D3's split (the paper, Sec. 4.1.1-4.1.2): per user, interactions sorted by ts
 * (stable); one sample per interaction after the user's first, with up to 10 preceding
 * items as history; all samples sorted by target ts (stable, i.e. ties in the order D3's
 * Python list has them: user first appearance, then position); cut int(n*0.8), int(n*0.9).
 * Histories are built before the cut, so valid/test histories reach back into train/valid
 * (paper 4.1.2). --mode loo: leave-one-out per user, as RecBole does. */
#include "samples.h"
#include "textclean.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: split811 -o DIR [--mode 811|loo] [--max-history 10] [-q] < interactions.jsonl\n"
"Turn interaction records ({user,item,title,ts,...}, docs/FORMATS.md) into samples.\n"
"Writes DIR/train.jsonl DIR/valid.jsonl DIR/test.jsonl DIR/items.jsonl (all or nothing).\n"
"  -o DIR           output directory (created if missing)\n"
"  --mode 811       (default) D3: samples sorted by target ts, first int(n*0.8) train,\n"
"                   next up to int(n*0.9) valid, rest test; ties keep the order of\n"
"                   (user's first appearance in the input, position in user's sequence)\n"
"  --mode loo       leave-one-out per user (RecBole): last sample test, second-last\n"
"                   valid (if the user has >= 2 samples), the rest train\n"
"  --max-history N  history window (default 10, as D3)\n"
"  -q / -v          no stats on stderr / stats even when stderr is not a terminal\n"
"Sample ids are 0..n-1 in global (target ts) order. items.jsonl: every item in order of\n"
"first appearance in the input, count = occurrences as a TRAIN target.\n");
    exit(code);
}

typedef struct { int user, item; long long ts; long seq; } Inter;
typedef struct { int user, pos; long long ts; } Samp;   /* pos: index of target in user's sequence */

static int cmp_user_seq(const void *a, const void *b) {
    const Inter *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;   /* stable: input order on ties */
}
static int cmp_samp(const void *a, const void *b) {
    const Samp *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;   /* user ids = first appearance */
    return (x->pos > y->pos) - (x->pos < y->pos);
}

typedef struct { const char *item, *title; } ItemInfo;

static void put_event(FILE *f, const ItemInfo *it, long long ts) {
    fputs("{\"item\": ", f); json_put_str(f, it->item);
    fputs(", \"title\": ", f); json_put_str(f, it->title);
    fprintf(f, ", \"ts\": %lld}", ts);
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *dir = NULL, *mode = "811";
    int max_hist = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) g_quiet = 0;
        else if (!strcmp(a, "-o") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(a, "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strncmp(a, "--mode=", 7)) mode = a + 7;
        else if (!strcmp(a, "--max-history") && i + 1 < argc) {
            char *e; long v = strtol(argv[++i], &e, 10);
            if (*e || v < 1 || v > SAMPLES_MAX_HISTORY) die(EXIT_USAGE, "--max-history: expected 1..%d, got '%s'", SAMPLES_MAX_HISTORY, argv[i]);
            max_hist = (int)v;
        } else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!dir) { fprintf(stderr, "%s: -o DIR is required\n", g_prog); usage(EXIT_USAGE); }
    int loo = 0;
    if (!strcmp(mode, "loo")) loo = 1;
    else if (strcmp(mode, "811")) die(EXIT_USAGE, "--mode: expected 811 or loo, got '%s'", mode);

    /* ---- read ---- */
    static StrMap users, items;            /* static: reachable on error exits (leak checkers) */
    strmap_init(&users, 1 << 12);
    strmap_init(&items, 1 << 12);
    static const char **user_name; size_t ucap = 0;
    static ItemInfo *item_info; size_t icap = 0;
    static Inter *in;
    size_t ncap = 1 << 16, n = 0;
    in = xmalloc(sizeof *in * ncap);
    long title_conflicts = 0;
    LineReader *r = lr_open(NULL);
    Progress pg; progress_start(&pg, "split811: reading", lr_size(r));
    char *line; size_t len;
    while ((line = lr_next(r, &len))) {
        Where w = { lr_name(r), lr_lineno(r) };
        if (len == 0) die(EXIT_DATA, "%s:%ld: empty line", w.file, w.line);
        cJSON *o = json_parse_line(line, w);
        const char *u = json_str(o, "user", w), *it = json_str(o, "item", w), *ti = json_str(o, "title", w);
        long long ts = json_int(o, "ts", w);
        int existed;
        const char *uk = strmap_put(&users, u, (long long)users.n, &existed);
        int uid = (int)*strmap_get(&users, u);
        if (!existed) {
            if ((size_t)uid >= ucap) { ucap = ucap ? ucap * 2 : 1024; user_name = xrealloc(user_name, sizeof *user_name * ucap); }
            user_name[uid] = uk;
        }
        const char *ik = strmap_put(&items, it, (long long)items.n, &existed);
        int iid = (int)*strmap_get(&items, it);
        if (!existed) {
            if ((size_t)iid >= icap) { icap = icap ? icap * 2 : 1024; item_info = xrealloc(item_info, sizeof *item_info * icap); }
            item_info[iid].item = ik;
            item_info[iid].title = xstrdup(ti);
        } else if (strcmp(item_info[iid].title, ti)) {
            title_conflicts++;               /* the item's first title is kept */
        }
        cJSON_Delete(o);
        if (n == ncap) { ncap *= 2; in = xrealloc(in, sizeof *in * ncap); }
        in[n] = (Inter){ uid, iid, ts, (long)n };
        n++;
        if ((n & 8191) == 0) progress_update(&pg, lr_size(r) ? lr_raw_pos(r) : n);
    }
    progress_end(&pg);
    if (n == 0) die(EXIT_DATA, "%s: no interactions", lr_name(r));
    lr_close(r);
    int n_users = (int)users.n, n_items = (int)items.n;
    {
        int nlong = 0, longest = 0, which = 0;
        for (int i = 0; i < n_items; i++) {
            int w = count_words(item_info[i].title, strlen(item_info[i].title));
            if (w > TITLE_WARN_WORDS) nlong++;
            if (w > longest) { longest = w; which = i; }
        }
        if (nlong)
            warn("%d of %d item titles are longer than %d words (longest: %d words, item %s); D3 drops such titles "
                 "(amz-filter --max-words)", nlong, n_items, TITLE_WARN_WORDS, longest, item_info[which].item);
    }

    /* ---- per user, sorted by time (ties: input order) ---- */
    qsort(in, n, sizeof *in, cmp_user_seq);
    int *ustart = xcalloc((size_t)n_users + 1, sizeof *ustart);
    for (size_t i = 0; i < n; i++) ustart[in[i].user + 1]++;
    for (int u = 0; u < n_users; u++) ustart[u + 1] += ustart[u];

    /* ---- samples ---- */
    size_t ns = n - (size_t)n_users, k = 0;
    if (ns == 0) die(EXIT_DATA, "no samples: every user has a single interaction");
    Samp *sm = xmalloc(sizeof *sm * ns);
    for (int u = 0; u < n_users; u++)
        for (int p = 1; p < ustart[u + 1] - ustart[u]; p++)
            sm[k++] = (Samp){ u, p, in[ustart[u] + p].ts };
    qsort(sm, ns, sizeof *sm, cmp_samp);

    /* split of each sample: 0 train, 1 valid, 2 test */
    unsigned char *split = xmalloc(ns);
    size_t cut1 = ns * 8 / 10, cut2 = ns * 9 / 10;   /* == D3's int(n*0.8), int(n*0.9) */
    for (size_t i = 0; i < ns; i++) {
        if (!loo) split[i] = i < cut1 ? 0 : i < cut2 ? 1 : 2;
        else {
            int m = ustart[sm[i].user + 1] - ustart[sm[i].user] - 1;   /* user's samples */
            int q = sm[i].pos;                                         /* 1..m */
            split[i] = q == m ? 2 : q == m - 1 ? 1 : 0;
        }
    }
    long long *count = xcalloc((size_t)n_items, sizeof *count);
    size_t nsplit[3] = {0, 0, 0};
    long long tmin[3], tmax[3];
    for (int s = 0; s < 3; s++) { tmin[s] = (long long)9e18; tmax[s] = -(long long)9e18; }
    for (size_t i = 0; i < ns; i++) {
        int s = split[i];
        nsplit[s]++;
        if (sm[i].ts < tmin[s]) tmin[s] = sm[i].ts;
        if (sm[i].ts > tmax[s]) tmax[s] = sm[i].ts;
        if (s == 0) count[in[ustart[sm[i].user] + sm[i].pos].item]++;
    }
    /* chronology (811): no valid/test target precedes any train target, no test precedes valid */
    if (!loo) {
        if ((nsplit[1] && nsplit[0] && tmin[1] < tmax[0]) || (nsplit[2] && nsplit[0] && tmin[2] < tmax[0]) ||
            (nsplit[2] && nsplit[1] && tmin[2] < tmax[1]))
            die(EXIT_DATA, "internal error: chronology violated");
    }

    /* ---- write all four files to temp names, then rename ---- */
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die(EXIT_IO, "%s: cannot create: %s", dir, strerror(errno));
    static const char *names[4] = { "train", "valid", "test", "items" };
    OutFile out[4];
    char path[4096];
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, names[f]);
        out[f] = out_open(path);
        atomic_cleanup_register(&out[f]);
    }
    for (size_t i = 0; i < ns; i++) {
        FILE *f = out[split[i]].f;
        const Inter *seq = in + ustart[sm[i].user];
        int p = sm[i].pos, st = p > max_hist ? p - max_hist : 0;
        fprintf(f, "{\"id\": %zu, \"user\": ", i);
        json_put_str(f, user_name[sm[i].user]);
        fputs(", \"history\": [", f);
        for (int j = st; j < p; j++) {
            if (j > st) fputs(", ", f);
            put_event(f, &item_info[seq[j].item], seq[j].ts);
        }
        fputs("], \"target\": ", f);
        put_event(f, &item_info[seq[p].item], seq[p].ts);
        fprintf(f, ", \"split\": \"%s\"}\n", names[split[i]]);
    }
    for (int i = 0; i < n_items; i++) {
        fprintf(out[3].f, "{\"id\": %d, \"item\": ", i);
        json_put_str(out[3].f, item_info[i].item);
        fputs(", \"title\": ", out[3].f);
        json_put_str(out[3].f, item_info[i].title);
        fprintf(out[3].f, ", \"count\": %lld}\n", count[i]);
    }
    for (int f = 0; f < 4; f++)
        if (ferror(out[f].f)) die(EXIT_IO, "%s/%s.jsonl: write error", dir, names[f]);
    for (int f = 0; f < 4; f++) out_commit(&out[f]);

    /* ---- stats ---- */
    info("%zu interactions, %d users, %d items, density %.5f", n, n_users, n_items,
         (double)n / ((double)n_users * (double)n_items));
    if (title_conflicts) info("%ld interactions gave an item a title different from its first one (first kept)", title_conflicts);
    info("mode %s, history <= %d: %zu samples: train %zu, valid %zu, test %zu", loo ? "loo" : "811", max_hist,
         ns, nsplit[0], nsplit[1], nsplit[2]);
    for (int s = 0; s < 3; s++)
        if (nsplit[s]) info("  %-5s target ts %lld .. %lld", names[s], tmin[s], tmax[s]);
        else info("  %-5s is empty", names[s]);
    if (!loo) info("chronology ok: no valid/test target precedes a train target");
    int zero = 0;
    for (int i = 0; i < n_items; i++) zero += count[i] == 0;
    if (zero) info("%d items never occur as a train target (count 0)", zero);

    for (int i = 0; i < n_items; i++) free((char *)item_info[i].title);
    free(item_info); free(user_name); free(in); free(ustart); free(sm); free(split); free(count);
    strmap_free(&users); strmap_free(&items);
    return 0;
}
