#include "textclean.h"
#include <string.h>
#include <stdlib.h>

const char *const title_verdict_name[TITLE_NREASONS] = {"ok", "empty", "long", "html"};

int utf8_put(char *d, unsigned cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | (cp >> 6)); d[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12)); d[1] = (char)(0x80 | ((cp >> 6) & 63));
        d[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18)); d[1] = (char)(0x80 | ((cp >> 12) & 63));
    d[2] = (char)(0x80 | ((cp >> 6) & 63)); d[3] = (char)(0x80 | (cp & 63)); return 4;
}

/* Named entities seen in product/movie titles; sorted for bsearch. UTF-8 of each
 * replacement is at most as long as "&name;", so decoding never grows the text. */
typedef struct { const char *name; unsigned cp; } Ent;
static const Ent ents[] = {
    {"AElig", 198}, {"Aacute", 193}, {"Acirc", 194}, {"Agrave", 192}, {"Aring", 197},
    {"Atilde", 195}, {"Auml", 196}, {"Ccedil", 199}, {"Dagger", 8225}, {"ETH", 208},
    {"Eacute", 201}, {"Ecirc", 202}, {"Egrave", 200}, {"Euml", 203}, {"Iacute", 205},
    {"Icirc", 206}, {"Igrave", 204}, {"Iuml", 207}, {"Ntilde", 209}, {"OElig", 338},
    {"Oacute", 211}, {"Ocirc", 212}, {"Ograve", 210}, {"Omega", 937}, {"Oslash", 216},
    {"Otilde", 213}, {"Ouml", 214}, {"Prime", 8243}, {"Scaron", 352}, {"THORN", 222},
    {"Uacute", 218}, {"Ucirc", 219}, {"Ugrave", 217}, {"Uuml", 220}, {"Yacute", 221},
    {"Yuml", 376}, {"aacute", 225}, {"acirc", 226}, {"acute", 180}, {"aelig", 230},
    {"agrave", 224}, {"alpha", 945}, {"amp", '&'}, {"apos", '\''}, {"aring", 229},
    {"asymp", 8776}, {"atilde", 227}, {"auml", 228}, {"bdquo", 8222}, {"beta", 946},
    {"brvbar", 166}, {"bull", 8226}, {"ccedil", 231}, {"cedil", 184}, {"cent", 162},
    {"check", 10003}, {"circ", 710}, {"clubs", 9827}, {"copy", 169}, {"curren", 164},
    {"dagger", 8224}, {"darr", 8595}, {"deg", 176}, {"diams", 9830}, {"divide", 247},
    {"eacute", 233}, {"ecirc", 234}, {"egrave", 232}, {"emsp", 8195}, {"ensp", 8194},
    {"eth", 240}, {"euml", 235}, {"euro", 8364}, {"fnof", 402}, {"frac12", 189},
    {"frac14", 188}, {"frac34", 190}, {"frasl", 8260}, {"ge", 8805}, {"gt", '>'},
    {"harr", 8596}, {"hearts", 9829}, {"hellip", 8230}, {"iacute", 237}, {"icirc", 238},
    {"iexcl", 161}, {"igrave", 236}, {"infin", 8734}, {"iquest", 191}, {"iuml", 239},
    {"laquo", 171}, {"larr", 8592}, {"ldquo", 8220}, {"le", 8804}, {"loz", 9674},
    {"lrm", 8206}, {"lsaquo", 8249}, {"lsquo", 8216}, {"lt", '<'}, {"macr", 175},
    {"mdash", 8212}, {"micro", 181}, {"middot", 183}, {"minus", 8722}, {"mu", 956},
    {"nbsp", ' '}, {"ndash", 8211}, {"ne", 8800}, {"not", 172}, {"ntilde", 241},
    {"oacute", 243}, {"ocirc", 244}, {"oelig", 339}, {"ograve", 242}, {"oline", 8254},
    {"omega", 969}, {"ordf", 170}, {"ordm", 186}, {"oslash", 248}, {"otilde", 245},
    {"ouml", 246}, {"para", 182}, {"permil", 8240}, {"pi", 960}, {"plusmn", 177},
    {"pound", 163}, {"prime", 8242}, {"quot", '"'}, {"raquo", 187}, {"rarr", 8594},
    {"rdquo", 8221}, {"reg", 174}, {"rlm", 8207}, {"rsaquo", 8250}, {"rsquo", 8217},
    {"sbquo", 8218}, {"scaron", 353}, {"sdot", 8901}, {"sect", 167}, {"shy", 173},
    {"spades", 9824}, {"star", 9734}, {"starf", 9733}, {"sup1", 185}, {"sup2", 178},
    {"sup3", 179}, {"szlig", 223}, {"thinsp", 8201}, {"thorn", 254}, {"tilde", 732},
    {"times", 215}, {"trade", 8482}, {"uacute", 250}, {"uarr", 8593}, {"ucirc", 251},
    {"ugrave", 249}, {"uml", 168}, {"uuml", 252}, {"yacute", 253}, {"yen", 165},
    {"yuml", 255}, {"zwj", 8205}, {"zwnj", 8204},
};

static int ent_cmp(const void *k, const void *e) { return strcmp(k, ((const Ent *)e)->name); }

static int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static int is_hex(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

/* try to decode a reference starting at s[i]=='&'; returns bytes consumed (0 = not one) */
static size_t decode_ref(const char *s, size_t n, size_t i, char *out, int *outlen) {
    size_t j = i + 1;
    unsigned cp = 0;
    if (j < n && s[j] == '#') {
        j++;
        int hex = j < n && (s[j] == 'x' || s[j] == 'X');
        if (hex) j++;
        size_t d0 = j;
        while (j < n && (hex ? is_hex((unsigned char)s[j]) : (s[j] >= '0' && s[j] <= '9')) && j - d0 < 8) {
            unsigned c = (unsigned char)s[j];
            cp = cp * (hex ? 16 : 10) + (c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
            j++;
        }
        if (j == d0 || j >= n || s[j] != ';') return 0;
        /* HTML5: &#128;..&#159; name windows-1252 characters (&#151; is an em dash) */
        static const unsigned short cp1252[32] = {
            0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
            0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};
        if (cp >= 0x80 && cp <= 0x9F && cp1252[cp - 0x80]) cp = cp1252[cp - 0x80];
        int k = utf8_put(out, cp);
        if (!k || (size_t)k > j + 1 - i) return 0;
        *outlen = k;
        return j + 1 - i;
    }
    char name[12]; size_t k = 0;
    while (j < n && is_alnum((unsigned char)s[j]) && k < sizeof name - 1) name[k++] = s[j++];
    if (!k || j >= n || s[j] != ';') return 0;
    name[k] = 0;
    const Ent *e = bsearch(name, ents, sizeof ents / sizeof ents[0], sizeof ents[0], ent_cmp);
    if (!e) return 0;
    int m = utf8_put(out, e->cp);
    if (!m || (size_t)m > j + 1 - i) return 0;
    *outlen = m;
    return j + 1 - i;
}

size_t html_decode(const char *s, size_t n, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '&') {
            char buf[4]; int m = 0;
            size_t used = decode_ref(s, n, i, buf, &m);
            if (used) { memcpy(dst + o, buf, (size_t)m); o += (size_t)m; i += used; continue; }
        }
        dst[o++] = s[i++];
    }
    dst[o] = 0;
    return o;
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int count_words(const char *s, size_t n) {
    int w = 0, in = 0;
    for (size_t i = 0; i < n; i++) {
        int sp = is_space((unsigned char)s[i]);
        if (!sp && !in) w++;
        in = !sp;
    }
    return w;
}

size_t utf8_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

int has_html_tag(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '<') continue;
        size_t j = i + 1;
        if (s[j] == '/') j++;
        if (j >= n || !(((s[j] | 32) >= 'a') && ((s[j] | 32) <= 'z'))) continue;
        while (j < n && (is_alnum((unsigned char)s[j]) || s[j] == '-')) j++;
        if (j >= n) continue;
        if (s[j] == '>' || s[j] == '/' || is_space((unsigned char)s[j])) return 1;
    }
    return 0;
}

TitleVerdict title_clean(const char *s, size_t n, char *dst, size_t *out_len, const TitleRules *r) {
    size_t m = html_decode(s, n, dst);
    /* strip whitespace, and quotes: any_quotes = any leading/trailing double quote (D3's
     * strip(" ").strip('"'), repeated); always an enclosing pair of ' or " ('Til Death and
     * Spy Fox in "Dry Cereal" keep theirs) */
    size_t b = 0, e = m;
    int dq = r->any_quotes;
    for (;;) {
        while (b < e && (is_space((unsigned char)dst[b]) || (dq && dst[b] == '"'))) b++;
        while (e > b && (is_space((unsigned char)dst[e - 1]) || (dq && dst[e - 1] == '"'))) e--;
        if (e - b >= 2 && (dst[b] == '\'' || dst[b] == '"') && dst[e - 1] == dst[b]) { b++; e--; continue; }
        break;
    }
    m = e - b;
    memmove(dst, dst + b, m);
    dst[m] = 0;
    *out_len = m;
    if (m == 0 || utf8_chars(dst, m) < (size_t)(r->min_chars > 1 ? r->min_chars : 1)) return TITLE_EMPTY;
    if (r->drop_html && (dst[0] == '<' || has_html_tag(dst, m))) return TITLE_HTML;
    if (r->max_words > 0 && count_words(dst, m) > r->max_words) return TITLE_LONG;
    return TITLE_OK;
}

size_t latin1_to_utf8(const char *s, size_t n, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) dst[o++] = (char)c;
        else { dst[o++] = (char)(0xC0 | (c >> 6)); dst[o++] = (char)(0x80 | (c & 63)); }
    }
    dst[o] = 0;
    return o;
}
