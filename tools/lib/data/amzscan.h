/* amzscan: a small, strict, fast JSON-object scanner for one JSONL line.
 * It validates the WHOLE line against the JSON grammar (RFC 8259): exactly one object,
 * optional surrounding whitespace; strings closed, only the escapes \" \\ \/ \b \f \n \r \t
 * \uXXXX (4 hex digits), no raw control characters (< 0x20); numbers as
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; literals true/false/null; arrays and
 * objects nested to depth 256; commas/colons where the grammar puts them. NOT checked:
 * UTF-8 validity of bytes >= 0x80 and unpaired \uD800-\uDFFF escapes (passed through).
 * While validating it records the value span of the wanted TOP-LEVEL keys only (keys are
 * matched byte-for-byte as written, so an escaped spelling of a key does not match); when a
 * key repeats, the first occurrence wins (as cJSON). No allocation, no tree. */
#ifndef CFT_AMZSCAN_H
#define CFT_AMZSCAN_H
#include <stddef.h>
#include <stdint.h>

enum { JV_NONE = 0, JV_STR, JV_NUM, JV_TRUE, JV_FALSE, JV_NULL, JV_OBJ, JV_ARR };
extern const char *const jv_type_name[8];

typedef struct {
    const char *p;   /* JV_STR: first byte inside the quotes (escapes not decoded); else value start */
    size_t n;        /* bytes (string: raw content length between the quotes) */
    int type;        /* JV_NONE when the key was absent */
    int escaped;     /* JV_STR: contains a backslash escape */
} JSpan;

typedef struct {
    const char *const *keys;
    size_t lens[16];
    int nkeys;       /* <= 16 */
} JKeys;

void jkeys_init(JKeys *k, const char *const *keys, int n);

/* Scan s[0..n) (s[n] must be readable: lr_next NUL-terminates). Returns 0 when the line
 * is a valid JSON object (out[i] = span of keys[i]); otherwise nonzero with *err a
 * static message and *errpos the byte offset of the problem. */
int jscan_object(const char *s, size_t n, const JKeys *k, JSpan *out, const char **err, size_t *errpos);

/* decode a JV_STR span into dst (needs sp->n + 1 bytes, never grows); returns length.
 * \u0000 becomes U+FFFD (NUL would cut C strings). */
size_t jstr_decode(const JSpan *sp, char *dst);

/* number span -> integer (only plain integers, or x.0 forms like 1529193600.0);
 * returns 0 ok, -1 not an integer */
int jnum_int64(const JSpan *sp, int64_t *v);
/* number span -> double (strtod on a bounded copy) */
double jnum_double(const JSpan *sp);
#endif
