/* model_plan: the packed-token step description shared by the CPU path (model.c) and its CUDA
 * twin (model_cuda.cu). Built on the host by model.c's plan_build; see model.c's header for
 * the packing and the shared counterfactual prefix. Internal to the model module. */
#ifndef CFT_MODEL_PLAN_H
#define CFT_MODEL_PLAN_H
#include <stddef.h>

typedef struct {
    int qstart, qn, klen;   /* owns queries at positions [qstart, klen), qn = klen - qstart */
    int qoff;               /* packed row of position qstart */
    size_t idx_off;         /* into Plan.idx: klen packed rows of positions 0..klen-1 */
    size_t att_off;         /* into saved attention probs: NH * qn * klen floats */
} Seq;

typedef struct {
    int n;                  /* packed rows */
    int *tok, *pos;         /* (n) token id, RoPE position */
    int nseq, B;            /* sequences; sample b owns seq b and (if cf) seq B+b */
    int has_cf;
    Seq *seq;
    int *idx;  size_t nidx;
    size_t natt;
    int maxk;
    int cap_n, cap_seq; size_t cap_idx;
} Plan;

/* One loss item: CE of row ih (weight nw) and, when i0 >= 0, CE of row ih - row i0
 * (weight cw, scaled by lambda). Rows index the head's gathered output rows. */
typedef struct { int ih, i0, label; float nw, cw; } Item;
#endif
