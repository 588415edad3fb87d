"""custmine.tiering: RFM, pyramid and ABC — hand cases, parity with an independent pandas
computation on the full UCI Online Retail data, bad input, and the fitted RFMScorer."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import custmine
from custmine import tiering
from custmine.tiering import QuantileScorer, RFMScorer, abc, pyramid, rfm

from conftest import shared_path


@pytest.fixture
def small():
    return pd.DataFrame(
        {
            "cust": ["b", "b", "b", "b", "a", "c"],
            "when": pd.to_datetime(["2024-01-10", "2024-01-10 15:00", "2024-01-20", "2024-01-25", "2024-01-05",
                                    "2024-01-07"], format="ISO8601"),
            "value": [30.0, 20.0, 50.0, -10.0, 40.0, -5.0],
            "order": ["o1", "o1", "o2", "o3", "o4", "o5"],
        }
    )


def test_rfm_hand_checked(small):
    before = small.copy(deep=True)
    t = rfm(small, customer="cust", date="when", amount="value", order="order", as_of="2024-01-30", bins=3)
    pd.testing.assert_frame_equal(small, before)  # input untouched
    assert list(t.index) == ["a", "b", "c"] and t.index.name == "cust"
    assert list(t["recency"]) == [25, 10, 23]
    assert list(t["frequency"]) == [1, 2, 0]
    assert list(t["monetary"]) == [40.0, 90.0, -5.0]
    assert list(t["r_score"]) == [1, 3, 2]
    assert list(t["f_score"]) == [2, 3, 1]
    assert list(t["rfm_code"]) == ["122", "333", "211"]
    assert t["rfm_code"].dtype == "category"
    assert list(t["rfm_score"]) == [5, 9, 4]
    assert t.attrs["as_of"] == pd.Timestamp("2024-01-30")


def test_rfm_default_as_of_is_day_after_last(small):
    t = rfm(small, customer="cust", date="when", amount="value")
    assert t.attrs["as_of"] == pd.Timestamp("2024-01-26")
    assert t.loc["b", "recency"] == 6  # last purchase on the 20th (the 25th is a return)
    assert t.loc["b", "frequency"] == 3  # rows, without an order column


def test_rfm_from_arrays_equals_from_frame(small):
    a = rfm(customer=small["cust"].to_numpy(), date=small["when"].to_numpy(), amount=small["value"].to_numpy(),
            order=small["order"].to_numpy())
    b = rfm(small, customer="cust", date="when", amount="value", order="order")
    pd.testing.assert_frame_equal(a.drop(columns="segment"), b.drop(columns="segment"), check_names=False)


def test_rfm_amount_as_product_and_returns_option(small):
    df = small.assign(qty=[3, 2, 5, -1, 4, -1], price=[10.0, 10.0, 10.0, 10.0, 10.0, 5.0])
    t = rfm(df, customer="cust", date="when", amount=("qty", "price"))
    assert list(t["monetary"]) == [40.0, 90.0, -5.0]
    ex = rfm(df, customer="cust", date="when", amount=("qty", "price"), returns="exclude", monetary="mean")
    assert list(ex["monetary"]) == [40.0, 100.0 / 3, 0.0]


def test_segments_default_table_and_override(small):
    rules = tiering.segment_rules()
    assert list(rules["segment"]) == ["Champions", "Loyal Customers", "Can't Lose Them", "At Risk", "New Customers",
                                      "Promising", "Need Attention", "Lost", "Hibernating", "About to Sleep",
                                      "Potential Loyalist"]
    custom = pd.DataFrame([["Everyone", 1, 5, 1, 5, 1, 5]], columns=rules.columns)
    t = rfm(small, customer="cust", date="when", amount="value", segments=custom)
    assert set(t["segment"]) == {"Everyone"}
    champions_only = rules.iloc[:1]
    t2 = rfm(small, customer="cust", date="when", amount="value", segments=champions_only)
    assert set(t2["segment"]) <= {"Champions", "Others"}
    seg = tiering.assign_segments([5, 1], [5, 1], [5, 1])
    assert list(seg) == ["Champions", "Lost"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(customer="nope", date="when", amount="value"), "customer='nope' is not a column"),
        (dict(customer="cust", date="when", amount="value", bins=1), "bins must be an integer in 2..100"),
        (dict(customer="cust", date="when", amount="value", bins=2.5), "bins must be an integer"),
        (dict(customer="cust", date="when", amount="value", as_of="2024-01-01"), "as_of 2024-01-01 is before the last"),
        (dict(customer="cust", date="when", amount="value", as_of="yesterday-ish"), "as_of is not a date"),
        (dict(customer="cust", date="when", amount="value", ties="random"), "ties must be one of"),
        (dict(customer="cust", date="when", amount="value", monetary="median"), "monetary must be one of"),
        (dict(customer="cust", date="when", amount="value", returns="drop"), "returns must be one of"),
        (dict(customer="cust", date="when", amount="cust"), "amount must be numeric"),
        (dict(customer="cust", date="value", amount="value"), "date must hold dates"),
        (dict(customer="cust", date="when", amount="value", segments=pd.DataFrame({"segment": ["x"]})),
         "segments is missing the column"),
    ],
)
def test_rfm_bad_input(small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rfm(small, **kwargs)


def test_rfm_bad_values(small):
    with pytest.raises(ValueError, match=r"amount has NaN or infinity \(first at row 2\)"):
        rfm(small.assign(value=[1.0, 2.0, np.nan, 1, 1, 1]), customer="cust", date="when", amount="value")
    with pytest.raises(ValueError, match="customer has a missing value"):
        rfm(small.assign(cust=["a", None, "b", "b", "c", "c"]), customer="cust", date="when", amount="value")
    with pytest.raises(ValueError, match="date has a missing date"):
        rfm(small.assign(when=[pd.NaT] + list(small["when"][1:])), customer="cust", date="when", amount="value")
    with pytest.raises(ValueError, match="not dates"):
        rfm(small.assign(when=["2024-01-01", "x", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"]),
            customer="cust", date="when", amount="value")
    with pytest.raises(ValueError, match="transactions is empty"):
        rfm(small.iloc[:0], customer="cust", date="when", amount="value")
    with pytest.raises(ValueError, match="expected a pandas DataFrame"):
        rfm([1, 2], customer="cust", date="when", amount="value")


def test_rfm_thread_count_invariance():
    rng = np.random.default_rng(8)
    n = 30_000
    tx = pd.DataFrame({"c": rng.integers(0, 2_000, n).astype(str),
                       "d": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
                       "a": rng.normal(50, 30, n), "o": rng.integers(0, 9_000, n)})
    base = rfm(tx, customer="c", date="d", amount="a", order="o", n_jobs=1)
    for n_jobs in (2, -1):
        pd.testing.assert_frame_equal(rfm(tx, customer="c", date="d", amount="a", order="o", n_jobs=n_jobs), base,
                                      check_exact=True)
    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer"):
        rfm(tx, customer="c", date="d", amount="a", n_jobs=0)


def test_rfm_monetary_is_order_independent_and_exact():
    # Totals are exact sums on a grid of 2^-90 of the largest |amount|, rounded once: the
    # same doubles for any row order, and equal to the correctly rounded sum (math.fsum)
    # when every amount lies on the grid, as decimal amounts of this size do.
    import math

    rng = np.random.default_rng(11)
    n = 20_000
    tx = pd.DataFrame({"c": rng.integers(0, 300, n),
                       "d": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
                       "a": np.round(rng.normal(20, 40, n), 2) * 1.1})
    base = rfm(tx, customer="c", date="d", amount="a")
    for seed in range(3):
        shuffled = tx.sample(frac=1.0, random_state=seed)
        np.testing.assert_array_equal(rfm(shuffled, customer="c", date="d", amount="a")["monetary"].to_numpy(),
                                      base["monetary"].to_numpy())
    fsum = tx.groupby("c")["a"].agg(lambda v: math.fsum(v))
    np.testing.assert_array_equal(base["monetary"].to_numpy(), fsum.to_numpy())
    # a naive running sum is order-dependent on the same data (what the grid avoids)
    naive = [tx.sample(frac=1.0, random_state=s).groupby("c")["a"].sum().to_numpy() for s in range(3)]
    assert any((x != naive[0]).any() for x in naive[1:])


def test_pyramid_and_abc_hand_checked():
    v = pd.Series([5, 100, 7, 7, 1, 50, 3, 2, 7, 0], index=list("abcdefghij"), name="spend")
    tiers, summary = pyramid(v, cuts=(0.1, 0.3), labels=("Top", "Mid", "Rest"))
    assert list(tiers) == ["Rest", "Top", "Mid", "Rest", "Rest", "Mid", "Rest", "Rest", "Rest", "Rest"]
    assert tiers.index.equals(v.index)
    assert list(summary["customers"]) == [1, 2, 7]
    assert summary["cum_value_share"].iloc[-1] == pytest.approx(1.0)
    classes, s2 = abc(pd.Series([10.0, 60.0, 30.0]))
    assert list(classes) == ["B", "A", "A"]
    assert list(s2["customers"]) == [2, 1, 0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pyramid([1, 2, 3], cuts=(0.2, 0.1)), "cuts must be strictly increasing"),
        (lambda: pyramid([1, 2, 3], cuts=(0.5, 1.0)), r"cuts must lie in \(0, 1\)"),
        (lambda: pyramid([1, 2, 3], labels=("a", "b")), "labels needs 4 names"),
        (lambda: pyramid([]), "values is empty"),
        (lambda: pyramid([1.0, np.nan]), "values has NaN"),
        (lambda: pyramid(np.ones((2, 2))), "values must be 1-dimensional"),
        (lambda: abc([-1.0, 0.5]), "total value must be positive"),
        (lambda: abc([1.0, 2.0], thresholds=(0.8, 1.2)), r"thresholds must lie in \(0, 1\]"),
        (lambda: abc(["x", "y"]), "values must be numeric"),
    ],
)
def test_pyramid_abc_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------------
# Parity with an independent pandas computation on the full Online Retail data


@pytest.fixture(scope="module")
def online_retail():
    path = shared_path("online_retail", "online_retail.csv")
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    df = df[df["CustomerID"].notna()].copy()
    df["CustomerID"] = df["CustomerID"].astype("int64")
    df["amount"] = df["Quantity"] * df["UnitPrice"]
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


def _pandas_rfm(df, bins, ties):
    day = df["InvoiceDate"].dt.normalize()
    as_of = day.max() + pd.Timedelta(days=1)
    purchase = df["amount"] >= 0
    g_all = df.assign(day=day).groupby("CustomerID")
    g_buy = df[purchase].assign(day=day[purchase]).groupby("CustomerID")
    last = g_buy["day"].max().reindex(g_all.size().index).fillna(g_all["day"].max())
    out = pd.DataFrame({
        "recency": (as_of - last).dt.days.astype("int64"),
        "frequency": g_buy["InvoiceNo"].nunique().reindex(last.index, fill_value=0).astype("int64"),
        "monetary": g_all["amount"].sum(),
    })
    method = "first" if ties == "first" else "min"
    n = len(out)
    out["r_score"] = np.ceil(out["recency"].rank(ascending=False, method=method) * bins / n).astype("int32")
    out["f_score"] = np.ceil(out["frequency"].rank(method=method) * bins / n).astype("int32")
    out["m_score"] = np.ceil(out["monetary"].rank(method=method) * bins / n).astype("int32")
    return out


@pytest.mark.parametrize("bins,ties", [(5, "first"), (5, "together"), (4, "first"), (10, "together")])
def test_rfm_parity_full_online_retail(online_retail, bins, ties):
    ours = rfm(online_retail, customer="CustomerID", date="InvoiceDate", amount="amount", order="InvoiceNo",
               bins=bins, ties=ties)
    ref = _pandas_rfm(online_retail, bins, ties)
    assert len(ours) == 4372
    pd.testing.assert_index_equal(ours.index, ref.index)
    for col in ["recency", "frequency", "r_score", "f_score", "m_score"]:
        np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    # Sums in a different order: equal to rounding.
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], rtol=1e-12, atol=1e-8)


def test_pyramid_abc_parity_full_online_retail(online_retail):
    value = online_retail.groupby("CustomerID")["amount"].sum()
    n = len(value)
    order = value.sort_values(ascending=False, kind="stable")
    position = pd.Series(np.arange(1, n + 1), index=order.index).reindex(value.index)
    cuts = (0.01, 0.05, 0.20)
    ref_tier = np.full(n, 3)
    for k in reversed(range(3)):
        ref_tier[position.to_numpy() <= np.ceil(cuts[k] * n - 1e-9)] = k
    tiers, summary = pyramid(value)
    np.testing.assert_array_equal(tiers.cat.codes.to_numpy(), ref_tier)
    np.testing.assert_allclose(summary["value"].to_numpy(), value.groupby(ref_tier).sum().to_numpy(), rtol=1e-12)

    before = order.cumsum().shift(fill_value=0.0) / value.sum()
    ref_abc = np.select([before < 0.80, before < 0.95], [0, 1], 2)
    ref_abc = pd.Series(ref_abc, index=order.index).reindex(value.index).to_numpy()
    classes, s = abc(value)
    np.testing.assert_array_equal(classes.cat.codes.to_numpy(), ref_abc)
    assert s["customers"].sum() == n


# ----------------------------------------------------------------------------------
# RFMScorer


@parametrize_with_checks([QuantileScorer(), QuantileScorer(bins=3, higher_is_better=False)])
def test_sklearn_compat(estimator, check):
    check(estimator)


def test_rfm_scorer_matches_together_scores_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    tx = pd.DataFrame({"c": rng.integers(0, 300, 4000), "d": pd.Timestamp("2024-01-01")
                       + pd.to_timedelta(rng.integers(0, 200, 4000), unit="D"), "a": rng.integers(0, 500, 4000)})
    table = rfm(tx, customer="c", date="d", amount="a", ties="together")
    X = table[["recency", "frequency", "monetary"]]
    scorer = RFMScorer().fit(X)
    np.testing.assert_array_equal(scorer.transform(X), table[["r_score", "f_score", "m_score"]].to_numpy())
    assert list(scorer.feature_names_in_) == ["recency", "frequency", "monetary"]
    # edges_ are in the columns' own units: recency edges descend (older first), others ascend
    assert np.all(np.diff(scorer.edges_[0]) <= 0) and np.all(np.diff(scorer.edges_[2]) >= 0)
    path = tmp_path / "scorer.json"
    scorer.save(path)
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 1 and doc["estimator"] == "QuantileScorer"
    assert doc["params"]["higher_is_better"] == [False, True, True]
    back = RFMScorer.load(path)
    np.testing.assert_array_equal(back.transform(X), scorer.transform(X))
    assert list(back.feature_names_in_) == list(scorer.feature_names_in_)
    seg = tiering.assign_segments(*scorer.transform(X).T)
    assert list(seg) == list(table["segment"])
    with pytest.raises(ValueError, match="X must have 3 columns"):
        RFMScorer().fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match="X has 2 features"):
        scorer.transform(np.ones((5, 2)))


@pytest.mark.parametrize("text, message", [
    ("not json", "not valid JSON"),
    ('{"format_version": 1, "estimator": "KMeans", "params": {}, "state": {}}', "holds a 'KMeans' model"),
    ('{"format_version": 7, "estimator": "QuantileScorer", "params": {}, "state": {}}', "format_version 7"),
    ('{"format_version": 1, "estimator": "QuantileScorer", "params": {"bins": 5, "higher_is_better": [true]},'
     ' "state": {"edges": [[1, 2]]}}', "bins-1 = 4"),
    ('{"format_version": 1, "estimator": "QuantileScorer", "params": {"bins": 3, "higher_is_better": [true]},'
     ' "state": {"edges": [[2, 1]]}}', "non-decreasing"),
])
def test_corrupt_documents_raise(text, message):
    with pytest.raises(custmine.SerializationError, match=message):
        RFMScorer.from_json(text)


def test_reads_the_committed_format_1_document():
    # The same file tests/cpp/test_tiering.cpp reads: C++ and Python share the format.
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "rfm_scorer_v1.json"
    scorer = RFMScorer.load(path)
    X = np.array([[1, 1, 10.0], [5, 2, 20.0], [30, 1, 5.0], [90, 7, 300.0], [2, 3, 45.0], [200, 1, 1.5]])
    assert scorer.bins == 3
    assert scorer.transform(X).tolist() == [[3, 1, 2], [2, 2, 2], [2, 1, 1], [1, 3, 3], [3, 3, 3], [1, 1, 1]]


def test_value_tools_are_part_of_tiering():
    from custmine import value

    for name in ["cohort_retention", "retention_metrics", "funnel", "grade", "Grader", "value_matrix", "kaism"]:
        assert getattr(tiering, name) is getattr(value, name)
        assert name in tiering.__all__
