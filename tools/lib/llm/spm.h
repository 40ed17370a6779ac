/* spm: a small C wrapper over Debian's libsentencepiece (C++), implemented in spm.cc.
 * Project tokenizers come from tools/spm-train.sh (unk 0, bos 1, eos 2, pad 3, "\n" a piece,
 * byte fallback, identity normalisation, no dummy prefix), so pieces concatenate: a prompt
 * record is enc(prompt) ++ enc(response) ++ [eos] (docs/FORMATS.md, checkpoint directory). */
#ifndef CFT_SPM_H
#define CFT_SPM_H
typedef struct Spm Spm;
Spm *spm_load(const char *model_path);          /* dies with a clear error */
/* encode text (no bos/eos added) into ids; returns count, *ids malloc'd by the wrapper */
int spm_encode(const Spm *s, const char *text, int **ids);
char *spm_decode(const Spm *s, const int *ids, int n);   /* malloc'd UTF-8 */
const char *spm_piece(const Spm *s, int id);
int spm_vocab_size(const Spm *s);
int spm_bos_id(const Spm *s);
int spm_eos_id(const Spm *s);
int spm_pad_id(const Spm *s);
void spm_free(Spm *s);
#endif
