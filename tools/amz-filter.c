/* amz-filter: Amazon 2018 reviews + metadata -> interaction records, as D3 preprocesses
 * them (paper Sec. 4.1.1): date window, clean titles, iterative k-core.
 *   zcat Reviews.json.gz | amz-filter --meta meta_X.json.gz > interactions.jsonl
 * Streams the reviews: each line is validated and scanned by amzscan (no JSON tree), and
 * only window-passing rows are kept, as interned ids (24 bytes each). Output order = input
 * order of the surviving reviews. See docs/FORMATS.md (amz-filter section). */
#include "util.h"
#include "amzscan.h"
#include "amzcore.h"
#include "textclean.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
        "usage: amz-filter --meta META.json[.gz] [options] [REVIEWS.json[.gz]] > interactions.jsonl\n"
        "Amazon 2018 reviews (stdin or a path, plain or gzip) -> interaction records\n"
        "{user,item,title,ts,rating}, as D3 preprocesses them. Defaults as D3:\n"
        "window 2017-10-01 <= ts < 2018-11-01 (UTC), 5-core, titles <= 20 words.\n"
        "  --meta FILE       metadata (asin, title); required\n"
        "  -o FILE           write here (atomically: nothing is left on failure)\n"
        "%s"
        "  --max-words N     drop titles longer than N words (default 20, 0 = no limit)\n"
        "  --skip-bad        skip malformed lines (counted on stderr) instead of failing\n"
        "  --stats FILE      write the run's statistics as one JSON object\n"
        "  -q / -v           quiet / log even when stderr is not a terminal\n"
        "Exit: 0 ok, 1 bad data, 2 usage, 3 I/O (missing file, truncated gzip).\n",
        filter_usage);
    exit(code);
}

typedef struct { long n; char first[512]; } Skips;

/* one bad line: die, or count it under --skip-bad */
static int bad_line(int skip_bad, Skips *sk, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_line(int skip_bad, Skips *sk, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!skip_bad) die(EXIT_DATA, "%s", msg);
    if (!sk->n++) snprintf(sk->first, sizeof sk->first, "%s", msg);
    return 0;
}

static const char *span_type(const JSpan *s) { return jv_type_name[s->type]; }

int main(int argc, char **argv) {
    util_init(argc, argv);
    FilterOpts fo;
    filter_defaults_d3(&fo);
    const char *meta_path = NULL, *out_path = NULL, *in_path = NULL, *stats_path = NULL;
    int skip_bad = 0, explicit_quiet = 0;
    TitleRules rules = {2, 20, 1, 1};   /* D3: len(title) > 1, <= 20 words, strip('"'); we drop any HTML */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (filter_parse_opt(&fo, argc, argv, &i)) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "--meta") && i + 1 < argc) meta_path = argv[++i];
        else if (!strcmp(a, "-o") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(a, "--stats") && i + 1 < argc) stats_path = argv[++i];
        else if (!strcmp(a, "--max-words") && i + 1 < argc) {
            char *e; long v = strtol(argv[++i], &e, 10);
            if (*e || v < 0 || v > 100000) die(EXIT_USAGE, "--max-words: bad number '%s'", argv[i]);
            rules.max_words = (int)v;
        }
        else if (!strcmp(a, "--skip-bad")) skip_bad = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) explicit_quiet = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) g_quiet = 0;
        else if (a[0] == '-' && a[1]) die(EXIT_USAGE, "unknown or incomplete option '%s' (see --help)", a);
        else if (!in_path) in_path = a;
        else die(EXIT_USAGE, "more than one reviews file given ('%s', '%s')", in_path, a);
    }
    if (explicit_quiet) g_quiet = 1;
    if (!meta_path) die(EXIT_USAGE, "--meta FILE is required (see --help)");
    if (fo.since != TS_MIN && fo.until != TS_MAX && fo.since >= fo.until) die(EXIT_USAGE, "--since must be before --until");

    /* open both first: a missing meta file fails before any review is read */
    LineReader *mr = lr_open(meta_path);
    LineReader *rr = lr_open(in_path);

    ITable t;
    it_init(&t);
    static const char *const rkeys[] = {"reviewerID", "asin", "unixReviewTime", "overall"};
    JKeys rk; jkeys_init(&rk, rkeys, 4);
    JSpan v[4];
    Skips rskip = {0, ""};
    long lines = 0, out_window = 0;
    int widen = fo.min_items > 0;
    int64_t keep_from = widen ? TS_MIN : fo.since;   /* widening needs the older rows */
    char *dec = NULL; size_t deccap = 0;
    Progress pg;
    progress_start(&pg, "reviews", lr_size(rr));
    char *line; size_t len;
    while ((line = lr_next(rr, &len))) {
        lines++;
        if ((lines & 0xffff) == 0) progress_update(&pg, lr_size(rr) ? lr_raw_pos(rr) : lr_bytes(rr));
        const char *err; size_t pos;
        const char *fn = lr_name(rr); long ln = lr_lineno(rr);
        if (jscan_object(line, len, &rk, v, &err, &pos)) {
            bad_line(skip_bad, &rskip, "%s:%ld: malformed JSON: %s at byte %zu", fn, ln, err, pos + 1);
            continue;
        }
        int bad = 0;
        for (int k = 0; k < 4 && !bad; k++) {
            int want = k < 2 ? JV_STR : JV_NUM;
            if (v[k].type == JV_NONE) { bad_line(skip_bad, &rskip, "%s:%ld: %s: missing field", fn, ln, rkeys[k]); bad = 1; }
            else if (v[k].type != want) {
                bad_line(skip_bad, &rskip, "%s:%ld: %s: expected %s, got %s", fn, ln, rkeys[k], want == JV_STR ? "a string" : "a number", span_type(&v[k]));
                bad = 1;
            }
        }
        if (bad) continue;
        int64_t ts;
        if (jnum_int64(&v[2], &ts)) {
            bad_line(skip_bad, &rskip, "%s:%ld: unixReviewTime: expected an integer, got %.*s", fn, ln, (int)(v[2].n > 40 ? 40 : v[2].n), v[2].p);
            continue;
        }
        if (ts < keep_from || ts >= fo.until) { out_window++; continue; }
        double rating = jnum_double(&v[3]);
        uint32_t ids[2];
        for (int k = 0; k < 2; k++) {
            const char *s = v[k].p; size_t n = v[k].n;
            if (v[k].escaped) {
                if (n + 1 > deccap) { deccap = 2 * n + 64; dec = xrealloc(dec, deccap); }
                n = jstr_decode(&v[k], dec);
                s = dec;
            }
            if (n == 0) { bad_line(skip_bad, &rskip, "%s:%ld: %s: empty string", fn, ln, rkeys[k]); bad = 1; break; }
            long u = utf8_invalid_at(s, n);
            if (u >= 0) { bad_line(skip_bad, &rskip, "%s:%ld: %s: invalid UTF-8 at byte %ld", fn, ln, rkeys[k], u + 1); bad = 1; break; }
            ids[k] = k == 0 ? it_user(&t, s, n) : it_item(&t, s, n);
        }
        if (bad) continue;
        it_add(&t, ids[0], ids[1], ts, rating);
    }
    progress_end(&pg);
    char rname[1024]; snprintf(rname, sizeof rname, "%s", lr_name(rr));
    lr_close(rr);
    if (lines == 0) die(EXIT_DATA, "%s: empty input (no reviews)", rname);
    if (rskip.n) fprintf(stderr, "%s: skipped %ld malformed review lines of %ld (first: %s)\n", g_prog, rskip.n, lines, rskip.first);

    /* metadata: first clean title per asin; duplicates counted */
    static const char *const mkeys[] = {"asin", "title"};
    JKeys mk; jkeys_init(&mk, mkeys, 2);
    JSpan mv[2];
    FpSet seen; fpset_init(&seen);
    Skips mskip = {0, ""};
    long mlines = 0, dups = 0, verdicts[TITLE_NREASONS] = {0}, missing_title = 0;
    char *clean = NULL; size_t cleancap = 0;
    progress_start(&pg, "metadata", lr_size(mr));
    while ((line = lr_next(mr, &len))) {
        mlines++;
        if ((mlines & 0xffff) == 0) progress_update(&pg, lr_raw_pos(mr));
        const char *err; size_t pos;
        const char *fn = lr_name(mr); long ln = lr_lineno(mr);
        if (jscan_object(line, len, &mk, mv, &err, &pos)) {
            bad_line(skip_bad, &mskip, "%s:%ld: malformed JSON: %s at byte %zu", fn, ln, err, pos + 1);
            continue;
        }
        if (mv[0].type != JV_STR) {
            if (mv[0].type == JV_NONE) bad_line(skip_bad, &mskip, "%s:%ld: asin: missing field", fn, ln);
            else bad_line(skip_bad, &mskip, "%s:%ld: asin: expected a string, got %s", fn, ln, span_type(&mv[0]));
            continue;
        }
        if (mv[1].type != JV_STR && mv[1].type != JV_NONE && mv[1].type != JV_NULL) {
            bad_line(skip_bad, &mskip, "%s:%ld: title: expected a string, got %s", fn, ln, span_type(&mv[1]));
            continue;
        }
        size_t need = mv[0].n + mv[1].n + 2;
        if (need > deccap) { deccap = 2 * need + 64; dec = xrealloc(dec, deccap); }
        size_t an = jstr_decode(&mv[0], dec);
        long u = utf8_invalid_at(dec, an);
        if (u >= 0) { bad_line(skip_bad, &mskip, "%s:%ld: asin: invalid UTF-8 at byte %ld", fn, ln, u + 1); continue; }
        int isnew;
        uint8_t *flag = fpset_get(&seen, str_hash(dec, an), &isnew);
        if (!isnew) dups++;
        if (*flag) continue;   /* already has a clean title: the first one wins */
        if (mv[1].type != JV_STR) { missing_title++; continue; }
        int64_t id = strtab_find(&t.items, dec, an);
        char *title = dec + an + 1;
        size_t tn = jstr_decode(&mv[1], title);
        /* raw bytes or an escaped lone surrogate: either would reach items.jsonl as non-UTF-8 */
        if ((u = utf8_invalid_at(title, tn)) >= 0) {
            bad_line(skip_bad, &mskip, "%s:%ld: title: invalid UTF-8 at byte %ld", fn, ln, u + 1);
            continue;
        }
        if (tn + 1 > cleancap) { cleancap = 2 * tn + 64; clean = xrealloc(clean, cleancap); }
        size_t cn;
        TitleVerdict vd = title_clean(title, tn, clean, &cn, &rules);
        verdicts[vd]++;
        if (vd != TITLE_OK) continue;
        *flag = 1;
        if (id >= 0) it_set_title(&t, (uint32_t)id, clean, cn);
    }
    progress_end(&pg);
    char mname[1024]; snprintf(mname, sizeof mname, "%s", lr_name(mr));
    lr_close(mr);
    if (mlines == 0) die(EXIT_DATA, "%s: empty metadata (no rows)", mname);
    if (mskip.n) fprintf(stderr, "%s: skipped %ld malformed metadata lines of %ld (first: %s)\n", g_prog, mskip.n, mlines, mskip.first);
    if (dups && !explicit_quiet)
        fprintf(stderr, "%s: %s: %ld duplicate metadata rows (same asin again; first clean title kept)\n", g_prog, mname, dups);
    info("metadata: %ld rows, %zu asins, titles kept %ld, dropped: missing %ld, empty %ld, long %ld, html %ld",
         mlines, seen.n, verdicts[TITLE_OK], missing_title, verdicts[TITLE_EMPTY], verdicts[TITLE_LONG], verdicts[TITLE_HTML]);

    FilterStats st;
    uint8_t *alive = it_filter(&t, &fo, &st);
    char sl[512];
    filter_stats_line(&st, sl, sizeof sl);
    info("reviews: %ld lines, %ld outside the window, %ld kept before titles/k-core; %ld rows of items without a clean title",
         lines, out_window, (long)t.n, st.no_title);
    info("%s", sl);
    if (st.inter == 0) {
        /* an empty interactions file would only fail later, in split811, without the reason */
        char a[32], z[32];
        fmt_when(st.since, a, sizeof a); fmt_when(st.until, z, sizeof z);
        if (t.n == 0)
            die(EXIT_DATA, "%s: nothing survives the filters: all %ld reviews fall outside the window %s..%s "
                "(see --since/--until, --min-items)", rname, lines, a, z);
        if (st.in_window == 0) {
            const char *why[TITLE_NREASONS + 1] = {0};
            long cnt[TITLE_NREASONS + 1] = {0};
            why[TITLE_EMPTY] = "empty or too short"; cnt[TITLE_EMPTY] = verdicts[TITLE_EMPTY];
            why[TITLE_LONG] = "longer than --max-words"; cnt[TITLE_LONG] = verdicts[TITLE_LONG];
            why[TITLE_HTML] = "HTML fragments"; cnt[TITLE_HTML] = verdicts[TITLE_HTML];
            why[TITLE_NREASONS] = "missing"; cnt[TITLE_NREASONS] = missing_title;
            int big = TITLE_NREASONS;
            for (int r = 0; r < TITLE_NREASONS; r++) if (why[r] && cnt[r] > cnt[big]) big = r;
            long all = missing_title;
            for (int r = 0; r < TITLE_NREASONS; r++) all += verdicts[r];
            if (cnt[big] == 0)
                die(EXIT_DATA, "%s: nothing survives the filters: none of the %ld reviews in the window has an item with a "
                    "clean title in %s: its %ld clean titles belong to other items", rname, (long)t.n, mname, verdicts[TITLE_OK]);
            die(EXIT_DATA, "%s: nothing survives the filters: none of the %ld reviews in the window has an item with a "
                "clean title in %s; the largest cause: %ld of %ld titles were %s", rname, (long)t.n, mname,
                cnt[big], all, why[big]);
        }
        die(EXIT_DATA, "%s: nothing survives the filters: the %d-core removed all %ld interactions of the window %s..%s "
            "(see --core, --min-items)", rname, fo.core, st.in_window, a, z);
    }

    it_write_path(&t, alive, out_path);

    if (stats_path) {
        OutFile sf = out_open(stats_path);
        atomic_cleanup_register(&sf);
        fprintf(sf.f, "{\"review_lines\": %ld, \"skipped_bad\": %ld, \"outside_window\": %ld, \"meta_rows\": %ld, "
                      "\"meta_duplicates\": %ld, \"meta_skipped_bad\": %ld, \"titles_kept\": %ld, \"titles_missing\": %ld, "
                      "\"titles_empty\": %ld, \"titles_long\": %ld, \"titles_html\": %ld, ",
                lines, rskip.n, out_window, mlines, dups, mskip.n, verdicts[TITLE_OK], missing_title,
                verdicts[TITLE_EMPTY], verdicts[TITLE_LONG], verdicts[TITLE_HTML]);
        filter_stats_json(sf.f, &st);
        fprintf(sf.f, "}\n");
        out_commit(&sf);
    }
    free(alive); free(dec); free(clean);
    fpset_free(&seen);
    it_free(&t);
    return 0;
}
