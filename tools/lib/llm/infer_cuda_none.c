/* infer_cuda_none: the CUDA inference twin's stand-in for builds without nvcc (see
 * infer_cuda.h). Only cuda_infer_new is reachable: infer.c never calls the others without a
 * CudaInfer. */
#include "infer_cuda.h"
#include "util.h"
#include <stdio.h>

CudaInfer *cuda_infer_new(const InferShape *s, const ModelWeights *w, const float *inv_freq, int precision,
                          char *why, size_t nwhy) {
    (void)s; (void)w; (void)inv_freq; (void)precision;
    snprintf(why, nwhy, "this build has no CUDA support (nvcc was not found when it was compiled)");
    return NULL;
}
#define UNREACHABLE die(EXIT_IO, "infer_cuda: internal error: %s called in a build without CUDA", __func__)
void cuda_infer_free(CudaInfer *ci) { (void)ci; }
const char *cuda_infer_device_name(const CudaInfer *ci) { (void)ci; return "none"; }
void cuda_infer_prefill(CudaInfer *ci, int nseq, const int *lens, const int *tokens, int P, int keep_cache,
                        float *out_hidden, float *out_logits) {
    (void)ci; (void)nseq; (void)lens; (void)tokens; (void)P; (void)keep_cache; (void)out_hidden; (void)out_logits; UNREACHABLE;
}
void cuda_infer_gen_reserve(CudaInfer *ci, int max_rows, int max_new) { (void)ci; (void)max_rows; (void)max_new; UNREACHABLE; }
void cuda_infer_step(CudaInfer *ci, int n, const int *tokens, const int *prefix, int t, const int *idx, int stride,
                     float *out_logits) {
    (void)ci; (void)n; (void)tokens; (void)prefix; (void)t; (void)idx; (void)stride; (void)out_logits; UNREACHABLE;
}
