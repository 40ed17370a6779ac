#!/bin/bash
# safetensors reader: a valid file (written by the reference `safetensors` package, F32/BF16/F16)
# is listed and converted exactly; hostile, corrupted and truncated files are refused with
# exit 1 and a one-line message naming the problem (st-info uses the loader's reader).
source "$ROOT/tests/lib.sh"
python3 - <<'PY'
import json, struct
def st(header, data=b"", hn=None, raw=None):
    h = raw if raw is not None else json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if hn is None else hn) + h + data
F = lambda name, dt, shape, a, b: {name: {"dtype": dt, "shape": shape, "data_offsets": [a, b]}}
files = {
 "ok":        st({**F("w", "F32", [2, 3], 0, 24), **F("h", "BF16", [2], 24, 28), **F("g", "F16", [2], 28, 32),
                   "__metadata__": {"format": "pt"}},
                  struct.pack("<6f", 1, 2, 3, 4, 5, -6.5) + bytes([0x80, 0x3f, 0x20, 0xc0]) + bytes([0x00, 0x3c, 0x00, 0xc1])),
 "huge_hdr":  struct.pack("<Q", 1 << 40) + b"{}      ",
 "hdr_past":  st({}, hn=4096),
 "tiny":      b"\x01\x02\x03",
 "not_json":  st(None, raw=b"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], "),
 "not_obj":   st(None, raw=b"[1, 2, 3]"),
 "junk":      st(None, raw=b"{} xyz"),
 "bad_dtype": st(F("w", "F8_E9", [1], 0, 1), b"\0"),
 "shape_mis": st(F("w", "F32", [2, 3], 0, 20), b"\0" * 20),
 "neg_shape": st(F("w", "F32", [-1, 3], 0, 12), b"\0" * 12),
 "overflow":  st(F("w", "F32", [1 << 40, 1 << 40], 0, 16), b"\0" * 16),
 "outside":   st(F("w", "F32", [4], 0, 16), b"\0" * 8),
 "overlap":   st({**F("a", "F32", [4], 0, 16), **F("b", "F32", [2], 8, 16)}, b"\0" * 16),
 "gap":       st({**F("a", "F32", [2], 0, 8), **F("b", "F32", [2], 12, 20)}, b"\0" * 20),
 "trailing":  st(F("a", "F32", [2], 0, 8), b"\0" * 12),
 "dup":       st(None, raw=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data=b"\0" * 8),
 "bad_off":   st(F("a", "F32", [1], 4, 0), b"\0" * 4),
 "extra_key": st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "evil": 1}}, b"\0" * 4),
}
for k, v in files.items(): open(k + ".safetensors", "wb").write(v)
# truncated copy of the valid file
open("truncated.safetensors", "wb").write(files["ok"][:-3])
PY
"$BIN/st-info" --read ok.safetensors > ok.txt
grep -qx 'w F32 \[2,3\] 0 24 sum=8.5' ok.txt || die "F32 read: $(cat ok.txt)"
grep -qx 'h BF16 \[2\] 24 28 sum=-1.5' ok.txt || die "BF16 read: $(cat ok.txt)"   # 1.0 + -2.5
grep -qx 'g F16 \[2\] 28 32 sum=-1.5' ok.txt || die "F16 read: $(cat ok.txt)"     # 1.0 + -2.5
expect_fail 1 'huge_hdr.safetensors: header size 1099511627776 exceeds' "$BIN/st-info" huge_hdr.safetensors
expect_fail 1 'hdr_past.safetensors: header size 4096 does not fit' "$BIN/st-info" hdr_past.safetensors
expect_fail 1 'tiny.safetensors: not a safetensors file' "$BIN/st-info" tiny.safetensors
expect_fail 1 'not_json.safetensors: header is not valid JSON' "$BIN/st-info" not_json.safetensors
expect_fail 1 'not_obj.safetensors: header is not a JSON object' "$BIN/st-info" not_obj.safetensors
expect_fail 1 'junk.safetensors: junk after the JSON header' "$BIN/st-info" junk.safetensors
expect_fail 1 "bad_dtype.safetensors: tensor 'w': unknown dtype 'F8_E9'" "$BIN/st-info" bad_dtype.safetensors
expect_fail 1 "shape_mis.safetensors: tensor 'w': shape x dtype size = 24 bytes but data_offsets span 20" "$BIN/st-info" shape_mis.safetensors
expect_fail 1 "neg_shape.safetensors: tensor 'w': shape\[0\] is not a non-negative integer" "$BIN/st-info" neg_shape.safetensors
expect_fail 1 "overflow.safetensors: tensor 'w': shape overflows" "$BIN/st-info" overflow.safetensors
expect_fail 1 "outside.safetensors: tensor 'w': data_offsets \[0, 16\] outside the 8-byte data section" "$BIN/st-info" outside.safetensors
expect_fail 1 "overlap.safetensors: tensor 'b': data_offsets \[8, 16\] overlap tensor 'a'" "$BIN/st-info" overlap.safetensors
expect_fail 1 "gap.safetensors: tensor 'b': gap of 4 bytes" "$BIN/st-info" gap.safetensors
expect_fail 1 'trailing.safetensors: 4 trailing bytes' "$BIN/st-info" trailing.safetensors
expect_fail 1 "dup.safetensors: tensor 'a': duplicate name" "$BIN/st-info" dup.safetensors
expect_fail 1 "bad_off.safetensors: tensor 'a': data_offsets \[4, 0\] end before begin" "$BIN/st-info" bad_off.safetensors
expect_fail 1 "extra_key.safetensors: tensor 'a': unexpected or repeated key 'evil'" "$BIN/st-info" extra_key.safetensors
expect_fail 1 "truncated.safetensors: tensor 'g': data_offsets \[28, 32\] outside the 29-byte data section \(truncated" "$BIN/st-info" truncated.safetensors
expect_fail 3 'missing.safetensors: cannot open' "$BIN/st-info" missing.safetensors
# every message is exactly one line
for f in *.safetensors; do [ "$f" = ok.safetensors ] && continue
  "$BIN/st-info" "$f" 2> e.txt >/dev/null && die "$f accepted"; [ "$(wc -l < e.txt)" = 1 ] || die "$f: multi-line error"; done
echo ok
