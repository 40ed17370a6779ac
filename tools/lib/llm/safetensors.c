/* safetensors reader (strict, mmap) and writer (F32, atomic). See safetensors.h. */
#include "safetensors.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *name; StDtype d; int size; } DTYPES[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4}, {"I16", ST_I16, 2}, {"I8", ST_I8, 1},
    {"U8", ST_U8, 1}, {"BOOL", ST_BOOL, 1},
};
#define NDTYPES (int)(sizeof DTYPES / sizeof DTYPES[0])

const char *st_dtype_name(StDtype d) {
    for (int i = 0; i < NDTYPES; i++) if (DTYPES[i].d == d) return DTYPES[i].name;
    return "?";
}

/* a JSON number that is an exact non-negative integer below 2^53 */
static int get_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_begin(const void *a, const void *b) {
    const StTensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}
static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define BAD(...) die(EXIT_DATA, __VA_ARGS__)

StFile *st_open(const char *path) {
    uint64_t fsize;
    int fd = open_regular(path, &fsize);
    size_t size = (size_t)fsize;
    if (size < 8) BAD("%s: not a safetensors file: %zu bytes, shorter than the 8-byte header size", path, size);
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) die(EXIT_IO, "%s: cannot map: %s", path, strerror(errno));

    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--) hn = (hn << 8) | map[i];   /* little-endian u64 */
    if (hn > ST_MAX_HEADER) BAD("%s: header size %llu exceeds the %u-byte limit", path, (unsigned long long)hn, ST_MAX_HEADER);
    if (hn < 2 || 8 + hn > size)
        BAD("%s: header size %llu does not fit in the file (%zu bytes): truncated or not safetensors", path, (unsigned long long)hn, size);
    const char *h = (const char *)map + 8;
    if (h[0] != '{') BAD("%s: header is not a JSON object", path);
    if (memchr(h, 0, hn)) BAD("%s: header contains a NUL byte", path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(h, hn, &end, 0);
    if (!root) BAD("%s: header is not valid JSON (near byte %ld)", path, (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - h : 0));
    for (; end && end < h + hn; end++)   /* only padding spaces may follow the object */
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            cJSON_Delete(root);
            BAD("%s: junk after the JSON header object at byte %ld", path, (long)(end - h));
        }
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); BAD("%s: header is not a JSON object", path); }

    StFile *f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    f->map = map;
    f->size = size;
    f->data_off = 8 + (size_t)hn;
    size_t data_size = size - f->data_off;
    int cap = cJSON_GetArraySize(root);
    f->t = xcalloc((size_t)cap + 1, sizeof *f->t);
    char **names = xcalloc((size_t)cap + 1, sizeof *names);
    int nn = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *name = e->string;
        if (!name || !*name) BAD("%s: header has an entry with an empty name", path);
        names[nn++] = (char *)name;
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(e)) BAD("%s: __metadata__ is not a JSON object", path);
            for (const cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m)) BAD("%s: __metadata__ '%s' is not a string", path, m->string);
                f->meta_key = xrealloc(f->meta_key, (size_t)(f->nmeta + 1) * sizeof(char *));
                f->meta_val = xrealloc(f->meta_val, (size_t)(f->nmeta + 1) * sizeof(char *));
                f->meta_key[f->nmeta] = xstrdup(m->string);
                f->meta_val[f->nmeta++] = xstrdup(m->valuestring);
            }
            continue;
        }
        if (!cJSON_IsObject(e)) BAD("%s: tensor '%s': entry is not a JSON object", path, name);
        StTensor *t = &f->t[f->n];
        const cJSON *dt = NULL, *sh = NULL, *off = NULL;
        for (const cJSON *k = e->child; k; k = k->next) {
            if (!strcmp(k->string, "dtype") && !dt) dt = k;
            else if (!strcmp(k->string, "shape") && !sh) sh = k;
            else if (!strcmp(k->string, "data_offsets") && !off) off = k;
            else BAD("%s: tensor '%s': unexpected or repeated key '%s'", path, name, k->string);
        }
        if (!dt || !cJSON_IsString(dt)) BAD("%s: tensor '%s': missing or non-string dtype", path, name);
        int di = -1;
        for (int i = 0; i < NDTYPES; i++) if (!strcmp(dt->valuestring, DTYPES[i].name)) di = i;
        if (di < 0) BAD("%s: tensor '%s': unknown dtype '%.32s'", path, name, dt->valuestring);
        t->dtype = DTYPES[di].d;
        if (!sh || !cJSON_IsArray(sh)) BAD("%s: tensor '%s': missing or non-array shape", path, name);
        int nd = cJSON_GetArraySize(sh);
        if (nd > ST_MAX_DIMS) BAD("%s: tensor '%s': %d dimensions (max %d)", path, name, nd, ST_MAX_DIMS);
        uint64_t numel = 1;
        int i = 0;
        for (const cJSON *d = sh->child; d; d = d->next, i++) {
            uint64_t v;
            if (!get_u64(d, &v)) BAD("%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, i);
            if (__builtin_mul_overflow(numel, v, &numel)) BAD("%s: tensor '%s': shape overflows", path, name);
            t->shape[i] = (int64_t)v;
        }
        t->ndim = nd;
        t->numel = numel;
        uint64_t nbytes;
        if (__builtin_mul_overflow(numel, (uint64_t)DTYPES[di].size, &nbytes))
            BAD("%s: tensor '%s': shape overflows", path, name);
        if (!off || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
            !get_u64(off->child, &t->begin) || !get_u64(off->child->next, &t->end))
            BAD("%s: tensor '%s': data_offsets must be [begin, end] non-negative integers", path, name);
        if (t->begin > t->end) BAD("%s: tensor '%s': data_offsets [%llu, %llu] end before begin", path, name,
                                   (unsigned long long)t->begin, (unsigned long long)t->end);
        if (t->end > data_size)
            BAD("%s: tensor '%s': data_offsets [%llu, %llu] outside the %zu-byte data section (truncated file?)", path, name,
                (unsigned long long)t->begin, (unsigned long long)t->end, data_size);
        if (t->end - t->begin != nbytes)
            BAD("%s: tensor '%s': shape x dtype size = %llu bytes but data_offsets span %llu", path, name,
                (unsigned long long)nbytes, (unsigned long long)(t->end - t->begin));
        t->name = xstrdup(name);
        f->n++;
    }
    /* duplicate keys (cJSON keeps them all) */
    qsort(names, (size_t)nn, sizeof *names, cmp_name);
    for (int i = 1; i < nn; i++)
        if (!strcmp(names[i - 1], names[i])) BAD("%s: tensor '%s': duplicate name in header", path, names[i]);
    free(names);
    cJSON_Delete(root);
    /* spans: sorted, contiguous from 0, covering the data section exactly */
    qsort(f->t, (size_t)f->n, sizeof *f->t, cmp_begin);
    uint64_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        StTensor *t = &f->t[i];
        if (t->begin < pos)
            BAD("%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s'", path, t->name,
                (unsigned long long)t->begin, (unsigned long long)t->end, f->t[i - 1].name);
        if (t->begin > pos)
            BAD("%s: tensor '%s': gap of %llu bytes before its data", path, t->name, (unsigned long long)(t->begin - pos));
        pos = t->end;
    }
    if (pos != data_size)
        BAD("%s: %llu trailing bytes after the last tensor", path, (unsigned long long)(data_size - pos));
    return f;
}

const StTensor *st_find(const StFile *f, const char *name) {
    for (int i = 0; i < f->n; i++) if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}
const char *st_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++) if (!strcmp(f->meta_key[i], key)) return f->meta_val[i];
    return NULL;
}

static float half_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else {                      /* subnormal: renormalise */
            e = 113;
            while (!(m & 1024)) { m <<= 1; e--; }
            bits = s | (e << 23) | ((m & 1023) << 13);
        }
    } else if (e == 31) bits = s | 0x7f800000u | (m << 13);
    else bits = s | ((e + 112) << 23) | (m << 13);
    float x; memcpy(&x, &bits, 4); return x;
}

void st_read_f32(const StFile *f, const StTensor *t, float *out) {
    const uint8_t *p = f->map + f->data_off + t->begin;   /* may be unaligned: memcpy */
    switch (t->dtype) {
    case ST_F32: memcpy(out, p, t->numel * 4); break;      /* little-endian host */
    case ST_BF16:
        for (uint64_t i = 0; i < t->numel; i++) {
            uint32_t b = (uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
            memcpy(&out[i], &b, 4);
        }
        break;
    case ST_F16:
        for (uint64_t i = 0; i < t->numel; i++) out[i] = half_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    default:
        BAD("%s: tensor '%s': dtype %s cannot be read as floats", f->path, t->name, st_dtype_name(t->dtype));
    }
}

void st_close(StFile *f) {
    if (!f) return;
    munmap((void *)f->map, f->size);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    for (int i = 0; i < f->nmeta; i++) { free(f->meta_key[i]); free(f->meta_val[i]); }
    free(f->meta_key); free(f->meta_val); free(f->t); free(f->path); free(f);
}

/* ---------------- writer ---------------- */
void st_write_f32(const char *path, const StWriteTensor *t, int n, const char *const *meta) {
    cJSON *root = cJSON_CreateObject();
    if (meta && meta[0]) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta[i] && meta[i + 1]; i += 2) cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
    }
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
            numel *= (uint64_t)t[i].shape[d];
        }
        cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)pos));
        pos += numel * 4;
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)pos));
    }
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t hn = strlen(js), padded = (hn + 7) & ~(size_t)7;
    OutFile o = out_open(path);
    uint8_t sz[8];
    for (int i = 0; i < 8; i++) sz[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(sz, 1, 8, o.f) == 8 && fwrite(js, 1, hn, o.f) == hn;
    for (size_t i = hn; ok && i < padded; i++) ok = putc(' ', o.f) != EOF;
    for (int i = 0; ok && i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (uint64_t)t[i].shape[d];
        ok = fwrite(t[i].data, 4, numel, o.f) == numel;
    }
    free(js);
    if (!ok) { out_abort(&o); die(EXIT_IO, "%s: write error: %s", path, strerror(errno)); }
    out_commit(&o);
}
