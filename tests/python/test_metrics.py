"""custmine.metrics against scikit-learn (random and real data, ties included),
hand-checked gains / lift / profit, invalid input, benchmark_variants."""
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

from custmine import metrics as M

from conftest import shared_path


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    s = np.round(rng.random(n) * 0.5 + 0.3 * y, 2)  # rounded: many ties
    w = rng.random(n)
    return y, s, w


@pytest.mark.parametrize("weighted", [False, True])
def test_ranking_metrics_equal_sklearn(scored, weighted):
    y, s, w = scored
    w = w if weighted else None
    assert M.roc_auc_score(y, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert M.average_precision_score(y, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, s, sample_weight=w), abs=1e-12)
    fpr, tpr, thr = M.roc_curve(y, s, sample_weight=w)
    f2, t2, th2 = skm.roc_curve(y, s, sample_weight=w)
    np.testing.assert_allclose(fpr, f2, atol=1e-12)
    np.testing.assert_allclose(tpr, t2, atol=1e-12)
    np.testing.assert_array_equal(thr, th2)
    fpr, tpr, thr = M.roc_curve(y, s, drop_intermediate=False)
    f2, t2, th2 = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2, atol=1e-12)


def test_probability_metrics_equal_sklearn(scored):
    y, s, w = scored
    assert M.brier_score_loss(y, s, sample_weight=w) == pytest.approx(skm.brier_score_loss(y, s, sample_weight=w), abs=1e-12)
    P = np.column_stack([1 - s, s])
    assert M.log_loss(y, P, sample_weight=w) == pytest.approx(skm.log_loss(y, P, sample_weight=w), abs=1e-12)
    rng = np.random.default_rng(1)
    P3 = rng.dirichlet([1, 1, 1], 500)
    y3 = rng.choice(["a", "b", "c"], 500)
    assert M.log_loss(y3, P3) == pytest.approx(skm.log_loss(y3, P3), abs=1e-12)
    for strategy in ("uniform", "quantile"):
        a = M.calibration_curve(y, s, n_bins=7, strategy=strategy)
        b = sk_calibration_curve(y, s, n_bins=7, strategy=strategy)
        np.testing.assert_allclose(a[0], b[0], atol=1e-12)
        np.testing.assert_allclose(a[1], b[1], atol=1e-12)


def test_ks_equals_scipy(scored):
    from scipy.stats import ks_2samp

    y, s, _ = scored
    assert M.ks_statistic(y, s) == pytest.approx(ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-12)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_confusion_metrics_equal_sklearn(average):
    rng = np.random.default_rng(2)
    t = rng.choice(["x", "y", "z"], 400)
    p = rng.choice(["x", "y", "z", "w"], 400)  # "w" never true: zero recall denominator
    w = rng.random(400)
    np.testing.assert_array_equal(M.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    np.testing.assert_allclose(M.confusion_matrix(t, p, sample_weight=w, normalize="true"),
                               skm.confusion_matrix(t, p, sample_weight=w, normalize="true"))
    a = M.precision_recall_fscore_support(t, p, average=average, beta=2.0, sample_weight=w)
    b = skm.precision_recall_fscore_support(t, p, average=average, beta=2.0, sample_weight=w, zero_division=0)
    for x, z in zip(a[:3], b[:3]):
        np.testing.assert_allclose(x, z, atol=1e-12)
    assert M.accuracy_score(t, p, sample_weight=w) == pytest.approx(skm.accuracy_score(t, p, sample_weight=w))


def test_binary_prf_equals_sklearn():
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    assert M.f1_score(t, p) == pytest.approx(skm.f1_score(t, p))
    assert M.precision_score(t, p) == pytest.approx(skm.precision_score(t, p))
    assert M.recall_score(t, p, pos_label=0) == pytest.approx(skm.recall_score(t, p, pos_label=0))


def test_roc_auc_multiclass_ovr():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 500)
    P = rng.dirichlet([1, 1, 1], 500)
    assert M.roc_auc_score(y, P, multi_class="ovr") == pytest.approx(
        skm.roc_auc_score(y, P, multi_class="ovr", average="macro"), abs=1e-12)


def test_gains_table_by_hand():
    # 10 customers, scores 10..1, responders at ranks 1, 2, 4, 7; 5 groups of 2.
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    s = np.arange(10, 0, -1, dtype=float)
    g = M.gains_table(y, s, bins=5)
    assert g["responders"].tolist() == [2, 1, 0, 1, 0]
    assert g["cum_captured_pct"].tolist() == [50.0, 75.0, 75.0, 100.0, 100.0]
    # overall rate 0.4: lift of group 1 = 1.0 / 0.4 = 2.5; cum lift at 40% = (3/4) / 0.4 = 1.875
    assert g["lift"].iloc[0] == pytest.approx(2.5)
    assert g["cum_lift"].iloc[1] == pytest.approx(1.875)
    assert g["cum_lift"].iloc[-1] == pytest.approx(1.0)


def test_profit_curve_by_hand():
    y = np.array([0, 1, 1, 0])
    s = np.array([0.1, 0.9, 0.8, 0.7])
    pc = M.profit_curve(y, s, cost_per_contact=1, revenue_per_response=3)
    assert pc.table["profit"].tolist() == [0, 2, 4, 3, 2]
    assert pc.best_contacts == 2 and pc.best_profit == 4 and pc.best_threshold == 0.8
    expected = M.profit_curve(None, s, cost_per_contact=1, revenue_per_response=3)
    # expected profit of calling the top 1 = 3 * 0.9 - 1
    assert expected.table["profit"].iloc[1] == pytest.approx(1.7)


def test_metrics_on_real_churn_scores():
    path = shared_path("telco_churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    df = pd.read_csv(path)
    y = (df["Churn"] == "Yes").to_numpy()
    score = df["MonthlyCharges"].to_numpy() - df["tenure"].to_numpy()  # a crude churn score with ties
    assert M.roc_auc_score(y, score) == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    assert M.average_precision_score(y, score) == pytest.approx(skm.average_precision_score(y, score), abs=1e-12)


@pytest.mark.parametrize("call", [
    lambda: M.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3]),
    lambda: M.roc_auc_score([0, 1, 1], [0.1, np.nan, 0.3]),
    lambda: M.roc_auc_score([0, 1, 1], [0.1, np.inf, 0.3]),
    lambda: M.roc_auc_score([0, 1], [0.1, 0.2, 0.3]),
    lambda: M.roc_auc_score(["a", "b"], [0.1, 0.2]),
    lambda: M.roc_auc_score([0, 1, 2], [0.1, 0.2, 0.3]),
    lambda: M.gains_table([0, 1], [0.1, 0.2], bins=3),
    lambda: M.profit_curve([0, 1], [0.1, 0.2], cost_per_contact=np.nan, revenue_per_response=1),
    lambda: M.log_loss([0, 1], [[0.5, 0.6], [0.5, 0.5]]),
    lambda: M.brier_score_loss([0, 1], [0.5, 1.5]),
    lambda: M.roc_auc_score([0, 1, 0], [0.1, 0.2, 0.3], sample_weight=[1, -1, 1]),
])
def test_invalid_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_thread_count_invariance():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300_000)
    s = np.round(rng.random(300_000), 3)
    assert M.roc_auc_score(y, s, n_jobs=1) == M.roc_auc_score(y, s, n_jobs=2)
    pd.testing.assert_frame_equal(M.gains_table(y, s, n_jobs=1), M.gains_table(y, s, n_jobs=2))


def test_benchmark_variants_tidy_frame():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.model_selection import StratifiedKFold

    from custmine.classification import LogisticRegression

    X, y = make_classification(400, 6, random_state=0)
    df = M.benchmark_variants({"custmine": LogisticRegression(), "sklearn": SkLR()}, X, y,
                              cv=StratifiedKFold(3), scoring=["roc_auc", "accuracy"])
    assert df.shape == (6, 7)
    assert list(df.columns) == ["model", "fold", "fit_time_s", "predict_time_s", "peak_memory_mb", "roc_auc", "accuracy"]
    means = df.groupby("model")["roc_auc"].mean()
    assert means["custmine"] == pytest.approx(means["sklearn"], abs=1e-3)  # same model, same folds
    assert (df["fit_time_s"] > 0).all()
