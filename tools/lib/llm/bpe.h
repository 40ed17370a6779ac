/* bpe: byte-level BPE (GPT-2 style) loaded from a Hugging Face tokenizer.json, giving the
 * ids HF `tokenizers` 0.19 gives (tests/test_bpe.sh checks SmolLM2 and Qwen2.5 token for
 * token). The same small interface as spm.h, so a tool can take either.
 *
 * Supported tokenizer.json (anything else is refused at load with the field named):
 *   model        BPE: vocab, merges ("a b" strings or [a, b] pairs), ignore_merges,
 *                dropout null/0, unk_token null, byte_fallback false,
 *                continuing_subword_prefix / end_of_word_suffix null or ""
 *   added_tokens matched atomically in the raw text, leftmost then longest, before the
 *                normalizer; single_word, lstrip, rstrip and normalized must be false.
 *                Each id must be the one HF would give it (the vocab's id for a piece in
 *                the vocab, else the next free id), as HF ignores a stated id otherwise.
 *   normalizer   null, NFC, or a Sequence of those
 *   pre_tokenizer null, Split (Regex or String pattern, any behavior, invert), Digits,
 *                ByteLevel (add_prefix_space, use_regex; it must come last), or a Sequence
 *   decoder      ByteLevel (null refused: HF would join pieces with spaces)
 *   truncation, padding null; post_processor ignored (no BOS/EOS is ever added here)
 * Known differences from HF: none in ids, except that NFC (utf8proc, Unicode 15) reorders
 * the combining marks added since Unicode 9, which HF's tables leave in place (bpe.c).
 * As in HF, a byte whose piece the vocab lacks is dropped (SmolLM2 has none for 0x04 0x06
 * 0x13 0x14 0x16 0x1D), so such text does not come back from decode.
 *
 * Thread safety: any number of threads may call bpe_encode / bpe_decode on one Bpe at
 * once. A loaded Bpe is read-only except for its word cache (pre-token -> ids, up to 64k
 * pre-tokens of <= 128 bytes), which is lock-free and shared: entries are only added, never
 * changed or freed before bpe_free. Scratch memory is per thread, kept between calls and
 * freed when the thread ends. bpe_load and bpe_free are not to race with other calls on
 * the same Bpe. */
#ifndef CFT_BPE_H
#define CFT_BPE_H
#include <stddef.h>

typedef struct Bpe Bpe;
/* dies with one line naming the file and the JSON field: exit 3 cannot read, 1 bad content */
Bpe *bpe_load(const char *tokenizer_json_path);
/* ids of text[0..len) (NUL bytes allowed), no BOS/EOS added; *ids malloc'd, returns the
 * count. Returns -1 (and *ids = NULL) if the text is not valid UTF-8 — HF only takes
 * Unicode strings — so the caller can die naming its own file and line. */
int bpe_encode(const Bpe *b, const char *text, size_t len, int **ids);
/* HF decode (skip_special_tokens false): added tokens give their content, other pieces
 * their bytes; byte sequences that are not UTF-8 become U+FFFD as HF does. malloc'd,
 * NUL-terminated. Dies on an id outside [0, bpe_vocab_size); skips ids no token has. */
char *bpe_decode(const Bpe *b, const int *ids, int n);
/* the piece as in tokenizer.json (byte-level-mapped, e.g. "Ġthe"), or an added token's
 * content; "" for an id no token has */
const char *bpe_piece(const Bpe *b, int id);
int bpe_vocab_size(const Bpe *b);                  /* max id + 1 over vocab and added tokens */
int bpe_token_id(const Bpe *b, const char *piece); /* -1 if absent; added tokens too */
int bpe_is_special(const Bpe *b, int id);          /* added token marked "special": true */
void bpe_free(Bpe *b);
#endif
