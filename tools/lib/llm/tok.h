/* tok: the one tokenizer interface every tool uses, over two back ends:
 *   - sentencepiece (tokenizer.model: the project's own tokenizers, tools/spm-train.sh);
 *   - byte-level BPE (tokenizer.json, HF format: pretrained backbones such as SmolLM2 and
 *     Qwen2, written by `ckpt-tool --import-gguf` or taken from a real HF checkpoint).
 * A checkpoint directory holds one of the two; tok_find picks it (tokenizer.json first).
 *
 * The prompt/response boundary: every tool encodes the prompt and the response separately and
 * concatenates, enc(prompt) ++ enc(response) ++ [eos] (docs/FORMATS.md), and D3's trie holds
 * enc(title). So training, the trie and decode agree on the response's tokens by
 * construction, whatever a BPE would make of the joined text ("...Response:\n" + title can
 * merge across the seam with GPT-2-style pre-tokenisers).
 *
 * Text must be valid UTF-8: both back ends are given only validated text, and an invalid byte
 * sequence is an error naming where it came from (tok_encode_at). */
#ifndef CFT_TOK_H
#define CFT_TOK_H
#include "util.h"

typedef struct Tok Tok;
/* path: a tokenizer.model or tokenizer.json file (kind told by its content); dies clearly */
Tok *tok_load(const char *path);
/* DIR/tokenizer.json, else DIR/tokenizer.model; malloc'd path, NULL when neither exists */
char *tok_find(const char *dir);
/* tok_find(dir) loaded; dies "DIR: no tokenizer (tokenizer.json or tokenizer.model)" */
Tok *tok_load_dir(const char *dir);
const char *tok_path_of(const Tok *t);   /* the file it was loaded from */
int tok_is_bpe(const Tok *t);

/* Encode text (no BOS/EOS added) into *ids (malloc'd); returns the count. Invalid UTF-8 dies
 * "FILE:LINE: FIELD: invalid UTF-8 at byte N" (tok_encode_at) or names the tokenizer. */
int tok_encode_at(const Tok *t, const char *text, int **ids, Where w, const char *field);
int tok_encode(const Tok *t, const char *text, int **ids);
char *tok_decode(const Tok *t, const int *ids, int n);        /* malloc'd UTF-8 */
const char *tok_piece(const Tok *t, int id);
int tok_vocab_size(const Tok *t);
/* special ids, -1 when the tokenizer does not name one (BPE: from tokenizer_config.json
 * beside tokenizer.json; the model's config.json is then the authority) */
int tok_bos_id(const Tok *t);
int tok_eos_id(const Tok *t);
int tok_pad_id(const Tok *t);
/* id of a piece (added tokens included), -1 if absent */
int tok_token_id(const Tok *t, const char *piece);
void tok_free(Tok *t);
#endif
