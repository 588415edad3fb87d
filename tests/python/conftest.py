"""Shared fixtures: where ../shared/data is, and skips with a reason when it is not."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("CUSTMINE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts) -> Path:
    """Path inside ../shared/data; skips the calling test with a reason when absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} is absent (clone with ../shared beside the repo)")
    return p


@pytest.fixture
def shared_data():
    """The ../shared/data folder (skips when absent)."""
    return shared_path()


def every_family_models(X, y):
    """One fitted estimator per model family of issues 5-8, the frame it scores and the
    method it scores by."""
    from custmine import anomaly, cluster, ensemble, regression, tree
    from custmine.classification import CategoricalNB, GaussianNB

    spend = X["nr.employed"] / 1000.0
    cat = X[["campaign", "previous"]].clip(upper=5).astype(int)
    two = X[["age", "campaign"]]
    return [
        (regression.LinearRegression().fit(X, spend), X, "predict"),
        (regression.ElasticNetCV(cv=3).fit(X, spend), X, "predict"),
        (regression.PoissonRegressor().fit(two, X["campaign"]), two, "predict"),
        (GaussianNB().fit(X, y), X, "predict_proba"),
        (CategoricalNB().fit(cat, y), cat, "predict_proba"),
        (cluster.KMeans(n_clusters=4, random_state=0).fit(X), X, "transform"),
        (tree.DecisionTreeClassifier(max_depth=4).fit(X, y), X, "predict_proba"),
        (tree.DecisionTreeRegressor(max_depth=4).fit(X, spend), X, "predict"),
        (ensemble.RandomForestRegressor(n_estimators=5, max_depth=5, random_state=0).fit(X, spend), X, "predict"),
        (ensemble.GradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y), X, "predict_proba"),
        (ensemble.GradientBoostingRegressor(max_iter=10, random_state=0).fit(X, spend), X, "predict"),
        (anomaly.IsolationForest(random_state=0).fit(X), X, "score_samples"),
        (anomaly.LocalOutlierFactor(novelty=True).fit(X.iloc[:3000]), X, "score_samples"),
        (anomaly.HBOS().fit(X), X, "decision_function"),
        (anomaly.ECOD().fit(X), X, "decision_function"),
        (anomaly.RobustZScore().fit(X), X, "decision_function"),
        (anomaly.EllipticEnvelope(random_state=0).fit(X), X, "decision_function"),
    ]


def assert_engine_scores(out, model, data, method, col="o"):
    """The engine's output column(s) ``col``/``col_*`` equal ``model.method(data)`` (rows in
    data's order; BLAS products over partition-sized blocks may round differently: 1e-12)."""
    import numpy as np

    got = out[[c for c in out.columns if c == col or str(c).startswith(col + "_")]].to_numpy()
    want = np.asarray(getattr(model, method)(data), dtype=np.float64).reshape(len(data), -1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=type(model).__name__)


RFM_COLUMNS = ["recency", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_code", "rfm_score", "segment"]


def assert_rfm_equal(ours, ref, n_customers):
    """An engine's RFM table equals rfm's: same customers, every column bit for bit."""
    import numpy as np
    import pandas as pd

    assert len(ours) == n_customers
    pd.testing.assert_index_equal(ours.index, ref.index)
    for col in RFM_COLUMNS:
        np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy(), err_msg=col)


def first_rows(bank, n=8000):
    """The first n rows of bank marketing's (X, y), index reset."""
    X, y = bank
    return X.iloc[:n].reset_index(drop=True), y.iloc[:n].reset_index(drop=True)


def assert_summary_equal(ours, ref):
    """An engine's summary_data equals clv.summary_data's: same customers and columns, counts
    and durations exactly, monetary values to rounding (the engine adds in its own order)."""
    import numpy as np
    import pandas as pd

    pd.testing.assert_index_equal(ours.index, ref.index)
    assert list(ours.columns) == list(ref.columns)
    for c in ref.columns:
        if c.startswith("monetary_value"):
            np.testing.assert_allclose(ours[c], ref[c], rtol=1e-12, atol=1e-9, err_msg=c)
        else:
            np.testing.assert_array_equal(ours[c].to_numpy(), ref[c].to_numpy(), err_msg=c)
