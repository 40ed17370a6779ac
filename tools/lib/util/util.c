#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <utf8proc.h>

const char *g_prog = "cft";
int g_quiet = 0;
int g_quiet_asked = 0;
static OutFile *g_cleanup[16];
static void tmps_unlink_all(void);
enum { MAX_TMPS = 64 };
static char *volatile g_tmps[MAX_TMPS];
static int g_ncleanup;
static void (*g_die_hook)(int);

void util_set_die_hook(void (*hook)(int code)) { g_die_hook = hook; }

void util_init(int argc, char **argv) {
    const char *s = strrchr(argv[0], '/');
    g_prog = s ? s + 1 : argv[0];
    if (!isatty(2)) g_quiet = 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) g_quiet = g_quiet_asked = 1;
}

void atomic_cleanup_register(OutFile *o) {
    if (g_ncleanup < 16) g_cleanup[g_ncleanup++] = o;
}

/* "tool: " PREFIX message "\n" on stderr: the one line every diagnostic is */
static void vline(const char *prefix, const char *fmt, va_list ap) {
    fprintf(stderr, "%s: %s", g_prog, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap);
    va_end(ap);
    for (int i = 0; i < g_ncleanup; i++) out_abort(g_cleanup[i]);
    tmps_unlink_all();   /* temporaries of outputs nobody registered */
    for (int i = 0; i < MAX_TMPS; i++) g_tmps[i] = NULL;
    if (g_die_hook) { g_ncleanup = 0; g_die_hook(code); }
    exit(code);
}

void info(const char *fmt, ...) {
    if (g_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap);
    va_end(ap);
}

void warn(const char *fmt, ...) {
    if (g_quiet_asked) return;
    va_list ap;
    va_start(ap, fmt);
    vline("warning: ", fmt, ap);
    va_end(ap);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die(EXIT_IO, "out of memory (%zu bytes)", n);
    return p;
}
void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) die(EXIT_IO, "out of memory (%zu x %zu bytes)", n, sz);
    return p;
}
void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die(EXIT_IO, "out of memory (%zu bytes)", n);
    return p;
}
char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* ---------------- line reader ---------------- */
struct LineReader {
    gzFile gz;
    char *name;
    char *buf; size_t cap, beg, end;   /* read buffer window [beg,end) */
    char *line; size_t linecap;
    long lineno;
    uint64_t bytes, size;
    int eof;
};

LineReader *lr_open(const char *path) {
    LineReader *r = xcalloc(1, sizeof *r);
    if (!path || !strcmp(path, "-")) {
        r->name = xstrdup("<stdin>");
        r->gz = gzdopen(dup(0), "rb");
    } else {
        r->name = xstrdup(path);
        struct stat st;
        /* free before dying: keeps LeakSanitizer quiet on error exits */
        if (stat(path, &st) != 0) { int e = errno; free(r->name); free(r); die(EXIT_IO, "%s: cannot open: %s", path, strerror(e)); }
        if (S_ISDIR(st.st_mode)) { free(r->name); free(r); die(EXIT_IO, "%s: is a directory", path); }
        r->size = (uint64_t)st.st_size;
        r->gz = gzopen(path, "rb");
    }
    if (!r->gz) { int e = errno; char name[256]; snprintf(name, sizeof name, "%s", r->name); free(r->name); free(r);
        die(EXIT_IO, "%s: cannot open: %s", name, strerror(e)); }
    gzbuffer(r->gz, 1 << 18);
    r->cap = 1 << 20;
    r->buf = xmalloc(r->cap);
    r->linecap = 1 << 12;
    r->line = xmalloc(r->linecap);
    return r;
}

static int lr_fill(LineReader *r) {
    if (r->eof) return 0;
    if (r->beg > 0) {
        memmove(r->buf, r->buf + r->beg, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
    }
    if (r->end == r->cap) { r->cap *= 2; r->buf = xrealloc(r->buf, r->cap); }
    int n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end));
    if (n < 0) {
        int err; const char *msg = gzerror(r->gz, &err);
        die(EXIT_IO, "%s: read error near line %ld: %s", r->name, r->lineno + 1, msg);
    }
    if (n == 0) {
        int err; const char *msg = gzerror(r->gz, &err);
        if (err != Z_OK && err != Z_STREAM_END)
            die(EXIT_IO, "%s: corrupt or truncated input near line %ld: %s", r->name, r->lineno + 1, msg);
        r->eof = 1;
        return 0;
    }
    r->end += (size_t)n;
    return 1;
}

char *lr_next(LineReader *r, size_t *len) {
    for (;;) {
        char *nl = r->end > r->beg ? memchr(r->buf + r->beg, '\n', r->end - r->beg) : NULL;
        if (nl || (r->eof && r->end > r->beg) || (!lr_fill(r) && r->end > r->beg)) {
            if (!nl) nl = memchr(r->buf + r->beg, '\n', r->end - r->beg);
            size_t n = nl ? (size_t)(nl - (r->buf + r->beg)) : r->end - r->beg;
            char *s = r->buf + r->beg;
            r->beg += n + (nl ? 1 : 0);
            r->bytes += n + (nl ? 1 : 0);
            if (n > 0 && s[n - 1] == '\r') n--;
            if (n + 1 > r->linecap) { while (n + 1 > r->linecap) r->linecap *= 2; r->line = xrealloc(r->line, r->linecap); }
            memcpy(r->line, s, n);
            r->line[n] = 0;
            r->lineno++;
            if (len) *len = n;
            return r->line;
        }
        if (r->eof && r->end == r->beg) return NULL;
    }
}

long lr_lineno(const LineReader *r) { return r->lineno; }
const char *lr_name(const LineReader *r) { return r->name; }
uint64_t lr_bytes(const LineReader *r) { return r->bytes; }
uint64_t lr_size(const LineReader *r) { return r->size; }
uint64_t lr_raw_pos(const LineReader *r) { long o = gzoffset(r->gz); return o > 0 ? (uint64_t)o : 0; }
void lr_close(LineReader *r) {
    if (!r) return;
    gzclose(r->gz);
    free(r->buf); free(r->line); free(r->name); free(r);
}

/* ---------------- atomic output ---------------- */
/* Live temporary names, removed by die() and by SIGINT/SIGTERM/SIGHUP/SIGPIPE: a killed run
 * leaves nothing behind. unlink() is async-signal-safe; the slots are only ever set to a
 * complete string or NULL. */

static void tmps_unlink_all(void) {
    for (int i = 0; i < MAX_TMPS; i++) {
        char *t = g_tmps[i];
        if (t) unlink(t);
    }
}
static void on_fatal_signal(int sig) {
    tmps_unlink_all();
    signal(sig, SIG_DFL);
    raise(sig);
}
static void tmps_add(char *t) {
    static int handlers;
    if (!handlers) {
        handlers = 1;
        int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
        for (int i = 0; i < 4; i++) {
            struct sigaction sa, old;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_fatal_signal;
            sigemptyset(&sa.sa_mask);
            /* a signal the caller chose to ignore (nohup, SIGPIPE under a shell) stays ignored */
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
            sigaction(sigs[i], &sa, NULL);
        }
    }
    for (int i = 0; i < MAX_TMPS; i++)
        if (!g_tmps[i]) { g_tmps[i] = t; return; }
    die(EXIT_IO, "%s: too many output files open at once", t);
}
static void tmps_remove(const char *t) {
    for (int i = 0; i < MAX_TMPS; i++)
        if (g_tmps[i] == t) g_tmps[i] = NULL;
}

/* A regular file (or a new name) is replaced atomically: PATH.tmp.PID, then rename(). Anything
 * else at PATH is written in place and never replaced: a character device (/dev/null,
 * /dev/stdout), a FIFO or a socket keeps being what it is. A symlink is followed: the file it
 * points to is replaced and the link kept. */
OutFile out_open(const char *path) {
    OutFile o = {0};
    if (!path || !strcmp(path, "-")) { o.f = stdout; return o; }
    struct stat st;
    char *target = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        target = realpath(path, NULL);            /* NULL: dangling, written through below */
        if (target && stat(target, &st) != 0) { free(target); target = NULL; }
        if (!target) { o.path = xstrdup(path); goto direct; }
    } else if (lstat(path, &st) != 0) {
        if (errno != ENOENT) die(EXIT_IO, "%s: cannot write: %s", path, strerror(errno));
        st.st_mode = S_IFREG;                     /* a new name */
    }
    o.path = target ? target : xstrdup(path);
    if (S_ISDIR(st.st_mode)) die(EXIT_IO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode)) goto direct;
    o.tmp = xmalloc(strlen(o.path) + 32);
    sprintf(o.tmp, "%s.tmp.%d", o.path, (int)getpid());
    tmps_add(o.tmp);
    o.f = fopen(o.tmp, "wb");
    if (!o.f) { int e = errno; tmps_remove(o.tmp); die(EXIT_IO, "%s: cannot write: %s", o.tmp, strerror(e)); }
    return o;
direct:
    o.f = fopen(o.path, "wb");
    if (!o.f) die(EXIT_IO, "%s: cannot write: %s", path, strerror(errno));
    return o;
}

void out_commit(OutFile *o) {
    if (!o->f) return;
    if (!o->path) {
        if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error: %s", strerror(errno));
        o->f = NULL;
        return;
    }
    if (!o->tmp) {   /* written in place: a device or FIFO has nothing to sync or rename */
        int bad = fflush(o->f) != 0;
        int e = errno;
        bad |= fclose(o->f) != 0;
        o->f = NULL;
        if (bad) die(EXIT_IO, "%s: write error: %s", o->path, strerror(e ? e : errno));
        free(o->path);
        o->path = NULL;
        return;
    }
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0 || fclose(o->f) != 0) {
        o->f = NULL;
        unlink(o->tmp);
        tmps_remove(o->tmp);
        die(EXIT_IO, "%s: write error: %s", o->path, strerror(errno));
    }
    o->f = NULL;
    if (rename(o->tmp, o->path) != 0) {
        unlink(o->tmp);
        tmps_remove(o->tmp);
        die(EXIT_IO, "%s: cannot rename into place: %s", o->path, strerror(errno));
    }
    tmps_remove(o->tmp);
    free(o->tmp); free(o->path);
    o->tmp = o->path = NULL;
}

void out_abort(OutFile *o) {
    if (o->f && o->path) {
        fclose(o->f);
        if (o->tmp) { unlink(o->tmp); tmps_remove(o->tmp); }
    }
    o->f = NULL;
}

/* ---------------- progress ---------------- */
uint64_t now_ms(void) {
    struct timeval tv; gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}
double now_s(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(Progress *p, const char *label, uint64_t total) {
    p->label = label; p->total = total; p->start_ms = now_ms(); p->last_draw_ms = 0;
    p->active = !g_quiet && isatty(2);
}

void progress_update(Progress *p, uint64_t done) {
    if (!p->active) return;
    uint64_t t = now_ms();
    if (t - p->last_draw_ms < 200 && (p->total == 0 || done < p->total)) return;   /* total 0: unknown size */
    p->last_draw_ms = t;
    double el = (t - p->start_ms) / 1000.0;
    if (p->total) {
        double f = (double)done / (double)p->total; if (f > 1) f = 1;
        int w = 30, k = (int)(f * w);
        double eta = f > 0 ? el * (1 - f) / f : 0;
        fprintf(stderr, "\r%s [%.*s%*s] %5.1f%% %.0fs eta %.0fs ", p->label, k,
                "##############################", w - k, "", 100 * f, el, eta);
    } else {
        fprintf(stderr, "\r%s %llu %.0fs ", p->label, (unsigned long long)done, el);
    }
}

void progress_end(Progress *p) {
    if (p->active) fprintf(stderr, "\r\033[K");
    p->active = 0;
}

/* ---------------- RNG ---------------- */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
void rng_seed(Rng *r, uint64_t seed) { for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed); }
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
double rng_uniform(Rng *r) { return (rng_u64(r) >> 11) * 0x1.0p-53; }
uint32_t rng_below(Rng *r, uint32_t n) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do x = rng_u64(r); while (x >= lim);
    return (uint32_t)(x % n);
}
float rng_normal(Rng *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---------------- JSON ---------------- */
/* the path of the first string (key or value) under v that is not UTF-8, appended to buf */
static int find_bad_utf8(const cJSON *v, char *buf, size_t n) {
    int k = 0;
    for (const cJSON *c = v->child; c; c = c->next, k++) {
        size_t used = strlen(buf);
        if (cJSON_IsArray(v)) snprintf(buf + used, n - used, "[%d]", k);
        else snprintf(buf + used, n - used, "%s%s", used ? "." : "", c->string);
        if (!cJSON_IsArray(v) && utf8_invalid_at(c->string, strlen(c->string)) >= 0) {
            size_t u = strlen(buf);
            snprintf(buf + u, n - u, " (a key)");
            return 1;
        }
        if (cJSON_IsString(c) && utf8_invalid_at(c->valuestring, strlen(c->valuestring)) >= 0) return 1;
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && find_bad_utf8(c, buf, n)) return 1;
        buf[used] = 0;
    }
    return 0;
}

/* Records are UTF-8 (docs/FORMATS.md), checked here once for every JSONL reader: a latin-1
 * title must not flow through to items.jsonl and break the next reader. cJSON itself refuses
 * escaped lone surrogates, so raw bytes are the only way in. */
cJSON *json_parse_line(const char *s, Where w) {
    cJSON *o = cJSON_Parse(s);
    if (!o) die(EXIT_DATA, "%s:%ld: malformed JSON", w.file, w.line);
    if (!cJSON_IsObject(o)) { cJSON_Delete(o); die(EXIT_DATA, "%s:%ld: expected a JSON object", w.file, w.line); }
    long bad = utf8_invalid_at(s, strlen(s));
    if (bad >= 0) {
        char field[256] = "";
        if (!find_bad_utf8(o, field, sizeof field)) snprintf(field, sizeof field, "?");
        cJSON_Delete(o);
        die(EXIT_DATA, "%s:%ld: %s: invalid UTF-8 (byte %ld of the line)", w.file, w.line, field, bad + 1);
    }
    return o;
}
static const cJSON *need(const cJSON *o, const char *field, Where w) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v || cJSON_IsNull(v)) die(EXIT_DATA, "%s:%ld: %s: missing field", w.file, w.line, field);
    return v;
}
const char *json_str(const cJSON *o, const char *field, Where w) {
    const cJSON *v = need(o, field, w);
    if (!cJSON_IsString(v)) die(EXIT_DATA, "%s:%ld: %s: expected a string", w.file, w.line, field);
    return v->valuestring;
}
double json_num(const cJSON *o, const char *field, Where w) {
    const cJSON *v = need(o, field, w);
    if (!cJSON_IsNumber(v)) die(EXIT_DATA, "%s:%ld: %s: expected a number", w.file, w.line, field);
    return v->valuedouble;
}
long long json_int(const cJSON *o, const char *field, Where w) {
    double d = json_num(o, field, w);
    if (d != floor(d) || fabs(d) > 9007199254740992.0)
        die(EXIT_DATA, "%s:%ld: %s: expected an integer", w.file, w.line, field);
    return (long long)d;
}
const cJSON *json_arr(const cJSON *o, const char *field, Where w) {
    const cJSON *v = need(o, field, w);
    if (!cJSON_IsArray(v)) die(EXIT_DATA, "%s:%ld: %s: expected an array", w.file, w.line, field);
    return v;
}
const cJSON *json_obj(const cJSON *o, const char *field, Where w) {
    const cJSON *v = need(o, field, w);
    if (!cJSON_IsObject(v)) die(EXIT_DATA, "%s:%ld: %s: expected an object", w.file, w.line, field);
    return v;
}

void json_put_str(FILE *f, const char *s) {
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') { putc('\\', f); putc(c, f); }
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20) { fputs("\\u00", f); putc(hex[c >> 4], f); putc(hex[c & 15], f); }
        else putc(c, f);
    }
    putc('"', f);
}

int parse_int_list(const char *s, int *out, int n, const char *flag) {
    int k = 0;
    const char *p = s;
    while (*p) {
        char *e; long v = strtol(p, &e, 10);
        if (e == p || v <= 0 || v > 1000000 || k >= n) die(EXIT_USAGE, "%s: bad list '%s'", flag, s);
        out[k++] = (int)v;
        p = e;
        if (*p == ',') p++;
        else if (*p) die(EXIT_USAGE, "%s: bad list '%s'", flag, s);
    }
    if (!k) die(EXIT_USAGE, "%s: empty list", flag);
    return k;
}

long utf8_invalid_at(const char *s, size_t n) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) { i++; continue; }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) return (long)i;
        i += (size_t)k;
    }
    return -1;
}

int open_regular(const char *path, uint64_t *size) {
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) { int e = errno; close(fd); die(EXIT_IO, "%s: cannot stat: %s", path, strerror(e)); }
    if (S_ISDIR(st.st_mode)) { close(fd); die(EXIT_IO, "%s: is a directory", path); }
    if (!S_ISREG(st.st_mode)) { close(fd); die(EXIT_IO, "%s: not a regular file", path); }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (size) *size = (uint64_t)st.st_size;
    return fd;
}

/* the whole file, NUL-terminated; dies naming it when unreadable or larger than max */
char *slurp_file(const char *path, size_t max, size_t *len) {
    FILE *f = fdopen(open_regular(path, NULL), "rb");
    if (!f) die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) { cap *= 2; b = xrealloc(b, cap); }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (n > max) { fclose(f); die(EXIT_DATA, "%s: larger than %zu bytes", path, max); }
        if (r == 0) break;
    }
    if (ferror(f)) die(EXIT_IO, "%s: read error", path);
    fclose(f);
    b[n] = 0;
    if (len) *len = n;
    return b;
}
