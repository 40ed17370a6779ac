/* gguf-info: validate a GGUF file (or one split raw into parts) and list its metadata and
 * tensors. Uses the same strict reader as the importer, so it answers "would cft import
 * this?"; --read and --dump exercise the dequantisation the importer uses. */
#include "gguf.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
            "usage: gguf-info [--meta] [--read] [--dump NAME ROW0 NROWS]... FILE [PART2 ...]\n"
            "       gguf-info --types\n"
            "Checks a GGUF v2/v3 file strictly (every count, length, dimension and offset against\n"
            "the file; unique keys and tensor names; known types; aligned, non-overlapping tensor\n"
            "data; whole blocks per row). Several FILEs are the parts of one file split raw into\n"
            "byte ranges, in order. Prints\n"
            "  gguf version=V n_kv=K n_tensors=N alignment=A data_offset=D size=S\n"
            "  kv KEY TYPE VALUE           (--meta; arrays: ARRAY[ELEMTYPE] LENGTH [first items])\n"
            "  (control bytes and \\ in keys and names are written \\xNN)\n"
            "  NAME TYPE [ne0,ne1,...] OFFSET NBYTES   (ggml order: ne0 is the row length;\n"
            "                                           OFFSET is inside the data section)\n"
            "  types: TYPE COUNT, ...      (tensor-type census)\n"
            "  --meta          list every key with its type and value\n"
            "  --items N       show at most N array elements (default 8)\n"
            "  --str N         cut strings after N bytes (default 60)\n"
            "  --read          dequantise every convertible tensor to f32 and append\n"
            "                  sum=S maxabs=M (checks the data)\n"
            "  --dump NAME ROW0 NROWS   write rows [ROW0, ROW0+NROWS) of tensor NAME (rows of\n"
            "                  ne0 elements; NROWS 'all' = to the end) dequantised, as raw\n"
            "                  little-endian f32 to stdout, instead of the listing; repeatable\n"
            "  --types         list the ggml types known: ID NAME BLOCK BYTES convertible\n"
            "Exit 0 valid, 1 invalid (one line naming the file, key or tensor and the problem),\n"
            "2 usage, 3 I/O.\n");
    exit(code);
}

static uint64_t parse_u64(const char *s, const char *what) {
    char *e;
    if (!*s || *s == '-') die(EXIT_USAGE, "%s: not a non-negative integer: '%s'", what, s);
    unsigned long long v = strtoull(s, &e, 10);
    if (*e) die(EXIT_USAGE, "%s: not a non-negative integer: '%s'", what, s);
    return v;
}

typedef struct { const char *name, *row0, *nrows; } Dump;

/* keys and tensor names: one line each even in a hostile file */
static void put_name(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\') printf("\\x%02x", c);
        else putchar(c);
    }
}

static void print_dims(const GgufTensor *t) {
    putchar('[');
    for (int d = 0; d < t->ndim; d++) printf("%s%llu", d ? "," : "", (unsigned long long)t->ne[d]);
    putchar(']');
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    int meta = 0, readall = 0, ndump = 0, npath = 0, items = 8;
    size_t maxstr = 60;
    Dump *dumps = xcalloc((size_t)argc, sizeof *dumps);
    const char **paths = xcalloc((size_t)argc, sizeof *paths);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(0);
        else if (!strcmp(a, "--meta")) meta = 1;
        else if (!strcmp(a, "--read")) readall = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) continue;
        else if (!strcmp(a, "--items") && i + 1 < argc) {
            uint64_t v = parse_u64(argv[++i], "--items");
            items = v > 1000000 ? 1000000 : (int)v;
        } else if (!strcmp(a, "--str") && i + 1 < argc) maxstr = (size_t)parse_u64(argv[++i], "--str");
        else if (!strcmp(a, "--dump") && i + 3 < argc) {
            dumps[ndump++] = (Dump){argv[i + 1], argv[i + 2], argv[i + 3]};
            i += 3;
        } else if (!strcmp(a, "--types")) {
            for (uint32_t t = 0; t < GGML_TYPE_LIMIT; t++)
                if (gguf_type_known(t))
                    printf("%u %s %u %u %s\n", t, gguf_type_name(t), gguf_type_block(t), gguf_type_size(t),
                           gguf_type_supported(t) ? "yes" : "no");
            free(dumps); free(paths);
            return 0;
        } else if (a[0] == '-' && a[1]) usage(EXIT_USAGE);
        else paths[npath++] = a;
    }
    if (!npath) usage(EXIT_USAGE);
    GgufFile *f = gguf_open_parts(npath, paths);

    if (ndump) {
        for (int k = 0; k < ndump; k++) {
            const GgufTensor *t = gguf_find_tensor(f, dumps[k].name);
            if (!t) die(EXIT_USAGE, "%s: no tensor '%s'", f->path, dumps[k].name);
            uint64_t rows = gguf_tensor_rows(t), r0 = parse_u64(dumps[k].row0, "--dump ROW0");
            uint64_t nr = !strcmp(dumps[k].nrows, "all") ? (r0 <= rows ? rows - r0 : 0) : parse_u64(dumps[k].nrows, "--dump NROWS");
            if (r0 > rows || nr > rows - r0)
                die(EXIT_USAGE, "%s: tensor '%s': rows [%llu, +%llu) outside its %llu rows", f->path, t->name,
                    (unsigned long long)r0, (unsigned long long)nr, (unsigned long long)rows);
            uint64_t step = (1u << 22) / t->ne[0] + 1;   /* ~16 MB of f32 at a time */
            float *buf = xmalloc((size_t)(step * t->ne[0]) * sizeof(float));
            for (uint64_t r = r0; r < r0 + nr; r += step) {
                uint64_t n = r0 + nr - r < step ? r0 + nr - r : step;
                gguf_tensor_rows_f32(f, t, r, n, buf);
                if (fwrite(buf, sizeof(float), (size_t)(n * t->ne[0]), stdout) != n * t->ne[0])
                    die(EXIT_IO, "<stdout>: write error");
            }
            free(buf);
        }
        if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error");
        gguf_close(f); free(dumps); free(paths);
        return 0;
    }

    printf("gguf version=%u n_kv=%d n_tensors=%d alignment=%llu data_offset=%llu size=%llu\n", f->version,
           gguf_n_kv(f), gguf_n_tensors(f), (unsigned long long)f->alignment, (unsigned long long)f->data_offset,
           (unsigned long long)f->size);
    if (meta)
        for (int i = 0; i < gguf_n_kv(f); i++) {
            const GgufKV *kv = gguf_kv(f, i);
            fputs("kv ", stdout);
            put_name(kv->key);
            putchar(' ');
            if (kv->type == GGUF_T_ARRAY)
                printf("ARRAY[%s] %llu ", gguf_value_type_name(kv->arr_type), (unsigned long long)kv->arr_n);
            else printf("%s ", gguf_value_type_name(kv->type));
            gguf_kv_print(stdout, kv, items, maxstr);
            putchar('\n');
        }
    int census[GGML_TYPE_LIMIT] = {0};
    for (int i = 0; i < gguf_n_tensors(f); i++) {
        const GgufTensor *t = gguf_tensor(f, i);
        census[t->type]++;
        put_name(t->name);
        printf(" %s ", gguf_type_name(t->type));
        print_dims(t);
        printf(" %llu %llu", (unsigned long long)t->offset, (unsigned long long)t->nbytes);
        if (readall && gguf_type_supported(t->type)) {
            uint64_t rows = gguf_tensor_rows(t), step = (1u << 22) / t->ne[0] + 1;
            if (step > rows) step = rows;
            float *buf = xmalloc((size_t)(step * t->ne[0]) * sizeof(float));
            double sum = 0;
            float mx = 0;
            for (uint64_t r = 0; r < rows; r += step) {
                uint64_t n = rows - r < step ? rows - r : step;
                gguf_tensor_rows_f32(f, t, r, n, buf);
                for (uint64_t k = 0; k < n * t->ne[0]; k++) {
                    sum += buf[k];
                    float a = fabsf(buf[k]);
                    if (a > mx || isnan(a)) mx = isnan(mx) ? mx : a;
                }
            }
            printf(" sum=%.9g maxabs=%.9g", sum, mx);
            free(buf);
        } else if (readall) printf(" (not convertible)");
        putchar('\n');
    }
    printf("types:");
    for (int t = 0, first = 1; t < GGML_TYPE_LIMIT; t++)
        if (census[t]) { printf("%s %s %d", first ? "" : ",", gguf_type_name((uint32_t)t), census[t]); first = 0; }
    putchar('\n');
    if (fflush(stdout) != 0) die(EXIT_IO, "<stdout>: write error");
    gguf_close(f); free(dumps); free(paths);
    return 0;
}
