/* infer: KV-cache forward of the Qwen2-shaped model over ModelWeights (fp32, CPU), for
 * decode (beam search) and ground (title embeddings). A small self-contained inference path
 * in the style of llama2.c's run.c, but batched: every matrix product runs over all rows of
 * all sequences at once through cblas_sgemm. Same math as model.c's training forward
 * (RMSNorm, q/k/v with bias, HF rotate-half RoPE, GQA, causal softmax, SwiGLU, final norm,
 * lm_head); checked against PyTorch by tests/test_decode.sh (tests/beam_oracle.py).
 *
 * Two caches:
 *  - prefix cache: K/V of every position of the sequences given to the last infer_prefill
 *    (a prompt's K/V is computed once and shared by all its beams);
 *  - generation cache: K/V of generated tokens, one entry per (step, row); a beam's history
 *    is the list of its ancestors' rows, so reordering beams copies no K/V.
 * A decode row attends to its prefix (prompt) and then to its ancestry's entries 0..t.
 * Shapes: C hidden, KVD = KVH*HD, V vocab, N rows. */
#ifndef CFT_INFER_H
#define CFT_INFER_H
#include "model.h"

typedef struct Infer Infer;

/* Call first in main(). libgomp spins ~300k iterations at every barrier by default; with
 * other processes on a 2-core machine a descheduled partner turns each of the ~35 barriers
 * of a decode step into a lost time slice (2 threads measured 5-7x slower than 1 under a
 * load of 6). libgomp reads its settings before main, so this re-executes the program once
 * with GOMP_SPINCOUNT=1000 unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set already. */
void infer_openmp_env(char **argv);

/* cfg and w are borrowed and must outlive the Infer. */
Infer *infer_new(const ModelConfig *cfg, const ModelWeights *w);
void infer_free(Infer *ix);
/* Run prefill and steps on device "cpu" (the default; a no-op) or "cuda" (infer_cuda.h: the
 * CUDA twin of this file, GEMMs in precision "tf32" or "fp32"; logits and hidden states still
 * come back to the host buffers given). Dies with the reason in one line when no GPU can be
 * used or the build has no CUDA. Call before infer_gen_reserve. */
void infer_set_device(Infer *ix, const char *device, const char *precision);
const char *infer_device_name(const Infer *ix);   /* "cpu", or the GPU's name */
/* on (the default): infer_prefill computes the sequences' common prefix once; off: every
 * sequence whole (the reference the tests compare with) */
void infer_set_share_prefix(Infer *ix, int on);
/* totals over the prefills so far: positions given, rows computed (fewer when shared) */
void infer_prefill_counts(const Infer *ix, long *positions, long *rows);
/* threads (<= 0: all cores); OpenBLAS is set to 1 thread and called inside our threads */
void infer_set_threads(Infer *ix, int n);
/* C (M,N) = alpha A (M,K) W^T + beta C on the Infer's threads (W (N,K) row-major) */
void infer_matmul_nt(const Infer *ix, int M, int N, int K, float alpha, const float *A, const float *W,
                     float beta, float *Cm);

/* Full forward of nseq sequences, tokens concatenated (sum(lens) ids), positions 0..len-1.
 * out_hidden (nseq, C): final-norm hidden state at each sequence's last token (or NULL);
 * out_logits (nseq, V): logits at the last token (or NULL). When keep_cache != 0 the K/V of
 * all positions are kept as prefix p = 0..nseq-1 for infer_step (replacing earlier ones).
 * Every len must be >= 1. The sequences' common token prefix is computed once, on either
 * device (infer_set_share_prefix; the same math, less work: BIGRec prompts share their template). */
void infer_prefill(Infer *ix, int nseq, const int *lens, const int *tokens, int keep_cache,
                   float *out_hidden, float *out_logits);

/* Size the generation cache: up to max_rows rows per step, max_new steps. */
void infer_gen_reserve(Infer *ix, int max_rows, int max_new);

/* One decode step for n rows (n <= max_rows): row r feeds tokens[r] at generation position
 * t (same t for every row; absolute position = len(prefix[r]) + t); its K/V become entry
 * (t, r). anc (n, t): anc[r*t + tau] is the row, at step tau, whose entry holds row r's
 * position tau (its beam ancestry; beam search never copies caches). The row attends over
 * prefix[r], its ancestors' entries and its own. out_logits (n, V). */
void infer_step(Infer *ix, int n, const int *tokens, const int *prefix, int t, const int *anc,
                float *out_logits);

/* log(sum(exp(x))) over n floats, vectorised */
float infer_logsumexp(const float *x, int n);
#endif
