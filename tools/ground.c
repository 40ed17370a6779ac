/* ground: BIGRec's grounding step — map generated titles to catalogue items by L2 distance.
 *
 *   ground --model DIR --items items.jsonl [--mode interleave|single] [-n 50] \
 *          < predictions.jsonl > ranked.jsonl
 *
 * Embedding of a title (BIGRec / the authors' code): the title text on its own — the
 * catalogue `title` field, or a generated title with its quotes stripped (decode already
 * strips them) — encoded with DIR's tokenizer (no BOS, no quotes, no EOS), run through
 * the model, and the final-layer hidden state AFTER the final RMSNorm at its last token
 * (HF's hidden_states[-1][:, -1]). A generated title identical to a catalogue title reuses
 * that item's embedding (same tokens, same hidden state; D3's constrained titles all do), and
 * a generated title met before reuses its own (BIGRec's beams repeat titles across users: on
 * SmolLM2 Games, 25,000 generated titles held 4,335 distinct ones).
 *
 * Item embeddings are computed once per checkpoint and cached next to it in
 * DIR/item_emb.<hash>.safetensors (tensor "item_emb" (N, C); the hash covers the tokenizer
 * and the catalogue titles; metadata records model.safetensors' size and mtime and a stale
 * cache is recomputed). Distances: ||q||^2 + ||e||^2 - 2 q.e through one sgemm per chunk.
 * Ranking (ties: lower item id first):
 *   interleave (default, the paper's Sec. 4.1.4): the best match of each generated title, in
 *     beam order, then the second-best of each, ..., duplicates removed keeping the first;
 *   single (BIGRec's original): all items by distance to the first generated title.
 * Output: {"id", "items": [catalogue ids, best first]} (top -n). */
#include "ckpt.h"
#include "infer.h"
#include "model.h"
#include "safetensors.h"
#include "samples.h"
#include "tok.h"
#include "util.h"
#include <omp.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: ground --model DIR --items items.jsonl [options] < predictions.jsonl > ranked.jsonl\n"
"Map each record's generated titles to catalogue items by L2 distance of the model's\n"
"final-norm hidden state at a title's last token; item embeddings cached in DIR.\n"
"  --model DIR         checkpoint (config.json, model.safetensors, tokenizer)\n"
"  --items FILE        item catalogue (items.jsonl: id, title)\n"
"  --mode M            interleave (default: best match of each title, then second best,\n"
"                      ...) or single (all items by distance to the first title)\n"
"  -n N                items per ranked list (50)\n"
"  --batch N           titles per forward batch (128)\n"
"  --threads N         threads (default: all cores)\n"
"  --device cpu|cuda   (cpu) cuda: the title forwards on the GPU (the CUDA twin of the\n"
"                      inference path; not yet run on a GPU, README Limits); distances and\n"
"                      ranking stay on the host. The cache records the device and precision\n"
"                      and is reused only by the same ones\n"
"  --precision fp32|tf32  GEMM precision on cuda (fp32)\n"
"  --tokenizer FILE    tokenizer.model or tokenizer.json (default: DIR's)\n"
"  --no-cache          neither read nor write DIR/item_emb.*.safetensors\n"
"  --timing            print `ground-timing key=value ...` on stderr (even with -q)\n"
"  -o FILE             write here atomically instead of stdout\n"
"  -q                  quiet\n");
    exit(code);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}

/* ---- title -> item id (first item with that title) ---- */
typedef struct { char **title; int *slot; size_t cap; } TitleMap;
static void tm_build(TitleMap *m, char **titles, int n) {
    m->title = titles;
    m->cap = 16;
    while (m->cap < (size_t)n * 2) m->cap *= 2;
    m->slot = xmalloc(sizeof(int) * m->cap);
    memset(m->slot, 0xff, sizeof(int) * m->cap);
    for (int i = 0; i < n; i++) {
        size_t s = fnv1a(0xcbf29ce484222325ULL, titles[i], strlen(titles[i])) & (m->cap - 1);
        while (m->slot[s] >= 0 && strcmp(titles[m->slot[s]], titles[i])) s = (s + 1) & (m->cap - 1);
        if (m->slot[s] < 0) m->slot[s] = i;
    }
}
static int tm_find(const TitleMap *m, const char *t) {
    size_t s = fnv1a(0xcbf29ce484222325ULL, t, strlen(t)) & (m->cap - 1);
    while (m->slot[s] >= 0) {
        if (!strcmp(m->title[m->slot[s]], t)) return m->slot[s];
        s = (s + 1) & (m->cap - 1);
    }
    return -1;
}

/* embed n texts (token lists) into out (n, C), --batch sequences per prefill */
static void embed(Infer *inf, int **ids, const int *lens, int n, int batch, int C, float *out, Progress *pr) {
    for (int b0 = 0; b0 < n; b0 += batch) {
        int B = n - b0 < batch ? n - b0 : batch;
        size_t tot = 0;
        for (int i = 0; i < B; i++) tot += lens[b0 + i];
        int *toks = xmalloc(sizeof(int) * (tot ? tot : 1));
        for (int i = 0, o = 0; i < B; i++) { memcpy(toks + o, ids[b0 + i], sizeof(int) * lens[b0 + i]); o += lens[b0 + i]; }
        infer_prefill(inf, B, lens + b0, toks, 0, out + (size_t)b0 * C, NULL);
        free(toks);
        if (pr) progress_update(pr, (uint64_t)(b0 + B));
    }
}

typedef struct { float d; int id; } Hit;
static int hit_better(const Hit *a, const Hit *b) { return a->d < b->d || (a->d == b->d && a->id < b->id); }

/* best k items of one distance row (N), sorted best first */
static void topk_row(const float *dist, int N, int k, Hit *top) {
    int n = 0;
    for (int j = 0; j < N; j++) {
        Hit h = {dist[j], j};
        if (n == k && !hit_better(&h, &top[k - 1])) continue;
        int i = n < k ? n++ : k - 1;
        while (i > 0 && hit_better(&h, &top[i - 1])) { top[i] = top[i - 1]; i--; }
        top[i] = h;
    }
}

int main(int argc, char **argv) {
    infer_openmp_env(argv);
    util_init(argc, argv);
    const char *model_dir = NULL, *items_path = NULL, *tok_path = NULL, *out_path = NULL, *mode = "interleave";
    const char *device = "cpu", *precision = "fp32";
    int topn = 50, batch = 128, threads = 0, use_cache = 1, timing = 0;
    double t_items = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (die(EXIT_USAGE, "%s needs a value (see --help)", a), ""))
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {}
        else if (!strcmp(a, "--model")) model_dir = NEXT();
        else if (!strcmp(a, "--items")) items_path = NEXT();
        else if (!strcmp(a, "--mode")) mode = NEXT();
        else if (!strcmp(a, "-n")) topn = atoi(NEXT());
        else if (!strcmp(a, "--batch")) batch = atoi(NEXT());
        else if (!strcmp(a, "--threads")) threads = atoi(NEXT());
        else if (!strcmp(a, "--device")) device = NEXT();
        else if (!strcmp(a, "--precision")) precision = NEXT();
        else if (!strcmp(a, "--tokenizer")) tok_path = NEXT();
        else if (!strcmp(a, "--no-cache")) use_cache = 0;
        else if (!strcmp(a, "--timing")) timing = 1;
        else if (!strcmp(a, "-o")) out_path = NEXT();
        else die(EXIT_USAGE, "unknown option %s (see --help)", a);
    }
    if (!model_dir || !items_path) die(EXIT_USAGE, "--model DIR and --items FILE are required (see --help)");
    int interleave = !strcmp(mode, "interleave");
    if (!interleave && strcmp(mode, "single")) die(EXIT_USAGE, "--mode must be interleave or single");
    if (topn < 1) die(EXIT_USAGE, "-n must be >= 1");
    if (batch < 1 || batch > 65536) die(EXIT_USAGE, "--batch must be in 1..65536");
    if (threads < 0) die(EXIT_USAGE, "--threads must be >= 0");
    if (strcmp(device, "cpu") && strcmp(device, "cuda")) die(EXIT_USAGE, "--device: expected cpu or cuda, got '%s'", device);
    if (strcmp(precision, "fp32") && strcmp(precision, "tf32")) die(EXIT_USAGE, "--precision: expected fp32 or tf32, got '%s'", precision);

    Model *m = model_load(model_dir);
    const ModelConfig *cfg = model_config(m);
    int C = cfg->hidden_size, V = cfg->vocab_size;
    /* the device first: a missing GPU is reported before the catalogue is read */
    Infer *inf = infer_new(cfg, model_weights(m));
    infer_set_threads(inf, threads);
    infer_set_device(inf, device, precision);
    if (strcmp(device, "cpu")) info("device: %s, %s GEMMs", infer_device_name(inf), precision);
    char devkey[32];
    snprintf(devkey, sizeof devkey, "%s%s%s", device, strcmp(device, "cpu") ? "-" : "", strcmp(device, "cpu") ? precision : "");
    Tok *spm = tok_path ? tok_load(tok_path) : tok_load_dir(model_dir);
    const char *tokp = tok_path_of(spm);
    if (tok_vocab_size(spm) > V)
        die(EXIT_DATA, "%s: tokenizer has %d pieces but the model's vocab_size is %d", model_dir, tok_vocab_size(spm), V);

    /* ---- catalogue ---- */
    int N = 0;
    char **titles = NULL;
    {
        LineReader *lr = lr_open(items_path);
        int cap = 0;
        char *s;
        while ((s = lr_next(lr, NULL))) {
            Where w = {lr_name(lr), lr_lineno(lr)};
            cJSON *o = json_parse_line(s, w);
            long long id = json_int(o, "id", w);
            const char *t = json_str(o, "title", w);
            if (id < 0 || id > 50000000) die(EXIT_DATA, "%s:%ld: id: %lld out of range", w.file, w.line, id);
            if (id >= cap) {
                int nc = cap ? cap : 1024;
                while (nc <= id) nc *= 2;
                titles = xrealloc(titles, sizeof(char *) * nc);
                for (int i = cap; i < nc; i++) titles[i] = NULL;
                cap = nc;
            }
            if (titles[id]) die(EXIT_DATA, "%s:%ld: id: %lld appears twice", w.file, w.line, id);
            titles[id] = xstrdup(t);
            if (id + 1 > N) N = (int)id + 1;
            cJSON_Delete(o);
        }
        lr_close(lr);
        if (!N) die(EXIT_DATA, "%s: no items", items_path);
        for (int i = 0; i < N; i++)
            if (!titles[i]) die(EXIT_DATA, "%s: id: %d missing (ids must be dense 0..N-1)", items_path, i);
    }
    if (topn > N) topn = N;

    /* ---- item embeddings: cache or compute ---- */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, "item_emb v1: final-norm hidden, last token of the title", 55);
    {
        FILE *f = fdopen(open_regular(tokp, NULL), "rb");
        if (!f) die(EXIT_IO, "%s: cannot read: %s", tokp, strerror(errno));
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a(h, buf, k);
        fclose(f);
    }
    for (int i = 0; i < N; i++) h = fnv1a(h, titles[i], strlen(titles[i]) + 1);
    char *mst = xmalloc(strlen(model_dir) + 32), *cache = xmalloc(strlen(model_dir) + 64);
    sprintf(mst, "%s/model.safetensors", model_dir);
    sprintf(cache, "%s/item_emb.%016llx.safetensors", model_dir, (unsigned long long)h);
    struct stat ms;
    if (stat(mst, &ms) != 0) die(EXIT_IO, "%s: cannot stat: %s", mst, strerror(errno));
    char msize[32], mtime[48], nstr[32], cstr[32];
    snprintf(msize, sizeof msize, "%lld", (long long)ms.st_size);
    snprintf(mtime, sizeof mtime, "%lld.%09ld", (long long)ms.st_mtim.tv_sec, (long)ms.st_mtim.tv_nsec);
    snprintf(nstr, sizeof nstr, "%d", N);
    snprintf(cstr, sizeof cstr, "%d", C);

    int nthreads = threads > 0 ? threads : omp_get_num_procs();
    float *E = xmalloc(sizeof(float) * (size_t)N * C);
    int have = 0;
    if (use_cache && access(cache, R_OK) == 0) {
        StFile *f = st_open(cache);
        const StTensor *t = st_find(f, "item_emb");
        const char *a = st_meta(f, "model_size"), *b = st_meta(f, "model_mtime"), *dk = st_meta(f, "device");
        if (t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == N && t->shape[1] == C && a && b &&
            !strcmp(a, msize) && !strcmp(b, mtime) && !strcmp(dk ? dk : "cpu", devkey)) {
            st_read_f32(f, t, E);
            have = 1;
            info("item embeddings: reused cache %s (%d items)", cache, N);
        } else {
            info("item embeddings: cache %s is stale (model or device changed), recomputing", cache);
        }
        st_close(f);
    }
    if (!have) {
        int **ids = xmalloc(sizeof(int *) * N), *lens = xmalloc(sizeof(int) * N);
        for (int i = 0; i < N; i++) {
            lens[i] = tok_encode_at(spm, titles[i], &ids[i], (Where){items_path, i + 1}, "title");
            if (lens[i] < 1) die(EXIT_DATA, "%s: item %d: title: encodes to no tokens", items_path, i);
            if (lens[i] > cfg->max_position_embeddings)
                die(EXIT_DATA, "%s: item %d: title: %d tokens exceed the model's max_position_embeddings %d",
                    items_path, i, lens[i], cfg->max_position_embeddings);
        }
        Progress pr;
        progress_start(&pr, "item embeddings", N);
        double t0 = now_s();
        embed(inf, ids, lens, N, batch, C, E, &pr);
        progress_end(&pr);
        double el = now_s() - t0;
        t_items = el;
        info("item embeddings: computed %d items in %.2fs (%.1f items/s)", N, el, el > 0 ? N / el : 0.0);
        for (int i = 0; i < N; i++) free(ids[i]);
        free(ids); free(lens);
        if (use_cache) {
            if (access(model_dir, W_OK) != 0) {
                info("item embeddings: %s not writable, not cached", model_dir);
            } else {
                StWriteTensor wt = {"item_emb", E, 2, {N, C}};
                const char *meta[] = {"format", "pt", "model_size", msize, "model_mtime", mtime, "device", devkey,
                                      "n_items", nstr, "hidden_size", cstr,
                                      "text", "catalogue title, no quotes, no BOS/EOS; hidden after final norm at last token",
                                      NULL};
                st_write_f32(cache, &wt, 1, meta);
                info("item embeddings: cached in %s", cache);
            }
        }
    }
    float *enorm = xmalloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += (double)E[(size_t)i * C + c] * E[(size_t)i * C + c];
        enorm[i] = (float)s;
    }
    TitleMap tm;
    tm_build(&tm, titles, N);

    /* ---- predictions, in chunks of records ---- */
    OutFile out = out_open(out_path);
    atomic_cleanup_register(&out);
    LineReader *lr = lr_open(NULL);
    const int CHUNK = 256;
    char **rec_id = xmalloc(sizeof(char *) * CHUNK);
    int *rec_q0 = xmalloc(sizeof(int) * (CHUNK + 1));
    int qcap = 0;
    int *q_item = NULL;          /* catalogue id when the title is a catalogue title, else -1 */
    int *q_memo = NULL;          /* else its row in M */
    int **q_ids = NULL, *q_len = NULL;   /* tokens of a title embedded in this chunk, else NULL */
    /* generated titles embedded so far: title -> row of M (nm, C) */
    StrMap memo;
    strmap_init(&memo, 4096);
    float *M = NULL;
    long nm = 0, mcap = 0;
    float *Q = NULL, *D = NULL;
    Hit *top = xmalloc(sizeof(Hit) * (size_t)topn * 64);
    int *seen = xcalloc(N, sizeof(int)), stamp = 0;
    int *list = xmalloc(sizeof(int) * topn);
    long nrec = 0, nq_total = 0, nq_matched = 0, n_empty_title = 0, n_no_title = 0;
    IdMap ids_seen;
    idmap_init(&ids_seen, 1024);
    double t0 = now_s();
    int eof = 0;
    while (!eof) {
        int nr = 0, nq = 0;
        char *s;
        while (nr < CHUNK && (s = lr_next(lr, NULL))) {
            Where w = {lr_name(lr), lr_lineno(lr)};
            cJSON *o = json_parse_line(s, w);
            long long id = record_id(o, &ids_seen, w);
            const cJSON *pa = json_arr(o, "predict", w);
            rec_id[nr] = xmalloc(24);
            snprintf(rec_id[nr], 24, "%lld", id);
            rec_q0[nr] = nq;
            int k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, pa) {
                if (!cJSON_IsString(e)) die(EXIT_DATA, "%s:%ld: predict: element %d is not a string", w.file, w.line, k);
                k++;
                if (!interleave && k > 1) break;    /* single: the first title only */
                if (nq + 1 > qcap) {
                    qcap = qcap ? 2 * qcap : 2048;
                    q_item = xrealloc(q_item, sizeof(int) * qcap);
                    q_memo = xrealloc(q_memo, sizeof(int) * qcap);
                    q_ids = xrealloc(q_ids, sizeof(int *) * qcap);
                    q_len = xrealloc(q_len, sizeof(int) * qcap);
                }
                int it = tm_find(&tm, e->valuestring);
                q_item[nq] = it;
                q_memo[nq] = -1;
                q_ids[nq] = NULL;
                q_len[nq] = 0;
                const long long *mrow = it < 0 ? strmap_get(&memo, e->valuestring) : NULL;
                if (mrow) {
                    q_memo[nq] = (int)*mrow;
                } else if (it < 0) {
                    q_len[nq] = tok_encode_at(spm, e->valuestring, &q_ids[nq], w, "predict");
                    if (q_len[nq] < 1) { free(q_ids[nq]); n_empty_title++; continue; }   /* nothing to embed */
                    if (q_len[nq] > cfg->max_position_embeddings)
                        die(EXIT_DATA, "%s:%ld: predict[%d]: %d tokens exceed the model's max_position_embeddings %d",
                            w.file, w.line, k - 1, q_len[nq], cfg->max_position_embeddings);
                    q_memo[nq] = (int)nm;
                    strmap_put(&memo, e->valuestring, nm, NULL);
                    nm++;
                } else {
                    nq_matched++;
                }
                nq++;
            }
            if (k > 64) die(EXIT_DATA, "%s:%ld: predict: more than 64 titles", w.file, w.line);
            nr++;
            cJSON_Delete(o);
        }
        if (nr < CHUNK) eof = 1;
        if (!nr) break;
        rec_q0[nr] = nq;
        nq_total += nq;
        /* embeddings of the chunk's queries: catalogue and memo copies, one batched forward
         * for the titles new in this chunk (they were given M's rows nm - nnew .. nm - 1) */
        Q = xrealloc(Q, sizeof(float) * (size_t)(nq ? nq : 1) * C);
        int nnew = 0;
        for (int q = 0; q < nq; q++) if (q_ids[q]) nnew++;
        if (nm > mcap) { mcap = nm + nm / 2 + 256; M = xrealloc(M, sizeof(float) * (size_t)mcap * C); }
        if (nnew) {
            int **ids = xmalloc(sizeof(int *) * nnew), *lens = xmalloc(sizeof(int) * nnew), j = 0;
            for (int q = 0; q < nq; q++) if (q_ids[q]) { ids[j] = q_ids[q]; lens[j] = q_len[q]; j++; }
            embed(inf, ids, lens, nnew, batch, C, M + (size_t)(nm - nnew) * C, NULL);
            free(ids); free(lens);
        }
        for (int q = 0; q < nq; q++) {
            const float *src = q_item[q] >= 0 ? E + (size_t)q_item[q] * C : M + (size_t)q_memo[q] * C;
            memcpy(Q + (size_t)q * C, src, sizeof(float) * C);
            free(q_ids[q]);
        }
        /* D (nq, N) = ||q||^2 + ||e||^2 - 2 Q E^T */
        if (nq) {
            D = xrealloc(D, sizeof(float) * (size_t)nq * N);
            infer_matmul_nt(inf, nq, N, C, -2.0f, Q, E, 0.0f, D);
        }
#pragma omp parallel for schedule(static) num_threads(nthreads)
        for (int q = 0; q < nq; q++) {
            double qs = 0;
            for (int c = 0; c < C; c++) qs += (double)Q[(size_t)q * C + c] * Q[(size_t)q * C + c];
            float *d = D + (size_t)q * N;
            for (int j = 0; j < N; j++) d[j] += (float)qs + enorm[j];
        }
        for (int r = 0; r < nr; r++) {
            int q0 = rec_q0[r], nt = rec_q0[r + 1] - q0, nl = 0;
            if (!nt) n_no_title++;
            for (int t = 0; t < nt; t++) topk_row(D + (size_t)(q0 + t) * N, N, topn, top + (size_t)t * topn);
            stamp++;
            /* interleave: rank 0 of every title in beam order, then rank 1, ...; single: nt == 1 */
            for (int rank = 0; rank < topn && nl < topn; rank++)
                for (int t = 0; t < nt && nl < topn; t++) {
                    int id = top[(size_t)t * topn + rank].id;
                    if (seen[id] == stamp) continue;
                    seen[id] = stamp;
                    list[nl++] = id;
                }
            fprintf(out.f, "{\"id\":%s,\"items\":[", rec_id[r]);
            for (int i = 0; i < nl; i++) fprintf(out.f, "%s%d", i ? "," : "", list[i]);
            fputs("]}\n", out.f);
            free(rec_id[r]);
            nrec++;
        }
    }
    if (nrec == 0) die(EXIT_DATA, "%s: no prediction records (empty input)", lr_name(lr));
    idmap_free(&ids_seen);
    lr_close(lr);
    out_commit(&out);
    double el = now_s() - t0;
    info("grounded %ld records (%ld generated titles: %ld catalogue titles, %ld distinct others embedded) in %.2fs",
         nrec, nq_total, nq_matched, nm, el);
    if (timing)
        fprintf(stderr, "ground-timing items=%d item_embed_s=%.4f items_per_s=%.1f records=%ld titles=%ld "
                "embedded=%ld ground_s=%.4f records_per_s=%.1f\n", N, t_items, t_items > 0 ? N / t_items : 0.0, nrec, nq_total, nm,
                el, el > 0 ? nrec / el : 0.0);
    if (n_empty_title) info("%ld generated titles were empty (no tokens) and had no match", n_empty_title);
    if (n_no_title) info("%ld records had no usable generated title: empty ranked list", n_no_title);
    for (int i = 0; i < N; i++) free(titles[i]);
    free(titles); free(tm.slot); free(E); free(enorm); free(Q); free(D); free(top); free(seen); free(list);
    free(rec_id); free(rec_q0); free(q_item); free(q_memo); free(q_ids); free(M);
    strmap_free(&memo); free(q_len); free(mst); free(cache);
    infer_free(inf);
    tok_free(spm);
    model_free(m);
    return 0;
}
