#!/usr/bin/env python3
"""Independent oracle for amz-filter (and import --format tsv): plain json/html modules,
written from the spec in docs/FORMATS.md, not from the C code.
usage: amz_oracle.py reviews.json[.gz] meta.json[.gz] SINCE UNTIL CORE [MAXWORDS]
prints the expected interaction records (input order) and, on stderr, the stats."""
import gzip, html, json, re, sys
from datetime import datetime, timezone


def opener(p):
    return gzip.open(p, 'rt', encoding='utf-8') if p.endswith('.gz') else open(p, encoding='utf-8')


def when(s):
    if s in ('-inf', '+inf'):
        return None
    return int(datetime.strptime(s, '%Y-%m-%d').replace(tzinfo=timezone.utc).timestamp())


TAG = re.compile(r'</?[A-Za-z][A-Za-z0-9-]*[\s/>]')


def clean(t, max_words, min_chars=2):
    t = html.unescape(t).replace('\xa0', ' ')
    while True:
        t2 = t.strip(' \t\n\r\f\v"')
        if len(t2) >= 2 and t2[0] == "'" and t2[-1] == "'":
            t2 = t2[1:-1]
        if t2 == t:
            break
        t = t2
    if len(t) < min_chars:
        return None
    if t.startswith('<') or TAG.search(t):
        return None
    if max_words and len(t.split()) > max_words:
        return None
    return t


def kcore(rows, k):
    alive = [True] * len(rows)
    rounds = 0
    while True:
        uc, ic = {}, {}
        for a, (u, i, _, _) in zip(alive, rows):
            if a:
                uc[u] = uc.get(u, 0) + 1
                ic[i] = ic.get(i, 0) + 1
        bad_u = {u for u, c in uc.items() if c < k}
        bad_i = {i for i, c in ic.items() if c < k}
        if not bad_u and not bad_i:
            return alive, rounds, len(uc), len(ic)
        rounds += 1
        for j, (u, i, _, _) in enumerate(rows):
            if alive[j] and (u in bad_u or i in bad_i):
                alive[j] = False


def main():
    rev, meta, since, until, core = sys.argv[1:6]
    max_words = int(sys.argv[6]) if len(sys.argv) > 6 else 20
    since, until, core = when(since), when(until), int(core)
    titles, seen, dups = {}, set(), 0
    for line in opener(meta):
        m = json.loads(line)
        a = m['asin']
        if a in seen:
            dups += 1
        seen.add(a)
        if a in titles or not isinstance(m.get('title'), str):
            continue
        t = clean(m['title'], max_words)
        if t is not None:
            titles[a] = t
    rows = []
    for line in opener(rev):
        r = json.loads(line)
        ts = r['unixReviewTime']
        if (since is not None and ts < since) or (until is not None and ts >= until):
            continue
        if r['asin'] not in titles:
            continue
        rows.append((r['reviewerID'], r['asin'], ts, float(r['overall'])))
    alive, rounds, nu, ni = kcore(rows, core) if core > 1 else ([True] * len(rows), 0, len({r[0] for r in rows}), len({r[1] for r in rows}))
    n = 0
    for a, (u, i, ts, rt) in zip(alive, rows):
        if a:
            n += 1
            print(json.dumps({"user": u, "item": i, "title": titles[i], "ts": ts, "rating": rt}, ensure_ascii=False))
    print(json.dumps({"users": nu, "items": ni, "interactions": n, "rounds": rounds, "meta_duplicates": dups}), file=sys.stderr)


if __name__ == '__main__':
    main()
