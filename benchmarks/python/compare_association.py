"""custmine.association against pyfim, mlxtend and efficient-apriori, in one process.

Every run mines the same transactions at the same absolute count threshold; results are
checked equal (same itemsets and counts; pyfim does not report itemsets made only of items
present in every transaction -- the closure of the empty set -- which is the only tolerated
difference) and the script exits non-zero on any disagreement.

Time: wall clock of the mining call including building the Python result (custmine: its
DataFrame, whose default itemsets column -- an ItemsetArray -- holds item codes and builds each
frozenset when it is read, so the rows "frozensets built" also time the object column built up
front with compact=False; pyfim: its list of tuples; mlxtend: its DataFrame). Encoding the
input (reading files, one-hot frames) is excluded for everyone.
Memory: peak RSS increase during the call, sampled every 2 ms with psutil (native memory
is invisible to tracemalloc). Each call runs three times (once with --smoke, once when it takes
over 2 s): the best time and the largest peak are reported, for every contender alike.

Usage:
  python benchmarks/python/compare_association.py --smoke          # CI: < 60 s
  python benchmarks/python/compare_association.py --out benchmarks/results/association.md
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
from custmine import association as A  # noqa: E402

DATA = Path(os.environ.get("CUSTMINE_SHARED_DATA", REPO.parent / "shared" / "data"))

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None


REPEAT = 3  # best of this many runs for every contender (1 in --smoke); a run over 2 s is not repeated


def measure(fn):
    """(result, best seconds, largest peak RSS increase in MB) over up to REPEAT runs."""
    best, peak, res = float("inf"), 0.0, None
    for _ in range(REPEAT):
        res = None  # free the previous result before the next run
        res, dt, mb = _measure_once(fn)
        best, peak = min(best, dt), max(peak, mb)
        if dt > 2.0:
            break
    return res, best, peak


def _measure_once(fn):
    gc.collect()
    peak = [0]
    stop = threading.Event()
    proc = psutil.Process() if psutil else None
    base = proc.memory_info().rss if proc else 0

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss - base)
            time.sleep(0.002)

    th = threading.Thread(target=sampler, daemon=True) if proc else None
    if th:
        th.start()
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    if th:
        stop.set()
        th.join()
        peak[0] = max(peak[0], proc.memory_info().rss - base)
    return res, dt, peak[0] / 2**20 if proc else float("nan")


def load(name):
    if name == "groceries":
        p = DATA / "groceries" / "groceries.csv"
        return A.read_baskets(p) if p.exists() else None
    p = DATA / name / f"{name}.dat"
    return A.read_fimi(p) if p.exists() else None


def peers():
    out = {}
    try:
        import fim

        out["pyfim"] = fim
    except ImportError as e:
        print(f"skip pyfim: not installed ({e})")
    try:
        from mlxtend import frequent_patterns as mfp

        out["mlxtend"] = mfp
    except ImportError as e:
        print(f"skip mlxtend: not installed ({e})")
    try:
        import efficient_apriori

        out["efficient_apriori"] = efficient_apriori
    except ImportError as e:
        print(f"skip efficient-apriori: not installed ({e})")
    return out


def check(ours: dict, theirs: dict, n: int, who: str) -> str | None:
    """None when equal (up to itemsets of always-present items), else a message."""
    missing = [s for s in theirs if s not in ours]
    extra = [s for s in ours if s not in theirs and ours[s] != n]
    wrong = [s for s in theirs if s in ours and ours[s] != theirs[s]]
    if missing or extra or wrong:
        return f"{who}: {len(missing)} missing, {len(extra)} extra, {len(wrong)} with different counts"
    return None


def run(configs, n_threads_list, mlx_max_cells, ea_max, report):
    P = peers()
    rows, failures = [], []
    for name, mincs in configs:
        tx = load(name)
        if tx is None:
            print(f"skip {name}: {DATA / name} is absent")
            continue
        n = tx.n_transactions
        baskets = tx.to_baskets()
        onehot = None
        for minc in mincs:
            res = {}
            ref = None
            for alg in ("fpgrowth", "eclat", "apriori"):
                for nt in n_threads_list:
                    df, dt, mem = measure(lambda: A.frequent_itemsets(tx, minc, algorithm=alg, n_jobs=nt,
                                                                      max_itemsets=None))
                    d = dict(zip(df["itemsets"], df["count"]))
                    if ref is None:
                        ref = d
                    elif d != ref:
                        failures.append(f"{name}@{minc}: custmine {alg} differs from fpgrowth")
                    res[f"custmine {alg} ({nt}t)"] = (dt, mem, len(d))
                    del df
            # itemsets as tuples (what pyfim returns): no hashing, a third of the memory
            df, dt, mem = measure(lambda: A.frequent_itemsets(tx, minc, algorithm="eclat", n_jobs=1,
                                                              max_itemsets=None, itemset_type="tuple"))
            if dict(zip(map(frozenset, df["itemsets"]), df["count"])) != ref:
                failures.append(f"{name}@{minc}: custmine eclat tuples differ from fpgrowth")
            res["custmine eclat, tuples (1t)"] = (dt, mem, len(df))
            del df
            # The default column (ItemsetArray) builds its frozensets when read; this is the
            # cost of building them all up front (compact=False, mlxtend's object column).
            df, dt, mem = measure(lambda: A.frequent_itemsets(tx, minc, algorithm="eclat", n_jobs=1,
                                                              max_itemsets=None, compact=False))
            if dict(zip(df["itemsets"], df["count"])) != ref:
                failures.append(f"{name}@{minc}: custmine eclat object column differs from fpgrowth")
            res["custmine eclat, frozensets built (1t)"] = (dt, mem, len(df))
            del df
            if "pyfim" in P:
                fim = P["pyfim"]
                for alg in ("fpgrowth", "eclat"):
                    out, dt, mem = measure(lambda: getattr(fim, alg)(baskets, supp=-minc, zmin=1, report="a"))
                    theirs = {frozenset(s): c for s, c in out}
                    msg = check(ref, theirs, n, f"{name}@{minc} pyfim {alg}")
                    if msg:
                        failures.append(msg)
                    res[f"pyfim {alg}"] = (dt, mem, len(theirs))
                    del out, theirs
            if "mlxtend" in P:
                cells = n * tx.n_items
                if cells > mlx_max_cells or len(ref) > 300_000:
                    res["mlxtend fpgrowth"] = "skipped: one-hot frame too large or too many itemsets"
                else:
                    if onehot is None:
                        from mlxtend.preprocessing import TransactionEncoder

                        te = TransactionEncoder()
                        onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
                    for alg in ("fpgrowth", "apriori"):
                        if alg == "apriori" and len(ref) > 50_000:
                            res["mlxtend apriori"] = "skipped: > 50k itemsets (minutes)"
                            continue
                        out, dt, mem = measure(lambda: getattr(P["mlxtend"], alg)(onehot, min_support=minc / n,
                                                                                  use_colnames=True))
                        theirs = {s: int(round(v * n)) for s, v in zip(out["itemsets"], out["support"])}
                        msg = check(ref, theirs, n, f"{name}@{minc} mlxtend {alg}")
                        if msg:
                            failures.append(msg)
                        res[f"mlxtend {alg}"] = (dt, mem, len(theirs))
            if "efficient_apriori" in P:
                if len(ref) > ea_max or n * tx.n_items > 5e7:
                    res["efficient-apriori"] = "skipped: too slow at this size (pure Python)"
                else:
                    tuples = [tuple(b) for b in baskets]
                    (its, _), dt, mem = measure(
                        lambda: P["efficient_apriori"].apriori(tuples, min_support=minc / n, min_confidence=1.0,
                                                       max_length=10_000))  # default max_length=8
                    theirs = {frozenset(s): c for k in its for s, c in its[k].items()}
                    theirs = {s: c for s, c in theirs.items() if c >= minc}  # it compares support > fraction
                    msg = check(ref, theirs, n, f"{name}@{minc} efficient-apriori")
                    if msg:
                        failures.append(msg)
                    res["efficient-apriori"] = (dt, mem, len(theirs))
            rows.append((name, n, minc, len(ref), res))
            print_row(name, minc, len(ref), res)
    return rows, failures


def print_row(name, minc, n_sets, res):
    base = res.get("pyfim fpgrowth")
    print(f"\n{name} minc={minc}: {n_sets} itemsets")
    for k, v in res.items():
        if isinstance(v, str):
            print(f"  {k:28s} {v}")
        else:
            ratio = f"  x{v[0] / base[0]:.2f} of pyfim fpgrowth" if base and not isinstance(base, str) else ""
            print(f"  {k:28s} {v[0] * 1000:9.1f} ms  {v[1]:8.1f} MB{ratio}")


def recommend_bench(n_baskets, report):
    tx = load("T10I4D100K")
    if tx is None:
        return None
    baskets = tx.to_baskets()[:n_baskets]
    rec = A.CrossSellRecommender(min_support=100, min_confidence=0.2)
    _, fit_s, _ = measure(lambda: rec.fit(tx))
    out = {}
    for nt in (1, 2):
        rec.set_params(n_jobs=nt)
        r, dt, mem = measure(lambda: rec.recommend_many(baskets, k=5))
        out[nt] = (dt, len(r))
    print(f"\nrecommend_many on {len(baskets):,} T10I4D100K baskets ({len(rec.rules_):,} rules, fit {fit_s:.2f} s): "
          + ", ".join(f"{nt} thread(s) {v[0]:.2f} s" for nt, v in out.items()))
    return len(baskets), len(rec.rules_), fit_s, out


def write_markdown(path, rows, rec, cmd):
    lines = [
        "# Association benchmark (custmine vs pyfim, mlxtend, efficient-apriori)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}. Command: `{cmd}`.",
        "Time = best of 3 mining calls (1 if over 2 s) incl. building the Python result (custmine: its DataFrame, whose "
        "default itemsets column builds each frozenset when read; the row \"frozensets built\" builds them all up "
        "front); memory = largest peak RSS increase (psutil, sampled 2 ms).",
        "Ratios are time / pyfim fpgrowth time (lower is faster). All results were checked equal.",
        "",
    ]
    for name, n, minc, n_sets, res in rows:
        base = res.get("pyfim fpgrowth")
        lines += [f"## {name}, min count {minc} ({minc / n:.4%}), {n_sets:,} itemsets", "",
                  "| run | time (ms) | peak RSS (MB) | vs pyfim fpgrowth |", "|---|---:|---:|---:|"]
        for k, v in res.items():
            if isinstance(v, str):
                lines.append(f"| {k} | {v} | | |")
            else:
                ratio = f"{v[0] / base[0]:.2f}" if base and not isinstance(base, str) else ""
                lines.append(f"| {k} | {v[0] * 1000:.1f} | {v[1]:.1f} | {ratio} |")
        lines.append("")
    if rec:
        nb, nr, fit_s, out = rec
        lines += [f"## recommend_many: {nb:,} baskets, {nr:,} rules (fit {fit_s:.2f} s)", ""]
        lines += [f"- {nt} thread(s): {v[0]:.2f} s ({v[1]:,} recommendations)" for nt, v in out.items()]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny sizes for CI (< 60 s)")
    ap.add_argument("--out", help="write a markdown report here")
    args = ap.parse_args()
    global REPEAT
    if args.smoke:
        REPEAT = 1
        configs = [("groceries", [492]), ("chess", [2877]), ("mushroom", [4062]), ("retail", [882]),
                   ("T10I4D100K", [1000])]
        threads, mlx_cells, ea_max, n_rec = (1, 2), 2e6, 2000, 10_000
    else:
        configs = [("groceries", [98, 49, 10]), ("chess", [2557, 1918]), ("mushroom", [1625, 813]),
                   ("retail", [441, 89, 10]), ("T10I4D100K", [500, 100, 10])]
        threads, mlx_cells, ea_max, n_rec = (1, 2), 2e6, 20_000, 100_000
    rows, failures = run(configs, threads, mlx_cells, ea_max, None)
    rec = recommend_bench(n_rec, None)
    if args.out:
        write_markdown(args.out, rows, rec, " ".join(["python"] + sys.argv))
    if failures:
        print("\nDISAGREEMENT:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nall results agree")


if __name__ == "__main__":
    main()
