/* tokenize: encode text lines to token ids or decode them back, with a sentencepiece model or
 * an HF byte-level BPE tokenizer.json (tok.h, the interface cft-step and decode use). A
 * filter: stdin -> stdout. */
#include "tok.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: tokenize --model TOKENIZER [--decode | --pieces | --info] [FILE|-]\n"
"TOKENIZER: a tokenizer.model (sentencepiece), a tokenizer.json (byte-level BPE), or a\n"
"checkpoint directory holding one.\n"
"Encode each input line (no bos/eos added) and print its ids separated by spaces.\n"
"  --decode   input lines are space-separated ids; print the decoded text\n"
"  --pieces   print the pieces instead of ids\n"
"  --info     print vocab_size, bos, eos, pad ids as one JSON line and exit\n"
"  --json     text lines (input when encoding, output when decoding) are JSON string\n"
"             literals, so text with newlines can be round-tripped\n");
    exit(code);
}

/* ids space-separated on stdout: formatted by hand into one buffer (printf("%d") per id was
 * a fifth of the tool's time on a catalogue of titles) */
static void put_ids(const int *x, int n) {
    static char *buf;
    static size_t cap;
    if ((size_t)n * 12 + 1 > cap) { cap = (size_t)n * 12 + 1024; buf = xrealloc(buf, cap); }
    char *p = buf;
    for (int i = 0; i < n; i++) {
        if (i) *p++ = ' ';
        char d[12];
        int k = 0;
        unsigned v = (unsigned)x[i];     /* ids are >= 0 */
        do { d[k++] = (char)('0' + v % 10); v /= 10; } while (v);
        while (k) *p++ = d[--k];
    }
    fwrite(buf, 1, (size_t)(p - buf), stdout);
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *model = NULL, *in = NULL;
    int decode = 0, pieces = 0, infom = 0, js = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(a, "--decode")) decode = 1;
        else if (!strcmp(a, "--pieces")) pieces = 1;
        else if (!strcmp(a, "--info")) infom = 1;
        else if (!strcmp(a, "--json")) js = 1;
        else if ((a[0] != '-' || !strcmp(a, "-")) && !in) in = a;
        else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (!model) die(EXIT_USAGE, "--model is required");
    struct stat st;
    Tok *s = stat(model, &st) == 0 && S_ISDIR(st.st_mode) ? tok_load_dir(model) : tok_load(model);
    if (infom) {
        printf("{\"vocab_size\": %d, \"bos\": %d, \"eos\": %d, \"pad\": %d}\n", tok_vocab_size(s), tok_bos_id(s), tok_eos_id(s), tok_pad_id(s));
        tok_free(s);
        return 0;
    }
    LineReader *r = lr_open(in);
    int V = tok_vocab_size(s), cap = 256, *ids = xmalloc(sizeof(int) * cap);
    for (char *ln; (ln = lr_next(r, NULL));) {
        if (decode) {
            int n = 0;
            for (char *p = ln, *e; *p;) {
                while (*p == ' ') p++;
                if (!*p) break;
                long v = strtol(p, &e, 10);
                if (e == p || (*e && *e != ' ') || v < 0 || v >= V)
                    die(EXIT_DATA, "%s:%ld: expected token ids in [0, %d)", lr_name(r), lr_lineno(r), V);
                if (n == cap) ids = xrealloc(ids, sizeof(int) * (cap *= 2));
                ids[n++] = (int)v;
                p = e;
            }
            char *t = tok_decode(s, ids, n);
            if (js) { json_put_str(stdout, t); putchar('\n'); }
            else puts(t);
            free(t);
        } else {
            cJSON *str = NULL;
            if (js) {
                str = cJSON_Parse(ln);
                if (!cJSON_IsString(str)) die(EXIT_DATA, "%s:%ld: expected a JSON string literal", lr_name(r), lr_lineno(r));
                ln = str->valuestring;
            }
            Where w = {lr_name(r), lr_lineno(r)};
            int *x, n = tok_encode_at(s, ln, &x, w, js ? "string" : "line");
            cJSON_Delete(str);
            if (pieces)
                for (int i = 0; i < n; i++) { if (i) putchar(' '); fputs(tok_piece(s, x[i]), stdout); }
            else
                put_ids(x, n);
            putchar('\n');
            free(x);
        }
    }
    lr_close(r);
    free(ids);
    tok_free(s);
    if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error");
    return 0;
}
