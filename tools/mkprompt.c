/* mkprompt: samples -> prompt records. The paper's Table 1 instruction template (category
 * words per dataset, configs/templates/NAME.txt) inside the Alpaca frame of the authors'
 * code; the history titles are quoted and comma-separated as BIGRec/D3 do ("t1", "t2").
 * counterfactual_prompt (Sec. 3.2.1): the same template with the history set to None
 * (--counterfactual=none, the paper) or without the input section (=drop, the authors'
 * released code). In both the instruction comes before the history, so the normal and the
 * counterfactual prompt share their prefix up to the history ("none") or up to "task" ("drop").
 * --frame chatml puts the same instruction and input in the ChatML turns that the chat
 * templates of SmolLM2 and Qwen2 render (system, user, then the assistant's turn opened), for
 * instruction-tuned backbones; the response is the same in both frames, so D3's trie and
 * grounding do not depend on the frame. */
#include "samples.h"
#include "textclean.h"
#include "util.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char FRAME_INPUT[] = "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request.\n\n### Instruction:\n";
static const char FRAME_NOINPUT[] = "Below is an instruction that describes a task. Write a response that "
    "appropriately completes the request.\n\n### Instruction:\n";

static void usage(int code) {
    fprintf(code ? stderr : stdout,
"usage: mkprompt [--category NAME | --template FILE] [--counterfactual[=none|drop]] [--pair]\n"
"                [-o FILE] [-q] < samples.jsonl > prompts.jsonl\n"
"One {id, prompt, response[, cf_prompt]} record per sample (docs/FORMATS.md).\n"
"  --category NAME     template configs/templates/NAME.txt (books, cds, games, steam,\n"
"                      movies, beauty, toys, gift_cards, default); default: default\n"
"                      (searched in $CFT_CONFIGS/templates, <bin>/../configs/templates,\n"
"                      ./configs/templates)\n"
"  --template FILE     a template file: 'instruction: ...' and 'input: ...{history}...'\n"
"  --counterfactual[=none]  prompt without the behaviour sequence: history -> None\n"
"  --counterfactual=drop    prompt without the input section (authors' code)\n"
"  --pair              normal prompt + cf_prompt (the counterfactual, mode as above,\n"
"                      default none) in one record, for the trainer\n"
"  --frame alpaca      the Alpaca frame of the authors' code (default): \"Below is an\n"
"                      instruction...### Instruction:\\n...### Input:\\n...### Response:\\n\"\n"
"  --frame chatml      ChatML turns as the SmolLM2 / Qwen2 chat templates render them:\n"
"                      <|im_start|>system\\nSYSTEM<|im_end|>\\n<|im_start|>user\\nINSTRUCTION\\n\\n\n"
"                      INPUT<|im_end|>\\n<|im_start|>assistant\\n\n"
"  --system TEXT       chatml: the system message (give the model's default to match its\n"
"                      template, e.g. Qwen2's \"You are Qwen, created by Alibaba Cloud. You\n"
"                      are a helpful assistant.\"); default \"You are a helpful assistant.\"\n"
"  -o FILE             write FILE atomically instead of stdout\n"
"response = the target title in double quotes followed by a newline (both frames).\n");
    exit(code);
}

typedef struct { char *instruction, *input_pre, *input_post; } Template;

static char *trim_dup(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    char *d = xmalloc(n + 1);
    memcpy(d, s, n); d[n] = 0;
    return d;
}

static Template template_load(const char *path) {
    Template t = {0};
    char *input = NULL;
    LineReader *r = lr_open(path);
    char *line;
    while ((line = lr_next(r, NULL))) {
        Where w = { lr_name(r), lr_lineno(r) };
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *colon = strchr(p, ':');
        if (!colon) die(EXIT_DATA, "%s:%ld: expected 'instruction: ...' or 'input: ...'", w.file, w.line);
        *colon = 0;
        char **dst = !strcmp(p, "instruction") ? &t.instruction : !strcmp(p, "input") ? &input : NULL;
        if (!dst) die(EXIT_DATA, "%s:%ld: %s: unknown key (expected instruction or input)", w.file, w.line, p);
        if (*dst) die(EXIT_DATA, "%s:%ld: %s: given twice", w.file, w.line, p);
        *dst = trim_dup(colon + 1);
        if (!**dst) die(EXIT_DATA, "%s:%ld: %s: empty", w.file, w.line, p);
    }
    if (!t.instruction) die(EXIT_DATA, "%s: instruction: missing", lr_name(r));
    if (!input) die(EXIT_DATA, "%s: input: missing", lr_name(r));
    if (strstr(t.instruction, "{history}")) die(EXIT_DATA, "%s: instruction: must not contain {history}", lr_name(r));
    char *h = strstr(input, "{history}");
    if (!h || strstr(h + 1, "{history}")) die(EXIT_DATA, "%s: input: must contain {history} exactly once", lr_name(r));
    *h = 0;
    t.input_pre = xstrdup(input);
    t.input_post = xstrdup(h + strlen("{history}"));
    free(input);
    lr_close(r);
    return t;
}

/* configs/templates/NAME.txt: $CFT_CONFIGS, then next to the binary, then the cwd */
static char *find_template(const char *name) {
    for (const char *c = name; *c; c++)
        if (!(*c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            die(EXIT_USAGE, "--category: bad name '%s' (letters, digits, _ and - only)", name);
    char *dirs[3], exe[PATH_MAX];
    int nd = 0;
    const char *env = getenv("CFT_CONFIGS");
    if (env && *env) { dirs[nd] = xmalloc(strlen(env) + 16); sprintf(dirs[nd++], "%s/templates", env); }
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) { *sl = 0; dirs[nd] = xmalloc(strlen(exe) + 32); sprintf(dirs[nd++], "%s/../configs/templates", exe); }
    }
    dirs[nd++] = xstrdup("configs/templates");
    char *path = NULL;
    for (int i = 0; i < nd && !path; i++) {
        char *p = xmalloc(strlen(dirs[i]) + strlen(name) + 8);
        sprintf(p, "%s/%s.txt", dirs[i], name);
        if (access(p, R_OK) == 0) path = p; else free(p);
    }
    if (!path)
        die(EXIT_USAGE, "--category %s: no template %s.txt in %s%s%s%s%s", name, name, dirs[0],
            nd > 1 ? ", " : "", nd > 1 ? dirs[1] : "", nd > 2 ? ", " : "", nd > 2 ? dirs[2] : "");
    for (int i = 0; i < nd; i++) free(dirs[i]);
    return path;
}

/* growable string */
typedef struct { char *s; size_t n, cap; } Buf;
static void bput(Buf *b, const char *s) {
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) { while (b->n + k + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 1024; b->s = xrealloc(b->s, b->cap); }
    memcpy(b->s + b->n, s, k + 1);
    b->n += k;
}

enum { CF_NONE = 1, CF_DROP = 2 };

typedef struct { int chatml; const char *system; } Frame;

/* the prompt for one sample; cf = 0 (normal), CF_NONE or CF_DROP */
static void build_prompt(Buf *b, const Template *t, const Sample *s, int cf, const Frame *fr) {
    b->n = 0;
    if (b->s) b->s[0] = 0;
    if (fr->chatml) {
        bput(b, "<|im_start|>system\n");
        bput(b, fr->system);
        bput(b, "<|im_end|>\n<|im_start|>user\n");
    } else {
        bput(b, cf == CF_DROP ? FRAME_NOINPUT : FRAME_INPUT);
    }
    bput(b, t->instruction);
    if (cf != CF_DROP) {
        bput(b, fr->chatml ? "\n\n" : "\n\n### Input:\n");
        bput(b, t->input_pre);
        if (cf == CF_NONE) bput(b, "None");
        else
            for (int i = 0; i < s->n_hist; i++) {
                bput(b, i ? ", \"" : "\"");
                bput(b, s->hist[i].title);
                bput(b, "\"");
            }
        bput(b, t->input_post);
    }
    bput(b, fr->chatml ? "<|im_end|>\n<|im_start|>assistant\n" : "\n\n### Response:\n");
}

int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *category = NULL, *tpath = NULL, *out_path = NULL;
    int cf = 0, pair = 0;
    Frame fr = {0, "You are a helpful assistant."};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ;
        else if (!strcmp(a, "--category") && i + 1 < argc) category = argv[++i];
        else if (!strcmp(a, "--template") && i + 1 < argc) tpath = argv[++i];
        else if (!strcmp(a, "-o") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(a, "--pair")) pair = 1;
        else if (!strcmp(a, "--frame") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "chatml")) fr.chatml = 1;
            else if (!strcmp(v, "alpaca")) fr.chatml = 0;
            else die(EXIT_USAGE, "--frame: expected alpaca or chatml, got '%s'", v);
        } else if (!strcmp(a, "--system") && i + 1 < argc) fr.system = argv[++i];
        else if (!strcmp(a, "--counterfactual") || !strcmp(a, "--counterfactual=none")) cf = CF_NONE;
        else if (!strcmp(a, "--counterfactual=drop")) cf = CF_DROP;
        else if (!strncmp(a, "--counterfactual=", 17)) die(EXIT_USAGE, "--counterfactual: expected none or drop, got '%s'", a + 17);
        else { fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a); usage(EXIT_USAGE); }
    }
    if (category && tpath) die(EXIT_USAGE, "--category and --template exclude each other");
    char *found = tpath ? NULL : find_template(category ? category : "default");
    Template t = template_load(tpath ? tpath : found);
    int cf_mode = cf ? cf : CF_NONE;           /* --pair alone: the paper's None */

    OutFile out = out_open(out_path);
    atomic_cleanup_register(&out);
    SampleReader *rd = sample_reader_open(NULL, NULL, 0);
    Buf b = {0};
    long n = 0;
    IdMap seen;
    idmap_init(&seen, 1024);
    long n_long = 0, longest = 0, longest_line = 0;
    for (const Sample *s; (s = sample_reader_next(rd)); n++) {
        record_id_check(s->id, &seen, (Where){sample_reader_name(rd), s->line});
        for (int i = 0; i <= s->n_hist; i++) {
            const char *ti = i < s->n_hist ? s->hist[i].title : s->target.title;
            int wc = count_words(ti, strlen(ti));
            if (wc > TITLE_WARN_WORDS) n_long++;
            if (wc > longest) { longest = wc; longest_line = s->line; }
        }
        if (s->n_hist == 0)
            die(EXIT_DATA, "%s:%ld: history: empty (a prompt needs a behaviour sequence)", sample_reader_name(rd), s->line);
        fprintf(out.f, "{\"id\": %lld, \"prompt\": ", s->id);
        build_prompt(&b, &t, s, pair ? 0 : cf, &fr);
        json_put_str(out.f, b.s);
        fputs(", \"response\": ", out.f);
        b.n = 0;
        bput(&b, "\""); bput(&b, s->target.title); bput(&b, "\"\n");
        json_put_str(out.f, b.s);
        if (pair) {
            fputs(", \"cf_prompt\": ", out.f);
            build_prompt(&b, &t, s, cf_mode, &fr);
            json_put_str(out.f, b.s);
        }
        fputs("}\n", out.f);
    }
    if (n == 0) die(EXIT_DATA, "%s: no samples (empty input)", sample_reader_name(rd));
    if (n_long)
        warn("%ld titles in the prompts are longer than %d words (longest: %ld words, line %ld); D3 drops such "
             "titles (amz-filter --max-words)", n_long, TITLE_WARN_WORDS, longest, longest_line);
    idmap_free(&seen);
    if (ferror(out.f)) die(EXIT_IO, "%s: write error", out_path ? out_path : "<stdout>");
    out_commit(&out);
    info("%ld prompts (%s%s)", n, pair ? "pair, cf " : cf ? "counterfactual " : "normal",
         pair || cf ? (cf_mode == CF_DROP ? "drop" : "none") : "");
    sample_reader_close(rd);
    free(b.s); free(found); free(t.instruction); free(t.input_pre); free(t.input_post);
    return 0;
}
