"""RFM side by side: custmine vs idiomatic pandas, polars and DuckDB, in one process.

Every engine starts from the same pandas DataFrame (customer, date, amount, order), computes
recency / frequency (distinct orders with a purchase) / monetary (net) per customer and the
equal-sized quintile scores (ties by customer id), and must agree with custmine exactly.
Time includes each engine's conversion from pandas. Peak memory is the peak resident-set
growth during the call, sampled every 2 ms (psutil), so it counts native allocations too.

    python benchmarks/python/compare_tiering.py            # full: Online Retail + 10M rows
    python benchmarks/python/compare_tiering.py --smoke    # small sizes, agreement only
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _bench import PeakRSS

import custmine
from custmine.tiering import rfm

BINS = 5
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


# ---------------------------------------------------------------------------------
# measurement


def measure(fn, repeat):
    best, mem, out = float("inf"), 0.0, None
    for _ in range(repeat):
        with PeakRSS() as m:
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
        best = min(best, dt)
        mem = max(mem, m.mib)
        del m
    return best, mem, out


# ---------------------------------------------------------------------------------
# the engines (each returns a DataFrame indexed by customer, sorted, with the 6 columns)

COLS = ["recency", "frequency", "monetary", "r_score", "f_score", "m_score"]


def run_custmine(df):
    t = rfm(df, customer="customer", date="date", amount="amount", order="order", bins=BINS)
    return t[COLS]


def _scores(out):
    n = len(out)
    out["r_score"] = np.ceil(out["recency"].rank(ascending=False, method="first") * BINS / n).astype("int32")
    out["f_score"] = np.ceil(out["frequency"].rank(method="first") * BINS / n).astype("int32")
    out["m_score"] = np.ceil(out["monetary"].rank(method="first") * BINS / n).astype("int32")
    return out


def run_pandas(df):
    day = df["date"].dt.normalize()
    as_of = day.max() + pd.Timedelta(days=1)
    buy = df["amount"] >= 0
    g_all = df.assign(day=day).groupby("customer", sort=True)
    g_buy = df[buy].assign(day=day[buy]).groupby("customer", sort=True)
    last_any = g_all["day"].max()
    last = g_buy["day"].max().reindex(last_any.index).fillna(last_any)
    out = pd.DataFrame({
        "recency": (as_of - last).dt.days.astype("int64"),
        "frequency": g_buy["order"].nunique().reindex(last_any.index, fill_value=0).astype("int64"),
        "monetary": g_all["amount"].sum(),
    })
    return _scores(out)


def run_polars(df):
    import polars as pl

    p = pl.from_pandas(df)
    day = pl.col("date").dt.truncate("1d")
    buy = pl.col("amount") >= 0
    agg = (
        p.lazy()
        .group_by("customer")
        .agg(
            last_any=day.max(),
            last_buy=day.filter(buy).max(),
            frequency=pl.col("order").filter(buy).n_unique().cast(pl.Int64),
            monetary=pl.col("amount").sum(),
        )
        .sort("customer")
        .with_columns(last=pl.coalesce("last_buy", "last_any"))
    )
    as_of = p.select(day.max()).item() + pd.Timedelta(days=1)
    n = pl.len()
    res = (
        agg.with_columns(recency=(pl.lit(as_of) - pl.col("last")).dt.total_days())
        .with_columns(
            r_score=((-pl.col("recency")).rank("ordinal") * BINS / n).ceil().cast(pl.Int32),
            f_score=(pl.col("frequency").rank("ordinal") * BINS / n).ceil().cast(pl.Int32),
            m_score=(pl.col("monetary").rank("ordinal") * BINS / n).ceil().cast(pl.Int32),
        )
        .collect()
    )
    # reversed ordinal rank of recency must break ties by customer ascending like the others
    out = res.select(["customer"] + COLS).to_pandas().set_index("customer")
    return out


def run_duckdb(df):
    import duckdb

    con = duckdb.connect()
    con.register("tx", df)
    q = f"""
    WITH agg AS (
      SELECT customer,
             max(date_trunc('day', date)) AS last_any,
             max(CASE WHEN amount >= 0 THEN date_trunc('day', date) END) AS last_buy,
             count(DISTINCT CASE WHEN amount >= 0 THEN "order" END) AS frequency,
             sum(amount) AS monetary
      FROM tx GROUP BY customer
    ), as_of_day AS (SELECT max(date_trunc('day', date)) + INTERVAL 1 DAY AS d FROM tx),
    r AS (
      SELECT customer, frequency, monetary,
             date_diff('day', coalesce(last_buy, last_any), (SELECT d FROM as_of_day)) AS recency
      FROM agg
    )
    SELECT customer, recency, frequency, monetary,
      CAST(ceil(row_number() OVER (ORDER BY recency DESC, customer) * {BINS} / count(*) OVER ()) AS INTEGER) AS r_score,
      CAST(ceil(row_number() OVER (ORDER BY frequency, customer) * {BINS} / count(*) OVER ()) AS INTEGER) AS f_score,
      CAST(ceil(row_number() OVER (ORDER BY monetary, customer) * {BINS} / count(*) OVER ()) AS INTEGER) AS m_score
    FROM r ORDER BY customer
    """
    out = con.execute(q).df().set_index("customer")
    con.close()
    return out


ENGINES = {"custmine": run_custmine, "pandas": run_pandas, "polars": run_polars, "duckdb": run_duckdb}


def check_agree(ref, other, name):
    other = other.copy()
    if len(ref) != len(other) or not np.array_equal(ref.index.to_numpy(), other.index.to_numpy()):
        raise AssertionError(f"{name}: different customers")
    for c in ["recency", "frequency", "r_score", "f_score", "m_score"]:
        if not np.array_equal(ref[c].to_numpy(np.int64), other[c].to_numpy(np.int64)):
            bad = np.flatnonzero(ref[c].to_numpy(np.int64) != other[c].to_numpy(np.int64))
            raise AssertionError(f"{name}: column {c} differs for {len(bad)} customers (first {ref.index[bad[0]]})")
    if not np.allclose(ref["monetary"], other["monetary"], rtol=1e-9, atol=1e-6):
        raise AssertionError(f"{name}: monetary differs")


# ---------------------------------------------------------------------------------
# data


def online_retail():
    path = SHARED / "online_retail" / "online_retail.csv"
    if not path.exists():
        return None
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw[raw["CustomerID"].notna()]
    return pd.DataFrame({
        "customer": raw["CustomerID"].astype("int64").to_numpy(),
        "date": pd.to_datetime(raw["InvoiceDate"]).to_numpy(),
        "amount": (raw["Quantity"] * raw["UnitPrice"]).to_numpy(),
        "order": raw["InvoiceNo"].to_numpy(),
    })


def synthetic(n, n_customers, string_ids, seed=0):
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n)
    cust[: min(n, n_customers)] = np.arange(min(n, n_customers))
    dates = np.datetime64("2022-01-01") + rng.integers(0, 730 * 86400, n).astype("timedelta64[s]")
    # Quarter units are exact in binary, so sums agree across engines whatever their order
    # (with cents, order-dependent rounding would reorder near-tied customers).
    amount = np.round(rng.gamma(2.0, 20.0, n) * 4) / 4 * np.where(rng.random(n) < 0.03, -1, 1)
    # An order belongs to one customer: lines of the same customer in the same week.
    order = cust * 200 + (dates - np.datetime64("2022-01-01")).astype("timedelta64[W]").astype(np.int64)
    df = pd.DataFrame({"customer": cust, "date": dates.astype("datetime64[ns]"), "amount": amount, "order": order})
    if string_ids:
        df["customer"] = pd.Series(np.char.add("C", cust.astype(str)), dtype=object)
    return df


def bench(label, df, repeat, engines):
    print(f"\n## {label}: {len(df):,} rows, {df['customer'].nunique():,} customers")
    results = {}
    for name in engines:
        try:
            t, mem, out = measure(lambda: ENGINES[name](df), repeat)
        except ImportError as exc:
            print(f"  {name:9s} skipped: {exc}")
            continue
        results[name] = (t, mem, out)
    ref = results["custmine"][2]
    for name, (_, _, out) in results.items():
        if name != "custmine":
            check_agree(ref, out, name)
    base = results["custmine"][0]
    print(f"  {'engine':9s} {'time s':>9s} {'vs custmine':>12s} {'peak MiB':>9s}")
    for name, (t, mem, _) in results.items():
        print(f"  {name:9s} {t:9.3f} {t / base:11.1f}x {mem:9.0f}")
    print("  results agree: yes")
    return {k: v[:2] for k, v in results.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small sizes: check agreement quickly")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    engines = list(ENGINES)
    print(f"custmine {custmine.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    if args.smoke:
        bench("synthetic (int ids)", synthetic(50_000, 2_000, False), 1, engines)
        bench("synthetic (str ids)", synthetic(50_000, 2_000, True), 1, engines)
        return 0
    retail = online_retail()
    if retail is None:
        print("Online Retail not found in ../shared/data: skipped")
    else:
        bench("UCI Online Retail", retail, args.repeat, engines)
    n = args.rows
    bench("synthetic (int ids)", synthetic(n, n // 20, False), args.repeat, engines)
    bench("synthetic (str ids)", synthetic(n, n // 20, True), args.repeat, engines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
