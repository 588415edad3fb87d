"""Engine-independent parts of custmine.spark and custmine.dask.

Both engines do the same three things: apply a fitted model to pandas batches on the
workers (the model travels once, as its JSON document or, for pure-Python models, as a
pickle), aggregate transactions per customer in the engine and score the small result on
the driver with the same native code as :func:`custmine.tiering.rfm`, and count itemsets
by the SON algorithm (Savasere, Omiecinski & Navathe 1995, "An efficient algorithm for
mining association rules in large databases", VLDB). Nothing here imports an engine.
"""
from __future__ import annotations

import importlib
import math
import pickle
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._itemset_array import ItemsetArray

_METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")
_NS_PER_DAY = 86_400 * 10**9


# ---------------------------------------------------------------------------------
# Scoring


def model_payload(model, method: str, where: str, named: bool = False) -> tuple:
    """Checks on the driver that `model` is fitted and has `method`; returns what the
    workers need to rebuild it: ("json", module, class, text) or ("pickle", bytes).
    With `named` (features given as {parameter: column}), any public scoring method is
    allowed, e.g. a CLV model's probability_alive."""
    if not named and method not in _METHODS:
        raise ValueError(f"{where}: method must be one of {_METHODS}, got {method!r}")
    if named and (not isinstance(method, str) or method.startswith("_") or method.startswith("fit")):
        raise ValueError(f"{where}: method must name a public scoring method, got {method!r}")
    if not callable(getattr(model, method, None)):
        raise ValueError(f"{where}: {type(model).__name__} has no method {method!r}")
    try:
        check_is_fitted(model)
    except NotFittedError as e:
        raise ValueError(f"{where}: the model is not fitted ({e})") from None
    except TypeError:
        pass  # not an estimator in scikit-learn's sense (e.g. a recommender): its own methods check
    cls = type(model)
    if hasattr(model, "to_json") and hasattr(cls, "from_json"):
        return ("json", cls.__module__, cls.__qualname__, model.to_json())
    return ("pickle", pickle.dumps(model))


@lru_cache(maxsize=8)
def _rebuild(payload: tuple):
    # One model per worker process and payload: batches after the first reuse it.
    if payload[0] == "json":
        _, module, qualname, text = payload
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        return cls.from_json(text)
    return pickle.loads(payload[1])


def feature_names(model, features, columns, where: str):
    """The feature columns: given, else the model's feature_names_in_; all must exist. A dict
    {parameter: column} passes columns by name to the method (CLV models' frequency, recency,
    T, ...) and is returned as it is."""
    if isinstance(features, dict):
        if not features:
            raise ValueError(f"{where}: features is empty")
        missing = [c for c in features.values() if c not in columns]
        if missing:
            raise ValueError(f"{where}: missing columns {missing} (the data has {list(columns)})")
        return dict(features)
    if features is None:
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            raise ValueError(f"{where}: features=[...] is required (the model was not fitted on named columns)")
        features = list(names)
    features = list(features)
    if not features:
        raise ValueError(f"{where}: features is empty")
    missing = [f for f in features if f not in columns]
    if missing:
        raise ValueError(f"{where}: missing columns {missing} (the data has {list(columns)})")
    return features


def output_names(model, method: str, output_col: str, width: int) -> list:
    """One column for a 1-d output; for 2-d, one per class (predict_proba) or index."""
    if width == 1:
        return [output_col]
    classes = getattr(model, "classes_", None)
    if method == "predict_proba" and classes is not None and len(classes) == width:
        return [f"{output_col}_{c}" for c in classes]
    return [f"{output_col}_{j}" for j in range(width)]


def columns_of(features) -> list:
    return list(features.values()) if isinstance(features, dict) else list(features)


def call_model(model, pdf: pd.DataFrame, features, method: str, kwargs: dict | None):
    """model.method on a batch: the feature frame, or named columns for a {parameter: column} dict."""
    kwargs = kwargs or {}
    if isinstance(features, dict):
        return getattr(model, method)(**{p: pdf[c].to_numpy() for p, c in features.items()}, **kwargs)
    return getattr(model, method)(pdf[features], **kwargs)


def apply_batch(pdf: pd.DataFrame, payload: tuple, features, method: str, out_cols: list,
                kwargs: dict | None = None) -> pd.DataFrame:
    """The model's `method` on one pandas batch, appended as `out_cols` (rows kept in order)."""
    out = pdf.copy()
    if len(pdf) == 0:
        for c in out_cols:
            out[c] = pd.Series(dtype=np.float64)
        return out
    model = _rebuild(payload)
    res = np.asarray(call_model(model, pdf, features, method, kwargs))
    res = res.reshape(len(pdf), -1)
    if res.shape[1] != len(out_cols):
        raise ValueError(f"{method} returned {res.shape[1]} columns, expected {len(out_cols)}")
    for j, c in enumerate(out_cols):
        out[c] = res[:, j]
    return out


# ---------------------------------------------------------------------------------
# Order-independent monetary totals (the engines' half of core/exact_sum.hpp's GridSum)
#
# rfm's totals are exact sums of the amounts rounded to a grid of 2^-90 times the largest
# |amount|'s power of two, rounded once to double. An engine adds in any order, so each row
# goes in as three integer parts of 30 bits on that grid, summed as int64 per customer (no
# overflow below 2^32 rows per customer), and the driver rebuilds the same double.

_GRID_BITS = 90
_P1 = float(2**30)
_P2 = float(2**60)


def grid_shift(max_abs, where: str) -> int:
    """GridSum's shift for the largest |amount| found by the engine (C++ std::ilogb of a
    finite max); None or NaN (no rows) and infinity are named errors."""
    if max_abs is None or pd.isna(max_abs):
        raise ValueError(f"{where}: transactions is empty")
    max_abs = float(max_abs)
    if not math.isfinite(max_abs):
        raise ValueError(f"{where}: amount contains infinity")
    return _GRID_BITS - (math.frexp(max_abs)[1] - 1 if max_abs > 0 else 0)


def grid_factors(shift: int) -> tuple:
    """x * f1 * f2 = x * 2^shift exactly, with both factors within double range."""
    half = int(shift / 2)  # truncation toward zero, as C++ integer division
    return math.ldexp(1.0, half), math.ldexp(1.0, shift - half)


def grid_parts(values: np.ndarray, shift: int) -> tuple:
    """The three int64 parts (high to low) of each value on the grid."""
    f1, f2 = grid_factors(shift)
    y = np.rint(np.asarray(values, dtype=np.float64) * f1 * f2)
    p2 = np.floor(y / _P2)
    r = y - p2 * _P2
    p1 = np.floor(r / _P1)
    return p2.astype(np.int64), p1.astype(np.int64), (r - p1 * _P1).astype(np.int64)


def grid_totals(p2, p1, p0, shift: int) -> np.ndarray:
    """Per-customer sums of the parts back to doubles: the exact grid total, rounded once
    (Python's int-to-float conversion rounds to nearest, ties to even, as C++'s)."""
    return np.array([math.ldexp(float((int(a) << 60) + (int(b) << 30) + int(c)), -shift)
                     for a, b, c in zip(p2, p1, p0)], dtype=np.float64)


# ---------------------------------------------------------------------------------
# RFM from per-customer aggregates


def rfm_from_aggregates(agg: pd.DataFrame, *, customer_name, bins: int, ties: str, monetary: str,
                        as_of, segments, where: str) -> pd.DataFrame:
    """Scores per-customer aggregates exactly as custmine.tiering.rfm does.

    `agg` is indexed by customer id with columns last_any, last_purchase (days since the
    epoch; NaN when the customer has no purchase), frequency and value."""
    from . import tiering
    from ._base import as_day

    bins = tiering._check_bins(bins, where)
    tiering._check_choice(ties, "ties", ("first", "together"), where)
    tiering._check_choice(monetary, "monetary", ("sum", "mean"), where)
    rules = tiering._rule_tuples(segments, where)
    if len(agg) == 0:
        raise ValueError(f"{where}: transactions is empty")
    agg = agg.sort_index()  # rfm's customer order: sorted ids (ties="first" breaks ties by it)
    last_day = int(agg["last_any"].max())
    if as_of is None:
        as_of_day = last_day + 1
    else:
        as_of_day = as_day(as_of, "as_of", where)
        if as_of_day < last_day:
            last = pd.Timestamp(last_day * _NS_PER_DAY).date()
            asked = pd.Timestamp(as_of_day * _NS_PER_DAY).date()
            raise ValueError(f"{where}: as_of {asked} is before the last transaction ({last})")
    last = agg["last_purchase"].where(agg["last_purchase"].notna(), agg["last_any"]).to_numpy(np.int64)
    recency = as_of_day - last
    frequency = agg["frequency"].to_numpy(np.int64)
    value = agg["value"].to_numpy(np.float64)
    if monetary == "mean":
        value = np.where(frequency > 0, value / np.maximum(frequency, 1), 0.0)
    qs = _core.tiering.quantile_scores
    r = qs(recency.astype(np.float64), bins, ties, False)
    f = qs(frequency.astype(np.float64), bins, ties, True)
    m = qs(value, bins, ties, True)
    table = pd.DataFrame(
        {"recency": recency, "frequency": frequency, "monetary": value, "r_score": r, "f_score": f, "m_score": m},
        index=pd.Index(agg.index, name=customer_name),
    )
    table["rfm_code"] = tiering._codes(table["r_score"].to_numpy(), table["f_score"].to_numpy(),
                                       table["m_score"].to_numpy(), bins)
    table["rfm_score"] = (table["r_score"] + table["f_score"] + table["m_score"]).astype(np.int64)
    seg = _core.tiering.assign_segments(np.ascontiguousarray(r, np.int32), np.ascontiguousarray(f, np.int32),
                                        np.ascontiguousarray(m, np.int32), bins, rules)
    table["segment"] = tiering._segment_labels(seg, rules)
    table.attrs["as_of"] = pd.Timestamp(as_of_day * _NS_PER_DAY)
    table.attrs["bins"] = bins
    return table


# ---------------------------------------------------------------------------------
# SON frequent itemsets


def global_min_count(min_support, n: int, where: str) -> int:
    from .association import _min_count

    if n == 0:
        raise ValueError(f"{where}: transactions is empty (no transactions)")
    return _min_count(min_support, n, where)


def local_itemsets(pdf: pd.DataFrame, transaction: str, item: str, min_count: int, n_total: int,
                   max_len) -> list:
    """SON pass 1 on one partition: itemsets with at least ceil(min_count * n_p / n) local
    transactions (a globally frequent itemset reaches that share in some partition)."""
    from .association import frequent_itemsets

    if len(pdf) == 0:
        return []
    n_p = pdf[transaction].nunique()
    local = max(1, math.ceil(min_count * n_p / n_total))
    res = frequent_itemsets(pdf[[transaction, item]], local, transaction_col=transaction, item_col=item,
                            max_len=max_len, max_itemsets=None)
    return list(res["itemsets"])


def flatten_candidates(candidates: list) -> tuple:
    """Candidates (frozensets of labels) as CSR: offsets and one object array of labels,
    shipped once to every partition for the second pass."""
    lengths = np.fromiter((len(c) for c in candidates), dtype=np.int64, count=len(candidates))
    offsets = np.zeros(len(candidates) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.empty(int(offsets[-1]), dtype=object)
    flat[:] = [x for c in candidates for x in c]
    return offsets, flat


def count_candidates(pdf: pd.DataFrame, transaction: str, item: str, flat: tuple) -> np.ndarray:
    """SON pass 2 on one partition: exact counts of every candidate, by custmine's native
    counter (shared-prefix tid-list intersections). Candidates with an item the partition
    never saw count 0 there."""
    from .association import as_transactions

    offsets, labels = flat
    m = len(offsets) - 1
    counts = np.zeros(m, dtype=np.int64)
    if len(pdf) == 0 or m == 0:
        return counts
    tx = as_transactions(pdf[[transaction, item]], transaction_col=transaction, item_col=item,
                         where="SON second pass")
    codes = tx.label_index().get_indexer(labels)
    # a candidate is countable here when all of its items occur in the partition
    known = np.minimum.reduceat((codes >= 0).astype(np.int8), offsets[:-1]).astype(bool)
    if not known.any():
        return counts
    lengths = np.diff(offsets)
    sub_off = np.zeros(int(known.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[known], out=sub_off[1:])
    keep_item = np.repeat(known, lengths)
    sub_items = np.ascontiguousarray(codes[keep_item], dtype=np.int32)
    counts[known] = _core.association.count_itemsets(tx._native, sub_off, sub_items, 1)
    return counts


def itemsets_frame(candidates: list, counts: np.ndarray, n: int, min_count: int) -> pd.DataFrame:
    """Frequent candidates as frequent_itemsets' DataFrame, rows sorted by length, then by
    descending count, then by the sorted item labels (as strings)."""
    keep = [(c, k) for c, k in zip(candidates, counts) if k >= min_count]
    keep.sort(key=lambda t: (len(t[0]), -int(t[1]), sorted(map(str, t[0]))))
    df = pd.DataFrame(
        {
            "support": np.array([k for _, k in keep], dtype=np.float64) / float(n),
            "itemsets": pd.array(ItemsetArray._from_sequence([c for c, _ in keep])),
            "length": np.array([len(c) for c, _ in keep], dtype=np.int64),
            "count": np.array([k for _, k in keep], dtype=np.int64),
        }
    )
    df.attrs["n_transactions"] = int(n)
    df.attrs["min_count"] = int(min_count)
    return df


# ---------------------------------------------------------------------------------
# CLV summary statistics, per partition of whole customers

_SUMMARY_KEYS = ["frequency", "recency", "T"]


def summary_window(first_day, last_day, n_missing_customers: int, *, freq, observation_end, calibration_end,
                   where: str) -> tuple:
    """The driver's checks of summary_data on the whole data's first and last day; returns
    the (observation end, has calibration, calibration end) every partition uses."""
    from . import clv

    if first_day is None or last_day is None or pd.isna(first_day) or pd.isna(last_day):
        raise ValueError(f"{where}: transactions is empty")
    if n_missing_customers:
        raise ValueError(f"{where}: customer has {int(n_missing_customers)} missing values")
    return clv._summary_window(int(first_day), int(last_day), freq, observation_end, calibration_end, where)


def summary_partition(pdf: pd.DataFrame, *, freq, window: tuple, with_amount: bool) -> pd.DataFrame:
    """custmine.clv.summary_data of one partition that holds every row of its customers
    (columns c, day[, a]; rows of a customer-day are merged there): column c and the
    statistics, one row per customer. The window comes from the whole data, so each row is
    the one summary_data gives on all the data."""
    from . import clv
    from ._base import as_labels

    cols = clv._summary_columns(with_amount, window[1])
    if len(pdf) == 0:
        return pd.DataFrame({"c": pdf["c"].iloc[:0], **{k: np.zeros(0) for k in cols}})
    codes, uniques = as_labels(pdf["c"], "customer", "summary_data")
    amt = np.ascontiguousarray(pdf["a"].to_numpy(np.float64)) if with_amount else None
    table = clv._summary_frame(codes, pd.Index(uniques), np.ascontiguousarray(pdf["day"].to_numpy(np.int64)), amt,
                               freq, window)
    out = table.reset_index(drop=True)
    out.insert(0, "c", table.index.to_numpy())
    return out


def summary_result(stats: pd.DataFrame, *, customer_name, collapse: bool) -> pd.DataFrame:
    """The driver's side: per-customer rows indexed by sorted customer id (summary_data's
    order), or with ``collapse`` the engine's (frequency, recency, T) counts sorted by key."""
    if collapse:
        out = stats.sort_values(_SUMMARY_KEYS, kind="stable").reset_index(drop=True)
        out["count"] = out["count"].astype(np.int64)
        return out[_SUMMARY_KEYS + ["count"]]
    out = stats.set_index("c").sort_index(kind="stable")
    out.index.name = customer_name
    return out


# ---------------------------------------------------------------------------------
# Cohort retention from reduced rows


def cohort_from_reduced(rows: pd.DataFrame, *, customer_name, order_name, period, kind, with_amount: bool,
                        returns: str, where: str):
    """custmine.value.cohort_retention on the engine's reduced rows (columns c, day[, o, a]).

    Merging rows with the same customer, day (and order and sign of the amount) changes
    nothing cohort_retention counts: activity, first purchase, distinct orders with a
    purchase, revenue (up to the order of additions)."""
    from . import value

    if len(rows) == 0:
        raise ValueError(f"{where}: transactions is empty")
    frame = pd.DataFrame({customer_name: rows["c"].to_numpy(),
                          "_date": pd.to_datetime(rows["day"].to_numpy(np.int64), unit="D")})
    if with_amount:
        frame["_amount"] = rows["a"].to_numpy(np.float64)
        frame[order_name] = rows["o"].to_numpy()
    return value.cohort_retention(frame, customer=customer_name, date="_date", period=period, kind=kind,
                                  amount="_amount" if with_amount else None,
                                  order=order_name if with_amount else None, returns=returns)


# ---------------------------------------------------------------------------------
# Cross-sell recommendations per basket


def recommend_batch(pdf: pd.DataFrame, payload: tuple, transaction: str, item: str, k: int, mode: str) -> pd.DataFrame:
    """Top-k recommendations for every basket (transaction) of a partition: long rows
    transaction, rank, item, score, rule (as CrossSellRecommender.recommend_many)."""
    cols = {transaction: pdf[transaction].iloc[:0], "rank": np.zeros(0, np.int64), "recommended": pdf[item].iloc[:0],
            "score": np.zeros(0), "rule": np.zeros(0, np.int64)}
    if len(pdf) == 0:
        return pd.DataFrame(cols)
    model = _rebuild(payload)
    groups = pdf.groupby(transaction, sort=True)[item]
    tids = list(groups.groups.keys())
    baskets = [list(v) for _, v in groups]
    res = model.recommend_many(baskets, k, mode=mode)
    out = pd.DataFrame({transaction: np.asarray(tids, dtype=object)[res["basket"].to_numpy()] if len(res) else [],
                        "rank": res["rank"].to_numpy(np.int64), "recommended": res["item"].to_numpy(),
                        "score": res["score"].to_numpy(np.float64), "rule": res["rule"].to_numpy(np.int64)})
    out[transaction] = out[transaction].astype(pdf[transaction].dtype)
    return out

