"""custmine on Spark and Dask against Spark-native equivalents and custmine on one process,
in one run on the same data: RFM (custmine.tiering.rfm / custmine.dask.rfm /
custmine.spark.rfm / a Spark SQL aggregation with percent_rank scores) and frequent
itemsets (custmine.association / SON on Dask and Spark / Spark MLlib FPGrowth). Checks that
the custmine results agree (and that FPGrowth finds the same itemsets), prints times.

    python benchmarks/python/compare_distributed.py --smoke      # CI: small samples, < 60 s
    python benchmarks/python/compare_distributed.py --copies 10  # Online Retail x 10, Groceries x 10

Data: UCI Online Retail (../shared/data/online_retail) replicated `--copies` times with
distinct customer and invoice ids per copy; Groceries baskets replicated likewise.
Engines run locally: Spark local[N], Dask LocalCluster with N worker processes (--workers).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custmine import association as A
from custmine.tiering import rfm

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def retail(copies, smoke):
    df = pd.read_csv(DATA / "online_retail" / "online_retail.csv", dtype={"InvoiceNo": str, "StockCode": str},
                     usecols=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
    df = df[df["CustomerID"].notna()]
    if smoke:
        df = df.head(40_000)
    df = df.assign(CustomerID=df["CustomerID"].astype("int64"), InvoiceDate=pd.to_datetime(df["InvoiceDate"]))
    parts = [df.assign(CustomerID=df["CustomerID"] + 100_000 * k, InvoiceNo=df["InvoiceNo"] + f"-{k}")
             for k in range(copies)]
    return pd.concat(parts, ignore_index=True)


def groceries(copies, smoke):
    tx = A.read_baskets(DATA / "groceries" / "groceries.csv")
    baskets = tx.to_baskets()
    if smoke:
        baskets = baskets[:3000]
    rows = [(k * len(baskets) + t, it) for k in range(copies) for t, b in enumerate(baskets) for it in b]
    return pd.DataFrame(rows, columns=["tid", "item"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--copies", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    copies = args.copies or 1
    if not (DATA / "online_retail" / "online_retail.csv").exists():
        print("../shared/data not found: nothing to compare")
        return 0
    try:
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
    spark = (SparkSession.builder.master(f"local[{args.workers}]").appName("custmine-bench")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(2 * args.workers))
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    rows, ok = [], True
    try:
        df = retail(copies, args.smoke)
        kw = dict(customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"), order="InvoiceNo")
        ref, t_one = timed(lambda: rfm(df, **kw))
        ddf = dd.from_pandas(df, npartitions=4 * args.workers).persist()
        sdf = spark.createDataFrame(df).cache()
        sdf.count()
        r_dask, t_dask = timed(lambda: cmd.rfm(ddf, **kw))
        r_spark, t_spark = timed(lambda: cms.rfm(sdf, **kw))

        def spark_sql():  # the usual hand-written Spark RFM: aggregate, then percent_rank scores
            from pyspark.sql import Window
            amt = F.col("Quantity") * F.col("UnitPrice")
            agg = sdf.groupBy("CustomerID").agg(
                F.max(F.to_date("InvoiceDate")).alias("last"),
                F.countDistinct(F.when(amt >= 0, F.col("InvoiceNo"))).alias("frequency"),
                F.sum(amt).alias("monetary"))
            w = Window.orderBy
            return (agg.withColumn("r", F.ceil(F.percent_rank().over(w(F.col("last"))) * 5))
                    .withColumn("f", F.ceil(F.percent_rank().over(w("frequency")) * 5))
                    .withColumn("m", F.ceil(F.percent_rank().over(w("monetary")) * 5)).toPandas())

        _, t_sql = timed(spark_sql)
        same = all((r[c].to_numpy() == ref[c].to_numpy()).all() for r in (r_dask, r_spark)
                   for c in ("recency", "frequency", "r_score", "f_score", "m_score"))
        ok &= same
        rows += [dict(task=f"RFM, {len(df):,} rows", engine=e, seconds=round(t, 3), agrees=a)
                 for e, t, a in [("custmine, one process", t_one, True), ("custmine.dask", t_dask, same),
                                 ("custmine.spark", t_spark, same), ("Spark SQL + percent_rank", t_sql, "-")]]

        long = groceries(copies, args.smoke)
        support = 0.01
        fi_ref, t_one = timed(lambda: A.frequent_itemsets(long, support, transaction_col="tid", item_col="item"))
        ldd = dd.from_pandas(long, npartitions=4 * args.workers).persist()
        lsp = spark.createDataFrame(long).cache()
        lsp.count()
        fi_dask, t_dask = timed(lambda: cmd.frequent_itemsets(ldd, transaction="tid", item="item",
                                                              min_support=support))
        fi_spark, t_spark = timed(lambda: cms.frequent_itemsets(lsp, transaction="tid", item="item",
                                                                min_support=support))
        baskets = lsp.groupBy("tid").agg(F.collect_set("item").alias("items")).cache()
        baskets.count()
        fp, t_fp = timed(lambda: FPGrowth(itemsCol="items", minSupport=support).fit(baskets).freqItemsets.toPandas())
        want = dict(zip(fi_ref["itemsets"], fi_ref["count"]))
        same = dict(zip(fi_dask["itemsets"], fi_dask["count"])) == want == \
            dict(zip(fi_spark["itemsets"], fi_spark["count"]))
        # MLlib uses support >= minSupport on fractions; custmine ceil(minSupport * n): same sets here
        fp_same = {frozenset(i): int(c) for i, c in zip(fp["items"], fp["freq"])} == want
        ok &= same and fp_same
        rows += [dict(task=f"itemsets, {long['tid'].nunique():,} baskets", engine=e, seconds=round(t, 3), agrees=a)
                 for e, t, a in [("custmine, one process", t_one, True), ("custmine.dask (SON)", t_dask, same),
                                 ("custmine.spark (SON)", t_spark, same), ("Spark MLlib FPGrowth", t_fp, fp_same)]]
    finally:
        client.close()
        cluster.close()
        spark.stop()
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"workers: {args.workers}; copies: {copies}{' (smoke samples)' if args.smoke else ''}")
    if not ok:
        print("DISAGREEMENT between engines", file=sys.stderr)
        return 1
    print("all results agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
