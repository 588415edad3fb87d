"""custmine.regression: hand-checkable cases, published ISLR numbers, parity with
statsmodels and scikit-learn on real data, bad input, serialization, threads."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import linear_model as sklm
from sklearn.utils.estimator_checks import parametrize_with_checks

import custmine
from custmine import regression as R
from custmine import regression_metrics as M

from conftest import shared_path

sm = pytest.importorskip("statsmodels.api", reason="statsmodels is needed for the parity tests "
                         "(pip install -r requirements/test-regression.txt)")


# ---- data ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def advertising():
    d = pd.read_csv(shared_path("advertising", "Advertising.csv"), index_col=0)
    return d[["TV", "radio", "newspaper"]], d["sales"].to_numpy()


@pytest.fixture(scope="module")
def bank():
    d = pd.read_csv(shared_path("bank_marketing", "bank-additional-full.csv"), sep=";")
    cols = ["age", "campaign", "previous", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m"]
    return d[cols].astype(float), d


@pytest.fixture(scope="module")
def spend():
    tx = pd.read_csv(shared_path("online_retail", "online_retail.csv"),
                     usecols=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])
    tx["InvoiceDate"] = pd.to_datetime(tx["InvoiceDate"])
    f = R.spend_features(tx, "2011-09-01")
    return f[["recency_days", "frequency", "log_monetary", "tenure_days"]], f["next_spend"].to_numpy()


# ---- tiny cases checkable by hand --------------------------------------------------------

def test_ols_hand_case():
    # y = 1 + 2x exactly on 3 points, plus a perturbation of the middle point by +1:
    # x = 0,1,2 ; y = 1,4,5 -> slope = 2, intercept = 4/3, residuals (-1/3, 2/3, -1/3)
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([1.0, 4.0, 5.0])
    m = R.LinearRegression().fit(X, y)
    assert m.coef_[0] == pytest.approx(2.0)
    assert m.intercept_ == pytest.approx(4 / 3)
    # RSS = 1/9 + 4/9 + 1/9 = 2/3 on 1 df; Var(slope) = s^2 / Sxx = (2/3) / 2
    assert m.resid_std_err_ ** 2 == pytest.approx(2 / 3)
    assert m.std_err_[1] == pytest.approx(np.sqrt(1 / 3))
    assert m.rsquared_ == pytest.approx(1 - (2 / 3) / (26 / 3))  # TSS = sum (y - 10/3)^2 = 26/3


def test_ridge_hand_case():
    # one centred feature x = (-1, 1), y = (-1, 1): b = Sxy / (Sxx + alpha) = 2 / (2 + 2)
    m = R.Ridge(alpha=2.0).fit([[-1.0], [1.0]], [-1.0, 1.0])
    assert m.coef_[0] == pytest.approx(0.5)
    assert m.intercept_ == pytest.approx(0.0)


def test_lasso_hand_case():
    # orthonormal-ish single feature: b = soft(Sxy/n, alpha) / (Sxx/n); x = (-1, 1), y = (-2, 2)
    # Sxy/n = 2, Sxx/n = 1 -> b = 2 - 0.5 = 1.5
    m = R.Lasso(alpha=0.5, tol=1e-12).fit([[-1.0], [1.0]], [-2.0, 2.0])
    assert m.coef_[0] == pytest.approx(1.5)
    m = R.Lasso(alpha=3.0).fit([[-1.0], [1.0]], [-2.0, 2.0])
    assert m.coef_[0] == 0.0


def test_poisson_intercept_only_is_log_mean():
    X = np.zeros((4, 1)) + np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array([1.0, 3.0, 2.0, 6.0])
    m = R.PoissonRegressor(alpha=0.0, tol=1e-12).fit(X, y)
    # two groups: log-mean 2 for x=0 and log-mean 4 for x=1 (saturated in x)
    assert m.intercept_ == pytest.approx(np.log(2.0))
    assert m.coef_[0] == pytest.approx(np.log(2.0))


# ---- ISLR Advertising (James et al. 2013, Tables 3.4 and 3.6; figures in SOURCE.md) -------

def test_islr_advertising_table_3_4(advertising):
    X, y = advertising
    m = R.LinearRegression().fit(X, y)
    s = m.summary()
    expected = {  # coef, std. error, t as printed (ISLR Table 3.4)
        "const": (2.939, 0.3119, 9.42),
        "TV": (0.046, 0.0014, 32.81),
        "radio": (0.189, 0.0086, 21.89),
        "newspaper": (-0.001, 0.0059, -0.18),
    }
    for term, (b, se, t) in expected.items():
        assert round(s.loc[term, "coef"], 3) == b
        assert round(s.loc[term, "std_err"], 4) == se
        assert round(s.loc[term, "t"], 2) == t
    # Table 3.6: RSE 1.69, R^2 0.897, F 570
    assert round(m.resid_std_err_, 2) == 1.69
    assert round(m.rsquared_, 3) == 0.897
    assert round(m.fvalue_) == 570
    # SOURCE.md's unrounded figures
    assert m.resid_std_err_ == pytest.approx(1.6855, abs=5e-5)
    assert m.fvalue_ == pytest.approx(570.27, abs=5e-3)
    assert s.loc["newspaper", "p_value"] == pytest.approx(0.86, abs=0.005)
    # book CIs: TV (0.043, 0.049), radio (0.172, 0.206), newspaper (-0.013, 0.011)
    assert round(s.loc["TV", "ci_low"], 3) == 0.043 and round(s.loc["TV", "ci_high"], 3) == 0.049
    assert round(s.loc["radio", "ci_low"], 3) == 0.172 and round(s.loc["radio", "ci_high"], 3) == 0.206
    assert round(s.loc["newspaper", "ci_low"], 3) == -0.013 and round(s.loc["newspaper", "ci_high"], 3) == 0.011


# ---- statsmodels parity: tolerance rtol 1e-9 (both solve the same least squares exactly) --

def _sm_ols(X, y, w=None, cov="nonrobust"):
    Xc = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    mod = sm.OLS(y, Xc) if w is None else sm.WLS(y, Xc, weights=w)
    return mod.fit(cov_type=cov)


@pytest.mark.parametrize("cov", ["nonrobust", "HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("solver", ["qr", "cholesky"])
def test_ols_matches_statsmodels_bank(bank, cov, solver):
    X, d = bank
    y = d["duration"].to_numpy(dtype=float)
    ours = R.LinearRegression(cov_type=cov, solver=solver).fit(X, y)
    ref = _sm_ols(X, y, cov=cov)
    s = ours.summary()
    np.testing.assert_allclose(s["coef"], ref.params, rtol=1e-8)
    np.testing.assert_allclose(s["std_err"], ref.bse, rtol=1e-8)
    np.testing.assert_allclose(s["p_value"], ref.pvalues, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(s[["ci_low", "ci_high"]], ref.conf_int(), rtol=1e-8)
    assert ours.aic_ == pytest.approx(ref.aic, rel=1e-10)
    assert ours.bic_ == pytest.approx(ref.bic, rel=1e-10)
    assert ours.fvalue_ == pytest.approx(ref.fvalue, rel=1e-8)
    assert ours.rsquared_adj_ == pytest.approx(ref.rsquared_adj, rel=1e-10)


def test_wls_matches_statsmodels_advertising(advertising):
    X, y = advertising
    w = 1.0 / (1.0 + X["TV"].to_numpy() / 100)  # variance growing with TV spend
    ours = R.LinearRegression().fit(X, y, sample_weight=w)
    ref = _sm_ols(X, y, w=w)
    np.testing.assert_allclose(ours.summary()["coef"], ref.params, rtol=1e-10)
    np.testing.assert_allclose(ours.summary()["std_err"], ref.bse, rtol=1e-10)
    assert ours.loglike_ == pytest.approx(ref.llf, rel=1e-12)
    assert ours.rsquared_ == pytest.approx(ref.rsquared, rel=1e-12)
    assert ours.fvalue_ == pytest.approx(ref.fvalue, rel=1e-10)
    # prediction / confidence intervals
    Xn = X.iloc[:5]
    frame = ref.get_prediction(sm.add_constant(Xn.to_numpy(), has_constant="add")).summary_frame(alpha=0.1)
    conf = ours.predict(Xn, interval="confidence", level=0.9)
    pred = ours.predict(Xn, interval="prediction", level=0.9)
    np.testing.assert_allclose(conf["se"], frame["mean_se"], rtol=1e-10)
    np.testing.assert_allclose(conf[["lower", "upper"]], frame[["mean_ci_lower", "mean_ci_upper"]], rtol=1e-10)
    np.testing.assert_allclose(pred[["lower", "upper"]], frame[["obs_ci_lower", "obs_ci_upper"]], rtol=1e-10)


def test_ols_no_intercept_matches_statsmodels(advertising):
    X, y = advertising
    ours = R.LinearRegression(fit_intercept=False).fit(X, y)
    ref = sm.OLS(y, X.to_numpy()).fit()
    np.testing.assert_allclose(ours.coef_, ref.params, rtol=1e-10)
    assert ours.rsquared_ == pytest.approx(ref.rsquared, rel=1e-12)  # uncentred
    assert ours.fvalue_ == pytest.approx(ref.fvalue, rel=1e-10)


@pytest.mark.parametrize("family", ["poisson", "gamma", "tweedie"])
def test_glm_matches_statsmodels(bank, spend, family):
    X, d = bank
    start = None
    if family == "poisson":  # number of contacts in the campaign
        X = X.drop(columns="campaign")
        y = d["campaign"].to_numpy(dtype=float)
        ours, fam = R.PoissonRegressor(alpha=0.0, tol=1e-10), sm.families.Poisson()
    elif family == "gamma":  # call duration (seconds, positive)
        keep = d["duration"].to_numpy() > 0
        X, y = X[keep], d["duration"].to_numpy(dtype=float)[keep]
        ours, fam = R.GammaRegressor(alpha=0.0, tol=1e-10), sm.families.Gamma(sm.families.links.Log())
    else:  # next-period customer spend, zeros included
        X, y = spend
        ours = R.TweedieRegressor(power=1.5, alpha=0.0, tol=1e-10)
        fam = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
    ours.fit(X, y)
    s = ours.summary()
    if family != "poisson":
        # statsmodels' plain IRLS (no step control) diverges from its default start on these
        # heavy-tailed targets; started at our solution it must stay there (an IRLS step
        # from a non-stationary point moves) and supplies the SEs and scale to compare.
        start = s["coef"].to_numpy()
    # statsmodels stops when the deviance changes by less than `tol` (absolute); near the optimum
    # the deviance moves by last-bit noise (~1e-15 relative), so an absolute 1e-12 never stops on
    # a deviance of 3e4: ask for 1e-12 relative instead.
    ref = sm.GLM(y, sm.add_constant(X.to_numpy(), has_constant="add"), family=fam).fit(
        tol=1e-12 * max(1.0, ours.deviance_), start_params=start)
    assert ref.converged
    # tolerances: statsmodels' IRLS stops on deviance change, so 1e-6 relative on coefficients
    np.testing.assert_allclose(s["coef"], ref.params, rtol=1e-6)
    np.testing.assert_allclose(s["std_err"], ref.bse, rtol=1e-5)
    np.testing.assert_allclose(s["p_value"], ref.pvalues, rtol=1e-4, atol=1e-12)
    assert ours.deviance_ == pytest.approx(ref.deviance, rel=1e-8)
    assert ours.scale_ == pytest.approx(ref.scale, rel=1e-6)
    if family != "tweedie":  # statsmodels' Tweedie likelihood is a series we do not evaluate
        assert ours.aic_ == pytest.approx(ref.aic, rel=1e-8)
        assert ours.bic_ == pytest.approx(ref.bic_llf, rel=1e-8)


# ---- scikit-learn parity (coefficients, rtol 1e-6 with tight tolerances on both) ----------

def test_ridge_and_ridgecv_match_sklearn(bank):
    X, d = bank
    y = d["duration"].to_numpy(dtype=float)
    w = np.linspace(0.5, 2, len(y))
    for a in [0.0, 1.0, 1e4]:
        ours = R.Ridge(alpha=a).fit(X, y, sample_weight=w)
        ref = sklm.Ridge(alpha=a, solver="cholesky").fit(X, y, sample_weight=w)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7)
        assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-7)
    alphas = np.logspace(-2, 6, 25)
    Xs = X.iloc[:3000]
    ours = R.RidgeCV(alphas=alphas).fit(Xs, y[:3000])
    ref = sklm.RidgeCV(alphas=alphas).fit(Xs, y[:3000])
    assert ours.alpha_ == ref.alpha_
    assert ours.best_score_ == pytest.approx(ref.best_score_, rel=1e-8)
    # the first 3000 rows hold constant columns: their coefficients are 0 up to rounding
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7, atol=1e-9 * np.abs(ref.coef_).max())


def test_ridge_dual_matches_primal():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 50))
    y = rng.normal(size=20)
    ours = R.Ridge(alpha=3.0).fit(X, y)
    ref = sklm.Ridge(alpha=3.0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-12)
    cv = R.RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y)
    ref = sklm.RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y)
    assert cv.alpha_ == ref.alpha_ and cv.best_score_ == pytest.approx(ref.best_score_, rel=1e-8)


@pytest.mark.parametrize("shape", [(5000, 6), (20, 50)])
def test_ridgecv_model_equals_ridge_at_alpha(shape):
    # RidgeCV keeps the spectral solution at alpha_ instead of refitting: it must be the ridge fit
    rng = np.random.default_rng(1)
    X = rng.normal(size=shape) + 2.0
    y = X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=shape[0])
    w = rng.uniform(0.5, 2.0, shape[0])
    cv = R.RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y, sample_weight=w)
    ref = R.Ridge(alpha=cv.alpha_).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(cv.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    assert cv.intercept_ == pytest.approx(ref.intercept_, rel=1e-9)
    np.testing.assert_allclose(cv.predict(X), ref.predict(X), rtol=1e-9)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("precompute", ["auto", False])
def test_enet_matches_sklearn(advertising, spend, l1_ratio, precompute):
    for X, y in (advertising, spend):
        for alpha in [0.01, 0.3, 3.0]:
            ours = R.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000,
                                precompute=precompute).fit(X, y)
            ref = sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000).fit(X, y)
            np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
            assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)


def test_lasso_path_and_cv_match_sklearn(bank):
    X, d = bank
    y = d["duration"].to_numpy(dtype=float)[:5000]
    Xs = (X.iloc[:5000] - X.iloc[:5000].mean()).to_numpy()
    yc = y - y.mean()
    a1, c1, _ = R.lasso_path(Xs, yc, n_alphas=30, tol=1e-10)
    a2, c2, _ = sklm.lasso_path(Xs, yc, n_alphas=30, tol=1e-10)
    np.testing.assert_allclose(a1, a2, rtol=1e-12)
    np.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-6 * np.abs(c2).max())
    ours = R.LassoCV(alphas=30, tol=1e-8, max_iter=10000).fit(X.iloc[:5000], y)
    ref = sklm.LassoCV(alphas=30, tol=1e-8, max_iter=10000).fit(X.iloc[:5000], y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-5)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-8)
    ours = R.ElasticNetCV(l1_ratio=[0.2, 0.9], alphas=15, tol=1e-12, max_iter=100000).fit(X.iloc[:5000], y)
    ref = sklm.ElasticNetCV(l1_ratio=[0.2, 0.9], alphas=15, tol=1e-12, max_iter=100000).fit(X.iloc[:5000], y)
    assert (ours.alpha_, ours.l1_ratio_) == pytest.approx((ref.alpha_, ref.l1_ratio_), rel=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_enet_cv_kfold_gram_by_subtraction(weighted):
    # k-fold training Grams come from whole-data sums minus the test fold's; check them
    # against fits on each training set, on data with large offsets (the sums are taken
    # about the global mean, so nothing cancels), and against a split that is not k-fold
    # (ShuffleSplit: folds built one by one).
    from sklearn.model_selection import KFold, ShuffleSplit
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 8)) * [1, 2, 3, 1, 1, 1, 5, 1] + 1e6
    y = (X - 1e6) @ rng.normal(size=8) + rng.normal(size=3000) + 5e5
    w = rng.uniform(0.5, 2.0, 3000) if weighted else None
    alphas = np.logspace(-3, 0, 6)
    cv = R.ElasticNetCV(l1_ratio=[0.5], alphas=alphas, cv=KFold(4), tol=1e-12, max_iter=100000)
    cv.fit(X, y, sample_weight=w)
    for f, (tr, te) in enumerate(KFold(4).split(X)):
        for a, alpha in enumerate(np.sort(alphas)[::-1]):
            m = R.ElasticNet(alpha=alpha, l1_ratio=0.5, tol=1e-12, max_iter=100000)
            m.fit(X[tr], y[tr], sample_weight=None if w is None else w[tr])
            e = y[te] - m.predict(X[te])
            mse = np.average(e * e, weights=None if w is None else w[te])
            assert cv.mse_path_[a, f] == pytest.approx(mse, rel=1e-7)
    ss = ShuffleSplit(3, test_size=0.25, random_state=0)
    ours = R.ElasticNetCV(l1_ratio=0.5, alphas=alphas, cv=ss, tol=1e-12, max_iter=100000).fit(X - 1e6, y)
    ref = sklm.ElasticNetCV(l1_ratio=0.5, alphas=alphas, cv=ss, tol=1e-12, max_iter=100000).fit(X - 1e6, y)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_glms_match_sklearn(spend, alpha):
    X, y = spend
    Xs = (X - X.mean()) / X.std()
    pos = y > 0
    cases = [
        (R.PoissonRegressor(alpha=alpha, tol=1e-10), sklm.PoissonRegressor(alpha=alpha), Xs, np.round(y / 100)),
        (R.GammaRegressor(alpha=alpha, tol=1e-10), sklm.GammaRegressor(alpha=alpha), Xs[pos], y[pos]),
        (R.TweedieRegressor(power=1.5, alpha=alpha, tol=1e-10),
         sklm.TweedieRegressor(power=1.5, alpha=alpha), Xs, y),
    ]
    for ours, ref, Xc, yc in cases:
        ref.set_params(solver="newton-cholesky", tol=1e-12, max_iter=1000)
        ours.fit(Xc, yc)
        ref.fit(Xc, yc)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
        assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-7)
        assert ours.score(Xc, yc) == pytest.approx(ref.score(Xc, yc), rel=1e-7)


# ---- metrics ----------------------------------------------------------------------------

def test_metrics_match_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(3)
    y = rng.gamma(2.0, 3.0, 200)
    p = y * rng.uniform(0.5, 1.5, 200)
    w = rng.uniform(0.1, 2, 200)
    pairs = [
        (M.mean_absolute_error, skm.mean_absolute_error), (M.mean_squared_error, skm.mean_squared_error),
        (M.root_mean_squared_error, skm.root_mean_squared_error),
        (M.mean_absolute_percentage_error, skm.mean_absolute_percentage_error),
        (M.r2_score, skm.r2_score), (M.explained_variance_score, skm.explained_variance_score),
        (M.mean_poisson_deviance, skm.mean_poisson_deviance), (M.mean_gamma_deviance, skm.mean_gamma_deviance),
    ]
    for ours, ref in pairs:
        for sw in (None, w):
            assert ours(y, p, sample_weight=sw) == pytest.approx(ref(y, p, sample_weight=sw), rel=1e-12)
    for power in (0, 1, 1.5, 2, 3):
        assert M.mean_tweedie_deviance(y, p, power=power) == pytest.approx(
            skm.mean_tweedie_deviance(y, p, power=power), rel=1e-12)
        assert M.d2_tweedie_score(y, p, power=power, sample_weight=w) == pytest.approx(
            skm.d2_tweedie_score(y, p, power=power, sample_weight=w), rel=1e-12)
    assert R.metrics.r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="y_true has 2 rows but y_pred has 3"):
        M.mean_absolute_error([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="y_pred.*NaN"):
        M.r2_score([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="y_true must be non-negative"):
        M.mean_poisson_deviance([-1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="power must be 0 or >= 1"):
        M.mean_tweedie_deviance([1.0], [1.0], power=0.5)


# ---- bad input --------------------------------------------------------------------------

def test_p_greater_than_n_suggests_ridge():
    X = np.random.default_rng(0).normal(size=(5, 8))
    with pytest.raises(ValueError, match="use Ridge"):
        R.LinearRegression().fit(X, np.arange(5.0))


def test_constant_column_warns_with_name(advertising):
    X, y = advertising
    X = X.assign(flat=7.0)
    with pytest.warns(R.RankDeficientWarning, match="constant column.*flat"):
        m = R.LinearRegression().fit(X, y)
    ref = R.LinearRegression().fit(X.drop(columns="flat"), y)
    np.testing.assert_allclose(m.predict(X), ref.predict(X.drop(columns="flat")), rtol=1e-9)
    assert m.rank_ == 4


@pytest.mark.parametrize("est", [R.LinearRegression(), R.Ridge(), R.Lasso(), R.PoissonRegressor()])
def test_nan_inf_and_lengths(est):
    X = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X, [1.0, 2.0, 3.0, 4.0])
    X[1, 0] = np.inf
    with pytest.raises(ValueError, match="(?i)inf"):
        est.fit(X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(np.ones((4, 2)), [1.0, 2.0, 3.0])
    X = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 4.0], [2.0, 2.0]])
    Xc = X.copy()
    with pytest.raises(ValueError, match="sample_weight"):
        est.fit(X, [1.0, 2.0, 3.0, 4.0], sample_weight=[1.0, -1.0, 1.0, 1.0])
    np.testing.assert_array_equal(X, Xc)  # input untouched


def test_glm_targets_and_alpha():
    X = np.array([[0.0], [1.0], [2.0]])
    with pytest.raises(ValueError, match="y must be non-negative"):
        R.PoissonRegressor().fit(X, [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="y must be strictly positive"):
        R.GammaRegressor().fit(X, [1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="power must be 0 or >= 1"):
        R.TweedieRegressor(power=0.5).fit(X, [1.0, 1.0, 2.0])
    for est in (R.Ridge(alpha=-1), R.Lasso(alpha=-0.1), R.ElasticNet(alpha=-1), R.PoissonRegressor(alpha=-1)):
        with pytest.raises(ValueError, match="alpha must be"):
            est.fit(X, [1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="alphas must be"):
        R.RidgeCV(alphas=[1.0, 0.0]).fit(X, [1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        R.ElasticNet(l1_ratio=1.5).fit(X, [1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="alpha=0"):
        R.PoissonRegressor(alpha=1.0).fit(X, [1.0, 1.0, 2.0]).summary()
    with pytest.raises(ValueError, match="cov_type must be"):
        R.LinearRegression(cov_type="HC9").fit(X, [1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="interval must be"):
        R.LinearRegression().fit(X, [1.0, 1.0, 2.0]).predict(X, interval="both")


# ---- serialization, pickling, threads, determinism ----------------------------------------

ALL = [R.LinearRegression(cov_type="HC3"), R.Ridge(alpha=2.0), R.RidgeCV(alphas=[0.1, 1.0, 10.0]),
       R.Lasso(alpha=0.05), R.ElasticNet(alpha=0.05), R.LassoCV(alphas=10), R.ElasticNetCV(alphas=10),
       R.PoissonRegressor(alpha=0.0), R.GammaRegressor(alpha=0.1), R.TweedieRegressor(power=1.5, alpha=0.0)]


@pytest.mark.parametrize("est", ALL, ids=lambda e: type(e).__name__)
def test_json_roundtrip_and_pickle(advertising, est, tmp_path):
    X, y = advertising
    est.fit(X, y)
    text = est.to_json()
    back = type(est).from_json(text)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert list(back.feature_names_in_) == ["TV", "radio", "newspaper"]
    if hasattr(est, "summary") and getattr(est, "alpha", 0) == 0:
        pd.testing.assert_frame_equal(back.summary(), est.summary())
    est.save(tmp_path / "m.json")
    np.testing.assert_array_equal(type(est).load(tmp_path / "m.json").predict(X), est.predict(X))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    import json

    doc = json.loads(text)
    no_state = {k: v for k, v in doc.items() if k != "state"}
    wrong_name = dict(doc, estimator="Nope")
    first_array = next(k for k, v in doc["state"].items() if isinstance(v, list))
    bad_array = dict(doc, state=dict(doc["state"], **{first_array: "oops"}))
    for bad in ["{", '{"format_version": 1}', json.dumps(no_state), json.dumps(wrong_name), json.dumps(bad_array)]:
        with pytest.raises(custmine.SerializationError):
            type(est).from_json(bad)


def test_thread_count_invariance():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30000, 12))
    y = X @ rng.normal(size=12) + rng.normal(size=30000)
    a = R.LinearRegression(solver="cholesky", n_jobs=1).fit(X, y).summary()
    b = R.LinearRegression(solver="cholesky", n_jobs=2).fit(X, y).summary()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    e1 = R.ElasticNetCV(alphas=8, n_jobs=1).fit(X, y)
    e2 = R.ElasticNetCV(alphas=8, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(e1.mse_path_, e2.mse_path_)
    np.testing.assert_array_equal(e1.coef_, e2.coef_)
    # GLMs thread only from 64k rows (below that one thread is faster): use more rows here.
    Xg = rng.normal(size=(70000, 12))
    mu = np.exp(0.1 * Xg[:, 0] - 0.2 * Xg[:, 1])
    for make, yg in [(lambda j: R.TweedieRegressor(power=1.5, alpha=0.0, n_jobs=j), mu * rng.gamma(2.0, 0.5, 70000)),
                     (lambda j: R.PoissonRegressor(alpha=0.0, n_jobs=j), rng.poisson(mu).astype(float)),
                     (lambda j: R.GammaRegressor(alpha=0.0, n_jobs=j), mu * rng.gamma(2.0, 0.5, 70000))]:
        g1, g2 = make(1).fit(Xg, yg), make(2).fit(Xg, yg)
        np.testing.assert_array_equal(g1.coef_, g2.coef_)
        assert g1.deviance_ == g2.deviance_
        pd.testing.assert_frame_equal(g1.summary(), g2.summary(), check_exact=True)


def test_warm_start_reaches_same_solution(advertising):
    X, y = advertising
    cold = R.Lasso(alpha=0.1, tol=1e-12).fit(X, y)
    warm = R.Lasso(alpha=1.0, tol=1e-12, warm_start=True).fit(X, y)
    warm.set_params(alpha=0.1).fit(X, y)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-9)


def test_screening_does_not_change_solution(bank):
    X, d = bank
    y = d["duration"].to_numpy(dtype=float)
    a = R.Lasso(alpha=2.0, tol=1e-12, screening=True).fit(X, y)
    b = R.Lasso(alpha=2.0, tol=1e-12, screening=False).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)


def test_plots_and_demo(advertising, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = advertising
    m = R.LinearRegression().fit(X, y)
    assert len(R.plot_residuals(m, X, y).collections) == 1
    assert R.plot_qq(m, X, y).get_title() == "Normal Q-Q"
    alphas, coefs, _ = R.lasso_path(X.to_numpy() - X.to_numpy().mean(0), y - y.mean(), n_alphas=10)
    assert len(R.plot_coef_path(alphas, coefs, list(X.columns)).lines) == 3
    R.plot_actual_vs_predicted(y, m.predict(X))
    text = R.demo_report(tmp_path)
    assert "Tweedie GLM" in text and "| const |" in text
    assert (tmp_path / "regression.png").exists()


# ---- scikit-learn's estimator checks ------------------------------------------------------

EXPECTED_FAILURES = {
    # By design (issue 7) OLS refuses fewer positive-weight samples than parameters and
    # points to Ridge; sklearn's check fits 30 features on 27 samples with nonzero weight.
    ("LinearRegression", "check_sample_weight_equivalence_on_dense_data"):
        "OLS with p > n raises (suggests Ridge) instead of a minimum-norm solution",
}


def _expected(est):
    return {c: r for (n, c), r in EXPECTED_FAILURES.items() if n == type(est).__name__}


@parametrize_with_checks(
    [R.LinearRegression(), R.Ridge(), R.RidgeCV(), R.Lasso(alpha=0.1), R.ElasticNet(alpha=0.1),
     R.LassoCV(alphas=10), R.ElasticNetCV(alphas=10), R.PoissonRegressor(), R.GammaRegressor(),
     R.TweedieRegressor(power=1.5)],
    expected_failed_checks=_expected,
)
def test_sklearn_compat(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=R.RankDeficientWarning)
        check(estimator)
