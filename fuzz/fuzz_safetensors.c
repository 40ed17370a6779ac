/* fuzz_safetensors: st_open (tools/lib/llm/safetensors.c) on arbitrary files, then every
 * accessor on what it accepted: st_find finds each tensor under its own name, the spans tile
 * the data section, st_meta, and F32/F16/BF16 tensors read as floats. Input: the file. */
#include "fuzz_common.h"
#include "safetensors.h"
#include <stdlib.h>
#include <string.h>

static const char *g_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_init((*argv)[0]);
    g_path = fz_scratch("model.safetensors");
    return 0;
}

static void run(void *arg) {
    (void)arg;
    StFile *f = st_open(g_path);
    uint64_t pos = 0, data = f->size - f->data_off;
    FZ_CHECK(f->data_off >= 8 && f->data_off <= f->size, "data offset %zu in a %zu-byte file", f->data_off, f->size);
    for (int i = 0; i < f->n; i++) {
        const StTensor *t = &f->t[i];
        FZ_CHECK(st_find(f, t->name) == t, "st_find('%s') is not the tensor", t->name);
        FZ_CHECK(t->begin == pos && t->end >= t->begin && t->end <= data, "tensor '%s': span [%llu, %llu) does not tile the data",
                 t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
        FZ_CHECK(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS, "ndim %d", t->ndim);
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) { FZ_CHECK(t->shape[d] >= 0, "negative dim"); numel *= (uint64_t)t->shape[d]; }
        FZ_CHECK(numel == t->numel, "numel %llu, shape gives %llu", (unsigned long long)t->numel, (unsigned long long)numel);
        pos = t->end;
        FZ_CHECK(strcmp(st_dtype_name(t->dtype), "?"), "unnamed dtype");
        if ((t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) && t->numel <= (1u << 22)) {
            float *x = malloc(sizeof(float) * (t->numel ? t->numel : 1));
            st_read_f32(f, t, x);
            free(x);
        }
    }
    FZ_CHECK(pos == data, "tensors end at %llu, the data section has %llu bytes", (unsigned long long)pos, (unsigned long long)data);
    for (int i = 0; i < f->nmeta; i++) FZ_CHECK(st_meta(f, f->meta_key[i]) != NULL, "st_meta('%s') missing", f->meta_key[i]);
    (void)st_find(f, "model.embed_tokens.weight");
    (void)st_meta(f, "format");
    st_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(g_path, data, size);
    fz_guard(run, NULL);
    return 0;
}
