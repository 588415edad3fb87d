"""custmine.anomaly: parity with scikit-learn / PyOD on real data, the score convention,
attribution, bad input, JSON and pickling, threads and seeds."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import MinCovDet
from sklearn.ensemble import IsolationForest as SkIF
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor as SkLOF

import custmine
from custmine.anomaly import ECOD, HBOS, EllipticEnvelope, IsolationForest, LocalOutlierFactor, RobustZScore

from conftest import shared_path

ALL = [
    lambda: IsolationForest(n_estimators=50, random_state=0),
    lambda: LocalOutlierFactor(n_neighbors=20, novelty=True),
    lambda: RobustZScore(),
    lambda: HBOS(),
    lambda: ECOD(),
    lambda: EllipticEnvelope(random_state=0, n_trials=100),
]
IDS = ["iforest", "lof", "robustz", "hbos", "ecod", "envelope"]


def adbench(name):
    d = np.load(shared_path("anomaly_adbench", f"{name}.npz"))
    return np.ascontiguousarray(d["X"], dtype=np.float64), np.asarray(d["y"]).astype(int)


def pyod_split(X, y, seed):
    """PyOD benchmark protocol: 60/40 split with RandomState(seed), standardized by train."""
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, random_state=np.random.RandomState(seed))
    mu, sd = Xtr.mean(0), Xtr.std(0)
    sd[sd == 0] = 1.0
    return (Xtr - mu) / sd, (Xte - mu) / sd, ytr, yte


def blobs(n=600, d=5, n_out=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:n_out] += 6.0
    return X


# ---- parity on real data -----------------------------------------------------------


def test_lof_equals_sklearn_on_cardio():
    X, y = adbench("6_cardio")
    Xtr, Xte, _, _ = pyod_split(X, y, 0)
    ours = LocalOutlierFactor(n_neighbors=20).fit(Xtr)
    ref = SkLOF(n_neighbors=20).fit(Xtr)
    np.testing.assert_allclose(ours.negative_outlier_factor_, ref.negative_outlier_factor_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(LocalOutlierFactor(n_neighbors=20).fit_predict(Xtr), SkLOF(n_neighbors=20).fit_predict(Xtr))
    ours = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(Xtr)
    ref = SkLOF(n_neighbors=20, novelty=True).fit(Xtr)
    np.testing.assert_allclose(ours.score_samples(Xte), ref.score_samples(Xte), rtol=1e-9)
    np.testing.assert_allclose(ours.offset_, ref.offset_)


def test_lof_equals_sklearn_on_campaign_through_the_projected_search():
    # 62 correlated standardized columns: "auto" builds the bound on principal axes, which
    # measures about 1% of the rows in full; the scores must still be scikit-learn's, and
    # every algorithm must return the same neighbours.
    X, y = adbench("5_campaign")
    Xtr, Xte, _, _ = pyod_split(X[:12000], y[:12000], 0)
    ours = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(Xtr)
    assert ours.algorithm_used_ == "projected" and 0 < ours.projection_axes_ < Xtr.shape[1]
    ref = SkLOF(n_neighbors=20, novelty=True).fit(Xtr)
    np.testing.assert_allclose(ours.negative_outlier_factor_, ref.negative_outlier_factor_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.score_samples(Xte), ref.score_samples(Xte), rtol=1e-9)
    dist, idx = ours.kneighbors(Xte[:500])
    for algorithm in ("brute", "kd_tree"):
        other = LocalOutlierFactor(n_neighbors=20, novelty=True, algorithm=algorithm).fit(Xtr)
        assert other.algorithm_used_ == algorithm and other.projection_axes_ == 0
        d2, i2 = other.kneighbors(Xte[:500])
        np.testing.assert_array_equal(i2, idx)
        np.testing.assert_array_equal(d2, dist)
    again = LocalOutlierFactor.from_json(ours.to_json())
    assert again.algorithm_used_ == "projected"
    np.testing.assert_array_equal(again.score_samples(Xte[:500]), ours.score_samples(Xte[:500]))


def test_lof_algorithm_choice_and_bad_names():
    X = blobs(n=400, d=3)
    assert LocalOutlierFactor(n_neighbors=10).fit(X).algorithm_used_ == "kd_tree"
    forced = LocalOutlierFactor(n_neighbors=10, algorithm="projected").fit(X)
    assert forced.algorithm_used_ == "projected" and forced.projection_axes_ == 1
    np.testing.assert_allclose(forced.negative_outlier_factor_,
                               LocalOutlierFactor(n_neighbors=10, algorithm="brute").fit(X).negative_outlier_factor_,
                               rtol=0, atol=0)
    for bad in ("ball_tree", "", None, 3):
        with pytest.raises(ValueError, match="algorithm must be one of 'auto', 'brute', 'kd_tree', 'projected'"):
            LocalOutlierFactor(algorithm=bad).fit(X)


def test_lof_duplicates_match_sklearn():
    # breastw is uint8 with many exact duplicate rows: self-exclusion and lrd = 1e10 cases.
    X, _ = adbench("4_breastw")
    ours = LocalOutlierFactor(n_neighbors=5).fit(X)
    ref = SkLOF(n_neighbors=5, algorithm="brute").fit(X)
    # neighbour distances are exact (duplicates at exactly 0)
    np.testing.assert_allclose(ours.kneighbors(X)[0], ref.kneighbors(X)[0], atol=1e-12)
    # rows whose neighbourhood is all exact duplicates get lrd = 1 / 1e-10 in both
    lrd = np.asarray(ours._native.lrd)
    np.testing.assert_array_equal(lrd > 1e9, ref._lrd > 1e9)
    assert (lrd > 1e9).sum() > 10
    # Ties among equal distances are ordered by index here and arbitrarily by
    # scikit-learn's argpartition, so which tied row is a neighbour (and its k-distance) can
    # differ; where no tie straddles the k-th neighbour the factors agree.
    D = np.sort(np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2), axis=1)[:, 1:7]
    no_tie = D[:, 4] < D[:, 5]
    close = np.isclose(ours.negative_outlier_factor_, ref.negative_outlier_factor_, rtol=1e-9)
    assert close[no_tie].mean() > 0.85, close[no_tie].mean()  # measured 0.88


def test_hbos_equals_pyod():
    hb = pytest.importorskip("pyod.models.hbos", reason="PyOD not installed (requirements/test-anomaly.txt)")
    for name in ("6_cardio", "29_Pima"):
        X, y = adbench(name)
        Xtr, Xte, _, _ = pyod_split(X, y, 1)
        ref = hb.HBOS().fit(Xtr)
        ours = HBOS().fit(Xtr)
        np.testing.assert_allclose(ours.anomaly_score(Xtr), ref.decision_scores_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.anomaly_score(Xte), ref.decision_function(Xte), rtol=1e-12, atol=1e-12)


def test_hbos_bin_lookup_on_edges_and_outside_the_range():
    """Scoring finds bins arithmetically and then steps to numpy.digitize's answer: values
    exactly on every edge, just beside them, and beyond both ends must score as PyOD does."""
    hb = pytest.importorskip("pyod.models.hbos", reason="PyOD not installed (requirements/test-anomaly.txt)")
    rng = np.random.default_rng(3)
    Xtr = np.column_stack([rng.normal(size=500), rng.exponential(size=500), rng.integers(0, 4, 500)])
    ref = hb.HBOS().fit(Xtr)
    ours = HBOS().fit(Xtr)
    edges = ours.bin_edges_  # (features, n_bins + 1)
    span = edges[:, -1] - edges[:, 0]
    probes = [edges.T, np.nextafter(edges.T, -np.inf), np.nextafter(edges.T, np.inf),
              (edges[:, 0] - 0.02 * span)[None, :], (edges[:, -1] + 0.02 * span)[None, :],
              (edges[:, 0] - 10 * span)[None, :], (edges[:, -1] + 1e6 * span)[None, :]]
    Xte = np.vstack(probes)
    np.testing.assert_allclose(ours.anomaly_score(Xte), ref.decision_function(Xte), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.anomaly_score(Xte), ours.explain(Xte).to_numpy().sum(axis=1), rtol=1e-14)


def test_ecod_pyod_aggregation_equals_pyod_training_scores():
    ec = pytest.importorskip("pyod.models.ecod", reason="PyOD not installed (requirements/test-anomaly.txt)")
    X, y = adbench("6_cardio")
    Xtr, _, _, _ = pyod_split(X, y, 0)
    ref = ec.ECOD().fit(Xtr)
    ours = ECOD(aggregation="pyod").fit(Xtr)
    np.testing.assert_allclose(ours.anomaly_score(Xtr), ref.decision_scores_, rtol=1e-12, atol=1e-12)
    # the paper's aggregation is a different (max of sums) score but ranks alike
    paper = ECOD().fit(Xtr).anomaly_score(Xtr)
    assert np.corrcoef(paper, ref.decision_scores_)[0, 1] > 0.9


def test_isolation_forest_scores_distributed_like_sklearn():
    X, y = adbench("6_cardio")
    Xtr, Xte, _, yte = pyod_split(X, y, 0)
    ours = IsolationForest(n_estimators=300, random_state=0).fit(Xtr).score_samples(Xte)
    ref = SkIF(n_estimators=300, random_state=0).fit(Xtr).score_samples(Xte)
    # same normalisation: quantiles within 0.015 and ranks alike (different random trees)
    np.testing.assert_allclose(np.quantile(ours, [0.05, 0.25, 0.5, 0.75, 0.95]),
                               np.quantile(ref, [0.05, 0.25, 0.5, 0.75, 0.95]), atol=0.015)
    assert np.corrcoef(ours, ref)[0, 1] > 0.97
    assert abs(roc_auc_score(yte, -ours) - roc_auc_score(yte, -ref)) < 0.03  # one seed; 10-seed mean in the benchmark


def test_mcd_close_to_sklearn_mincovdet():
    X, y = adbench("44_Wilt")
    Xtr, _, _, _ = pyod_split(X, y, 0)
    ours = EllipticEnvelope(random_state=0).fit(Xtr)
    ref = MinCovDet(random_state=0).fit(Xtr)
    # Both are FastMCD local optima from random starts: locations within 0.05 and
    # covariances within 10 % (standardized units), and our raw determinant no worse.
    assert np.abs(ours.location_ - ref.location_).max() < 0.05
    rel = np.linalg.norm(ours.covariance_ - ref.covariance_) / np.linalg.norm(ref.covariance_)
    assert rel < 0.10, rel
    assert np.linalg.slogdet(ours.raw_covariance_)[1] <= np.linalg.slogdet(ref.raw_covariance_)[1] + 1e-3
    assert (ours.support_ == ref.support_).mean() > 0.98


# PyOD benchmark (yzhao062/pyod docs/tables/roc.csv, "Old Results (2019)", ODDS versions,
# mean of 10 seeds). Here 3 seeds; the full 10-seed protocol runs in
# benchmarks/python/compare_anomaly.py. Tolerance 0.05: ADBench's files vs the ODDS .mat
# versions and 3 vs 10 seeds.
PUBLISHED = {  # data: {model: AUC}
    "6_cardio": {"HBOS": 0.8351, "IForest": 0.9213},
    "29_Pima": {"HBOS": 0.7000, "IForest": 0.6806, "MCD": 0.6753},
    "40_vowels": {"IForest": 0.7585},
    # No vowels MCD (published 0.8076): every MCD here (ours 0.70, sklearn/PyOD 0.75 over
    # seeds 0-4) lands below it; ours reaches a lower determinant than MinCovDet on every seed,
    # so the gap is the optimum reached, not a fitting error (docs/anomaly.md).
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_auc_consistent_with_published_pyod_benchmark(name):
    X, y = adbench(name)
    make = {"HBOS": lambda s: HBOS(), "IForest": lambda s: IsolationForest(random_state=s),
            "MCD": lambda s: EllipticEnvelope(random_state=s)}
    for model, published in PUBLISHED[name].items():
        aucs = []
        for seed in range(3):
            Xtr, Xte, _, yte = pyod_split(X, y, seed)
            aucs.append(roc_auc_score(yte, make[model](seed).fit(Xtr).anomaly_score(Xte)))
        assert abs(np.mean(aucs) - published) < 0.05, (name, model, np.mean(aucs), published)


# ---- the score convention --------------------------------------------------------------


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_score_convention(make):
    X = blobs()
    m = make().fit(X)
    s = m.score_samples(X)
    np.testing.assert_allclose(m.decision_function(X), s - m.offset_)
    np.testing.assert_allclose(m.anomaly_score(X), -s)
    np.testing.assert_array_equal(m.predict(X), np.where(s - m.offset_ < 0, -1, 1))
    # the shifted rows are the most abnormal
    assert roc_auc_score(np.r_[np.ones(12), np.zeros(588)], m.anomaly_score(X)) > 0.95


@pytest.mark.parametrize("make", [m for m, i in zip(ALL, IDS) if i != "lof"], ids=[i for i in IDS if i != "lof"])
def test_contamination_share_flagged(make):
    X = blobs(n=1000)
    m = make().set_params(contamination=0.05).fit(X)
    assert abs((m.predict(X) == -1).mean() - 0.05) <= 0.002


def test_auto_offsets():
    X = blobs()
    assert IsolationForest(random_state=0).fit(X).offset_ == -0.5
    assert LocalOutlierFactor().fit(X).offset_ == -1.5


def test_lof_outlier_mode_hides_novelty_methods():
    m = LocalOutlierFactor(n_neighbors=10).fit(blobs())
    assert not hasattr(m, "predict") and not hasattr(m, "score_samples")
    assert hasattr(LocalOutlierFactor(novelty=True), "predict")
    assert not hasattr(LocalOutlierFactor(novelty=True), "fit_predict")


# ---- attribution ---------------------------------------------------------------------------


@pytest.mark.parametrize("make,min_rate", [
    (lambda: IsolationForest(n_estimators=200, random_state=0), 0.95),
    (lambda: LocalOutlierFactor(n_neighbors=20, novelty=True), 0.95),
    (lambda: RobustZScore(), 0.95),
    (lambda: HBOS(), 0.95),
    (lambda: ECOD(), 0.95),
    (lambda: EllipticEnvelope(random_state=0, n_trials=100), 0.95),
], ids=IDS)
def test_attribution_finds_the_perturbed_feature(make, min_rate):
    """Fit on 2,000 correlated Gaussian rows (6 features, correlation 0.5); 200 new rows
    each get one random feature shifted by +-6 sd. The rate at which that feature ranks
    first in top_attributes, measured with seed 0: IsolationForest 0.995, LOF 1.0,
    RobustZScore 1.0, HBOS 0.975, ECOD 1.0, EllipticEnvelope 1.0."""
    rng = np.random.default_rng(0)
    cov = 0.5 * np.eye(6) + 0.5
    X = rng.multivariate_normal(np.zeros(6), cov, size=2000)
    T = rng.multivariate_normal(np.zeros(6), cov, size=200)
    j = rng.integers(0, 6, size=200)
    T[np.arange(200), j] += rng.choice([-6.0, 6.0], size=200)
    cols = [f"f{c}" for c in range(6)]
    m = make().fit(pd.DataFrame(X, columns=cols))
    top = m.top_attributes(pd.DataFrame(T, columns=cols), k=3, flagged_only=False)
    first = top[top["rank"] == 1].set_index("row").sort_index()["feature"]
    rate = (first.to_numpy() == np.asarray(cols)[j]).mean()
    assert rate >= min_rate, rate
    assert set(top.columns) >= {"row", "rank", "feature", "value", "contribution", "typical_low", "typical_high"}


def test_explain_frame_and_sums():
    df = pd.DataFrame(blobs(), columns=list("abcde"), index=[f"r{i}" for i in range(600)])
    for m in (HBOS().fit(df), ECOD(aggregation="pyod").fit(df), EllipticEnvelope(random_state=0).fit(df)):
        e = m.explain(df)
        assert list(e.columns) == list("abcde") and list(e.index) == list(df.index)
        np.testing.assert_allclose(e.sum(axis=1).to_numpy(), m.anomaly_score(df) if not isinstance(m, EllipticEnvelope)
                                   else m.mahalanobis(df), rtol=1e-10)
    m = RobustZScore().fit(df)
    np.testing.assert_allclose(m.explain(df).max(axis=1).to_numpy(), m.anomaly_score(df))


def test_top_attributes_only_flagged_rows_and_typical_range():
    X = blobs()
    m = ECOD(contamination=0.02).fit(X)
    top = m.top_attributes(X, k=2)
    flagged = np.flatnonzero(m.predict(X) == -1)
    assert sorted(set(top["row"])) == sorted(flagged)
    assert (top.groupby("row").size() == 2).all()
    np.testing.assert_allclose(top["typical_low"], np.percentile(X, 5, axis=0)[[int(f[1:]) for f in top["feature"]]])
    lof = LocalOutlierFactor(n_neighbors=10).fit(X)
    tl = lof.top_attributes(k=1)
    assert set(tl["row"]) == set(np.flatnonzero(lof.negative_outlier_factor_ < lof.offset_))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        m.top_attributes(X, k=0)


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", ALL, ids=IDS)
@pytest.mark.parametrize("bad", [0.0, 0.6, -0.1, "most", np.nan])
def test_contamination_outside_range(make, bad):
    with pytest.raises(ValueError, match="contamination"):
        make().set_params(contamination=bad).fit(blobs())


@pytest.mark.parametrize("cls", [RobustZScore, HBOS, ECOD, EllipticEnvelope])
def test_auto_contamination_only_where_defined(cls):
    with pytest.raises(ValueError, match="contamination must be a float"):
        cls(contamination="auto").fit(blobs())


def test_n_neighbors_too_large():
    with pytest.raises(ValueError, match="n_neighbors .* must be less than the number of samples"):
        LocalOutlierFactor(n_neighbors=10).fit(blobs(n=10, n_out=0))


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_nan_inf_and_wrong_feature_count(make):
    X = blobs()
    for v in (np.nan, np.inf):
        Xb = X.copy()
        Xb[3, 2] = v
        with pytest.raises(ValueError):
            make().fit(Xb)
        m = make().fit(X)
        with pytest.raises(ValueError):
            m.anomaly_score(Xb)
        assert np.isnan(Xb[3, 2]) or np.isinf(Xb[3, 2])  # input untouched
    with pytest.raises(ValueError, match="features"):
        make().fit(X).anomaly_score(X[:, :3])


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_constant_features_are_safe(make):
    X = blobs()
    X[:, 1] = 3.0
    X[:, 4] = 0.0
    m = make().fit(X)
    assert np.isfinite(m.anomaly_score(X)).all()
    assert np.isfinite(m.explain(X).to_numpy()).all()
    Xn = X[:5].copy()
    Xn[:, 1] = 4.0  # departs from the constant
    assert np.isfinite(m.anomaly_score(Xn)).all()


def test_robust_z_reports_constant_features():
    df = pd.DataFrame({"a": np.arange(10.0), "b": np.ones(10)})
    assert list(RobustZScore().fit(df).constant_features_) == ["b"]


def test_input_not_mutated():
    X = blobs()
    Xc = X.copy()
    for make in ALL:
        make().fit(X).anomaly_score(X)
    np.testing.assert_array_equal(X, Xc)


# ---- persistence, threads, seeds --------------------------------------------------------------


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_json_round_trip_and_pickle(make, tmp_path):
    X = blobs()
    m = make().fit(X)
    path = tmp_path / "model.json"
    m.save(path)
    r = type(m).load(path)
    np.testing.assert_array_equal(r.anomaly_score(X), m.anomaly_score(X))
    assert r.offset_ == m.offset_ and r.get_params() == m.get_params()
    np.testing.assert_array_equal(r.explain(X).to_numpy(), m.explain(X).to_numpy())
    p = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(p.anomaly_score(X), m.anomaly_score(X))
    doc = json.loads(m.to_json())
    doc["state"]["offset"] = "not a number"
    with pytest.raises(custmine.SerializationError):
        type(m).from_json(json.dumps(doc))
    doc = json.loads(m.to_json())
    doc["state"]["profile"]["low"] = doc["state"]["profile"]["low"][:-1]
    with pytest.raises(custmine.SerializationError):
        type(m).from_json(json.dumps(doc))
    with pytest.raises(custmine.SerializationError):
        type(m).from_json(m.to_json()[:-5])


@pytest.mark.parametrize("make", [
    lambda j: IsolationForest(n_estimators=50, random_state=3, n_jobs=j),
    lambda j: LocalOutlierFactor(n_neighbors=10, novelty=True, n_jobs=j),
    lambda j: HBOS(n_jobs=j),
    lambda j: ECOD(n_jobs=j),
], ids=["iforest", "lof", "hbos", "ecod"])
def test_thread_count_invariance(make):
    X = blobs(n=3000, d=20)
    a, b = make(1).fit(X), make(2).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    np.testing.assert_array_equal(a.explain(X).to_numpy(), b.explain(X).to_numpy())


def test_fixed_random_state_identical_model():
    X = blobs()
    for make in (lambda s: IsolationForest(random_state=s), lambda s: EllipticEnvelope(random_state=s, n_trials=50)):
        assert json.loads(make(5).fit(X).to_json())["state"] == json.loads(make(5).fit(X).to_json())["state"]
    a = IsolationForest(random_state=1).fit(X).score_samples(X)
    b = IsolationForest(random_state=2).fit(X).score_samples(X)
    assert not np.array_equal(a, b)


def test_isolation_forest_parameters():
    X = blobs()
    m = IsolationForest(max_samples=0.5, max_features=2, bootstrap=True, random_state=0).fit(X)
    assert m.max_samples_ == 300
    with pytest.warns(UserWarning, match="max_samples"):
        assert IsolationForest(max_samples=5000).fit(X).max_samples_ == 600
    for bad in ({"max_samples": 1.5}, {"max_samples": "all"}, {"max_features": 9}, {"n_estimators": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            IsolationForest(**bad).fit(X)


def test_demo_report(tmp_path):
    from custmine.anomaly import demo_report

    md = demo_report(tmp_path)
    assert md.startswith("## Irregular records")
    assert "### Customers" in md and "### Orders" in md
    assert (tmp_path / "irregular_records.md").read_text() == md
    assert md.count("typical") >= 20


def _threaded(est):
    return est.set_params(n_jobs=2) if "n_jobs" in est.get_params() else est


def _fit_detectors_in_child(queue):
    X = np.random.default_rng(3).normal(size=(400, 4))
    queue.put([_threaded(make()).fit(X).score_samples(X).tolist() for make in ALL])


def test_fit_fork_fit_again_in_child():
    """Fitting with threads in the parent, then again in a forked child, must neither hang
    nor change the scores (the thread pool must not be inherited in a broken state)."""
    import multiprocessing as mp

    X = np.random.default_rng(3).normal(size=(400, 4))
    expected = [_threaded(make()).fit(X).score_samples(X) for make in ALL]
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_fit_detectors_in_child, args=(q,))
    p.start()
    got = q.get(timeout=120)
    p.join(timeout=60)
    assert p.exitcode == 0
    for name, e, g in zip(IDS, expected, got):
        np.testing.assert_array_equal(np.asarray(g), e, err_msg=name)


def test_iforest_batched_scoring_equals_row_by_row():
    """Scores and explanations descend the trees eight rows at a time; a lone row takes the
    one-row path. Both must give bit-identical results (also on a deep, unbounded tree)."""
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(size=(203, 6)), rng.normal(8, 1, size=(5, 6))])
    for m in (IsolationForest(random_state=4).fit(X), IsolationForest(max_samples=200, random_state=2).fit(X)):
        batch = m.score_samples(X)
        single = np.array([m.score_samples(X[i:i + 1])[0] for i in range(len(X))])
        np.testing.assert_array_equal(batch, single)
        ex_batch = m.explain(X).to_numpy()
        ex_single = np.vstack([m.explain(X[i:i + 1]).to_numpy() for i in range(len(X))])
        np.testing.assert_array_equal(ex_batch, ex_single)


def test_ecod_merged_tail_counts_equal_binary_search():
    """Many query rows are sorted and merged with the training columns; one row at a time
    uses binary search. Both count ties exactly: integer data full of ties, values between
    and beyond the training values."""
    rng = np.random.default_rng(5)
    Xtr = rng.integers(0, 6, size=(400, 3)).astype(float)
    Xte = np.vstack([rng.integers(-2, 9, size=(300, 3)).astype(float), rng.normal(2, 3, size=(50, 3))])
    for agg in ("paper", "pyod"):
        m = ECOD(aggregation=agg).fit(Xtr)
        batch = m.score_samples(Xte)
        single = np.array([m.score_samples(Xte[i:i + 1])[0] for i in range(len(Xte))])
        np.testing.assert_array_equal(batch, single)
        np.testing.assert_array_equal(m.explain(Xte).to_numpy(),
                                      np.vstack([m.explain(Xte[i:i + 1]).to_numpy() for i in range(len(Xte))]))
