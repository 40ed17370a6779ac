/* fuzz_gguf: gguf_open (tools/lib/llm/gguf.c) on arbitrary files, then what gguf-info and the
 * importer do with an accepted file: every key looked up, printed and read element by
 * element with the getter its type calls for, every tensor looked up and (when its type is
 * supported and it is small) dequantised whole and by rows. After gguf_open returns, the
 * header promises, no accessor may die on a well-typed call, so dies there abort.
 * Input: the file. */
#include "fuzz_common.h"
#include "gguf.h"
#include <stdlib.h>
#include <string.h>

static const char *g_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("model.gguf");
    return 0;
}

static int is_int(GgufType t) {
    return t == GGUF_T_UINT8 || t == GGUF_T_INT8 || t == GGUF_T_UINT16 || t == GGUF_T_INT16 || t == GGUF_T_UINT32 ||
           t == GGUF_T_INT32 || t == GGUF_T_UINT64 || t == GGUF_T_INT64;
}
static int is_unsigned(GgufType t) {
    return t == GGUF_T_UINT8 || t == GGUF_T_UINT16 || t == GGUF_T_UINT32 || t == GGUF_T_UINT64;
}
static int is_float(GgufType t) { return t == GGUF_T_FLOAT32 || t == GGUF_T_FLOAT64; }

static void kv_checks(GgufFile *f, const GgufKV *kv) {
    FZ_CHECK(gguf_find(f, kv->key) == kv, "gguf_find('%s') is not the key", kv->key);
    FZ_CHECK(kv->val >= f->map && kv->val + kv->val_bytes <= f->map + f->size, "key '%s': value outside the file", kv->key);
    gguf_kv_print(fz_devnull(), kv, 8, 40);
    gguf_kv_print(fz_devnull(), kv, 0, 0);
    size_t len;
    if (is_unsigned(kv->type)) (void)gguf_get_uint(f, kv->key);
    else if (is_int(kv->type)) (void)gguf_get_int(f, kv->key);
    else if (is_float(kv->type)) (void)gguf_get_float(f, kv->key);
    else if (kv->type == GGUF_T_BOOL) FZ_CHECK((unsigned)gguf_get_bool(f, kv->key) <= 1, "bool");
    else if (kv->type == GGUF_T_STRING) {
        const char *s = gguf_get_str(f, kv->key, &len);
        FZ_CHECK(len == kv->str_len && s[len] == 0, "key '%s': string length", kv->key);
    } else if (kv->type == GGUF_T_ARRAY) {
        FZ_CHECK(gguf_arr_len(f, kv->key, GGUF_T_COUNT) == kv->arr_n, "array length");
        uint64_t n = kv->arr_n < 64 ? kv->arr_n : 64;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t k = i < 32 ? i : kv->arr_n - 1 - (i - 32);   /* both ends */
            if (kv->arr_type == GGUF_T_UINT64) {   /* past INT64_MAX it rightly dies */
                uint64_t u;
                memcpy(&u, kv->val + k * 8, 8);
                if (u <= INT64_MAX) (void)gguf_kv_arr_int(f, kv, k);
            } else if (is_int(kv->arr_type)) (void)gguf_kv_arr_int(f, kv, k);
            else if (is_float(kv->arr_type)) (void)gguf_kv_arr_float(f, kv, k);
            else if (kv->arr_type == GGUF_T_STRING) {
                const char *s = gguf_kv_arr_str(f, kv, k, &len);
                FZ_CHECK(s[len] == 0, "array string not terminated");
                FZ_CHECK(gguf_arr_str(f, kv->key, k, &len) == s, "gguf_arr_str differs");
            }
        }
    }
}

static void run(void *arg) {
    (void)arg;
    GgufFile *f = gguf_open(g_path);
    fz_forbid_die(1);   /* the file is valid now: well-typed accessors must not die */
    FZ_CHECK(f->data_offset <= f->size || f->n_tensors == 0, "data offset past the end");
    for (int i = 0; i < gguf_n_kv(f); i++) kv_checks(f, gguf_kv(f, i));
    (void)gguf_find(f, "general.architecture");
    (void)gguf_find(f, "tokenizer.ggml.tokens");
    for (int i = 0; i < gguf_n_tensors(f); i++) {
        const GgufTensor *t = gguf_tensor(f, i);
        FZ_CHECK(gguf_find_tensor(f, t->name) == t, "gguf_find_tensor('%s') is not the tensor", t->name);
        FZ_CHECK(t->data >= f->map && t->data + t->nbytes <= f->map + f->size, "tensor '%s': data outside the file", t->name);
        FZ_CHECK(gguf_type_name(t->type) != NULL, "unnamed type %u", t->type);
        uint64_t rows = gguf_tensor_rows(t);
        FZ_CHECK(rows * t->ne[0] == t->nelem, "rows x ne[0] != nelem");
        if (gguf_type_supported(t->type) && t->nelem <= (1u << 20)) {
            float *x = malloc(sizeof(float) * (size_t)t->nelem), *y = malloc(sizeof(float) * (size_t)t->ne[0]);
            gguf_tensor_f32(f, t, x);
            uint64_t r = rows - 1;
            gguf_tensor_rows_f32(f, t, r, 1, y);
            FZ_CHECK(!memcmp(x + r * t->ne[0], y, sizeof(float) * (size_t)t->ne[0]), "tensor '%s': last row differs", t->name);
            free(x); free(y);
        }
    }
    fz_forbid_die(0);
    gguf_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    fz_guard(run, NULL);
    return 0;
}
