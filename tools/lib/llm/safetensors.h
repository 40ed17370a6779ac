/* safetensors: strict reader and atomic F32 writer for the safetensors format
 * (8-byte little-endian header size N, N bytes of JSON header, then the data section).
 * The reader treats the file as hostile: it bounds the header size, requires a JSON object
 * whose every entry is either "__metadata__" (string -> string) or a tensor
 * {"dtype", "shape", "data_offsets"} with a known dtype, shape x dtype size == byte span,
 * spans inside the data section, no overlaps, no gaps and no duplicate names. Anything else
 * dies with one line "FILE: tensor 'NAME': what" (exit 1). F32, F16 and BF16 tensors can be
 * read as f32; other dtypes are recognised (so their sizes are checked) but not readable. */
#ifndef CFT_SAFETENSORS_H
#define CFT_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_HEADER (100u << 20)   /* 100 MB: larger headers are refused */
#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } StDtype;

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end;      /* byte offsets inside the data section */
} StTensor;

typedef struct {
    char *path;
    const uint8_t *map;       /* whole file, read-only mmap */
    size_t size;
    size_t data_off;          /* 8 + header size */
    int n;
    StTensor *t;              /* in file order of data_offsets */
    int nmeta;
    char **meta_key, **meta_val;
} StFile;

StFile *st_open(const char *path);                 /* dies (exit 1 / 3) on bad input */
const StTensor *st_find(const StFile *f, const char *name);   /* NULL if absent */
const char *st_meta(const StFile *f, const char *key);        /* NULL if absent */
const char *st_dtype_name(StDtype d);
/* copy a tensor into out (numel floats), converting F16/BF16; dies on other dtypes */
void st_read_f32(const StFile *f, const StTensor *t, float *out);
void st_close(StFile *f);

/* Writer: F32 tensors, data laid out in the given order (offsets increasing), header
 * padded with spaces to a multiple of 8. Written to a temp name, fsync'd, renamed. */
typedef struct {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
} StWriteTensor;
/* meta: NULL-terminated key,value,key,value,... list for "__metadata__" (may be NULL) */
void st_write_f32(const char *path, const StWriteTensor *t, int n, const char *const *meta);
#endif
