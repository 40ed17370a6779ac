/* metrics: HR@K / NDCG@K of ranked lists against the truth samples (all-ranking protocol,
 * one relevant item per sample: the paper, Sec. 4.1.2), paired bootstrap comparison of two
 * methods, and the popularity-group distribution of the recommendations (Sec. 4.4.1, Fig. 4).
 *
 * A hit is decided on TITLES, as the authors' evaluation does: the sample's rank is the first
 * 0-based position whose item has the same title as the target (several catalogue ids can
 * share a title). HR@K = [rank < K], NDCG@K = [rank < K] / log2(rank + 2). The ranker is
 * responsible for which candidates it ranks; this tool does not filter anything. */
#include "samples.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAXK = 16 };

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: metrics --truth test.jsonl --items items.jsonl [options] < ranked.jsonl\n"
"HR@K and NDCG@K (all-ranking, one relevant item; NDCG = 1/log2(rank+2), rank 0-based).\n"
"A ranked item hits when its TITLE equals the target's title (ids may share a title).\n"
"  -k 5,10              cut-offs (default 5,10)\n"
"  --ranked FILE        ranked lists from FILE instead of stdin\n"
"  --per-sample FILE    per-sample JSONL: {id, rank (-1 = not ranked), HR@K, NDCG@K...}\n"
"  --compare OTHER      paired difference (this - OTHER) per metric with a percentile\n"
"                       bootstrap 95%% CI over samples\n"
"  --resamples B        bootstrap resamples (default 1000)   --seed S (default 1)\n"
"  --popularity N       share of the top-K recommendations in N equal-size item groups\n"
"                       by train count (group 1 least popular, N most popular)\n"
"  --topk K             K for --popularity (default: the largest -k)\n"
"  --allow-missing      a truth sample without a ranked list counts as a miss\n"
"                       (default: error); the count is reported\n"
"  --allow-extra        ignore ranked lists whose id is not in the truth (default: error)\n"
"  -q                   no table on stderr (it is shown only on a TTY anyway)\n"
"Output: one JSON object on stdout.\n");
    exit(code);
}

/* per-sample first title-matching position, -1 when absent / missing list */
static int *ranks_of(const SampleSet *truth, const Catalogue *cat, const RankedSet *rk,
                     int allow_missing, int allow_extra, int *n_missing) {
    int *rank = xmalloc(sizeof *rank * (size_t)(truth->n ? truth->n : 1));
    *n_missing = 0;
    for (int i = 0; i < truth->n; i++) {
        const Sample *s = &truth->s[i];
        const Ranked *r = ranked_find(rk, s->id);
        rank[i] = -1;
        if (!r) {
            if (!allow_missing) {
                free(rank);
                die(EXIT_DATA, "%s: no ranked list for sample %lld (%s:%ld)", rk->path, s->id, truth->path, s->line);
            }
            (*n_missing)++;
            continue;
        }
        int tt = cat->items[s->target.cid].title_id;
        for (int j = 0; j < r->n; j++)
            if (cat->items[r->items[j]].title_id == tt) { rank[i] = j; break; }
    }
    if (!allow_extra)
        for (int j = 0; j < rk->n; j++)
            if (!samples_find(truth, rk->r[j].id)) {
                free(rank);
                die(EXIT_DATA, "%s:%ld: id: sample %lld is not in the truth %s", rk->path, rk->r[j].line, rk->r[j].id, truth->path);
            }
    return rank;
}

/* value of metric m (2*ki = HR@K, 2*ki+1 = NDCG@K) for a rank */
static double metric_value(int rank, int K, int ndcg) {
    if (rank < 0 || rank >= K) return 0.0;
    return ndcg ? 1.0 / log2((double)rank + 2.0) : 1.0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
/* numpy's default ("linear") percentile of a sorted array */
static double percentile(const double *a, int n, double q) {
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return a[n - 1];
    return a[lo] + (pos - lo) * (a[lo + 1] - a[lo]);
}

typedef struct { int *group; int n_groups, *size; long long *cmin, *cmax; } PopGroups;
static const Catalogue *g_cat;
static int cmp_pop(const void *a, const void *b) {
    const CatItem *x = &g_cat->items[*(const int *)a], *y = &g_cat->items[*(const int *)b];
    if (x->count != y->count) return x->count < y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}
static PopGroups pop_groups(const Catalogue *cat, int N) {
    PopGroups g = { xmalloc(sizeof(int) * (size_t)cat->n), N, xcalloc((size_t)N, sizeof(int)),
                    xmalloc(sizeof(long long) * (size_t)N), xmalloc(sizeof(long long) * (size_t)N) };
    int *order = xmalloc(sizeof *order * (size_t)cat->n);
    for (int i = 0; i < cat->n; i++) order[i] = i;
    g_cat = cat;
    qsort(order, (size_t)cat->n, sizeof *order, cmp_pop);
    for (int q = 0; q < N; q++) {
        long lo = (long)q * cat->n / N, hi = (long)(q + 1) * cat->n / N;   /* sizes differ by <= 1 */
        g.size[q] = (int)(hi - lo);
        g.cmin[q] = hi > lo ? cat->items[order[lo]].count : 0;
        g.cmax[q] = hi > lo ? cat->items[order[hi - 1]].count : 0;
        for (long j = lo; j < hi; j++) g.group[order[j]] = q;
    }
    free(order);
    return g;
}
/* adds list r's top-K items to cnt by popularity group (r may be NULL); returns how many */
static long long pop_count(const PopGroups *g, const Ranked *r, int K, long long *cnt) {
    long long k = 0;
    for (int j = 0; r && j < r->n && j < K; j++, k++) cnt[g->group[r->items[j]]]++;
    return k;
}
static void pop_share(const PopGroups *g, const SampleSet *truth, const RankedSet *rk, int K, double *share, long long *total) {
    long long *cnt = xcalloc((size_t)g->n_groups, sizeof *cnt);
    *total = 0;
    for (int i = 0; i < truth->n; i++) *total += pop_count(g, ranked_find(rk, truth->s[i].id), K, cnt);
    for (int q = 0; q < g->n_groups; q++) share[q] = *total ? (double)cnt[q] / (double)*total : 0.0;
    free(cnt);
}

static void put_num(double v) { printf("%.10g", v); }

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *truth_path = NULL, *items_path = NULL, *ranked_path = NULL, *per_path = NULL, *other_path = NULL;
    int ks[MAXK] = {5, 10}, nk = 2, n_groups = 0, topk = 0, resamples = 1000, allow_missing = 0, allow_extra = 0;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--truth") && more) truth_path = argv[++i];
        else if (!strcmp(a, "--items") && more) items_path = argv[++i];
        else if (!strcmp(a, "--ranked") && more) ranked_path = argv[++i];
        else if (!strcmp(a, "--per-sample") && more) per_path = argv[++i];
        else if (!strcmp(a, "--compare") && more) other_path = argv[++i];
        else if (!strcmp(a, "-k") && more) nk = parse_int_list(argv[++i], ks, MAXK, "-k");
        else if (!strcmp(a, "--allow-missing")) allow_missing = 1;
        else if (!strcmp(a, "--allow-extra")) allow_extra = 1;
        else if ((!strcmp(a, "--popularity") || !strcmp(a, "--topk") || !strcmp(a, "--resamples")) && more) {
            char *e; long v = strtol(argv[++i], &e, 10);
            if (*e || v < 1 || v > 100000000) die(EXIT_USAGE, "%s: expected a positive integer, got '%s'", a, argv[i]);
            if (a[2] == 'p') n_groups = (int)v; else if (a[2] == 't') topk = (int)v; else resamples = (int)v;
        } else if (!strcmp(a, "--seed") && more) {
            char *e; seed = strtoull(argv[++i], &e, 10);
            if (*e || !*argv[i]) die(EXIT_USAGE, "--seed: expected an integer, got '%s'", argv[i]);
        } else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!truth_path || !items_path) { fprintf(stderr, "%s: --truth and --items are required\n", g_prog); usage(EXIT_USAGE); }
    if (topk && !n_groups) die(EXIT_USAGE, "--topk needs --popularity");
    if (!topk) { topk = ks[0]; for (int j = 1; j < nk; j++) if (ks[j] > topk) topk = ks[j]; }

    /* static: error exits (die) keep these reachable, so leak checkers stay quiet */
    static Catalogue *cat;
    static SampleSet *truth;
    static RankedSet *rk, *ro;
    static int *rank, *rank_o;
    cat = catalogue_load(items_path);
    truth = samples_load(truth_path, cat, SAMPLES_RESOLVE);
    if (truth->n == 0) die(EXIT_DATA, "%s: no samples", truth->path);
    if (n_groups > cat->n) die(EXIT_USAGE, "--popularity %d: more groups than the %d catalogue items", n_groups, cat->n);
    rk = ranked_load(ranked_path, cat);
    int miss = 0, miss_o = 0;
    rank = ranks_of(truth, cat, rk, allow_missing, allow_extra, &miss);
    if (other_path) {
        ro = ranked_load(other_path, cat);
        rank_o = ranks_of(truth, cat, ro, allow_missing, allow_extra, &miss_o);
    }
    int n = truth->n, M = 2 * nk;
    /* per-sample values v[i*M + m] */
    double *v = xmalloc(sizeof *v * (size_t)n * (size_t)M), *vo = other_path ? xmalloc(sizeof *vo * (size_t)n * (size_t)M) : NULL;
    double mean[2 * MAXK] = {0}, mean_o[2 * MAXK] = {0};
    for (int i = 0; i < n; i++)
        for (int m = 0; m < M; m++) {
            v[(size_t)i * M + m] = metric_value(rank[i], ks[m / 2], m & 1);
            mean[m] += v[(size_t)i * M + m];
            if (vo) { vo[(size_t)i * M + m] = metric_value(rank_o[i], ks[m / 2], m & 1); mean_o[m] += vo[(size_t)i * M + m]; }
        }
    for (int m = 0; m < M; m++) { mean[m] /= n; mean_o[m] /= n; }

    PopGroups pg = {0};
    double *share = NULL, *share_o = NULL;
    long long recs = 0, recs_o = 0;
    if (n_groups) {
        pg = pop_groups(cat, n_groups);
        share = xmalloc(sizeof *share * (size_t)n_groups);
        pop_share(&pg, truth, rk, topk, share, &recs);
        if (ro) { share_o = xmalloc(sizeof *share_o * (size_t)n_groups); pop_share(&pg, truth, ro, topk, share_o, &recs_o); }
    }

    if (per_path) {
        OutFile of = out_open(per_path);
        long long *gc = n_groups ? xmalloc(sizeof *gc * (size_t)n_groups) : NULL;
        atomic_cleanup_register(&of);
        for (int i = 0; i < n; i++) {
            fprintf(of.f, "{\"id\": %lld, \"rank\": %d", truth->s[i].id, rank[i]);
            for (int m = 0; m < M; m++) {
                fprintf(of.f, ", \"%s@%d\": ", m & 1 ? "NDCG" : "HR", ks[m / 2]);
                fprintf(of.f, "%.10g", v[(size_t)i * M + m]);
            }
            if (n_groups) {   /* its top-K items per popularity group: Fig. 4's shares, resampled */
                for (int q = 0; q < n_groups; q++) gc[q] = 0;
                pop_count(&pg, ranked_find(rk, truth->s[i].id), topk, gc);
                fputs(", \"groups\": [", of.f);
                for (int q = 0; q < n_groups; q++) fprintf(of.f, "%s%lld", q ? ", " : "", gc[q]);
                fputc(']', of.f);
            }
            fputs("}\n", of.f);
        }
        free(gc);
        if (ferror(of.f)) die(EXIT_IO, "%s: write error", per_path);
        out_commit(&of);
    }

    /* paired bootstrap: resample sample indices with replacement, same draw for all metrics */
    double lo[2 * MAXK], hi[2 * MAXK], pval[2 * MAXK];
    if (vo) {
        double *bm = xmalloc(sizeof *bm * (size_t)resamples * (size_t)M);
        double *d = xmalloc(sizeof *d * (size_t)n * (size_t)M);
        for (size_t j = 0; j < (size_t)n * (size_t)M; j++) d[j] = v[j] - vo[j];
        Rng rng; rng_seed(&rng, seed);
        double acc[2 * MAXK];
        for (int b = 0; b < resamples; b++) {
            for (int m = 0; m < M; m++) acc[m] = 0;
            for (int i = 0; i < n; i++) {
                const double *di = d + (size_t)rng_below(&rng, (uint32_t)n) * M;
                for (int m = 0; m < M; m++) acc[m] += di[m];
            }
            for (int m = 0; m < M; m++) bm[(size_t)m * resamples + b] = acc[m] / n;
        }
        for (int m = 0; m < M; m++) {
            double *a = bm + (size_t)m * resamples;
            qsort(a, (size_t)resamples, sizeof *a, cmp_double);
            lo[m] = percentile(a, resamples, 0.025);
            hi[m] = percentile(a, resamples, 0.975);
            int le = 0, ge = 0;
            for (int b = 0; b < resamples; b++) { le += a[b] <= 0; ge += a[b] >= 0; }
            double p = 2.0 * (le < ge ? le : ge) / resamples;
            pval[m] = p > 1 ? 1 : p;
        }
        free(bm); free(d);
    }

    /* ---- JSON on stdout ---- */
    printf("{\"n\": %d", n);
    for (int m = 0; m < M; m++) { printf(", \"%s@%d\": ", m & 1 ? "NDCG" : "HR", ks[m / 2]); put_num(mean[m]); }
    if (allow_missing) printf(", \"missing\": %d", miss);
    if (vo) {
        printf(", \"compare\": {\"other\": "); json_put_str(stdout, other_path);
        printf(", \"resamples\": %d, \"seed\": %llu", resamples, seed);
        if (allow_missing) printf(", \"other_missing\": %d", miss_o);
        for (int m = 0; m < M; m++) {
            printf(", \"%s@%d\": {\"this\": ", m & 1 ? "NDCG" : "HR", ks[m / 2]); put_num(mean[m]);
            printf(", \"other\": "); put_num(mean_o[m]);
            printf(", \"diff\": "); put_num(mean[m] - mean_o[m]);
            printf(", \"ci95\": ["); put_num(lo[m]); printf(", "); put_num(hi[m]);
            printf("], \"p\": "); put_num(pval[m]); printf("}");
        }
        printf("}");
    }
    if (n_groups) {
        printf(", \"popularity\": {\"groups\": %d, \"topk\": %d, \"recs\": %lld, \"share\": [", n_groups, topk, recs);
        for (int q = 0; q < n_groups; q++) { if (q) printf(", "); put_num(share[q]); }
        if (share_o) {
            printf("], \"other_recs\": %lld, \"other_share\": [", recs_o);
            for (int q = 0; q < n_groups; q++) { if (q) printf(", "); put_num(share_o[q]); }
        }
        printf("], \"items\": [");
        for (int q = 0; q < n_groups; q++) printf("%s%d", q ? ", " : "", pg.size[q]);
        printf("], \"count_min\": [");
        for (int q = 0; q < n_groups; q++) printf("%s%lld", q ? ", " : "", pg.cmin[q]);
        printf("], \"count_max\": [");
        for (int q = 0; q < n_groups; q++) printf("%s%lld", q ? ", " : "", pg.cmax[q]);
        printf("]}");
    }
    printf("}\n");
    if (fflush(stdout) != 0 || ferror(stdout)) die(EXIT_IO, "<stdout>: write error");

    /* ---- human table on a TTY ---- */
    if (!g_quiet && isatty(2)) {
        fprintf(stderr, "%d samples%s\n", n, miss ? " (some missing, counted as misses)" : "");
        fprintf(stderr, "%-9s %8s", "metric", "this");
        if (vo) fprintf(stderr, " %8s %9s  %-21s %6s", "other", "diff", "95% CI", "p");
        fputc('\n', stderr);
        for (int m = 0; m < M; m++) {
            char name[24]; snprintf(name, sizeof name, "%s@%d", m & 1 ? "NDCG" : "HR", ks[m / 2]);
            fprintf(stderr, "%-9s %8.4f", name, mean[m]);
            if (vo) fprintf(stderr, " %8.4f %+9.4f  [%+8.4f, %+8.4f] %6.3f", mean_o[m], mean[m] - mean_o[m], lo[m], hi[m], pval[m]);
            fputc('\n', stderr);
        }
        if (n_groups) {
            fprintf(stderr, "popularity of top-%d (group 1 = least popular):\n", topk);
            for (int q = 0; q < n_groups; q++) {
                fprintf(stderr, "  group %2d (%d items, count %lld..%lld): %6.4f", q + 1, pg.size[q], pg.cmin[q], pg.cmax[q], share[q]);
                if (share_o) fprintf(stderr, "  other %6.4f", share_o[q]);
                fputc('\n', stderr);
            }
        }
    }

    free(rank); free(rank_o); free(v); free(vo); free(share); free(share_o);
    free(pg.group); free(pg.size); free(pg.cmin); free(pg.cmax);
    ranked_free(rk); ranked_free(ro); samples_free(truth); catalogue_free(cat);
    return 0;
}
