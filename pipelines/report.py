#!/usr/bin/python3
"""Reports for the experiment pipeline (stdlib only): Table 3, Table 4, Fig. 4.

report.py table3|table4|fig4 --dataset NAME --runs runs/NAME --config FILE --out reports/X
reads runs/NAME/<run>.metrics.json, <a>__vs__<b>.compare.json and times.tsv, writes
reports/X.md and reports/X.json (commit, config, seed, wall time of each stage)."""
import argparse, json, os, subprocess, sys, datetime

METRICS = ["NDCG@5", "HR@5", "NDCG@10", "HR@10"]
# Published numbers (paper Table 3 / Table 4) for the paper's datasets.
PAPER3 = {
    "games": {"BIGRec": [0.0377, 0.0565, 0.0434, 0.0742], "D3": [0.0432, 0.0631, 0.0498, 0.0836],
              "BIGRec+CFT": [0.0398, 0.0608, 0.0451, 0.0775], "D3+CFT": [0.0453, 0.0674, 0.0516, 0.0868],
              "SASRec": [0.0237, 0.0338, 0.0290, 0.0502], "GRU4Rec": [0.0169, 0.0261, 0.0221, 0.0423],
              "Caser": [0.0122, 0.0187, 0.0164, 0.0321]},
    "cds": {"BIGRec": [0.0780, 0.1131, 0.0945, 0.1631], "D3": [0.0906, 0.1243, 0.1103, 0.1826],
            "BIGRec+CFT": [0.0855, 0.1309, 0.1056, 0.1925], "D3+CFT": [0.0972, 0.1417, 0.1203, 0.2116]},
}
PAPER4 = {
    "games": {"CFT": [0.0398, 0.0608, 0.0451, 0.0775], "w/o CL": [0.0334, 0.0492, 0.0378, 0.0628],
              "w/o TW": [0.0384, 0.0578, 0.0437, 0.0742], "w/o Both": [0.0377, 0.0565, 0.0434, 0.0742]},
}


def load(path):
    with open(path) as f:
        return json.load(f)


def paper_key(dataset):
    for k in PAPER3:
        if dataset.startswith(k):
            return k
    return None


def provenance(args):
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        # reports/ itself does not count: writing one report must not mark the next one dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"],
                               capture_output=True, text=True).stdout.strip()
        commit += "-dirty" if dirty else ""
    except OSError:
        commit = "unknown"
    cfg = ""
    if os.path.exists(args.config):
        for line in open(args.config):
            if line.startswith("include "):   # inline the shared scale file
                inc = line.split(None, 1)[1].strip()
                cfg += f"# --- {line.strip()} ---\n" + (open(inc).read() if os.path.exists(inc) else "") + "# ---\n"
            else:
                cfg += line
    times = []
    tp = os.path.join(args.runs, "times.tsv")
    if os.path.exists(tp):
        for line in open(tp):
            p = line.rstrip("\n").split("\t")
            if len(p) == 3:
                times.append({"stage": p[0], "seconds": float(p[1]), "exit": int(p[2])})
    return {"commit": commit, "dataset": args.dataset, "config_file": args.config, "config": cfg,
            "seed": os.environ.get("SEED", "42"), "generated": datetime.datetime.utcnow().isoformat() + "Z",
            "machine": f"{os.cpu_count()} cores", "times": times}


def fmt(v):
    return "—" if v is None else f"{v:.4f}"


def prov_md(pv):
    lines = ["", "## Provenance", "", f"- commit `{pv['commit']}`, dataset `{pv['dataset']}`, seed {pv['seed']}, "
             f"generated {pv['generated']} on {pv['machine']}", f"- config `{pv['config_file']}`:", "", "```make",
             pv["config"].rstrip(), "```", ""]
    if pv["times"]:
        lines += ["| stage | wall s |", "|---|---:|"]
        tot = 0.0
        for t in pv["times"]:
            if t["exit"] == 0:
                lines.append(f"| {t['stage']} | {t['seconds']:.1f} |")
                tot += t["seconds"]
        lines.append(f"| **total** | **{tot:.1f}** |")
    return lines


def distinct_at(ranked_path, k):
    """Number of distinct items over the top-k of every ranked list in the file."""
    if not os.path.exists(ranked_path):
        return None
    seen = set()
    with open(ranked_path) as f:
        for line in f:
            seen.update(json.loads(line)["items"][:k])
    return len(seen)


# experiment.mk's D3_VARIANTS: decoder name -> row tag
D3_VARIANTS = [("d3b10", "(10 beams)"), ("d3x", "(exact)")]


def table3(args, pv):
    R = args.runs
    rows = [("MostPop", "mostpop"), ("BIGRec", "bigrec.bigrec"), ("D3", "bigrec.d3"),
            ("BIGRec+CFT", "cft.bigrec"), ("D3+CFT", "cft.d3")]
    rows += [r for dec, tag in D3_VARIANTS for r in ((f"D3 {tag}", f"bigrec.{dec}"), (f"D3+CFT {tag}", f"cft.{dec}"))]
    base = [(name, run) for name, run in [("Caser", "caser"), ("GRU4Rec", "gru4rec"), ("SASRec", "sasrec"),
                                          ("GRU4Rec*", "gru4rec-star"), ("SASRec*", "sasrec-star")]
            if os.path.exists(os.path.join(R, run + ".metrics.json"))]
    rows[1:1] = base
    res = {}
    for name, run in rows:
        p = os.path.join(R, run + ".metrics.json")
        if os.path.exists(p):
            res[name] = load(p)
    n = next(iter(res.values()))["n"] if res else 0
    pk = paper_key(args.dataset)
    out = {"table": "table3", "n_test": n, "results": {k: {m: v.get(m) for m in METRICS} for k, v in res.items()},
           "provenance": pv, "compare": {}}
    md = [f"# Table 3 — {args.dataset}", "",
          f"All-ranking HR@K / NDCG@K on {n} test samples (see config below for the scale). "
          "Hits match by title, as the authors' evaluation does.", "",
          "Distinct@10: how many different items the top-10 lists recommend over all test users "
          "(a list that ignores the history recommends the same ten to everyone).", "",
          "| Method | " + " | ".join(METRICS) + " | Distinct@10 |", "|---|" + "---:|" * (len(METRICS) + 1)]
    out["distinct_at_10"] = {}
    for name, run in rows:
        if name in res:
            d = distinct_at(os.path.join(R, run + ".ranked.jsonl"), 10)
            out["distinct_at_10"][name] = d
            md.append(f"| {name} | " + " | ".join(fmt(res[name].get(m)) for m in METRICS) + f" | {d if d is not None else '—'} |")
    if pk:
        md += ["", f"Paper (Qwen2-0.5B, full {pk} data), Table 3:", "", "| Method | " + " | ".join(METRICS) + " |",
               "|---|" + "---:|" * len(METRICS)]
        for name, vals in PAPER3[pk].items():
            md.append(f"| {name} (paper) | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
    # --exact decoding certifies each prompt's top 10 (decode.c); say how many were
    out["exact_certified"] = {}
    for name, run in rows:
        pp = os.path.join(R, run + ".pred.jsonl")
        if run.endswith(".d3x") and name in res and os.path.exists(pp):
            recs = [json.loads(l) for l in open(pp)]
            out["exact_certified"][name] = sum(1 for r in recs if r.get("exact") is True)
            k = out["exact_certified"][name]
            md += ["", f"{name}: {k} of {len(recs)} top-10 lists certified exact (no catalogue title outside "
                   "a list scores higher)" + ("." if k == len(recs) else
                                               "; the others are the best found at the row limit (--max-frontier).")]
    md += ["", "## CFT vs its base (paired bootstrap, 1000 resamples, 95% CI of the difference)", "",
           "| Comparison | metric | this | base | diff | rel. | 95% CI | p |", "|---|---|---:|---:|---:|---:|---|---:|"]
    cmps = [("BIGRec+CFT vs BIGRec", "cft.bigrec__vs__bigrec.bigrec"), ("D3+CFT vs D3", "cft.d3__vs__bigrec.d3"),
            ("BIGRec vs MostPop", "bigrec.bigrec__vs__mostpop")]
    for dec, tag in D3_VARIANTS:
        cmps += [(f"D3+CFT vs D3 {tag}", f"cft.{dec}__vs__bigrec.{dec}"), (f"D3 {tag} vs MostPop", f"bigrec.{dec}__vs__mostpop"),
                 (f"D3+CFT {tag} vs MostPop", f"cft.{dec}__vs__mostpop")]
    for label, cmpf in cmps:
        p = os.path.join(R, cmpf + ".compare.json")
        if not os.path.exists(p):
            continue
        c = load(p)["compare"]
        out["compare"][label] = c
        for m in METRICS:
            x = c[m]
            rel = f"{x['diff'] / x['other'] * 100:+.1f}%" if x["other"] else "—"
            md.append(f"| {label} | {m} | {x['this']:.4f} | {x['other']:.4f} | {x['diff']:+.4f} | {rel} | "
                      f"[{x['ci95'][0]:+.4f}, {x['ci95'][1]:+.4f}] | {x['p']:.3f} |")
    md += prov_md(pv)
    return out, md


def table4(args, pv):
    R = args.runs
    rows = [("CFT", "cft.bigrec"), ("w/o CL", "wocl.bigrec"), ("w/o TW", "wotw.bigrec"), ("w/o Both", "bigrec.bigrec")]
    res = {n: load(os.path.join(R, r + ".metrics.json")) for n, r in rows if os.path.exists(os.path.join(R, r + ".metrics.json"))}
    out = {"table": "table4", "results": {k: {m: v.get(m) for m in METRICS} for k, v in res.items()}, "provenance": pv}
    md = [f"# Table 4 (ablation of BIGRec+CFT) — {args.dataset}", "", "| Variant | " + " | ".join(METRICS) + " |",
          "|---|" + "---:|" * len(METRICS)]
    for n, _ in rows:
        if n in res:
            md.append(f"| {n} | " + " | ".join(fmt(res[n].get(m)) for m in METRICS) + " |")
    pk = paper_key(args.dataset)
    if pk in PAPER4:
        md += ["", "Paper, Table 4:", "", "| Variant | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
        for n, vals in PAPER4[pk].items():
            md.append(f"| {n} (paper) | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
    md += prov_md(pv)
    return out, md


def tv(p, q):
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q))


def fig4(args, pv):
    R = args.runs
    runs = [("BIGRec", "bigrec.bigrec"), ("CFT", "cft.bigrec"), ("BIGRec, no history", "bigrec.bigrec.nohist"),
            ("CFT, no history", "cft.bigrec.nohist")]
    share = {}
    for n, r in runs:
        p = os.path.join(R, r + ".metrics.json")
        if os.path.exists(p):
            share[n] = load(p)["popularity"]["share"]
    G = len(next(iter(share.values())))
    dat = os.path.join(os.path.dirname(args.out) or ".", os.path.basename(args.out) + ".dat")
    with open(dat, "w") as f:
        f.write("# group " + " ".join('"%s"' % n for n in share) + "\n")
        for g in range(G):
            f.write(f"{g + 1} " + " ".join(f"{share[n][g]:.6f}" for n in share) + "\n")
    png = args.out + ".png"
    cols = " , ".join(f"'{dat}' using {i + 2}:xtic(1) title '{n}'" for i, n in enumerate(share))
    gp = (f"set terminal pngcairo size 900,500; set output '{png}'; set style data histograms; "
          "set style histogram clustered gap 1; set style fill solid 0.8 border -1; "
          f"set xlabel 'popularity group (1 = least popular, {G} = most popular)'; set ylabel 'share of top-20 recommendations'; "
          f"set title 'Fig. 4 — {args.dataset}'; set key top left; set yrange [0:*]; plot {cols}")
    rc = subprocess.run(["gnuplot", "-e", gp]).returncode
    if rc != 0:
        gp = gp.replace("pngcairo", "png")
        subprocess.run(["gnuplot", "-e", gp], check=True)
    sens = {}
    for m in ["BIGRec", "CFT"]:
        a, b = share.get(m), share.get(m + ", no history")
        if a and b:
            sens[m] = tv(a, b)
    out = {"figure": "fig4", "share": share, "history_sensitivity_tv": sens, "provenance": pv}
    md = [f"# Fig. 4 — popularity of the top-20 recommendations, {args.dataset}", "", f"![fig4]({os.path.basename(png)})", "",
          "| group | " + " | ".join(share) + " |", "|---|" + "---:|" * len(share)]
    for g in range(G):
        md.append(f"| {g + 1} | " + " | ".join(f"{share[n][g]:.4f}" for n in share) + " |")
    md += ["", "History sensitivity: total-variation distance between the popularity-group distributions "
           "with and without the behaviour history in the prompt (0 = history changes nothing):", ""]
    for m, v in sens.items():
        md.append(f"- {m}: TV = {v:.4f}")
    md += prov_md(pv)
    return out, md


# validation decodings of a search point (experiment.mk's VALIDATION_RULES): file suffix -> label
VAL_DECODINGS = {"val": "BIGRec", "vald3": "D3", "vald3x": "D3 (exact)"}


def val_points(args, select="val"):
    """(name, validation metrics) of each finished search point, best validation NDCG@10 under
    the `select` decoding first."""
    pts = []
    for name in args.points.split():
        p = os.path.join(args.runs, name + f".{select}.metrics.json")
        if os.path.exists(p):
            pts.append((name, load(p)))
    return sorted(pts, key=lambda x: -x[1]["NDCG@10"])


def val_mostpop(args):
    """MostPop's metrics on the same validation samples, or None when not computed."""
    p = os.path.join(args.runs, "mostpop.val.metrics.json")
    return load(p) if os.path.exists(p) else None


def grid(args, pv):
    pts = []
    for name, r in val_points(args):
        lam, bp = name[len("grid-l"):].split("-b")
        pts.append((name, float(lam), float(bp), r))
    best = pts[0] if pts else None
    out = {"table": "grid", "selected_by": "validation NDCG@10",
           "points": [{"lambda": l, "beta_prime": b, "beta": 1 - 1 / b, **{m: r.get(m) for m in METRICS}} for _, l, b, r in pts],
           "best": {"lambda": best[1], "beta_prime": best[2]} if best else None, "provenance": pv}
    md = [f"# lambda x beta' search — {args.dataset}", "", "Selected by **validation** NDCG@10 (the test split is never read).", "",
          "| lambda | beta' | beta | " + " | ".join("val " + m for m in METRICS) + " |", "|---:|---:|---:|" + "---:|" * len(METRICS)]
    for _, l, b, r in pts:
        md.append(f"| {l:g} | {b:g} | {1 - 1 / b:.3f} | " + " | ".join(fmt(r.get(m)) for m in METRICS) + " |")
    mp = val_mostpop(args)
    if mp:
        out["mostpop"] = {m: mp.get(m) for m in METRICS}
        md.append("| MostPop | | | " + " | ".join(fmt(mp.get(m)) for m in METRICS) + " |")
    if best:
        md += ["", f"Best: lambda = {best[1]:g}, beta' = {best[2]:g}. Set DS_LAMBDA / DS_BETA_PRIME in the config to use it."]
    md += prov_md(pv)
    return out, md


def lrsweep(args, pv):
    R = args.runs
    decs = [d for d in VAL_DECODINGS
            if any(os.path.exists(os.path.join(R, f"{n}.{d}.metrics.json")) for n in args.points.split())]
    pts = []
    for name, rsel in val_points(args, args.select):
        lr, ep = name[len("lr"):].rsplit("-e", 1)
        log = os.path.join(R, name + ".log.jsonl")
        best_ep = None
        if os.path.exists(log):
            for line in open(log):
                if '"epoch_end"' in line:
                    best_ep = json.loads(line).get("best_epoch")
        res = {args.select: rsel}
        for d in decs:
            p = os.path.join(R, f"{name}.{d}.metrics.json")
            if d not in res:
                res[d] = load(p) if os.path.exists(p) else {}
        pts.append((name, float(lr), int(ep), best_ep, res))
    mp = val_mostpop(args)
    sel = VAL_DECODINGS[args.select]
    best = pts[0] if pts else None
    beats = bool(best and mp and best[4][args.select]["NDCG@10"] > mp["NDCG@10"] and best[4][args.select]["HR@10"] > mp["HR@10"])
    out = {"table": "lrsweep", "method": "BIGRec fine-tuning", "selected_by": f"validation NDCG@10, {sel} decoding",
           "points": [{"lr": l, "epochs": e, "best_epoch": be,
                       **{m: r.get("val", {}).get(m) for m in METRICS},
                       **{VAL_DECODINGS[d]: {m: r[d].get(m) for m in METRICS} for d in decs if d != "val"}}
                      for _, l, e, be, r in pts],
           "mostpop": {m: mp.get(m) for m in METRICS} if mp else None,
           "best": {"lr": best[1], "epochs": best[2]} if best else None, "best_beats_mostpop": beats, "provenance": pv}
    # the best point under every decoding, for reference
    out["best_by_decoding"] = {}
    for d in decs:
        cand = [(r[d]["NDCG@10"], l, e) for _, l, e, _, r in pts if r[d]]
        if cand:
            v, l, e = max(cand)
            out["best_by_decoding"][VAL_DECODINGS[d]] = {"lr": l, "epochs": e, "NDCG@10": v}
    md = [f"# Learning-rate sweep (BIGRec fine-tuning) — {args.dataset}", "",
          f"Selected by **validation** NDCG@10 under {sel}'s decoding (the test split is never read); "
          "MostPop on the same validation samples.", "",
          "Column groups: the same checkpoint decoded as " + ", ".join(VAL_DECODINGS[d] for d in decs) + ".", "",
          "| lr | epochs | best epoch (val L_n) | " + " | ".join(f"{VAL_DECODINGS[d]} {m}" for d in decs for m in METRICS) + " |",
          "|---:|---:|---:|" + "---:|" * (len(decs) * len(METRICS))]
    for _, l, e, be, r in pts:
        md.append(f"| {l:g} | {e} | {be if be is not None else '—'} | "
                  + " | ".join(fmt(r[d].get(m)) for d in decs for m in METRICS) + " |")
    if mp:
        md.append("| MostPop | | | " + " | ".join(fmt(mp.get(m)) for _ in decs for m in METRICS) + " |")
    if best:
        md += ["", f"Best under {sel}'s decoding: lr = {best[1]:g}, epochs = {best[2]}; "
               + ("beats" if beats else "does **not** beat") + " MostPop on validation NDCG@10 and HR@10. "
               "Set DS_LR / DS_EPOCHS in the config to use it."]
        others = [f"{k}: lr {v['lr']:g} x {v['epochs']} (NDCG@10 {v['NDCG@10']:.4f})"
                  for k, v in out["best_by_decoding"].items()]
        md += ["", "Best point under each decoding: " + "; ".join(others) + "."]
    md += prov_md(pv)
    return out, md


def combine(args):
    """reports/table3.md / table4.md: the per-dataset reports in the paper's layout
    (datasets x metrics as rows, methods as columns), ours beside the paper's where published."""
    kind = args.kind[len("combine-"):]
    parts = []
    for ds in args.dataset.split():
        p = os.path.join(os.path.dirname(args.out) or ".", f"{kind}-{ds}.json")
        if os.path.exists(p):
            parts.append((ds, load(p)))
    methods = []
    for _, r in parts:
        for m in r["results"]:
            if m not in methods:
                methods.append(m)
    md = [f"# {'Table 3' if kind == 'table3' else 'Table 4 (ablation of BIGRec+CFT)'} — all datasets, CPU scale", "",
          "Each dataset's own report (`reports/" + kind + "-<dataset>.md`) has its scale, the CIs and the provenance.",
          "Rows marked (paper) are the published Qwen2-0.5B numbers on the full data.", "",
          "| Dataset | Metric | " + " | ".join(methods) + " |", "|---|---|" + "---:|" * len(methods)]
    for ds, r in parts:
        pk = paper_key(ds)
        paper = (PAPER3 if kind == "table3" else PAPER4).get(pk, {}) if pk else {}
        for i, m in enumerate(METRICS):
            md.append(f"| {ds} | {m} | " + " | ".join(fmt(r["results"].get(x, {}).get(m)) for x in methods) + " |")
            if paper:
                md.append(f"| {ds} (paper) | {m} | " + " | ".join(
                    f"{paper[x][i]:.4f}" if x in paper else "" for x in methods) + " |")
    if kind == "table3":
        md += ["", "Relative improvement of each +CFT over its base (paired bootstrap 95% CI of the difference):", "",
               "| Dataset | Comparison | Metric | rel. | diff 95% CI |", "|---|---|---|---:|---|"]
        for ds, r in parts:
            for label, c in r.get("compare", {}).items():
                if "CFT" not in label:
                    continue
                for m in METRICS:
                    x = c[m]
                    rel = f"{x['diff'] / x['other'] * 100:+.1f}%" if x["other"] else "—"
                    md.append(f"| {ds} | {label} | {m} | {rel} | [{x['ci95'][0]:+.4f}, {x['ci95'][1]:+.4f}] |")
    out = {"table": kind, "datasets": {ds: r for ds, r in parts}}
    return out, md


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["table3", "table4", "fig4", "grid", "lrsweep", "combine-table3", "combine-table4"])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--points", default="")
    ap.add_argument("--select", default="val", choices=list(VAL_DECODINGS))
    a = ap.parse_args()
    if a.kind.startswith("combine-"):
        out, md = combine(a)
    else:
        pv = provenance(a)
        out, md = {"table3": table3, "table4": table4, "fig4": fig4, "grid": grid, "lrsweep": lrsweep}[a.kind](a, pv)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    for ext, text in [(".json", json.dumps(out, indent=1) + "\n"), (".md", "\n".join(md) + "\n")]:
        tmp = a.out + ext + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.out + ext)
    print(f"report.py: wrote {a.out}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
