#!/usr/bin/env python3
"""Independent oracle for `import` (csv, ast, gzip, html from the standard library).
usage: import_oracle.py tsv DIR SINCE UNTIL CORE   -> interaction records (input order)
       import_oracle.py d3csv FILE.csv SPLIT IDBASE -> sample records"""
import ast, csv, gzip, html, json, sys
from amz_oracle import kcore, when


def clean(t):
    t = html.unescape(t).replace('\xa0', ' ')
    while True:
        t2 = t.strip(' \t\n\r\f\v')
        if len(t2) >= 2 and t2[0] in '"\'' and t2[-1] == t2[0]:
            t2 = t2[1:-1]
        if t2 == t:
            return t
        t = t2


def tsv(d, since, until, core):
    since, until, core = when(since), when(until), int(core)
    titles = {}
    with gzip.open(f'{d}/items.tsv.gz', 'rt', encoding='utf-8') as f:
        next(f)
        for line in f:
            i, t = line.rstrip('\n').split('\t', 1)
            t = clean(t)
            if t:
                titles[i] = t
    rows = []
    with gzip.open(f'{d}/interactions.tsv.gz', 'rt', encoding='utf-8') as f:
        next(f)
        for line in f:
            u, i, ts = line.rstrip('\n').split('\t')
            ts = int(ts)
            if (since is None or ts >= since) and (until is None or ts < until) and i in titles:
                rows.append((u, i, ts, 0.0))
    alive = kcore(rows, core)[0] if core > 1 else [True] * len(rows)
    for a, (u, i, ts, r) in zip(alive, rows):
        if a:
            print(json.dumps({"user": u, "item": i, "title": titles[i], "ts": ts, "rating": r}, ensure_ascii=False))


def d3csv(path, split, base):
    with open(path, newline='', encoding='utf-8') as f:
        for k, row in enumerate(csv.DictReader(f)):
            asins = ast.literal_eval(row['item_asins'])
            titles = ast.literal_eval(row['history_item_title'])
            tss = ast.literal_eval(row['history_timestamp'])
            hist = [{"item": a, "title": clean(t), "ts": int(s)} for a, t, s in zip(asins, titles, tss)]
            tgt = {"item": row['item_asin'], "title": clean(row['item_title']), "ts": int(row['timestamp'])}
            print(json.dumps({"id": int(base) + k, "user": row['user_id'], "history": hist, "target": tgt, "split": split},
                             ensure_ascii=False))


if __name__ == '__main__':
    {'tsv': tsv, 'd3csv': d3csv}[sys.argv[1]](*sys.argv[2:])
