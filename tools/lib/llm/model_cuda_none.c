/* model_cuda_none: the CUDA twin's stand-in for builds without nvcc (see model_cuda.h).
 * Only cuda_model_new is reachable: model.c never calls the others without a CudaModel. */
#include "model_cuda.h"
#include "util.h"
#include <stdio.h>

CudaModel *cuda_model_new(const CudaLayout *lay, const float *params, int precision, char *why, size_t nwhy) {
    (void)lay; (void)params; (void)precision;
    snprintf(why, nwhy, "this build has no CUDA support (nvcc was not found when it was compiled)");
    return NULL;
}
#define UNREACHABLE die(EXIT_IO, "model_cuda: internal error: %s called in a build without CUDA", __func__)
void cuda_model_free(CudaModel *cm) { (void)cm; }
const char *cuda_device_name(const CudaModel *cm) { (void)cm; return "none"; }
int cuda_model_set_attention(CudaModel *cm, int fused, char *why, size_t nwhy) {
    (void)cm; (void)fused; (void)why; (void)nwhy; UNREACHABLE;
}
void cuda_upload(CudaModel *cm, int what, const float *host) { (void)cm; (void)what; (void)host; UNREACHABLE; }
void cuda_download(CudaModel *cm, int what, float *host) { (void)cm; (void)what; (void)host; UNREACHABLE; }
void cuda_forward(CudaModel *cm, const Plan *p, const float *c, const float *s, int n, const CudaDrop *d, double *f) {
    (void)cm; (void)p; (void)c; (void)s; (void)n; (void)d; (void)f; UNREACHABLE;
}
void cuda_head_begin(CudaModel *cm) { (void)cm; UNREACHABLE; }
void cuda_head(CudaModel *cm, const int *rows, int nr, const Item *items, int ni, float lambda, int train,
               int head_frozen, int body_grad, double *Ln, double *Lc, double *flops) {
    (void)cm; (void)rows; (void)nr; (void)items; (void)ni; (void)lambda; (void)train; (void)head_frozen;
    (void)body_grad; (void)Ln; (void)Lc; (void)flops; UNREACHABLE;
}
void cuda_last_logits(CudaModel *cm, float *host, int rows) { (void)cm; (void)host; (void)rows; UNREACHABLE; }
void cuda_backward(CudaModel *cm, const Plan *p, const CudaDrop *d, int freeze, double *flops) {
    (void)cm; (void)p; (void)d; (void)freeze; (void)flops; UNREACHABLE;
}
void cuda_zero_grad(CudaModel *cm, size_t off) { (void)cm; (void)off; UNREACHABLE; }
double cuda_grad_sumsq(CudaModel *cm, size_t off) { (void)cm; (void)off; UNREACHABLE; }
void cuda_scale_grads(CudaModel *cm, size_t off, float s) { (void)cm; (void)off; (void)s; UNREACHABLE; }
void cuda_adamw(CudaModel *cm, size_t off, float a, float b, float c, float d, float e, float f, float g, float h) {
    (void)cm; (void)off; (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; UNREACHABLE;
}
