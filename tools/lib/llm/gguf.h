/* gguf: strict reader for GGUF v2/v3 files (llama.cpp's model format) with dequantisation
 * of the common ggml block types to f32.
 * The file is hostile until proven otherwise: every count, length, dimension and offset is
 * checked against the bytes that are actually there before it is used (a count near 2^64
 * cannot make the reader allocate or loop), arithmetic is overflow-checked, keys and tensor
 * names are unique, tensor data is aligned, inside the file and not overlapping, and row
 * lengths are whole blocks. Anything else dies with one line "FILE: key 'K': what" /
 * "FILE: tensor 'T': what" (exit 1); I/O problems exit 3. After gguf_open returns, every
 * accessor can trust the layout, so none of them re-validates the file.
 * Dequantisation is bit-exact with gguf-py's gguf.quants.dequantize (which for these types
 * computes what ggml's dequantize_row_* computes); gguf.c is compiled without FMA contraction
 * to keep it so. Opening is not thread-safe (qsort context is static); everything after is
 * read-only and may be shared between threads. */
#ifndef CFT_GGUF_H
#define CFT_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NESTING 8        /* arrays of arrays deeper than this are refused (stack) */

typedef enum {
    GGUF_T_UINT8 = 0, GGUF_T_INT8, GGUF_T_UINT16, GGUF_T_INT16, GGUF_T_UINT32, GGUF_T_INT32,
    GGUF_T_FLOAT32, GGUF_T_BOOL, GGUF_T_STRING, GGUF_T_ARRAY, GGUF_T_UINT64, GGUF_T_INT64,
    GGUF_T_FLOAT64, GGUF_T_COUNT
} GgufType;

/* ggml tensor types (ids are the file format's; gaps are ids ggml retired) */
enum {
    GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7,
    GGML_Q8_0 = 8, GGML_Q8_1 = 9, GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12, GGML_Q5_K = 13,
    GGML_Q6_K = 14, GGML_Q8_K = 15, GGML_I8 = 24, GGML_I16 = 25, GGML_I32 = 26, GGML_I64 = 27,
    GGML_F64 = 28, GGML_BF16 = 30, GGML_TYPE_LIMIT = 64
};

typedef struct {
    const char *key;          /* NUL-terminated copy (keys with a NUL byte are refused) */
    GgufType type;
    GgufType arr_type;        /* ARRAY only: element type */
    uint64_t arr_n;           /* ARRAY only: element count */
    const uint8_t *val;       /* into the map: the scalar, the string's bytes, or element 0 */
    uint64_t val_bytes;       /* bytes at val (string: its length; array: all elements) */
    /* strings are not NUL-terminated in the file, so they are copied once at open:
     * STRING: str (str_len bytes + NUL); ARRAY of STRING: element i is strs + soff[i],
     * soff[i+1] - soff[i] - 1 bytes + NUL (O(1) access for 150k-token vocabularies). */
    char *str;
    uint64_t str_len;
    char *strs;
    uint64_t *soff;
} GgufKV;

typedef struct {
    char *name;
    int ndim;
    uint64_t ne[GGUF_MAX_DIMS];   /* ggml order: ne[0] = row length (fastest); unused = 1 */
    uint32_t type;                /* ggml type id */
    uint64_t offset;              /* inside the data section, a multiple of the alignment */
    uint64_t nbytes;
    uint64_t nelem;
    const uint8_t *data;          /* into the map (only 1-byte aligned is guaranteed) */
} GgufTensor;

typedef struct GgufFile {
    char *path;                   /* for messages: "PATH" or "PATH (+N parts)" */
    const uint8_t *map;           /* whole (concatenated) file, read-only */
    uint64_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;         /* start of the data section in the file */
    int n_kv, n_tensors;
    GgufKV *kv;                   /* in file order */
    GgufTensor *t;                /* in file order */
    /* internal: how map was obtained, sorted indexes for lookups */
    int map_kind;
    size_t map_len;
    int *kv_sorted, *t_sorted;
} GgufFile;

GgufFile *gguf_open(const char *path);   /* dies (exit 1 bad data, 3 I/O) */
/* a model published as raw byte ranges: the parts' concatenation is the file. Mapped
 * contiguously without a temp file (MAP_FIXED per part when every boundary is
 * page-aligned, else read into memory). */
GgufFile *gguf_open_parts(int n, const char *const *paths);
void gguf_close(GgufFile *f);

const char *gguf_type_name(uint32_t ggml_type);   /* "Q4_K"; NULL if unknown */
const char *gguf_value_type_name(GgufType t);     /* "UINT32", ... */
int gguf_type_known(uint32_t ggml_type);
uint32_t gguf_type_block(uint32_t ggml_type);     /* elements per block (0 if unknown) */
uint32_t gguf_type_size(uint32_t ggml_type);      /* bytes per block */
int gguf_type_supported(uint32_t ggml_type);      /* can be dequantised to f32 */

/* ---- metadata ---- */
int gguf_n_kv(const GgufFile *f);
const GgufKV *gguf_kv(const GgufFile *f, int i);
const GgufKV *gguf_find(const GgufFile *f, const char *key);   /* NULL if absent */
/* Typed getters die "FILE: key 'K': missing" / "...: expected uint, found string" / out of
 * range, so importers need no checks of their own; *_or return def when the key is absent
 * (but still die on a wrong type: a wrong type is a broken file, not a default). */
uint64_t gguf_get_uint(const GgufFile *f, const char *key);        /* any integer type, >= 0 */
uint64_t gguf_get_uint_or(const GgufFile *f, const char *key, uint64_t def);
int64_t gguf_get_int(const GgufFile *f, const char *key);          /* any integer type */
int64_t gguf_get_int_or(const GgufFile *f, const char *key, int64_t def);
double gguf_get_float(const GgufFile *f, const char *key);         /* FLOAT32 / FLOAT64 */
double gguf_get_float_or(const GgufFile *f, const char *key, double def);
int gguf_get_bool(const GgufFile *f, const char *key);
int gguf_get_bool_or(const GgufFile *f, const char *key, int def);
/* NUL-terminated, owned by f; len (may be NULL) is the true length (may hold NULs) */
const char *gguf_get_str(const GgufFile *f, const char *key, size_t *len);
const char *gguf_get_str_or(const GgufFile *f, const char *key, const char *def, size_t *len);
/* arrays: gguf_arr_len dies unless key is an ARRAY of element type expect (GGUF_T_COUNT =
 * any); the element getters die on a wrong element type or i >= length. */
uint64_t gguf_arr_len(const GgufFile *f, const char *key, GgufType expect);
const char *gguf_arr_str(const GgufFile *f, const char *key, uint64_t i, size_t *len);
int32_t gguf_arr_i32(const GgufFile *f, const char *key, uint64_t i);   /* any int type in range */
int64_t gguf_arr_int(const GgufFile *f, const char *key, uint64_t i);   /* any int type */
float gguf_arr_f32(const GgufFile *f, const char *key, uint64_t i);     /* FLOAT32 (or FLOAT64 rounded) */
/* the same on a GgufKV already looked up (no search per element) */
const char *gguf_kv_arr_str(const GgufFile *f, const GgufKV *kv, uint64_t i, size_t *len);
int64_t gguf_kv_arr_int(const GgufFile *f, const GgufKV *kv, uint64_t i);
double gguf_kv_arr_float(const GgufFile *f, const GgufKV *kv, uint64_t i);
/* print kv's value on one line: scalars, "quoted" strings (control bytes as \xNN, cut after
 * max_str bytes with "...(+N bytes)"), arrays as "[a, b, ...]" with at most max_items */
void gguf_kv_print(FILE *out, const GgufKV *kv, int max_items, size_t max_str);

/* ---- tensors ---- */
int gguf_n_tensors(const GgufFile *f);
const GgufTensor *gguf_tensor(const GgufFile *f, int i);
const GgufTensor *gguf_find_tensor(const GgufFile *f, const char *name);   /* NULL if absent */
uint64_t gguf_tensor_rows(const GgufTensor *t);       /* nelem / ne[0] */

/* ---- dequantisation to f32 ---- */
/* n elements from src (n a multiple of the block size, else dies); unsupported type dies */
void gguf_dequantize(uint32_t type, const void *src, float *dst, uint64_t n);
/* whole tensor in ggml order (rows of ne[0]); dies "tensor 'X': type IQ2_XS cannot be
 * converted" for known-but-unsupported types. Parallel (OpenMP) over blocks. */
void gguf_tensor_f32(const GgufFile *f, const GgufTensor *t, float *dst);
void gguf_tensor_rows_f32(const GgufFile *f, const GgufTensor *t, uint64_t row0, uint64_t nrows, float *dst);
#endif
