"""Customer tiering: RFM analysis, the customer pyramid and ABC (80/20) classes.

All computation runs in the native core (``include/custmine/tiering``); this module
validates the input once, converts it, and returns tidy pandas tables.

References
----------
- A. M. Hughes (1994), *Strategic Database Marketing* — quintile RFM scoring.
- Putler, "RFM segmentation" segment table; K. Hebbali, R package ``rfm`` (``rfm_segment``)
  — the score ranges of the eleven-segment map used by default.
- J. Curry & A. Curry (2000), *The Customer Marketing Method* — the customer pyramid
  (top 1 %, big 4 %, medium 15 %, small 80 %).
- V. Zeithaml, R. Rust, K. Lemon (2001), "The Customer Pyramid", California Management Review.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from . import _core
from ._report import markdown_table
from ._base import (NativeModelMixin, as_datetime, as_day, as_labels, as_numeric, require_columns, resolve_n_jobs,
                    validate_X)

__all__ = [
    "rfm",
    "segment_rules",
    "assign_segments",
    "pyramid",
    "abc",
    "TierResult",
    "QuantileScorer",
    "RFMScorer",
    "plot_segments",
    "plot_pyramid",
    "plot_pareto",
]

_NS_PER_DAY = 86_400 * 1_000_000_000
_OTHERS = "Others"
_RULE_COLUMNS = ["segment", "r_low", "r_high", "f_low", "f_high", "m_low", "m_high"]


# ---------------------------------------------------------------------------------
# Segment map


def segment_rules() -> pd.DataFrame:
    """The default RFM segment map, in matching order (first match wins).

    Bounds are inclusive, on the 1..5 score scale: the ranges of Putler's RFM segment
    table (also the defaults of Hebbali's R package ``rfm``), matched in an order that
    gives every segment a region; "Lost" is the all-lowest cell (1-1-1). With
    ``bins != 5`` scores are mapped linearly onto 1..5 before matching:
    ``round(1 + 4 * (score - 1) / (bins - 1))``, halves rounded up (both ends kept).
    A customer matching no rule is in segment ``"Others"``. Pass a modified copy of this
    table as ``segments=`` to :func:`rfm` to override it.
    """
    return pd.DataFrame(_core.tiering.default_segment_rules(), columns=_RULE_COLUMNS)


def _rule_tuples(segments, where: str) -> list:
    if segments is None:
        return []
    table = segments if isinstance(segments, pd.DataFrame) else pd.DataFrame(segments)
    missing = [c for c in _RULE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: segments is missing the column(s) {missing}; expected {_RULE_COLUMNS}")
    if len(table) == 0:
        raise ValueError(f"{where}: segments holds no rule")
    rules = []
    for i, row in enumerate(table[_RULE_COLUMNS].itertuples(index=False)):
        name, *bounds = row
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: segments row {i} needs a non-empty string name, got {name!r}")
        try:
            ints = [int(b) for b in bounds]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: segments row {i} ({name!r}) has non-integer bounds {bounds}") from None
        if any(float(b) != int(b) for b in bounds):
            raise ValueError(f"{where}: segments row {i} ({name!r}) has non-integer bounds {bounds}")
        rules.append((name, *ints))
    return rules


def _segment_labels(codes: np.ndarray, rules: list) -> pd.Categorical:
    names = [r[0] for r in rules] if rules else list(segment_rules()["segment"])
    categories = list(dict.fromkeys(names + [_OTHERS]))  # several rules may share a name
    position = {name: i for i, name in enumerate(categories)}
    lookup = np.array([position[n] for n in names] + [position[_OTHERS]], dtype=np.int64)
    return pd.Categorical.from_codes(lookup[np.where(codes < 0, len(names), codes)], categories=categories)


def assign_segments(r_score, f_score, m_score, *, bins: int = 5, segments=None) -> pd.Categorical:
    """Segment names for given scores (for example from :meth:`RFMScorer.transform`)."""
    where = "assign_segments"
    bins = _check_bins(bins, where)
    rules = _rule_tuples(segments, where)
    arrs = []
    for name, v in (("r_score", r_score), ("f_score", f_score), ("m_score", m_score)):
        a = np.asarray(v)
        if a.ndim != 1:
            raise ValueError(f"{where}: {name} must be 1-dimensional")
        if a.size and not np.issubdtype(a.dtype, np.integer):
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
                raise ValueError(f"{where}: {name} must hold integer scores")
        arrs.append(np.ascontiguousarray(a, dtype=np.int32))
    codes = _core.tiering.assign_segments(*arrs, bins, rules)
    return _segment_labels(codes, rules)


# ---------------------------------------------------------------------------------
# Value and retention tools live in custmine.value; they are part of the tiering toolbox.
from .value import (  # noqa: E402
    CohortRetention,
    FunnelResult,
    Grader,
    MatrixResult,
    cohort_retention,
    funnel,
    grade,
    kaism,
    plot_cohort_heatmap,
    plot_funnel,
    plot_kaism,
    plot_value_matrix,
    retention_metrics,
    stage_durations,
    value_matrix,
)

__all__ += [
    "CohortRetention",
    "FunnelResult",
    "Grader",
    "MatrixResult",
    "cohort_retention",
    "funnel",
    "grade",
    "kaism",
    "plot_cohort_heatmap",
    "plot_funnel",
    "plot_kaism",
    "plot_value_matrix",
    "retention_metrics",
    "stage_durations",
    "value_matrix",
]


# ---------------------------------------------------------------------------------
# RFM


def _check_bins(bins, where: str) -> int:
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or not 2 <= bins <= 100:
        raise ValueError(f"{where}: bins must be an integer in 2..100, got {bins!r}")
    return int(bins)


def _check_choice(value, name: str, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {list(choices)}, got {value!r}")
    return value


def _column(transactions, spec, arg: str, where: str):
    """A column of the table (by name) or the array given directly."""
    if transactions is None:
        if spec is None or isinstance(spec, str):
            raise ValueError(f"{where}: {arg} must be an array when no table is given, got {spec!r}")
        return pd.Series(np.asarray(spec) if not isinstance(spec, pd.Series) else spec)
    return transactions[spec]


def _amount(transactions, spec, n: int, where: str) -> np.ndarray:
    if transactions is not None and isinstance(spec, (list, tuple)):
        # A product of columns, e.g. amount=("Quantity", "UnitPrice").
        if len(spec) == 0:
            raise ValueError(f"{where}: amount must name a column or a non-empty tuple of columns")
        require_columns(transactions, {f"amount[{i}]": c for i, c in enumerate(spec)}, where)
        out = np.ones(n)
        for c in spec:
            out = out * as_numeric(transactions[c], f"amount column {c!r}", where)
        return out
    a = as_numeric(_column(transactions, spec, "amount", where), "amount", where)
    return a


def rfm(
    transactions: pd.DataFrame | None = None,
    *,
    customer,
    date,
    amount,
    order=None,
    as_of=None,
    bins: int = 5,
    monetary: str = "sum",
    returns: str = "net",
    ties: str = "first",
    segments=None,
    n_jobs=None,
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, with scores and segments.

    Parameters
    ----------
    transactions : DataFrame or None
        One row per transaction line. When None, ``customer``, ``date``, ``amount`` and
        ``order`` are arrays of equal length instead of column names.
    customer, date : column name (or array)
        Customer id (any hashable type; no missing values) and transaction date
        (datetime64 or parseable strings; time of day is ignored).
    amount : column name, tuple of column names, or array
        Value of the row; a tuple multiplies columns (``("Quantity", "UnitPrice")``).
        Rows with a negative amount are returns.
    order : column name (or array), optional
        Order/invoice id. When given, frequency counts distinct orders with a purchase;
        otherwise it counts purchase rows.
    as_of : date-like, optional
        Reference day for recency; default the day after the last transaction. Must not
        precede the last transaction day.
    bins : int
        Number of score levels (2..100); 5 gives the classic quintiles.
    monetary : {"sum", "mean"}
        Total value, or value per purchase (total / frequency; 0 when frequency is 0).
        Totals do not depend on the order of the rows: amounts are added exactly on a grid
        of 2^-90 of the largest |amount| and rounded once (for amounts within 2^39 of the
        largest this is the correctly rounded sum), so custmine.spark and custmine.dask
        return the same doubles.
    returns : {"net", "exclude"}
        "net" subtracts returns from the monetary value; "exclude" ignores them. Returns
        never count as purchases and do not move recency.
    ties : {"first", "together"}
        "first" gives equal-sized score bins: customers are ranked by value and ties are
        broken by customer id (ascending; the earlier id gets the lower score).
        "together" gives equal values the same score (bins may then be unequal).
    segments : DataFrame, optional
        Segment rule table like :func:`segment_rules` (the default).
    n_jobs : int, optional
        Threads (joblib's rule: None = 1, -1 = all cores). The result does not depend on it.

    Returns
    -------
    DataFrame indexed by customer id (sorted), with columns ``recency`` (days from the
    last purchase to ``as_of``; from the last row of any kind for a customer with no
    purchase), ``frequency``, ``monetary``, ``r_score``, ``f_score``, ``m_score`` (1..bins,
    high is good: recent, frequent, valuable), ``rfm_code`` (categorical, e.g. "545";
    with bins > 9 the scores are joined by "-"), ``rfm_score`` (sum of the three scores) and ``segment``.
    The input is never modified.
    """
    where = "rfm"
    bins = _check_bins(bins, where)
    threads = resolve_n_jobs(n_jobs, f"{where}: n_jobs")
    _check_choice(monetary, "monetary", ("sum", "mean"), where)
    _check_choice(returns, "returns", ("net", "exclude"), where)
    _check_choice(ties, "ties", ("first", "together"), where)
    rules = _rule_tuples(segments, where)
    if transactions is not None:
        cols = {"customer": customer, "date": date, "order": order}
        if not isinstance(amount, (list, tuple)):
            cols["amount"] = amount
        require_columns(transactions, cols, where)
        n = len(transactions)
    else:
        n = len(np.asarray(customer)) if customer is not None else 0
    if n == 0:
        raise ValueError(f"{where}: transactions is empty")

    cust = _column(transactions, customer, "customer", where)
    codes, uniques = as_labels(cust, "customer", where)
    days = as_datetime(_column(transactions, date, "date", where), "date", where) // _NS_PER_DAY
    amt = _amount(transactions, amount, n, where)
    order_codes = None
    if order is not None:
        # Integer order ids go to the core as they are; other labels are coded first.
        order_col = _column(transactions, order, "order", where)
        if pd.api.types.is_integer_dtype(order_col.dtype) and not pd.api.types.is_bool_dtype(order_col.dtype):
            order_codes = np.ascontiguousarray(order_col.to_numpy(dtype=np.int64))
        else:
            order_codes, _ = as_labels(order_col, "order", where, sort=False)
    for arg, arr in (("date", days), ("amount", amt)) + ((("order", order_codes),) if order_codes is not None else ()):
        if len(arr) != len(codes):
            raise ValueError(f"{where}: {arg} has {len(arr)} rows but customer has {len(codes)}")

    last_day = int(days.max())
    if as_of is None:
        as_of_day = last_day + 1
    else:
        as_of_day = as_day(as_of, "as_of", where)
        if as_of_day < last_day:
            last = pd.Timestamp(last_day * _NS_PER_DAY).date()
            asked = pd.Timestamp(as_of_day * _NS_PER_DAY).date()
            raise ValueError(f"{where}: as_of {asked} is before the last transaction ({last})")

    out = _core.tiering.rfm(codes, len(uniques), days, amt, order_codes, as_of_day, bins, ties, monetary, returns, rules,
                            threads)
    name = customer if isinstance(customer, str) else (getattr(cust, "name", None) or "customer")
    table = pd.DataFrame(
        {
            "recency": out["recency"],
            "frequency": out["frequency"],
            "monetary": out["monetary"],
            "r_score": out["r_score"],
            "f_score": out["f_score"],
            "m_score": out["m_score"],
        },
        index=pd.Index(uniques, name=name),
    )
    table["rfm_code"] = _codes(table["r_score"].to_numpy(), table["f_score"].to_numpy(), table["m_score"].to_numpy(), bins)
    table["rfm_score"] = (table["r_score"] + table["f_score"] + table["m_score"]).astype(np.int64)
    table["segment"] = _segment_labels(out["segment"], rules)
    table.attrs["as_of"] = pd.Timestamp(as_of_day * _NS_PER_DAY)
    table.attrs["bins"] = bins
    return table


def _codes(r, f, m, bins) -> pd.Categorical:
    """rfm_code as a categorical over all bins**3 codes ("111".."555"; "-"-joined when bins > 9)."""
    sep = "" if bins <= 9 else "-"
    levels = np.arange(1, bins + 1).astype(str)
    names = [f"{a}{sep}{b}{sep}{c}" for a in levels for b in levels for c in levels]
    codes = ((r.astype(np.int64) - 1) * bins + (f - 1)) * bins + (m - 1)
    return pd.Categorical.from_codes(codes, categories=names)


# ---------------------------------------------------------------------------------
# Pyramid and ABC


class TierResult(NamedTuple):
    """Per-customer tier labels and the summary table per tier."""

    tiers: pd.Series
    summary: pd.DataFrame


def _values(values, where: str):
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{where}: values must be one column (a Series or 1-d array), got a DataFrame")
    if isinstance(values, pd.Series):
        index = values.index
        s = values
    else:
        a = np.asarray(values)
        if a.ndim != 1:
            raise ValueError(f"{where}: values must be 1-dimensional, got shape {a.shape}")
        s = pd.Series(a)
        index = s.index
    if len(s) == 0:
        raise ValueError(f"{where}: values is empty")
    return as_numeric(s, "values", where), index, getattr(values, "name", None)


def _shares(shares, name: str, where: str, upper_inclusive: bool) -> list:
    try:
        out = [float(x) for x in shares]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a sequence of shares in (0, 1), got {shares!r}") from None
    if not out:
        raise ValueError(f"{where}: {name} must hold at least one share")
    for x in out:
        if not (0 < x < 1 or (upper_inclusive and x == 1)):
            raise ValueError(f"{where}: {name} must lie in (0, 1{']' if upper_inclusive else ')'}, got {x}")
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"{where}: {name} must be strictly increasing (cumulative shares), got {out}")
    return out


def _labels(labels, n: int, where: str) -> list:
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{where}: labels needs {n} names (one per tier), got {len(labels)}")
    if len(set(labels)) != n:
        raise ValueError(f"{where}: labels must be distinct, got {labels}")
    return labels


def _tier_result(codes, summary: dict, labels: list, index, name, tier_name: str) -> TierResult:
    tiers = pd.Series(pd.Categorical(np.asarray(labels, dtype=object)[codes], categories=labels, ordered=True),
                      index=index, name=tier_name)
    table = pd.DataFrame(summary, index=pd.Index(labels, name=tier_name))
    table["cum_customer_share"] = table["customer_share"].cumsum()
    table["cum_value_share"] = table["value_share"].cumsum()
    table = table[["customers", "customer_share", "cum_customer_share", "value", "value_share",
                   "cum_value_share", "min_value", "max_value"]]
    table.attrs["value"] = name
    return TierResult(tiers, table)


def pyramid(values, cuts: Sequence[float] = (0.01, 0.05, 0.20),
            labels: Sequence[str] = ("Top", "Big", "Medium", "Small")) -> TierResult:
    """The customer pyramid: tiers by value rank.

    Customers are ranked by value (descending; ties keep input order). With ``n``
    customers, the customer at rank ``i`` is in the first tier ``k`` with
    ``i <= ceil(cuts[k] * n)``; the rest form the last tier. The defaults give Curry's
    pyramid: top 1 %, next 4 %, next 15 %, the remaining 80 %.

    Returns ``TierResult(tiers, summary)``: an ordered categorical Series aligned with
    ``values`` and a table per tier with ``customers``, ``customer_share``,
    ``cum_customer_share``, ``value``, ``value_share``, ``cum_value_share``,
    ``min_value``, ``max_value``.
    """
    where = "pyramid"
    v, index, name = _values(values, where)
    cuts = _shares(cuts, "cuts", where, upper_inclusive=False)
    labels = _labels(labels, len(cuts) + 1, where)
    codes, summary = _core.tiering.pyramid(v, cuts)
    return _tier_result(codes, summary, labels, index, name, "tier")


def abc(values, thresholds: Sequence[float] = (0.80, 0.95), labels: Sequence[str] = ("A", "B", "C")) -> TierResult:
    """Pareto ABC classes by cumulative share of value.

    Customers are ranked by value (descending; ties keep input order); a customer is
    in the first class whose threshold exceeds the cumulative share of value of the
    customers ranked above it. Class A is therefore the smallest top group whose value
    reaches 80 % of the total (the customer that crosses the line is in A). Negative
    values (net refunds) are allowed; the total must be positive.

    Returns ``TierResult(classes, summary)`` as :func:`pyramid` does.
    """
    where = "abc"
    v, index, name = _values(values, where)
    thresholds = _shares(thresholds, "thresholds", where, upper_inclusive=True)
    labels = _labels(labels, len(thresholds) + 1, where)
    codes, summary = _core.tiering.abc(v, thresholds)
    return _tier_result(codes, summary, labels, index, name, "abc_class")


# ---------------------------------------------------------------------------------
# A fitted scorer for new customers


class QuantileScorer(NativeModelMixin, TransformerMixin, BaseEstimator):
    """Learns quantile score edges per column on a reference population and scores new rows.

    For each column, ``fit`` stores the upper edge of each of the first ``bins - 1``
    equal-count bins; ``transform`` returns scores 1..bins: 1 + the number of edges the
    value is strictly beyond in the column's direction. On the training rows this is
    ``ceil(min_rank * bins / n)``, i.e. :func:`rfm` with ``ties="together"``.

    Parameters
    ----------
    bins : int
        Score levels, 2..100.
    higher_is_better : bool or sequence of bool
        Scoring direction: one flag for every column, or one per column (False = a low
        value scores high, as recency does).
    """

    _native_class = _core.tiering.QuantileScorer

    def __init__(self, bins: int = 5, higher_is_better=True):
        self.bins = bins
        self.higher_is_better = higher_is_better

    def _directions(self, n_features: int) -> list:
        h = self.higher_is_better
        if isinstance(h, (bool, np.bool_)):
            return [bool(h)] * n_features
        flags = list(h)
        if len(flags) != n_features or not all(isinstance(x, (bool, np.bool_)) for x in flags):
            raise ValueError(f"{type(self).__name__}.fit: higher_is_better must be a bool or {n_features} bools "
                             f"(one per column), got {h!r}")
        return [bool(x) for x in flags]

    def fit(self, X, y=None):
        _check_bins(self.bins, type(self).__name__)
        X = validate_X(self, X, reset=True)
        native = self._native_class(int(self.bins), self._directions(X.shape[1]))
        native.fit(X)
        self._native = native
        return self

    def transform(self, X):
        self._check_fitted()
        X = validate_X(self, X, reset=False)
        return np.asarray(self._native.transform(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # scores are integers whatever the input dtype
        return tags

    @property
    def edges_(self) -> np.ndarray:
        """Edges, shape (n_features, bins - 1), in each column's own units."""
        self._check_fitted()
        e = np.asarray(self._native.edges, dtype=float)
        signs = np.where(self._directions(e.shape[0]), 1.0, -1.0)
        return e * signs[:, None]


class RFMScorer(QuantileScorer):
    """Scores new customers with the RFM edges of a reference population.

    ``fit(X)`` takes three columns — recency, frequency, monetary (for example
    ``rfm(...)[["recency", "frequency", "monetary"]]``); ``transform`` returns the
    r, f, m scores 1..bins (recent = high). Scores of the reference customers equal
    :func:`rfm` with ``ties="together"``; pass the scores to :func:`assign_segments` for
    segment names. Saves to the same JSON document as the C++
    ``custmine::tiering::QuantileScorer``.
    """

    def __init__(self, bins: int = 5):
        self.bins = bins

    @property
    def higher_is_better(self):
        return (False, True, True)

    def fit(self, X, y=None):
        n = np.shape(X)[1] if np.ndim(X) == 2 else None
        if n is not None and n != 3:
            raise ValueError(f"RFMScorer.fit: X must have 3 columns (recency, frequency, monetary), got {n}")
        return super().fit(X, y)

    def get_feature_names_out(self, input_features=None):
        return np.array(["r_score", "f_score", "m_score"], dtype=object)


# ---------------------------------------------------------------------------------
# Plots (matplotlib imported on use)


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_segments(table: pd.DataFrame, value: str = "monetary", ax=None):
    """Bar chart of customers and value share per RFM segment."""
    ax = _axes(ax)
    g = table.groupby("segment", observed=False).agg(customers=("recency", "size"), value=(value, "sum"))
    share = g["value"] / g["value"].sum()
    order = g["customers"].sort_values().index
    ax.barh([str(s) for s in order], g.loc[order, "customers"], color="#4C72B0")
    for y, s in enumerate(order):
        ax.text(g.loc[s, "customers"], y, f"  {share[s]:.0%} of value", va="center", fontsize=8)
    ax.set_xlabel("customers")
    ax.set_title("RFM segments")
    return ax


def plot_pyramid(summary: pd.DataFrame, ax=None):
    """The pyramid: one bar per tier, width = share of customers, label = share of value."""
    ax = _axes(ax)
    n = len(summary)
    widths = np.sqrt(summary["cum_customer_share"].to_numpy())
    for i, (tier, row) in enumerate(summary.iterrows()):
        y = n - 1 - i
        ax.barh(y, widths[i], left=-widths[i] / 2, color=f"C{i}", height=0.9)
        ax.text(0, y, f"{tier}: {row['customer_share']:.1%} of customers, {row['value_share']:.1%} of value",
                ha="center", va="center", fontsize=8)
    ax.set_axis_off()
    ax.set_title("Customer pyramid")
    return ax


def plot_pareto(values, thresholds=(0.80, 0.95), ax=None):
    """Pareto (Lorenz-style) curve: cumulative value share against customer share."""
    ax = _axes(ax)
    v, _, _ = _values(values, "plot_pareto")
    s = np.sort(v)[::-1]
    cum = np.cumsum(s) / s.sum()
    x = np.arange(1, len(s) + 1) / len(s)
    ax.plot(x, cum, color="#4C72B0")
    for t in thresholds:
        ax.axhline(t, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("share of customers (by value, descending)")
    ax.set_ylabel("cumulative share of value")
    ax.set_title("ABC / Pareto curve")
    return ax


def demo_report(out_dir) -> str:
    """Markdown section for ``custmine demo``: segments, pyramid and ABC on the bundled data."""
    from pathlib import Path

    from .datasets import load_online_retail

    out_dir = Path(out_dir)
    tx = load_online_retail()
    table = rfm(tx, customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"), order="InvoiceNo")
    seg = table.groupby("segment", observed=False).agg(customers=("recency", "size"), revenue=("monetary", "sum"))
    seg["customer_share"] = seg["customers"] / seg["customers"].sum()
    seg["revenue_share"] = seg["revenue"] / seg["revenue"].sum()
    seg = seg.sort_values("revenue", ascending=False)
    value = table["monetary"]
    pyr = pyramid(value)
    abc_res = abc(value)
    _save_tiering_chart(table, pyr.summary, value, out_dir / "tiering.png")
    fmt = {"customer_share": "{:.1%}".format, "revenue_share": "{:.1%}".format, "revenue": "{:,.0f}".format}
    lines = [
        "## Customer tiering (RFM, pyramid, ABC)",
        "",
        f"{len(tx):,} transaction lines of {len(table):,} customers, as of {table.attrs['as_of'].date()} "
        "(bundled Online Retail sample; returns netted).",
        "",
        "### RFM segments",
        "",
        markdown_table(seg, fmt),
        "",
        "### Customer pyramid",
        "",
        markdown_table(pyr.summary, _share_fmt()),
        "",
        "### ABC classes",
        "",
        markdown_table(abc_res.summary, _share_fmt()),
        "",
        "![tiering](tiering.png)",
    ]
    return "\n".join(lines)


def _share_fmt():
    share, money = "{:.1%}".format, "{:,.2f}".format
    return {"customer_share": share, "cum_customer_share": share, "value_share": share, "cum_value_share": share,
            "value": money, "min_value": money, "max_value": money}


def _save_tiering_chart(table, pyramid_summary, value, path) -> None:
    from matplotlib.figure import Figure  # no pyplot: works under any backend, leaks no window

    fig = Figure(figsize=(16, 4.5))
    axes = fig.subplots(1, 3)
    plot_segments(table, ax=axes[0])
    plot_pyramid(pyramid_summary, ax=axes[1])
    plot_pareto(value, ax=axes[2])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
