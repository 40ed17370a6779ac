#!/bin/bash
# GGUF reader (tools/lib/llm/gguf.c, gguf-info): dequantisation bit-exact with gguf-py on
# synthetic blocks of every convertible type (extreme scales, inf/NaN, subnormals) and on rows
# of the real backbone files; metadata of every value type as gguf-py reads it; the real
# smollm2 file and the 6-part qwen2.5 file listed as gguf-py lists them; the typed-getter API
# (via a harness compiled here, with ASan+UBSan when the suite runs on bin-asan); hostile files
# refused with exit 1 and one line naming the problem, none crashing or hanging.
source "$ROOT/tests/lib.sh"
G="$BIN/gguf-info"
O="$ROOT/tests/gguf_oracle.py"
SMOL="$ROOT/build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
QW="$ROOT/build/backbones/qwen2.5"
QWEN=("$QW/part01.bin" "$QW/part02.bin" "$QW/part03.bin" "$QW/part04.bin" "$QW/part05.bin" "$QW/part06.bin")

# ---- API harness: typed getters, their error messages, array access, open time
SAN=""
case "$BIN" in *asan*) SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined";; esac
cat > check.c <<'C'
#include "gguf.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    util_init(argc, argv);
    const char *op = argv[1];
    if (!strcmp(op, "arr")) {              /* arr FILE... KEY: every element, raw */
        GgufFile *f = gguf_open_parts(argc - 3, (const char *const *)argv + 2);
        const char *key = argv[argc - 1];
        const GgufKV *kv = gguf_find(f, key);
        uint64_t n = gguf_arr_len(f, key, GGUF_T_COUNT);
        for (uint64_t i = 0; i < n; i++) {
            if (kv->arr_type == GGUF_T_STRING) {
                size_t len; const char *s = gguf_arr_str(f, key, i, &len);
                uint64_t l = len;
                if (s[len]) die(EXIT_DATA, "element %llu not NUL-terminated", (unsigned long long)i);
                fwrite(&l, 8, 1, stdout); fwrite(s, 1, len, stdout);
            } else if (kv->arr_type == GGUF_T_INT32) { int32_t v = gguf_arr_i32(f, key, i); fwrite(&v, 4, 1, stdout); }
            else { float v = gguf_arr_f32(f, key, i); fwrite(&v, 4, 1, stdout); }
        }
        gguf_close(f);
        return 0;
    }
    if (!strcmp(op, "time")) {             /* time FILE...: seconds to open (best of 3) */
        double best = 1e9;
        for (int k = 0; k < 3; k++) {
            double t0 = now_s();
            GgufFile *f = gguf_open_parts(argc - 2, (const char *const *)argv + 2);
            double t = now_s() - t0;
            if (t < best) best = t;
            gguf_close(f);
        }
        printf("%.3f\n", best);
        return 0;
    }
    if (!strcmp(op, "deq")) {              /* deq TYPE N: dequantise N elements of zeros */
        uint32_t t = (uint32_t)atoi(argv[2]);
        uint64_t n = strtoull(argv[3], NULL, 10);
        void *src = xcalloc(n + 64, 8); float *dst = xmalloc((n + 1) * 4);
        gguf_dequantize(t, src, dst, n);
        printf("ok %g\n", n ? dst[n - 1] : 0.0);
        free(src); free(dst);
        return 0;
    }
    GgufFile *f = gguf_open(argv[2]);
    const char *k = argc > 3 ? argv[3] : "";
    size_t len = 0;
    if (!strcmp(op, "uint")) printf("%llu\n", (unsigned long long)gguf_get_uint(f, k));
    else if (!strcmp(op, "uint_or")) printf("%llu\n", (unsigned long long)gguf_get_uint_or(f, k, 42));
    else if (!strcmp(op, "int")) printf("%lld\n", (long long)gguf_get_int(f, k));
    else if (!strcmp(op, "int_or")) printf("%lld\n", (long long)gguf_get_int_or(f, k, -42));
    else if (!strcmp(op, "float")) printf("%.17g\n", gguf_get_float(f, k));
    else if (!strcmp(op, "float_or")) printf("%.17g\n", gguf_get_float_or(f, k, 0.25));
    else if (!strcmp(op, "bool")) printf("%d\n", gguf_get_bool(f, k));
    else if (!strcmp(op, "bool_or")) printf("%d\n", gguf_get_bool_or(f, k, 7));
    else if (!strcmp(op, "str")) { const char *s = gguf_get_str(f, k, &len); printf("%zu %s\n", len, s); }
    else if (!strcmp(op, "str_or")) { const char *s = gguf_get_str_or(f, k, "dflt", &len); printf("%zu %s\n", len, s); }
    else if (!strcmp(op, "arrlen")) printf("%llu\n", (unsigned long long)gguf_arr_len(f, k, (GgufType)atoi(argv[4])));
    else if (!strcmp(op, "arrstr")) { const char *s = gguf_arr_str(f, k, strtoull(argv[4], NULL, 10), &len); printf("%zu %s\n", len, s); }
    else if (!strcmp(op, "arri32")) printf("%d\n", gguf_arr_i32(f, k, strtoull(argv[4], NULL, 10)));
    else if (!strcmp(op, "arrint")) printf("%lld\n", (long long)gguf_arr_int(f, k, strtoull(argv[4], NULL, 10)));
    else if (!strcmp(op, "arrf32")) printf("%.9g\n", gguf_arr_f32(f, k, strtoull(argv[4], NULL, 10)));
    else if (!strcmp(op, "tensor")) { const GgufTensor *t = gguf_find_tensor(f, k); printf("%s\n", t ? t->name : "(none)"); }
    else if (!strcmp(op, "f32")) {       /* whole tensor via gguf_tensor_f32 */
        const GgufTensor *t = gguf_find_tensor(f, k);
        float *x = xmalloc(t->nelem * 4); gguf_tensor_f32(f, t, x); printf("%g\n", x[0]); free(x);
    } else die(EXIT_USAGE, "op?");
    gguf_close(f);
    return 0;
}
C
${CC:-cc} -O1 -g $SAN -std=gnu11 -fopenmp -I"$ROOT/tools/lib/util" -I"$ROOT/tools/lib/data" -I"$ROOT/tools/lib/llm" -I/usr/include/cjson check.c "$ROOT/tools/lib/llm/gguf.c" \
  "$ROOT/tools/lib/util/util.c" -o check -lcjson -lz -lutf8proc -lpcre2-8 -lm || die "cannot build the API harness"
export GGUF_CHECK="$PWD/check"

# ---- usage
"$G" --help | grep -q 'usage: gguf-info' || die "--help"
expect_fail 2 'usage' "$G"
expect_fail 2 'usage' "$G" --bogus x.gguf
# the type table is gguf-py's (ids, names, block sizes, byte sizes)
"$G" --types > types.txt
"$PY" - <<'PY'
from gguf.constants import GGML_QUANT_SIZES
want = {f"{int(t)} {t.name} {b} {s}" for t, (b, s) in GGML_QUANT_SIZES.items()}
got = {" ".join(l.split()[:4]) for l in open("types.txt")}
assert got == want, (sorted(got ^ want))
conv = {l.split()[1] for l in open("types.txt") if l.split()[4] == "yes"}
assert conv == {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}, conv
PY

# ---- dequantisation of synthetic blocks, every convertible type, bit-exact
"$PY" "$O" quant "$BIN"
# the same file split raw into parts: page-aligned (mmap per part) and odd (read) boundaries
"$G" --read quant.gguf > whole.txt
split -b 1M -d quant.gguf pg.
"$G" --read pg.* > pg.txt
same whole.txt pg.txt
"$PY" "$O" split quant.gguf 3 .
"$G" --read split1.bin split2.bin split3.bin > odd.txt
same whole.txt odd.txt
"$G" --dump Q4_K.rand 0 all quant.gguf > a.bin
"$G" --dump Q4_K.rand 0 all split1.bin split2.bin split3.bin > b.bin
same a.bin b.bin
[ "$(stat -c %s a.bin)" -gt 4000000 ] || die "Q4_K dump too small"
"$G" --dump Q4_K.rand 5 all pg.* | cmp -s - <(tail -c +$((5 * 1024 * 4 + 1)) a.bin) || die "row offset dump"
expect_fail 2 "rows \[1030, \+1\) outside its 1028 rows" "$G" --dump Q4_K.rand 1030 1 quant.gguf
expect_fail 2 "no tensor 'nope'" "$G" --dump nope 0 1 quant.gguf

# ---- metadata: every value type, as gguf-py reads it; then the getters
"$PY" "$O" meta "$BIN"
M=meta.gguf
[ "$(./check uint $M u8)" = 255 ] && [ "$(./check uint $M u64)" = 18446744073709551615 ] || die "get_uint"
[ "$(./check int $M i64)" = -9223372036854775808 ] && [ "$(./check int $M u32)" = 4294967295 ] || die "get_int"
[ "$(./check float $M f64)" = 0.10000000000000001 ] && [ "$(./check float $M f32)" = 3.1415927410125732 ] || die "get_float"
[ "$(./check bool $M bool.t)" = 1 ] && [ "$(./check bool_or $M nope)" = 7 ] && [ "$(./check uint_or $M nope)" = 42 ] || die "bool/defaults"
[ "$(./check float_or $M nope)" = 0.25 ] && [ "$(./check int_or $M i8)" = -128 ] || die "float_or/int_or"
[ "$(./check str $M str.utf8)" = "20 Grüße, 世界 🎬" ] && [ "$(./check str $M str.empty)" = "0 " ] || die "get_str: $(./check str $M str.utf8)"
[ "$(./check str_or $M nope)" = "4 dflt" ] || die "get_str_or"
[ "$(./check arrlen $M arr.str 8)" = 4 ] && [ "$(./check arrlen $M arr.empty 13)" = 0 ] || die "arr_len"
[ "$(./check arrstr $M arr.str 2)" = "2 ü" ] && [ "$(./check arrstr $M arr.str 1)" = "0 " ] || die "arr_str"
[ "$(./check arri32 $M arr.i32 0)" = -5 ] && [ "$(./check arri32 $M arr.u8 2)" = 255 ] || die "arr_i32"
[ "$(./check arrint $M arr.i64 0)" = -9223372036854775808 ] && [ "$(./check arrf32 $M arr.f32 2)" = 0.00100000005 ] || die "arr_int/f32"
[ "$(./check tensor $M w)" = w ] && [ "$(./check tensor $M x)" = "(none)" ] || die "find_tensor"
expect_fail 1 "meta.gguf: key 'nope': missing$" ./check uint $M nope
expect_fail 1 "meta.gguf: key 'i8': value -128 is negative" ./check uint $M i8
expect_fail 1 "meta.gguf: key 'str': expected an unsigned integer, found STRING" ./check uint $M str
expect_fail 1 "meta.gguf: key 'u64': value 18446744073709551615 is out of the int64 range" ./check int $M u64
expect_fail 1 "meta.gguf: key 'u8': expected a float, found UINT8" ./check float $M u8
expect_fail 1 "meta.gguf: key 'u8': expected BOOL, found UINT8" ./check bool_or $M u8
expect_fail 1 "meta.gguf: key 'u32': expected STRING, found UINT32" ./check str_or $M u32
expect_fail 1 "meta.gguf: key 'arr.str': expected ARRAY of INT32, found ARRAY of STRING" ./check arrlen $M arr.str 5
expect_fail 1 "meta.gguf: key 'str': expected ARRAY, found STRING" ./check arrstr $M str 0
expect_fail 1 "meta.gguf: key 'arr.str': index 4 out of range \(4 elements\)" ./check arrstr $M arr.str 4
expect_fail 1 "meta.gguf: key 'arr.u64': value 18446744073709551615 is out of the int64 range" ./check arri32 $M arr.u64 0
expect_fail 1 "meta.gguf: key 'arr.i32': expected ARRAY of floats, found ARRAY of INT32" ./check arrf32 $M arr.i32 0
expect_fail 1 "33 elements is not a multiple of the Q4_0 block size 32" ./check deq 2 33
expect_fail 1 "type IQ2_XS \(17\) cannot be converted" ./check deq 17 256
[ "$(./check deq 12 512)" = "ok 0" ] || die "deq Q4_K zeros"

# ---- the real files: listing, census, keys, every array, rows of every type == gguf-py
[ -f "$SMOL" ] && [ -f "${QWEN[5]}" ] || die "real GGUF files missing (build/backbones: tools/fetch-backbone.sh)"
"$PY" "$O" real "$BIN" "$SMOL"
"$PY" "$O" real "$BIN" "${QWEN[@]}"
"$G" --meta "$SMOL" > smol.txt
"$G" --meta "${QWEN[@]}" > qwen.txt
grep -qx 'gguf version=3 n_kv=33 n_tensors=272 alignment=32 data_offset=1785664 size=98362432' smol.txt || die "smol header: $(head -1 smol.txt)"
grep -qx 'types: F32 61, Q4_1 210, Q8_0 1' smol.txt || die "smol census: $(tail -1 smol.txt)"
grep -qx 'kv llama.embedding_length UINT32 576' smol.txt && grep -qx 'kv llama.block_count UINT32 30' smol.txt || die "smol keys"
grep -qx 'kv general.architecture STRING "llama"' smol.txt || die "smol arch"
grep -q '^kv tokenizer.ggml.tokens ARRAY\[STRING\] 49152 \["<|endoftext|>", ' smol.txt || die "smol tokens"
grep -qx 'token_embd.weight Q8_0 \[576,49152\] 0 30081024' smol.txt || die "smol token_embd"
! grep -q '^output.weight ' smol.txt || die "smol: output.weight should be tied (absent)"
grep -q '^gguf version=3 n_kv=26 n_tensors=291 alignment=32 ' qwen.txt || die "qwen header: $(head -1 qwen.txt)"
grep -qx 'types: F32 121, Q5_0 133, Q8_0 13, Q4_K 12, Q6_K 12' qwen.txt || die "qwen census: $(tail -1 qwen.txt)"
grep -qx 'kv qwen2.block_count UINT32 24' qwen.txt && grep -qx 'kv qwen2.embedding_length UINT32 896' qwen.txt || die "qwen keys"
grep -q '^kv tokenizer.ggml.merges ARRAY\[STRING\] 151387 ' qwen.txt && grep -q '^kv tokenizer.ggml.tokens ARRAY\[STRING\] 151936 ' qwen.txt || die "qwen vocab"
grep -qx 'output.weight Q8_0 \[896,151936\] 0 144643072' qwen.txt || die "qwen output.weight"
expect_fail 1 "part01.bin: tensor '.*': data .* outside the .* data section" "$G" "${QWEN[0]}"
expect_fail 1 "part01.bin \(\+4 parts\): tensor '.*': data .* outside the .* data section \(truncated" "$G" "${QWEN[@]:0:5}"
t=$(./check time "${QWEN[@]}"); awk -v t="$t" 'BEGIN { exit !(t < 0.2) }' || die "opening qwen2.5 takes ${t}s"
t=$(./check time "$SMOL"); awk -v t="$t" 'BEGIN { exit !(t < 0.2) }' || die "opening smollm2 takes ${t}s"
# every tensor of smollm2 dequantised (sum / max|x| finite)
"$G" --read "$SMOL" > read.txt
[ "$(grep -c ' sum=.* maxabs=' read.txt)" = 272 ] || die "--read: $(grep -vc ' sum=' read.txt) tensors not read"
! grep -Eq 'sum=-?(nan|inf)|maxabs=(nan|inf)' read.txt || die "--read: non-finite values in smollm2"

# ---- hostile files
"$PY" "$O" hostile h
for f in ok ok_v2 ok_empty ok_align64 ok_gap ok_nest; do timeout 10 "$G" --meta --read h/$f.gguf > /dev/null || die "h/$f.gguf refused"; done
"$G" h/ok_v2.gguf | grep -q '^gguf version=2 ' || die "v2"
"$G" h/ok_align64.gguf | grep -q ' alignment=64 data_offset=' || die "alignment 64"
ef() { local f=$1 re=$2; expect_fail 1 "^gguf-info: h/$f.gguf: $re" timeout 10 "$G" --meta --read "h/$f.gguf"; }
ef trunc_2         'header: truncated: magic needs 4 bytes at offset 0, the file has 2$'
ef trunc_header    'header: truncated: tensor count needs 8 bytes at offset 8'
ef trunc_kv        "key 'general.name': truncated: string value of 4 bytes at offset [0-9]+ runs past the end"
ef trunc_kvtype    "key 'x.n': truncated: value type needs 4 bytes"
ef trunc_tinfo     "tensor 'a': truncated: dimension count needs 4 bytes"
ef trunc_data      "tensor 'b': data \[256, \+256 bytes\) is outside the [0-9]+-byte data section \(truncated file\?\)"
ef bad_magic       'not a GGUF file \(magic 47 47 55 47, expected "GGUF"\)'
ef v1              'header: GGUF version 1 is not supported \(only 2 and 3\)'
ef v4              'header: unknown GGUF version 4'
ef big_endian      'header: GGUF version 50331648: big-endian files are not supported'
ef nkv_huge        'header: key count 18446744073709551615 cannot fit in the [0-9]+-byte file'
ef nt_huge         'header: tensor count 18446744073709551614 cannot fit'
ef nkv_more        'tensor #0: truncated: tensor name of [0-9]+ bytes'
ef arr_huge        "key 'a.b': truncated: array of 18446744073709551615 UINT32 elements"
ef arr_huge_str    "key 'a.b': truncated: array of 2305843009213693952 STRING elements"
ef str_huge        "key 'a.s': truncated: string value of 18446744073709551613 bytes"
ef str_past        "key 'a.s': truncated: string value of 1000 bytes at offset [0-9]+ runs past the end of the [0-9]+-byte file"
ef key_huge        'key #3: truncated: key name of 9223372036854775808 bytes'
ef arrstr_past     "key 'a.t': truncated: array string element of 500 bytes"
ef ndims5          "tensor 'a': 5 dimensions \(max 4\)"
ef dim0            "tensor 'a': ne\[1\] is 0"
ef dim_overflow    "tensor 'a': dimensions overflow \(ne\[1\] = 1099511627776\)"
ef nbytes_overflow "tensor 'a': byte size overflows"
ef off_past        "tensor 'b': data \[1048576, \+32 bytes\) is outside the [0-9]+-byte data section"
ef off_huge        "tensor 'b': data \[18446744073709551584, \+32 bytes\) is outside"
ef misaligned      "tensor 'b': data offset 40 is not a multiple of the alignment 32"
ef overlap         "tensor 'b': data \[64, \+32 bytes\) overlaps tensor 'a' \[0, \+128 bytes\)"
ef dup_tensor      "tensor 'a': duplicate tensor name"
ef dup_key         "key 'x.n': duplicate key"
ef bad_ggml_type   "tensor 'a': unknown ggml type 200"
ef retired_type    "tensor 'a': unknown ggml type 4"
ef bad_vtype       "key 'a.v': unknown value type 13"
ef bad_arr_vtype   "key 'a.v': unknown array element type 99"
ef align0          "key 'general.alignment': alignment 0 is not a non-zero power of two"
ef align3          "key 'general.alignment': alignment 3 is not a non-zero power of two"
ef align_type      "key 'general.alignment': expected UINT32, found UINT64"
ef row_block       "tensor 'a': row length 48 is not a multiple of the Q4_0 block size 32"
ef bad_bool        "key 'a.b': bool value 2 is not 0 or 1"
ef bad_bool_arr    "key 'a.b': bool value 7 is not 0 or 1"
ef deep_nest       "key 'a.n': arrays nested deeper than 8 levels"
ef empty_name      'tensor #0: empty tensor name'
ef nul_key         'key #3: key name contains a NUL byte'
ef nl_name         "tensor 'a\?b': duplicate tensor name"
expect_fail 1 "^gguf-info: h/p1.bin \(\+1 parts\): tensor 'b': data offset 40 is not a multiple" "$G" h/p1.bin h/p2.bin
"$G" --read h/iq.gguf | grep -qx 'q IQ2_XS \[256\] 0 74 (not convertible)' || die "IQ2_XS listing"
expect_fail 1 "h/iq.gguf: tensor 'q': type IQ2_XS cannot be converted" "$G" --dump q 0 1 h/iq.gguf
expect_fail 1 "h/iq.gguf: tensor 'q': type IQ2_XS cannot be converted" ./check f32 h/iq.gguf q
# truncated at every 7th byte of a valid file: always refused with one line, never a crash
"$PY" - <<'PY'
b = open("h/ok.gguf", "rb").read()
for n in range(0, len(b) - 1, 7):
    open(f"h/cut{n:04d}.gguf", "wb").write(b[:n])
PY
for f in h/cut*.gguf; do
  rc=0; timeout 10 "$G" --meta "$f" > /dev/null 2> e.txt || rc=$?
  [ "$rc" = 1 ] || die "$f: exit $rc ($(cat e.txt))"
  [ "$(wc -l < e.txt)" = 1 ] || die "$f: multi-line error"
done
# random corruptions of the metadata-rich file: valid (0) or refused with one line (1), no crash
"$PY" "$O" mutate meta.gguf 150 mut
for f in mut/*.gguf; do
  rc=0; timeout 10 "$G" --meta --read "$f" > /dev/null 2> e.txt || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || die "$f: exit $rc ($(head -c 2000 e.txt))"
  [ "$(wc -l < e.txt)" -le 1 ] || die "$f: multi-line error: $(head -c 2000 e.txt)"
done
# every hostile message is one line
for f in h/*.gguf; do case $f in h/ok*|h/iq*|h/cut*) continue;; esac
  timeout 10 "$G" "$f" 2> e.txt > /dev/null && die "$f accepted"; [ "$(wc -l < e.txt)" = 1 ] || die "$f: multi-line error"; done
# not regular files: no hang, exit 3
mkfifo fifo.gguf; mkdir dir.gguf
expect_fail 3 'fifo.gguf: not a regular file' timeout 5 "$G" fifo.gguf
expect_fail 3 'dir.gguf: is a directory' timeout 5 "$G" dir.gguf
expect_fail 3 'missing.gguf: cannot open' "$G" missing.gguf
expect_fail 3 'fifo.gguf: not a regular file' timeout 5 "$G" h/ok.gguf fifo.gguf
echo ok
