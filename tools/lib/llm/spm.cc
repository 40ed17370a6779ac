// spm: the C wrapper of spm.h over Debian's libsentencepiece (C++ API).
// Errors are one line "prog: file: what" with exit code 1 (bad model) or 3 (cannot read),
// like the rest of the toolkit; die() is C and noreturn, so no exception crosses into C.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <sys/stat.h>

extern "C" {
#include "spm.h"
// from util.h (not included: the C++ build has no cJSON include path)
enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_IO = 3 };
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void *xmalloc(size_t n);
char *xstrdup(const char *s);
}

struct Spm {
    sentencepiece::SentencePieceProcessor sp;
    std::string path;
};

extern "C" Spm *spm_load(const char *model_path) {
    struct stat st;
    if (!model_path || stat(model_path, &st) != 0)
        die(EXIT_IO, "%s: cannot open tokenizer model", model_path ? model_path : "(null)");
    if (!S_ISREG(st.st_mode)) die(EXIT_IO, "%s: tokenizer model is not a regular file", model_path);
    Spm *s = new Spm;
    s->path = model_path;
    auto status = s->sp.Load(model_path);
    if (!status.ok()) {
        std::string msg = status.ToString();
        delete s;
        die(EXIT_DATA, "%s: not a sentencepiece model: %s", model_path, msg.c_str());
    }
    if (s->sp.GetPieceSize() <= 0) { delete s; die(EXIT_DATA, "%s: empty vocabulary", model_path); }
    return s;
}

extern "C" int spm_encode(const Spm *s, const char *text, int **ids) {
    std::vector<int> v;
    auto status = s->sp.Encode(text, &v);
    if (!status.ok()) die(EXIT_DATA, "%s: cannot encode text: %s", s->path.c_str(), status.ToString().c_str());
    int *out = (int *)xmalloc(v.size() * sizeof(int));
    if (!v.empty()) std::memcpy(out, v.data(), v.size() * sizeof(int));
    *ids = out;
    return (int)v.size();
}

extern "C" char *spm_decode(const Spm *s, const int *ids, int n) {
    int V = s->sp.GetPieceSize();
    std::vector<int> v;
    v.reserve(n > 0 ? n : 0);
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= V) die(EXIT_DATA, "%s: token id %d out of range [0, %d)", s->path.c_str(), ids[i], V);
        v.push_back(ids[i]);
    }
    std::string text;
    auto status = s->sp.Decode(v, &text);
    if (!status.ok()) die(EXIT_DATA, "%s: cannot decode: %s", s->path.c_str(), status.ToString().c_str());
    return xstrdup(text.c_str());
}

extern "C" const char *spm_piece(const Spm *s, int id) {
    if (id < 0 || id >= s->sp.GetPieceSize()) return "";
    return s->sp.IdToPiece(id).c_str();   // reference into the model: valid while loaded
}

extern "C" int spm_vocab_size(const Spm *s) { return s->sp.GetPieceSize(); }
extern "C" int spm_bos_id(const Spm *s) { return s->sp.bos_id(); }
extern "C" int spm_eos_id(const Spm *s) { return s->sp.eos_id(); }
extern "C" int spm_pad_id(const Spm *s) { return s->sp.pad_id(); }
extern "C" void spm_free(Spm *s) { delete s; }
