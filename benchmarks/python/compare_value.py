"""custmine.value.cohort_retention / retention_metrics against the idiomatic pandas
implementation, in one process on the same data: results must agree exactly (integer
counts), then time ratios and peak memory.

Data: the full UCI Online Retail file in ../shared/data/online_retail (406,829 rows with a
customer; the bundled 25 % sample when the file is absent) and a synthetic table of
10,000,000 rows (1,000,000 customers over three years). ``--smoke`` uses 200,000
synthetic rows and finishes in well under a minute.

Memory is the peak resident-set size (psutil RSS, sampled every 2 ms by a thread) above
the RSS before the call, so native allocations count too.

Usage: PYTHONPATH=python python3 benchmarks/python/compare_value.py [--smoke] [--rows N]
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
import psutil

from custmine import value as cv

HERE = Path(__file__).resolve()
SHARED = Path(os.environ.get("CUSTMINE_SHARED_DATA", HERE.parents[3] / "shared" / "data"))


class PeakRSS:
    """Peak RSS above the starting RSS while the block runs (sampled)."""

    def __enter__(self):
        gc.collect()
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self.stop = False
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self):
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.mb = (self.peak - self.base) / 2**20


def timed(fn, repeat: int):
    best, out, mem = float("inf"), None, 0.0
    for _ in range(repeat):
        with PeakRSS() as m:
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
        best, mem = min(best, dt), max(mem, m.mb)
    return out, best, mem


# ---- pandas reference (what an analyst writes) -------------------------------------

def pandas_cohort(df: pd.DataFrame, customer: str, date: str, period: str) -> pd.DataFrame:
    p = df[date].dt.to_period(period)
    cohort = p.groupby(df[customer]).transform("min")
    n = p.astype("int64") - cohort.astype("int64")
    return (pd.DataFrame({"cohort": cohort, "n": n, "c": df[customer]})
            .groupby(["cohort", "n"])["c"].nunique().unstack(fill_value=0))


def pandas_metrics(df: pd.DataFrame, customer: str, date: str, period: str) -> pd.DataFrame:
    p = df[date].dt.to_period(period)
    pairs = pd.DataFrame({"c": df[customer], "p": p}).drop_duplicates()
    # every period of the range, also those without a purchase (the previous period of a
    # period after a gap is the empty one)
    full = pd.period_range(p.min(), p.max(), freq=p.dt.freq)
    active = pairs.groupby("p").size().reindex(full, fill_value=0)
    new = pairs.groupby("c")["p"].min().value_counts().reindex(active.index, fill_value=0)
    retained = pairs.merge(pairs.assign(p=pairs["p"] + 1), on=["c", "p"]).groupby("p").size()
    retained = retained.reindex(active.index, fill_value=0)
    return pd.DataFrame({"customers": active, "new_customers": new, "retained_customers": retained,
                         "retention_rate": retained / active.shift(1).replace(0, np.nan)})


def check_cohort(mine: cv.CohortRetention, ref: pd.DataFrame) -> bool:
    got = mine.counts.to_numpy(dtype=float, na_value=np.nan)
    exp = ref.reindex(columns=mine.counts.columns, fill_value=0).to_numpy(dtype=float)
    if got.shape != exp.shape or [str(i) for i in mine.counts.index] != [str(i) for i in ref.index]:
        return False
    obs = ~np.isnan(got)
    return bool(np.array_equal(got[obs], exp[obs]) and (exp[~obs] == 0).all())


def check_metrics(mine: pd.DataFrame, ref: pd.DataFrame) -> bool:
    ref = ref.reindex(mine.index)
    ints = all(np.array_equal(mine[c].to_numpy(), ref[c].fillna(0).to_numpy())
               for c in ("customers", "new_customers", "retained_customers"))
    rates = np.allclose(mine["retention_rate"], ref["retention_rate"], rtol=1e-12, equal_nan=True)
    return ints and rates


# ---- data ---------------------------------------------------------------------------

def online_retail() -> tuple[pd.DataFrame, str]:
    path = SHARED / "online_retail" / "online_retail.csv"
    if path.exists():
        df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
        df = df[df["CustomerID"].notna()].reset_index(drop=True)
        df["CustomerID"] = df["CustomerID"].astype(np.int64)
        df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
        return df, f"UCI Online Retail, full ({len(df):,} rows with a customer)"
    from custmine.datasets import load_online_retail

    df = load_online_retail()
    return df, f"bundled Online Retail sample ({len(df):,} rows; ../shared/data absent)"


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customers = max(rows // 10, 1)
    # each customer starts on a random day and buys over the following days (geometric gaps)
    cust = rng.integers(0, customers, rows)
    start = rng.integers(0, 1095, customers)
    day = np.minimum(start[cust] + rng.geometric(1 / 60, rows) - 1, 1094)
    return pd.DataFrame({"customer": cust, "date": pd.Timestamp("2021-01-01").to_datetime64()
                         + day.astype("timedelta64[D]")})


# ---- main ---------------------------------------------------------------------------

def run(name: str, df: pd.DataFrame, customer: str, date: str, period: str, repeat: int, rows: list) -> bool:
    ok = True
    mine, t_mine, m_mine = timed(lambda: cv.cohort_retention(df, customer=customer, date=date, period=period,
                                                             n_jobs=2), repeat)
    ref, t_ref, m_ref = timed(lambda: pandas_cohort(df, customer, date, period), repeat)
    agree = check_cohort(mine, ref)
    ok &= agree
    rows.append((name, f"cohort_retention ({period})", t_mine, t_ref, m_mine, m_ref, agree))
    mm, t_mm, m_mm = timed(lambda: cv.retention_metrics(df, customer=customer, date=date, period=period, n_jobs=2),
                           repeat)
    rm, t_rm, m_rm = timed(lambda: pandas_metrics(df, customer, date, period), repeat)
    agree = check_metrics(mm, rm)
    ok &= agree
    rows.append((name, f"retention_metrics ({period})", t_mm, t_rm, m_mm, m_rm, agree))
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    ap.add_argument("--rows", type=int, default=None, help="synthetic rows (default 10,000,000; smoke 200,000)")
    args = ap.parse_args(argv)
    rows_n = args.rows or (200_000 if args.smoke else 10_000_000)
    repeat = 1 if args.smoke else 3
    print(f"machine: {platform.processor() or platform.machine()}, {psutil.cpu_count()} logical cores, "
          f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    results = []
    ok = True
    retail, label = online_retail()
    print(f"data: {label}")
    ok &= run("Online Retail", retail, "CustomerID", "InvoiceDate", "M", repeat, results)
    if not args.smoke:
        ok &= run("Online Retail", retail, "CustomerID", "InvoiceDate", "W", repeat, results)
    del retail
    syn = synthetic(rows_n)
    print(f"data: synthetic, {len(syn):,} rows, {syn['customer'].nunique():,} customers, 3 years")
    ok &= run(f"synthetic {len(syn):,}", syn, "customer", "date", "M", repeat, results)
    print()
    print("| data | function | custmine s | pandas s | speed-up | custmine peak MB | pandas peak MB | agree |")
    print("|---|---|---|---|---|---|---|---|")
    for name, fn, tm, tr, mm, mr, agree in results:
        print(f"| {name} | {fn} | {tm:.3f} | {tr:.3f} | {tr / tm:.1f}x | {mm:.0f} | {mr:.0f} | {'yes' if agree else 'NO'} |")
    print(f"\n(best of {repeat}; memory = peak RSS above the RSS before the call, psutil, sampled every 2 ms)")
    if not ok:
        print("RESULTS DISAGREE", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
