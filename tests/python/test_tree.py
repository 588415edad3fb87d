"""custmine.tree and custmine.ensemble: same splits as scikit-learn where the best split is
unique, rules that reproduce predict, forests independent of n_jobs, real-data parity
(bank marketing without `duration`, Telco churn), bad input, JSON and pickling."""
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn import ensemble as ske
from sklearn import tree as skt
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

import custmine
from custmine.ensemble import RandomForestClassifier, RandomForestRegressor
from custmine.tree import DecisionTreeClassifier, DecisionTreeRegressor

from conftest import shared_path


def structure(est):
    """Preorder (feature, threshold) list, -1 at leaves; independent of node numbering."""
    if hasattr(est, "tree_") and not hasattr(est, "_native"):
        t = est.tree_
        left, right, feat, thr = t.children_left, t.children_right, t.feature, t.threshold
    else:
        a = est.tree_arrays_
        left, right, feat, thr = a["children_left"], a["children_right"], a["feature"], a["threshold"]
    out = []

    def rec(i):
        if left[i] < 0:
            out.append((-1, 0.0))
            return
        out.append((int(feat[i]), float(thr[i])))
        rec(left[i])
        rec(right[i])

    rec(0)
    return out


# scikit-learn's trees work on X cast to float32; rounding X to float32 first gives both
# libraries the same values, so thresholds (midpoints computed in double) match exactly.
def _arrays(est):
    if hasattr(est, "_native"):
        a = est.tree_arrays_
        return a["children_left"], a["children_right"], a["feature"], a["threshold"], a["impurity"]
    t = est.tree_
    return t.children_left, t.children_right, t.feature, t.threshold, t.impurity


def same_splits(ours, ref, X, w=None):
    """Walks both trees on the training rows. Where they split a node into the same two
    row sets the split is the same (feature and threshold equal); where they differ, the
    two splits must tie in weighted child impurity (the best split was not unique), and
    that subtree is not compared further. A different feature giving the same row sets
    also counts as a tie. Returns (nodes compared, ties)."""
    w = np.ones(len(X)) if w is None else w
    A, B = _arrays(ours), _arrays(ref)
    compared = ties = 0
    stack = [(0, 0, np.ones(len(X), dtype=bool))]
    while stack:
        i, j, rows = stack.pop()
        la, lb = A[0][i] < 0, B[0][j] < 0
        assert la == lb, f"leaf mismatch at node {i}/{j}"
        if la:
            continue
        compared += 1
        ma = rows & (X[:, A[2][i]] <= A[3][i])
        mb = rows & (X[:, B[2][j]] <= B[3][j])
        if (ma == mb).all():
            if A[2][i] == B[2][j]:
                assert A[3][i] == B[3][j]
            else:
                ties += 1  # another feature splits these rows the same way: a tie
            stack.append((A[0][i], B[0][j], ma))
            stack.append((A[1][i], B[1][j], rows & ~ma))
        else:
            ties += 1
            cost = lambda T, l, r, m: w[m].sum() * T[4][l] + w[rows & ~m].sum() * T[4][r]  # noqa: E731
            ca, cb = cost(A, A[0][i], A[1][i], ma), cost(B, B[0][j], B[1][j], mb)
            assert ca == pytest.approx(cb, rel=1e-6, abs=1e-9), f"not a tie at node {i}: {ca} vs {cb}"
    return compared, ties


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X.astype(np.float32).astype(np.float64), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X.astype(np.float32).astype(np.float64), y


# ---------------------------------------------------------------------------------
# Same splits as scikit-learn


@pytest.mark.parametrize("criterion", ["squared_error", "poisson"])
@pytest.mark.parametrize("params", [dict(max_depth=5), dict(max_leaf_nodes=12), dict(min_samples_leaf=7, max_depth=8),
                                    dict(min_impurity_decrease=30.0), dict(ccp_alpha=40.0)])
def test_regressor_same_tree_as_sklearn(diabetes, criterion, params):
    X, y = diabetes
    if criterion == "poisson":  # same pruning strength relative to the root impurity
        scale = (skt.DecisionTreeRegressor(criterion="poisson", max_depth=1).fit(X, y).tree_.impurity[0]
                 / np.var(y))
        params = {k: (v * scale if k in ("min_impurity_decrease", "ccp_alpha") else v) for k, v in params.items()}
    ours = DecisionTreeRegressor(criterion=criterion, random_state=0, **params).fit(X, y)
    ref = skt.DecisionTreeRegressor(criterion=criterion, random_state=0, **params).fit(X, y)
    compared, ties = same_splits(ours, ref, X)
    assert compared >= 5 and ties <= compared // 4
    assert structure(ours)[0] == structure(ref)[0]
    if ties == 0:  # tied splits legitimately change the subtree below them
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-9)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
@pytest.mark.parametrize("params", [dict(max_depth=4), dict(max_leaf_nodes=8), dict(class_weight="balanced", max_depth=4),
                                    dict(class_weight={0: 3.0, 1: 1.0}, max_depth=3)])
def test_classifier_same_tree_as_sklearn(cancer, criterion, params):
    X, y = cancer
    ours = DecisionTreeClassifier(criterion=criterion, random_state=0, **params).fit(X, y)
    ref = skt.DecisionTreeClassifier(criterion=criterion, random_state=0, **params).fit(X, y)
    compared, ties = same_splits(ours, ref, X)
    assert compared >= 3 and ties <= compared // 2
    assert structure(ours)[0] == structure(ref)[0]
    if ties == 0:  # tied splits legitimately change the subtree below them
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)
        np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-9)


@pytest.mark.parametrize("class_weight", [None, {0: 3.0, 1: 1.0}])  # weighted sums on the binary-feature path
@pytest.mark.parametrize("levels", [2, 40, 64, 65])
def test_coded_features_same_tree_as_sklearn(cancer, levels, class_weight):
    # Features with at most 64 distinct values are coded without sorting all rows (one-hot
    # and coded columns); 65 takes the sorting path. Both must give scikit-learn's tree,
    # with -0.0 and 0.0 one value.
    X, y = cancer
    Q = np.floor((X - X.min(0)) / np.ptp(X, axis=0) * (levels - 1) + 0.5)
    Q[::7, 0] = -0.0  # equal to the zeros of the column
    ours = DecisionTreeClassifier(max_depth=5, random_state=0, class_weight=class_weight).fit(Q, y)
    ref = skt.DecisionTreeClassifier(max_depth=5, random_state=0, class_weight=class_weight).fit(Q, y)
    compared, ties = same_splits(ours, ref, Q)
    assert compared >= 3 and ties <= compared // 2
    assert structure(ours)[0] == structure(ref)[0]
    if ties == 0:
        np.testing.assert_allclose(ours.predict_proba(Q), ref.predict_proba(Q), atol=1e-12)


def test_sample_weight_same_tree_as_sklearn(diabetes):
    X, y = diabetes
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    ours = DecisionTreeRegressor(max_depth=4).fit(X, y, sample_weight=w)
    ref = skt.DecisionTreeRegressor(max_depth=4).fit(X, y, sample_weight=w)
    compared, ties = same_splits(ours, ref, X, w)
    assert compared >= 10 and ties == 0
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)


def test_pruning_path_matches_sklearn(diabetes):
    X, y = diabetes
    ours = DecisionTreeRegressor(random_state=0).cost_complexity_pruning_path(X, y)
    ref = skt.DecisionTreeRegressor(random_state=0).cost_complexity_pruning_path(X, y)
    np.testing.assert_allclose(ours.ccp_alphas, ref.ccp_alphas, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.impurities, ref.impurities, rtol=1e-8)


def test_export_text_matches_sklearn(cancer):
    X, y = cancer
    ours = DecisionTreeClassifier(criterion="entropy", max_depth=2, random_state=0).fit(X, y)
    ref = skt.DecisionTreeClassifier(criterion="entropy", max_depth=2, random_state=0).fit(X, y)
    assert same_splits(ours, ref, X)[1] == 0  # the premise: no tied splits here
    names = [f"f{j}" for j in range(X.shape[1])]
    assert ours.export_text(feature_names=names) == skt.export_text(ref, feature_names=names)
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = Xd.astype(np.float32).astype(np.float64)
    r_ours = DecisionTreeRegressor(max_depth=3).fit(Xd, yd)
    r_ref = skt.DecisionTreeRegressor(max_depth=3).fit(Xd, yd)
    assert same_splits(r_ours, r_ref, Xd)[1] == 0
    assert r_ours.export_text() == skt.export_text(r_ref, feature_names=[f"x{j}" for j in range(Xd.shape[1])])


def test_hand_checked_stump_and_rule():
    X = pd.DataFrame({"recency": [5, 10, 20, 40, 60, 90], "frequency": [9, 7, 8, 2, 1, 1]})
    y = np.array(["A", "A", "A", "C", "C", "B"])
    clf = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    a = clf.tree_arrays_
    # recency and frequency both separate {A} from {B, C}; with these values the gini is
    # equal, so compare the rule text against whichever was chosen, computed by hand.
    assert a["feature"][0] in (0, 1)
    rules = clf.export_rules(target_name="tier").splitlines()
    assert len(rules) == 2
    if a["feature"][0] == 0:
        assert rules[0] == "IF recency <= 30.0 THEN tier = A (support 50.0%, confidence 100%; A: 100%, B: 0%, C: 0%)"
        assert rules[1] == "IF recency > 30.0 THEN tier = C (support 50.0%, confidence 67%; A: 0%, B: 33%, C: 67%)"
    else:
        assert rules[0].startswith("IF frequency <= 4.5 THEN tier = C (support 50.0%, confidence 67%")


def evaluate_rules(table, X: pd.DataFrame):
    pred = np.empty(len(X), dtype=object)
    hit = np.zeros(len(X), dtype=int)
    for _, r in table.iterrows():
        m = np.ones(len(X), dtype=bool)
        for name, op, t in r["conditions"]:
            m &= (X[name].to_numpy() <= t) if op == "<=" else (X[name].to_numpy() > t)
        pred[m] = r["prediction"]
        hit += m
    return pred, hit


def parse_text_rules(text, X: pd.DataFrame, classes):
    pred = np.empty(len(X), dtype=object)
    for line in text.splitlines():
        cond, rest = line[3:].split(" THEN ")
        m = np.ones(len(X), dtype=bool)
        for c in cond.split(" AND "):
            name, op, t = c.split(" ")
            v = X[name].to_numpy()
            m &= (v <= float(t)) if op == "<=" else (v > float(t))
        label = rest.split(" = ", 1)[1].split(" (")[0]
        pred[m] = label
    return pred


def test_rules_reproduce_predict(cancer):
    X, y = cancer
    X = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    labels = np.where(y == 1, "benign", "malignant")
    clf = DecisionTreeClassifier(min_samples_leaf=3, random_state=1).fit(X, labels)
    table = clf.rules_table()
    assert len(table) == clf.get_n_leaves()
    assert table["support"].sum() == pytest.approx(1.0)
    Xn = X + np.random.default_rng(0).normal(0, X.std().to_numpy() * 0.3, X.shape)  # rows not seen in training
    for data in (X, Xn):
        pred, hit = evaluate_rules(table, data)
        assert (hit == 1).all()  # every row satisfies exactly one rule
        assert (pred == clf.predict(data)).all()
        assert (parse_text_rules(clf.export_rules(), data, clf.classes_) == clf.predict(data)).all()
    reg = DecisionTreeRegressor(max_depth=5).fit(X, y.astype(float))
    pred, hit = evaluate_rules(reg.rules_table(), Xn)
    assert (hit == 1).all()
    np.testing.assert_array_equal(pred.astype(float), reg.predict(Xn))


def test_apply_and_leaf_support(cancer):
    X, y = cancer
    clf = DecisionTreeClassifier(max_depth=3).fit(X, y)
    leaves = clf.apply(X)
    table = clf.rules_table()
    for _, r in table.iterrows():
        assert (leaves == r["leaf"]).mean() == pytest.approx(r["support"])


# ---------------------------------------------------------------------------------
# Random forests


def test_forest_independent_of_n_jobs_and_seeded(cancer):
    X, y = cancer
    a = RandomForestClassifier(n_estimators=12, random_state=3, n_jobs=1, oob_score=True).fit(X, y)
    b = RandomForestClassifier(n_estimators=12, random_state=3, n_jobs=2, oob_score=True).fit(X, y)
    c = RandomForestClassifier(n_estimators=12, random_state=4, n_jobs=2).fit(X, y)
    assert json.loads(a.to_json())["state"] == json.loads(b.to_json())["state"]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.oob_decision_function_, b.oob_decision_function_)
    assert a.oob_score_ == b.oob_score_
    assert json.loads(a.to_json())["state"] != json.loads(c.to_json())["state"]


def test_forest_averages_tree_probabilities(cancer):
    X, y = cancer
    f = RandomForestClassifier(n_estimators=7, random_state=0, max_depth=4).fit(X, y)
    mean = np.mean([t.predict_proba(X) for t in f.estimators_], axis=0)
    np.testing.assert_allclose(f.predict_proba(X), mean, atol=1e-12)
    r = RandomForestRegressor(n_estimators=5, random_state=0, max_samples=0.5).fit(X, y.astype(float))
    np.testing.assert_allclose(r.predict(X), np.mean([t.predict(X) for t in r.estimators_], axis=0), atol=1e-12)


def test_forest_no_bootstrap_all_features_is_one_tree(diabetes):
    # Without bootstrap and with every feature examined, each tree sees the same data;
    # trees only differ where split ties are broken by the feature order.
    X, y = diabetes
    f = RandomForestRegressor(n_estimators=3, bootstrap=False, max_features=None, max_depth=5, random_state=0,
                              max_bins=None).fit(X, y)
    t = DecisionTreeRegressor(max_depth=5).fit(X, y)
    np.testing.assert_allclose(f.predict(X), t.predict(X), rtol=1e-10)


def test_forest_bins_change_nothing_when_values_are_few():
    # every feature has <= 40 distinct values: 255 bins hold one value each, as exact splits do
    rng = np.random.default_rng(5)
    X = rng.integers(0, 40, size=(600, 5)).astype(float)
    y = (X[:, 0] + rng.normal(0, 8, 600) > 20).astype(int)
    a = RandomForestClassifier(n_estimators=15, random_state=1).fit(X, y)
    b = RandomForestClassifier(n_estimators=15, random_state=1, max_bins=None).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("max_bins", [2, 4, 17])
def test_forest_binned_splits_fall_between_bins(max_bins):
    rng = np.random.default_rng(6)
    n = 2000
    X = rng.normal(size=(n, 2))
    X[:, 1] = np.round(X[:, 1], 1)  # runs of equal values
    y = np.sin(2 * X[:, 0]) + X[:, 1] + rng.normal(0, 0.1, n)
    # Whole-data stumps: with n distinct values, bin g ends at rank floor((g + 1) n / max_bins),
    # so the root split of feature 0 must cut there, midway between two neighbouring values.
    for seed in range(4):
        m = RandomForestRegressor(n_estimators=1, max_depth=1, bootstrap=False, max_features=None,
                                  max_bins=max_bins, random_state=seed).fit(X[:, :1], y)
        thr = float(np.asarray(m._native.tree(0).arrays()["threshold"])[0])
        vals = np.sort(X[:, 0])
        pos = int(np.searchsorted(vals, thr))
        assert pos in {j * n // max_bins for j in range(1, max_bins)}
        assert thr == pytest.approx(0.5 * (vals[pos - 1] + vals[pos]), rel=1e-15)
    # Deeper trees: every threshold lies inside the range of the observed values.
    m = RandomForestRegressor(n_estimators=6, max_bins=max_bins, random_state=0, max_features=None).fit(X, y)
    for t in range(6):
        arr = m._native.tree(t).arrays()
        feat, thr = np.asarray(arr["feature"]), np.asarray(arr["threshold"])
        for f in range(2):
            vals = np.unique(X[:, f])
            tf = thr[feat == f]
            pos = np.searchsorted(vals, tf)
            assert np.all((pos > 0) & (pos < len(vals)))
    assert m.score(X, y) > {2: 0.5, 4: 0.7, 17: 0.9}[max_bins]  # coarser bins, coarser fit


@pytest.mark.parametrize("bad", [0, 1, 70000, 2.5, True, "255"])
def test_forest_bad_max_bins(bad):
    X = np.arange(20.0).reshape(10, 2)
    with pytest.raises(ValueError, match="max_bins"):
        RandomForestRegressor(n_estimators=2, max_bins=bad).fit(X, np.arange(10.0))


def test_forest_oob_close_to_sklearn(cancer):
    X, y = cancer
    ours = RandomForestClassifier(n_estimators=200, oob_score=True, random_state=0, n_jobs=2).fit(X, y)
    ref = ske.RandomForestClassifier(n_estimators=200, oob_score=True, random_state=0, n_jobs=2).fit(X, y)
    assert abs(ours.oob_score_ - ref.oob_score_) < 0.02
    Xd, yd = load_diabetes(return_X_y=True)
    ro = RandomForestRegressor(n_estimators=200, oob_score=True, random_state=0, min_samples_leaf=5).fit(Xd, yd)
    rr = ske.RandomForestRegressor(n_estimators=200, oob_score=True, random_state=0, min_samples_leaf=5).fit(Xd, yd)
    assert abs(ro.oob_score_ - rr.oob_score_) < 0.03


# ---------------------------------------------------------------------------------
# Real data


def bank_data():
    df = pd.read_csv(shared_path("bank_marketing", "bank-additional-full.csv"), sep=";")
    df = df.drop(columns=["duration"])  # known only after the call (see SOURCE.md)
    y = (df.pop("y") == "yes").astype(int).to_numpy()
    X = pd.get_dummies(df, dtype=float)
    return X, y


def telco_data():
    df = pd.read_csv(shared_path("telco_churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv"))
    df = df.drop(columns=["customerID"])
    # 11 blank TotalCharges, all with tenure 0: nothing charged yet
    df["TotalCharges"] = pd.to_numeric(df["TotalCharges"].str.strip().replace("", "0"))
    y = (df.pop("Churn") == "Yes").astype(int).to_numpy()
    return pd.get_dummies(df, dtype=float), y


@pytest.mark.parametrize("loader", [bank_data, telco_data], ids=["bank", "telco"])
def test_real_data_auc_close_to_sklearn(loader):
    X, y = loader()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    t_ours = DecisionTreeClassifier(max_depth=6, min_samples_leaf=20, random_state=0).fit(Xtr, ytr)
    t_ref = skt.DecisionTreeClassifier(max_depth=6, min_samples_leaf=20, random_state=0).fit(Xtr, ytr)
    auc = lambda m: roc_auc_score(yte, m.predict_proba(Xte)[:, 1])  # noqa: E731
    # One-hot columns tie often, and tied splits may go to another feature: tolerance 0.005.
    assert abs(auc(t_ours) - auc(t_ref)) < 0.005
    n = 40 if len(y) > 10000 else 100
    f_ref = ske.RandomForestClassifier(n_estimators=n, min_samples_leaf=5, random_state=0, n_jobs=2).fit(Xtr, ytr)
    for max_bins in (255, None):  # binned (the default) and exact splits
        f_ours = RandomForestClassifier(n_estimators=n, min_samples_leaf=5, random_state=0, n_jobs=2,
                                        max_bins=max_bins).fit(Xtr, ytr)
        # Different random streams: forests agree in AUC to within 0.01.
        assert abs(auc(f_ours) - auc(f_ref)) < 0.01, max_bins
        assert auc(f_ours) > 0.75
    assert list(t_ours.feature_names_in_) == list(X.columns)


# ---------------------------------------------------------------------------------
# Bad input


def test_bad_input_errors(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="y (has|contains) NaN"):
        DecisionTreeRegressor().fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
    with pytest.raises(ValueError, match="missing value|NaN"):
        DecisionTreeClassifier().fit(X[:4], np.array([1.0, np.nan, 1.0, 0.0]))
    with pytest.raises(ValueError, match="poisson.*y >= 0"):
        DecisionTreeRegressor(criterion="poisson").fit(X, y - 100)
    with pytest.raises(ValueError, match="poisson.*y >= 0"):
        RandomForestRegressor(criterion="poisson").fit(X, y - 100)
    m = DecisionTreeRegressor(max_depth=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        m.predict(np.where(np.eye(len(X), X.shape[1]) > 0, np.nan, X))
    with pytest.raises(ValueError, match="class_weight names class 7"):
        DecisionTreeClassifier(class_weight={7: 2.0}).fit(X[:4], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="criterion"):
        DecisionTreeClassifier(criterion="squared_error").fit(X[:4], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="max_depth"):
        DecisionTreeRegressor(max_depth=0).fit(X, y)
    with pytest.raises(ValueError, match="min_samples_leaf"):
        DecisionTreeRegressor(min_samples_leaf=0).fit(X, y)
    with pytest.raises(ValueError, match="max_features"):
        RandomForestRegressor(max_features=99).fit(X, y)
    with pytest.raises(ValueError, match="oob_score"):
        RandomForestRegressor(bootstrap=False, oob_score=True).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        DecisionTreeRegressor().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="n_jobs"):
        RandomForestRegressor(n_jobs=0).fit(X, y)
    with pytest.raises(ValueError, match="feature_names"):
        m.export_rules(feature_names=["a"])
    Xc = X.copy()
    yc = y.copy()
    DecisionTreeRegressor(max_depth=2).fit(Xc, yc)
    np.testing.assert_array_equal(Xc, X)  # inputs untouched
    np.testing.assert_array_equal(yc, y)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DecisionTreeClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        RandomForestRegressor().predict(np.zeros((2, 2)))


# ---------------------------------------------------------------------------------
# Serialization


@pytest.mark.parametrize("make", [
    lambda: DecisionTreeClassifier(max_depth=4, class_weight="balanced"),
    lambda: DecisionTreeRegressor(criterion="poisson", max_leaf_nodes=9),
    lambda: RandomForestClassifier(n_estimators=5, random_state=0, oob_score=True),
    lambda: RandomForestRegressor(n_estimators=4, random_state=0),
])
def test_json_and_pickle_round_trip(make, cancer, tmp_path):
    X, y = cancer
    X = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    est = make()
    yy = np.where(y == 1, "yes", "no") if hasattr(est, "predict_proba") or "Classifier" in type(est).__name__ else y + 1.0
    est.fit(X, yy)
    path = tmp_path / "m.json"
    est.save(path)
    back = type(est).load(path)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert list(back.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(back.feature_importances_, est.feature_importances_)
    assert back.get_params() == est.get_params()
    pk = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(pk.predict(X), est.predict(X))
    doc = json.loads(est.to_json())
    doc["state"]["n_features" if "n_features" in doc["state"] else "trees"] = -3
    with pytest.raises(custmine.CustmineError):
        type(est).from_json(json.dumps(doc))
    with pytest.raises(ValueError):
        type(est).from_json(est.to_json()[:100])


def test_demo_report(tmp_path):
    from custmine.tree import demo_report

    text = demo_report(tmp_path)
    assert "IF " in text and "THEN tier = A" in text
    assert (tmp_path / "tree_rules.txt").read_text().strip() == text.strip()


# ---------------------------------------------------------------------------------
# scikit-learn estimator checks


def _expected_failures(est):
    # Bootstrap draws rows, so weight 2 on a row is not the same as drawing it from two
    # copies (scikit-learn lists the same expected failure for its forests).
    if isinstance(est, (RandomForestClassifier, RandomForestRegressor)):
        return {"check_sample_weight_equivalence_on_dense_data":
                "bootstrap sampling: sample_weight is not equivalent to repeating rows"}
    return {}


@parametrize_with_checks([
    DecisionTreeClassifier(random_state=0),
    DecisionTreeRegressor(random_state=0),
    RandomForestClassifier(n_estimators=8, random_state=0),
    RandomForestRegressor(n_estimators=8, random_state=0),
], expected_failed_checks=_expected_failures)
def test_sklearn_compat(estimator, check):
    check(estimator)


def test_fit_after_fork(cancer):
    """The library keeps working in a forked child (no OpenMP runtime to deadlock)."""
    import os

    X, y = cancer
    RandomForestClassifier(n_estimators=4, n_jobs=2, random_state=0).fit(X, y)
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            f = RandomForestClassifier(n_estimators=4, n_jobs=2, random_state=0).fit(X, y)
            code = 0 if f.score(X, y) > 0.9 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


# ---------------------------------------------------------------------------------
# TreeSHAP


def _brute_force_shapley(est, x):
    """Shapley values of the path-dependent conditional expectation E[f | x_S] (the game
    TreeSHAP explains), by enumerating all subsets: exponential, fine for 5 features."""
    import itertools
    import math

    a = est.tree_arrays_
    left, right, feat, thr, w = (a["children_left"], a["children_right"], a["feature"], a["threshold"],
                                 a["weighted_n_node_samples"])
    value = a["value"] / a["value"].sum(axis=1, keepdims=True) if hasattr(est, "classes_") else a["value"]

    def ev(S, j=0):
        if left[j] < 0:
            return value[j]
        if feat[j] in S:
            return ev(S, left[j] if x[feat[j]] <= thr[j] else right[j])
        return (w[left[j]] * ev(S, left[j]) + w[right[j]] * ev(S, right[j])) / w[j]

    M = len(x)
    phi = [np.zeros_like(value[0]) for _ in range(M + 1)]
    for i in range(M):
        others = [k for k in range(M) if k != i]
        for s in range(M):
            for S in itertools.combinations(others, s):
                wt = math.factorial(s) * math.factorial(M - s - 1) / math.factorial(M)
                phi[i] = phi[i] + wt * (ev(set(S) | {i}) - ev(set(S)))
    phi[M] = ev(set())
    return np.array(phi)


def test_treeshap_equals_brute_force_shapley(diabetes, cancer):
    X, y = diabetes
    X = X[:, :5]
    reg = DecisionTreeRegressor(max_depth=6, min_samples_leaf=3, random_state=0).fit(X, y)
    C = reg.predict_contributions(X[:15])
    B = np.array([_brute_force_shapley(reg, x)[:, 0] for x in X[:15]])
    np.testing.assert_allclose(C, B, atol=1e-9)
    np.testing.assert_allclose(C.sum(axis=1), reg.predict(X[:15]), atol=1e-9)
    Xc, yc = cancer
    Xc = Xc[:, :5]
    clf = DecisionTreeClassifier(max_depth=5, random_state=0).fit(Xc, yc)
    Cc = clf.predict_contributions(Xc[:10])
    assert Cc.shape == (10, 6, 2)
    Bc = np.array([_brute_force_shapley(clf, x) for x in Xc[:10]])
    np.testing.assert_allclose(Cc, Bc, atol=1e-9)


def test_forest_contributions_sum_to_prediction(cancer):
    X, y = cancer
    f = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=2).fit(X, y)
    C = f.predict_contributions(X[:50])
    np.testing.assert_allclose(C.sum(axis=1), f.predict_proba(X[:50]), atol=1e-9)
    f1 = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(f1.predict_contributions(X[:50]), C)
    r = RandomForestRegressor(n_estimators=6, random_state=0, max_depth=6).fit(X, y.astype(float))
    np.testing.assert_allclose(r.predict_contributions(X[:50]).sum(axis=1), r.predict(X[:50]), atol=1e-9)
