"""custmine on Apache Spark (PySpark): score any fitted model on Arrow batches, RFM
aggregated in Spark SQL, and frequent itemsets by the SON algorithm; the same answers as
on one machine.

Needs ``pip install custmine[spark]`` (pyspark, pyarrow) and a Java runtime; importing
``custmine`` never imports PySpark. Every function takes a ``pyspark.sql.DataFrame`` and
checks columns, types and the model on the driver before any task runs. On a cluster, run
the same calls under ``spark-submit`` with custmine installed on the executors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _distributed as _d
from . import clv

__all__ = ["predict", "rfm", "summary_data", "cohort_retention", "frequent_itemsets", "recommend"]


def _sql():
    try:
        from pyspark.sql import DataFrame, functions as F, types as T
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("custmine.spark needs PySpark: pip install 'custmine[spark]'") from e
    return DataFrame, F, T


def _check_frame(df, where: str):
    DataFrame, _, _ = _sql()
    if not isinstance(df, DataFrame):
        raise ValueError(f"{where}: df must be a pyspark.sql.DataFrame, got {type(df).__name__}")


def _require(df, cols: dict, where: str):
    missing = {arg: c for arg, c in cols.items() if c is not None and c not in df.columns}
    if missing:
        raise ValueError(f"{where}: missing columns {missing} (the data has {list(df.columns)})")


_NUMERIC = ("ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType")


def _col(name):
    """A column by its literal name (backquoted: names may hold dots, as in bank marketing)."""
    _, F, _ = _sql()
    return F.col("`" + str(name).replace("`", "``") + "`")


def _is_numeric(df, col) -> bool:
    return type(df.schema[col].dataType).__name__ in _NUMERIC


def predict(model, df, features=None, method="predict", output_col="prediction", method_kwargs=None):
    """``df`` with the model's ``method`` output added as double column(s), computed by
    ``mapInPandas`` on Arrow batches. The model is broadcast once (its JSON document, or a
    pickle for pure-Python models) and rebuilt once per Python worker.

    ``features`` may also be a dict {parameter: column}: the columns are then passed by name
    to ``method``, with ``method_kwargs`` — how CLV models score customers, e.g.
    ``predict(bgf, df, {"frequency": "f", "recency": "r", "T": "T"}, "probability_alive")`` or
    ``method="conditional_expected_purchases", method_kwargs={"t": 52}``.

    One output column named ``output_col``, or for 2-d outputs one per class
    (``f"{output_col}_{class}"`` for predict_proba) or per index."""
    where = "custmine.spark.predict"
    _check_frame(df, where)
    _, F, T = _sql()
    payload = _d.model_payload(model, method, where, named=isinstance(features, dict))
    features = _d.feature_names(model, features, df.columns, where)
    cols = _d.columns_of(features)
    bad = [c for c in cols if not _is_numeric(df, c)]
    if bad:
        raise ValueError(f"{where}: feature columns {bad} are not numeric (encode them first)")
    head = df.select(*[_col(c) for c in cols]).limit(1).toPandas()
    if len(head) == 0:
        raise ValueError(f"{where}: df has no rows")
    width = np.asarray(_d.call_model(model, head, features, method, method_kwargs)).reshape(1, -1).shape[1]
    out_cols = _d.output_names(model, method, output_col, width)
    clash = [c for c in out_cols if c in df.columns]
    if clash:
        raise ValueError(f"{where}: output columns {clash} already exist in df (choose another output_col)")
    # Arrow batches travel under positional names: Spark resolves dotted names in a
    # mapInPandas schema as nested fields. The model sees the original names.
    names = list(df.columns)
    safe = [f"_cm{j}" for j in range(len(names))]
    schema = T.StructType([T.StructField(a, f.dataType, f.nullable) for a, f in zip(safe, df.schema.fields)]
                          + [T.StructField(f"_cmout{j}", T.DoubleType()) for j in range(len(out_cols))])
    out_safe = [f"_cmout{j}" for j in range(len(out_cols))]
    shipped = df.sparkSession.sparkContext.broadcast(payload)

    def run(batches):
        for pdf in batches:
            pdf.columns = names
            res = _d.apply_batch(pdf, shipped.value, features, method, out_cols, method_kwargs)
            res.columns = safe + out_safe
            yield res

    return df.toDF(*safe).mapInPandas(run, schema=schema).toDF(*(names + [str(c) for c in out_cols]))


def rfm(df, *, customer, date, amount, order=None, as_of=None, bins=5, monetary="sum", returns="net",
        ties="first", segments=None) -> pd.DataFrame:
    """:func:`custmine.tiering.rfm` on a Spark DataFrame: per-customer aggregation in Spark
    SQL (last day, last purchase day, purchases or distinct purchase orders, value), then
    scoring of the per-customer table on the driver with rfm's own native scorer (exact
    global quantiles, same segment map). Returns a pandas DataFrame indexed by sorted
    customer id, equal to rfm's: monetary totals are rfm's order-independent sums (each
    amount on a fine grid, summed exactly as integer parts in Spark), so they are the same
    doubles and exact ties rank alike. One extra pass finds the largest |amount|."""
    where = "custmine.spark.rfm"
    _check_frame(df, where)
    _, F, T = _sql()
    amount_cols = list(amount) if isinstance(amount, (list, tuple)) else [amount]
    _require(df, {"customer": customer, "date": date, "order": order,
                  **{f"amount[{i}]": c for i, c in enumerate(amount_cols)}}, where)
    for c in amount_cols:
        if not _is_numeric(df, c):
            raise ValueError(f"{where}: amount column {c!r} is not numeric ({df.schema[c].dataType})")
    dtype = type(df.schema[date].dataType).__name__
    if dtype not in ("DateType", "TimestampType", "TimestampNTZType", "StringType"):
        raise ValueError(f"{where}: date must be a date, timestamp or date string column, got {dtype}")
    if returns not in ("net", "exclude"):
        raise ValueError(f"{where}: returns must be 'net' or 'exclude', got {returns!r}")
    amt = _col(amount_cols[0]).cast("double")
    for c in amount_cols[1:]:
        amt = amt * _col(c).cast("double")
    # whole days since the epoch, as rfm counts them (time of day ignored); timestamps are
    # read in the session time zone (spark.sql.session.timeZone), so set it to UTC to match
    # pandas' naive datetimes
    day = F.datediff(F.to_date(_col(date)), F.lit("1970-01-01").cast("date")).cast("long")
    work = df.select(_col(customer).alias("_c"), day.alias("_day"), amt.alias("_amt"),
                     *([_col(order).alias("_o")] if order is not None else []))
    # Pass 1: the largest |amount| fixes the grid of the order-independent totals (rfm's own).
    bad, top = work.agg(F.sum(F.when(F.isnan("_amt") | F.col("_amt").isNull(), 1).otherwise(0)),
                        F.max(F.abs("_amt"))).first()
    if bad:
        raise ValueError(f"{where}: amount contains NaN or missing values ({int(bad)} rows)")
    shift = _d.grid_shift(top, where)
    f1, f2 = _d.grid_factors(shift)
    val = F.col("_amt") if returns == "net" else F.when(F.col("_amt") >= 0, F.col("_amt")).otherwise(0.0)
    y = F.rint(val * F.lit(f1) * F.lit(f2))
    p2 = F.floor(y / F.lit(_d._P2))
    r = y - p2 * F.lit(_d._P2)
    p1 = F.floor(r / F.lit(_d._P1))
    parts = [p2.cast("long"), p1.cast("long"), (r - p1 * F.lit(_d._P1)).cast("long")]
    freq = (F.countDistinct(F.when(F.col("_amt") >= 0, F.col("_o"))) if order is not None
            else F.sum(F.when(F.col("_amt") >= 0, 1).otherwise(0)))
    agg = (work.groupBy("_c")
           .agg(F.max("_day").alias("last_any"),
                F.max(F.when(F.col("_amt") >= 0, F.col("_day"))).alias("last_purchase"),
                *[F.sum(p).alias(f"_p{2 - j}") for j, p in enumerate(parts)], freq.alias("frequency"),
                F.sum(F.when(F.col("_day").isNull(), 1).otherwise(0)).alias("_badday"))
           .toPandas())
    if agg["_badday"].sum() > 0:
        raise ValueError(f"{where}: date has {int(agg['_badday'].sum())} missing or unparseable values")
    if agg["_c"].isna().any():
        raise ValueError(f"{where}: customer has missing values")
    agg["value"] = _d.grid_totals(agg["_p2"], agg["_p1"], agg["_p0"], shift)
    agg = agg.set_index("_c").drop(columns=["_badday", "_p2", "_p1", "_p0"])
    agg["frequency"] = agg["frequency"].astype(np.int64)
    return _d.rfm_from_aggregates(agg, customer_name=customer, bins=bins, ties=ties, monetary=monetary, as_of=as_of,
                                  segments=segments, where=where)


def summary_data(df, *, customer, date, amount=None, freq="D", observation_end=None, calibration_end=None,
                 collapse=False) -> pd.DataFrame:
    """:func:`custmine.clv.summary_data` on a Spark DataFrame, computed in Spark: rows are
    reduced to one total per customer and purchase day, repartitioned by customer, and each
    partition is summarised by summary_data's own native code with the observation window of
    the whole data, so the statistics (frequency, recency, T, monetary value;
    calibration/holdout columns with ``calibration_end``) are equal to summary_data's
    (monetary value up to the order of floating-point additions). Only one row per customer
    reaches the driver, or with ``collapse=True`` only the distinct (frequency, recency, T)
    rows with a ``count``, counted in Spark: fit BG/NBD or Pareto/NBD on them with
    ``weights=count``."""
    where = "custmine.spark.summary_data"
    _check_frame(df, where)
    _, F, T = _sql()
    _require(df, {"customer": customer, "date": date, "amount": amount}, where)
    if amount is not None and not _is_numeric(df, amount):
        raise ValueError(f"{where}: amount column {amount!r} is not numeric ({df.schema[amount].dataType})")
    dtype = type(df.schema[date].dataType).__name__
    if dtype not in ("DateType", "TimestampType", "TimestampNTZType", "StringType"):
        raise ValueError(f"{where}: date must be a date, timestamp or date string column, got {dtype}")
    day = F.datediff(F.to_date(_col(date)), F.lit("1970-01-01").cast("date")).cast("long")
    a = _col(amount).cast("double") if amount is not None else F.lit(0.0)
    # summary_data refuses NaN, infinite and missing amounts; a sum would hide them
    bad_amount = F.isnan("a") | F.col("a").isNull() | (F.abs("a") == float("inf"))
    days = (df.select(_col(customer).alias("c"), day.alias("day"), a.alias("a"))
            .groupBy("c", "day").agg(F.sum("a").alias("a"), F.sum(F.when(bad_amount, 1).otherwise(0)).alias("_bad"))
            .cache())
    try:
        b = days.agg(F.min("day"), F.max("day"), F.sum(F.when(F.col("c").isNull(), 1).otherwise(0)),
                     F.sum(F.when(F.col("day").isNull(), 1).otherwise(0)), F.sum("_bad")).first()
        if b[3]:
            raise ValueError(f"{where}: date has missing or unparseable values")
        if b[4]:
            raise ValueError(f"{where}: amount has NaN, infinite or missing values ({int(b[4])} rows)")
        window = _d.summary_window(b[0], b[1], b[2], freq=freq, observation_end=observation_end,
                                   calibration_end=calibration_end, where=where)
        with_amount = amount is not None
        schema = T.StructType([T.StructField("c", df.schema[customer].dataType)]
                              + [T.StructField(k, T.DoubleType())
                                 for k in clv._summary_columns(with_amount, window[1])])

        def run(batches):
            frames = list(batches)
            if frames:  # a partition holds all of its customers' rows, across its batches
                yield _d.summary_partition(pd.concat(frames, ignore_index=True), freq=freq, window=window,
                                           with_amount=with_amount)

        stats = days.repartition("c").mapInPandas(run, schema=schema)
        if collapse:
            stats = stats.groupBy("frequency", "recency", "T").count()
        res = stats.toPandas()
    finally:
        days.unpersist()
    return _d.summary_result(res, customer_name=customer, collapse=collapse)


def cohort_retention(df, *, customer, date, period="M", kind="classic", amount=None, order=None, returns="net"):
    """:func:`custmine.value.cohort_retention` on a Spark DataFrame: Spark reduces the rows to
    one per customer and day (with ``amount``: per customer, day, order and sign, amounts
    summed), and the cohort matrix is computed from those on the driver by cohort_retention
    itself, so it is equal. With ``amount``, ``order`` is required (orders are counted as
    distinct ids; row counts do not survive the reduction)."""
    where = "custmine.spark.cohort_retention"
    _check_frame(df, where)
    _, F, T = _sql()
    _require(df, {"customer": customer, "date": date, "amount": amount, "order": order}, where)
    if amount is not None and order is None:
        raise ValueError(f"{where}: with amount, pass order= as well (orders are counted as distinct ids)")
    if amount is not None and not _is_numeric(df, amount):
        raise ValueError(f"{where}: amount column {amount!r} is not numeric ({df.schema[amount].dataType})")
    day = F.datediff(F.to_date(_col(date)), F.lit("1970-01-01").cast("date")).cast("long")
    if amount is None:
        rows = df.select(_col(customer).alias("c"), day.alias("day")).distinct().toPandas()
    else:
        a = _col(amount).cast("double")
        rows = (df.select(_col(customer).alias("c"), day.alias("day"), _col(order).alias("o"), a.alias("a"),
                          (a < 0).alias("neg"))
                .groupBy("c", "day", "o", "neg").agg(F.sum("a").alias("a")).toPandas())
    if rows["day"].isna().any():
        raise ValueError(f"{where}: date has missing or unparseable values")
    return _d.cohort_from_reduced(rows, customer_name=customer, order_name=order or "_order", period=period, kind=kind,
                                  with_amount=amount is not None, returns=returns, where=where)


def _joined(batches) -> pd.DataFrame:
    """A partition's Arrow batches as one frame (an empty partition gives an empty frame)."""
    frames = list(batches)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"t": [], "i": []})


def frequent_itemsets(df, *, transaction, item, min_support=0.5, max_len=None) -> pd.DataFrame:
    """Frequent itemsets of a long (transaction, item) Spark DataFrame by SON: rows are
    repartitioned by transaction, each partition is mined with custmine at its share of the
    count threshold, and the union of the local itemsets is broadcast and counted exactly in
    a second pass. Equals :func:`custmine.association.frequent_itemsets` (same itemsets and
    counts; rows ordered by length, count descending, then labels)."""
    where = "custmine.spark.frequent_itemsets"
    _check_frame(df, where)
    _, F, T = _sql()
    _require(df, {"transaction": transaction, "item": item}, where)
    pairs = (df.select(_col(transaction).alias("t"), _col(item).alias("i")).dropna().dropDuplicates()
             .repartition("t").cache())
    try:
        n = pairs.select("t").distinct().count()
        min_count = _d.global_min_count(min_support, n, where)

        # Both passes run on Arrow batches (mapInPandas): a partition's batches are joined,
        # and each partition answers with one pickled blob (itemsets may hold any label type).
        import pickle

        blob = T.StructType([T.StructField("blob", T.BinaryType())])

        def mine(batches):
            pdf = _joined(batches)
            found = _d.local_itemsets(pdf, "t", "i", min_count, n, max_len)
            yield pd.DataFrame({"blob": [pickle.dumps(found)]})

        local = [pickle.loads(r["blob"]) for r in pairs.mapInPandas(mine, schema=blob).collect()]
        candidates = sorted({c for part in local for c in part}, key=lambda s: (len(s), sorted(map(str, s))))
        shipped = df.sparkSession.sparkContext.broadcast(_d.flatten_candidates(candidates))

        def count(batches):
            pdf = _joined(batches)
            yield pd.DataFrame({"blob": [pickle.dumps(_d.count_candidates(pdf, "t", "i", shipped.value))]})

        parts = [pickle.loads(r["blob"]) for r in pairs.mapInPandas(count, schema=blob).collect()]
    finally:
        pairs.unpersist()
    total = np.sum(np.stack(parts), axis=0) if parts else np.zeros(len(candidates), np.int64)
    return _d.itemsets_frame(candidates, total, n, min_count)


def recommend(model, df, *, transaction, item, k=5, mode="cross"):
    """Cross-sell (or up-sell) recommendations for every basket of a long (transaction, item)
    Spark DataFrame with a fitted :class:`custmine.association.CrossSellRecommender`: rows are
    repartitioned by transaction and each partition is scored on Arrow batches by the model's
    native ``recommend_many`` (the model broadcast once). Returns a Spark DataFrame of long rows
    ``transaction``, ``rank`` (1..k), ``recommended``, ``score``, ``rule``; equal to
    ``model.recommend_many`` on the same baskets."""
    where = "custmine.spark.recommend"
    _check_frame(df, where)
    _, F, T = _sql()
    _require(df, {"transaction": transaction, "item": item}, where)
    if not hasattr(model, "recommend_many"):
        raise ValueError(f"{where}: model must be a fitted CrossSellRecommender, got {type(model).__name__}")
    payload = _d.model_payload(model, "recommend_many", where, named=True)
    shipped = df.sparkSession.sparkContext.broadcast(payload)
    schema = T.StructType([T.StructField("t", df.schema[transaction].dataType), T.StructField("rank", T.LongType()),
                           T.StructField("recommended", df.schema[item].dataType),
                           T.StructField("score", T.DoubleType()), T.StructField("rule", T.LongType())])

    def run(batches):
        pdf = pd.concat(list(batches) or [pd.DataFrame({"t": [], "i": []})], ignore_index=True)
        out = _d.recommend_batch(pdf, shipped.value, "t", "i", k, mode)
        yield out

    pairs = df.select(_col(transaction).alias("t"), _col(item).alias("i")).dropna().repartition("t")
    return pairs.mapInPandas(run, schema=schema).withColumnRenamed("t", str(transaction))

