/* textclean: title cleaning shared by amz-filter and import (and anyone printing titles).
 * - html_decode: decodes HTML character references once (not recursively): &#NNN; &#xHH;
 *   and the common named entities (&quot; &amp; &lt; &gt; &apos; &#39; &nbsp; the Latin-1
 *   names, typographic quotes/dashes, &trade; ...). Unknown names and invalid code points
 *   are left as written. &nbsp; becomes a plain space (titles want spaces, not U+00A0).
 * - title_clean: decode, then strip surrounding whitespace and quotes (see any_quotes),
 *   repeatedly, then judge against TitleRules.
 * - latin1_to_utf8: MovieLens files are latin-1. */
#ifndef CFT_TEXTCLEAN_H
#define CFT_TEXTCLEAN_H
#include <stddef.h>

typedef enum {
    TITLE_OK = 0,
    TITLE_EMPTY,      /* nothing left after stripping, or shorter than min_chars */
    TITLE_LONG,       /* more than max_words whitespace-separated words */
    TITLE_HTML,       /* starts with '<' or contains an HTML tag like <span ...>, </b>, <br/> */
    TITLE_NREASONS
} TitleVerdict;

extern const char *const title_verdict_name[TITLE_NREASONS];   /* "ok","empty","long","html" */

typedef struct {
    int min_chars;    /* minimum length in code points (D3: len(title) > 1, i.e. 2) */
    int max_words;    /* 0 = no limit (D3: 20) */
    int drop_html;    /* 1 = TITLE_HTML verdict for HTML fragments */
    int any_quotes;   /* 1 = strip every leading/trailing double quote (D3); 0 = only an
                         enclosing pair of " or ' (always done) */
} TitleRules;

/* decode HTML character references of s[0..n) into dst (needs n+1 bytes: decoding
 * never grows the text); returns the new length, dst NUL-terminated. */
size_t html_decode(const char *s, size_t n, char *dst);

/* clean s[0..n) into dst (n+1 bytes), sets *out_len; returns the verdict. dst holds the
 * cleaned text whatever the verdict (for messages). */
TitleVerdict title_clean(const char *s, size_t n, char *dst, size_t *out_len, const TitleRules *r);

/* 1 when s contains an HTML tag: '<' '/'? letter [letters digits -]* then space, '/' or '>' */
int has_html_tag(const char *s, size_t n);
int count_words(const char *s, size_t n);          /* runs of non-whitespace */
/* Titles past this many words draw a warning from split811 and mkprompt: D3 drops them
 * (amz-filter --max-words), imports of other datasets do not, and one long title makes every
 * prompt holding it long (decode and ground refuse text past the model's positions). */
enum { TITLE_WARN_WORDS = 20 };
size_t utf8_chars(const char *s, size_t n);        /* code points (bytes not 10xxxxxx) */

/* latin-1 bytes to UTF-8 in dst (needs 2n+1 bytes); returns length */
size_t latin1_to_utf8(const char *s, size_t n, char *dst);
/* append code point cp as UTF-8 to dst, returns bytes written (1..4), 0 if invalid */
int utf8_put(char *dst, unsigned cp);
#endif
