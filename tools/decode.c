/* decode: BIGRec / D3 generation — beam search with a KV cache over a checkpoint.
 *
 *   mkprompt < test.jsonl | decode --model DIR [options] > predictions.jsonl
 *
 * Input: prompt records ({"id", "prompt", ...}, docs/FORMATS.md). The prompt text is encoded
 * with DIR's tokenizer exactly as the trainer encodes it (tok.h: no BOS, the
 * prompt on its own); the model then generates the response `"Title"\n` + EOS.
 * Output: {"id", "predict": [titles], "scores": [...]} with titles stripped of the quotes and
 * newline, beams best first.
 *
 * Beam search follows Hugging Face's BeamSearchScorer (transformers 4.40, early_stopping=False):
 *  - each step, every live beam's log-softmax over the FULL vocabulary (a constraint masks
 *    tokens afterwards and does not renormalise, as HF's logits processors do) is added to
 *    the beam's running sum; the best 2*beams candidates over all beams are taken in order:
 *    an EOS candidate ranked < beams becomes a finished hypothesis (tokens before EOS, score =
 *    sum / (generated tokens incl. EOS) ^ length_penalty), any other candidate becomes one of
 *    the next beams until there are `beams` of them;
 *  - a prompt is done when `beams` hypotheses are finished and the worst of them is >= the
 *    best candidate's sum / (generated length) ^ length_penalty (HF's heuristic);
 *  - at --max-new-tokens, beams still open are finalised with their sum / max_new ^ lp;
 *  - the `--return` best hypotheses by score are written.
 * BIGRec: --length-penalty 1.0; D3: --length-penalty 0.0 (plain sum of log-probs) with
 * --constrain. Where fewer than `beams` candidates have a finite score (a constraint leaves
 * few continuations), HF carries beams of score -inf/-1e9; we drop them, so fewer than
 * --return titles can come out. Under --constrain, beams unfinished at --max-new-tokens are
 * dropped too (they are not catalogue titles); both are counted on stderr.
 *
 * --constrain items.jsonl: D3's constrained decoding. A token trie holds every catalogue
 * response (`"` + title + `"\n` encoded, then EOS); a beam may only continue along it (its
 * candidates are the trie node's children: cheaper than the unconstrained top-k over V).
 * In text mode, ids beyond the tokenizer's pieces (a vocabulary padded past the tokenizer, as
 * Qwen2's is) are never generated; they still count in the log-softmax normaliser.
 *
 * --exact (D3's scoring: --constrain, --length-penalty 0): the --return catalogue titles with the
 * highest sum of log-probs over the WHOLE catalogue, not over what a beam kept. Every log-prob
 * is <= 0, so a prefix's score bounds every title below it; the search walks the trie a level
 * at a time (a step's rows share one generation position, as infer_step needs), keeping each
 * prefix that can still reach the current K-th best title (K = --return), at most C per
 * prompt (C = --beams). A prompt is exact when nothing it dropped for lack of rows scored
 * above its final K-th title; otherwise it is searched again with 4C rows and its K-th score
 * as the bound, up to --max-frontier. Output records then carry "exact": true, or false for
 * a prompt that reached --max-frontier uncertified (counted on stderr).
 * The bound is what makes the search cheap, and the first search has none until titles finish,
 * so its early levels keep C prefixes each that the final K-th title would have pruned (knowing
 * that score at the start halves the rows on Steam). Prompts of one dataset have K-th scores
 * close together, so the first search of a batch starts from a guess: the --exact-guess
 * quantile of the K-th scores certified so far by this process (from 16 on). A guess above a
 * prompt's true K-th score shows (fewer than K titles reach it) and that prompt is searched
 * again with the bound its titles give; a guess never changes a certified list.
 *
 * Speed: each prompt is prefilled once (its K/V shared by all its beams); then every step
 * advances all beams of all --batch prompts as one batch of rows (infer.c); beam reordering
 * copies no K/V (a beam's history is a list of row indices). --dedupe decodes each distinct
 * prompt (token sequence) once and gives its repeats the same beams: Fig. 4's prompts without
 * the behaviour history are one prompt for every user. */
#include "ckpt.h"
#include "infer.h"
#include "model.h"
#include "samples.h"
#include "tok.h"
#include "trie.h"
#include "util.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: decode --model DIR [options] < prompts.jsonl > predictions.jsonl\n"
"Beam search (HF semantics, KV cache, all beams of --batch prompts advanced together),\n"
"or D3's exact ranking over the catalogue (--exact).\n"
"  --model DIR            checkpoint (config.json, model.safetensors, tokenizer)\n"
"  --beams N              beams per prompt (5)\n"
"  --return N             hypotheses written per prompt, <= beams (5)\n"
"  --length-penalty X     score = sum logprob / len^X; BIGRec 1.0 (default), D3 0.0\n"
"  --max-new-tokens N     generation limit (64)\n"
"  --constrain FILE       D3: only catalogue titles (items.jsonl) can be generated\n"
"  --batch N              prompts decoded together (16)\n"
"  --threads N            threads (default: all cores)\n"
"  --device cpu|cuda      (cpu) cuda: prefill and steps on the GPU (the CUDA twin of the\n"
"                         inference path; not yet run on a GPU, README Limits); beam search,\n"
"                         the trie and the output stay on the host\n"
"  --precision fp32|tf32  GEMM precision on cuda (fp32: the CPU's rounding, closest beams)\n"
"  --tokenizer FILE       tokenizer.model or tokenizer.json (default: DIR's)\n"
"  --eos ID               end-of-sequence id (default config.json eos_token_id, else the\n"
"                         tokenizer's)\n"
"  --prompt-ids           input records carry \"prompt_ids\": [ids] instead of \"prompt\";\n"
"                         output then has \"predict_ids\" (token lists without EOS); no\n"
"                         tokenizer needed (used by the PyTorch oracle test)\n"
"  --constrain-ids FILE   like --constrain, from lines {\"ids\": [...]} (EOS included)\n"
"  --exact                D3's ranking over the whole catalogue (needs a constraint and\n"
"                         --length-penalty 0): the --return best titles by sum of\n"
"                         log-probs, certified exact; --beams = rows per prompt at first\n"
"  --max-frontier N       --exact: most rows per prompt on a re-search (1024)\n"
"  --exact-guess Q        --exact: a batch's first search starts from the Q-quantile of\n"
"                         the K-th scores certified so far (0.1; 0 = no guess); a prompt\n"
"                         whose K-th title falls below it is searched again\n"
"  --dedupe               decode each distinct prompt once; its repeats get the same\n"
"                         beams and scores (one search, not one per batch position)\n"
"  --no-share-prefix      prefill every prompt of a batch whole (by default the batch's\n"
"                         common prefix, the prompt template, is computed once: the same\n"
"                         math, rounding apart)\n"
"  --timing               print one line `decode-timing key=value ...` on stderr (even\n"
"                         with -q): prompts and distinct prompts, seconds in prefill,\n"
"                         decode steps, beam selection; prefill positions given and\n"
"                         rows computed\n"
"  -o FILE                write here atomically instead of stdout\n"
"  -q                     quiet\n");
    exit(code);
}

typedef struct { double score; int len; int *toks; } Hyp;

typedef struct {
    char *id_json;          /* the record's id, printed */
    int *prompt, plen;
    long line;
    int src;                /* index of the first record with this prompt (--dedupe), else its own */
    int decoded;            /* its hypotheses are final */
    /* beam state */
    int nlive;
    float *bscore;          /* (nb) running sum of log-probs */
    int *btrie;             /* (nb) trie node (constrained) */
    int *brow;              /* (nb) row of this beam in the step's logits */
    int *btoks, *ntoks;     /* (nb, max_new) tokens so far; spare for the next step */
    int *banc, *nanc;       /* (nb, max_new) row of each generated position in its step */
    Hyp *hyps;              /* up to nb+1 (--exact: the K best, sorted) */
    int nhyp, done;
    double worst;
    /* --exact */
    float lb;               /* the search's bound: an earlier search's K-th score, or a guess */
    int guessed;            /* lb is a guess, not a bound */
    int rows;               /* rows of its next search */
    float maxdrop;          /* best prefix score dropped for lack of rows */
    int exact, capped;      /* certified; dropped a prefix that could reach the K titles */
} Req;

typedef struct { float score; int beam, tok; } Cand;

static int nb = 5, nret = 5, max_new = 64, eos = -1, max_frontier = 1024;
static double lp = 1.0, exact_guess = 0.1;
static long n_dropped_unfinished, n_short, n_researched, n_inexact, n_guessed, n_guess_missed;

/* HF BeamHypotheses.add */
static void hyp_add(Req *r, const int *toks, int len, float sum, int gen_len) {
    double score = (double)sum / pow((double)gen_len, lp);
    if (!(r->nhyp < nb || score > r->worst)) return;
    Hyp *h = &r->hyps[r->nhyp++];
    h->score = score; h->len = len;
    h->toks = xmalloc(sizeof(int) * (len ? len : 1));
    memcpy(h->toks, toks, sizeof(int) * len);
    if (r->nhyp > nb) {
        int wi = 0, w2 = -1;   /* worst and second worst (ties: lowest index first, as sorted()) */
        for (int i = 1; i < r->nhyp; i++) if (r->hyps[i].score < r->hyps[wi].score) wi = i;
        for (int i = 0; i < r->nhyp; i++)
            if (i != wi && (w2 < 0 || r->hyps[i].score < r->hyps[w2].score)) w2 = i;
        r->worst = r->hyps[w2].score;
        free(r->hyps[wi].toks);
        memmove(&r->hyps[wi], &r->hyps[wi + 1], sizeof(Hyp) * (r->nhyp - wi - 1));
        r->nhyp--;
    } else if (score < r->worst) {
        r->worst = score;
    }
}

/* HF BeamHypotheses.is_done with early_stopping=False */
static int hyp_is_done(const Req *r, float best_sum, int cur_gen) {
    if (r->nhyp < nb) return 0;
    return r->worst >= (double)best_sum / pow((double)cur_gen, lp);
}

static int cand_better(const Cand *a, const Cand *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->beam != b->beam) return a->beam < b->beam;
    return a->tok < b->tok;
}

/* keep the best k of a stream in top[0..*n) sorted best first */
static void topk_push(Cand *top, int *n, int k, Cand c) {
    if (*n == k && !cand_better(&c, &top[k - 1])) return;
    int i = *n < k ? (*n)++ : k - 1;
    while (i > 0 && cand_better(&c, &top[i - 1])) { top[i] = top[i - 1]; i--; }
    top[i] = c;
}

/* prefill the prompts of R[0..B) as prefixes 0..B-1 (logits row i = prompt i's last position);
 * returns the seconds it took */
static double prefill_reqs(Infer *inf, Req *const *R, int B, float *logits) {
    int *lens = xmalloc(sizeof(int) * B);
    size_t ntok = 0;
    for (int i = 0; i < B; i++) { lens[i] = R[i]->plen; ntok += lens[i]; }
    int *toks = xmalloc(sizeof(int) * ntok);
    for (int i = 0, o = 0; i < B; i++) { memcpy(toks + o, R[i]->prompt, sizeof(int) * lens[i]); o += lens[i]; }
    double tm = now_s();
    infer_prefill(inf, B, lens, toks, 1, NULL, logits);
    free(lens); free(toks);
    return now_s() - tm;
}

/* search state for up to `rows` live prefixes, one live at the trie root reading logits row0 */
static void search_alloc(Req *r, int rows, int row0) {
    r->bscore = xcalloc(rows, sizeof(float));
    r->btrie = xcalloc(rows, sizeof(int));
    r->brow = xcalloc(rows, sizeof(int));
    r->btoks = xcalloc((size_t)rows * max_new, sizeof(int));
    r->ntoks = xcalloc((size_t)rows * max_new, sizeof(int));
    r->banc = xcalloc((size_t)rows * max_new, sizeof(int));
    r->nanc = xcalloc((size_t)rows * max_new, sizeof(int));
    r->done = 0;
    r->nlive = 1;
    r->brow[0] = row0;
}

static void search_free(Req *r) {
    free(r->bscore); free(r->btrie); free(r->brow); free(r->btoks); free(r->ntoks); free(r->banc); free(r->nanc);
    r->bscore = NULL; r->btrie = NULL; r->brow = NULL; r->btoks = r->ntoks = r->banc = r->nanc = NULL;
}

/* ---- --exact ---- */
static int cand_cmp(const void *a, const void *b) {
    return cand_better(a, b) ? -1 : cand_better(b, a) ? 1 : 0;
}

/* keep the K best titles in r->hyps, best first; an equal score ranks after those found earlier */
static void exact_hyp_add(Req *r, int K, const int *toks, int len, double score) {
    if (r->nhyp == K && !(score > r->hyps[K - 1].score)) return;
    Hyp h = {score, len, xmalloc(sizeof(int) * (len ? len : 1))};
    memcpy(h.toks, toks, sizeof(int) * len);
    int i;
    if (r->nhyp == K) { free(r->hyps[K - 1].toks); i = K - 1; }
    else i = r->nhyp++;
    while (i > 0 && score > r->hyps[i - 1].score) { r->hyps[i] = r->hyps[i - 1]; i--; }
    r->hyps[i] = h;
}

/* a prefix is worth expanding if it can still reach the K-th best title */
static float exact_threshold(const Req *r, int K) {
    float t = r->lb;
    if (r->nhyp == K && r->hyps[K - 1].score > t) t = (float)r->hyps[K - 1].score;
    return t;
}

typedef struct {
    Infer *inf;
    const Trie *trie;
    int V, nthreads;
    float *logits, *lse;
    int *s_tok, *s_pre, *s_anc;
    int *ntrie;             /* (max_frontier) next trie nodes of one prompt's kept prefixes */
    Cand *cand;
    size_t cand_cap;
    long steps, row_steps;
    double t_prefill, t_model, t_select;
} Exact;

/* one bounded search of B prompts, at most C rows each (B * C <= the generation cache's rows):
 * fills r->hyps (the K = nret best titles found) and r->exact */
static void exact_search(Exact *x, Req **R, int B, int C) {
    int V = x->V;
    double tm;
    x->t_prefill += prefill_reqs(x->inf, R, B, x->logits);
    for (int i = 0; i < B; i++) {
        Req *r = R[i];
        for (int h = 0; h < r->nhyp; h++) free(r->hyps[h].toks);
        free(r->hyps);
        r->hyps = xcalloc(nret, sizeof(Hyp));
        r->nhyp = 0;
        r->maxdrop = -INFINITY;
        search_alloc(r, C, i);
    }
    int nrows = B;
    for (int s = 0; s < max_new; s++) {
        tm = now_s();
#pragma omp parallel for schedule(static) num_threads(x->nthreads)
        for (int row = 0; row < nrows; row++) x->lse[row] = infer_logsumexp(x->logits + (size_t)row * V, V);
        int n = 0;
        for (int i = 0; i < B; i++) {
            Req *r = R[i];
            if (r->done) continue;
            /* finished titles first (they raise the bound), then the prefixes above it */
            int nc = 0;
            for (int b = 0; b < r->nlive; b++) {
                int row = r->brow[b];
                const float *lg = x->logits + (size_t)row * V;
                const int *tk, *nx;
                int nch = trie_children(x->trie, r->btrie[b], &tk, &nx);
                for (int c = 0; c < nch; c++) {
                    float sc = r->bscore[b] + (lg[tk[c]] - x->lse[row]);
                    if (!isfinite(sc)) continue;
                    if (tk[c] == eos) { exact_hyp_add(r, nret, r->btoks + (size_t)b * max_new, s, sc); continue; }
                    if ((size_t)nc == x->cand_cap) {
                        x->cand_cap = x->cand_cap ? 2 * x->cand_cap : 4096;
                        x->cand = xrealloc(x->cand, sizeof(Cand) * x->cand_cap);
                    }
                    x->cand[nc++] = (Cand){sc, b, tk[c]};
                }
            }
            float thr = exact_threshold(r, nret);
            int keep = 0;
            for (int c = 0; c < nc; c++) if (x->cand[c].score >= thr) x->cand[keep++] = x->cand[c];
            qsort(x->cand, keep, sizeof(Cand), cand_cmp);
            if (keep > C) {
                if (x->cand[C].score > r->maxdrop) r->maxdrop = x->cand[C].score;
                keep = C;
            }
            for (int j = 0; j < keep; j++) {
                const Cand *cd = &x->cand[j];
                r->bscore[j] = cd->score;     /* bscore[j] is read no more: parents sit at index beam */
                x->ntrie[j] = trie_next(x->trie, r->btrie[cd->beam], cd->tok);   /* btrie is, hence the copy */
                int *dst = r->ntoks + (size_t)j * max_new;
                memcpy(dst, r->btoks + (size_t)cd->beam * max_new, sizeof(int) * s);
                dst[s] = cd->tok;
                memcpy(r->nanc + (size_t)j * max_new, r->banc + (size_t)cd->beam * max_new, sizeof(int) * s);
            }
            memcpy(r->btrie, x->ntrie, sizeof(int) * keep);
            int *tmp = r->btoks; r->btoks = r->ntoks; r->ntoks = tmp;
            tmp = r->banc; r->banc = r->nanc; r->nanc = tmp;
            r->nlive = keep;
            if (keep && s + 1 == max_new) { n_dropped_unfinished += keep; keep = 0; }
            if (!keep) { r->done = 1; continue; }
            for (int j = 0; j < keep; j++) {
                x->s_tok[n] = r->btoks[(size_t)j * max_new + s];
                x->s_pre[n] = i;
                memcpy(x->s_anc + (size_t)n * s, r->banc + (size_t)j * max_new, sizeof(int) * s);
                r->banc[(size_t)j * max_new + s] = n;
                r->brow[j] = n;
                n++;
            }
        }
        x->t_select += now_s() - tm;
        if (!n) break;
        tm = now_s();
        infer_step(x->inf, n, x->s_tok, x->s_pre, s, x->s_anc, x->logits);
        x->t_model += now_s() - tm;
        nrows = n;
        x->steps++;
        x->row_steps += n;
    }
    for (int i = 0; i < B; i++) {
        Req *r = R[i];
        r->capped = !(r->maxdrop == -INFINITY || (r->nhyp == nret && r->maxdrop <= r->hyps[nret - 1].score));
        /* under a bound, a title scoring below it may be missing: the K found must reach it */
        r->exact = !r->capped && (r->lb == -INFINITY || (r->nhyp == nret && r->hyps[nret - 1].score >= r->lb));
        search_free(r);
    }
}

static int float_cmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* the first search's bound: the q-quantile of the n K-th scores certified so far (kth is
 * reordered), -inf before EXACT_GUESS_MIN of them or with q = 0 */
#define EXACT_GUESS_MIN 16
static float exact_guess_bound(float *kth, size_t n, double q) {
    if (q <= 0 || n < EXACT_GUESS_MIN) return -INFINITY;
    qsort(kth, n, sizeof(float), float_cmp);
    return kth[(size_t)(q * (double)(n - 1))];
}

/* one round of searches: each of the np prompts at its own rows, those with the same rows
 * together, as many prompts a search as the generation cache's rows_cap rows hold */
static void exact_round(Exact *x, Req **todo, int np, int rows_cap) {
    for (int i = 1; i < np; i++)
        for (int j = i; j > 0 && todo[j - 1]->rows > todo[j]->rows; j--) { Req *t = todo[j]; todo[j] = todo[j - 1]; todo[j - 1] = t; }
    for (int k0 = 0; k0 < np;) {
        int C = todo[k0]->rows, k1 = k0;
        while (k1 < np && todo[k1]->rows == C) k1++;
        int Bt = rows_cap / C < 1 ? 1 : rows_cap / C;
        for (int k = k0; k < k1; k += Bt) exact_search(x, todo + k, k1 - k < Bt ? k1 - k : Bt, C);
        k0 = k1;
    }
}

/* strip what surrounds a generated title: whitespace, one pair of quotes */
static char *clean_title(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    while (*s == ' ' || *s == '\t' || *s == '\n') s++, n--;
    if (n && s[0] == '"') s++, n--;
    if (n && s[n - 1] == '"') s[--n] = 0;
    return s;
}

static int *read_id_array(const cJSON *a, Where w, const char *field, int V, int *n) {
    if (!cJSON_IsArray(a)) die(EXIT_DATA, "%s:%ld: %s: expected an array of token ids", w.file, w.line, field);
    *n = cJSON_GetArraySize(a);
    int *ids = xmalloc(sizeof(int) * (*n ? *n : 1)), i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble < V) || e->valuedouble != floor(e->valuedouble))
            die(EXIT_DATA, "%s:%ld: %s: element %d is not a token id in [0, %d)", w.file, w.line, field, i, V);
        ids[i++] = (int)e->valuedouble;
    }
    return ids;
}

/* one output record; frees the request's prompt, id and hypotheses */
/* one output record: rec's id with the hypotheses of r (rec itself, or the first record of
 * its prompt under --dedupe) */
static void write_req(FILE *f, const Req *rec, const Req *r, int prompt_ids, Tok *spm, int exact_mode) {
    int k = r->nhyp < nret ? r->nhyp : nret;
    if (k < nret) n_short++;
    fprintf(f, "{\"id\":%s,\"%s\":[", rec->id_json, prompt_ids ? "predict_ids" : "predict");
    for (int h = 0; h < k; h++) {
        if (h) fputc(',', f);
        if (prompt_ids) {
            fputc('[', f);
            for (int t = 0; t < r->hyps[h].len; t++) fprintf(f, "%s%d", t ? "," : "", r->hyps[h].toks[t]);
            fputc(']', f);
        } else {
            char *txt = tok_decode(spm, r->hyps[h].toks, r->hyps[h].len);
            json_put_str(f, clean_title(txt));
            free(txt);
        }
    }
    fputs("],\"scores\":[", f);
    for (int h = 0; h < k; h++) fprintf(f, "%s%.9g", h ? "," : "", r->hyps[h].score);
    fputs("]", f);
    if (exact_mode) fprintf(f, ",\"exact\":%s", r->exact ? "true" : "false");
    fputs("}\n", f);
}

static void req_free(Req *r) {
    for (int h = 0; h < r->nhyp; h++) free(r->hyps[h].toks);
    free(r->hyps); free(r->prompt); free(r->id_json);
    r->hyps = NULL; r->prompt = NULL; r->id_json = NULL;
}

/* the records from *next on, in input order, whose prompt's search is final */
static void write_ready(FILE *f, Req *req, int nreq, int *next, int prompt_ids, Tok *spm, int exact_mode) {
    while (*next < nreq && req[req[*next].src].decoded) {
        write_req(f, &req[*next], &req[req[*next].src], prompt_ids, spm, exact_mode);
        (*next)++;
    }
}

/* --dedupe: each record's src is the first record with the same prompt tokens; returns the
 * distinct prompts, in order of first appearance (without --dedupe, every record) */
static Req **distinct_prompts(Req *req, int nreq, int dedupe, int *nu) {
    Req **U = xmalloc(sizeof(Req *) * nreq);
    StrMap first;
    strmap_init(&first, dedupe ? (size_t)nreq : 1);
    char *key = NULL;
    size_t cap = 0;
    *nu = 0;
    for (int i = 0; i < nreq; i++) {
        Req *r = &req[i];
        r->src = i;
        if (dedupe) {
            size_t need = (size_t)r->plen * 12 + 1, o = 0;
            if (cap < need) { cap = need; key = xrealloc(key, cap); }
            for (int k = 0; k < r->plen; k++) o += (size_t)snprintf(key + o, cap - o, "%d,", r->prompt[k]);
            key[o] = 0;
            int existed;
            strmap_put(&first, key, i, &existed);
            if (existed) { r->src = (int)*strmap_get(&first, key); continue; }
        }
        U[(*nu)++] = r;
    }
    free(key);
    strmap_free(&first);
    return U;
}

int main(int argc, char **argv) {
    infer_openmp_env(argv);
    util_init(argc, argv);
    const char *model_dir = NULL, *constrain = NULL, *constrain_ids = NULL, *tok_path = NULL, *out_path = NULL;
    const char *device = "cpu", *precision = "fp32";
    int batch = 16, threads = 0, prompt_ids = 0, timing = 0, exact = 0, share = 1, dedupe = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (die(EXIT_USAGE, "%s needs a value (see --help)", a), ""))
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {}
        else if (!strcmp(a, "--model")) model_dir = NEXT();
        else if (!strcmp(a, "--beams")) nb = atoi(NEXT());
        else if (!strcmp(a, "--return")) nret = atoi(NEXT());
        else if (!strcmp(a, "--length-penalty")) { char *e; const char *v = NEXT(); lp = strtod(v, &e); if (*e || !*v) die(EXIT_USAGE, "--length-penalty: not a number: %s", v); }
        else if (!strcmp(a, "--max-new-tokens")) max_new = atoi(NEXT());
        else if (!strcmp(a, "--constrain")) constrain = NEXT();
        else if (!strcmp(a, "--constrain-ids")) constrain_ids = NEXT();
        else if (!strcmp(a, "--batch")) batch = atoi(NEXT());
        else if (!strcmp(a, "--threads")) threads = atoi(NEXT());
        else if (!strcmp(a, "--device")) device = NEXT();
        else if (!strcmp(a, "--precision")) precision = NEXT();
        else if (!strcmp(a, "--tokenizer")) tok_path = NEXT();
        else if (!strcmp(a, "--eos")) eos = atoi(NEXT());
        else if (!strcmp(a, "--prompt-ids")) prompt_ids = 1;
        else if (!strcmp(a, "--timing")) timing = 1;
        else if (!strcmp(a, "--no-share-prefix")) share = 0;
        else if (!strcmp(a, "--dedupe")) dedupe = 1;
        else if (!strcmp(a, "--exact")) exact = 1;
        else if (!strcmp(a, "--max-frontier")) max_frontier = atoi(NEXT());
        else if (!strcmp(a, "--exact-guess")) { char *e; const char *v = NEXT(); exact_guess = strtod(v, &e); if (*e || !*v || !(exact_guess >= 0 && exact_guess < 1)) die(EXIT_USAGE, "--exact-guess: not a quantile in [0, 1): %s", v); }
        else if (!strcmp(a, "-o")) out_path = NEXT();
        else die(EXIT_USAGE, "unknown option %s (see --help)", a);
    }
    if (!model_dir) die(EXIT_USAGE, "--model DIR is required (see --help)");
    if (exact) {
        if (!constrain && !constrain_ids) die(EXIT_USAGE, "--exact ranks catalogue titles: give --constrain or --constrain-ids");
        if (lp != 0.0) die(EXIT_USAGE, "--exact needs --length-penalty 0 (a prefix then bounds its titles' scores)");
        if (max_frontier < 1 || max_frontier > 65536) die(EXIT_USAGE, "--max-frontier must be in 1..65536");
        if (nb < 1 || nb > max_frontier) die(EXIT_USAGE, "--exact: --beams (first rows per prompt) must be in 1..--max-frontier");
        if (nret < 1 || nret > 4096) die(EXIT_USAGE, "--return must be in 1..4096");
    } else {
        if (nb < 1 || nb > 64) die(EXIT_USAGE, "--beams must be in 1..64");
        if (nret < 1 || nret > nb) die(EXIT_USAGE, "--return must be in 1..--beams");
    }
    if (max_new < 1 || max_new > 4096) die(EXIT_USAGE, "--max-new-tokens must be in 1..4096");
    if (batch < 1 || batch > 4096) die(EXIT_USAGE, "--batch must be in 1..4096");
    if (threads < 0) die(EXIT_USAGE, "--threads must be >= 0");
    if (!(lp > -100 && lp < 100)) die(EXIT_USAGE, "--length-penalty out of range");
    if (constrain && constrain_ids) die(EXIT_USAGE, "--constrain and --constrain-ids exclude each other");

    if (strcmp(device, "cpu") && strcmp(device, "cuda")) die(EXIT_USAGE, "--device: expected cpu or cuda, got '%s'", device);
    if (strcmp(precision, "fp32") && strcmp(precision, "tf32")) die(EXIT_USAGE, "--precision: expected fp32 or tf32, got '%s'", precision);

    Model *m = model_load(model_dir);
    const ModelConfig *cfg = model_config(m);
    int V = cfg->vocab_size;
    /* the device first: a missing GPU is reported before any input is read */
    Infer *inf = infer_new(cfg, model_weights(m));
    infer_set_threads(inf, threads);
    infer_set_share_prefix(inf, share);
    infer_set_device(inf, device, precision);
    if (strcmp(device, "cpu")) info("device: %s, %s GEMMs", infer_device_name(inf), precision);
    Tok *spm = NULL;
    if (!prompt_ids || constrain) spm = tok_path ? tok_load(tok_path) : tok_load_dir(model_dir);
    if (spm) {
        if (tok_vocab_size(spm) > V)
            die(EXIT_DATA, "%s: tokenizer has %d pieces but the model's vocab_size is %d", model_dir, tok_vocab_size(spm), V);
    }
    /* text mode: ids the tokenizer cannot decode (a vocab padded beyond the tokenizer, as
     * Qwen2's) are never generated; they still count in the log-softmax normaliser */
    int Vgen = (spm && !prompt_ids) ? tok_vocab_size(spm) : V;
    if (eos < 0) eos = cfg->eos_token_id;
    if (eos < 0 && spm) eos = tok_eos_id(spm);
    if (eos < 0 || eos >= Vgen) die(EXIT_USAGE, "no usable EOS id (config.json has none; give --eos)");

    /* ---- constraint trie ---- */
    Trie *trie = NULL;
    if (constrain || constrain_ids) {
        trie = trie_new();
        LineReader *lr = lr_open(constrain ? constrain : constrain_ids);
        char *s;
        long n = 0;
        while ((s = lr_next(lr, NULL))) {
            Where w = {lr_name(lr), lr_lineno(lr)};
            cJSON *o = json_parse_line(s, w);
            int len, *ids;
            if (constrain) {
                const char *title = json_str(o, "title", w);
                size_t tl = strlen(title);
                char *resp = xmalloc(tl + 4);
                sprintf(resp, "\"%s\"\n", title);     /* mkprompt's response format */
                int k = tok_encode_at(spm, resp, &ids, w, "title");
                ids = xrealloc(ids, sizeof(int) * (k + 1));
                ids[k] = eos;
                len = k + 1;
                free(resp);
            } else {
                ids = read_id_array(cJSON_GetObjectItemCaseSensitive(o, "ids"), w, "ids", V, &len);
                if (len < 1) die(EXIT_DATA, "%s:%ld: ids: empty", w.file, w.line);
            }
            for (int k = 0; k < len; k++)
                if (ids[k] < 0 || ids[k] >= V) die(EXIT_DATA, "%s:%ld: title: token %d outside the model's vocabulary", w.file, w.line, ids[k]);
            trie_add(trie, ids, len);
            free(ids);
            cJSON_Delete(o);
            n++;
        }
        lr_close(lr);
        if (!n) die(EXIT_DATA, "%s: no items", constrain ? constrain : constrain_ids);
        trie_freeze(trie);
        info("constraint: %ld items, %d distinct token sequences, %d trie nodes, longest %d tokens",
             n, trie_sequences(trie), trie_nodes(trie), trie_max_depth(trie));
        if (trie_max_depth(trie) > max_new)
            info("warning: some catalogue responses are longer (%d tokens) than --max-new-tokens %d and cannot be generated",
                 trie_max_depth(trie), max_new);
    }

    /* ---- read and validate every prompt before any output ---- */
    Req *req = NULL;
    int nreq = 0, capreq = 0;
    {
        LineReader *lr = lr_open(NULL);
        IdMap seen;
        idmap_init(&seen, 1024);
        char *s;
        while ((s = lr_next(lr, NULL))) {
            Where w = {lr_name(lr), lr_lineno(lr)};
            cJSON *o = json_parse_line(s, w);
            long long id = record_id(o, &seen, w);
            if (nreq == capreq) { capreq = capreq ? 2 * capreq : 256; req = xrealloc(req, sizeof(Req) * capreq); }
            Req *r = &req[nreq++];
            memset(r, 0, sizeof *r);
            r->id_json = xmalloc(24);
            snprintf(r->id_json, 24, "%lld", id);
            r->line = w.line;
            if (prompt_ids) {
                r->prompt = read_id_array(cJSON_GetObjectItemCaseSensitive(o, "prompt_ids"), w, "prompt_ids", V, &r->plen);
            } else {
                r->plen = tok_encode_at(spm, json_str(o, "prompt", w), &r->prompt, w, "prompt");
                for (int k = 0; k < r->plen; k++)
                    if (r->prompt[k] >= V) die(EXIT_DATA, "%s:%ld: prompt: token %d outside the model's vocabulary", w.file, w.line, r->prompt[k]);
            }
            if (r->plen < 1) die(EXIT_DATA, "%s:%ld: prompt: encodes to no tokens", w.file, w.line);
            /* the model has no positions past its maximum; a huge prompt would only cost minutes first */
            if ((long)r->plen + max_new > cfg->max_position_embeddings)
                die(EXIT_DATA, "%s:%ld: %s: %d tokens + --max-new-tokens %d exceed the model's max_position_embeddings %d",
                    w.file, w.line, prompt_ids ? "prompt_ids" : "prompt", r->plen, max_new, cfg->max_position_embeddings);
            cJSON_Delete(o);
        }
        if (nreq == 0) die(EXIT_DATA, "%s: no prompts (empty input)", lr_name(lr));
        idmap_free(&seen);
        lr_close(lr);
    }
    int nu;
    Req **U = distinct_prompts(req, nreq, dedupe, &nu);
    info("%d prompts, %d beams, return %d, length penalty %g, max %d new tokens%s",
         nreq, nb, nret, lp, max_new, trie ? ", constrained" : "");
    if (dedupe) info("--dedupe: %d distinct prompts, %d repeats share their beams", nu, nreq - nu);

    OutFile out = out_open(out_path);
    atomic_cleanup_register(&out);
    int nthreads = threads > 0 ? threads : omp_get_num_procs();
    if (batch > nu) batch = nu;
    /* rows per step: --batch prompts x --beams; --exact also fits one prompt at --max-frontier */
    int rows_cap = batch * nb;
    if (exact && rows_cap < max_frontier) rows_cap = max_frontier;
    infer_gen_reserve(inf, rows_cap, max_new);
    float *logits = xmalloc(sizeof(float) * (size_t)rows_cap * V);
    float *lse = xmalloc(sizeof(float) * rows_cap);
    int kk = exact ? 1 : 2 * nb;
    Cand *rowtop = xmalloc(sizeof(Cand) * (size_t)(exact ? 1 : rows_cap) * kk);
    int *rowtop_n = xmalloc(sizeof(int) * rows_cap);
    int *s_tok = xmalloc(sizeof(int) * rows_cap), *s_pre = xmalloc(sizeof(int) * rows_cap);
    int *s_anc = xmalloc(sizeof(int) * (size_t)rows_cap * max_new);
    Cand *cand = NULL;
    size_t cand_cap = 0;
    Progress pr;
    progress_start(&pr, "decode", nreq);
    double t0 = now_s();
    long steps_total = 0, row_steps = 0;
    double t_prefill = 0, t_model = 0, t_select = 0, tm;

    Exact ex = {inf, trie, V, nthreads, logits, lse, s_tok, s_pre, s_anc, NULL, NULL, 0, 0, 0, 0, 0, 0};
    if (exact) ex.ntrie = xmalloc(sizeof(int) * max_frontier);

    int wnext = 0;   /* next record to write, in input order */
    for (int b0 = 0; !exact && b0 < nu; b0 += batch) {
        int B = nu - b0 < batch ? nu - b0 : batch;
        Req **R = U + b0;
        /* prefill all prompts of the batch; each prompt's single initial beam reads row i */
        t_prefill += prefill_reqs(inf, R, B, logits);
        for (int i = 0; i < B; i++) {
            Req *r = R[i];
            search_alloc(r, nb, i);
            r->hyps = xcalloc(nb + 1, sizeof(Hyp));
            r->worst = 1e9;
        }
        int nrows = B;
        for (int s = 0; s < max_new; s++) {
            tm = now_s();
            /* log-softmax normaliser (and, unconstrained, the best 2*nb tokens) of every row */
#pragma omp parallel for schedule(static) num_threads(nthreads)
            for (int row = 0; row < nrows; row++) {
                const float *lg = logits + (size_t)row * V;
                lse[row] = infer_logsumexp(lg, V);
                if (!trie) {
                    Cand *top = rowtop + (size_t)row * kk;
                    int n = 0;
                    for (int v = 0; v < Vgen; v++) {
                        if (n == kk && lg[v] <= top[kk - 1].score) continue;
                        topk_push(top, &n, kk, (Cand){lg[v], 0, v});
                    }
                    rowtop_n[row] = n;
                }
            }
            /* per prompt: HF's BeamSearchScorer.process */
            int n = 0;
            for (int i = 0; i < B; i++) {
                Req *r = R[i];
                if (r->done) continue;
                size_t need = (size_t)kk;
                if (cand_cap < need) { cand_cap = need; cand = xrealloc(cand, sizeof(Cand) * cand_cap); }
                int nc = 0;
                for (int b = 0; b < r->nlive; b++) {
                    int row = r->brow[b];
                    const float *lg = logits + (size_t)row * V;
                    if (trie) {
                        const int *tk, *nx;
                        int nch = trie_children(trie, r->btrie[b], &tk, &nx);
                        for (int c = 0; c < nch; c++) {
                            float sc = r->bscore[b] + (lg[tk[c]] - lse[row]);
                            if (isfinite(sc)) topk_push(cand, &nc, kk, (Cand){sc, b, tk[c]});
                        }
                    } else {
                        const Cand *top = rowtop + (size_t)row * kk;
                        for (int c = 0; c < rowtop_n[row]; c++) {
                            float sc = r->bscore[b] + (top[c].score - lse[row]);
                            if (isfinite(sc)) topk_push(cand, &nc, kk, (Cand){sc, b, top[c].tok});
                        }
                    }
                }
                float nscore[64];
                int ntrie[64], nlive = 0;
                for (int c = 0; c < nc && nlive < nb; c++) {
                    const Cand *cd = &cand[c];
                    if (cd->tok == eos) {
                        if (c >= nb) continue;   /* HF: EOS only from the top `beams` ranks */
                        hyp_add(r, r->btoks + (size_t)cd->beam * max_new, s, cd->score, s + 1);
                    } else {
                        int j = nlive++;
                        nscore[j] = cd->score;
                        ntrie[j] = trie ? trie_next(trie, r->btrie[cd->beam], cd->tok) : 0;
                        int *dst = r->ntoks + (size_t)j * max_new;
                        memcpy(dst, r->btoks + (size_t)cd->beam * max_new, sizeof(int) * s);
                        dst[s] = cd->tok;
                        memcpy(r->nanc + (size_t)j * max_new, r->banc + (size_t)cd->beam * max_new, sizeof(int) * s);
                    }
                }
                if (nc == 0 || nlive == 0) r->done = 1;
                else r->done = hyp_is_done(r, cand[0].score, s + 1);
                int *tmp = r->btoks; r->btoks = r->ntoks; r->ntoks = tmp;
                tmp = r->banc; r->banc = r->nanc; r->nanc = tmp;
                for (int j = 0; j < nlive; j++) { r->bscore[j] = nscore[j]; r->btrie[j] = ntrie[j]; }
                r->nlive = nlive;
                if (!r->done && s + 1 == max_new) {
                    /* HF finalize: open beams become hypotheses at the length limit */
                    for (int j = 0; j < nlive; j++) {
                        if (trie) { n_dropped_unfinished++; continue; }
                        hyp_add(r, r->btoks + (size_t)j * max_new, max_new, r->bscore[j], max_new);
                    }
                    r->done = 1;
                }
                if (r->done) continue;
                for (int j = 0; j < nlive; j++) {
                    s_tok[n] = r->btoks[(size_t)j * max_new + s];
                    s_pre[n] = i;
                    memcpy(s_anc + (size_t)n * s, r->banc + (size_t)j * max_new, sizeof(int) * s);
                    r->banc[(size_t)j * max_new + s] = n;   /* this step's entry of the beam */
                    r->brow[j] = n;
                    n++;
                }
            }
            t_select += now_s() - tm;
            if (!n) break;
            tm = now_s();
            infer_step(inf, n, s_tok, s_pre, s, s_anc, logits);
            t_model += now_s() - tm;
            nrows = n;
            steps_total++;
            row_steps += n;
        }
        for (int i = 0; i < B; i++) {
            Req *r = R[i];
            /* HF: sorted by score ascending, best popped from the end (ties: later first) */
            for (int a = 1; a < r->nhyp; a++)
                for (int c = a; c > 0 && r->hyps[c].score >= r->hyps[c - 1].score; c--) {
                    Hyp t = r->hyps[c]; r->hyps[c] = r->hyps[c - 1]; r->hyps[c - 1] = t;
                }
            search_free(r);
            r->decoded = 1;
        }
        write_ready(out.f, req, nreq, &wnext, prompt_ids, spm, 0);
        progress_update(&pr, (uint64_t)wnext);
    }
    /* --exact: bounded searches until every prompt is certified (or at --max-frontier) */
    float *kth = exact ? xmalloc(sizeof(float) * (size_t)(nu ? nu : 1)) : NULL;   /* certified K-th scores */
    size_t nkth = 0;
    for (int b0 = 0; exact && b0 < nu; b0 += batch) {
        int B = nu - b0 < batch ? nu - b0 : batch;
        Req **todo = xmalloc(sizeof(Req *) * B);
        float guess = exact_guess_bound(kth, nkth, exact_guess);
        for (int i = 0; i < B; i++) {
            Req *r = todo[i] = U[b0 + i];
            r->lb = guess; r->guessed = guess > -INFINITY; r->rows = nb;
        }
        if (guess > -INFINITY) n_guessed += B;
        int np = B;
        while (np > 0) {
            exact_round(&ex, todo, np, rows_cap);
            int m = 0;
            for (int i = 0; i < np; i++) {
                Req *r = todo[i];
                if (r->exact) { if (r->nhyp == nret) kth[nkth++] = (float)r->hyps[nret - 1].score; continue; }
                if (r->guessed && !r->capped) n_guess_missed++;     /* the same rows, a true bound */
                else if (r->rows == max_frontier) continue;         /* stays uncertified */
                else r->rows = r->rows * 4 < max_frontier ? r->rows * 4 : max_frontier;
                /* its K titles exist: the K-th score (less rounding slack) bounds the re-search */
                r->lb = r->nhyp == nret ? (float)r->hyps[nret - 1].score - 1e-3f * fmaxf(1.f, fabsf((float)r->hyps[nret - 1].score))
                                        : -INFINITY;
                r->guessed = 0;
                todo[m++] = r;
            }
            n_researched += m;
            np = m;
        }
        free(todo);
        for (int i = 0; i < B; i++) {
            if (!U[b0 + i]->exact) n_inexact++;
            U[b0 + i]->decoded = 1;
        }
        write_ready(out.f, req, nreq, &wnext, prompt_ids, spm, 1);
        progress_update(&pr, (uint64_t)wnext);
    }
    free(kth);
    progress_end(&pr);
    out_commit(&out);
    if (exact) {
        steps_total = ex.steps; row_steps = ex.row_steps;
        t_prefill = ex.t_prefill; t_model = ex.t_model; t_select = ex.t_select;
        free(ex.cand); free(ex.ntrie);
    }
    double el = now_s() - t0;
    info("decoded %d prompts in %.2fs (%.2f prompts/s, %ld batched steps)", nreq, el, el > 0 ? nreq / el : 0.0, steps_total);
    if (timing) {
        long pf_pos, pf_rows;
        infer_prefill_counts(inf, &pf_pos, &pf_rows);
        fprintf(stderr, "decode-timing prompts=%d distinct=%d seconds=%.4f prefill_s=%.4f step_s=%.4f select_s=%.4f steps=%ld "
                "row_steps=%ld us_per_row_step=%.3f select_us_per_row_step=%.3f prefill_positions=%ld prefill_rows=%ld\n",
                nreq, nu, el, t_prefill, t_model, t_select, steps_total, row_steps,
                row_steps ? 1e6 * (t_model + t_select) / row_steps : 0.0, row_steps ? 1e6 * t_select / row_steps : 0.0,
                pf_pos, pf_rows);
    }
    if (n_short) info("%ld prompts got fewer than --return hypotheses (too few finite-score continuations)", n_short);
    if (exact) info("exact: %ld prompt searches repeated (more rows, or a guessed bound above the K-th title: %ld); "
                    "%ld prompts not certified exact at --max-frontier %d", n_researched, n_guess_missed, n_inexact, max_frontier);
    if (exact && timing)
        fprintf(stderr, "decode-exact guessed=%ld guess_missed=%ld researched=%ld inexact=%ld\n", n_guessed, n_guess_missed,
                n_researched, n_inexact);
    if (n_dropped_unfinished) info("%ld constrained beams unfinished at --max-new-tokens were dropped", n_dropped_unfinished);
    for (int i = 0; i < nreq; i++) req_free(&req[i]);
    free(U); free(req); free(logits); free(lse); free(rowtop); free(rowtop_n); free(cand);
    free(s_tok); free(s_pre); free(s_anc);
    infer_free(inf);
    trie_free(trie);
    if (spm) tok_free(spm);
    model_free(m);
    return 0;
}
