"""Tests of custmine.value: cohort retention, retention metrics, funnel, grading, value
matrix, KAISM, plots and the demo section."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custmine import value as cv
from conftest import shared_path

# ---------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def toy():
    """Customers 1, 2, 3 over January..April 2020; customer 1's March row is a return."""
    return pd.DataFrame({
        "cust": [1, 1, 2, 2, 1, 3, 1],
        "day": pd.to_datetime(["2020-01-05", "2020-02-03", "2020-02-10", "2020-04-01", "2020-03-01", "2020-03-15",
                               "2020-02-20"]),
        "amount": [10.0, 20, 5, 7, -3, 4, 1],
        "order": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
    })


@pytest.fixture
def deals():
    return pd.DataFrame({
        "stage": ["Lead", "Qualified", "Proposal", "Lead", "Proposal", "Qualified"],
        "amount": [100.0, 200, 300, 50, 400, 80],
        "won": [None, None, None, False, True, False],
        "owner": ["ann", "bob", "ann", "bob", "ann", "ann"],
        "opened": pd.to_datetime(["2020-01-11", "2020-01-11", "2020-01-21", None, "2020-01-01", "2020-01-06"]),
        "closed": pd.to_datetime([None, None, None, None, "2020-01-31", "2020-01-10"]),
        "entered": pd.to_datetime(["2020-02-10", "2020-02-15", "2020-02-20", None, None, None]),
        "expected": pd.to_datetime(["2020-05-01", "2020-05-20", "2020-06-01", None, None, None]),
    })


STAGES = ["Lead", "Qualified", "Proposal"]

# ---------------------------------------------------------------------------------
# Cohort retention


def test_cohort_retention_hand_checked(toy):
    r = cv.cohort_retention(toy, customer="cust", date="day", amount="amount", order="order")
    assert list(r.sizes) == [1, 1, 1]
    assert [str(p) for p in r.counts.index] == ["2020-01", "2020-02", "2020-03"]
    # customer 1: Jan, Feb (March is only a return); customer 2: Feb, Apr; customer 3: Mar
    assert r.counts.loc[pd.Period("2020-01", "M")].tolist() == [1, 1, 0, 0]
    assert r.counts.loc[pd.Period("2020-02", "M")].tolist()[:3] == [1, 0, 1]
    assert r.counts.loc[pd.Period("2020-02", "M"), 3] is pd.NA  # April + 2 months lies after the data
    assert r.counts.dtypes.iloc[0] == "Int64"
    assert np.isnan(r.rates.iloc[2, 2]) and r.rates.iloc[0, 1] == 1.0
    t = r.table.set_index(["cohort", "period_number"])
    jan = pd.Period("2020-01", "M")
    assert t.loc[(jan, 1), "orders"] == 2 and t.loc[(jan, 1), "revenue"] == 21.0
    assert t.loc[(jan, 2), "revenue"] == -3.0 and t.loc[(jan, 2), "customers"] == 0
    assert len(r.table) == 4 + 3 + 2  # observable cells only
    # Without amounts every row is a purchase: customer 1 is active in March.
    plain = cv.cohort_retention(toy, customer="cust", date="day")
    assert plain.counts.iloc[0].tolist() == [1, 1, 1, 0]
    assert "orders" not in plain.table


def test_rolling_retention_is_monotone_and_counts_later_purchases(toy):
    r = cv.cohort_retention(toy, customer="cust", date="day", amount="amount", kind="rolling")
    # customer 2 (Feb cohort) skips March but buys in April: rolling counts March too.
    assert r.counts.loc[pd.Period("2020-02", "M")].tolist()[:3] == [1, 1, 1]
    vals = r.rates.to_numpy()
    for row in vals:
        row = row[np.isfinite(row)]
        assert np.all(np.diff(row) <= 0)


def test_weekly_and_quarterly_periods_label_like_pandas(toy):
    r = cv.cohort_retention(toy, customer="cust", date="day", period="W")
    assert r.counts.index.freqstr == "W-SUN"
    assert r.counts.index[0] == pd.Period("2020-01-05", "W-SUN")  # a Sunday ends its week
    assert r.counts.index[0].start_time == pd.Timestamp("2019-12-30")
    q = cv.cohort_retention(toy, customer="cust", date="day", period="Q")
    assert list(q.sizes) == [3] and q.counts.iloc[0].tolist() == [3, 1]
    w_wed = cv.cohort_retention(toy, customer="cust", date="day", period="W-WED")
    assert w_wed.counts.index[0] == toy["day"].min().to_period("W-WED")


def test_retention_metrics_hand_checked(toy):
    m = cv.retention_metrics(toy, customer="cust", date="day", amount="amount", order="order")
    assert [str(p) for p in m.index] == ["2020-01", "2020-02", "2020-03", "2020-04"]
    assert m["customers"].tolist() == [1, 2, 1, 1]
    assert m["new_customers"].tolist() == [1, 1, 1, 0]
    assert m["returning_customers"].tolist() == [0, 1, 0, 1]
    assert m["retained_customers"].tolist() == [0, 1, 0, 0]
    assert m["cumulative_customers"].tolist() == [1, 2, 3, 3]
    np.testing.assert_allclose(m["retention_rate"], [np.nan, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(m["churn_rate"], [np.nan, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(m["repeat_purchase_rate"], [0, 0.5, 0, 0])  # customer 1 has 2 orders in Feb
    np.testing.assert_allclose(m["purchase_frequency"], [1, 1.5, 1, 1])
    np.testing.assert_allclose(m["revenue"], [10, 26, 1, 7])
    np.testing.assert_allclose(m["average_order_value"], [10, 26 / 3, 1, 7])
    np.testing.assert_allclose(m["customer_growth_rate"], [np.nan, 1.0, -0.5, 0.0])
    ex = cv.retention_metrics(toy, customer="cust", date="day", amount="amount", returns="exclude")
    assert ex["revenue"].tolist() == [10, 26, 4, 7]


def test_cohort_results_do_not_depend_on_threads():
    rng = np.random.default_rng(0)
    n = 30_000
    tx = pd.DataFrame({
        "c": rng.integers(0, 2000, n),
        "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "a": rng.normal(50, 40, n),
    })
    a = cv.cohort_retention(tx, customer="c", date="d", amount="a", period="W", n_jobs=1)
    b = cv.cohort_retention(tx, customer="c", date="d", amount="a", period="W", n_jobs=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.counts, b.counts)


def _online_retail():
    path = shared_path("online_retail", "online_retail.csv")
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    df = df[df["CustomerID"].notna()].copy()
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


@pytest.fixture(scope="module")
def online_retail():
    return _online_retail()


@pytest.mark.parametrize("period", ["M", "W"])
def test_cohort_counts_match_pandas_on_online_retail(online_retail, period):
    """Parity (exact, integer counts) with the idiomatic pandas cohort table on the full
    UCI Online Retail data (406,829 rows with a customer)."""
    df = online_retail
    got = cv.cohort_retention(df, customer="CustomerID", date="InvoiceDate", period=period)
    p = df["InvoiceDate"].dt.to_period(period)
    cohort = p.groupby(df["CustomerID"]).transform("min")
    offset = (p.astype("int64") - cohort.astype("int64")).to_numpy()  # period ordinals differ by 1 per period
    ref = (pd.DataFrame({"cohort": cohort, "n": offset, "c": df["CustomerID"]})
           .groupby(["cohort", "n"])["c"].nunique().unstack(fill_value=0))
    ref_sizes = ref[0]
    assert got.sizes.sum() == df["CustomerID"].nunique() == 4372
    np.testing.assert_array_equal(got.sizes.to_numpy(), ref_sizes.to_numpy())
    assert [str(x) for x in got.counts.index] == [str(x) for x in ref.index]
    mine = got.counts.to_numpy(dtype=float, na_value=np.nan)
    theirs = ref.reindex(columns=got.counts.columns, fill_value=0).to_numpy(dtype=float)
    observable = ~np.isnan(mine)
    np.testing.assert_array_equal(mine[observable], theirs[observable])
    # after the data ends pandas has no rows at all
    assert (theirs[~observable] == 0).all()
    if period == "M":  # the widely reproduced first row of the Online Retail cohort table
        assert got.counts.iloc[0, :4].tolist() == [948, 362, 317, 367]


@pytest.mark.parametrize("period", ["M", "W"])
def test_retention_metrics_match_pandas_on_online_retail(online_retail, period):
    """Parity with an independent pandas computation on the full Online Retail data:
    integer counts exactly, rates to 1e-15, revenue to 1e-9 (summation order differs).
    Weekly periods include an empty Christmas week, which both sides must keep."""
    df = online_retail
    amt = df["Quantity"] * df["UnitPrice"]
    got = cv.retention_metrics(df, customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"),
                               order="InvoiceNo", period=period)
    p = df["InvoiceDate"].dt.to_period(period)
    full = pd.period_range(p.min(), p.max(), freq=p.dt.freq)
    buy = amt >= 0
    pb = pd.DataFrame({"c": df["CustomerID"][buy], "p": p[buy], "o": df["InvoiceNo"][buy]})
    active = pb.groupby("p")["c"].nunique().reindex(full, fill_value=0)
    first = pb.groupby("c")["p"].min()
    new = first.value_counts().reindex(full, fill_value=0)
    pairs = pb[["c", "p"]].drop_duplicates()
    prev = pairs.assign(p=pairs["p"] + 1)
    retained = pairs.merge(prev, on=["c", "p"]).groupby("p").size().reindex(full, fill_value=0)
    per_cust_orders = pb.groupby(["p", "c"])["o"].nunique()
    orders = per_cust_orders.groupby(level="p").sum().reindex(full, fill_value=0)
    repeat = (per_cust_orders >= 2).groupby(level="p").sum().reindex(full, fill_value=0)
    revenue = amt.groupby(p).sum().reindex(full, fill_value=0.0)
    prev_active = active.shift(1).replace(0, np.nan)

    assert list(got.index) == list(full)
    if period == "W":
        assert (got["customers"] == 0).sum() == 1
    np.testing.assert_array_equal(got["customers"], active)
    np.testing.assert_array_equal(got["new_customers"], new)
    np.testing.assert_array_equal(got["retained_customers"], retained)
    np.testing.assert_array_equal(got["orders"], orders)
    np.testing.assert_allclose(got["retention_rate"], retained / prev_active, rtol=1e-15)
    np.testing.assert_allclose(got["repeat_purchase_rate"], repeat / active.replace(0, np.nan), rtol=1e-15)
    np.testing.assert_allclose(got["revenue"], revenue, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got["average_order_value"], revenue / orders.replace(0, np.nan), rtol=1e-9)
    np.testing.assert_allclose(got["customer_growth_rate"], active / prev_active - 1, rtol=1e-15)


def test_cohort_bad_input_is_a_clear_error(toy):
    with pytest.raises(ValueError, match="customer='nope' is not a column"):
        cv.cohort_retention(toy, customer="nope", date="day")
    with pytest.raises(ValueError, match="date must name a column, got None"):
        cv.cohort_retention(toy, customer="cust", date=None)
    with pytest.raises(ValueError, match="transactions is empty"):
        cv.cohort_retention(toy.iloc[:0], customer="cust", date="day")
    with pytest.raises(ValueError, match="transactions must be a pandas DataFrame"):
        cv.cohort_retention(toy.to_numpy(), customer="cust", date="day")
    bad = toy.copy()
    bad.loc[2, "cust"] = np.nan
    with pytest.raises(ValueError, match="customer has a missing value"):
        cv.cohort_retention(bad, customer="cust", date="day")
    bad = toy.copy()
    bad.loc[1, "day"] = pd.NaT
    with pytest.raises(ValueError, match="date has a missing date"):
        cv.retention_metrics(bad, customer="cust", date="day")
    bad = toy.copy()
    bad.loc[3, "amount"] = np.nan
    with pytest.raises(ValueError, match="amount has NaN"):
        cv.retention_metrics(bad, customer="cust", date="day", amount="amount")
    with pytest.raises(ValueError, match="period must be one of"):
        cv.cohort_retention(toy, customer="cust", date="day", period="fortnight")
    with pytest.raises(ValueError, match="kind must be one of"):
        cv.cohort_retention(toy, customer="cust", date="day", kind="cumulative")
    with pytest.raises(ValueError, match="returns must be one of"):
        cv.retention_metrics(toy, customer="cust", date="day", returns="ignore")
    with pytest.raises(ValueError, match="n_jobs"):
        cv.cohort_retention(toy, customer="cust", date="day", n_jobs=0)
    long = pd.DataFrame({"c": [1, 2], "d": pd.to_datetime(["2000-01-01", "2030-01-01"])})
    with pytest.raises(ValueError, match="coarser period"):
        cv.cohort_retention(long, customer="c", date="d", period="D")


# ---------------------------------------------------------------------------------
# Funnel


def test_funnel_hand_checked(deals):
    f = cv.funnel(deals, stage="stage", stages=STAGES, amount="amount", won="won", opened="opened", closed="closed",
                  owner="owner", expected_close="expected", stage_entered="entered", as_of="2020-03-01")
    s = f.stages
    assert s["open_deals"].tolist() == [1, 1, 1]
    assert s["reached"].tolist() == [6, 4, 2]
    np.testing.assert_allclose(s["conversion_to_next"], [4 / 6, 2 / 4, np.nan])
    np.testing.assert_allclose(s["win_probability"], [1 / 3, 1 / 2, 1.0])
    np.testing.assert_allclose(s["weighted_amount"], [100 / 3, 100, 300])
    np.testing.assert_allclose(s["mean_days_in_stage"], [20, 15, 10])  # to 2020-03-01
    assert f.deals["status"].tolist() == ["open", "open", "open", "lost", "won", "lost"]
    np.testing.assert_allclose(f.deals["weighted_amount"], [100 / 3, 100, 300, 0, 0, 0])
    bp = f.by_period
    assert [str(p) for p in bp.index] == ["2020-05", "2020-06"]
    np.testing.assert_allclose(bp["weighted_amount"], [100 / 3 + 100, 300])
    bo = f.by_owner
    np.testing.assert_allclose(bo.loc["ann", "expected_amount"], 400 + 100 / 3 + 300)
    assert bo.loc["bob", "won_deals"] == 0
    sm = f.summary
    assert sm["won_deals"] == 1 and sm["lost_deals"] == 2 and sm["open_deals"] == 3
    assert sm["win_rate"] == pytest.approx(1 / 3)
    assert sm["mean_days_to_win"] == 30 and sm["mean_days_to_loss"] == 4
    assert sm["weighted_pipeline"] == pytest.approx(100 / 3 + 400)


def test_funnel_given_probabilities_and_undated_deals(deals):
    d = deals.copy()
    d.loc[0, "expected"] = pd.NaT
    f = cv.funnel(d, stage="stage", stages=STAGES, amount="amount", won="won", expected_close="expected",
                  probabilities={"Lead": 0.1, "Proposal": 0.9})
    np.testing.assert_allclose(f.stages["win_probability"], [0.1, 0.5, 0.9])
    np.testing.assert_allclose(f.stages["estimated_probability"], [1 / 3, 0.5, 1.0])
    assert f.by_period.index[-1] is pd.NaT and f.by_period["weighted_amount"].iloc[-1] == pytest.approx(10)
    # Without outcomes every deal is open: probabilities must be given.
    open_only = cv.funnel(deals, stage="stage", stages=STAGES, probabilities={"Lead": 0.2, "Qualified": 0.4,
                                                                              "Proposal": 0.6})
    assert open_only.summary["open_deals"] == 6 and np.isnan(open_only.summary["win_rate"])
    np.testing.assert_allclose(open_only.summary["weighted_pipeline"], 2 * 0.2 + 2 * 0.4 + 2 * 0.6)


def test_funnel_bad_input_is_a_clear_error(deals):
    kw = dict(stage="stage", stages=STAGES, amount="amount", won="won")
    with pytest.raises(ValueError, match=r"unknown stage name\(s\) \['Proposal'\]"):
        cv.funnel(deals, stage="stage", stages=["Lead", "Qualified"], won="won")
    with pytest.raises(ValueError, match="stages holds a stage twice"):
        cv.funnel(deals, stage="stage", stages=["Lead", "Lead", "Proposal"])
    with pytest.raises(ValueError, match="stages must be a sequence"):
        cv.funnel(deals, stage="stage", stages="Lead")
    with pytest.raises(ValueError, match="probabilities names unknown stage"):
        cv.funnel(deals, **kw, probabilities={"Closing": 0.5})
    with pytest.raises(ValueError, match=r"probabilities\['Lead'\] must be a number in \[0, 1\]"):
        cv.funnel(deals, **kw, probabilities={"Lead": 1.5})
    with pytest.raises(ValueError, match="pass probabilities"):
        cv.funnel(deals, stage="stage", stages=STAGES)
    bad = deals.copy()
    bad.loc[1, "amount"] = -5
    with pytest.raises(ValueError, match="amount must be non-negative"):
        cv.funnel(bad, **kw)
    bad = deals.copy()
    bad.loc[1, "amount"] = np.nan
    with pytest.raises(ValueError, match="amount has NaN"):
        cv.funnel(bad, **kw)
    bad = deals.copy()
    bad.loc[2, "stage"] = None
    with pytest.raises(ValueError, match="stage has a missing value"):
        cv.funnel(bad, **kw)
    bad = deals.copy()
    bad["won"] = ["yes", None, None, "no", "yes", "no"]
    with pytest.raises(ValueError, match="won must hold True/False"):
        cv.funnel(bad, **kw)
    bad = deals.copy()
    bad.loc[0, "closed"] = pd.Timestamp("2020-02-01")
    with pytest.raises(ValueError, match="has a close date but won is missing"):
        cv.funnel(bad, **kw, closed="closed")
    bad = deals.copy()
    bad.loc[4, "closed"] = pd.Timestamp("2019-01-01")
    with pytest.raises(ValueError, match="closes before it opens"):
        cv.funnel(bad, **kw, opened="opened", closed="closed")
    with pytest.raises(ValueError, match="deals is empty"):
        cv.funnel(deals.iloc[:0], **kw)
    with pytest.raises(ValueError, match="owner='rep' is not a column"):
        cv.funnel(deals, **kw, owner="rep")


def test_stage_durations_hand_checked():
    h = pd.DataFrame({
        "deal": [1, 1, 1, 2, 2, 3],
        "stage": ["Lead", "Qualified", "Proposal", "Lead", "Qualified", "Lead"],
        "entered": pd.to_datetime(["2020-01-01", "2020-01-11", "2020-01-31", "2020-01-05", "2020-01-08",
                                   "2020-02-01"]),
        "closed": pd.to_datetime(["2020-02-10", "2020-02-10", "2020-02-10", None, None, None]),
    })
    # shuffled rows: entries are ordered by date within each deal
    d = cv.stage_durations(h.sample(frac=1, random_state=3), deal="deal", stage="stage", entered="entered",
                           stages=STAGES, closed="closed", as_of="2020-02-11")
    assert d["entries"].tolist() == [3, 2, 1]
    assert d["completed"].tolist() == [2, 1, 1]  # deal 1 closed from Proposal after 10 days
    np.testing.assert_allclose(d["mean_days"], [(10 + 3) / 2, 20, 10])
    np.testing.assert_allclose(d["median_days"], [6.5, 20, 10])
    assert d["in_stage_now"].tolist() == [1, 1, 0]  # deal 3 in Lead, deal 2 in Qualified
    np.testing.assert_allclose(d["mean_days_so_far"], [10, 34, np.nan])
    with pytest.raises(ValueError, match=r"unknown stage name\(s\) \['Proposal'\]"):
        cv.stage_durations(h, deal="deal", stage="stage", entered="entered", stages=["Lead", "Qualified"])
    bad = h.copy()
    bad.loc[0, "closed"] = pd.Timestamp("2020-01-15")
    bad.loc[1, "closed"] = pd.Timestamp("2020-01-15")
    bad.loc[2, "closed"] = pd.Timestamp("2020-01-15")
    with pytest.raises(ValueError, match="closes before it enters its last stage"):
        cv.stage_durations(bad, deal="deal", stage="stage", entered="entered", stages=STAGES, closed="closed")
    bad = h.copy()
    bad.loc[4, "entered"] = pd.NaT
    with pytest.raises(ValueError, match="entered has a missing date"):
        cv.stage_durations(bad, deal="deal", stage="stage", entered="entered", stages=STAGES)
    with pytest.raises(ValueError, match="history is empty"):
        cv.stage_durations(h.iloc[:0], deal="deal", stage="stage", entered="entered", stages=STAGES)


# ---------------------------------------------------------------------------------
# Grading


@pytest.fixture
def indicators():
    return pd.DataFrame({
        "order_amount": [100.0, 300, 200, 400],
        "profit": [10.0, 30, 30, 20],
        "days_overdue": [0.0, 30, 10, 60],  # credit standing: lower is better
    }, index=["a", "b", "c", "d"])


def test_grade_minmax_hand_checked(indicators):
    g = cv.grade(indicators, {"order_amount": 2, "profit": 1, "days_overdue": 1}, directions={"days_overdue": "min"},
                 grades=("A", "B"))
    # scaled: amount (0, 2/3, 1/3, 1), profit (0, 1, 1, 1/2), overdue reversed (1, 1/2, 5/6, 0)
    exp = 0.5 * np.array([0, 2 / 3, 1 / 3, 1]) + 0.25 * np.array([0, 1, 1, 0.5]) + 0.25 * np.array([1, 0.5, 5 / 6, 0])
    np.testing.assert_allclose(g["score"], exp)
    np.testing.assert_allclose(g[[c for c in g if c.endswith("_contribution")]].sum(axis=1), g["score"])
    assert g["order_amount_contribution"]["d"] == pytest.approx(0.5)
    assert g.attrs["weights"] == {"order_amount": 0.5, "profit": 0.25, "days_overdue": 0.25}
    # scores a 0.25, b 0.708, c = d = 0.625: the top half is b and one of the tied c, d,
    # and equal scores share a grade, so both are A
    assert g["grade"].tolist() == ["B", "A", "A", "A"]
    assert g["rank"].tolist() == [4, 1, 2, 2]
    assert g["grade"].cat.ordered and list(g["grade"].cat.categories) == ["A", "B"]
    assert list(g.index) == ["a", "b", "c", "d"]


def test_grade_methods_thresholds_and_shares(indicators):
    w = {"order_amount": 1}
    z = cv.grade(indicators, w, method="zscore", grades=2)
    x = indicators["order_amount"]
    np.testing.assert_allclose(z["score"], (x - x.mean()) / x.std())
    r = cv.grade(indicators, {"profit": 1}, method="rank", grades=("top", "rest"), shares=(0.25, 0.75))
    np.testing.assert_allclose(r["score"], [0, 5 / 6, 5 / 6, 1 / 3])  # average ranks 1, 3.5, 3.5, 2
    # shares put one row in "top"; b and c tie at the top score, so both get it.
    assert r["grade"].tolist() == ["rest", "top", "top", "rest"]
    t = cv.grade(indicators, w, grades={"gold": 0.9, "silver": 0.5, "bronze": 0.0})
    assert t["grade"].tolist() == ["bronze", "silver", "bronze", "gold"]
    t2 = cv.grade(indicators, w, grades={"gold": 0.9, "silver": 0.5})
    assert t2["grade"].isna().tolist() == [True, False, True, False]


def test_grade_bad_input_is_a_clear_error(indicators):
    with pytest.raises(ValueError, match=r"weights names column\(s\) \['margin'\]"):
        cv.grade(indicators, {"order_amount": 1, "margin": 1})
    with pytest.raises(ValueError, match="weights must be a non-empty dict"):
        cv.grade(indicators, [1, 2, 3])
    with pytest.raises(ValueError, match=r"weights\['profit'\] must be a finite non-negative"):
        cv.grade(indicators, {"profit": -1})
    with pytest.raises(ValueError, match="weights must not all be zero"):
        cv.grade(indicators, {"profit": 0, "order_amount": 0})
    with pytest.raises(ValueError, match=r"directions names column\(s\) \['days_overdue'\] that have no weight"):
        cv.grade(indicators, {"profit": 1}, directions={"days_overdue": "min"})
    with pytest.raises(ValueError, match=r"directions\['profit'\] must be 'max'"):
        cv.grade(indicators, {"profit": 1}, directions={"profit": "down"})
    with pytest.raises(ValueError, match="method must be one of"):
        cv.grade(indicators, {"profit": 1}, method="robust")
    with pytest.raises(ValueError, match="shares must be positive and sum to 1"):
        cv.grade(indicators, {"profit": 1}, grades=("A", "B"), shares=(0.5, 0.6))
    with pytest.raises(ValueError, match="strictly decreasing"):
        cv.grade(indicators, {"profit": 1}, grades={"A": 0.2, "B": 0.8})
    bad = indicators.copy()
    bad.loc["b", "profit"] = np.nan
    with pytest.raises(ValueError, match="column 'profit' has NaN"):
        cv.grade(bad, {"profit": 1})
    with pytest.raises(ValueError, match="df is empty"):
        cv.grade(indicators.iloc[:0], {"profit": 1})


# ---------------------------------------------------------------------------------
# Value matrix and KAISM


def test_value_matrix_hand_checked():
    cur = pd.Series([10.0, 20, 30, 40, -5], index=list("abcde"))
    pot = pd.Series([50.0, 10, 60, 5, 70], index=list("abcde"))
    m = cv.value_matrix(cur, pot)  # medians 20 and 50; "high" is strictly above
    assert m.table.attrs["split"] == (20.0, 50.0)
    assert m.table["quadrant"].tolist() == ["Low-value customers", "Low-value customers", "Value customers",
                                            "Maintenance customers", "Potential customers"]
    assert m.summary["customers"].tolist() == [1, 1, 1, 2]
    assert m.summary["share"].sum() == pytest.approx(1.0)
    assert list(m.table.index) == list("abcde")
    mean = cv.value_matrix(cur, pot, split="mean")
    assert mean.table.attrs["split"] == (19.0, 39.0)
    pair = cv.value_matrix(cur, pot, split=(0, 0), labels=["HH", "LH", "HL", "LL"])
    assert pair.table["quadrant"].tolist() == ["HH", "HH", "HH", "HH", "LH"]
    df = pd.DataFrame({"now": cur, "later": pot})
    by_col = cv.value_matrix("now", "later", data=df)
    assert by_col.table["quadrant"].tolist() == m.table["quadrant"].tolist()


def test_value_matrix_bad_input():
    with pytest.raises(ValueError, match="current_value has 3 rows but potential_value has 2"):
        cv.value_matrix([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="potential_value has NaN"):
        cv.value_matrix([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="current_value is empty"):
        cv.value_matrix([], [])
    with pytest.raises(ValueError, match="split must be one of"):
        cv.value_matrix([1, 2], [1, 2], split="mode")
    with pytest.raises(ValueError, match="labels must hold 4 distinct names"):
        cv.value_matrix([1, 2], [1, 2], labels=["a", "b"])
    with pytest.raises(ValueError, match="different indexes"):
        cv.value_matrix(pd.Series([1.0, 2.0], index=[1, 2]), pd.Series([1.0, 2.0], index=[2, 3]))
    with pytest.raises(ValueError, match="potential_value='x' is not a column"):
        cv.value_matrix("a", "x", data=pd.DataFrame({"a": [1.0]}))


@pytest.fixture
def accounts():
    return pd.DataFrame({
        "volume": [9, 2, 8, 3, 7],
        "growth": [8, 3, 2, 9, 8],
        "price_sensitivity": [2, 9, 8, 3, 1],
        "product_fit": [7, 6, 3, 2, 2],
        "relationship": [9, 2, 8, 1, 3],
    }, index=["Acme", "Bolt", "Cato", "Dyna", "Echo"])


def test_kaism_hand_checked(accounts):
    k = cv.kaism(accounts, attractiveness={"volume": 2, "growth": 1, "price_sensitivity": 1},
                 position={"product_fit": 1, "relationship": 1}, directions={"price_sensitivity": "min"})
    t = k.table
    # attractiveness on the 0-10 scale: (2*volume + growth + (10 - price_sensitivity)) / 4
    exp_attr = (2 * accounts["volume"] + accounts["growth"] + (10 - accounts["price_sensitivity"])) / 4
    np.testing.assert_allclose(t["attractiveness"], exp_attr)
    np.testing.assert_allclose(t["business_strength"], (accounts["product_fit"] + accounts["relationship"]) / 2)
    contrib = [c for c in t if c.startswith("attractiveness_")]
    np.testing.assert_allclose(t[contrib].sum(axis=1), t["attractiveness"])
    assert t.attrs["split"] == (5.0, 5.0)
    # attractiveness 8.25, 2, 5 (on the split: low), 5.5, 7.75; strength 8, 4, 5.5, 1.5, 2.5
    assert t["quadrant"].tolist() == ["Strategic", "Opportunistic", "Maintenance", "Key development", "Key development"]
    assert t.loc["Acme", "strategy"].startswith("invest")
    assert k.summary["accounts"].tolist() == [1, 2, 1, 1]
    ranked = cv.kaism(accounts, attractiveness={"volume": 1}, position={"relationship": 1}, scale="rank")
    assert ranked.table.attrs["split"] == (0.5, 0.5)  # medians of the percentile ranks


def test_kaism_bad_input(accounts):
    att = {"volume": 1}
    pos = {"relationship": 1}
    with pytest.raises(ValueError, match=r"position names column\(s\) \['trust'\]"):
        cv.kaism(accounts, attractiveness=att, position={"trust": 1})
    with pytest.raises(ValueError, match="outside the scale"):
        cv.kaism(accounts, attractiveness=att, position=pos, scale=(0, 5))
    with pytest.raises(ValueError, match="scale must be"):
        cv.kaism(accounts, attractiveness=att, position=pos, scale=(5, 0))
    with pytest.raises(ValueError, match="directions names column"):
        cv.kaism(accounts, attractiveness=att, position=pos, directions={"growth": "min"})
    with pytest.raises(ValueError, match="accounts is empty"):
        cv.kaism(accounts.iloc[:0], attractiveness=att, position=pos)


# ---------------------------------------------------------------------------------
# Inputs are never modified


def test_no_function_mutates_its_input(toy, deals, indicators, accounts):
    history = pd.DataFrame({"deal": [2, 1, 1], "stage": ["Qualified", "Lead", "Proposal"],
                            "entered": ["2020-01-05", "2020-01-01", "2020-01-03"]})
    frames = {"toy": toy, "deals": deals, "indicators": indicators, "accounts": accounts, "history": history}
    before = {k: v.copy(deep=True) for k, v in frames.items()}
    cv.cohort_retention(toy, customer="cust", date="day", amount="amount", order="order")
    cv.retention_metrics(toy, customer="cust", date="day", amount="amount", order="order")
    cv.funnel(deals, stage="stage", stages=STAGES, amount="amount", won="won", opened="opened", closed="closed",
              owner="owner", expected_close="expected", stage_entered="entered")
    cv.grade(indicators, {"profit": 1, "days_overdue": 1}, directions={"days_overdue": "min"})
    cv.value_matrix("order_amount", "profit", data=indicators)
    cv.kaism(accounts, attractiveness={"volume": 1}, position={"relationship": 1})
    cv.stage_durations(history, deal="deal", stage="stage", entered="entered", stages=STAGES)
    for k, v in frames.items():
        pd.testing.assert_frame_equal(v, before[k])


# ---------------------------------------------------------------------------------
# Plots and demo


def test_plots_draw(toy, deals, accounts):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(2, 2).ravel()
    ax = cv.plot_cohort_heatmap(cv.cohort_retention(toy, customer="cust", date="day"), ax=axes[0])
    assert len(ax.images) == 1 and len(ax.texts) == 9  # one label per observable cell
    f = cv.funnel(deals, stage="stage", stages=STAGES, amount="amount", won="won")
    ax = cv.plot_funnel(f, ax=axes[1])
    assert len(ax.patches) == 3
    ax = cv.plot_value_matrix(cv.value_matrix([1, 2, 3, 4], [4, 3, 2, 1]), ax=axes[2])
    assert len(ax.collections) == 4
    ax = cv.plot_kaism(cv.kaism(accounts, attractiveness={"volume": 1}, position={"relationship": 1}), ax=axes[3])
    assert ax.xaxis_inverted()
    with pytest.raises(ValueError, match="plot_funnel: expected"):
        cv.plot_funnel(f.stages)


def test_demo_report(tmp_path):
    pytest.importorskip("matplotlib")
    text = cv.demo_report(tmp_path)
    assert text.startswith("## Customer retention")
    assert "| 2010-12 |" in text and "retention_rate" in text
    png = tmp_path / "cohort_retention.png"
    assert png.exists() and png.stat().st_size > 10_000


# ---------------------------------------------------------------------------------
# Fitted grader

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import custmine  # noqa: E402


@pytest.mark.parametrize("method", ["minmax", "zscore", "rank"])
@pytest.mark.parametrize("grades,shares", [(("A", "B", "C"), (0.2, 0.3, 0.5)), (4, None),
                                           ({"top": 0.7, "mid": 0.4, "low": 0.1}, None)])
def test_grader_on_reference_rows_equals_grade(method, grades, shares):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"amount": rng.gamma(2, 100, 300).round(), "profit": rng.normal(20, 10, 300).round(1),
                       "overdue": rng.integers(0, 5, 300).astype(float)})
    w = {"amount": 3, "profit": 2, "overdue": 1}
    d = {"overdue": "min"}
    if method == "zscore" and isinstance(grades, dict):
        grades = {"top": 1.0, "mid": 0.0, "low": -1.0}
    ref = cv.grade(df, w, directions=d, method=method, grades=grades, shares=shares)
    g = cv.Grader(weights=w, directions=d, method=method, grades=grades, shares=shares).fit(df)
    np.testing.assert_allclose(g.score_samples(df), ref["score"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.transform(df).sum(axis=1), ref["score"], atol=1e-12)
    assert list(g.grade(df)) == [None if pd.isna(x) else x for x in ref["grade"]]
    assert g.weights_.sum() == pytest.approx(1.0)


def test_grader_scores_new_rows_by_the_reference_rules():
    ref = pd.DataFrame({"x": [0.0, 10, 20, 30, 40]})
    g = cv.Grader(grades=("hi", "lo"), shares=(0.4, 0.6)).fit(ref)
    new = pd.DataFrame({"x": [50.0, 25, -10]})
    np.testing.assert_allclose(g.score_samples(new), [1.25, 0.625, -0.25])  # min-max of the reference, unclipped
    # bound of "hi" = lowest reference score in it (x = 30 -> 0.75)
    assert g.grade_bounds_["hi"] == pytest.approx(0.75)
    assert list(g.grade(new)) == ["hi", "lo", "lo"]
    r = cv.Grader(method="rank", grades=2).fit(ref)
    np.testing.assert_allclose(r.score_samples(pd.DataFrame({"x": [20.0, 25, 99]})), [0.5, 0.625, 1.0])
    with pytest.raises(ValueError, match="feature names"):
        g.score_samples(pd.DataFrame({"x": [1.0], "y": [2.0]}))


def test_grader_json_round_trip_pickle_and_corrupt_documents(tmp_path):
    import json
    import pickle

    df = pd.DataFrame({"a": [1.0, 5, 3, 8], "b": [2.0, 2, 9, 4]})
    g = cv.Grader(weights={"a": 1, "b": 2}, directions={"b": "min"}, method="rank", grades=("G", "S", "B")).fit(df)
    for other in (cv.Grader.from_json(g.to_json()), pickle.loads(pickle.dumps(g))):
        np.testing.assert_array_equal(other.score_samples(df), g.score_samples(df))
        assert list(other.grade(df)) == list(g.grade(df))
        assert list(other.feature_names_in_) == ["a", "b"]
    g.save(tmp_path / "grader.json")
    assert list(cv.Grader.load(tmp_path / "grader.json").grade(df)) == list(g.grade(df))
    doc = json.loads(g.to_json())
    for path, value in ((("estimator",), "RFMScorer"), (("params", "method"), "median"),
                        (("state", "lower"), [0.1, 0.5, 0.2]), (("state", "sorted"), [[3, 1], [1, 2]]),
                        (("params", "weights"), [1, -2]), (("state", "a"), "oops")):
        bad = json.loads(json.dumps(doc))
        node = bad
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        with pytest.raises(custmine.SerializationError):
            cv.Grader.from_json(json.dumps(bad))
    with pytest.raises(custmine.SerializationError):
        cv.Grader.from_json("{not json")


def test_grader_bad_parameters():
    X = pd.DataFrame({"a": [1.0, 2], "b": [3.0, 4]})
    with pytest.raises(ValueError, match=r"weights names \['a', 'c'\] but X has columns \['a', 'b'\]"):
        cv.Grader(weights={"a": 1, "c": 1}).fit(X)
    with pytest.raises(ValueError, match="weights has 3 values but X has 2 columns"):
        cv.Grader(weights=[1, 1, 1]).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        cv.Grader(method="fixed").fit(X)
    with pytest.raises(ValueError, match=r"directions names column\(s\) \['z'\]"):
        cv.Grader(directions={"z": "min"}).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        cv.Grader().fit(X.assign(a=[1.0, np.nan]))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        cv.Grader().score_samples(X)


@parametrize_with_checks([cv.Grader(), cv.Grader(method="rank", grades=("A", "B"), shares=(0.3, 0.7)),
                          cv.Grader(method="zscore")])
def test_sklearn_compat(estimator, check):
    check(estimator)
