"""custmine.spark on a real local Spark session (local[2], Arrow batches through Python
workers): equal to the single-machine results on bank marketing, the full Online Retail
data and Groceries; bad input fails on the driver with a Python error, not a Java trace."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'custmine[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("PySpark needs a Java runtime (tools/setup.sh installs openjdk-17-jre-headless)",
                allow_module_level=True)

from custmine import association as A  # noqa: E402
from custmine import spark as cms  # noqa: E402
from custmine.classification import LogisticRegression  # noqa: E402
from custmine.ensemble import RandomForestClassifier  # noqa: E402
from custmine.tiering import rfm  # noqa: E402

from conftest import (assert_engine_scores, assert_rfm_equal, assert_summary_equal,  # noqa: E402
                      every_family_models, first_rows, shared_path)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    try:
        s = (SparkSession.builder.master("local[2]").appName("custmine-tests")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g")
             .getOrCreate())
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"a local Spark session cannot start here: {e}")
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def bank():
    df = pd.read_csv(shared_path("bank_marketing", "bank-additional-full.csv"), sep=";")
    X = df[["age", "campaign", "pdays", "previous", "emp.var.rate", "cons.price.idx", "cons.conf.idx",
            "euribor3m", "nr.employed"]].astype(float)
    y = (df["y"] == "yes").astype(int)
    return X, y


def test_predict_equals_single_machine(spark, bank):
    X, y = bank
    sdf = spark.createDataFrame(X.reset_index()).repartition(3)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    rf = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, y)
    out = cms.predict(lr, sdf, features=list(X.columns), method="predict_proba", output_col="p").toPandas()
    out = out.set_index("index").sort_index()
    np.testing.assert_array_equal(out[["p_0", "p_1"]].to_numpy(), lr.predict_proba(X))
    pd.testing.assert_frame_equal(out[X.columns], X, check_names=False)
    lab = cms.predict(rf, sdf, features=list(X.columns)).toPandas().set_index("index").sort_index()
    np.testing.assert_array_equal(lab["prediction"].to_numpy(), rf.predict(X))


def test_predict_every_model_family_equals_single_machine(spark, bank):
    # Each family's estimator is broadcast as its JSON document and scores Arrow batches
    # in Python workers; equal to the single-machine call (BLAS blocks: 1e-12).
    for model, data, method in every_family_models(*first_rows(bank)):
        cols = list(data.columns)
        sdf = spark.createDataFrame(data.assign(_row=np.arange(len(data))))
        out = cms.predict(model, sdf, features=cols, method=method, output_col="o").toPandas().sort_values("_row")
        assert_engine_scores(out, model, data, method)


def test_predict_bad_input_on_driver(spark, bank):
    X, y = bank
    sdf = spark.createDataFrame(X.head(200))
    with pytest.raises(ValueError, match="not fitted"):
        cms.predict(LogisticRegression(), sdf, features=list(X.columns))
    lr = LogisticRegression(max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match="missing columns"):
        cms.predict(lr, sdf.select(*X.columns[:3]))
    with pytest.raises(ValueError, match="not numeric"):
        from pyspark.sql import functions as F
        cms.predict(lr, sdf.withColumn("age", F.col("age").cast("string")))
    with pytest.raises(ValueError, match="pyspark.sql.DataFrame"):
        cms.predict(lr, X)
    with pytest.raises(ValueError, match="no rows"):
        cms.predict(lr, sdf.limit(0))


@pytest.fixture(scope="module")
def retail():
    df = pd.read_csv(shared_path("online_retail", "online_retail.csv"), dtype={"InvoiceNo": str, "StockCode": str})
    df = df[df["CustomerID"].notna()].copy()
    df["CustomerID"] = df["CustomerID"].astype("int64")
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


def test_rfm_equals_single_machine_full_online_retail(spark, retail):
    # Online Retail twice over (distinct customer ids per copy, so every total is tied with
    # its copy's), rows shuffled before Spark sees them: monetary totals are the same
    # doubles as rfm's, so even ties="first" ranks the copies alike.
    cols = ["CustomerID", "InvoiceDate", "Quantity", "UnitPrice", "InvoiceNo"]
    two = pd.concat([retail[cols], retail[cols].assign(CustomerID=retail["CustomerID"] + 100_000)],
                    ignore_index=True)
    sdf = spark.createDataFrame(two.sample(frac=1.0, random_state=1))
    for ties in ("first", "together"):
        kw = dict(customer="CustomerID", date="InvoiceDate", amount=("Quantity", "UnitPrice"), order="InvoiceNo",
                  ties=ties)
        assert_rfm_equal(cms.rfm(sdf, **kw), rfm(two, **kw), 2 * 4372)
    with pytest.raises(ValueError, match="missing columns"):
        cms.rfm(sdf, customer="nope", date="InvoiceDate", amount="Quantity")
    with pytest.raises(ValueError, match="not numeric"):
        cms.rfm(sdf, customer="CustomerID", date="InvoiceDate", amount="InvoiceNo")
    bad = retail[cols].head(500).astype({"UnitPrice": float})
    for value, message in ((np.inf, "infinity"), (np.nan, "NaN")):
        with pytest.raises(ValueError, match=message):
            one_bad = bad.assign(UnitPrice=bad["UnitPrice"].where(bad.index != bad.index[3], value))
            cms.rfm(spark.createDataFrame(one_bad), customer="CustomerID", date="InvoiceDate",
                    amount=("Quantity", "UnitPrice"))


def test_son_frequent_itemsets_equal_single_machine(spark):
    tx = A.read_baskets(shared_path("groceries", "groceries.csv"))
    rows = [(t, it) for t, basket in enumerate(tx.to_baskets()) for it in basket]
    long = pd.DataFrame(rows, columns=["tid", "item"])
    sdf = spark.createDataFrame(long)
    ours = cms.frequent_itemsets(sdf, transaction="tid", item="item", min_support=0.005, max_len=3)
    ref = A.frequent_itemsets(long, 0.005, transaction_col="tid", item_col="item", max_len=3)
    assert dict(zip(ours["itemsets"], ours["count"])) == dict(zip(ref["itemsets"], ref["count"]))
    assert ours.attrs["n_transactions"] == 9835
    assert len(A.association_rules(ours, metric="confidence", min_threshold=0.3)) == \
        len(A.association_rules(ref, metric="confidence", min_threshold=0.3))


def test_summary_data_and_weighted_fit_equal_single_machine_on_cdnow(spark):
    from custmine import clv

    tx = pd.read_csv(shared_path("cdnow", "CDNOW_master.txt"), sep=r"\s+", header=0,
                     names=["cust", "date", "n", "amt"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    sdf = spark.createDataFrame(tx)
    ref = clv.summary_data(tx, "cust", "date", "amt", freq="W")
    ours = cms.summary_data(sdf, customer="cust", date="date", amount="amt", freq="W")
    pd.testing.assert_index_equal(ours.index, ref.index)
    for c in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[c].to_numpy(), ref[c].to_numpy(), err_msg=c)
    np.testing.assert_allclose(ours["monetary_value"], ref["monetary_value"], rtol=1e-12, atol=1e-9)
    # calibration / holdout split: customers who start later are left out, holdout columns equal
    cal = clv.summary_data(tx, "cust", "date", "amt", freq="W", calibration_end="1997-09-30")
    ours_cal = cms.summary_data(sdf, customer="cust", date="date", amount="amt", freq="W",
                                calibration_end="1997-09-30")
    assert_summary_equal(ours_cal, cal)
    small = cms.summary_data(sdf, customer="cust", date="date", freq="W", collapse=True)
    assert small["count"].sum() == len(ref) and len(small) < len(ref) / 2
    expect = ref.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    pd.testing.assert_frame_equal(small, expect)
    full = clv.BetaGeo().fit(ref["frequency"], ref["recency"], ref["T"]).params_
    fit = clv.BetaGeo().fit(small["frequency"], small["recency"], small["T"], weights=small["count"]).params_
    for k in full:
        assert fit[k] == pytest.approx(full[k], rel=1e-6, abs=1e-9), k


def test_empty_partitions_change_nothing(spark, bank):
    # Six rows over eight partitions: most partitions are empty; equal to one machine.
    from custmine import clv

    X, y = bank
    lr = LogisticRegression(max_iter=300).fit(X, y)
    few = X.iloc[:6].assign(_row=np.arange(6))
    out = cms.predict(lr, spark.createDataFrame(few).repartition(8), features=list(X.columns),
                      method="predict_proba", output_col="p").toPandas().sort_values("_row")
    np.testing.assert_array_equal(out[["p_0", "p_1"]].to_numpy(), lr.predict_proba(X.iloc[:6]))
    tx = pd.DataFrame({"c": [1, 1, 3, 3, 3], "d": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-01-02",
                                                                  "2020-01-09", "2020-03-01"]),
                       "a": [5.0, 7.0, 2.0, 3.0, 4.0]})
    sdf = spark.createDataFrame(tx).repartition(8)
    pd.testing.assert_frame_equal(cms.summary_data(sdf, customer="c", date="d", amount="a"),
                                  clv.summary_data(tx, "c", "d", "a"))
    pd.testing.assert_frame_equal(cms.rfm(sdf, customer="c", date="d", amount="a"),
                                  rfm(tx, customer="c", date="d", amount="a"))


def test_summary_data_bad_input_on_driver(spark):
    tx = pd.DataFrame({"cust": [1, 1, None], "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
                       "amt": [1.0, 2.0, 3.0]})
    sdf = spark.createDataFrame(tx)
    with pytest.raises(ValueError, match="customer has 1 missing"):
        cms.summary_data(sdf, customer="cust", date="date", amount="amt")
    ok = sdf.dropna()
    with pytest.raises(ValueError, match="transactions is empty"):
        cms.summary_data(ok.limit(0), customer="cust", date="date")
    with pytest.raises(ValueError, match="calibration_end must be before"):
        cms.summary_data(ok, customer="cust", date="date", calibration_end="2021-01-01")
    with pytest.raises(ValueError, match="amount has NaN"):
        cms.summary_data(spark.createDataFrame(tx.dropna().assign(amt=[1.0, np.inf])), customer="cust",
                         date="date", amount="amt")
    with pytest.raises(ValueError, match="freq"):
        cms.summary_data(ok, customer="cust", date="date", freq="fortnight")


def test_cohort_retention_equals_single_machine(spark, retail):
    from custmine.value import cohort_retention

    sdf = spark.createDataFrame(retail[["CustomerID", "InvoiceDate", "Quantity", "InvoiceNo"]])
    kw = dict(period="M", amount="Quantity", order="InvoiceNo")
    ours = cms.cohort_retention(sdf, customer="CustomerID", date="InvoiceDate", **kw)
    ref = cohort_retention(retail, customer="CustomerID", date="InvoiceDate", **kw)
    pd.testing.assert_frame_equal(ours.counts, ref.counts)
    cols = [c for c in ref.table.columns if c != "revenue"]
    pd.testing.assert_frame_equal(ours.table[cols], ref.table[cols])
    np.testing.assert_allclose(ours.table["revenue"], ref.table["revenue"], rtol=1e-12)


def test_predict_clv_model_by_named_columns(spark):
    from custmine import clv

    tx = pd.read_csv(shared_path("cdnow", "CDNOW_master.txt"), sep=r"\s+", header=0,
                     names=["cust", "date", "n", "amt"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    s = clv.summary_data(tx, "cust", "date", "amt", freq="W")
    bgf = clv.BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    sdf = spark.createDataFrame(s.reset_index())
    out = cms.predict(bgf, sdf, {"frequency": "frequency", "recency": "recency", "T": "T"},
                      method="probability_alive", output_col="p_alive").toPandas().set_index("cust").sort_index()
    np.testing.assert_array_equal(out["p_alive"].to_numpy(),
                                  np.asarray(bgf.probability_alive(s["frequency"], s["recency"], s["T"])))


def test_recommend_per_basket_equals_single_machine(spark):
    tx = A.read_baskets(shared_path("groceries", "groceries.csv"))
    baskets = tx.to_baskets()
    rec = A.CrossSellRecommender(min_support=0.005, min_confidence=0.2).fit(baskets)
    sample = baskets[:2000]
    long = pd.DataFrame([(t, it) for t, b in enumerate(sample) for it in b], columns=["tid", "item"])
    ours = cms.recommend(rec, spark.createDataFrame(long), transaction="tid", item="item", k=3).toPandas()
    ref = rec.recommend_many(sample, 3)
    assert len(ref) > 0
    assert sorted(zip(ours["tid"], ours["rank"], ours["recommended"], ours["rule"])) == \
        sorted(zip(ref["basket"], ref["rank"], ref["item"], ref["rule"]))
