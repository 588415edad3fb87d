"""Customer value and retention: cohort retention, retention metrics, the sales funnel,
weighted multi-indicator grading, the customer value matrix and the key-account
identification and selection matrix (KAISM).

All computation runs in the native core (``include/custmine/value``); this module
validates the input once, converts it, and returns tidy pandas tables. The input frame
is never modified. Public functions are re-exported from :mod:`custmine.tiering`.

References
----------
- P. Fader & B. Hardie (2007), "How to project customer retention", *Journal of
  Interactive Marketing* 21(1) — cohort survivor tables.
- P. Verhoef & B. Donkers (2001), "Predicting customer potential value: an application in
  the insurance industry", *Decision Support Systems* 32(2) — current x potential value.
- M. McDonald, T. Millman & B. Rogers (1997), "Key account management: theory, practice
  and challenges", *Journal of Marketing Management* 13(8); M. McDonald & B. Rogers (1998),
  *Key Account Management: Learning from Supplier and Customer Perspectives*
  (Butterworth-Heinemann) — the key account identification and selection matrix.
- P. Fishburn (1967), "Additive utilities with incomplete product set", *Operations
  Research* 15(3) — the weighted additive scoring model behind :func:`grade`.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import _core
from sklearn.base import BaseEstimator, TransformerMixin

from ._base import (
    NativeModelMixin,
    as_datetime,
    as_day,
    as_labels,
    as_numeric,
    require_columns,
    resolve_n_jobs,
    validate_X,
)

__all__ = [
    "cohort_retention",
    "CohortRetention",
    "retention_metrics",
    "funnel",
    "FunnelResult",
    "stage_durations",
    "grade",
    "Grader",
    "value_matrix",
    "kaism",
    "MatrixResult",
    "plot_cohort_heatmap",
    "plot_funnel",
    "plot_value_matrix",
    "plot_kaism",
    "demo_report",
]

_NS_PER_DAY = 86_400 * 1_000_000_000
_native = _core.value

# ---------------------------------------------------------------------------------
# Periods

_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_PERIOD_ALIASES = {
    "D": "D",
    "M": "M", "ME": "M", "MS": "M",
    "Q": "Q", "QE": "Q", "QS": "Q", "Q-DEC": "Q",
    "Y": "Y", "YE": "Y", "YS": "Y", "A": "Y", "Y-DEC": "Y", "A-DEC": "Y",
}


class _Period(NamedTuple):
    unit: str        # D, W, M, Q, Y (native code)
    week_start: int  # 0 = Monday
    freq: str        # pandas Period frequency for the labels


def _parse_period(period, where: str) -> _Period:
    """pandas-style period strings: D, W (= W-SUN, weeks Monday..Sunday), W-MON..W-SUN
    (weeks ending that day), M, Q (calendar quarters), Y."""
    if not isinstance(period, str):
        raise ValueError(f"{where}: period must be a string such as 'M', 'W' or 'Q', got {period!r}")
    p = period.upper()
    if p == "W":
        p = "W-SUN"
    if p.startswith("W-") and p[2:] in _WEEKDAYS:
        end = _WEEKDAYS.index(p[2:])
        return _Period("W", (end + 1) % 7, p)
    unit = _PERIOD_ALIASES.get(p)
    if unit is None:
        raise ValueError(
            f"{where}: period must be one of 'D', 'W', 'W-MON'..'W-SUN', 'M', 'Q' or 'Y', got {period!r}"
        )
    return _Period(unit, 0, {"D": "D", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}[unit])


def _period_labels(ordinals: np.ndarray, per: _Period) -> pd.PeriodIndex:
    days = _native.period_starts(np.ascontiguousarray(ordinals, dtype=np.int64), per.unit, per.week_start)
    return pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]")).to_period(per.freq)


# ---------------------------------------------------------------------------------
# Shared validation


def _require_frame(df, name: str, where: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{where}: {name} must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError(f"{where}: {name} is empty")


def _amount_column(df: pd.DataFrame, spec, where: str) -> np.ndarray:
    """A numeric column, or the product of several (``("Quantity", "UnitPrice")``)."""
    if isinstance(spec, (list, tuple)):
        if len(spec) == 0:
            raise ValueError(f"{where}: amount must name a column or a non-empty tuple of columns")
        require_columns(df, {f"amount[{i}]": c for i, c in enumerate(spec)}, where)
        out = np.ones(len(df))
        for c in spec:
            out = out * as_numeric(df[c], f"amount column {c!r}", where)
        return np.ascontiguousarray(out)
    require_columns(df, {"amount": spec}, where)
    return as_numeric(df[spec], "amount", where)


def _required(where: str, **columns) -> None:
    for arg, col in columns.items():
        if col is None:
            raise ValueError(f"{where}: {arg} must name a column, got None")


def _check_choice(value, name: str, choices, where: str):
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {list(choices)}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------
# Cohort retention


class CohortRetention(NamedTuple):
    """Result of :func:`cohort_retention`.

    counts : DataFrame, cohort (PeriodIndex) x period number 0, 1, ... (nullable Int64):
        cohort customers active in that period (or, with ``kind="rolling"``, active then or
        later); ``<NA>`` where the period lies after the data.
    rates : DataFrame, the same shape: counts / cohort size (NaN after the data).
    sizes : Series, customers per cohort.
    table : DataFrame, tidy: one row per observable (cohort, period number) with
        ``cohort, period_number, period, cohort_size, customers, retention_rate`` and, when
        amounts are given, ``orders`` and ``revenue``.
    """

    counts: pd.DataFrame
    rates: pd.DataFrame
    sizes: pd.Series
    table: pd.DataFrame


def _cohort_native(transactions, customer, date, period, amount, order, returns, n_jobs, where):
    _require_frame(transactions, "transactions", where)
    _required(where, customer=customer, date=date)
    require_columns(transactions, {"customer": customer, "date": date, "order": order}, where)
    per = _parse_period(period, where)
    _check_choice(returns, "returns", ("net", "exclude"), where)
    threads = resolve_n_jobs(n_jobs)
    codes, uniques = as_labels(transactions[customer], "customer", where)
    days = as_datetime(transactions[date], "date", where) // _NS_PER_DAY
    amt = None if amount is None else _amount_column(transactions, amount, where)
    order_codes = None
    if order is not None:
        order_codes, _ = as_labels(transactions[order], "order", where, sort=False)
    n_customers = len(uniques)
    out = _native.cohort_table(codes, n_customers, np.ascontiguousarray(days, dtype=np.int64), amt, order_codes,
                               per.unit, per.week_start, returns == "net", threads)
    P = int(out["n_periods"])
    labels = _period_labels(np.arange(P, dtype=np.int64) + int(out["first_period"]), per)
    return out, labels, per


def cohort_retention(
    transactions: pd.DataFrame,
    *,
    customer,
    date,
    period: str = "M",
    kind: str = "classic",
    amount=None,
    order=None,
    returns: str = "net",
    n_jobs=None,
) -> CohortRetention:
    """Cohort x period retention matrix: customers grouped by the period of their first
    purchase, counted in each later period.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction line; rows with a missing customer or date are refused
        (drop them first, e.g. Online Retail's rows without ``CustomerID``).
    customer, date : column names
        Customer id (any hashable) and transaction date (datetime64 or parseable strings;
        time of day is ignored; time zones are converted to UTC).
    period : str
        ``"D"``, ``"W"`` (weeks Monday..Sunday, pandas ``W-SUN``), ``"W-MON"``..``"W-SUN"``
        (weeks ending that day), ``"M"``, ``"Q"`` (calendar quarters) or ``"Y"``.
    kind : {"classic", "rolling"}
        "classic" counts customers with a purchase in exactly that period; "rolling"
        (unbounded retention) counts customers with a purchase in that period or later, so
        each row decreases like a survivor curve.
    amount : column name or tuple of column names, optional
        Row value (a tuple multiplies columns). Rows with a negative amount are returns:
        they never make a customer active. Enables the ``orders``/``revenue`` columns.
    order : column name, optional
        Order/invoice id: orders are counted as distinct ids (else purchase rows).
    returns : {"net", "exclude"}
        Whether returns reduce revenue.
    n_jobs : int or None
        Threads for the per-customer sorting (results do not depend on it).

    Returns
    -------
    CohortRetention(counts, rates, sizes, table). Cohorts with no customer (periods in
    which nobody bought for the first time) are left out. ``counts.attrs`` holds
    ``period`` and ``customers_without_purchase`` (customers with returns only).
    """
    where = "cohort_retention"
    _check_choice(kind, "kind", ("classic", "rolling"), where)
    out, labels, per = _cohort_native(transactions, customer, date, period, amount, order, returns, n_jobs, where)
    P = len(labels)
    size = out["cohort_size"]
    keep = np.flatnonzero(size > 0)
    mat = out["active" if kind == "classic" else "rolling"][keep]
    i, j = np.meshgrid(keep, np.arange(P), indexing="ij")
    observable = (i + j) < P
    cohort_index = pd.PeriodIndex(labels[keep], name="cohort")
    columns = pd.RangeIndex(P, name="period_number")
    counts = pd.DataFrame(mat, index=cohort_index, columns=columns).astype("Int64").where(observable, pd.NA)
    rates = pd.DataFrame(np.where(observable, mat / size[keep][:, None], np.nan), index=cohort_index, columns=columns)
    sizes = pd.Series(size[keep], index=cohort_index, name="cohort_size")
    ci, cj = np.nonzero(observable)
    table = pd.DataFrame({
        "cohort": cohort_index[ci],
        "period_number": cj,
        "period": labels[keep[ci] + cj],
        "cohort_size": size[keep][ci],
        "customers": mat[ci, cj],
        "retention_rate": mat[ci, cj] / size[keep][ci],
    })
    if amount is not None:
        table["orders"] = out["orders"][keep][ci, cj]
        table["revenue"] = out["revenue"][keep][ci, cj]
    meta = {"period": per.freq, "kind": kind, "customers_without_purchase": int(out["customers_without_purchase"])}
    for frame in (counts, rates, table):
        frame.attrs.update(meta)
    return CohortRetention(counts, rates, sizes, table)


def retention_metrics(
    transactions: pd.DataFrame,
    *,
    customer,
    date,
    period: str = "M",
    amount=None,
    order=None,
    returns: str = "net",
    n_jobs=None,
) -> pd.DataFrame:
    """Retention metrics per calendar period.

    Arguments as for :func:`cohort_retention`. Returns a DataFrame indexed by period
    (every period from the first to the last, with no gap) with columns:

    - ``customers``: customers with a purchase in the period (active);
    - ``new_customers``: ... whose first purchase is in the period;
    - ``returning_customers``: active customers who bought before (customers - new);
    - ``retained_customers``: active customers who also bought in the previous period;
    - ``cumulative_customers``: customers acquired up to the period;
    - ``retention_rate``: retained / customers of the previous period;
      ``churn_rate`` = 1 - retention_rate (NaN for the first period);
    - ``repeat_purchase_rate``: share of active customers with two or more orders in the period;
    - ``orders`` and ``purchase_frequency`` = orders / customers;
    - ``customer_growth_rate``: customers / customers of the previous period - 1;
    - with ``amount``: ``revenue`` (net of returns unless ``returns="exclude"``),
      ``average_order_value`` = revenue / orders and ``revenue_per_customer``.

    Rates with a zero denominator are NaN.
    """
    where = "retention_metrics"
    out, labels, per = _cohort_native(transactions, customer, date, period, amount, order, returns, n_jobs, where)
    active = out["period_active"].astype(np.int64)
    prev = np.concatenate([[0], active[:-1]]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        retention = np.where(prev > 0, out["period_retained"] / prev, np.nan)
        growth = np.where(prev > 0, active / prev - 1.0, np.nan)
        freq = np.where(active > 0, out["period_orders"] / active, np.nan)
        repeat = np.where(active > 0, out["period_repeat"] / active, np.nan)
    df = pd.DataFrame(
        {
            "customers": active,
            "new_customers": out["period_new"],
            "returning_customers": active - out["period_new"],
            "retained_customers": out["period_retained"],
            "cumulative_customers": np.cumsum(out["period_new"]),
            "retention_rate": retention,
            "churn_rate": 1.0 - retention,
            "repeat_purchase_rate": repeat,
            "orders": out["period_orders"],
            "purchase_frequency": freq,
            "customer_growth_rate": growth,
        },
        index=pd.PeriodIndex(labels, name="period"),
    )
    if amount is not None:
        rev = out["period_revenue"]
        orders = out["period_orders"]
        with np.errstate(divide="ignore", invalid="ignore"):
            df["revenue"] = rev
            df["average_order_value"] = np.where(orders > 0, rev / orders, np.nan)
            df["revenue_per_customer"] = np.where(active > 0, rev / active, np.nan)
    df.attrs.update({"period": per.freq, "customers_without_purchase": int(out["customers_without_purchase"])})
    return df


# ---------------------------------------------------------------------------------
# Sales funnel


class FunnelResult(NamedTuple):
    """Result of :func:`funnel`.

    stages : DataFrame indexed by stage (in funnel order): ``open_deals``, ``open_amount``,
        ``reached`` (deals that reached the stage: open or lost at it or later, or won),
        ``conversion_to_next`` (reached next / reached), ``lost_at``, ``closed_reached``,
        ``won_reached``, ``estimated_probability`` (won / closed that reached the stage),
        ``win_probability`` (given or estimated), ``weighted_amount`` (open amount x
        probability), ``mean_days_in_stage`` and ``median_days_in_stage`` (open deals, from
        ``stage_entered`` to ``as_of``).
    deals : DataFrame aligned with the input rows: ``stage``, ``status`` (open/won/lost),
        ``win_probability`` (1 won, 0 lost) and ``weighted_amount`` (open deals only).
    by_period : DataFrame of open deals by expected close period (``NaT`` = no date):
        ``open_deals``, ``open_amount``, ``weighted_amount`` (the forecast).
    by_owner : DataFrame by owner: ``open_deals``, ``open_amount``, ``weighted_amount``,
        ``won_deals``, ``won_amount`` and ``expected_amount`` = won + weighted.
    summary : dict of totals: deals open/won/lost, ``win_rate``, won/lost/pipeline amount,
        ``weighted_pipeline``, mean/median days to win and to loss, mean age of open deals.
    """

    stages: pd.DataFrame
    deals: pd.DataFrame
    by_period: pd.DataFrame | None
    by_owner: pd.DataFrame | None
    summary: dict


def _stage_list(stages, where: str) -> list:
    if isinstance(stages, (str, bytes)) or not hasattr(stages, "__iter__"):
        raise ValueError(f"{where}: stages must be a sequence of stage names in funnel order, got {stages!r}")
    stages = list(stages)
    if not stages:
        raise ValueError(f"{where}: stages must name at least one stage")
    if len(set(stages)) != len(stages):
        raise ValueError(f"{where}: stages holds a stage twice: {stages}")
    return stages


def _stage_codes(st: pd.Series, lookup: dict, column, stages: list, where: str) -> np.ndarray:
    missing = st.isna().to_numpy()
    if missing.any():
        raise ValueError(f"{where}: stage has a missing value (first at row {int(np.flatnonzero(missing)[0])})")
    unknown = sorted({v for v in pd.unique(st) if v not in lookup}, key=str)
    if unknown:
        raise ValueError(f"{where}: unknown stage name(s) {unknown[:10]} in column {column!r}; stages are {stages}")
    return np.ascontiguousarray(st.map(lookup).to_numpy(dtype=np.int32))


def _status(values, where: str) -> np.ndarray:
    """won column -> -1 open (missing), 0 lost, 1 won."""
    s = values
    out = np.full(len(s), -1, dtype=np.int8)
    missing = s.isna().to_numpy()
    vals = s[~missing]
    if pd.api.types.is_bool_dtype(vals.dtype) or pd.api.types.is_numeric_dtype(vals.dtype) or vals.dtype == object:
        bad = ~vals.isin([True, False, 0, 1])
        if bad.any():
            first = vals[bad].iloc[0]
            raise ValueError(f"{where}: won must hold True/False (or 1/0) for closed deals and missing for open ones, "
                             f"got {first!r}")
        out[~missing] = vals.astype(bool).to_numpy().astype(np.int8)
        return out
    raise ValueError(f"{where}: won must hold True/False (or 1/0), got dtype {s.dtype}")


def _optional_days(df, col, name, where):
    """Days since the epoch with a marker for missing dates (open deals have no close date)."""
    if col is None:
        return None
    s = df[col]
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        if pd.api.types.is_numeric_dtype(s.dtype) and not s.isna().all():
            raise ValueError(f"{where}: {name} must hold dates, got numbers (dtype {s.dtype})")
        try:
            s = pd.to_datetime(s, errors="raise")
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"{where}: {name} holds values that are not dates ({exc})") from None
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = s.isna().to_numpy()
    ns = s.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    days = np.where(missing, np.iinfo(np.int64).min, ns // _NS_PER_DAY)
    return np.ascontiguousarray(days, dtype=np.int64), missing


def _as_of_day(as_of, where: str):
    return None if as_of is None else as_day(as_of, "as_of", where)


def funnel(
    deals: pd.DataFrame,
    *,
    stage,
    stages,
    amount=None,
    won=None,
    opened=None,
    closed=None,
    owner=None,
    expected_close=None,
    stage_entered=None,
    as_of=None,
    probabilities=None,
    period: str = "M",
) -> FunnelResult:
    """Sales funnel: stage counts, conversion, time in stage, stage win probabilities and
    the probability-weighted revenue forecast.

    Parameters
    ----------
    deals : DataFrame
        One row per deal (opportunity) as a CRM export holds it.
    stage : column name
        The deal's current stage if open, the stage at which it was lost if lost (a won
        deal's stage is not used: it went through every stage).
    stages : sequence of stage names
        The open pipeline stages in funnel order (e.g. ``["Lead", "Qualified", "Proposal",
        "Negotiation"]``); a stage value not in this list is a ValueError.
    amount : column name, optional
        Deal value (non-negative); without it every deal counts 1.
    won : column name, optional
        True (won), False (lost) or missing (open). Without it every deal is open and
        ``probabilities`` must be given for each stage holding deals.
    opened, closed : column names, optional
        Open and close dates (close missing for open deals): days to win / loss and the
        age of open deals (to ``as_of``).
    owner : column name, optional
        Sales owner: the ``by_owner`` forecast.
    expected_close : column name, optional
        Expected close date of open deals: the ``by_period`` forecast, grouped by ``period``.
    stage_entered : column name, optional
        Date the deal entered its current stage: time in stage of open deals (to ``as_of``).
    as_of : date-like, optional
        Reference day for ages; default the latest date in ``opened``/``closed``/
        ``stage_entered``.
    probabilities : dict {stage: probability}, optional
        Win probability per stage; stages not given are estimated from closed deals as
        won / (closed deals that reached the stage).
    period : str
        Period of the expected-close forecast (as in :func:`cohort_retention`).
    """
    where = "funnel"
    _require_frame(deals, "deals", where)
    _required(where, stage=stage)
    require_columns(deals, {"stage": stage, "amount": amount, "won": won, "opened": opened, "closed": closed,
                            "owner": owner, "expected_close": expected_close, "stage_entered": stage_entered}, where)
    stages = _stage_list(stages, where)
    per = _parse_period(period, where)

    st = deals[stage]
    lookup = {s: i for i, s in enumerate(stages)}
    stage_codes = _stage_codes(st, lookup, stage, stages, where)

    amt = None
    if amount is not None:
        amt = as_numeric(deals[amount], "amount", where)
        if (amt < 0).any():
            raise ValueError(f"{where}: amount must be non-negative (first negative at row "
                             f"{int(np.flatnonzero(amt < 0)[0])})")
    status = _status(deals[won], where) if won is not None else np.full(len(deals), -1, dtype=np.int8)

    opened_d = _optional_days(deals, opened, "opened", where)
    closed_d = _optional_days(deals, closed, "closed", where)
    entered_d = _optional_days(deals, stage_entered, "stage_entered", where)
    if closed_d is not None:
        bad = (~closed_d[1]) & (status == -1)
        if won is not None and bad.any():
            raise ValueError(f"{where}: deal at row {int(np.flatnonzero(bad)[0])} has a close date but won is missing "
                             "(is it won or lost?)")
    as_of_day = _as_of_day(as_of, where)
    if as_of_day is None:
        known = [d[0][~d[1]] for d in (opened_d, closed_d, entered_d) if d is not None and (~d[1]).any()]
        as_of_day = int(max(k.max() for k in known)) if known else None

    prob = None
    if probabilities is not None:
        if not isinstance(probabilities, dict):
            raise ValueError(f"{where}: probabilities must be a dict {{stage: probability}}, got "
                             f"{type(probabilities).__name__}")
        unknown = [k for k in probabilities if k not in lookup]
        if unknown:
            raise ValueError(f"{where}: probabilities names unknown stage(s) {unknown}; stages are {stages}")
        prob = np.full(len(stages), np.nan)
        for k, v in probabilities.items():
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= float(v) <= 1:
                raise ValueError(f"{where}: probabilities[{k!r}] must be a number in [0, 1], got {v!r}")
            prob[lookup[k]] = float(v)

    group_a = period_labels = None
    n_a = 0
    if expected_close is not None:
        days, miss = _optional_days(deals, expected_close, "expected_close", where)
        ords = _native.periods_of_days(np.where(miss, 0, days), per.unit, per.week_start)
        uniq, inv = np.unique(ords[~miss], return_inverse=True)
        group_a = np.full(len(deals), len(uniq), dtype=np.int64)  # last group: no date
        group_a[~miss] = inv
        n_a = len(uniq) + 1
        period_labels = list(_period_labels(uniq, per)) + [pd.NaT]
    group_b = owners = None
    n_b = 0
    if owner is not None:
        codes, owners = as_labels(deals[owner], "owner", where)
        group_b, n_b = codes, len(owners)

    r = _native.funnel(stage_codes, len(stages), amt, status,
                       None if opened_d is None else opened_d[0], None if closed_d is None else closed_d[0],
                       None if entered_d is None else entered_d[0], as_of_day, group_a, n_a, group_b, n_b, prob)

    stage_index = pd.Index(stages, name="stage")
    cols = ["open_deals", "open_amount", "reached", "conversion_to_next", "lost_at", "closed_reached", "won_reached",
            "estimated_probability", "win_probability", "weighted_amount", "mean_days_in_stage", "median_days_in_stage"]
    stage_table = pd.DataFrame({c: r[c] for c in cols}, index=stage_index)
    status_names = np.array(["lost", "won", "open"], dtype=object)
    deal_table = pd.DataFrame(
        {
            "stage": pd.Categorical(st.to_numpy(), categories=stages, ordered=True),
            "status": status_names[status],
            "win_probability": r["deal_probability"],
            "weighted_amount": r["deal_weighted"],
        },
        index=deals.index,
    )
    by_period = by_owner = None
    if group_a is not None:
        g = r["by_a"]
        by_period = pd.DataFrame({c: g[c] for c in ("open_deals", "open_amount", "weighted_amount")},
                                 index=pd.PeriodIndex(period_labels, freq=per.freq, name="expected_close"))
        if by_period["open_deals"].iloc[-1] == 0:  # no open deal lacks a date: drop the NaT row
            by_period = by_period.iloc[:-1]
    if group_b is not None:
        g = r["by_b"]
        by_owner = pd.DataFrame({c: g[c] for c in ("open_deals", "open_amount", "weighted_amount", "won_deals",
                                                   "won_amount")}, index=pd.Index(owners, name=owner))
        by_owner["expected_amount"] = by_owner["won_amount"] + by_owner["weighted_amount"]
    summary = dict(r["totals"])
    closed_n = summary["won_deals"] + summary["lost_deals"]
    summary["win_rate"] = summary["won_deals"] / closed_n if closed_n else float("nan")
    summary["as_of"] = None if as_of_day is None else pd.Timestamp(as_of_day * _NS_PER_DAY)
    return FunnelResult(stage_table, deal_table, by_period, by_owner, summary)


def stage_durations(
    history: pd.DataFrame,
    *,
    deal,
    stage,
    entered,
    stages,
    closed=None,
    as_of=None,
) -> pd.DataFrame:
    """Time in stage from stage histories (one row per stage entry of a deal, as a CRM's
    opportunity history export holds them).

    A deal's entries are ordered by ``entered``; a stay ends when the next entry starts, or
    at the deal's ``closed`` date for its last entry. The last stay of a deal without a
    close date is still running: it is counted apart (``in_stage_now``, with its days so
    far to ``as_of``, default the latest date in the history) and never mixed into the
    completed durations, which would bias them downwards.

    Returns a DataFrame indexed by stage (funnel order): ``entries``, ``completed``,
    ``mean_days``, ``median_days`` (completed stays), ``in_stage_now`` and
    ``mean_days_so_far``.
    """
    where = "stage_durations"
    _require_frame(history, "history", where)
    _required(where, deal=deal, stage=stage, entered=entered)
    require_columns(history, {"deal": deal, "stage": stage, "entered": entered, "closed": closed}, where)
    stages = _stage_list(stages, where)
    lookup = {s: i for i, s in enumerate(stages)}
    codes = _stage_codes(history[stage], lookup, stage, stages, where)
    deal_codes, uniques = as_labels(history[deal], "deal", where)
    days = as_datetime(history[entered], "entered", where) // _NS_PER_DAY
    closed_d = _optional_days(history, closed, "closed", where)
    as_of_day = _as_of_day(as_of, where)
    if as_of_day is None:
        as_of_day = int(days.max())
        if closed_d is not None and (~closed_d[1]).any():
            as_of_day = max(as_of_day, int(closed_d[0][~closed_d[1]].max()))
    r = _native.stage_durations(deal_codes, len(uniques), codes, len(stages), np.ascontiguousarray(days, dtype=np.int64),
                                None if closed_d is None else closed_d[0], as_of_day)
    out = pd.DataFrame({
        "entries": r["entries"],
        "completed": r["completed"],
        "mean_days": r["mean_days"],
        "median_days": r["median_days"],
        "in_stage_now": r["current"],
        "mean_days_so_far": r["mean_days_current"],
    }, index=pd.Index(stages, name="stage"))
    out.attrs["as_of"] = pd.Timestamp(as_of_day * _NS_PER_DAY)
    return out


# ---------------------------------------------------------------------------------
# Weighted grading


def _weights(df: pd.DataFrame, weights, name: str, where: str) -> tuple[list, np.ndarray]:
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if not isinstance(weights, dict) or not weights:
        raise ValueError(f"{where}: {name} must be a non-empty dict {{column: weight}}, got {weights!r}")
    cols = list(weights)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: {name} names column(s) {missing} that are not in the table "
                         f"(columns: {list(df.columns)[:12]})")
    w = []
    for c in cols:
        v = weights[c]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{where}: {name}[{c!r}] must be a finite non-negative number, got {v!r}")
        w.append(float(v))
    if sum(w) <= 0:
        raise ValueError(f"{where}: {name} must not all be zero")
    return cols, np.asarray(w)


def _directions(directions, cols: list, where: str) -> np.ndarray:
    """directions: None (all higher is better), a dict {column: "max"|"min"|+1|-1}, or a
    sequence aligned with the weighted columns."""
    if directions is None:
        return np.ones(len(cols), dtype=np.uint8)
    if isinstance(directions, dict):
        extra = [c for c in directions if c not in cols]
        if extra:
            raise ValueError(f"{where}: directions names column(s) {extra} that have no weight")
        values = [directions.get(c, "max") for c in cols]
    else:
        values = list(directions)
        if len(values) != len(cols):
            raise ValueError(f"{where}: directions has {len(values)} entries but there are {len(cols)} weighted columns")
    out = []
    for c, v in zip(cols, values):
        if v in ("max", "higher", 1):
            out.append(1)
        elif v in ("min", "lower", -1):
            out.append(0)
        else:
            raise ValueError(f"{where}: directions[{c!r}] must be 'max' (higher is better) or 'min', got {v!r}")
    return np.asarray(out, dtype=np.uint8)


def _indicator_matrix(df: pd.DataFrame, cols: list, where: str) -> np.ndarray:
    return np.ascontiguousarray(
        np.column_stack([as_numeric(df[c], f"column {c!r}", where) for c in cols]), dtype=np.float64)


def _letters(k: int) -> list:
    return [chr(ord("A") + i) for i in range(k)] if k <= 26 else [f"G{i + 1}" for i in range(k)]


def _grade_spec(grades, shares, where: str):
    """(labels, cumulative shares or None, lower bounds or None) from the grades argument."""
    if isinstance(grades, dict):
        labels = list(grades)
        if not labels:
            raise ValueError(f"{where}: grades must not be empty")
        if shares is not None:
            raise ValueError(f"{where}: shares applies to label grades, not to a thresholds dict")
        try:
            lower = [float(grades[k]) for k in labels]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: grades thresholds must be numbers, got {grades!r}") from None
        if any(np.isnan(lower)) or any(b >= a for a, b in zip(lower, lower[1:])):
            raise ValueError(f"{where}: grade thresholds must be strictly decreasing (best grade first), got {grades!r}")
        return labels, None, lower
    if isinstance(grades, numbers.Integral) and not isinstance(grades, bool):
        if grades < 1:
            raise ValueError(f"{where}: grades must be at least 1, got {grades}")
        labels = _letters(int(grades))
    elif isinstance(grades, (list, tuple)) and grades:
        labels = list(grades)
    else:
        raise ValueError(f"{where}: grades must be a sequence of labels, an int or a dict of thresholds, got {grades!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{where}: grades holds a label twice: {labels}")
    if shares is None:
        return labels, [(k + 1) / len(labels) for k in range(len(labels))], None
    sh = np.asarray(shares, dtype=float)
    if sh.ndim != 1 or len(sh) != len(labels):
        raise ValueError(f"{where}: shares must hold one share per grade ({len(labels)}), got {shares!r}")
    if not np.all(np.isfinite(sh)) or np.any(sh <= 0) or abs(sh.sum() - 1) > 1e-9:
        raise ValueError(f"{where}: shares must be positive and sum to 1, got {list(shares)}")
    cum = list(np.minimum(np.cumsum(sh), 1.0))
    cum[-1] = 1.0
    return labels, cum, None


def grade(
    df: pd.DataFrame,
    weights: dict,
    directions=None,
    method: str = "minmax",
    grades=("A", "B", "C", "D"),
    shares=None,
) -> pd.DataFrame:
    """Weighted multi-indicator grading (e.g. order amount, profit contribution, credit
    standing, development prospects).

    Each indicator is scaled (``method``: "minmax" to [0, 1], "zscore" with the sample
    standard deviation, "rank" = average percentile rank in [0, 1]), reversed where
    ``directions`` says lower is better, and combined with the weights normalised to sum
    to 1. A constant indicator scores 0.5 (0 for z-scores).

    Parameters
    ----------
    df : DataFrame, one row per customer (kept index).
    weights : dict {column: weight} — the indicators graded; weights >= 0, not all 0.
    directions : dict {column: "max"|"min"} (default all "max") or a sequence.
    method : {"minmax", "zscore", "rank"}
    grades : grade labels or thresholds, best first:
        - a sequence of labels (default A-D) or an int k: equal-count groups by score
          (or the group sizes in ``shares``), equal scores sharing a grade;
        - a dict {label: lower bound of the score}, bounds strictly decreasing; rows
          below every bound get a missing grade.
    shares : sequence of group shares (summing to 1), optional, with label grades.

    Returns
    -------
    DataFrame with the input index: ``<column>_contribution`` for each indicator (its
    weight times its scaled value; they sum to the score), ``score``, ``rank`` (1 = best,
    ties share the best rank) and ``grade`` (ordered categorical, best first).
    ``attrs["weights"]`` holds the normalised weights.
    """
    where = "grade"
    _require_frame(df, "df", where)
    _check_choice(method, "method", ("minmax", "zscore", "rank"), where)
    cols, w = _weights(df, weights, "weights", where)
    up = _directions(directions, cols, where)
    X = _indicator_matrix(df, cols, where)
    r = _native.weighted_score(X, w, up, method)
    score = r["score"]
    labels, cum, lower = _grade_spec(grades, shares, where)
    codes = _native.grade_by_thresholds(score, lower) if lower is not None else _native.grade_by_shares(score, cum)
    lookup = np.array(labels + [None], dtype=object)
    out = pd.DataFrame(r["contribution"], index=df.index, columns=[f"{c}_contribution" for c in cols])
    out["score"] = score
    out["rank"] = pd.Series(score, index=df.index).rank(ascending=False, method="min").astype(np.int64)
    out["grade"] = pd.Categorical(lookup[codes], categories=labels, ordered=True)
    out.attrs["weights"] = dict(zip(cols, r["weight"]))
    out.attrs["method"] = method
    return out


class Grader(NativeModelMixin, TransformerMixin, BaseEstimator):
    """Weighted grading fitted on a reference population, applied to new rows by the
    same rules (the fitted form of :func:`grade`).

    ``fit`` learns each indicator's scaling (min/max, mean/sd or the sorted reference
    values for ranks) and the grade bounds (the lowest reference score of each quantile
    grade, or the given thresholds). On the reference rows, :meth:`score_samples` and
    :meth:`grade` equal :func:`grade`. New values are not clipped under min-max (a value
    beyond the reference maximum scales above 1); ranks place a new value between its
    reference neighbours.

    Parameters
    ----------
    weights : None (equal), a sequence (one per column) or a dict {column: weight} (the
        keys must be exactly the DataFrame's columns).
    directions : None (all higher is better), a sequence or a dict {column: "max"|"min"}.
    method : {"minmax", "zscore", "rank"}
    grades, shares : as for :func:`grade`.

    ``transform`` returns the contributions (n_samples, n_features), which sum to
    :meth:`score_samples`; :meth:`grade` returns the grade labels (None below every
    threshold). Saves to the JSON document of the C++ ``custmine::value::WeightedGrader``.
    """

    _native_class = _core.value.Grader

    def __init__(self, weights=None, directions=None, method="minmax", grades=("A", "B", "C", "D"), shares=None):
        self.weights = weights
        self.directions = directions
        self.method = method
        self.grades = grades
        self.shares = shares

    def _columns_spec(self, n_features):
        where = "Grader.fit"
        names = [str(c) for c in getattr(self, "feature_names_in_", [])] or [f"x{j}" for j in range(n_features)]
        w = self.weights
        if w is None:
            wv = [1.0] * n_features
        elif isinstance(w, (dict, pd.Series)):
            w = dict(w)
            if set(map(str, w)) != set(names):
                raise ValueError(f"{where}: weights names {sorted(map(str, w))} but X has columns {names}")
            lookup = {str(k): v for k, v in w.items()}
            wv = [lookup[c] for c in names]
        else:
            wv = list(w)
            if len(wv) != n_features:
                raise ValueError(f"{where}: weights has {len(wv)} values but X has {n_features} columns")
        for c, v in zip(names, wv):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{where}: weights[{c!r}] must be a finite non-negative number, got {v!r}")
        if sum(wv) <= 0:
            raise ValueError(f"{where}: weights must not all be zero")
        d = self.directions
        if isinstance(d, dict):
            d = {str(k): v for k, v in d.items()}
        up = _directions(d, names, where)
        return [float(v) for v in wv], [int(u) for u in up]

    def fit(self, X, y=None):
        where = "Grader.fit"
        _check_choice(self.method, "method", ("minmax", "zscore", "rank"), where)
        X = validate_X(self, X, reset=True)
        labels, cum, lower = _grade_spec(self.grades, self.shares, where)
        weights, up = self._columns_spec(X.shape[1])
        native = self._native_class(self.method, weights, up, cum or [], lower or [])
        native.fit(X)
        self._native = native
        self.labels_ = labels
        return self

    def _score(self, X):
        self._check_fitted()
        X = validate_X(self, X, reset=False)
        return self._native.score(X)

    def transform(self, X):
        """Contributions of each indicator (weight x scaled value), shape (n_samples, n_features)."""
        return np.asarray(self._score(X)["contribution"])

    def score_samples(self, X):
        """Weighted score of each row."""
        return np.asarray(self._score(X)["score"])

    def grade(self, X):
        """Grade label of each row (object array; None below every threshold)."""
        codes = self._score(X)["grade"]
        return np.array(list(self.labels_) + [None], dtype=object)[codes]

    def get_feature_names_out(self, input_features=None):
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{j}" for j in range(self.n_features_in_)]
        return np.array([f"{c}_contribution" for c in names], dtype=object)

    @property
    def grade_bounds_(self) -> pd.Series:
        """Lower score bound of each grade (best first)."""
        self._check_fitted()
        return pd.Series(np.asarray(self._native.lower_bounds, dtype=float), index=list(self.labels_), name="lower_bound")

    @property
    def weights_(self) -> np.ndarray:
        """Normalised weights (sum 1)."""
        self._check_fitted()
        return np.asarray(self._native.weights, dtype=float)

    def _python_state(self) -> dict:
        state = super()._python_state()
        state["labels_"] = list(self.labels_)
        return state

    def _restore_python_state(self, state: dict) -> None:
        super()._restore_python_state(state)
        labels = state.get("labels_")
        if not isinstance(labels, list):
            raise ValueError("Grader.from_json: field 'python.labels_' must be a list")
        self.labels_ = labels


# ---------------------------------------------------------------------------------
# Two-axis matrices: customer value matrix and KAISM


class MatrixResult(NamedTuple):
    """Result of :func:`value_matrix` and :func:`kaism`: ``table`` (one row per customer /
    account, input index kept) and ``summary`` (one row per quadrant, in label order).
    ``table.attrs["split"]`` holds the (x, y) split values."""

    table: pd.DataFrame
    summary: pd.DataFrame


_VALUE_LABELS = ("Value customers", "Potential customers", "Maintenance customers", "Low-value customers")
_VALUE_STRATEGIES = (
    "retain and grow: priority service, loyalty and relationship investment",
    "develop: cross-sell and up-sell to realise the potential",
    "maintain: protect current revenue at an efficient cost to serve",
    "minimise cost to serve; automate or let go",
)
_KAISM_LABELS = ("Strategic", "Key development", "Maintenance", "Opportunistic")
_KAISM_STRATEGIES = (
    "invest: key account management, joint planning and a dedicated team",
    "invest selectively to build the supplier's position and share of wallet",
    "maintain: serve efficiently and manage for cash",
    "serve opportunistically at minimal cost (e.g. through distributors or online)",
)


def _splits(split, x: np.ndarray, y: np.ndarray, where: str, default_pair=None) -> tuple[float, float]:
    if split is None and default_pair is not None:
        return default_pair
    split = "median" if split is None else split
    if isinstance(split, str):
        _check_choice(split, "split", ("median", "mean"), where)
        return _native.split_value(x, split), _native.split_value(y, split)
    vals = split if isinstance(split, (list, tuple, np.ndarray)) else (split, split)
    if len(vals) != 2:
        raise ValueError(f"{where}: split must be 'median', 'mean', a number or an (x, y) pair, got {split!r}")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{where}: split values must be finite numbers, got {split!r}")
        out.append(float(v))
    return out[0], out[1]


def _labels_arg(labels, default, where: str) -> list:
    if labels is None:
        return list(default)
    labels = list(labels)
    if len(labels) != 4 or len(set(labels)) != 4:
        raise ValueError(f"{where}: labels must hold 4 distinct names (high/high, low x/high y, high x/low y, "
                         f"low/low), got {labels!r}")
    return labels


def _vector(values, name: str, where: str, index=None) -> tuple[np.ndarray, pd.Index]:
    if isinstance(values, pd.Series):
        idx = values.index
    else:
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise ValueError(f"{where}: {name} must be 1-dimensional")
        values = pd.Series(arr)
        idx = index if index is not None else values.index
    if len(values) == 0:
        raise ValueError(f"{where}: {name} is empty")
    return as_numeric(values, name, where), idx


def _quadrant_summary(table, q, labels, strategies, value_cols, count_name):
    summary = pd.DataFrame(index=pd.Index(labels, name="quadrant"))
    counts = np.bincount(q, minlength=4)
    summary[count_name] = counts
    summary["share"] = counts / counts.sum()
    for c in value_cols:
        v = table[c].to_numpy()
        sums = np.bincount(q, weights=v, minlength=4)
        summary[f"mean_{c}"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    summary["strategy"] = list(strategies)
    return summary


def value_matrix(current_value, potential_value, *, data=None, split="median", labels=None) -> MatrixResult:
    """The customer value matrix: current value x potential value quadrants.

    ``current_value``/``potential_value`` are arrays or Series of equal length, or column
    names of ``data``. ``split`` is "median" (default), "mean", a number or a
    (current, potential) pair; "high" means strictly above the split. Quadrants (after
    Verhoef & Donkers 2001): high/high "Value customers", low current/high potential
    "Potential customers", high current/low potential "Maintenance customers", low/low
    "Low-value customers" (rename with ``labels``, in that order). Values may be negative
    (loss-making customers); NaN is an error.

    Returns MatrixResult(table, summary): ``table`` has ``current_value``,
    ``potential_value``, ``quadrant`` (categorical) and ``strategy``; ``summary`` per
    quadrant: ``customers``, ``share``, ``mean_current_value``, ``mean_potential_value``,
    ``strategy``.
    """
    where = "value_matrix"
    if data is not None:
        _require_frame(data, "data", where)
        require_columns(data, {"current_value": current_value, "potential_value": potential_value}, where)
        current_value, potential_value = data[current_value], data[potential_value]
    x, idx = _vector(current_value, "current_value", where)
    y, idy = _vector(potential_value, "potential_value", where, index=idx)
    if len(x) != len(y):
        raise ValueError(f"{where}: current_value has {len(x)} rows but potential_value has {len(y)}")
    if isinstance(current_value, pd.Series) and isinstance(potential_value, pd.Series) and not idx.equals(idy):
        raise ValueError(f"{where}: current_value and potential_value are Series with different indexes; "
                         "align them first (e.g. potential_value.reindex(current_value.index))")
    labels = _labels_arg(labels, _VALUE_LABELS, where)
    sx, sy = _splits(split, x, y, where)
    q = _native.quadrants(x, y, sx, sy)
    table = pd.DataFrame({"current_value": x, "potential_value": y}, index=idx)
    table["quadrant"] = pd.Categorical(np.array(labels, dtype=object)[q], categories=labels)
    table["strategy"] = np.array(_VALUE_STRATEGIES, dtype=object)[q]
    table.attrs["split"] = (sx, sy)
    summary = _quadrant_summary(table, q, labels, _VALUE_STRATEGIES, ["current_value", "potential_value"], "customers")
    summary.attrs["split"] = (sx, sy)
    return MatrixResult(table, summary)


def kaism(
    accounts: pd.DataFrame,
    attractiveness: dict,
    position: dict,
    directions=None,
    scale=(0, 10),
    split=None,
    labels=None,
) -> MatrixResult:
    """Key account identification and selection matrix (KAISM; McDonald, Millman & Rogers
    1997; McDonald & Rogers 1998).

    Each account is scored on weighted criteria for its attractiveness to the supplier
    (e.g. volume potential, margin, growth, strategic fit) and for the supplier's relative
    business strength with it as the customer sees it (e.g. product fit, price, service,
    relationship), and placed in one of four quadrants:

    ============================  =====================  =======================================
    attractiveness / strength     quadrant               strategy
    ============================  =====================  =======================================
    high / high                   Strategic (key)        invest: full key account management
    high / low                    Key development        invest selectively to build position
    low / high                    Maintenance            maintain, serve efficiently, cash
    low / low                     Opportunistic          serve at minimal cost
    ============================  =====================  =======================================

    (McDonald & Woodburn 2007 call them strategic, star, status and streamline customers;
    pass ``labels`` to rename, in the order above.)

    Parameters
    ----------
    accounts : DataFrame, one row per account, criteria as columns.
    attractiveness, position : dict {column: weight}, weights >= 0 (normalised to sum 1;
        a column may appear in both).
    directions : dict {column: "max"|"min"}, optional — "min" where a low value is
        attractive/strong (e.g. price sensitivity).
    scale : (low, high) pair, or "minmax", "zscore", "rank"
        A pair means criteria are scored on that fixed scale (the classic 0-10 or 1-10
        scoring sheet; values outside it are an error) and the factor scores are reported
        on it; otherwise each criterion is scaled from the data as in :func:`grade`.
    split : "median", "mean", a number or an (strength, attractiveness) pair; default the
        scale midpoint for a fixed scale, else the median. "High" is strictly above.

    Returns
    -------
    MatrixResult(table, summary). ``table`` (input index): ``attractiveness``,
    ``business_strength``, one ``attractiveness_<col>`` / ``strength_<col>`` contribution
    column per criterion (they sum to the factor score), ``quadrant``, ``strategy``.
    ``summary`` per quadrant: ``accounts``, ``share``, mean scores, ``strategy``.
    """
    where = "kaism"
    _require_frame(accounts, "accounts", where)
    a_cols, a_w = _weights(accounts, attractiveness, "attractiveness", where)
    p_cols, p_w = _weights(accounts, position, "position", where)
    all_cols = list(dict.fromkeys(a_cols + p_cols))
    if isinstance(directions, dict):
        extra = [c for c in directions if c not in all_cols]
        if extra:
            raise ValueError(f"{where}: directions names column(s) {extra} that have no weight")
    elif directions is not None:
        raise ValueError(f"{where}: directions must be a dict {{column: 'max'|'min'}}")
    if isinstance(scale, str):
        _check_choice(scale, "scale", ("minmax", "zscore", "rank"), where)
        method, lo, hi = scale, 0.0, 1.0
    else:
        try:
            lo, hi = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: scale must be a (low, high) pair or 'minmax'/'zscore'/'rank', "
                             f"got {scale!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"{where}: scale must be (low, high) with low < high, got {scale!r}")
        method = "fixed"

    def factor(cols, w):
        d = {c: directions[c] for c in cols if directions and c in directions}
        up = _directions(d, cols, where)
        return _native.weighted_score(_indicator_matrix(accounts, cols, where), w, up, method, lo, hi)

    ra, rp = factor(a_cols, a_w), factor(p_cols, p_w)
    span = (hi - lo) if method == "fixed" else 1.0
    shift = lo if method == "fixed" else 0.0
    attr = shift + span * ra["score"]
    strength = shift + span * rp["score"]
    mid = (lo + hi) / 2
    sx, sy = _splits(split, strength, attr, where, default_pair=(mid, mid) if method == "fixed" else None)
    q = _native.quadrants(strength, attr, sx, sy)
    labels = _labels_arg(labels, _KAISM_LABELS, where)
    table = pd.DataFrame({"attractiveness": attr, "business_strength": strength}, index=accounts.index)
    for j, c in enumerate(a_cols):
        table[f"attractiveness_{c}"] = span * ra["contribution"][:, j]
    for j, c in enumerate(p_cols):
        table[f"strength_{c}"] = span * rp["contribution"][:, j]
    table["quadrant"] = pd.Categorical(np.array(labels, dtype=object)[q], categories=labels)
    table["strategy"] = np.array(_KAISM_STRATEGIES, dtype=object)[q]
    table.attrs["split"] = (sx, sy)
    table.attrs["scale"] = (lo, hi) if method == "fixed" else method
    summary = _quadrant_summary(table, q, labels, _KAISM_STRATEGIES, ["attractiveness", "business_strength"],
                                "accounts")
    summary.attrs["split"] = (sx, sy)
    return MatrixResult(table, summary)


# ---------------------------------------------------------------------------------
# Plots (matplotlib imported on use)


def _axes(ax, figsize=(7, 4.5)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_cohort_heatmap(result, ax=None, annotate: bool | None = None, cmap: str = "Blues"):
    """Heatmap of retention rates (cohort x period number) from :func:`cohort_retention`
    (or its ``rates`` frame). Cells after the data are blank."""
    rates = result.rates if isinstance(result, CohortRetention) else result
    if not isinstance(rates, pd.DataFrame):
        raise ValueError("plot_cohort_heatmap: expected a CohortRetention or its rates DataFrame")
    ax = _axes(ax, (9, 6))
    data = rates.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap=cmap, vmin=0, vmax=1)
    ax.set_xticks(range(data.shape[1]))
    ax.set_xticklabels([str(c) for c in rates.columns], fontsize=7)
    ax.set_yticks(range(data.shape[0]))
    ax.set_yticklabels([str(i) for i in rates.index], fontsize=7)
    ax.set_xlabel("periods since first purchase")
    ax.set_ylabel("cohort")
    ax.set_title("Cohort retention")
    if annotate is None:
        annotate = data.size <= 400
    if annotate:
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=6, color="white" if v > 0.5 else "black")
    ax.figure.colorbar(im, ax=ax, label="retention rate")
    return ax


def plot_funnel(result: FunnelResult, value: str = "reached", ax=None):
    """Funnel chart: one centred bar per stage (deals reached, or open amount with
    ``value="open_amount"``), labelled with the conversion to the next stage."""
    if not isinstance(result, FunnelResult):
        raise ValueError("plot_funnel: expected the FunnelResult of funnel()")
    _check_choice(value, "value", ("reached", "open_deals", "open_amount", "weighted_amount"), "plot_funnel")
    ax = _axes(ax)
    t = result.stages
    v = t[value].to_numpy(dtype=float)
    width = v / v.max() if v.max() > 0 else v
    n = len(t)
    for i, (s, w) in enumerate(zip(t.index, width)):
        y = n - 1 - i
        ax.barh(y, w, left=-w / 2, color=f"C{i % 10}", height=0.8)
        label = f"{s}: {v[i]:,.0f}"
        conv = t["conversion_to_next"].iloc[i]
        if np.isfinite(conv):
            label += f"  (→ {conv:.0%})"
        ax.text(0, y, label, ha="center", va="center", fontsize=8)
    ax.set_axis_off()
    ax.set_title(f"Sales funnel ({value.replace('_', ' ')})")
    return ax


def _plot_quadrants(table, x, y, xlabel, ylabel, title, ax, invert_x=False):
    ax = _axes(ax, (7, 6))
    sx, sy = table.attrs.get("split", (None, None))
    for k, cat in enumerate(table["quadrant"].cat.categories):
        m = (table["quadrant"] == cat).to_numpy()
        ax.scatter(table[x].to_numpy()[m], table[y].to_numpy()[m], s=14, alpha=0.7, color=f"C{k}",
                   label=f"{cat} ({int(m.sum())})")
    if sx is not None:
        ax.axvline(sx, color="grey", lw=0.8, ls="--")
        ax.axhline(sy, color="grey", lw=0.8, ls="--")
    if invert_x:
        ax.invert_xaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_value_matrix(result: MatrixResult, ax=None):
    """Scatter of current x potential value, coloured by quadrant, with the splits."""
    return _plot_quadrants(result.table, "current_value", "potential_value", "current value", "potential value",
                           "Customer value matrix", ax)


def plot_kaism(result: MatrixResult, ax=None):
    """The KAISM grid: attractiveness (vertical) against business strength (horizontal,
    high on the left as in McDonald & Rogers' matrix), coloured by quadrant."""
    return _plot_quadrants(result.table, "business_strength", "attractiveness",
                           "supplier's relative business strength (high ← → low)", "account attractiveness",
                           "Key account identification and selection matrix", ax, invert_x=True)


# ---------------------------------------------------------------------------------
# Demo


def demo_report(out_dir) -> str:
    """Markdown retention section for ``custmine demo`` from the bundled Online Retail
    sample: monthly cohort retention summary, retention metrics, and a heatmap PNG
    (``cohort_retention.png``) written into ``out_dir``."""
    from pathlib import Path

    from ._report import markdown_table
    from .datasets import load_online_retail

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tx = load_online_retail()
    # Cohorts start at the first month of the data: December 2010 is left-censored (its
    # customers include everyone who bought before the data starts), which is why its
    # retention sits far above the later cohorts.
    coh = cohort_retention(tx, customer="CustomerID", date="InvoiceDate", period="M",
                           amount=("Quantity", "UnitPrice"), order="InvoiceNo")
    met = retention_metrics(tx, customer="CustomerID", date="InvoiceDate", period="M",
                            amount=("Quantity", "UnitPrice"), order="InvoiceNo")
    offsets = [c for c in (1, 3, 6, 12) if c in coh.rates.columns]
    head = coh.rates[offsets].copy()
    head.columns = [f"month {c}" for c in offsets]
    head.insert(0, "customers", coh.sizes)
    head.index = head.index.astype(str)
    pct = "{:.1%}".format
    fmt = {c: (lambda v: "" if pd.isna(v) else f"{v:.1%}") for c in head.columns if c != "customers"}
    m = met[["customers", "new_customers", "retention_rate", "repeat_purchase_rate", "purchase_frequency",
             "average_order_value", "customer_growth_rate"]].copy()
    m.index = m.index.astype(str)
    na = lambda f: (lambda v: "" if pd.isna(v) else f(v))  # noqa: E731
    mfmt = {"retention_rate": na(pct), "repeat_purchase_rate": na(pct), "customer_growth_rate": na(pct),
            "purchase_frequency": na("{:.2f}".format), "average_order_value": na("{:,.2f}".format)}
    _save_heatmap(coh, out_dir / "cohort_retention.png")
    mean_m1 = coh.rates[1].iloc[1:].mean() if 1 in coh.rates.columns and len(coh.rates) > 1 else float("nan")
    lines = [
        "## Customer retention (monthly cohorts)",
        "",
        f"{len(tx):,} transaction lines of {coh.sizes.sum():,} customers in {len(coh.sizes)} monthly cohorts "
        "(bundled Online Retail sample; a customer is active in a month with a purchase; returns never count; "
        f"{coh.counts.attrs['customers_without_purchase']} customers with returns only have no cohort). "
        f"Mean month-1 retention of the cohorts after the first: {mean_m1:.1%}. The December 2010 cohort is "
        "left-censored (it holds every earlier customer), so it retains far better than later cohorts.",
        "",
        "### Cohort retention (share of the cohort active n months after its first purchase)",
        "",
        markdown_table(head, fmt),
        "",
        "### Retention metrics per month",
        "",
        markdown_table(m, mfmt),
        "",
        "December 2011 holds only 9 days, so its rates are low.",
        "",
        "![cohort retention](cohort_retention.png)",
    ]
    return "\n".join(lines)


def _save_heatmap(coh: CohortRetention, path) -> None:
    from matplotlib.figure import Figure  # no pyplot: works under any backend, leaks no window

    fig = Figure(figsize=(10, 6.5))
    ax = fig.subplots()
    plot_cohort_heatmap(coh, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
