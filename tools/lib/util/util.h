/* util: the small things every tool shares.
 * Errors: one line "tool: file:line: field: message", exit code EXIT_DATA (bad input),
 * EXIT_USAGE (bad flags) or EXIT_IO (cannot read/write). Output files are written to a
 * temporary name and renamed on success (atomic_open / atomic_commit), so a failed run
 * never leaves a half-written file. Input: lr_open reads plain or gzip (zlib) files, or
 * stdin for NULL / "-". */
#ifndef CFT_UTIL_H
#define CFT_UTIL_H
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

extern const char *g_prog;   /* set by util_init from argv[0] */
extern int g_quiet;          /* -q: no progress, no info logs */
extern int g_quiet_asked;    /* -q given: no warnings either */

void util_init(int argc, char **argv);           /* sets g_prog, g_quiet if stderr not a TTY */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* fuzz harnesses: die() calls hook(code) after printing and cleaning up, instead of exit();
 * the hook must not return (it longjmps back into the harness). NULL restores exit(). */
void util_set_die_hook(void (*hook)(int code));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* stderr unless quiet */
/* "tool: warning: ..." on stderr unless -q was given (off a TTY too: a warning is not progress) */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* ---- line reader over plain / gzip / stdin ---- */
typedef struct LineReader LineReader;
LineReader *lr_open(const char *path);           /* NULL or "-" = stdin; dies on error */
/* next line without the trailing newline (NUL-terminated, valid until next call);
 * returns NULL at EOF; dies with a clear error on a truncated/corrupt gzip stream. */
char *lr_next(LineReader *r, size_t *len);
long lr_lineno(const LineReader *r);
const char *lr_name(const LineReader *r);        /* "<stdin>" or the path */
uint64_t lr_bytes(const LineReader *r);          /* uncompressed bytes consumed so far */
uint64_t lr_size(const LineReader *r);           /* on-disk size, 0 if unknown (stdin) */
uint64_t lr_raw_pos(const LineReader *r);        /* on-disk bytes consumed so far */
void lr_close(LineReader *r);

/* ---- atomic output: path NULL or "-" = stdout (no rename) ---- */
typedef struct { FILE *f; char *path, *tmp; } OutFile;
OutFile out_open(const char *path);
void out_commit(OutFile *o);                     /* fflush+fsync+rename; dies on error */
void out_abort(OutFile *o);                      /* remove the temp file */
void atomic_cleanup_register(OutFile *o);        /* remove temp on die() */

/* ---- progress bar on stderr (only on a TTY and not quiet) ---- */
typedef struct { const char *label; uint64_t total, last_draw_ms, start_ms; int active; } Progress;
void progress_start(Progress *p, const char *label, uint64_t total);
void progress_update(Progress *p, uint64_t done);
void progress_end(Progress *p);
uint64_t now_ms(void);
double now_s(void);

/* ---- deterministic RNG (splitmix64 seeding xoshiro256**) ---- */
typedef struct { uint64_t s[4]; } Rng;
void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);                      /* [0,1) */
uint32_t rng_below(Rng *r, uint32_t n);          /* [0,n) unbiased */
float rng_normal(Rng *r);

/* ---- JSON record helpers: errors name file, line and field ---- */
typedef struct { const char *file; long line; } Where;
cJSON *json_parse_line(const char *s, Where w);                 /* dies if not an object */
const char *json_str(const cJSON *o, const char *field, Where w);   /* required string */
long long json_int(const cJSON *o, const char *field, Where w);     /* required integer */
double json_num(const cJSON *o, const char *field, Where w);        /* required number */
const cJSON *json_arr(const cJSON *o, const char *field, Where w);  /* required array */
const cJSON *json_obj(const cJSON *o, const char *field, Where w);  /* required object */
/* print a JSON string literal (with quotes, escaped) to f */
void json_put_str(FILE *f, const char *s);

/* open a file for reading, refusing anything but a regular file before it can block (a FIFO
 * named as model.safetensors or config.json would wait for a writer forever); *size its size */
int open_regular(const char *path, uint64_t *size);
/* a whole file, NUL-terminated (*len: its size); dies naming it when unreadable or > max bytes */
char *slurp_file(const char *path, size_t max, size_t *len);

/* byte offset of the first invalid UTF-8 sequence in s[0..n) (utf8proc's rules: no
 * overlong forms, surrogates or code points past U+10FFFF), or -1 when valid */
long utf8_invalid_at(const char *s, size_t n);

/* parse "a,b,c" integers into out (max n), returns count; dies on junk */
int parse_int_list(const char *s, int *out, int n, const char *flag);
#endif
