/* trie: see trie.h. Building uses a hash map (node, token) -> child; freezing sorts the
 * edges by (node, token) into CSR arrays. */
#include "trie.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

typedef struct { int node, tok, child; } Edge;

struct Trie {
    /* building */
    Edge *edges; int nedges, cap;
    int *hash; size_t hcap;              /* open addressing: index into edges, -1 empty */
    int nnodes, nseq, maxdepth, frozen;
    /* frozen CSR: children of node i are start[i] .. start[i+1]-1 */
    int *start, *tok, *next;
};

static size_t hslot(const Trie *t, int node, int tok) {
    uint64_t k = ((uint64_t)(uint32_t)node << 32) | (uint32_t)tok;
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (size_t)k & (t->hcap - 1);
}

static void rehash(Trie *t, size_t cap) {
    free(t->hash);
    t->hcap = cap;
    t->hash = xmalloc(sizeof(int) * cap);
    memset(t->hash, 0xff, sizeof(int) * cap);
    for (int i = 0; i < t->nedges; i++) {
        size_t s = hslot(t, t->edges[i].node, t->edges[i].tok);
        while (t->hash[s] >= 0) s = (s + 1) & (t->hcap - 1);
        t->hash[s] = i;
    }
}

Trie *trie_new(void) {
    Trie *t = xcalloc(1, sizeof *t);
    t->nnodes = 1;
    rehash(t, 1024);
    return t;
}

void trie_add(Trie *t, const int *ids, int n) {
    if (t->frozen) die(EXIT_DATA, "trie_add after trie_freeze");
    int node = 0, fresh = 0;
    for (int i = 0; i < n; i++) {
        if ((size_t)(t->nedges + 1) * 2 > t->hcap) rehash(t, t->hcap * 2);
        size_t s = hslot(t, node, ids[i]);
        int found = -1;
        while (t->hash[s] >= 0) {
            Edge *e = &t->edges[t->hash[s]];
            if (e->node == node && e->tok == ids[i]) { found = e->child; break; }
            s = (s + 1) & (t->hcap - 1);
        }
        if (found < 0) {
            if (t->nedges == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 1024;
                t->edges = xrealloc(t->edges, sizeof(Edge) * t->cap);
            }
            found = t->nnodes++;
            t->edges[t->nedges] = (Edge){node, ids[i], found};
            t->hash[s] = t->nedges++;
            fresh = 1;
        }
        node = found;
    }
    if (fresh) t->nseq++;
    if (n > t->maxdepth) t->maxdepth = n;
}

static int edge_cmp(const void *a, const void *b) {
    const Edge *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    return (x->tok > y->tok) - (x->tok < y->tok);
}

void trie_freeze(Trie *t) {
    if (t->frozen) return;
    qsort(t->edges, t->nedges, sizeof(Edge), edge_cmp);
    t->start = xcalloc((size_t)t->nnodes + 1, sizeof(int));
    t->tok = xmalloc(sizeof(int) * (t->nedges ? t->nedges : 1));
    t->next = xmalloc(sizeof(int) * (t->nedges ? t->nedges : 1));
    for (int i = 0; i < t->nedges; i++) {
        t->start[t->edges[i].node + 1]++;
        t->tok[i] = t->edges[i].tok;
        t->next[i] = t->edges[i].child;
    }
    for (int i = 0; i < t->nnodes; i++) t->start[i + 1] += t->start[i];
    free(t->edges); free(t->hash);
    t->edges = NULL; t->hash = NULL;
    t->frozen = 1;
}

int trie_children(const Trie *t, int node, const int **tok, const int **next) {
    if (!t->frozen || node < 0 || node >= t->nnodes) { *tok = *next = NULL; return 0; }
    *tok = t->tok + t->start[node];
    *next = t->next + t->start[node];
    return t->start[node + 1] - t->start[node];
}

int trie_next(const Trie *t, int node, int tok) {
    const int *tk, *nx;
    int n = trie_children(t, node, &tk, &nx), lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (tk[mid] == tok) return nx[mid];
        if (tk[mid] < tok) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

int trie_nodes(const Trie *t) { return t->nnodes; }
int trie_sequences(const Trie *t) { return t->nseq; }
int trie_max_depth(const Trie *t) { return t->maxdepth; }

void trie_free(Trie *t) {
    if (!t) return;
    free(t->edges); free(t->hash); free(t->start); free(t->tok); free(t->next);
    free(t);
}
