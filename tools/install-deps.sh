#!/bin/sh
# Install the Debian packages given as arguments, only those missing (apt-get, as root),
# then the PyPI test oracles (transformers, safetensors, tokenizers, gguf) into build/pyenv, a venv over
# Debian's python3 that sees python3-torch. The tools themselves never need PyPI.
set -e
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -n "$(dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep 'install ok installed')" ] || missing="$missing python3-venv python3-pip"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-deps: missing packages:$missing (run as root: apt-get install$missing)" >&2; exit 1; fi
  echo "install-deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
fi
PYENV=build/pyenv
PY_PKGS="transformers==4.40.2 safetensors==0.4.3 tokenizers==0.19.1 gguf==0.19.0 jinja2==3.1.4"
# .ok holds the package list it was made with: a changed list remakes the venv
if [ "$(cat "$PYENV/.ok" 2>/dev/null)" != "$PY_PKGS" ]; then
  echo "install-deps: creating $PYENV (PyPI test oracles: $PY_PKGS)" >&2
  rm -rf "$PYENV"
  /usr/bin/python3 -m venv --system-site-packages "$PYENV"
  "$PYENV/bin/pip" install -q --disable-pip-version-check $PY_PKGS >&2
  echo "$PY_PKGS" > "$PYENV/.ok"
fi
