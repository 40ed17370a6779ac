#!/bin/bash
# Byte-level BPE (tools/lib/llm/bpe.c) against HF tokenizers 0.19, token for token, on the two
# backbones' tokenizers rebuilt from their GGUF metadata (SmolLM2: Digits + ByteLevel;
# Qwen2.5: NFC + Split regex + ByteLevel), over real titles from every dataset, prompts
# built from them and hand-written hard cases; decode(encode(x)) gives x (after NFC);
# decode of arbitrary ids equals HF's; every code point through each regex class, Digits
# and NFC; the pre-tokenizer variants the models do not use; 4 threads on one Bpe; errors.
# Ends with an informational speed line (C vs HF, one thread, the same 50k titles).
source "$ROOT/tests/lib.sh"
O="$ROOT/tests/bpe_oracle.py"
case "$BIN" in
  *-asan) OBJ=build/asan; FLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" ;;
  *)      OBJ=build/obj;  FLAGS="-O2 -g" ;;
esac
[ -f "$ROOT/$OBJ/libcft.a" ] || die "$ROOT/$OBJ/libcft.a missing: run make first"
cc $FLAGS -Wall -Wextra -Werror -std=gnu11 -fopenmp -I"$ROOT/tools/lib/util" -I"$ROOT/tools/lib/data" -I"$ROOT/tools/lib/llm" -I/usr/include/cjson \
  "$ROOT/tests/bpe_driver.c" "$ROOT/$OBJ/libcft.a" -lcjson -lz -lopenblas -lsentencepiece -lpcre2-8 -lutf8proc -lstdc++ -lm -lpthread -o drv
SMOL="$ROOT/build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN="$ROOT/build/backbones/qwen2.5/part01.bin"   # the header, with all the tokenizer metadata
[ -f "$SMOL" ] && [ -f "$QWEN" ] || die "backbones missing under build/backbones (make fetch-backbones?)"
"$PY" "$O" json "$SMOL" smol.json
"$PY" "$O" json "$QWEN" qwen.json
"$PY" "$O" titles "$DATA_ROOT" 5000 texts.jsonl
n=$(wc -l < texts.jsonl); [ "$n" -gt 35000 ] || die "only $n texts"

# ids token for token, then decode: of our ids = HF's decode = the normalised text
for m in smol qwen; do
  "$PY" "$O" encode $m.json texts.jsonl hf_$m.ids &
  ./drv $m.json encode texts.jsonl > c_$m.ids
  ./drv $m.json decode c_$m.ids > c_$m.back
  "$PY" "$O" expect $m.json texts.jsonl want_$m.txt
  wait
  same c_$m.ids hf_$m.ids
  "$PY" "$O" same c_$m.back want_$m.txt
  "$PY" "$O" randids $m.json 3000 rand_$m.ids
  "$PY" "$O" decode $m.json rand_$m.ids hf_$m.rand &
  ./drv $m.json decode rand_$m.ids > c_$m.rand
  wait
  "$PY" "$O" same c_$m.rand hf_$m.rand
done
# NFC changed some texts, so the expectation above did exercise it
! "$PY" "$O" same want_qwen.txt texts.jsonl > /dev/null 2>&1 || die "no text changed under NFC"
./drv smol.json info > info.txt
grep -q '^{"vocab_size": 49152, "special": \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16\], "im_start": 1, "none": -1, "piece0": "<|endoftext|>"}$' info.txt || die "smol info: $(cat info.txt)"
./drv qwen.json info > info.txt
grep -q '^{"vocab_size": 151665, "special": \[151643, .*151664\], "im_start": 151644, "none": -1, "piece0": "!"}$' info.txt || die "qwen info: $(cat info.txt)"

# every code point: each regex class removed in turn, Digits, the GPT-2 regex, NFC
names=$("$PY" "$O" classes qwen.json .)
text_of() { case $1 in ci) echo class_q.jsonl ;; gpt2) echo class_g.jsonl ;; *) echo class_a.jsonl ;; esac; }
for c in $names; do
  "$PY" "$O" encode class_$c.json $(text_of $c) hf_class_$c.ids &
  ./drv class_$c.json encode $(text_of $c) > c_class_$c.ids
  wait
  same c_class_$c.ids hf_class_$c.ids || die "code point class $c differs"
done
"$PY" "$O" encode qwen.json class_nfc.jsonl hf_class_nfc.ids &
./drv qwen.json encode class_nfc.jsonl > c_class_nfc.ids
wait
same c_class_nfc.ids hf_class_nfc.ids || die "NFC differs"

# pre-tokenizer variants on a slice of the texts (all hand cases, some titles)
{ sed -n '1~9p' texts.jsonl; tail -n 400 texts.jsonl; } > some.jsonl
for v in $("$PY" "$O" variants smol.json qwen.json .); do
  "$PY" "$O" encode v_$v.json some.jsonl hf_v_$v.ids &
  ./drv v_$v.json encode some.jsonl > c_v_$v.ids
  wait
  same c_v_$v.ids hf_v_$v.ids || die "variant $v differs"
done
./drv pairs.json encode some.jsonl > c_pairs.ids
./drv qwen.json encode some.jsonl > c_strings.ids
same c_pairs.ids c_strings.ids

# a NUL byte inside the text is just a byte (the JSON driver mode cannot carry it)
printf 'a\0b \0\n' > nul.txt
echo '"a\u0000b \u0000"' > nul.jsonl
./drv qwen.json raw nul.txt > c_nul.ids
"$PY" "$O" encode qwen.json nul.jsonl hf_nul.ids
same c_nul.ids hf_nul.ids

# four threads encoding the same lines on one Bpe (cold cache) agree with one thread
./drv qwen.json threads some.jsonl > c_threads.ids
same c_threads.ids c_strings.ids

# errors: one line naming the file and field, exit 3 unreadable / 1 bad content
"$PY" "$O" bad .
./drv bad_good.json encode some.jsonl > /dev/null
expect_fail 3 'missing.json: cannot open: No such file' ./drv missing.json info
expect_fail 1 'bad_notjson.json: not valid JSON' ./drv bad_notjson.json info
expect_fail 1 'bad_array.json: expected a JSON object' ./drv bad_array.json info
expect_fail 1 'bad_wordpiece.json: model.type: "WordPiece" is not supported' ./drv bad_wordpiece.json info
expect_fail 1 'bad_whitespace.json: pre_tokenizer.pretokenizers\[0\].type: pre-tokenizer "Whitespace" is not supported' ./drv bad_whitespace.json info
expect_fail 1 'bad_after_bytelevel.json: pre_tokenizer.pretokenizers\[1\]: only the last pre-tokenizer may be ByteLevel' ./drv bad_after_bytelevel.json info
expect_fail 1 'bad_merge_oov.json: model.merges\[3\]: "zz" is not in model.vocab' ./drv bad_merge_oov.json info
expect_fail 1 'bad_merge_result_oov.json: model.merges\[3\]: "th" is not in model.vocab' ./drv bad_merge_result_oov.json info
for f in merge_oov merge_result_oov; do "$PY" "$O" refuses bad_$f.json > hf_why.txt; done   # HF refuses them too
expect_fail 1 'bad_merge_three.json: model.merges\[3\]: "a b c": expected two pieces' ./drv bad_merge_three.json info
expect_fail 1 'bad_nfkc.json: normalizer.type: normalizer "NFKC" is not supported' ./drv bad_nfkc.json info
expect_fail 1 'bad_lstrip.json: added_tokens\[0\].lstrip: only false is supported' ./drv bad_lstrip.json info
expect_fail 1 'bad_added_id.json: added_tokens\[0\].id: 300, but HF tokenizers gives "<\|endoftext\|>" id 259' ./drv bad_added_id.json info
expect_fail 1 'bad_byte_fallback.json: model.byte_fallback: only false' ./drv bad_byte_fallback.json info
expect_fail 1 'bad_vocab_id.json: model.vocab: "zz": expected a non-negative integer id' ./drv bad_vocab_id.json info
expect_fail 1 'bad_bad_regex.json: pre_tokenizer.pattern: bad regex at offset 2' ./drv bad_bad_regex.json info
expect_fail 1 'bad_no_decoder.json: decoder: null is not supported' ./drv bad_no_decoder.json info
printf 'ok\n\xff\n' > inv1.txt; printf '\xc0\xaf\n' > inv2.txt; printf 'a\xed\xa0\x80\n' > inv3.txt; printf 'ok\nok\n\xe6\x97\n' > inv4.txt
expect_fail 1 'inv1.txt:2: text is not valid UTF-8' ./drv qwen.json raw inv1.txt
expect_fail 1 'inv2.txt:1: text is not valid UTF-8' ./drv qwen.json raw inv2.txt
expect_fail 1 'inv3.txt:1: text is not valid UTF-8' ./drv qwen.json raw inv3.txt
expect_fail 1 'inv4.txt:3: text is not valid UTF-8' ./drv qwen.json raw inv4.txt
echo '[1, 151665]' > oor.ids
expect_fail 1 'qwen.json: token id 151665 out of range \[0, 151665\)' ./drv qwen.json decode oor.ids

# speed (information only): the same 50k titles, one thread each, cold cache
"$PY" "$O" titles "$DATA_ROOT" 9000 t50.jsonl only
head -n 50000 t50.jsonl > titles50k.jsonl
[ "$(wc -l < titles50k.jsonl)" = 50000 ] || die "fewer than 50k titles"
c=$(./drv qwen.json time titles50k.jsonl | cut -d' ' -f1)
h=$("$PY" "$O" time qwen.json titles50k.jsonl)
echo "info: 50k titles, qwen2.5 tokenizer, one thread: C ${c}s, HF ${h}s, C is $(python3 -c "print('%.1f' % ($h / $c))")x faster"
echo ok
