/* fuzz_common: die() guard and resource reclamation for the harnesses (see fuzz_common.h).
 * Compiled with ASan/UBSan but without coverage instrumentation (its hash probing would
 * only add noise to the fuzzer's feedback). */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"
#include "fuzz_common.h"
#include "util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <sanitizer/allocator_interface.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int g_errfd = 2;            /* the real stderr (libFuzzer's -close_fd_mask=2 closes fd 2) */

void fz_fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(g_errfd, "\n==fuzz== invariant failed: %s\n", msg);
    abort();
}

/* ------------------------------------------------------------ allocation tracking */
/* Only the main thread records (t_mode), only inside a guard. Mode 1: record mallocs and
 * frees; mode 2 (while reclaiming): record frees only, so memory that fclose() or
 * pcre2_code_free() releases is not freed a second time. Pointers are stored XOR-ed with a
 * constant so LeakSanitizer does not see the table as a reference to them. */
enum { TAB_BITS = 20, TAB_SIZE = 1 << TAB_BITS, LOG_CAP = TAB_SIZE / 2, RES_CAP = 256 };
#define OBF(p) ((uintptr_t)(p) ^ (uintptr_t)0xa5c3a5c3a5c3a5c3ull)
typedef struct { uintptr_t key; uint32_t gen, dead; } Slot;
static Slot g_tab[TAB_SIZE];
static uintptr_t g_log[LOG_CAP];
static size_t g_nlog;
static uint32_t g_gen = 1;
static int g_overflow;
static __thread int t_mode;

static size_t slot_of(uintptr_t k) { return (size_t)((k >> 4) * 0x9E3779B97F4A7C15ull >> (64 - TAB_BITS)); }

static void tab_insert(uintptr_t k) {
    size_t i = slot_of(k);
    for (; g_tab[i].gen == g_gen; i = (i + 1) & (TAB_SIZE - 1))
        if (g_tab[i].key == k) { g_tab[i].dead = 0; return; }
    if (g_nlog == LOG_CAP) { g_overflow = 1; return; }   /* keeps the load <= 1/2 */
    g_tab[i].key = k; g_tab[i].gen = g_gen; g_tab[i].dead = 0;
    g_log[g_nlog++] = k;
}
static Slot *tab_find(uintptr_t k) {
    for (size_t i = slot_of(k); g_tab[i].gen == g_gen; i = (i + 1) & (TAB_SIZE - 1))
        if (g_tab[i].key == k) return &g_tab[i];
    return NULL;
}
static void malloc_hook(const volatile void *p, size_t n) {
    (void)n;
    if (t_mode == 1 && p) tab_insert(OBF(p));
}
static void free_hook(const volatile void *p) {
    if (t_mode && p) { Slot *s = tab_find(OBF(p)); if (s) s->dead = 1; }
}

/* mappings, FILEs and PCRE2 patterns made inside a guard (fuzz.mk links with --wrap) */
typedef struct { void *p; size_t n; } Map;
static Map g_maps[RES_CAP];
static int g_nmaps;
static FILE *g_files[RES_CAP];
static int g_nfiles;
static pcre2_code *g_codes[RES_CAP];
static int g_ncodes;

void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_munmap(void *, size_t);
FILE *__real_fopen(const char *, const char *);
int __real_fclose(FILE *);
pcre2_code *__real_pcre2_compile_8(PCRE2_SPTR, PCRE2_SIZE, uint32_t, int *, PCRE2_SIZE *, pcre2_compile_context *);
void __real_pcre2_code_free_8(pcre2_code *);

void *__wrap_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off) {
    void *p = __real_mmap(a, n, prot, fl, fd, off);
    if (t_mode == 1 && p != MAP_FAILED) {
        if (g_nmaps == RES_CAP) g_overflow = 1;
        else g_maps[g_nmaps++] = (Map){p, n};
    }
    return p;
}
int __wrap_munmap(void *a, size_t n) {
    if (t_mode == 1)
        for (int i = 0; i < g_nmaps; i++)
            if ((char *)g_maps[i].p >= (char *)a && (char *)g_maps[i].p < (char *)a + n) g_maps[i].p = NULL;
    return __real_munmap(a, n);
}
FILE *__wrap_fopen(const char *path, const char *mode) {
    FILE *f = __real_fopen(path, mode);
    if (t_mode == 1 && f) {
        if (g_nfiles == RES_CAP) g_overflow = 1;
        else g_files[g_nfiles++] = f;
    }
    return f;
}
int __wrap_fclose(FILE *f) {
    if (t_mode == 1)
        for (int i = 0; i < g_nfiles; i++) if (g_files[i] == f) g_files[i] = NULL;
    return __real_fclose(f);
}
pcre2_code *__wrap_pcre2_compile_8(PCRE2_SPTR re, PCRE2_SIZE n, uint32_t opt, int *err, PCRE2_SIZE *off,
                                    pcre2_compile_context *cc) {
    pcre2_code *c = __real_pcre2_compile_8(re, n, opt, err, off, cc);
    if (t_mode == 1 && c) {
        if (g_ncodes == RES_CAP) g_overflow = 1;
        else g_codes[g_ncodes++] = c;
    }
    return c;
}
void __wrap_pcre2_code_free_8(pcre2_code *c) {
    if (t_mode == 1)
        for (int i = 0; i < g_ncodes; i++) if (g_codes[i] == c) g_codes[i] = NULL;
    __real_pcre2_code_free_8(c);
}

/* bpe_encode grows state that outlives the call -- the Bpe's word cache and the thread's
 * scratch buffers -- so a die() later in the same guard (a prompt record rejected after
 * its prompt was encoded) must not free it: nothing inside bpe_encode is recorded, except
 * the ids array it returns to the caller. */
int __real_bpe_encode(const Bpe *b, const char *text, size_t len, int **ids);
int __wrap_bpe_encode(const Bpe *b, const char *text, size_t len, int **ids) {
    int mode = t_mode;
    t_mode = 0;
    int k = __real_bpe_encode(b, text, len, ids);
    t_mode = mode;
    if (mode == 1 && *ids) tab_insert(OBF(*ids));
    return k;
}

/* ------------------------------------------------------------ scratch / data dirs */
static char g_scratch[PATH_MAX], g_datadir[PATH_MAX];
static FILE *g_null;

static void rm_tree_flat(const char *dir) {   /* the scratch dir holds only files */
    DIR *d = opendir(dir);
    if (!d) return;
    char p[PATH_MAX + 256];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}
static void scratch_cleanup(void) { if (g_scratch[0]) rm_tree_flat(g_scratch); }

/* close descriptors a dying call left open on scratch files (gzopen's, open()'s) */
static void close_scratch_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    int self = dirfd(d);
    size_t sl = strlen(g_scratch);
    char link[64], target[PATH_MAX];
    for (struct dirent *e; (e = readdir(d));) {
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == self || fd == g_errfd) continue;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (!strncmp(target, g_scratch, sl) && (target[sl] == '/' || !target[sl])) close(fd);
    }
    closedir(d);
}

static void omp_warmup(void) {
    /* the OpenMP runtime allocates its thread state on first use: do that here, outside any
     * guard, so no reclamation ever frees it */
    volatile int sink = 0;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < 64; i++) sink += i;
    (void)sink;
}

/* ------------------------------------------------------------ die guard */
static jmp_buf g_jb;
static volatile int g_in_guard, g_forbid, g_code;

static void die_hook(int code) {
    if (!g_in_guard) fz_fail("die() (exit %d) outside a guarded call: the harness setup failed", code);
    if (g_forbid) fz_fail("die() (exit %d) where the harness allows none (rerun without -close_fd_mask to see it)", code);
    g_code = code;
    longjmp(g_jb, 1);
}

void fz_forbid_die(int on) { g_forbid = on; }

static void track_begin(void) {
    if (++g_gen == 0) { memset(g_tab, 0, sizeof g_tab); g_gen = 1; }
    g_nlog = 0; g_nmaps = g_nfiles = g_ncodes = 0; g_overflow = 0;
    t_mode = 1;
}

static void track_end(int died) {
    if (!died) { t_mode = 0; return; }
    t_mode = 2;
    for (int i = 0; i < g_nfiles; i++) if (g_files[i]) __real_fclose(g_files[i]);
    for (int i = 0; i < g_ncodes; i++) if (g_codes[i]) __real_pcre2_code_free_8(g_codes[i]);
    for (size_t i = 0; i < g_nlog; i++) {
        Slot *s = tab_find(g_log[i]);
        if (s && !s->dead) { s->dead = 1; free((void *)OBF(s->key)); }
    }
    t_mode = 0;
    for (int i = g_nmaps - 1; i >= 0; i--) if (g_maps[i].p) __real_munmap(g_maps[i].p, g_maps[i].n);
    close_scratch_fds();
    fz_forbid_die(0);
}

int fz_guard(void (*fn)(void *), void *arg) {
    if (g_in_guard) fz_fail("fz_guard is not nestable");
    g_in_guard = 1;
    g_code = 0;
    track_begin();
    if (setjmp(g_jb) == 0) {
        fn(arg);
        track_end(0);
        g_in_guard = 0;
        return 0;
    }
    track_end(1);
    g_in_guard = 0;
    return g_code ? g_code : 1;
}

/* ------------------------------------------------------------ setup */
const char *fz_scratch(const char *name) {
    /* a small fixed set of names per harness: keep each string once */
    static struct { char *name, *path; } cache[16];
    static int n;
    for (int i = 0; i < n; i++) if (!strcmp(cache[i].name, name)) return cache[i].path;
    if (n == 16) fz_fail("too many scratch names");
    size_t l = strlen(g_scratch) + strlen(name) + 2;
    char *p = malloc(l);
    snprintf(p, l, "%s/%s", g_scratch, name);
    cache[n].name = strdup(name);
    cache[n].path = p;
    return cache[n++].path;
}

const char *fz_data(const char *name) {
    static char buf[8][PATH_MAX];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, PATH_MAX, "%s/%s", g_datadir, name);
    if (access(p, R_OK) != 0)
        fz_fail("%s missing: build the seeds first (make fuzz-seeds, fuzz/seeds.sh) or set CFT_FUZZ_DATA", p);
    return p;
}

void fz_write(const char *path, const uint8_t *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fz_fail("cannot write %s: %s", path, strerror(errno));
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fz_fail("cannot write %s: %s", path, strerror(errno));
        off += (size_t)w;
    }
    close(fd);
}

FILE *fz_devnull(void) { return g_null; }

/* scratch dirs of fuzzers that crashed (their atexit never ran) are removed when their
 * process is gone */
static void remove_stale(const char *base) {
    DIR *d = opendir(base);
    if (!d) return;
    char p[PATH_MAX + 256];
    for (struct dirent *e; (e = readdir(d));) {
        int pid;
        if (sscanf(e->d_name, "cft-fuzz.%d", &pid) != 1 || pid <= 0) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(p, sizeof p, "%s/%s", base, e->d_name);
        rm_tree_flat(p);
    }
    closedir(d);
}

void fz_init(const char *argv0) {
    g_prog = "fuzz";
    g_quiet = 1;
    g_errfd = dup(2);
    if (g_errfd < 0) g_errfd = 2;
    setenv("OMP_NUM_THREADS", "1", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    omp_warmup();
    util_set_die_hook(die_hook);
    if (!__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook))
        fz_fail("cannot install the sanitizer malloc hooks (built without ASan?)");
    g_null = __real_fopen("/dev/null", "w");
    if (!g_null) fz_fail("cannot open /dev/null");
    static char nullbuf[1 << 14];   /* its buffer allocated here, not on first use in a guard */
    setvbuf(g_null, nullbuf, _IOFBF, sizeof nullbuf);

    const char *base = getenv("CFT_FUZZ_SCRATCH");
    struct stat st;
    if (!base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                      : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    remove_stale(base);
    snprintf(g_scratch, sizeof g_scratch, "%s/cft-fuzz.%d", base, (int)getpid());
    rm_tree_flat(g_scratch);
    if (mkdir(g_scratch, 0700) != 0) fz_fail("cannot create %s: %s", g_scratch, strerror(errno));
    atexit(scratch_cleanup);

    const char *dd = getenv("CFT_FUZZ_DATA");
    char tmp[PATH_MAX];
    if (dd && *dd) snprintf(tmp, sizeof tmp, "%s", dd);
    else {   /* BIN/fuzz_x -> BIN/../data */
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) exe[n] = 0; else snprintf(exe, sizeof exe, "%s", argv0 ? argv0 : ".");
        char *sl = strrchr(exe, '/');
        if (sl) *sl = 0; else snprintf(exe, sizeof exe, ".");
        snprintf(tmp, sizeof tmp, "%s/../data", exe);
    }
    if (!realpath(tmp, g_datadir)) snprintf(g_datadir, sizeof g_datadir, "%s", tmp);
}
