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


def config_text(path, depth=0):
    """a dataset config with its shared scale files inlined (they may include one another)"""
    cfg = ""
    for line in open(path):
        inc = line.split(None, 1)[1].strip() if line.startswith("include ") else None
        if inc and depth < 4:
            body = config_text(inc, depth + 1) if os.path.exists(inc) else ""
            cfg += f"# --- {line.strip()} ---\n" + body + "# ---\n"
        else:
            cfg += line
    return cfg


def provenance(args):
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        # reports/ itself does not count: writing one report must not mark the next one dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"],
                               capture_output=True, text=True).stdout.strip()
        commit += "-dirty" if dirty else ""
    except OSError:
        commit = "unknown"
    cfg = config_text(args.config) if os.path.exists(args.config) else ""
    times = []
    tp = args.times or os.path.join(args.runs, "times.tsv")
    if os.path.exists(tp):
        for line in open(tp):
            p = line.rstrip("\n").split("\t")
            if len(p) >= 3:     # timed.sh; lines before 2026-12-04 lack the end time and machine
                t = {"stage": p[0], "seconds": float(p[1]), "exit": int(p[2])}
                t.update(zip(("ended", "machine"), p[3:5]))
                times.append(t)
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
        dated = any("ended" in t for t in pv["times"])
        lines += ["| stage | wall s |" + (" ended (UTC) | machine |" if dated else ""), "|---|---:|" + ("---|---|" if dated else "")]
        tot = 0.0
        for t in pv["times"]:
            if t["exit"] == 0:
                lines.append(f"| {t['stage']} | {t['seconds']:.1f} |"
                             + (f" {t.get('ended', '')} | {t.get('machine', '')} |" if dated else ""))
                tot += t["seconds"]
        lines.append(f"| **total** | **{tot:.1f}** |" + (" | |" if dated else ""))
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
    if args.scratch:
        md += scratch_md("table3", args.scratch, res)
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
    md += compare_md(R, cmps, out["compare"])
    out["baselines_training"] = {}
    for name, run in base:
        rp = os.path.join(R, run + ".report.json")
        if os.path.exists(rp):
            r = load(rp)
            out["baselines_training"][name] = {k: r.get(k) for k in ("epochs_run", "best_epoch", "stopped_by_time")}
    llm = [("BIGRec", "bigrec.bigrec"), ("BIGRec+CFT", "cft.bigrec"), ("D3", "bigrec.d3"), ("D3+CFT", "cft.d3")]
    llm += [r for dec, tag in D3_VARIANTS for r in ((f"D3 {tag}", f"bigrec.{dec}"), (f"D3+CFT {tag}", f"cft.{dec}"))]
    vs = [(f"{n} vs SASRec", f"{r}__vs__sasrec") for n, r in llm]
    if any(os.path.exists(os.path.join(R, f + ".compare.json")) for _, f in vs):
        md += ["", "## Each LLM row vs SASRec (paired bootstrap, 1000 resamples, 95% CI of the difference)", "",
               "| Comparison | metric | this | SASRec | diff | rel. | 95% CI | p |", "|---|---|---:|---:|---:|---:|---|---:|"]
        out["compare_sasrec"] = {}
        md += compare_md(R, vs, out["compare_sasrec"])
    md += prov_md(pv)
    return out, md


def scratch_md(kind, ds, res):
    """the rows of res from the from-scratch study ds's committed report reports/<kind>-<ds>.json
    (its own test samples: beside, not paired)"""
    path = os.path.join("reports", f"{kind}-{ds}.json")
    if not os.path.exists(path):
        return []
    sc = load(path)
    t3 = os.path.join("reports", f"table3-{ds}.json")     # table 4's JSON has no n_test
    n = sc.get("n_test") or (load(t3).get("n_test") if os.path.exists(t3) else "its")
    md = ["", f"The from-scratch study `{ds}` (its LLM rows: the 0.6M-parameter decoder trained on the data itself; "
          f"every row at that config's scale, {n} test samples: other users and another training set, "
          "so beside these rows, not paired with them):", "",
          "| Method | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for name, vals in sc["results"].items():
        if name in res:
            md.append(f"| {name} ({ds}) | " + " | ".join(fmt(vals.get(m)) for m in METRICS) + " |")
    return md


def compare_md(R, cmps, into):
    """table rows of each (label, A__vs__B) paired-bootstrap file that exists; fills into[label]"""
    md = []
    for label, cmpf in cmps:
        p = os.path.join(R, cmpf + ".compare.json")
        if not os.path.exists(p):
            continue
        c = load(p)["compare"]
        into[label] = c
        for m in METRICS:
            x = c[m]
            rel = f"{x['diff'] / x['other'] * 100:+.1f}%" if x["other"] else "—"
            md.append(f"| {label} | {m} | {x['this']:.4f} | {x['other']:.4f} | {x['diff']:+.4f} | {rel} | "
                      f"[{x['ci95'][0]:+.4f}, {x['ci95'][1]:+.4f}] | {x['p']:.3f} |")
    return md


def table4(args, pv):
    R = args.runs
    rows = [("CFT", "cft.bigrec"), ("w/o CL", "wocl.bigrec"), ("w/o TW", "wotw.bigrec"), ("w/o Both", "bigrec.bigrec"),
            ("CFT, x_0 = input dropped", "cftdrop.bigrec")]
    res = {n: load(os.path.join(R, r + ".metrics.json")) for n, r in rows if os.path.exists(os.path.join(R, r + ".metrics.json"))}
    out = {"table": "table4", "results": {k: {m: v.get(m) for m in METRICS} for k, v in res.items()}, "provenance": pv,
           "compare": {}}
    md = [f"# Table 4 (ablation of BIGRec+CFT) — {args.dataset}", "", "| Variant | " + " | ".join(METRICS) + " |",
          "|---|" + "---:|" * len(METRICS)]
    for n, _ in rows:
        if n in res:
            md.append(f"| {n} | " + " | ".join(fmt(res[n].get(m)) for m in METRICS) + " |")
    missing = [n for n, _ in rows if n not in res]
    out["missing"] = missing
    if missing:
        md += ["", "Not yet run (a partial report): " + ", ".join(missing) + "."]
    pk = paper_key(args.dataset)
    if pk in PAPER4:
        md += ["", "Paper, Table 4:", "", "| Variant | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
        for n, vals in PAPER4[pk].items():
            md.append(f"| {n} (paper) | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
    if args.scratch:
        md += scratch_md("table4", args.scratch, res)
    md += ["", "CFT's counterfactual prompt x_0 is the paper's (history replaced by \"None\"); the last row "
           "trains CFT with the authors' code's x_0 instead (the input block dropped, `mkprompt --counterfactual=drop`).",
           "", "## Paired bootstrap (1000 resamples, 95% CI of the difference)", "",
           "| Comparison | metric | this | other | diff | rel. | 95% CI | p |", "|---|---|---:|---:|---:|---:|---|---:|"]
    cmps = [(f"CFT vs {n}", f"cft.bigrec__vs__{r}") for n, r in rows[1:]]
    cmps += [("w/o CL vs w/o Both", "wocl.bigrec__vs__bigrec.bigrec"), ("w/o TW vs w/o Both", "wotw.bigrec__vs__bigrec.bigrec")]
    md += compare_md(R, cmps, out["compare"])
    md += prov_md(pv)
    return out, md


PREMISE_RUNS = [("base", "backbone before tuning"), ("bigrec", "BIGRec"), ("cft", "BIGRec+CFT")]


def premises(args, pv):
    """CFT's two premises from cft-step --effect: the causal effect of the history by token
    position (Sec. 3.2.2) and the prefix-only accuracy of the untuned backbone (footnote 3)."""
    R = args.runs
    eff = {r: load(os.path.join(R, r + ".effect.json")) for r, _ in PREMISE_RUNS if os.path.exists(os.path.join(R, r + ".effect.json"))}
    label = dict(PREMISE_RUNS)
    out = {"report": "premises", "effect": eff, "provenance": pv}
    n = next(iter(eff.values()))["n"] if eff else 0
    md = [f"# CFT's premises, measured — {args.dataset}", "",
          f"`cft-step --eval --effect` on {n} test samples as normal / counterfactual pairs (x_0: history -> None). "
          "Per response token t (Eq. 5's positions; t = 1 is the opening quote, the last is EOS) and per title "
          "token i: KL(p(.|x_h,y<t) || p(.|x_0,y<t)), the target's |Δ logit| and |Δ log p| between the two prompts, "
          "and argmax accuracy with the history (acc_h), without it (acc_0) and given the response prefix alone "
          "(acc_prefix: no prompt at all; footnote 3).", ""]
    dat = args.out + ".dat"
    T = max((len(e["by_title_position"]) for e in eff.values()), default=0)
    with open(dat, "w") as f:
        f.write("# title_token " + " ".join(f"kl_{r} dlogp_{r} n_{r}" for r in eff) + "\n")
        for i in range(T):
            cells = []
            for r, e in eff.items():
                rows = e["by_title_position"]
                cells += [f"{rows[i]['kl']:.6g} {rows[i]['dlogp']:.6g} {rows[i]['n']}" if i < len(rows) else "NaN NaN 0"]
            f.write(f"{i + 1} " + " ".join(cells) + "\n")
    png = args.out + ".png"
    if eff:
        # positions held by fewer than 5% of the samples are left out of the plot (noise); a log
        # scale, since a fine-tune can move the effect by orders of magnitude
        plots = []
        for j, r in enumerate(eff):
            c = 2 + 3 * j
            plots.append(f"'{dat}' using 1:(${c + 2} >= {max(1, n // 20)} && ${c} > 0 ? ${c} : 1/0) with linespoints title '{label[r]}'")
        gp = (f"set terminal pngcairo size 900,500; set output '{png}'; set xlabel 'title token i (1 = first)'; "
              "set ylabel 'mean KL(p(.|x_h) || p(.|x_0)), nats (log scale)'; set logscale y; "
              f"set title 'Causal effect of the history by title token — {args.dataset}'; set key top right; "
              "plot " + ", ".join(plots))
        if subprocess.run(["gnuplot", "-e", gp]).returncode != 0:
            subprocess.run(["gnuplot", "-e", gp.replace("pngcairo", "png")], check=True)
        md += [f"![premises]({os.path.basename(png)})", ""]
    md += ["## First vs last token", "", "| model | token | n | KL | \\|Δ logit\\| | \\|Δ log p\\| | acc_h | acc_0 | acc_prefix |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r, e in eff.items():
        for key, name in (("title_first", "first title token"), ("title_last", "last title token"),
                          ("response_first", "t = 1 (opening quote)"), ("response_last", "t = \\|y\\| (EOS)")):
            x = e[key]
            ap = "—" if x["acc_prefix"] is None else f"{x['acc_prefix']:.3f}"
            md.append(f"| {label[r]} | {name} | {x['n']} | {x['kl']:.4f} | {x['dlogit']:.4f} | {x['dlogp']:.4f} | "
                      f"{x['acc_h']:.3f} | {x['acc_0']:.3f} | {ap} |")
    md += ["", "Paper, footnote 3 (untuned Qwen2-0.5B, prefix tokens only): accuracy 0.05 on the first token, 0.74 on "
           "the final tokens.", "", "## By title token", "",
           "| i | " + " | ".join(f"n | KL {label[r]} | \\|Δ log p\\| {label[r]} | acc_h {label[r]} | acc_prefix {label[r]}"
                                  for r in eff) + " |",
           "|---:|" + "---:|---:|---:|---:|---:|" * len(eff)]
    for i in range(T):
        cells = []
        for r, e in eff.items():
            rows = e["by_title_position"]
            if i < len(rows):
                x = rows[i]
                ap = "—" if x["acc_prefix"] is None else f"{x['acc_prefix']:.3f}"
                cells.append(f"{x['n']} | {x['kl']:.4f} | {x['dlogp']:.4f} | {x['acc_h']:.3f} | {ap}")
            else:
                cells.append("0 | — | — | — | —")
        md.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    md += prov_md(pv)
    return out, md


SEQREC_ROWS = [("Caser", "caser"), ("GRU4Rec", "gru4rec"), ("SASRec", "sasrec"), ("GRU4Rec*", "gru4rec-star"),
               ("SASRec*", "sasrec-star")]


def seqrec_conf_lr(model):
    for line in open(f"configs/seqrec/{model}.conf"):
        k, _, v = line.split("#")[0].partition("=")
        if k.strip() == "lr":
            return float(v)
    return None


def seqrec_sweep(args, pv):
    """The baselines' learning-rate sweep (validation only) and the Table 3 runs trained with the
    chosen configuration: epochs, best epoch, minutes, test metrics against MostPop with CIs."""
    R = args.runs
    sw = os.path.join(R, "sweep")
    pts = []
    for f in sorted(os.listdir(sw)) if os.path.isdir(sw) else []:
        if f.endswith(".report.json"):
            r = load(os.path.join(sw, f))
            model, lr = f[:-len(".report.json")].split(".lr", 1)
            pts.append((model, float(lr), r))
    out = {"report": "seqrec-sweep", "sweep": [{"model": m, "lr": lr, **{k: r.get(k) for k in
            ("epochs_run", "best_epoch", "valid_NDCG@10", "s_per_epoch", "stopped_by_time")}} for m, lr, r in pts],
           "runs": {}, "compare": {}, "provenance": pv}
    md = [f"# Baselines trained to convergence — {args.dataset}", "",
          "Every baseline trains until its validation NDCG@10 (over the whole valid split) has not improved for "
          "`patience` epochs (configs/seqrec/*.conf); the best-validation epoch is tested. The learning rate "
          "was chosen per model on validation NDCG@10 only, from the sweep below (test columns shown for "
          "reading, never for choosing). train min = epochs x the training time of an epoch; wall min = the "
          "whole run (data loading, validation ranking every epoch, the test ranking) from times.tsv.", "",
          "## Learning-rate sweep (validation selects)", "",
          "| model | lr | epochs run | best epoch | valid NDCG@10 | s/epoch | chosen | test HR@10 | test NDCG@10 |",
          "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for m, lr, r in sorted(pts, key=lambda x: (x[0], x[1])):
        chosen = "yes" if seqrec_conf_lr(m) == lr else ""
        md.append(f"| {m} | {lr:g} | {r['epochs_run']} | {r['best_epoch']} | {r['valid_NDCG@10']:.4f} | "
                  f"{r['s_per_epoch']:.2f} | {chosen} | {r['test']['HR@10']:.4f} | {r['test']['NDCG@10']:.4f} |")
    md += ["", "## The Table 3 runs (chosen configuration, same train/test samples as the LLM rows)", "",
           "| model | epochs run | best epoch | stopped by | train min | wall min | valid NDCG@10 | test HR@10 | test NDCG@10 | Distinct@10 |",
           "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    wall = {t["stage"]: t["seconds"] for t in pv["times"] if t["exit"] == 0}
    mp = os.path.join(R, "mostpop.metrics.json")
    if os.path.exists(mp):
        x = load(mp)
        md.append(f"| MostPop | — | — | — | — | — | — | {x['HR@10']:.4f} | {x['NDCG@10']:.4f} | "
                  f"{distinct_at(os.path.join(R, 'mostpop.ranked.jsonl'), 10)} |")
    for name, run in SEQREC_ROWS:
        rp, mp = os.path.join(R, run + ".report.json"), os.path.join(R, run + ".metrics.json")
        if not (os.path.exists(rp) and os.path.exists(mp)):
            continue
        r, x = load(rp), load(mp)
        out["runs"][name] = {"epochs_run": r["epochs_run"], "best_epoch": r["best_epoch"], "stopped_by_time": r["stopped_by_time"],
                             "train_minutes": r["epochs_run"] * r["s_per_epoch"] / 60,
                             "wall_seconds": wall.get("seqrec-" + run), **{m: x.get(m) for m in METRICS}}
        why = "time cap" if r["stopped_by_time"] else ("epoch cap" if r["epochs_run"] - r["best_epoch"] < 1 else "patience")
        w = wall.get("seqrec-" + run)
        md.append(f"| {name} | {r['epochs_run']} | {r['best_epoch']} | {why} | {r['epochs_run'] * r['s_per_epoch'] / 60:.1f} | "
                  f"{'—' if w is None else f'{w / 60:.1f}'} | "
                  f"{r['valid_NDCG@10']:.4f} | {x['HR@10']:.4f} | {x['NDCG@10']:.4f} | "
                  f"{distinct_at(os.path.join(R, run + '.ranked.jsonl'), 10)} |")
    md += ["", "## Each baseline vs MostPop (paired bootstrap, 1000 resamples, 95% CI of the difference)", "",
           "| Comparison | metric | this | MostPop | diff | rel. | 95% CI | p |", "|---|---|---:|---:|---:|---:|---|---:|"]
    md += compare_md(R, [(f"{n} vs MostPop", f"{r}__vs__mostpop") for n, r in SEQREC_ROWS], out["compare"])
    md += prov_md(pv)
    return out, md


def tv(p, q):
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q))


def per_sample_groups(path):
    """(ids, per-sample top-K counts per popularity group) from metrics --per-sample, or None"""
    if not os.path.exists(path):
        return None
    ids, counts = [], []
    for line in open(path):
        r = json.loads(line)
        if "groups" not in r:
            return None
        ids.append(r["id"])
        counts.append(r["groups"])
    return ids, counts


def fig4_bootstrap(groups, seed, resamples=1000):
    """95% CIs over test samples (one draw for every run: paired) of each history sensitivity,
    of CFT's minus BIGRec's, and of CFT's minus BIGRec's share per group with the history"""
    import numpy as np
    names = list(groups)
    ids = groups[names[0]][0]
    for n in names:
        if groups[n][0] != ids:
            raise SystemExit(f"fig4: the per-sample files of {names[0]} and {n} hold different samples")
    C = {n: np.asarray(groups[n][1], dtype=np.float64) for n in names}     # (n, G)
    rng = np.random.default_rng(int(seed))
    idx = rng.integers(0, len(ids), size=(resamples, len(ids)))

    def shares(n):                                                    # (resamples, G)
        s = C[n][idx].sum(axis=1)
        return s / np.maximum(s.sum(axis=1, keepdims=True), 1)

    S = {n: shares(n) for n in names}
    stats = {}
    for m in ("BIGRec", "CFT"):
        if m in S and m + ", no history" in S:
            stats["tv_" + m] = 0.5 * np.abs(S[m] - S[m + ", no history"]).sum(axis=1)
    if "tv_BIGRec" in stats and "tv_CFT" in stats:
        stats["tv_CFT_minus_BIGRec"] = stats["tv_CFT"] - stats["tv_BIGRec"]
    if "BIGRec" in S and "CFT" in S:
        for g in range(S["CFT"].shape[1]):
            stats[f"share_g{g + 1}_CFT_minus_BIGRec"] = S["CFT"][:, g] - S["BIGRec"][:, g]
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in stats.items()}


def retrain_notes(R, runs):
    """(json, markdown lines) for the runs whose predictions / ranked lists were taken whole from
    a chunk store made by an earlier fine-tune of the same recipe (resumable.sh's
    RESUMABLE_ACCEPT_RETRAIN): how well this machine's retrain reproduces that store"""
    notes, md = {}, []
    for label, r in runs:
        for kind in ("pred", "ranked"):
            p = os.path.join(R, f"{r}.{kind}.jsonl.retrain.json")
            if os.path.exists(p):
                notes.setdefault(label, {})[kind] = load(p)
    for label, k in notes.items():
        parts = []
        for kind, what in (("pred", "predictions"), ("ranked", "ranked lists")):
            if kind in k:
                x = k[kind]
                d = f", scores within {x['max_score_diff']:.1e}" if x.get("max_score_diff") is not None else ""
                ov = f", lists {100 * x['mean_list_overlap']:.1f}% shared" if x.get("mean_list_overlap") is not None else ""
                parts.append(f"{what}: this retrain's first {x['compared']} equal the store's on "
                             f"{x['equal_apart_from_scores']}{ov}{d}")
        md.append(f"- {label}: taken from the committed chunk store, made by an earlier fine-tune of the same "
                  f"recipe on another machine (weights differ in rounding); " + "; ".join(parts) + ".")
    if md:
        md = ["", "Runs from an earlier fine-tune of the same recipe:", ""] + md
    return notes, md


def fig4(args, pv):
    R = args.runs
    runs = [("BIGRec", "bigrec.bigrec"), ("CFT", "cft.bigrec"), ("BIGRec, no history", "bigrec.bigrec.nohist"),
            ("CFT, no history", "cft.bigrec.nohist")]
    share, groups = {}, {}
    for n, r in runs:
        p = os.path.join(R, r + ".metrics.json")
        if os.path.exists(p):
            share[n] = load(p)["popularity"]["share"]
            g = per_sample_groups(os.path.join(R, r + ".per-sample.jsonl"))
            if g:
                groups[n] = g
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
          f"set title 'Fig. 4 — {args.dataset}'; set key below horizontal; set yrange [0:*]; plot {cols}")
    rc = subprocess.run(["gnuplot", "-e", gp]).returncode
    if rc != 0:
        gp = gp.replace("pngcairo", "png")
        subprocess.run(["gnuplot", "-e", gp], check=True)
    sens = {}
    for m in ["BIGRec", "CFT"]:
        a, b = share.get(m), share.get(m + ", no history")
        if a and b:
            sens[m] = tv(a, b)
    ci = fig4_bootstrap(groups, pv["seed"]) if len(groups) == len(share) and len(groups) >= 2 else {}
    retrained, retrained_md = retrain_notes(R, runs)
    out = {"figure": "fig4", "share": share, "history_sensitivity_tv": sens,
           "ci95": ci, "ci_resamples": 1000 if ci else None, "retrained": retrained, "provenance": pv}

    def with_ci(x, key):
        c = ci.get(key)
        return f"{x:+.4f} [{c[0]:+.4f}, {c[1]:+.4f}]" if c else f"{x:+.4f}"
    md = [f"# Fig. 4 — popularity of the top-20 recommendations, {args.dataset}", "", f"![fig4]({os.path.basename(png)})", "",
          "| group | " + " | ".join(share) + (" | CFT − BIGRec (with history), 95% CI |" if "share_g1_CFT_minus_BIGRec" in ci else " |"),
          "|---|" + "---:|" * len(share) + ("---:|" if "share_g1_CFT_minus_BIGRec" in ci else "")]
    for g in range(G):
        row = f"| {g + 1} | " + " | ".join(f"{share[n][g]:.4f}" for n in share) + " |"
        if "share_g1_CFT_minus_BIGRec" in ci:
            row += f" {with_ci(share['CFT'][g] - share['BIGRec'][g], f'share_g{g + 1}_CFT_minus_BIGRec')} |"
        md.append(row)
    md += ["", "History sensitivity: total-variation distance between the popularity-group distributions "
           "with and without the behaviour history in the prompt (0 = history changes nothing)"
           + (", with 95% CIs from 1,000 bootstrap resamples of the test samples (one draw for every run; "
              "they cover the choice of test samples, not the fine-tunes' seeds)" if ci else "") + ":", ""]
    for m, v in sens.items():
        c = ci.get("tv_" + m)
        md.append(f"- {m}: TV = {v:.4f}" + (f" [{c[0]:.4f}, {c[1]:.4f}]" if c else ""))
    if len(sens) == 2:
        md.append(f"- CFT − BIGRec: {with_ci(sens['CFT'] - sens['BIGRec'], 'tv_CFT_minus_BIGRec')}")
    md += retrained_md
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
    R = args.runs
    pts = []
    for name, r in val_points(args, "gval"):
        lam, bp = name[len("grid-l"):].split("-b")
        pts.append((name, float(lam), float(bp), r))
    best = pts[0] if pts else None
    ref = os.path.join(R, "bigrec.gval.metrics.json")
    bigrec = load(ref) if os.path.exists(ref) else None
    mp_p = os.path.join(R, "mostpop.gval.metrics.json")
    mp = load(mp_p) if os.path.exists(mp_p) else None

    def cmp(a, b):
        p = os.path.join(R, f"{a}__vs__{b}.gval.compare.json")
        return load(p)["compare"] if os.path.exists(p) else None
    n = best[3].get("n") if best else None
    out = {"table": "grid", "selected_by": "validation NDCG@10", "validation_samples": n,
           "points": [{"lambda": l, "beta_prime": b, "beta": 1 - 1 / b, **{m: r.get(m) for m in METRICS},
                       "vs_bigrec": cmp(nm, "bigrec"), "vs_default": cmp(nm, args.default) if args.default and nm != args.default else None}
                      for nm, l, b, r in pts],
           "bigrec": {m: bigrec.get(m) for m in METRICS} if bigrec else None,
           "mostpop": {m: mp.get(m) for m in METRICS} if mp else None,
           "default": args.default or None,
           "best": {"lambda": best[1], "beta_prime": best[2]} if best else None, "provenance": pv}
    md = [f"# lambda x beta' search — {args.dataset}", "",
          f"Selected by **validation** NDCG@10 (BIGRec's decoding) on {n} validation samples (the test split is never read). "
          "Each point's HR@10 difference from BIGRec (lambda 0, the same fine-tune without CFT) "
          + ("and from the config's default point " + f"(`{args.default}`, the Table 3 CFT run) " if args.default else "")
          + "is a paired bootstrap on the same samples (1,000 resamples, 95% CI).", "",
          "| lambda | beta' | beta | " + " | ".join("val " + m for m in METRICS) + " | HR@10 vs BIGRec | "
          + ("HR@10 vs default |" if args.default else ""),
          "|---:|---:|---:|" + "---:|" * len(METRICS) + "---:|" + ("---:|" if args.default else "")]

    def ci(c, m="HR@10"):
        if not c:
            return "—"
        x = c[m]
        return f"{x['diff']:+.4f} [{x['ci95'][0]:+.4f}, {x['ci95'][1]:+.4f}]"
    for nm, l, b, r in pts:
        row = f"| {l:g} | {b:g} | {1 - 1 / b:.3f} | " + " | ".join(fmt(r.get(m)) for m in METRICS) + f" | {ci(cmp(nm, 'bigrec'))} |"
        if args.default:
            row += " (default) |" if nm == args.default else f" {ci(cmp(nm, args.default))} |"
        md.append(row)
    tail = " |" if args.default else ""
    for label, x in (("BIGRec (lambda 0)", bigrec), ("MostPop", mp)):
        if x:
            md.append(f"| {label} | | | " + " | ".join(fmt(x.get(m)) for m in METRICS) + " | |" + tail)
    if best:
        md += ["", f"Best: lambda = {best[1]:g}, beta' = {best[2]:g}. Set DS_LAMBDA / DS_BETA_PRIME in the config to use it."]
        cb = cmp(best[0], "bigrec")
        if cb:
            lo, hi = cb["HR@10"]["ci95"]
            md.append(f"Against BIGRec on validation its HR@10 CI is [{lo:+.4f}, {hi:+.4f}]: "
                      + ("above" if lo > 0 else "below" if hi < 0 else "a tie, so the search cannot tell this point from no CFT") + ".")
        cd = cmp(best[0], args.default) if args.default and best[0] != args.default else None
        if cd:
            lo, hi = cd["HR@10"]["ci95"]
            md.append(f"Against the default point: [{lo:+.4f}, {hi:+.4f}]"
                      + (" (a tie: the selection is within noise)." if lo <= 0 <= hi else "."))
    md += prov_md(pv)
    return out, md


def lrsweep(args, pv):
    R = args.runs
    decs = [d for d in VAL_DECODINGS
            if any(os.path.exists(os.path.join(R, f"{n}.{d}.metrics.json")) for n in args.points.split())]
    pts = []
    by_loss = args.select == "loss"
    # selection by the validation loss: every point whose fine-tune finished, ranking metrics
    # (when decoded) reported beside it
    found = [(n, load(os.path.join(R, n + ".val.metrics.json")) if os.path.exists(os.path.join(R, n + ".val.metrics.json")) else {})
             for n in args.points.split() if os.path.exists(os.path.join(R, n, "config.json"))] if by_loss \
        else val_points(args, args.select)
    for name, rsel in found:
        lr, ep = name[len("lr"):].rsplit("-e", 1)
        ep, _, fz = ep.partition("-f")
        log = os.path.join(R, name + ".log.jsonl")
        best_ep, val_ln = None, None
        if os.path.exists(log):
            for line in open(log):
                if '"epoch_end"' in line:
                    j = json.loads(line)
                    best_ep = j.get("best_epoch")
                    if j.get("val_L_n") is not None:
                        val_ln = j["val_L_n"] if val_ln is None else min(val_ln, j["val_L_n"])
        res = {"val" if by_loss else args.select: rsel}
        for d in decs:
            p = os.path.join(R, f"{name}.{d}.metrics.json")
            if d not in res:
                res[d] = load(p) if os.path.exists(p) else {}
        pts.append((name, float(lr), int(ep), best_ep, res, int(fz or 0), val_ln))
    if by_loss:
        pts.sort(key=lambda x: x[6] if x[6] is not None else float("inf"))
    mp = val_mostpop(args)
    sel = "validation L_n" if by_loss else VAL_DECODINGS[args.select]
    dsel = "val" if by_loss else args.select
    best = pts[0] if pts else None
    beats = bool(best and mp and best[4].get(dsel) and best[4][dsel]["NDCG@10"] > mp["NDCG@10"] and best[4][dsel]["HR@10"] > mp["HR@10"])
    out = {"table": "lrsweep", "method": "BIGRec fine-tuning",
           "selected_by": "validation L_n (teacher-forced loss)" if by_loss else f"validation NDCG@10, {sel} decoding",
           "points": [{"lr": l, "epochs": e, "freeze_layers": fz, "best_epoch": be, "val_L_n": vl,
                       **{m: r.get("val", {}).get(m) for m in METRICS},
                       **{VAL_DECODINGS[d]: {m: r[d].get(m) for m in METRICS} for d in decs if d != "val"}}
                      for _, l, e, be, r, fz, vl in pts],
           "mostpop": {m: mp.get(m) for m in METRICS} if mp else None,
           "best": {"lr": best[1], "epochs": best[2], "freeze_layers": best[5]} if best else None, "best_beats_mostpop": beats, "provenance": pv}
    # the best point under every decoding, for reference
    out["best_by_decoding"] = {}
    for d in decs:
        cand = [(r[d]["NDCG@10"], l, e, fz) for _, l, e, _, r, fz, _ in pts if r[d]]
        if cand:
            v, l, e, fz = max(cand)
            out["best_by_decoding"][VAL_DECODINGS[d]] = {"lr": l, "epochs": e, "freeze_layers": fz, "NDCG@10": v}
    md = [f"# Learning-rate sweep (BIGRec fine-tuning) — {args.dataset}", "",
          (f"Selected by the **validation** loss L_n (the test split is never read): on {mp['n'] if mp and 'n' in mp else 'these'} "
           "validation samples a top-10 metric counts a handful of hits, too few to rank the points; "
           "the ranking metrics and MostPop on the same samples are shown beside it." if by_loss else
           f"Selected by **validation** NDCG@10 under {sel}'s decoding (the test split is never read); "
           "MostPop on the same validation samples."), "",
          "Column groups: the same checkpoint decoded as " + ", ".join(VAL_DECODINGS[d] for d in decs) + ".", "",
          "Frozen layers: 0 = full fine-tuning; n = layers 0..n-1 and the embedding frozen. "
          "Validation L_n: the best epoch's teacher-forced loss on the validation samples (lower is better; "
          "far less noisy than a top-10 metric on a few hundred samples).", "",
          "| lr | epochs | frozen layers | best epoch | val L_n | " + " | ".join(f"{VAL_DECODINGS[d]} {m}" for d in decs for m in METRICS) + " |",
          "|---:|---:|---:|---:|---:|" + "---:|" * (len(decs) * len(METRICS))]
    for _, l, e, be, r, fz, vl in pts:
        md.append(f"| {l:g} | {e} | {fz} | {be if be is not None else '—'} | {f'{vl:.4f}' if vl is not None else '—'} | "
                  + " | ".join(fmt(r[d].get(m)) for d in decs for m in METRICS) + " |")
    if mp:
        md.append("| MostPop | | | | | " + " | ".join(fmt(mp.get(m)) for _ in decs for m in METRICS) + " |")
    if best:
        md += ["", f"Best by {sel}: lr = {best[1]:g}, epochs = {best[2]}, frozen layers = {best[5]}; "
               + ("beats" if beats else "does **not** beat") + " MostPop on validation NDCG@10 and HR@10. "
               "Set DS_LR / DS_EPOCHS in the config to use it."]
        others = [f"{k}: lr {v['lr']:g} x {v['epochs']}, frozen {v['freeze_layers']} (NDCG@10 {v['NDCG@10']:.4f})"
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
          "Rows marked (paper) are the published Qwen2-0.5B numbers on the full data. The LLM rows of `*-cpu` "
          "datasets come from a 0.6M-parameter decoder trained from scratch, those of `*-smollm2` from the "
          "pretrained SmolLM2-135M fine-tuned on 1,024 train samples (the baselines there train on the same samples).", ""]
    if kind == "table3":
        capped = [ds for ds, r in parts if any(r.get("results", {}).get(b) for b in ("SASRec", "GRU4Rec", "Caser")) and
                  (not r.get("baselines_training") or any(t.get("stopped_by_time") for t in r["baselines_training"].values()))]
        if capped:
            md += [f"Baselines of {', '.join(capped)}: from runs capped by time before they converged (their reports "
                   "predate training to early stopping; `reports/baselines-<dataset>.md` has the converged runs "
                   "where they exist).", ""]
    md += [
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
    ap.add_argument("kind", choices=["table3", "table4", "fig4", "premises", "grid", "lrsweep", "seqrec-sweep",
                                           "combine-table3", "combine-table4"])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--times", default="", help="the stage times (timed.sh's TSV; default RUNS/times.tsv)")
    ap.add_argument("--points", default="")
    ap.add_argument("--scratch", default="", help="table3, table4: the from-scratch study of the same data (a dataset "
                    "name): its rows from reports/<table>-<name>.json shown beside")
    ap.add_argument("--default", default="", help="grid: the config's own lambda/beta' point, compared with every other")
    ap.add_argument("--select", default="val", choices=list(VAL_DECODINGS) + ["loss"])
    a = ap.parse_args()
    if a.kind.startswith("combine-"):
        out, md = combine(a)
    else:
        pv = provenance(a)
        out, md = {"table3": table3, "table4": table4, "fig4": fig4, "premises": premises, "grid": grid,
                   "lrsweep": lrsweep, "seqrec-sweep": seqrec_sweep}[a.kind](a, pv)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    for ext, text in [(".json", json.dumps(out, indent=1) + "\n"), (".md", "\n".join(md) + "\n")]:
        tmp = a.out + ext + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.out + ext)
    print(f"report.py: wrote {a.out}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
