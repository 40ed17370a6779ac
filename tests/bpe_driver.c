/* bpe_driver: the test's window on tools/lib/llm/bpe.c (built by tests/test_bpe.sh against
 * libcft.a). Input lines are JSON: a string to encode, or an id array to decode.
 *   bpe_driver TOK.json encode IN    one id array per line
 *   bpe_driver TOK.json decode IN    one JSON string per line
 *   bpe_driver TOK.json time IN      encode every line; print seconds (cache cold first)
 *   bpe_driver TOK.json threads IN   encode on 4 OpenMP threads at once; print the arrays
 *   bpe_driver TOK.json info         vocab_size and the special ids */
#include "bpe.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct { char **s; size_t *len; int n, cap; } Texts;

static void read_texts(const char *path, Texts *t) {
    LineReader *r = lr_open(path);
    for (char *ln; (ln = lr_next(r, NULL));) {
        cJSON *j = cJSON_Parse(ln);
        if (!cJSON_IsString(j)) die(EXIT_DATA, "%s:%ld: expected a JSON string", lr_name(r), lr_lineno(r));
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 1024;
            t->s = xrealloc(t->s, sizeof(char *) * (size_t)t->cap);
            t->len = xrealloc(t->len, sizeof(size_t) * (size_t)t->cap);
        }
        /* cJSON stops a string at an escaped NUL; the test texts have none */
        t->len[t->n] = strlen(j->valuestring);
        t->s[t->n++] = xstrdup(j->valuestring);
        cJSON_Delete(j);
    }
    lr_close(r);
}

static void print_ids(const int *ids, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
    puts("]");
}

static int encode_or_die(const Bpe *b, const char *s, size_t len, int **ids, const char *file, int line) {
    int n = bpe_encode(b, s, len, ids);
    if (n < 0) die(EXIT_DATA, "%s:%d: text is not valid UTF-8", file, line);
    return n;
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    if (argc < 3) die(EXIT_USAGE, "usage: bpe_driver TOK.json encode|decode|time|threads|info [IN]");
    Bpe *b = bpe_load(argv[1]);
    const char *cmd = argv[2], *in = argc > 3 ? argv[3] : NULL;
    if (!strcmp(cmd, "info")) {
        printf("{\"vocab_size\": %d, \"special\": [", bpe_vocab_size(b));
        for (int i = 0, k = 0; i < bpe_vocab_size(b); i++)
            if (bpe_is_special(b, i)) printf(k++ ? ", %d" : "%d", i);
        printf("], \"im_start\": %d, \"none\": %d, \"piece0\": ", bpe_token_id(b, "<|im_start|>"), bpe_token_id(b, "no such piece"));
        json_put_str(stdout, bpe_piece(b, 0));
        puts("}");
    } else if (!strcmp(cmd, "encode") || !strcmp(cmd, "raw")) {
        /* raw: each input line's bytes as they are (to feed invalid UTF-8) */
        LineReader *r = lr_open(in);
        size_t len;
        for (char *ln; (ln = lr_next(r, &len));) {
            cJSON *j = NULL;
            const char *s = ln;
            if (!strcmp(cmd, "encode")) {
                j = cJSON_Parse(ln);
                if (!cJSON_IsString(j)) die(EXIT_DATA, "%s:%ld: expected a JSON string", lr_name(r), lr_lineno(r));
                s = j->valuestring;
                len = strlen(s);
            }
            int *ids, n = encode_or_die(b, s, len, &ids, lr_name(r), (int)lr_lineno(r));
            print_ids(ids, n);
            free(ids);
            cJSON_Delete(j);
        }
        lr_close(r);
    } else if (!strcmp(cmd, "decode")) {
        LineReader *r = lr_open(in);
        int cap = 1024, *ids = xmalloc(sizeof(int) * (size_t)cap);
        for (char *ln; (ln = lr_next(r, NULL));) {
            cJSON *j = cJSON_Parse(ln);
            if (!cJSON_IsArray(j)) die(EXIT_DATA, "%s:%ld: expected an id array", lr_name(r), lr_lineno(r));
            int n = 0;
            for (cJSON *e = j->child; e; e = e->next) {
                if (n == cap) ids = xrealloc(ids, sizeof(int) * (size_t)(cap *= 2));
                ids[n++] = e->valueint;
            }
            char *t = bpe_decode(b, ids, n);
            json_put_str(stdout, t);
            putchar('\n');
            free(t);
            cJSON_Delete(j);
        }
        free(ids);
        lr_close(r);
    } else if (!strcmp(cmd, "time") || !strcmp(cmd, "threads")) {
        Texts t = {0};
        read_texts(in, &t);
        if (!strcmp(cmd, "time")) {
            double t0 = now_s();
            long total = 0;
            for (int i = 0; i < t.n; i++) {
                int *ids;
                total += encode_or_die(b, t.s[i], t.len[i], &ids, in, i + 1);
                free(ids);
            }
            printf("%.4f %ld\n", now_s() - t0, total);
        } else {
            /* every line encoded by all 4 threads, each starting at a different offset so they
             * race on the same cold cache slots; the results must all agree */
            int **out = xcalloc((size_t)t.n, sizeof(int *)), *cnt = xcalloc((size_t)t.n, sizeof(int)), bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
            {
                int me = 0;
#ifdef _OPENMP
                me = omp_get_thread_num();
#endif
                for (int k = 0; k < t.n; k++) {
                    int i = (k + me * (t.n / 4)) % t.n, *ids, n = bpe_encode(b, t.s[i], t.len[i], &ids);
#pragma omp critical
                    {
                        if (!out[i]) { out[i] = ids; cnt[i] = n; ids = NULL; }
                        else if (n != cnt[i] || memcmp(ids, out[i], sizeof(int) * (size_t)n)) bad++;
                    }
                    free(ids);
                }
            }
            if (bad) die(EXIT_DATA, "%d encodings differ between threads", bad);
            for (int i = 0; i < t.n; i++) { print_ids(out[i], cnt[i]); free(out[i]); }
            free(out); free(cnt);
        }
        for (int i = 0; i < t.n; i++) free(t.s[i]);
        free(t.s); free(t.len);
    } else die(EXIT_USAGE, "unknown command '%s'", cmd);
    bpe_free(b);
    if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error");
    return 0;
}
