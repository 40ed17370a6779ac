/* seqrec_model: SASRec, GRU4Rec and Caser as next-item predictors over a history of at
 * most L items, scored against the tied item-embedding matrix with full softmax.
 * Shapes: B batch, L max history, D hidden (item embedding) size, N catalogue items.
 * Input: items (B, L) LEFT-padded with the padding item N (embedding row N, kept at zero),
 * len (B) = real items 0..L, most recent last. An empty history (len 0) is read as one
 * padding item at the last position, so every sample gets a representation.
 *
 *   SASRec (Kang & McAuley 2018, Sec. 3 with their code's final layer norm):
 *     x = Dropout(E[s] + P[pos]), positions right-aligned (the newest item is at L-1);
 *     per block  x = x + Dropout(SA(LN1(x)))     SA: causal, Q/K/V = LN1(x) Wq/Wk/Wv
 *                x = x + Dropout(FFN(LN2(x)))    FFN = ReLU(x W1 + b1) W2 + b2
 *     h = LN_f(x at the newest item)
 *   GRU4Rec (Hidasi et al. 2016, as RecBole's CE variant): h = Dense(GRU(Dropout(E[s]))_last)
 *   Caser (Tang & Wang 2018, sequence part; no user embedding, see configs/seqrec/):
 *     o  = [vertical conv (NV filters L x 1) ; max-pooled ReLU horizontal convs h = 1..L]
 *     h  = W2 ReLU(W1 Dropout(o) + b1) + b2
 *   scores = h E[0:N]^T ; loss = mean CE(softmax(scores), target).
 * All parameters live in one buffer (params) described by a table of named tensors. */
#ifndef CFT_SEQREC_MODEL_H
#define CFT_SEQREC_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef enum { SR_SASREC = 0, SR_GRU4REC = 1, SR_CASER = 2 } SrKind;

typedef struct {
    int kind;
    int n_items;          /* N */
    int hidden;           /* D */
    int max_len;          /* L */
    int layers, heads, ffn;   /* SASRec blocks, heads, FFN inner size */
    int gru_hidden;           /* GRU4Rec H */
    int nh, nv;               /* Caser horizontal filters per height, vertical filters */
    float dropout;            /* see above: where each model applies it */
    float init_std;           /* N(0, init_std) for every weight matrix and embedding */
} SrConfig;

typedef struct { char name[48]; size_t off, numel; int ndim, shape[2]; } SrParam;

typedef struct SeqRec SeqRec;

const char *seqrec_kind_name(int kind);
int seqrec_kind_parse(const char *s);        /* -1 if unknown */
SeqRec *seqrec_new(const SrConfig *c, int maxB, uint64_t seed);
void seqrec_free(SeqRec *m);
const SrConfig *seqrec_config(const SeqRec *m);
size_t seqrec_num_params(const SeqRec *m);
float *seqrec_params(SeqRec *m);
float *seqrec_grads(SeqRec *m);
int seqrec_param_table(const SeqRec *m, const SrParam **tab);
float *seqrec_item_emb(SeqRec *m);           /* (N+1, D), row N = padding */
void seqrec_set_threads(SeqRec *m, int n);

/* forward to the user representation h (B, D); train != 0 applies dropout */
const float *seqrec_forward(SeqRec *m, const int *items, const int *len, int B, int train);
/* forward + CE against target (B); returns mean loss. With backward != 0 also accumulates
 * the gradients (the caller zeroes them with seqrec_zero_grad). */
float seqrec_step(SeqRec *m, const int *items, const int *len, const int *target, int B,
                  int train, int backward);
void seqrec_zero_grad(SeqRec *m);
/* Adam on all parameters; the padding row's gradient is dropped so it stays zero */
void seqrec_adam(SeqRec *m, float lr, float b1, float b2, float eps, float wd);
/* scores (B, N) = h E^T for the last forward */
void seqrec_scores(SeqRec *m, int B, float *scores);
#endif
