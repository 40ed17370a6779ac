/* loss.cuh: twin of model.c's head_step loss: for each item the CE of the normal logits
 * z_h and, with a counterfactual row, the CE of z_h - z_0 (Eq. 4: the CFT logit difference);
 * weights nw (Eq. 5 token weights over Omega) and cw. With train the logits become their
 * gradients in place: dz_h = nw (softmax(z_h) - 1_y) + lambda cw (softmax(z_h - z_0) - 1_y),
 * dz_0 = -lambda cw (softmax(z_h - z_0) - 1_y). One block per item; log-sum-exp sums in
 * double as on the CPU. */
#pragma once
#include "common.cuh"

#define LOSS_THREADS 1024

__device__ float lse_dev(const float *z, const float *z0, int V) {
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, z0 ? z[v] - z0[v] : z[v]);
    mx = block_max(mx);
    double s = 0;
    for (int v = threadIdx.x; v < V; v += blockDim.x) s += (double)expf((z0 ? z[v] - z0[v] : z[v]) - mx);
    s = block_sum(s);
    return mx + (float)log(s);
}

static __global__ void cft_loss_kernel(float *z, double *item_ln, double *item_lc, const Item *items, int V, float lambda,
                                int train) {
    const Item it = items[blockIdx.x];
    float *zh = z + (size_t)it.ih * V, *z0 = it.i0 >= 0 ? z + (size_t)it.i0 * V : NULL;
    float lh = lse_dev(zh, NULL, V), ld = z0 ? lse_dev(zh, z0, V) : 0.0f;
    float yh = zh[it.label], y0 = z0 ? z0[it.label] : 0.0f;
    if (threadIdx.x == 0) {
        item_ln[blockIdx.x] = (double)it.nw * (lh - yh);
        item_lc[blockIdx.x] = z0 ? (double)it.cw * (ld - (yh - y0)) : 0.0;
    }
    if (!train) return;
    __syncthreads();   /* every thread has read zh[label] before it is overwritten */
    float lc = lambda * it.cw, nw = it.nw;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float gh = nw * expf(zh[v] - lh);
        if (z0) {
            float gd = lc * expf((zh[v] - z0[v]) - ld);
            zh[v] = gh + gd;
            z0[v] = -gd;
        } else zh[v] = gh;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        zh[it.label] -= z0 ? nw + lc : nw;   /* the one-hot terms */
        if (z0) z0[it.label] += lc;
    }
}
