/* attention_emu: the training attention kernels (cuda/attention.cuh, straightforward, and
 * cuda/attention_fused.cuh, FlashAttention-2's schedule) run on the CPU under cuda_emu.h,
 * against a double-precision reference of model.c's attention over the same packed plan:
 * forward output, dq, and dk / dv summed into packed rows (kpart / vpart per index entry, then
 * the gather-add as model_cuda.cu does). Plans mix normal sequences with counterfactual ones
 * that read their normal row's prefix through the index list (qstart > 0), lengths that are
 * not multiples of the tiles, GQA ratios 1-3 and head dims 8-128.
 * Usage: attention_emu [--quick]; exit 0 when every config is within 2e-5 of the reference
 * (relative to the largest reference value), 1 otherwise. */
#include "cuda/attention.cuh"
#include "cuda/attention_fused.cuh"
#include <cstdio>
#include <random>
#include <string>

struct Cfg { int NH, KVH, HD, B; std::vector<int> T, P, S; };   /* per sample: length, shared prefix, cf suffix */

struct PlanEmu {
    int n = 0, nseq = 0, maxq = 0, maxk = 0;
    std::vector<Seq> seq;
    std::vector<int> idx;
    size_t natt = 0;
};

static PlanEmu make_plan(const Cfg &c) {
    PlanEmu p;
    std::vector<int> base(c.B);
    for (int b = 0; b < c.B; b++) { base[b] = p.n; p.n += c.T[b]; }
    for (int b = 0; b < c.B; b++) {   /* normal sequences */
        Seq s{}; s.qstart = 0; s.qn = c.T[b]; s.klen = c.T[b]; s.qoff = base[b]; s.idx_off = p.idx.size();
        for (int j = 0; j < c.T[b]; j++) p.idx.push_back(base[b] + j);
        s.att_off = p.natt; p.natt += (size_t)c.NH * s.qn * s.klen;
        p.seq.push_back(s);
    }
    for (int b = 0; b < c.B; b++) {   /* counterfactual: the normal row's first P[b] rows, then S[b] own rows */
        if (c.S[b] == 0) continue;
        Seq s{}; s.qstart = c.P[b]; s.qn = c.S[b]; s.klen = c.P[b] + c.S[b]; s.qoff = p.n; s.idx_off = p.idx.size();
        for (int j = 0; j < c.P[b]; j++) p.idx.push_back(base[b] + j);
        for (int j = 0; j < c.S[b]; j++) p.idx.push_back(p.n + j);
        p.n += c.S[b];
        s.att_off = p.natt; p.natt += (size_t)c.NH * s.qn * s.klen;
        p.seq.push_back(s);
    }
    p.nseq = (int)p.seq.size();
    for (auto &s : p.seq) { p.maxq = std::max(p.maxq, s.qn); p.maxk = std::max(p.maxk, s.klen); }
    return p;
}

/* double reference: out (n,QD); dq (n,QD), dk/dv (n,KVD) summed over every sequence reading a row */
static void reference(const Cfg &c, const PlanEmu &p, const std::vector<float> &q, const std::vector<float> &k,
                      const std::vector<float> &v, const std::vector<float> &dout, std::vector<double> &out,
                      std::vector<double> &dq, std::vector<double> &dk, std::vector<double> &dv) {
    int NH = c.NH, KVH = c.KVH, HD = c.HD, QD = NH * HD, KVD = KVH * HD;
    double scale = 1.0 / std::sqrt((double)HD);
    out.assign((size_t)p.n * QD, 0); dq.assign((size_t)p.n * QD, 0); dk.assign((size_t)p.n * KVD, 0); dv.assign((size_t)p.n * KVD, 0);
    for (const Seq &S : p.seq)
        for (int h = 0; h < NH; h++) {
            int g = h / (NH / KVH);
            for (int i = 0; i < S.qn; i++) {
                int last = S.qstart + i;
                size_t qr = (size_t)(S.qoff + i) * QD + (size_t)h * HD;
                std::vector<double> P(last + 1), dP(last + 1);
                double mx = -1e300;
                for (int j = 0; j <= last; j++) {
                    size_t kr = (size_t)p.idx[S.idx_off + j] * KVD + (size_t)g * HD;
                    double s = 0;
                    for (int e = 0; e < HD; e++) s += (double)q[qr + e] * k[kr + e];
                    P[j] = s * scale; mx = std::max(mx, P[j]);
                }
                double sum = 0;
                for (int j = 0; j <= last; j++) { P[j] = std::exp(P[j] - mx); sum += P[j]; }
                for (int j = 0; j <= last; j++) P[j] /= sum;
                double dot = 0;
                for (int j = 0; j <= last; j++) {
                    size_t vr = (size_t)p.idx[S.idx_off + j] * KVD + (size_t)g * HD;
                    double d = 0;
                    for (int e = 0; e < HD; e++) { out[qr + e] += P[j] * v[vr + e]; d += (double)dout[qr + e] * v[vr + e]; }
                    dP[j] = d; dot += P[j] * d;
                }
                for (int j = 0; j <= last; j++) {
                    size_t kr = (size_t)p.idx[S.idx_off + j] * KVD + (size_t)g * HD;
                    double ds = P[j] * (dP[j] - dot) * scale;
                    for (int e = 0; e < HD; e++) {
                        dq[qr + e] += ds * k[kr + e];
                        dk[kr + e] += ds * q[qr + e];
                        dv[kr + e] += P[j] * dout[qr + e];
                    }
                }
            }
        }
}

static double rel_err(const std::vector<float> &a, const std::vector<double> &ref) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        if (!std::isfinite(a[i])) return INFINITY;
        md = std::max(md, std::fabs(a[i] - ref[i])); mr = std::max(mr, std::fabs(ref[i]));
    }
    return mr > 0 ? md / mr : md;
}

/* kpart/vpart (nidx, KVD) per index entry -> packed rows, as gather_add_kernel sums them */
static std::vector<float> gather(const PlanEmu &p, const std::vector<float> &part, int KVD) {
    std::vector<float> r((size_t)p.n * KVD, 0.0f);
    for (size_t e = 0; e < p.idx.size(); e++)
        for (int c = 0; c < KVD; c++) r[(size_t)p.idx[e] * KVD + c] += part[e * KVD + c];
    return r;
}

static int check(const char *name, const Cfg &c, uint32_t seed) {
    PlanEmu p = make_plan(c);
    int NH = c.NH, KVH = c.KVH, HD = c.HD, QD = NH * HD, KVD = KVH * HD, n = p.n;
    float scale = 1.0f / sqrtf((float)HD);
    std::mt19937 rng(seed);
    std::normal_distribution<float> N(0.0f, 1.0f);
    auto randv = [&](size_t m, float sd) { std::vector<float> x(m); for (auto &e : x) e = sd * N(rng); return x; };
    std::vector<float> q = randv((size_t)n * QD, 1.0f), k = randv((size_t)n * KVD, 1.0f), v = randv((size_t)n * KVD, 1.0f),
                       dout = randv((size_t)n * QD, 1.0f);
    std::vector<double> ro, rdq, rdk, rdv;
    reference(c, p, q, k, v, dout, ro, rdq, rdk, rdv);
    const Seq *seqs = p.seq.data();
    const int *idx = p.idx.data();
    size_t nidx = p.idx.size();
    int bad = 0;
    auto report = [&](const char *impl, const char *what, double e) {
        int ok = e <= 2e-5;
        printf("%s %-34s %-6s %-3s rel_err=%.2e\n", ok ? "ok  " : "FAIL", name, impl, what, e);
        bad += !ok;
    };
    {   /* attention.cuh */
        std::vector<float> out((size_t)n * QD), att(p.natt), dS(p.natt), dq((size_t)n * QD), kp(nidx * KVD), vp(nidx * KVD);
        dim3 ag((unsigned)p.maxq, (unsigned)NH, (unsigned)p.nseq), kg((unsigned)p.maxk, (unsigned)KVH, (unsigned)p.nseq);
        emu_cfg(ag, dim3(ATT_THREADS), HD * sizeof(float)).run(attention_forward_kernel, out.data(), att.data(), q.data(),
                   k.data(), v.data(), seqs, idx, NH, KVH, HD, scale);
        emu_cfg(ag, dim3(ATT_THREADS), HD * sizeof(float)).run(attention_backward_dq_kernel, dq.data(), dS.data(), dout.data(),
                   (const float *)att.data(), k.data(), v.data(), seqs, idx, NH, KVH, HD, scale);
        emu_cfg(kg, dim3(64), 0).run(attention_backward_dkv_kernel, kp.data(), vp.data(), (const float *)dS.data(),
                   (const float *)att.data(), q.data(), dout.data(), seqs, NH, KVH, HD);
        report("plain", "out", rel_err(out, ro)); report("plain", "dq", rel_err(dq, rdq));
        report("plain", "dk", rel_err(gather(p, kp, KVD), rdk)); report("plain", "dv", rel_err(gather(p, vp, KVD), rdv));
    }
    {   /* attention_fused.cuh */
        std::vector<float> out((size_t)n * QD), lse((size_t)n * NH), D((size_t)n * NH), dq((size_t)n * QD), kp(nidx * KVD),
            vp(nidx * KVD);
        dim3 fq((unsigned)cdiv(p.maxq, FA_BQ), (unsigned)NH, (unsigned)p.nseq), fk((unsigned)cdiv(p.maxk, FA_BKV), (unsigned)KVH, (unsigned)p.nseq);
        emu_cfg(fq, dim3(FA_BQ * 32), fa_q_shared(HD)).run(attention_fused_forward_kernel, out.data(), lse.data(), q.data(),
                   k.data(), v.data(), seqs, idx, NH, KVH, HD, scale);
        emu_cfg(dim3((unsigned)n, (unsigned)NH), dim3(32), 0).run(attention_fused_rowdot_kernel, D.data(), dout.data(),
                   (const float *)out.data(), NH, HD);
        emu_cfg(fq, dim3(FA_BQ * 32), fa_q_shared(HD)).run(attention_fused_backward_dq_kernel, dq.data(), dout.data(),
                   (const float *)lse.data(), (const float *)D.data(), q.data(), k.data(), v.data(), seqs, idx, NH, KVH, HD, scale);
        emu_cfg(fk, dim3(FA_BKV * 32), fa_kv_shared(HD)).run(attention_fused_backward_dkv_kernel, kp.data(), vp.data(),
                   dout.data(), (const float *)lse.data(), (const float *)D.data(), q.data(), k.data(), v.data(), seqs, idx,
                   NH, KVH, HD, scale);
        report("fused", "out", rel_err(out, ro)); report("fused", "dq", rel_err(dq, rdq));
        report("fused", "dk", rel_err(gather(p, kp, KVD), rdk)); report("fused", "dv", rel_err(gather(p, vp, KVD), rdv));
    }
    return bad;
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && std::string(argv[1]) == "--quick";
    std::vector<std::pair<const char *, Cfg>> cfgs = {
        {"HD 8, 4/2 heads, short", {4, 2, 8, 2, {5, 9}, {3, 4}, {2, 3}}},
        {"HD 24, 6/2 heads, tiles + remainders", {6, 2, 24, 2, {41, 70}, {20, 33}, {13, 40}}},
        {"HD 64, 9/3 heads (SmolLM2), no cf", {9, 3, 64, 2, {37, 12}, {0, 0}, {0, 0}}},
        {"HD 128, 2/1 heads, one long", {2, 1, 128, 1, {75}, {40}, {35}}},
    };
    if (!quick) cfgs.push_back({"HD 64, 14/2 heads (Qwen2.5), long", {14, 2, 64, 2, {96, 33}, {64, 10}, {31, 9}}});
    int bad = 0;
    uint32_t seed = 1;
    for (auto &c : cfgs) bad += check(c.first, c.second, seed++);
    printf("%s: %d check(s) failed\n", bad ? "FAIL" : "ok", bad);
    return bad ? 1 : 0;
}
