/* trie: a token trie for D3's constrained decoding. Built from the token sequences of the
 * catalogue responses ("\"" + title + "\"\n", then EOS), then frozen into compressed sparse
 * rows (children of a node sorted by token) so that a beam's allowed next tokens are one
 * contiguous slice and a transition is one binary search. Node 0 is the root. */
#ifndef CFT_TRIE_H
#define CFT_TRIE_H

typedef struct Trie Trie;

Trie *trie_new(void);
/* insert one sequence (before trie_freeze); duplicates are merged */
void trie_add(Trie *t, const int *ids, int n);
/* build the read-only form; no trie_add afterwards */
void trie_freeze(Trie *t);
/* number of children of node; *tok / *next point at their tokens (ascending) and nodes */
int trie_children(const Trie *t, int node, const int **tok, const int **next);
/* child of node reached by tok, or -1 when tok is not allowed there */
int trie_next(const Trie *t, int node, int tok);
int trie_nodes(const Trie *t);
int trie_sequences(const Trie *t);      /* distinct sequences inserted */
int trie_max_depth(const Trie *t);      /* longest sequence */
void trie_free(Trie *t);
#endif
