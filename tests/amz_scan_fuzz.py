#!/usr/bin/env python3
"""Mutate real review lines; write them and Python json's verdict (1 = a JSON object, plus
its top-level "asin" when a string) for tests/test_amz_scan.sh.
usage: amz_scan_fuzz.py SEED N REVIEWS.json.gz OUT_LINES OUT_WANT"""
import gzip, json, random, sys

seed, n, src, out_lines, out_want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
random.seed(seed)
base = [l.rstrip('\n') for l in gzip.open(src, 'rt', encoding='utf-8')][:300]
base += ['{"a": [1, -0.5e+3, true, false, null, {"b": "\\u00e9\\n"}], "asin": "x\\"y"}', '{}', ' { "x" : [ ] } ']
chars = list('{}[]",:\\ 0123456789-+.eEtrufalsn\t') + ['\x01', 'u', 'x']


def reject(x):
    raise ValueError(x)


lines, want = [], []
while len(lines) < n:
    s = random.choice(base)
    for _ in range(random.randint(1, 3)):
        p = random.randrange(len(s) + 1)
        op = random.random()
        c = random.choice(chars)
        s = s[:p] + c + s[p:] if op < 0.4 else s[:p] + s[p + 1:] if op < 0.8 else s[:p] + c + s[p + 1:]
    try:
        o = json.loads(s, parse_constant=reject)
        ok = isinstance(o, dict)
    except ValueError:
        ok = False
    w = '1' if ok else '0'
    if ok and isinstance(o.get('asin'), str) and '\n' not in o['asin'] and '\x00' not in o['asin']:
        w += ' ' + o['asin']
    lines.append(s)
    want.append(w)
with open(out_lines, 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines) + '\n')
with open(out_want, 'w', encoding='utf-8') as f:
    f.write('\n'.join(want) + '\n')
