"""custmine on Dask: score any fitted model partition by partition, RFM aggregated in the
engine, and frequent itemsets by the SON algorithm; the same answers as on one machine.

Needs ``pip install custmine[dask]`` (dask[dataframe] and distributed); importing
``custmine`` never imports Dask. Every function takes a ``dask.dataframe.DataFrame`` and
checks columns, types and the model on the driver before any task runs. Works with a
local ``distributed.Client`` or one connected to a cluster's scheduler address.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _distributed as _d
from . import clv

__all__ = ["predict", "rfm", "summary_data", "cohort_retention", "frequent_itemsets", "recommend"]


def _dd():
    try:
        import dask.dataframe as dd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("custmine.dask needs Dask: pip install 'custmine[dask]'") from e
    return dd


def _check_frame(df, where: str):
    dd = _dd()
    if not isinstance(df, dd.DataFrame):
        raise ValueError(f"{where}: df must be a dask.dataframe.DataFrame, got {type(df).__name__}")


def _require(df, cols: dict, where: str):
    missing = {arg: c for arg, c in cols.items() if c is not None and c not in df.columns}
    if missing:
        raise ValueError(f"{where}: missing columns {missing} (the data has {list(df.columns)})")


def predict(model, df, features=None, method="predict", output_col="prediction", method_kwargs=None):
    """``df`` with the model's ``method`` output added, computed partition by partition
    (``map_partitions``); the model is serialised once and rebuilt once per worker.

    ``features`` may also be a dict {parameter: column}: the columns are then passed by name
    to ``method``, with ``method_kwargs`` — how CLV models score customers, e.g.
    ``predict(bgf, df, {"frequency": "f", "recency": "r", "T": "T"}, "probability_alive")`` or
    ``method="conditional_expected_purchases", method_kwargs={"t": 52}``.

    One output column named ``output_col``, or for 2-d outputs one per class
    (``f"{output_col}_{class}"`` for predict_proba) or per index. Rows keep their order and
    index; a drop-in for dask-ml's ``ParallelPostFit(model).predict(df)``."""
    where = "custmine.dask.predict"
    _check_frame(df, where)
    payload = _d.model_payload(model, method, where, named=isinstance(features, dict))
    features = _d.feature_names(model, features, df.columns, where)
    cols = _d.columns_of(features)
    bad = [c for c in cols if not (pd.api.types.is_numeric_dtype(df.dtypes[c])
                                       or isinstance(df.dtypes[c], pd.CategoricalDtype))]
    if bad and not hasattr(model, "item_names_"):
        raise ValueError(f"{where}: feature columns {bad} are not numeric (encode them first)")
    # The output width from one row of the first non-empty partition, computed on the driver.
    head = df[cols].head(1, npartitions=-1)
    if len(head) == 0:
        raise ValueError(f"{where}: df has no rows")
    width = np.asarray(_d.call_model(model, head, features, method, method_kwargs)).reshape(1, -1).shape[1]
    out_cols = _d.output_names(model, method, output_col, width)
    clash = [c for c in out_cols if c in df.columns]
    if clash:
        raise ValueError(f"{where}: output columns {clash} already exist in df (choose another output_col)")
    meta = df._meta.copy()
    for c in out_cols:
        meta[c] = pd.Series(dtype=np.float64)
    return df.map_partitions(_d.apply_batch, payload, features, method, out_cols, method_kwargs, meta=meta)


def _day_column(s, where: str, arg: str):
    dd = _dd()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ts = s
    elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        ts = dd.to_datetime(s)
    else:
        raise ValueError(f"{where}: {arg} must be datetime64 or date strings, got {s.dtype}")
    return ts.astype("datetime64[ns]").astype(np.int64) // _d._NS_PER_DAY


def rfm(df, *, customer, date, amount, order=None, as_of=None, bins=5, monetary="sum", returns="net",
        ties="first", segments=None) -> pd.DataFrame:
    """:func:`custmine.tiering.rfm` on a Dask DataFrame: per-customer aggregation in Dask
    (last day, last purchase day, purchases or distinct purchase orders, value), then
    scoring of the per-customer table on the driver with rfm's own native scorer, so the
    result (a pandas DataFrame indexed by sorted customer id) equals rfm's on the same rows:
    monetary totals are rfm's order-independent sums (each amount on a fine grid, summed
    exactly as integer parts by Dask), so they are the same doubles and exact ties rank
    alike. One extra pass finds the largest |amount|."""
    where = "custmine.dask.rfm"
    _check_frame(df, where)
    amount_cols = list(amount) if isinstance(amount, (list, tuple)) else [amount]
    _require(df, {"customer": customer, "date": date, "order": order,
                  **{f"amount[{i}]": c for i, c in enumerate(amount_cols)}}, where)
    for c in amount_cols:
        if not pd.api.types.is_numeric_dtype(df.dtypes[c]):
            raise ValueError(f"{where}: amount column {c!r} is not numeric ({df.dtypes[c]})")
    if returns not in ("net", "exclude"):
        raise ValueError(f"{where}: returns must be 'net' or 'exclude', got {returns!r}")
    amt = df[amount_cols[0]].astype(np.float64)
    for c in amount_cols[1:]:
        amt = amt * df[c].astype(np.float64)
    day = _day_column(df[date], where, "date")
    buy = amt >= 0
    # Pass 1: the largest |amount| fixes the grid of the order-independent totals (rfm's own).
    import dask

    n_nan, top = dask.compute(amt.isna().sum(), amt.abs().max())
    if n_nan > 0:  # rfm refuses them; a sum would skip them silently
        raise ValueError(f"{where}: amount contains NaN ({int(n_nan)} rows)")
    shift = _d.grid_shift(top, where)
    val = amt if returns == "net" else amt.where(buy, 0.0)
    names = ("_p2", "_p1", "_p0")
    parts = val.map_partitions(lambda v: pd.DataFrame(dict(zip(names, _d.grid_parts(v.to_numpy(), shift))),
                                                      index=v.index),
                               meta=pd.DataFrame({k: pd.Series(dtype=np.int64) for k in names}))
    work = df[[customer]].assign(_day=day, _pday=day.where(buy), _buy=buy.astype(np.int64),
                                 _p2=parts["_p2"], _p1=parts["_p1"], _p0=parts["_p0"])
    g = work.groupby(customer)
    agg = g.agg({"_day": "max", "_pday": "max", "_p2": "sum", "_p1": "sum", "_p0": "sum", "_buy": "sum"})
    if order is not None:
        bought = df[[customer, order]][buy]
        freq = bought.groupby(customer)[order].nunique()
        agg = agg.join(freq.rename("_orders"), how="left")
    agg = agg.compute()
    if order is not None:
        agg["_buy"] = agg["_orders"].fillna(0).astype(np.int64)
    agg["value"] = _d.grid_totals(agg["_p2"], agg["_p1"], agg["_p0"], shift)
    agg = agg.drop(columns=["_p2", "_p1", "_p0"]).rename(columns={"_day": "last_any", "_pday": "last_purchase",
                                                                   "_buy": "frequency"})
    return _d.rfm_from_aggregates(agg, customer_name=customer, bins=bins, ties=ties, monetary=monetary, as_of=as_of,
                                  segments=segments, where=where)


def summary_data(df, *, customer, date, amount=None, freq="D", observation_end=None, calibration_end=None,
                 collapse=False) -> pd.DataFrame:
    """:func:`custmine.clv.summary_data` on a Dask DataFrame, computed on the workers: rows
    are shuffled by customer and each partition is summarised by summary_data's own native
    code with the observation window of the whole data, so the statistics (frequency,
    recency, T, monetary value; calibration/holdout columns with ``calibration_end``) are
    equal to summary_data's (monetary value up to the order of floating-point additions).
    Only one row per customer reaches the client, or with ``collapse=True`` only the
    distinct (frequency, recency, T) rows with a ``count``: fit BG/NBD or Pareto/NBD on them
    with ``weights=count``."""
    import dask

    where = "custmine.dask.summary_data"
    _check_frame(df, where)
    _require(df, {"customer": customer, "date": date, "amount": amount}, where)
    if amount is not None and not pd.api.types.is_numeric_dtype(df.dtypes[amount]):
        raise ValueError(f"{where}: amount column {amount!r} is not numeric ({df.dtypes[amount]})")
    work = df[[customer]].rename(columns={customer: "c"})
    work = work.assign(day=_day_column(df[date], where, "date"))
    if amount is not None:
        work = work.assign(a=df[amount].astype(np.float64))
    # summary_data refuses NaN, infinite and missing amounts; a sum would hide them
    bad_a = (~work["a"].map_partitions(np.isfinite, meta=("a", bool))).sum() if amount is not None else 0
    first, last, bad_c, bad_day, bad_a = dask.compute(work["day"].min(), work["day"].max(), work["c"].isna().sum(),
                                                      work["day"].isna().sum(), bad_a)
    if bad_day:
        raise ValueError(f"{where}: date has {int(bad_day)} missing or unparseable values")
    if bad_a:
        raise ValueError(f"{where}: amount has NaN, infinite or missing values ({int(bad_a)} rows)")
    window = _d.summary_window(first, last, bad_c, freq=freq, observation_end=observation_end,
                               calibration_end=calibration_end, where=where)
    with_amount = amount is not None
    stat_cols = clv._summary_columns(with_amount, window[1])
    meta = pd.DataFrame({"c": df._meta[customer].iloc[:0], **{k: pd.Series(dtype=np.float64) for k in stat_cols}})
    stats = work.shuffle(on="c").map_partitions(_d.summary_partition, freq=freq, window=window,
                                                 with_amount=with_amount, meta=meta)
    if collapse:
        stats = stats.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    return _d.summary_result(stats.compute(), customer_name=customer, collapse=collapse)


def cohort_retention(df, *, customer, date, period="M", kind="classic", amount=None, order=None, returns="net"):
    """:func:`custmine.value.cohort_retention` on a Dask DataFrame: Dask reduces the rows to
    one per customer and day (with ``amount``: per customer, day, order and sign, amounts
    summed), and the cohort matrix is computed from those on the driver by cohort_retention
    itself, so it is equal. With ``amount``, ``order`` is required (orders are counted as
    distinct ids; row counts do not survive the reduction)."""
    where = "custmine.dask.cohort_retention"
    _check_frame(df, where)
    _require(df, {"customer": customer, "date": date, "amount": amount, "order": order}, where)
    if amount is not None and order is None:
        raise ValueError(f"{where}: with amount, pass order= as well (orders are counted as distinct ids)")
    if amount is not None and not pd.api.types.is_numeric_dtype(df.dtypes[amount]):
        raise ValueError(f"{where}: amount column {amount!r} is not numeric ({df.dtypes[amount]})")
    work = df[[customer]].assign(_day=_day_column(df[date], where, "date"))
    if amount is None:
        rows = work.drop_duplicates().compute()
    else:
        a = df[amount].astype(np.float64)
        work = work.assign(_o=df[order], _a=a, _neg=a < 0)
        rows = work.groupby([customer, "_day", "_o", "_neg"])["_a"].sum().reset_index().compute()
    rows = rows.rename(columns={customer: "c", "_day": "day", "_o": "o", "_a": "a"})
    return _d.cohort_from_reduced(rows, customer_name=customer, order_name=order or "_order", period=period, kind=kind,
                                  with_amount=amount is not None, returns=returns, where=where)


def frequent_itemsets(df, *, transaction, item, min_support=0.5, max_len=None) -> pd.DataFrame:
    """Frequent itemsets of a long (transaction, item) Dask DataFrame by SON: rows are
    shuffled so that each transaction lies in one partition, each partition is mined with
    custmine at its share of the count threshold, and the union of the local itemsets is
    counted exactly in a second pass. Equals :func:`custmine.association.frequent_itemsets`
    (same itemsets and counts; rows ordered by length, count descending, then labels), and
    :func:`custmine.association.association_rules` takes the result unchanged."""
    where = "custmine.dask.frequent_itemsets"
    _check_frame(df, where)
    _require(df, {"transaction": transaction, "item": item}, where)
    pairs = df[[transaction, item]].dropna().drop_duplicates().shuffle(on=transaction)
    n = int(pairs[transaction].nunique().compute())
    min_count = _d.global_min_count(min_support, n, where)
    local = pairs.map_partitions(
        lambda p: pd.Series([_d.local_itemsets(p, transaction, item, min_count, n, max_len)], dtype=object),
        meta=pd.Series(dtype=object)).compute()
    candidates = sorted({c for part in local for c in part}, key=lambda s: (len(s), sorted(map(str, s))))
    flat = _d.flatten_candidates(candidates)
    counts = pairs.map_partitions(
        lambda p: pd.Series([_d.count_candidates(p, transaction, item, flat)], dtype=object),
        meta=pd.Series(dtype=object)).compute()
    total = np.sum(np.stack(list(counts)), axis=0) if len(counts) else np.zeros(len(candidates), np.int64)
    return _d.itemsets_frame(candidates, total, n, min_count)


def recommend(model, df, *, transaction, item, k=5, mode="cross"):
    """Cross-sell (or up-sell) recommendations for every basket of a long (transaction, item)
    Dask DataFrame with a fitted :class:`custmine.association.CrossSellRecommender`: rows are
    shuffled so that each basket lies in one partition, and each partition is scored by the
    model's native ``recommend_many`` (the model shipped once). Returns a Dask DataFrame of
    long rows ``transaction``, ``rank`` (1..k), ``recommended``, ``score``, ``rule``; equal to
    ``model.recommend_many`` on the same baskets."""
    where = "custmine.dask.recommend"
    _check_frame(df, where)
    _require(df, {"transaction": transaction, "item": item}, where)
    if not hasattr(model, "recommend_many"):
        raise ValueError(f"{where}: model must be a fitted CrossSellRecommender, got {type(model).__name__}")
    payload = _d.model_payload(model, "recommend_many", where, named=True)
    meta = pd.DataFrame({transaction: df._meta[transaction], "rank": pd.Series(dtype=np.int64),
                         "recommended": df._meta[item].iloc[:0], "score": pd.Series(dtype=np.float64),
                         "rule": pd.Series(dtype=np.int64)})
    pairs = df[[transaction, item]].dropna().shuffle(on=transaction)
    return pairs.map_partitions(_d.recommend_batch, payload, transaction, item, k, mode, meta=meta)

