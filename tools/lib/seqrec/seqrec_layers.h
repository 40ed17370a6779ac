/* seqrec_layers: the layers of the traditional sequential recommenders (seqrec tool):
 * linear, layer norm, causal multi-head self-attention over packed variable-length
 * sequences, ReLU, dropout, embedding gather, GRU (PyTorch gate convention), Caser's
 * horizontal / vertical convolutions, full-softmax cross-entropy over all items against a
 * tied item-embedding matrix, and Adam.
 * Names carry an sr_ prefix so they can never clash with the LLM's layers in libcft.a.
 * llm.c style: every *_forward has a *_backward that ACCUMULATES (+=) into the parameter
 * gradients and into the input gradient (callers zero them). Weights use PyTorch layouts
 * (Linear W is (OC, C)), so tests/seqrec_parity.py can load them unchanged.
 * Determinism: parameter gradients are reduced either by cblas_sgemm or by serial loops in
 * a fixed order; OpenMP only splits work whose outputs do not overlap. */
#ifndef CFT_SEQREC_LAYERS_H
#define CFT_SEQREC_LAYERS_H
#include <stddef.h>
#include "util.h"

#define SR_MAX_LEN 512   /* longest history a model may take */
#define SR_LN_EPS 1e-8f   /* Kang & McAuley's SASRec code; tests pass the same eps to torch */

/* out(T,OC) = in(T,C) @ W(OC,C)^T + b(OC); b may be NULL */
void sr_linear_forward(float *out, const float *in, const float *W, const float *b, int T, int C, int OC);
/* din(T,C) += dout @ W; dW(OC,C) += dout^T @ in; db(OC) += colsum(dout); din/db may be NULL */
void sr_linear_backward(float *din, float *dW, float *db, const float *dout, const float *in,
                     const float *W, int T, int C, int OC);

/* out(T,C) = (in - mean) * rstd * w + b per row; caches mean(T), rstd(T) */
void sr_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
                       const float *w, const float *b, int T, int C);
void sr_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, const float *mean, const float *rstd, int T, int C);

/* Causal self-attention over B packed sequences: sequence b is rows off[b] .. off[b]+len[b]-1
 * of qkv (Ttot, 3C) = [q | k | v], NH heads of size C/NH, scale 1/sqrt(C/NH).
 * out (Ttot, C); att (B, NH, L, L) caches the softmax probabilities (len[b] <= L). */
void sr_attention_forward(float *out, float *att, const float *qkv, const int *off, const int *len,
                       int B, int L, int C, int NH);
/* dqkv (Ttot, 3C) += */
void sr_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                        const int *off, const int *len, int B, int L, int C, int NH);

void sr_relu_forward(float *out, const float *in, size_t n);
/* din += dout * (out > 0) */
void sr_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* Inverted dropout: mask[i] = 0 (probability p, to 1/65536) or 1/(1-p) drawn from rng; mask NULL or p == 0 -> copy.
 * out may alias in. */
void sr_dropout_forward(float *out, float *mask, const float *in, size_t n, float p, Rng *rng);
/* din = dout * mask (overwrites; din may alias dout); mask NULL -> copy */
void sr_dropout_backward(float *din, const float *mask, const float *dout, size_t n);

/* out(T,C) = E[ids[t]] */
void sr_embedding_forward(float *out, const int *ids, const float *E, int T, int C);
/* dE[ids[t]] += dout[t] (serial: rows repeat) */
void sr_embedding_backward(float *dE, const float *dout, const int *ids, int T, int C);

/* GRU (PyTorch / cuDNN convention, gate order r, z, n):
 *   r = s(W_ir x + b_ir + W_hr h + b_hr), z = s(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
 * over x (B, L, C) with sequence b active from step start[b] (right-aligned; before it h
 * stays 0). Wih (3H, C), Whh (3H, H), bih, bhh (3H).
 * Caches: xg (B, L, 3H) = x Wih^T + bih; hg (B, L, 3H) = h_{t-1} Whh^T + bhh;
 * gates (B, L, 3H) = r, z, n after their nonlinearity; hs (B, L+1, H) with hs[:,0] = 0.
 * scratch: (B, 3H) + (B, H) floats. */
void sr_gru_forward(float *hs, float *xg, float *hg, float *gates, const float *x, const int *start,
                 const float *Wih, const float *Whh, const float *bih, const float *bhh,
                 int B, int L, int C, int H, float *scratch);
/* dhs_last (B, H): gradient w.r.t. the final hidden state hs[:, L]; dx (B, L, C) += .
 * scratch: B*L*3H + B*3H + 2*B*H floats. */
void sr_gru_backward(float *dx, float *dWih, float *dWhh, float *dbih, float *dbhh,
                  const float *dh_last, const float *hs, const float *hg, const float *gates,
                  const float *x, const int *start, const float *Wih, const float *Whh,
                  int B, int L, int C, int H, float *scratch);

/* Caser horizontal convolution of height h with NF filters over X (B, L, C), ReLU, then
 * max-pool over the L-h+1 positions: out (B, NF) with out stride ostride (rows of a wider
 * concat). W (NF, h*C), b (NF). Scratch: unf (B*(L-h+1), h*C) unfolded windows.
 * Caches: act (B*(L-h+1), NF) post-ReLU, arg (B, NF) argmax position. */
void sr_caser_hconv_forward(float *out, int ostride, float *unf, float *act, int *arg, const float *X,
                         const float *W, const float *b, int B, int L, int C, int h, int NF);
/* dX (B, L, C) +=; scratch: B*(L-h+1)*(NF + 2*h*C) floats */
void sr_caser_hconv_backward(float *dX, float *dW, float *db, const float *dout, int ostride,
                          const float *X, const float *act, const int *arg, const float *W,
                          int B, int L, int C, int h, int NF, float *scratch);
/* Caser vertical convolution: out[b, v*C + d] = sum_l W[v,l] X[b,l,d] + bias[v], out row
 * stride ostride. W (NV, L), bias (NV). No activation (as in the paper). */
void sr_caser_vconv_forward(float *out, int ostride, const float *X, const float *W, const float *bias,
                         int B, int L, int C, int NV);
void sr_caser_vconv_backward(float *dX, float *dW, float *dbias, const float *dout, int ostride,
                          const float *X, const float *W, int B, int L, int C, int NV);

/* Full-softmax cross-entropy over all N items with tied output embedding E (N, C):
 * logits (B, N) = h (B, C) E^T. On return probs holds the softmax; returns the mean CE. */
float sr_softmax_ce_forward(float *probs, const float *h, const float *E, const int *target,
                         int B, int N, int C);
/* turns probs into dlogits = (probs - onehot) / B in place; dh (B,C) +=, dE (N,C) += */
void sr_softmax_ce_backward(float *dh, float *dE, float *probs, const float *h, const float *E,
                         const int *target, int B, int N, int C);

/* Adam (Kingma & Ba) with bias correction; wd > 0 adds wd * p to the gradient (L2, as
 * torch.optim.Adam's weight_decay). step counts from 1. */
void sr_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                 float b2, float eps, float wd, long step);
#endif
