/* fuzz_common: what every libFuzzer harness in fuzz/ shares.
 *
 * die() is the expected rejection of bad input, so a harness runs each parser call under
 * fz_guard(): util_set_die_hook() makes die() longjmp back into it instead of exiting.
 * Leaving a parser by longjmp would leak what it held (its malloc'd memory, an open file,
 * a mapping, a compiled PCRE2 pattern); over a million runs that exhausts memory, file
 * descriptors or mappings and the fuzzer stops testing anything. So while a guard is open
 * every allocation is recorded (sanitizer malloc hooks), and so are mmap / pcre2_compile
 * (linker --wrap, fuzz.mk); when the guarded call dies, whatever it allocated and still
 * holds is released and descriptors opened on the scratch directory are closed. A guarded
 * call that returns normally keeps everything, and a real leak there is LeakSanitizer's
 * to report (the harnesses run with -detect_leaks=1).
 *
 * Anything else -- an ASan/UBSan report, abort(), a timeout, a huge allocation -- is a bug
 * in the parser (or in the invariants a harness asserts with FZ_CHECK). */
#ifndef CFT_FUZZ_COMMON_H
#define CFT_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* call once from LLVMFuzzerInitialize: quiet logs, die hook, malloc hooks, scratch dir.
 * argv0 locates the data directory (build/fuzz/data, beside the binaries' bin/) unless
 * CFT_FUZZ_DATA names it. */
void fz_init(const char *argv0);
/* a file name inside the per-process scratch directory (under /dev/shm or TMPDIR);
 * the string is owned by fuzz_common and stays valid */
const char *fz_scratch(const char *name);
/* a file of the data directory (seeds.sh writes it: items.jsonl, tokenizer_*.json, ...);
 * aborts naming the file when it does not exist */
const char *fz_data(const char *name);
/* write data to path (truncating), or abort */
void fz_write(const char *path, const uint8_t *data, size_t n);

/* run fn(arg); returns 0 when it returned, else the exit code die() was given (1..3),
 * after releasing what the call still held. Not nestable. */
int fz_guard(void (*fn)(void *), void *arg);
/* while set, a die() inside a guard is a bug: it aborts (e.g. decode of ids encode made) */
void fz_forbid_die(int on);

/* a failed invariant: print the message (to the real stderr) and abort() */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define FZ_CHECK(cond, ...) do { if (!(cond)) fz_fail(__VA_ARGS__); } while (0)

/* a FILE to print into and forget (/dev/null) */
FILE *fz_devnull(void);
#endif
