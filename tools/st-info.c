/* st-info: validate a safetensors file and list its tensors (name dtype shape offsets).
 * Uses the same strict reader as model loading, so it answers "would cft load this?". */
#include "safetensors.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
            "usage: st-info [--read] FILE.safetensors\n"
            "Checks the header strictly (size bound, JSON, dtypes, shapes x dtype size == span,\n"
            "spans inside the file, no overlaps or gaps) and prints one line per tensor:\n"
            "  NAME DTYPE [d0,d1,...] BEGIN END\n"
            "  --read   also read every F32/F16/BF16 tensor and print its sum (checks the data)\n"
            "Exit 0 valid, 1 invalid (one line naming the file, tensor and problem), 3 I/O.\n");
    exit(code);
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    int readall = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) usage(0);
        else if (!strcmp(argv[i], "--read")) readall = 1;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) continue;
        else if (argv[i][0] == '-' || path) usage(EXIT_USAGE);
        else path = argv[i];
    }
    if (!path) usage(EXIT_USAGE);
    StFile *f = st_open(path);
    for (int i = 0; i < f->nmeta; i++) printf("__metadata__ %s=%s\n", f->meta_key[i], f->meta_val[i]);
    for (int i = 0; i < f->n; i++) {
        const StTensor *t = &f->t[i];
        printf("%s %s [", t->name, st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
        printf("] %llu %llu", (unsigned long long)t->begin, (unsigned long long)t->end);
        if (readall && (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16)) {
            float *x = xmalloc(t->numel * sizeof(float));
            st_read_f32(f, t, x);
            double s = 0;
            for (uint64_t k = 0; k < t->numel; k++) s += x[k];
            printf(" sum=%.9g", s);
            free(x);
        }
        putchar('\n');
    }
    st_close(f);
    return 0;
}
