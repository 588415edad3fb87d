"""custmine on Spark and Dask against Spark-native equivalents and custmine in one process,
in one run on the same data read from the same Parquet files:

- RFM: custmine.tiering.rfm / custmine.dask.rfm / custmine.spark.rfm / a hand-written Spark
  SQL aggregation with percent_rank scores;
- CLV statistics: custmine.clv.summary_data collapsed to (frequency, recency, T) counts /
  custmine.dask.summary_data / custmine.spark.summary_data (collapse=True);
- frequent itemsets on Groceries, retail and T10I4D100K: custmine.association / SON on Dask
  and Spark / Spark MLlib FPGrowth.

Every custmine result is checked equal to the one-process result, and FPGrowth's itemsets
to custmine's; the script exits 1 on any disagreement. Times include reading the Parquet
files (what a job on data of this size does); FPGrowth gets its baskets (collect_set per
transaction) built and cached before its timer starts.

    python benchmarks/python/compare_distributed.py --smoke                 # CI: samples, < 90 s
    python benchmarks/python/compare_distributed.py --rows 50000000 --skip-itemsets --repeat 2
    python benchmarks/python/compare_distributed.py --skip-rfm --fi-copies 10 --workers 1

Data: UCI Online Retail (../shared/data/online_retail, rows with a customer id) replicated
until --rows rows with distinct customer and invoice ids per copy; the basket data sets
replicated --fi-copies times with distinct transaction ids. Engines run locally: Spark
local[N], Dask LocalCluster with N worker processes (--workers).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custmine import association as A
from custmine import clv
from custmine.tiering import rfm

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SUPPORT = {"groceries": 0.01, "retail": 0.005, "T10I4D100K": 0.005}


REPEAT = 1


def timed(fn):
    """Result and best wall time of REPEAT calls (--repeat)."""
    best = float("inf")
    for _ in range(REPEAT):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def retail_rows(n_rows: int, smoke: bool) -> pd.DataFrame:
    """Online Retail rows with a customer, numeric ids (invoice codes), replicated to n_rows."""
    df = pd.read_csv(DATA / "online_retail" / "online_retail.csv", dtype={"InvoiceNo": str},
                     usecols=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
    df = df[df["CustomerID"].notna()]
    if smoke:
        df = df.head(40_000)
    inv, _ = pd.factorize(df["InvoiceNo"])
    base = pd.DataFrame({"CustomerID": df["CustomerID"].astype("int64").to_numpy(),
                         "InvoiceNo": inv.astype(np.int64),
                         "InvoiceDate": pd.to_datetime(df["InvoiceDate"]).to_numpy(),
                         "Quantity": df["Quantity"].astype(np.float64).to_numpy(),
                         "UnitPrice": df["UnitPrice"].to_numpy(np.float64)})
    copies = max(1, -(-n_rows // len(base)))
    parts = [base.assign(CustomerID=base["CustomerID"] + 100_000 * k, InvoiceNo=base["InvoiceNo"] + 1_000_000 * k)
             for k in range(copies)]
    return pd.concat(parts, ignore_index=True).iloc[:max(n_rows, len(base))]


def basket_rows(name: str, copies: int, smoke: bool) -> pd.DataFrame:
    """A basket data set as long (tid, item) rows, replicated with distinct transaction ids."""
    if name == "groceries":
        tx = A.read_baskets(DATA / "groceries" / "groceries.csv")
    else:
        tx = A.read_fimi(DATA / name / f"{name}.dat")
    off = np.asarray(tx._native.offsets, dtype=np.int64)
    items = np.asarray(tx._native.items, dtype=np.int64)
    n = len(off) - 1
    if smoke:
        n = min(n, 3000)
        items = items[:off[n]]
        off = off[:n + 1]
    tid = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
    labels = np.asarray(tx.labels, dtype=object)[items]
    if name != "groceries":
        labels = labels.astype(np.int64)
    return pd.DataFrame({"tid": np.concatenate([tid + k * n for k in range(copies)]),
                         "item": np.concatenate([labels] * copies)})


def write_parquet(df: pd.DataFrame, path: Path, files: int) -> Path:
    path.mkdir(parents=True)
    bounds = np.linspace(0, len(df), files + 1).astype(int)
    for j in range(files):
        df.iloc[bounds[j]:bounds[j + 1]].to_parquet(path / f"part-{j:03d}.parquet", index=False)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--rows", type=int, default=2_000_000, help="Online Retail rows after replication")
    ap.add_argument("--fi-copies", type=int, default=10, help="copies of each basket data set")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-rfm", action="store_true", help="itemsets only")
    ap.add_argument("--skip-itemsets", action="store_true", help="RFM and CLV statistics only")
    ap.add_argument("--repeat", type=int, default=1, help="best of N calls for every timing")
    args = ap.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    if args.smoke:
        args.fi_copies, args.rows = 2, min(args.rows, 200_000)
    if not (DATA / "online_retail" / "online_retail.csv").exists():
        print("../shared/data not found: nothing to compare")
        return 0
    try:
        import dask
        import dask.dataframe as dd
        import distributed
        from pyspark.ml.fpm import FPGrowth
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F

        from custmine import dask as cmd
        from custmine import spark as cms
    except ImportError as e:
        print(f"skipped: an engine is not installed ({e}); pip install 'custmine[spark,dask]'")
        return 0
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    w = args.workers
    spark = (SparkSession.builder.master(f"local[{w}]").appName("custmine-bench")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(4 * w))
             .config("spark.driver.memory", "6g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    cluster = distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40, memory_limit="8GiB")
    client = distributed.Client(cluster)
    tmp = Path(tempfile.mkdtemp(prefix="custmine-dist-"))
    rows, ok = [], True

    def add(task, results):
        nonlocal rows
        rows += [dict(task=task, engine=e, seconds=round(t, 3), agrees=a) for e, t, a in results]

    try:
        if not args.skip_rfm:
            df = retail_rows(args.rows, args.smoke)
            n_rows = len(df)
            path = write_parquet(df, tmp / "online_retail", 4 if args.smoke else 16)
            del df
            kw = dict(customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"), order="InvoiceNo")
            # warm-up outside the timers: the first query of a session pays for JVM class
            # loading and JIT (3x slower than the next one), and Dask starts its workers
            spark.read.parquet(str(path)).groupBy("CustomerID").agg(F.sum("Quantity")).toPandas()
            dd.read_parquet(str(path)).groupby("CustomerID")["Quantity"].sum().compute()
            ref, t_one = timed(lambda: rfm(pd.read_parquet(path), **kw))
            r_dask, t_dask = timed(lambda: cmd.rfm(dd.read_parquet(str(path)), **kw))
            r_spark, t_spark = timed(lambda: cms.rfm(spark.read.parquet(str(path)), **kw))

            def spark_sql():  # the usual hand-written Spark RFM: aggregate, then percent_rank scores
                from pyspark.sql import Window
                sdf = spark.read.parquet(str(path))
                amt = F.col("Quantity") * F.col("UnitPrice")
                agg = sdf.groupBy("CustomerID").agg(
                    F.max(F.to_date("InvoiceDate")).alias("last"),
                    F.countDistinct(F.when(amt >= 0, F.col("InvoiceNo"))).alias("frequency"),
                    F.sum(amt).alias("monetary"))
                win = Window.orderBy
                return (agg.withColumn("r", F.ceil(F.percent_rank().over(win(F.col("last"))) * 5))
                        .withColumn("f", F.ceil(F.percent_rank().over(win("frequency")) * 5))
                        .withColumn("m", F.ceil(F.percent_rank().over(win("monetary")) * 5)).toPandas())

            _, t_sql = timed(spark_sql)
            cols = ("recency", "frequency", "r_score", "f_score", "m_score", "segment")
            same = all(r.index.equals(ref.index) and all((r[c].to_numpy() == ref[c].to_numpy()).all() for c in cols)
                       and np.allclose(r["monetary"], ref["monetary"], rtol=1e-12, atol=1e-9)
                       for r in (r_dask, r_spark))
            ok &= same
            add(f"RFM, {n_rows:,} rows", [("custmine, one process", t_one, True), ("custmine.dask", t_dask, same),
                                          ("custmine.spark", t_spark, same),
                                          ("Spark SQL + percent_rank", t_sql, "-")])

            keys = ["frequency", "recency", "T"]
            skw = dict(customer="CustomerID", date="InvoiceDate", freq="W")

            def one_summary():
                s = clv.summary_data(pd.read_parquet(path, columns=["CustomerID", "InvoiceDate"]),
                                     "CustomerID", "InvoiceDate", freq="W")
                return s.groupby(keys).size().rename("count").reset_index()

            s_ref, t_one = timed(one_summary)
            s_dask, t_dask = timed(lambda: cmd.summary_data(dd.read_parquet(str(path)), **skw, collapse=True))
            s_spark, t_spark = timed(lambda: cms.summary_data(spark.read.parquet(str(path)), **skw, collapse=True))
            same = s_dask.equals(s_ref) and s_spark.equals(s_ref)
            ok &= same
            add(f"CLV statistics (collapsed), {n_rows:,} rows",
                [("custmine, one process", t_one, True), ("custmine.dask", t_dask, same),
                 ("custmine.spark", t_spark, same)])

        if not args.skip_itemsets:
            for name in ("groceries", "retail", "T10I4D100K"):
                long = basket_rows(name, args.fi_copies, args.smoke)
                path = write_parquet(long, tmp / f"baskets_{name}", 4 if args.smoke else 8)
                n_tx = int(long["tid"].nunique())
                del long
                if name == "groceries":  # warm-up outside the timers (see RFM above)
                    spark.read.parquet(str(path)).groupBy("item").count().toPandas()
                    dd.read_parquet(str(path)).groupby("item")["tid"].count().compute()
                support = SUPPORT[name]
                ikw = dict(transaction="tid", item="item", min_support=support)
                fi_ref, t_one = timed(lambda: A.frequent_itemsets(pd.read_parquet(path), support,
                                                                  transaction_col="tid", item_col="item"))
                fi_dask, t_dask = timed(lambda: cmd.frequent_itemsets(dd.read_parquet(str(path)), **ikw))
                fi_spark, t_spark = timed(lambda: cms.frequent_itemsets(spark.read.parquet(str(path)), **ikw))
                baskets = (spark.read.parquet(str(path)).groupBy("tid")
                           .agg(F.collect_set("item").alias("items")).cache())
                baskets.count()
                fp, t_fp = timed(lambda: FPGrowth(itemsCol="items", minSupport=support).fit(baskets)
                                 .freqItemsets.toPandas())
                baskets.unpersist()
                want = dict(zip(fi_ref["itemsets"], fi_ref["count"]))
                same = dict(zip(fi_dask["itemsets"], fi_dask["count"])) == want == \
                    dict(zip(fi_spark["itemsets"], fi_spark["count"]))
                # MLlib's minCount is ceil(minSupport * n), as custmine's
                fp_same = {frozenset(i): int(c) for i, c in zip(fp["items"], fp["freq"])} == want
                ok &= same and fp_same
                add(f"itemsets, {name} x{args.fi_copies} ({n_tx:,} baskets, {len(fi_ref):,} itemsets)",
                    [("custmine, one process", t_one, True), ("custmine.dask (SON)", t_dask, same),
                     ("custmine.spark (SON)", t_spark, same), ("Spark MLlib FPGrowth", t_fp, fp_same)])
    finally:
        client.close()
        cluster.close()
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"workers: {w}{' (smoke samples)' if args.smoke else ''}; dask {dask.__version__}")
    if not ok:
        print("DISAGREEMENT between engines", file=sys.stderr)
        return 1
    print("all results agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
