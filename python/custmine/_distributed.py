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


def count_candidates(pdf: pd.DataFrame, transaction: str, item: str, candidates: list) -> np.ndarray:
    """SON pass 2 on one partition: exact counts of every candidate (tid-set intersections)."""
    counts = np.zeros(len(candidates), dtype=np.int64)
    if len(pdf) == 0 or not candidates:
        return counts
    tids = {}
    for it, grp in pdf.groupby(item, sort=False)[transaction]:
        tids[it] = frozenset(grp.unique())
    for k, cand in enumerate(candidates):
        sets = [tids.get(it) for it in cand]
        if any(s is None for s in sets):
            continue
        sets.sort(key=len)
        acc = set(sets[0])
        for s in sets[1:]:
            acc &= s
            if not acc:
                break
        counts[k] = len(acc)
    return counts


def itemsets_frame(candidates: list, counts: np.ndarray, n: int, min_count: int) -> pd.DataFrame:
    """Frequent candidates as frequent_itemsets' DataFrame, rows sorted by length, then by
    descending count, then by the sorted item labels (as strings)."""
    keep = [(c, k) for c, k in zip(candidates, counts) if k >= min_count]
    keep.sort(key=lambda t: (len(t[0]), -int(t[1]), sorted(map(str, t[0]))))
    df = pd.DataFrame(
        {
            "support": np.array([k for _, k in keep], dtype=np.float64) / float(n),
            "itemsets": pd.Series([c for c, _ in keep], dtype=object),
            "length": np.array([len(c) for c, _ in keep], dtype=np.int64),
            "count": np.array([k for _, k in keep], dtype=np.int64),
        }
    )
    df.attrs["n_transactions"] = int(n)
    df.attrs["min_count"] = int(min_count)
    return df


# ---------------------------------------------------------------------------------
# CLV summary statistics from customer-day totals


def summary_from_customer_days(days: pd.DataFrame, *, customer_name, with_amount: bool, freq, observation_end,
                               calibration_end, collapse: bool, where: str) -> pd.DataFrame:
    """custmine.clv.summary_data on the engine's customer-day totals (columns c, day, a).

    summary_data merges the rows of a customer-day before anything else, so running it on the
    merged rows gives the same table. ``collapse=True`` returns the distinct (frequency,
    recency, T) rows with a ``count`` column, to fit with ``weights=count``."""
    from . import clv

    if len(days) == 0:
        raise ValueError(f"{where}: transactions is empty")
    frame = pd.DataFrame({customer_name: days["c"].to_numpy(),
                          "_date": pd.to_datetime(days["day"].to_numpy(np.int64), unit="D"),
                          "_amount": days["a"].to_numpy(np.float64)})
    out = clv.summary_data(frame, customer_name, "_date", "_amount" if with_amount else None, freq=freq,
                           observation_end=observation_end, calibration_end=calibration_end)
    if not collapse:
        return out
    keys = ["frequency", "recency", "T"]
    return out.groupby(keys, sort=True).size().rename("count").reset_index()


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

