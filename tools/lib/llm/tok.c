/* tok: dispatch over sentencepiece (spm.h) and byte-level BPE (bpe.h); see tok.h. */
#include "tok.h"
#include "bpe.h"
#include "spm.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct Tok {
    char *path;
    Spm *spm;
    Bpe *bpe;
    int bos, eos, pad;
};

static int is_regular(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *tok_find(const char *dir) {
    static const char *const names[] = {"tokenizer.json", "tokenizer.model"};
    for (int i = 0; i < 2; i++) {
        char *p = xmalloc(strlen(dir) + strlen(names[i]) + 2);
        sprintf(p, "%s/%s", dir, names[i]);
        if (is_regular(p)) return p;
        free(p);
    }
    return NULL;
}

Tok *tok_load_dir(const char *dir) {
    char *p = tok_find(dir);
    if (!p) die(EXIT_IO, "%s: no tokenizer (tokenizer.json or tokenizer.model)", dir);
    Tok *t = tok_load(p);
    free(p);
    return t;
}

/* The first non-blank byte tells a JSON tokenizer from a sentencepiece protobuf, whatever the
 * file is called. Non-regular files are refused before any open() that could block (a FIFO). */
static int looks_like_json(const char *path) {
    int fd = open_regular(path, NULL);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t') continue;
        return buf[i] == '{';
    }
    return 0;
}

/* tokenizer_config.json names special tokens by content, either "tok" or {"content": "tok"} */
static int special_from_config(const Tok *t, const cJSON *cfg, const char *key, const char *file) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) return -1;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v)) die(EXIT_DATA, "%s: %s: expected a token string", file, key);
    int id = bpe_token_id(t->bpe, v->valuestring);
    if (id < 0) die(EXIT_DATA, "%s: %s: '%s' is not a token of the tokenizer", file, key, v->valuestring);
    return id;
}

static void read_tokenizer_config(Tok *t) {
    const char *sl = strrchr(t->path, '/');
    size_t dl = sl ? (size_t)(sl - t->path) + 1 : 0;
    char *file = xmalloc(dl + 32);
    memcpy(file, t->path, dl);
    strcpy(file + dl, "tokenizer_config.json");
    if (!is_regular(file)) { free(file); return; }
    size_t n;
    char *buf = slurp_file(file, 64u << 20, &n);
    cJSON *o = cJSON_ParseWithLength(buf, n);
    if (!o || !cJSON_IsObject(o)) die(EXIT_DATA, "%s: not a JSON object", file);
    t->bos = special_from_config(t, o, "bos_token", file);
    t->eos = special_from_config(t, o, "eos_token", file);
    t->pad = special_from_config(t, o, "pad_token", file);
    cJSON_Delete(o);
    free(buf);
    free(file);
}

Tok *tok_load(const char *path) {
    Tok *t = xcalloc(1, sizeof *t);
    t->path = xstrdup(path);
    t->bos = t->eos = t->pad = -1;
    if (looks_like_json(path)) {
        t->bpe = bpe_load(path);
        read_tokenizer_config(t);
    } else {
        t->spm = spm_load(path);
        t->bos = spm_bos_id(t->spm);
        t->eos = spm_eos_id(t->spm);
        t->pad = spm_pad_id(t->spm);
    }
    return t;
}

const char *tok_path_of(const Tok *t) { return t->path; }
int tok_is_bpe(const Tok *t) { return t->bpe != NULL; }

int tok_encode_at(const Tok *t, const char *text, int **ids, Where w, const char *field) {
    size_t n = strlen(text);
    long bad = utf8_invalid_at(text, n);
    if (bad >= 0) {
        if (w.file) die(EXIT_DATA, "%s:%ld: %s: invalid UTF-8 at byte %ld", w.file, w.line, field, bad);
        die(EXIT_DATA, "%s: %s: invalid UTF-8 at byte %ld", t->path, field, bad);
    }
    if (t->spm) return spm_encode(t->spm, text, ids);
    int k = bpe_encode(t->bpe, text, n, ids);
    if (k < 0) die(EXIT_DATA, "%s: %s: cannot be tokenized", w.file ? w.file : t->path, field);
    return k;
}

int tok_encode(const Tok *t, const char *text, int **ids) {
    Where w = {NULL, 0};
    return tok_encode_at(t, text, ids, w, "text");
}

char *tok_decode(const Tok *t, const int *ids, int n) {
    return t->spm ? spm_decode(t->spm, ids, n) : bpe_decode(t->bpe, ids, n);
}
const char *tok_piece(const Tok *t, int id) { return t->spm ? spm_piece(t->spm, id) : bpe_piece(t->bpe, id); }
int tok_vocab_size(const Tok *t) { return t->spm ? spm_vocab_size(t->spm) : bpe_vocab_size(t->bpe); }
int tok_bos_id(const Tok *t) { return t->bos; }
int tok_eos_id(const Tok *t) { return t->eos; }
int tok_pad_id(const Tok *t) { return t->pad; }

int tok_token_id(const Tok *t, const char *piece) {
    if (t->bpe) return bpe_token_id(t->bpe, piece);
    int V = spm_vocab_size(t->spm);
    for (int i = 0; i < V; i++) {
        const char *p = spm_piece(t->spm, i);
        if (p && !strcmp(p, piece)) return i;
    }
    return -1;
}

void tok_free(Tok *t) {
    if (!t) return;
    if (t->spm) spm_free(t->spm);
    if (t->bpe) bpe_free(t->bpe);
    free(t->path);
    free(t);
}
