"""custmine.dask on a real distributed LocalCluster with two worker processes (so models and
functions travel by pickling to other processes): equal to the single-machine results on
bank marketing, the full Online Retail data and Groceries; bad input fails on the driver."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe", reason="Dask is not installed (pip install 'custmine[dask]')")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

from custmine import association as A  # noqa: E402
from custmine import dask as cmd  # noqa: E402
from custmine.classification import LogisticRegression  # noqa: E402
from custmine.ensemble import RandomForestClassifier  # noqa: E402
from custmine.tiering import rfm  # noqa: E402

from conftest import (assert_engine_scores, assert_rfm_equal, assert_summary_equal,  # noqa: E402
                      every_family_models, first_rows, shared_path)


@pytest.fixture(scope="module")
def client():
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"a Dask LocalCluster cannot start here: {e}")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_import_custmine_imports_no_engine():
    code = ("import sys, custmine, custmine.tiering, custmine.association; "
            "bad = [m for m in ('dask', 'pyspark', 'distributed') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(scope="module")
def bank():
    df = pd.read_csv(shared_path("bank_marketing", "bank-additional-full.csv"), sep=";")
    X = df[["age", "campaign", "pdays", "previous", "emp.var.rate", "cons.price.idx", "cons.conf.idx",
            "euribor3m", "nr.employed"]].astype(float)
    y = (df["y"] == "yes").astype(int)
    return X, y


def test_predict_equals_single_machine(client, bank):
    X, y = bank
    ddf = dd.from_pandas(X, npartitions=5)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    rf = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, y)
    out = cmd.predict(lr, ddf, method="predict_proba", output_col="p").compute()
    np.testing.assert_array_equal(out[["p_0", "p_1"]].to_numpy(), lr.predict_proba(X))
    pd.testing.assert_frame_equal(out[X.columns], X)  # input rows unchanged, in order
    labels = cmd.predict(rf, ddf).compute()["prediction"].to_numpy()
    np.testing.assert_array_equal(labels, rf.predict(X))
    # a model without a JSON form travels as a pickle
    from sklearn.linear_model import LogisticRegression as SkLR
    sk = SkLR(max_iter=500).fit(X, y)
    dec = cmd.predict(sk, ddf, features=list(X.columns), method="decision_function", output_col="d").compute()
    # BLAS sums differ with the batch size: equal to rounding
    np.testing.assert_allclose(dec["d"].to_numpy(), sk.decision_function(X), rtol=1e-12, atol=1e-12)


def test_predict_every_model_family_equals_single_machine(client, bank):
    # Each family's estimator travels as its JSON document to other processes and scores
    # partitions; the result equals the single-machine call (BLAS products over
    # partition-sized blocks may round differently: 1e-12).
    for model, data, method in every_family_models(*first_rows(bank)):
        cols = list(data.columns)
        ddf = dd.from_pandas(data, npartitions=3)
        out = cmd.predict(model, ddf, features=cols, method=method, output_col="o").compute()
        assert_engine_scores(out, model, data, method)


def test_predict_is_a_drop_in_for_dask_ml_parallel_post_fit(client, bank):
    # dask-ml's ParallelPostFit(model).predict_proba(ddf) runs the model per partition;
    # custmine.dask.predict gives the same numbers (as columns of the frame), and custmine
    # models also work inside ParallelPostFit itself.
    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed (pip install dask-ml)")
    X, y = bank
    ddf = dd.from_pandas(X, npartitions=4)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    ppf = wrappers.ParallelPostFit(estimator=lr)
    theirs = ppf.predict_proba(ddf)
    theirs = np.asarray(theirs.compute() if hasattr(theirs, "compute") else theirs)
    ours = cmd.predict(lr, ddf, method="predict_proba", output_col="p").compute()[["p_0", "p_1"]].to_numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, lr.predict_proba(X))
    labels = ppf.predict(ddf)
    labels = np.asarray(labels.compute() if hasattr(labels, "compute") else labels)
    np.testing.assert_array_equal(cmd.predict(lr, ddf).compute()["prediction"].to_numpy(), labels)


def test_predict_bad_input_on_driver(client, bank):
    X, y = bank
    ddf = dd.from_pandas(X, npartitions=2)
    with pytest.raises(ValueError, match="not fitted"):
        cmd.predict(LogisticRegression(), ddf, features=list(X.columns))
    lr = LogisticRegression(max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match="missing columns"):
        cmd.predict(lr, ddf[list(X.columns[:3])])
    with pytest.raises(ValueError, match="method must be"):
        cmd.predict(lr, ddf, method="fit")
    with pytest.raises(ValueError, match="dask.dataframe.DataFrame"):
        cmd.predict(lr, X)
    with pytest.raises(ValueError, match="already exist"):
        cmd.predict(lr, ddf, output_col="age")
    with pytest.raises(ValueError, match="not numeric"):
        cmd.predict(lr, ddf.assign(age=ddf["age"].astype(str)))


@pytest.fixture(scope="module")
def retail():
    df = pd.read_csv(shared_path("online_retail", "online_retail.csv"), dtype={"InvoiceNo": str, "StockCode": str})
    df = df[df["CustomerID"].notna()].copy()
    df["CustomerID"] = df["CustomerID"].astype("int64")
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


@pytest.mark.parametrize("ties", ["first", "together"])
def test_rfm_equals_single_machine_full_online_retail(client, retail, ties):
    # Online Retail twice over (distinct customer ids per copy, so every total is tied with
    # its copy's), rows shuffled: Dask adds per partition, then combines, yet the monetary
    # totals are rfm's doubles bit for bit, so ties="first" ranks the copies alike.
    two = pd.concat([retail, retail.assign(CustomerID=retail["CustomerID"] + 100_000)], ignore_index=True)
    ddf = dd.from_pandas(two.sample(frac=1.0, random_state=2), npartitions=6)
    kw = dict(customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"), order="InvoiceNo",
              ties=ties)
    ours, ref = cmd.rfm(ddf, **kw), rfm(two, **kw)
    assert_rfm_equal(ours, ref, 2 * 4372)
    assert ours.attrs["as_of"] == ref.attrs["as_of"]


def test_rfm_bad_input(client, retail):
    ddf = dd.from_pandas(retail.head(1000), npartitions=2)
    with pytest.raises(ValueError, match="missing columns"):
        cmd.rfm(ddf, customer="nope", date="InvoiceDate", amount="Quantity")
    with pytest.raises(ValueError, match="not numeric"):
        cmd.rfm(ddf, customer="CustomerID", date="InvoiceDate", amount="Description")
    with pytest.raises(ValueError, match="before the last transaction"):
        cmd.rfm(ddf, customer="CustomerID", date="InvoiceDate", amount="Quantity", as_of="2000-01-01")
    nan = retail.head(1000).assign(Quantity=lambda d: d["Quantity"].astype(float).where(d.index != d.index[5]))
    with pytest.raises(ValueError, match="NaN"):
        cmd.rfm(dd.from_pandas(nan, npartitions=2), customer="CustomerID", date="InvoiceDate", amount="Quantity")
    inf = retail.head(1000).assign(Quantity=lambda d: d["Quantity"].astype(float).where(d.index != d.index[7], np.inf))
    with pytest.raises(ValueError, match="infinity"):
        cmd.rfm(dd.from_pandas(inf, npartitions=2), customer="CustomerID", date="InvoiceDate", amount="Quantity")


def _as_dict(df):
    return dict(zip(df["itemsets"], df["count"]))


def test_son_frequent_itemsets_equal_single_machine(client):
    tx = A.read_baskets(shared_path("groceries", "groceries.csv"))
    rows = [(t, it) for t, basket in enumerate(tx.to_baskets()) for it in basket]
    long = pd.DataFrame(rows, columns=["tid", "item"])
    ddf = dd.from_pandas(long, npartitions=4)
    for support, max_len in [(0.01, None), (0.003, 3)]:
        ours = cmd.frequent_itemsets(ddf, transaction="tid", item="item", min_support=support, max_len=max_len)
        ref = A.frequent_itemsets(long, support, transaction_col="tid", item_col="item", max_len=max_len)
        assert _as_dict(ours) == _as_dict(ref)
        assert ours.attrs["n_transactions"] == ref.attrs["n_transactions"] == 9835
        np.testing.assert_allclose(np.sort(ours["support"].to_numpy()), np.sort(ref["support"].to_numpy()))
    rules = A.association_rules(ours, metric="confidence", min_threshold=0.3)
    ref_rules = A.association_rules(ref, metric="confidence", min_threshold=0.3)
    assert len(rules) == len(ref_rules) > 0
    with pytest.raises(ValueError, match="missing columns"):
        cmd.frequent_itemsets(ddf, transaction="tid", item="nope")


def _cdnow_master():
    tx = pd.read_csv(shared_path("cdnow", "CDNOW_master.txt"), sep=r"\s+", header=0,
                     names=["cust", "date", "n", "amt"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def test_summary_data_and_weighted_fit_equal_single_machine_on_cdnow(client):
    from custmine import clv

    tx = _cdnow_master()
    ddf = dd.from_pandas(tx, npartitions=4)
    ref = clv.summary_data(tx, "cust", "date", "amt", freq="W")
    ours = cmd.summary_data(ddf, customer="cust", date="date", amount="amt", freq="W")
    pd.testing.assert_index_equal(ours.index, ref.index)
    for c in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[c].to_numpy(), ref[c].to_numpy(), err_msg=c)
    np.testing.assert_allclose(ours["monetary_value"], ref["monetary_value"], rtol=1e-12, atol=1e-9)
    # calibration / holdout split
    cal = clv.summary_data(tx, "cust", "date", "amt", freq="W", calibration_end="1997-09-30")
    ours_cal = cmd.summary_data(ddf, customer="cust", date="date", amount="amt", freq="W",
                                calibration_end="1997-09-30")
    assert_summary_equal(ours_cal, cal)
    # BG/NBD on the collapsed table, weighted by counts, equals the fit on every customer
    small = cmd.summary_data(ddf, customer="cust", date="date", freq="W", collapse=True)
    assert small["count"].sum() == len(ref) and len(small) < len(ref) / 2
    expect = ref.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    pd.testing.assert_frame_equal(small, expect)
    full = clv.BetaGeo().fit(ref["frequency"], ref["recency"], ref["T"]).params_
    fit = clv.BetaGeo().fit(small["frequency"], small["recency"], small["T"], weights=small["count"]).params_
    for k in full:
        assert fit[k] == pytest.approx(full[k], rel=1e-6, abs=1e-9), k
    with pytest.raises(ValueError, match="missing columns"):
        cmd.summary_data(ddf, customer="cust", date="nope")


def test_empty_partitions_change_nothing(client, bank):
    # A filter that leaves most partitions empty: every call still equals one machine.
    from custmine import clv

    X, y = bank
    lr = LogisticRegression(max_iter=300).fit(X, y)
    ddf = dd.from_pandas(X, npartitions=6)
    few = ddf.map_partitions(lambda p: p[p.index < 50])  # five of six partitions empty
    out = cmd.predict(lr, few, method="predict_proba", output_col="p").compute()
    np.testing.assert_array_equal(out[["p_0", "p_1"]].to_numpy(), lr.predict_proba(X.iloc[:50]))
    tx = pd.DataFrame({"c": [1, 1, 2, 2, 3, 3], "d": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-01-05",
                                                                     "2020-01-02", "2020-01-09", "2020-03-01"]),
                       "a": [5.0, 7.0, 1.0, 2.0, 3.0, 4.0]})
    tdd = dd.from_pandas(tx, npartitions=3)
    tdd = tdd.map_partitions(lambda p: p[p["c"] != 2])  # the middle partition (customer 2) becomes empty
    assert list(tdd.map_partitions(len).compute()) == [2, 0, 2]
    ref_tx = tx[tx["c"] != 2]
    pd.testing.assert_frame_equal(cmd.summary_data(tdd, customer="c", date="d", amount="a"),
                                  clv.summary_data(ref_tx, "c", "d", "a"))
    pd.testing.assert_frame_equal(cmd.rfm(tdd, customer="c", date="d", amount="a"),
                                  rfm(ref_tx, customer="c", date="d", amount="a"))


def test_summary_data_bad_input_on_client(client):
    tx = pd.DataFrame({"cust": [1, 1, None], "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
                       "amt": [1.0, 2.0, 3.0]})
    ddf = dd.from_pandas(tx, npartitions=2)
    with pytest.raises(ValueError, match="customer has 1 missing"):
        cmd.summary_data(ddf, customer="cust", date="date", amount="amt")
    ok = dd.from_pandas(tx.dropna(), npartitions=2)
    with pytest.raises(ValueError, match="transactions is empty"):
        cmd.summary_data(dd.from_pandas(tx.iloc[:0], npartitions=1), customer="cust", date="date")
    with pytest.raises(ValueError, match="calibration_end must be before"):
        cmd.summary_data(ok, customer="cust", date="date", calibration_end="2021-01-01")
    with pytest.raises(ValueError, match="amount has NaN"):
        cmd.summary_data(dd.from_pandas(tx.dropna().assign(amt=[1.0, np.nan]), npartitions=1), customer="cust",
                         date="date", amount="amt")
    with pytest.raises(ValueError, match="freq"):
        cmd.summary_data(ok, customer="cust", date="date", freq="fortnight")


def test_cohort_retention_equals_single_machine(client, retail):
    from custmine.value import cohort_retention

    ddf = dd.from_pandas(retail, npartitions=5)
    for kw in (dict(period="M"), dict(period="Q", kind="rolling", amount="Quantity", order="InvoiceNo")):
        ours = cmd.cohort_retention(ddf, customer="CustomerID", date="InvoiceDate", **kw)
        ref = cohort_retention(retail, customer="CustomerID", date="InvoiceDate", **kw)
        pd.testing.assert_frame_equal(ours.counts, ref.counts)
        pd.testing.assert_series_equal(ours.sizes, ref.sizes)
        cols = [c for c in ref.table.columns if c != "revenue"]
        pd.testing.assert_frame_equal(ours.table[cols], ref.table[cols])
        if "revenue" in ref.table:
            np.testing.assert_allclose(ours.table["revenue"], ref.table["revenue"], rtol=1e-12)
    with pytest.raises(ValueError, match="pass order"):
        cmd.cohort_retention(ddf, customer="CustomerID", date="InvoiceDate", amount="Quantity")


def test_predict_clv_model_by_named_columns(client):
    # CLV models score customers from named arrays: P(alive) and expected purchases per customer
    from custmine import clv

    s = clv.summary_data(_cdnow_master(), "cust", "date", "amt", freq="W")
    bgf = clv.BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    cols = {"frequency": "frequency", "recency": "recency", "T": "T"}
    ddf = dd.from_pandas(s.reset_index(), npartitions=3)
    out = cmd.predict(bgf, ddf, cols, method="probability_alive", output_col="p_alive").compute()
    np.testing.assert_array_equal(out["p_alive"].to_numpy(),
                                  np.asarray(bgf.probability_alive(s["frequency"], s["recency"], s["T"])))
    exp = cmd.predict(bgf, ddf, cols, method="conditional_expected_purchases", output_col="e",
                      method_kwargs={"t": 39}).compute()
    np.testing.assert_array_equal(exp["e"].to_numpy(), np.asarray(
        bgf.conditional_expected_purchases(39, s["frequency"], s["recency"], s["T"])))
    with pytest.raises(ValueError, match="public scoring method"):
        cmd.predict(bgf, ddf, cols, method="_private")


def test_recommend_per_basket_equals_single_machine(client):
    # a recommender fitted on Groceries scores every basket on Dask as recommend_many does
    tx = A.read_baskets(shared_path("groceries", "groceries.csv"))
    baskets = tx.to_baskets()
    rec = A.CrossSellRecommender(min_support=0.005, min_confidence=0.2).fit(baskets)
    sample = baskets[:3000]
    long = pd.DataFrame([(t, it) for t, b in enumerate(sample) for it in b], columns=["tid", "item"])
    ours = cmd.recommend(rec, dd.from_pandas(long, npartitions=4), transaction="tid", item="item", k=3).compute()
    ref = rec.recommend_many(sample, 3)
    key = lambda d, t: sorted(zip(d[t], d["rank"], d[  # noqa: E731
        "recommended" if "recommended" in d else "item"], d["rule"]))
    assert len(ref) > 0 and key(ours, "tid") == key(ref, "basket")
    np.testing.assert_allclose(np.sort(ours["score"].to_numpy()), np.sort(ref["score"].to_numpy()))
    with pytest.raises(ValueError, match="CrossSellRecommender"):
        cmd.recommend(LogisticRegression(), dd.from_pandas(long, npartitions=2), transaction="tid", item="item")
