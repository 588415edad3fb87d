"""Regression: OLS/WLS with statsmodels-style inference, ridge, lasso / elastic net with
paths and cross-validation, and Tweedie GLMs (Poisson, Gamma, Tweedie) for purchase
counts and spend. All estimators follow scikit-learn's API; the math is in the native
core (``include/custmine/regression``).

Estimators: :class:`LinearRegression`, :class:`Ridge`, :class:`RidgeCV`, :class:`Lasso`,
:class:`ElasticNet`, :class:`LassoCV`, :class:`ElasticNetCV`, :class:`PoissonRegressor`,
:class:`GammaRegressor`, :class:`TweedieRegressor`. Functions: :func:`lasso_path`,
:func:`enet_path`, :func:`spend_features`, plots ``plot_*``. Metrics live in
``custmine.regression.metrics`` (= ``custmine.regression_metrics``).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from . import regression_metrics as metrics
from ._base import NativeModelMixin, check_bool, resolve_n_jobs, validate_X

_r = _core.regression

__all__ = [
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "ElasticNet",
    "LassoCV",
    "ElasticNetCV",
    "PoissonRegressor",
    "GammaRegressor",
    "TweedieRegressor",
    "lasso_path",
    "enet_path",
    "spend_features",
    "plot_residuals",
    "plot_qq",
    "plot_coef_path",
    "plot_actual_vs_predicted",
    "RankDeficientWarning",
    "metrics",
    "demo_report",
]


class RankDeficientWarning(UserWarning):
    """The design matrix is rank deficient: coefficients are the minimum-norm solution."""


def _check_number(value, name, where, *, low=None, low_open=False, integer=False):
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite {'integer' if integer else 'number'}, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{where}: {name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    return value


class _Linear(NativeModelMixin, RegressorMixin, BaseEstimator):
    """Shared fit plumbing: validation, sample weights, syncing attributes from native."""

    def _validate_fit(self, X, y, sample_weight):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X, y = validate_X(self, X, y=y, reset=True, y_numeric=True, ensure_all_finite=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        w = None
        if sample_weight is not None:
            w = np.ascontiguousarray(_check_sample_weight(sample_weight, X, dtype=np.float64))
        return X, y, w

    def _validate_predict(self, X):
        check_is_fitted(self)
        # The core checks finiteness on its own pass over X (naming the entry).
        return validate_X(self, X, reset=False, ensure_all_finite=False)

    def _feature_names(self):
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        self._sync()

    def predict(self, X):
        X = self._validate_predict(X)
        return np.asarray(self._native.predict(X))

    def _sync(self):  # pragma: no cover - overridden
        raise NotImplementedError


# ------------------------------------------------------------------------------------
# OLS / WLS


class LinearRegression(_Linear):
    """Ordinary (or weighted, via ``sample_weight``) least squares with full inference.

    Parameters
    ----------
    fit_intercept : bool, default True
    solver : {"auto", "qr", "cholesky"}
        Column-pivoted QR (accurate, O(nk) extra memory) or Cholesky of the Gram matrix
        (threaded, O(k^2) memory; falls back to a pseudo-inverse when ill-conditioned).
        "auto" takes QR below 4M design cells.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Covariance of the coefficients (White / MacKinnon-White robust estimators).
    use_t : bool or None
        t (True) or normal (False) reference distribution; None follows statsmodels
        (t for nonrobust, normal for HC*).
    n_jobs : int or None
        Threads for the Cholesky Gram build (joblib's rule).

    Fitted attributes: ``coef_``, ``intercept_``, ``rsquared_``, ``rsquared_adj_``,
    ``fvalue_``, ``f_pvalue_``, ``aic_``, ``bic_``, ``loglike_``, ``resid_std_err_``,
    ``std_err_``, ``pvalues_``, ``nobs_``, ``df_model_``, ``df_resid_``, ``rank_``.
    """

    _native_class = _r.LinearRegression

    def __init__(self, *, fit_intercept=True, solver="auto", cov_type="nonrobust", use_t=None, n_jobs=None):
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.cov_type = cov_type
        self.use_t = use_t
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None):
        where = "LinearRegression.fit"
        fi = check_bool(self.fit_intercept, "fit_intercept", where)
        if self.use_t is not None:
            check_bool(self.use_t, "use_t", where)
        X, y, w = self._validate_fit(X, y, sample_weight)
        native = _r.LinearRegression(fi, str(self.solver), str(self.cov_type), self.use_t,
                                     resolve_n_jobs(self.n_jobs, where))
        native.fit(X, y, w)
        self._native = native
        self._sync()
        k = X.shape[1] + (1 if fi else 0)
        if native.rank < k:
            names = self._feature_names()
            const = [names[j] for j in native.constant_columns]
            detail = f"; constant column(s): {', '.join(const)}" if const else ""
            warnings.warn(
                f"LinearRegression.fit: the design matrix has rank {native.rank} < {k} parameters "
                f"(collinear features{detail}); coefficients are the minimum-norm solution and "
                "individual coefficients are not identified",
                RankDeficientWarning,
                stacklevel=2,
            )
        return self

    def _sync(self):
        n = self._native
        self.coef_ = np.asarray(n.coef)
        self.intercept_ = float(n.intercept)
        self.rsquared_ = float(n.rsquared)
        self.rsquared_adj_ = float(n.rsquared_adj)
        self.fvalue_ = float(n.fvalue)
        self.f_pvalue_ = float(n.f_pvalue)
        self.aic_ = float(n.aic)
        self.bic_ = float(n.bic)
        self.loglike_ = float(n.loglike)
        self.resid_std_err_ = float(np.sqrt(n.scale))
        self.std_err_ = np.asarray(n.std_err)
        self.pvalues_ = np.asarray(n.p_value)
        self.nobs_ = int(n.nobs)
        self.df_model_ = float(n.df_model)
        self.df_resid_ = float(n.df_resid)
        self.rank_ = int(n.rank)

    def _terms(self):
        return (["const"] if self.fit_intercept else []) + self._feature_names()

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (under ``cov_type``)."""
        check_is_fitted(self)
        t = self._terms()
        return pd.DataFrame(np.asarray(self._native.cov), index=t, columns=t)

    def summary(self, alpha=0.05) -> pd.DataFrame:
        """Coefficient table indexed by term: coef, std_err, t, p_value, ci_low, ci_high.

        ``t`` is the Wald statistic coef / std_err (a z statistic when ``use_t`` is False);
        the confidence level is 1 - alpha.
        """
        check_is_fitted(self)
        _check_number(alpha, "alpha", "LinearRegression.summary", low=0, low_open=True)
        if alpha >= 1:
            raise ValueError(f"LinearRegression.summary: alpha must be in (0, 1), got {alpha!r}")
        n = self._native
        ci = np.asarray(n.conf_int(1 - alpha))
        df = pd.DataFrame(
            {"coef": np.asarray(n.params), "std_err": np.asarray(n.std_err), "t": np.asarray(n.t),
             "p_value": np.asarray(n.p_value), "ci_low": ci[:, 0], "ci_high": ci[:, 1]},
            index=pd.Index(self._terms(), name="term"),
        )
        df.attrs.update(self.fit_stats())
        return df

    def fit_stats(self) -> dict:
        """Model-level statistics (R^2, F, likelihood, information criteria, dfs)."""
        check_is_fitted(self)
        return {"nobs": self.nobs_, "df_model": self.df_model_, "df_resid": self.df_resid_,
                "rsquared": self.rsquared_, "rsquared_adj": self.rsquared_adj_, "fvalue": self.fvalue_,
                "f_pvalue": self.f_pvalue_, "loglike": self.loglike_, "aic": self.aic_, "bic": self.bic_,
                "resid_std_err": self.resid_std_err_, "cov_type": self.cov_type}

    def predict(self, X, interval=None, level=0.95):
        """Predictions; with ``interval="confidence"`` (the mean) or ``"prediction"`` (a new
        observation) a DataFrame with columns mean, se, lower, upper."""
        X = self._validate_predict(X)
        if interval is None:
            return np.asarray(self._native.predict(X))
        if interval not in ("confidence", "prediction"):
            raise ValueError(f"LinearRegression.predict: interval must be None, 'confidence' or 'prediction', "
                             f"got {interval!r}")
        _check_number(level, "level", "LinearRegression.predict", low=0, low_open=True)
        out = np.asarray(self._native.predict_interval(X, interval == "prediction", float(level)))
        return pd.DataFrame(out, columns=["mean", "se", "lower", "upper"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


# ------------------------------------------------------------------------------------
# Ridge


class Ridge(_Linear):
    """Ridge regression ``||y - Xb - b0||^2_w + alpha ||b||^2`` in closed form (primal
    when n >= p, dual otherwise). Same objective and coefficients as scikit-learn's Ridge."""

    _native_class = _r.Ridge

    def __init__(self, alpha=1.0, *, fit_intercept=True, n_jobs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None):
        where = "Ridge.fit"
        _check_number(self.alpha, "alpha", where, low=0)
        fi = check_bool(self.fit_intercept, "fit_intercept", where)
        X, y, w = self._validate_fit(X, y, sample_weight)
        native = _r.Ridge(float(self.alpha), fi, resolve_n_jobs(self.n_jobs, where))
        native.fit(X, y, w)
        self._native = native
        self._sync()
        return self

    def _sync(self):
        self.coef_ = np.asarray(self._native.coef)
        self.intercept_ = float(self._native.intercept)


class RidgeCV(_Linear):
    """Ridge with alpha chosen by efficient leave-one-out (``criterion="loo"``, exact,
    as scikit-learn's RidgeCV with cv=None) or generalized cross-validation ("gcv"), from
    one eigendecomposition for all alphas; or by ``cv`` folds (int or splitter).

    Attributes: ``alpha_``, ``best_score_`` (negative mean squared error),
    ``cv_errors_`` (mean squared error per alpha), ``coef_``, ``intercept_``.
    """

    _native_class = _r.Ridge

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept=True, criterion="loo", cv=None, n_jobs=None):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.criterion = criterion
        self.cv = cv
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None):
        where = "RidgeCV.fit"
        fi = check_bool(self.fit_intercept, "fit_intercept", where)
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
            raise ValueError(f"{where}: alphas must be a non-empty list of finite numbers > 0, got {self.alphas!r}")
        if self.criterion not in ("loo", "gcv"):
            raise ValueError(f"{where}: criterion must be 'loo' or 'gcv', got {self.criterion!r}")
        X, y, w = self._validate_fit(X, y, sample_weight)
        threads = resolve_n_jobs(self.n_jobs, where)
        if self.cv is None:
            errors, best, coef, intercept = _r.ridge_cv(X, y, w, alphas.tolist(), fi, self.criterion == "gcv",
                                                        threads)
            errors = np.asarray(errors)
        else:
            splitter = check_cv(self.cv)
            errors = np.zeros(alphas.size)
            for train, test in splitter.split(X, y):
                for a, alpha in enumerate(alphas):
                    m = _r.Ridge(float(alpha), fi, threads)
                    m.fit(np.ascontiguousarray(X[train]), y[train], None if w is None else w[train])
                    e = y[test] - np.asarray(m.predict(np.ascontiguousarray(X[test])))
                    wt = None if w is None else w[test]
                    errors[a] += np.average(e * e, weights=wt) / splitter.get_n_splits(X, y)
            best = int(np.argmin(errors))
        self.alpha_ = float(alphas[best])
        self.cv_errors_ = errors
        self.best_score_ = -float(errors[best])
        if self.cv is None:  # the spectral solution at alpha_ is the ridge fit
            native = _r.Ridge.from_solution(self.alpha_, fi, threads, np.asarray(coef), float(intercept))
        else:
            native = _r.Ridge(self.alpha_, fi, threads)
            native.fit(X, y, w)
        self._native = native
        self._sync()
        return self

    def _python_state(self):
        s = super()._python_state()
        if hasattr(self, "alpha_"):
            s["alpha_"] = self.alpha_
            s["best_score_"] = self.best_score_
            s["cv_errors_"] = [float(v) for v in self.cv_errors_]
        return s

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        if "alpha_" in state:
            self.alpha_ = float(state["alpha_"])
            self.best_score_ = float(state["best_score_"])
            self.cv_errors_ = np.asarray(state["cv_errors_"], dtype=float)

    def _sync(self):
        self.coef_ = np.asarray(self._native.coef)
        self.intercept_ = float(self._native.intercept)


# ------------------------------------------------------------------------------------
# Lasso / elastic net


_PRECOMPUTE = {"auto": "auto", True: "gram", False: "columns", "gram": "gram", "columns": "columns"}


def _precompute(value, where):
    try:
        return _PRECOMPUTE[value]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: precompute must be 'auto', True (Gram) or False (columns), got {value!r}") from None


def _enet_common(est, where):
    _check_number(est.max_iter, "max_iter", where, low=1, integer=True)
    _check_number(est.tol, "tol", where, low=0)
    return (check_bool(est.fit_intercept, "fit_intercept", where), _precompute(est.precompute, where),
            check_bool(est.screening, "screening", where), resolve_n_jobs(est.n_jobs, where))


class ElasticNet(_Linear):
    """Elastic net by coordinate descent (scikit-learn's objective and coefficients):
    ``1/(2 S) sum w (y - b0 - Xb)^2 + alpha l1_ratio |b|_1 + alpha (1 - l1_ratio)/2 |b|^2``.

    Gram ("covariance") updates when n > 2p (``precompute="auto"``), duality-gap stopping
    (``tol`` relative to the weighted sum of squares of y) and Gap-Safe screening.
    ``warm_start=True`` starts from the previous ``coef_``.
    """

    _native_class = _r.ElasticNet

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4,
                 precompute="auto", screening=True, warm_start=False, n_jobs=None):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.precompute = precompute
        self.screening = screening
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _l1(self):
        return self.l1_ratio

    def fit(self, X, y, sample_weight=None):
        where = f"{type(self).__name__}.fit"
        _check_number(self.alpha, "alpha", where, low=0)
        l1 = _check_number(self._l1(), "l1_ratio", where, low=0)
        if l1 > 1:
            raise ValueError(f"{where}: l1_ratio must be in [0, 1], got {l1!r}")
        fi, pre, scr, threads = _enet_common(self, where)
        X, y, w = self._validate_fit(X, y, sample_weight)
        start = None
        if check_bool(self.warm_start, "warm_start", where) and getattr(self, "coef_", None) is not None:
            if np.shape(self.coef_) == (X.shape[1],):
                start = np.ascontiguousarray(self.coef_, dtype=np.float64)
        native = _r.ElasticNet(float(self.alpha), float(l1), fi, int(self.max_iter), float(self.tol), pre, scr, threads)
        native.fit(X, y, w, start)
        self._native = native
        self._sync()
        if not native.converged:
            warnings.warn(f"{where}: coordinate descent did not converge in {self.max_iter} iterations "
                          f"(duality gap {native.dual_gap:.3g}); increase max_iter or tol", ConvergenceWarning,
                          stacklevel=2)
        return self

    def _sync(self):
        n = self._native
        self.coef_ = np.asarray(n.coef)
        self.intercept_ = float(n.intercept)
        self.n_iter_ = int(n.n_iter)
        self.dual_gap_ = float(n.dual_gap)


class Lasso(ElasticNet):
    """Lasso: :class:`ElasticNet` with ``l1_ratio = 1``."""

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4, precompute="auto",
                 screening=True, warm_start=False, n_jobs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.precompute = precompute
        self.screening = screening
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _l1(self):
        return 1.0


def _path_args(X, y, where, sample_weight=None):
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64))
    if X.ndim != 2:
        raise ValueError(f"{where}: X must be 2-dimensional, got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be 1-dimensional, got shape {y.shape}")
    w = None if sample_weight is None else np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64))
    return X, y, w


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None, fit_intercept=False,
              sample_weight=None, max_iter=1000, tol=1e-4, precompute="auto", screening=True, n_jobs=None):
    """Elastic-net solutions along a decreasing alpha grid, with warm starts.

    Returns ``(alphas, coefs, dual_gaps)`` like scikit-learn: alphas descending,
    coefs of shape (n_features, n_alphas). As in scikit-learn, the data are used as
    given (``fit_intercept=False``); pass ``fit_intercept=True`` to centre them.
    """
    where = "enet_path"
    X, y, w = _path_args(X, y, where, sample_weight)
    if alphas is None:
        _check_number(n_alphas, "n_alphas", where, low=1, integer=True)
        alphas = _r.alpha_grid(X, y, w, float(l1_ratio), bool(fit_intercept), float(eps), int(n_alphas))
    alphas = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
    if alphas.size == 0 or np.any(~np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(f"{where}: alphas must be finite numbers >= 0")
    coefs, _, gaps, _, conv = _r.enet_path(X, y, w, alphas.tolist(), float(l1_ratio), bool(fit_intercept),
                                           int(max_iter), float(tol), _precompute(precompute, where),
                                           bool(screening), resolve_n_jobs(n_jobs, where))
    if not all(conv):
        warnings.warn(f"{where}: coordinate descent did not converge for some alphas; increase max_iter",
                      ConvergenceWarning, stacklevel=2)
    return alphas, np.asarray(coefs).T, np.asarray(gaps)


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, **kwargs):
    """Lasso solutions along a decreasing alpha grid (:func:`enet_path` with l1_ratio=1)."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, **kwargs)


class ElasticNetCV(_Linear):
    """Elastic net with alpha (and l1_ratio) chosen by cross-validation.

    The alpha grid per l1_ratio follows scikit-learn (``alphas`` int = number of
    log-spaced values from alpha_max down to ``eps * alpha_max``, or an explicit list);
    folds come from ``cv`` (None = 5-fold KFold, int, or any scikit-learn splitter); all
    (fold, l1_ratio) paths run natively on ``n_jobs`` threads. The best pair minimises the
    mean test MSE; the model is then refitted on all data.

    Attributes: ``alpha_``, ``l1_ratio_``, ``alphas_``, ``mse_path_`` (n_l1, n_alphas,
    n_folds; squeezed to (n_alphas, n_folds) for one l1_ratio), ``coef_``, ``intercept_``,
    ``dual_gap_``, ``n_iter_``.
    """

    _native_class = _r.ElasticNet

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4,
                 cv=None, precompute="auto", screening=True, n_jobs=None):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.precompute = precompute
        self.screening = screening
        self.n_jobs = n_jobs

    def _l1_ratios(self):
        return np.atleast_1d(np.asarray(self.l1_ratio, dtype=np.float64))

    def fit(self, X, y, sample_weight=None):
        where = f"{type(self).__name__}.fit"
        fi, pre, scr, threads = _enet_common(self, where)
        l1s = self._l1_ratios()
        if l1s.ndim != 1 or l1s.size == 0 or np.any(~np.isfinite(l1s)) or np.any(l1s < 0) or np.any(l1s > 1):
            raise ValueError(f"{where}: l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        X, y, w = self._validate_fit(X, y, sample_weight)
        if isinstance(self.alphas, numbers.Integral) and not isinstance(self.alphas, bool):
            _check_number(self.alphas, "alphas", where, low=1, integer=True)
            _check_number(self.eps, "eps", where, low=0, low_open=True)
            if np.any(l1s <= 0):
                raise ValueError(f"{where}: l1_ratio must be > 0 to build the alpha grid; pass alphas explicitly")
            grid = np.array([_r.alpha_grid(X, y, w, float(l1), fi, float(self.eps), int(self.alphas)) for l1 in l1s])
        else:
            a = np.sort(np.asarray(self.alphas, dtype=np.float64).ravel())[::-1]
            if a.size == 0 or np.any(~np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"{where}: alphas must be an int or a list of finite numbers >= 0")
            grid = np.tile(a, (l1s.size, 1))
        splitter = check_cv(self.cv)
        folds = list(splitter.split(X, y))
        train = [np.asarray(tr, dtype=np.int64) for tr, _ in folds]
        test = [np.asarray(te, dtype=np.int64) for _, te in folds]
        mse, converged = _r.enet_cv(X, y, w, train, test, l1s.tolist(), np.ascontiguousarray(grid), fi,
                                    int(self.max_iter), float(self.tol), pre, scr, threads)
        if not converged:
            warnings.warn(f"{where}: coordinate descent did not converge on some folds; increase max_iter",
                          ConvergenceWarning, stacklevel=2)
        mse = np.stack([np.asarray(m) for m in mse])  # n_l1 x n_alphas x n_folds
        mean = mse.mean(axis=2)
        li, ai = np.unravel_index(int(np.argmin(mean)), mean.shape)
        self.l1_ratio_ = float(l1s[li])
        self.alpha_ = float(grid[li, ai])
        self.alphas_ = grid[0] if l1s.size == 1 else grid
        self.mse_path_ = mse[0] if l1s.size == 1 else mse
        native = _r.ElasticNet(self.alpha_, self.l1_ratio_, fi, int(self.max_iter), float(self.tol), pre, scr, threads)
        native.fit(X, y, w, None)
        self._native = native
        self._sync()
        return self

    def _python_state(self):
        s = super()._python_state()
        if hasattr(self, "alpha_"):
            s.update(alpha_=self.alpha_, l1_ratio_=self.l1_ratio_, alphas_=np.asarray(self.alphas_).tolist(),
                     mse_path_=np.asarray(self.mse_path_).tolist())
        return s

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        if "alpha_" in state:
            self.alpha_ = float(state["alpha_"])
            self.l1_ratio_ = float(state["l1_ratio_"])
            self.alphas_ = np.asarray(state["alphas_"], dtype=float)
            self.mse_path_ = np.asarray(state["mse_path_"], dtype=float)

    def _sync(self):
        n = self._native
        self.coef_ = np.asarray(n.coef)
        self.intercept_ = float(n.intercept)
        self.n_iter_ = int(n.n_iter)
        self.dual_gap_ = float(n.dual_gap)


class LassoCV(ElasticNetCV):
    """Lasso with alpha chosen by cross-validation (:class:`ElasticNetCV`, l1_ratio = 1)."""

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4, cv=None,
                 precompute="auto", screening=True, n_jobs=None):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.precompute = precompute
        self.screening = screening
        self.n_jobs = n_jobs

    def _l1_ratios(self):
        return np.array([1.0])


# ------------------------------------------------------------------------------------
# GLMs


class _GLMBase(_Linear):
    _native_class = _r.GLM
    _power_fixed = None

    def _power(self):
        return self._power_fixed

    def _link(self):
        return "auto"

    def fit(self, X, y, sample_weight=None):
        where = f"{type(self).__name__}.fit"
        _check_number(self.alpha, "alpha", where, low=0)
        fi = check_bool(self.fit_intercept, "fit_intercept", where)
        _check_number(self.max_iter, "max_iter", where, low=1, integer=True)
        _check_number(self.tol, "tol", where, low=0, low_open=True)
        power = _check_number(self._power(), "power", where)
        X, y, w = self._validate_fit(X, y, sample_weight)
        native = _r.GLM(float(power), self._link(), float(self.alpha), fi, int(self.max_iter), float(self.tol),
                        resolve_n_jobs(self.n_jobs, where))
        native.fit(X, y, w)
        self._native = native
        self._sync()
        if not native.converged:
            warnings.warn(f"{where}: IRLS did not converge in {self.max_iter} iterations; increase max_iter",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _sync(self):
        n = self._native
        self.coef_ = np.asarray(n.coef)
        self.intercept_ = float(n.intercept)
        self.n_iter_ = int(n.n_iter)
        self.deviance_ = float(n.deviance)
        self.null_deviance_ = float(n.null_deviance)
        self.scale_ = float(n.scale)
        self.loglike_ = float(n.loglike)
        self.aic_ = float(n.aic)
        self.bic_ = float(n.bic)

    def score(self, X, y, sample_weight=None):
        """D^2, the fraction of deviance explained (scikit-learn's GLM score)."""
        pred = self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        return metrics.d2_tweedie_score(y, pred, power=float(self._power()), sample_weight=sample_weight)

    def summary(self, alpha=0.05) -> pd.DataFrame:
        """statsmodels-GLM-style coefficient table (Wald z tests) for unpenalized fits:
        coef, std_err, z, p_value, ci_low, ci_high indexed by term."""
        check_is_fitted(self)
        if self.alpha != 0:
            raise ValueError(f"{type(self).__name__}.summary: inference needs an unpenalized fit (alpha=0), "
                             f"this model has alpha={self.alpha!r}")
        _check_number(alpha, "alpha", "summary", low=0, low_open=True)
        n = self._native
        ci = np.asarray(n.conf_int(1 - alpha))
        terms = (["const"] if self.fit_intercept else []) + self._feature_names()
        df = pd.DataFrame(
            {"coef": np.asarray(n.params), "std_err": np.asarray(n.std_err), "z": np.asarray(n.z),
             "p_value": np.asarray(n.p_value), "ci_low": ci[:, 0], "ci_high": ci[:, 1]},
            index=pd.Index(terms, name="term"),
        )
        df.attrs.update(nobs=int(n.nobs), df_model=n.df_model, df_resid=n.df_resid, scale=n.scale,
                        deviance=n.deviance, null_deviance=n.null_deviance, pearson_chi2=n.pearson_chi2,
                        loglike=n.loglike, aic=n.aic, bic=n.bic)
        return df

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class PoissonRegressor(_GLMBase):
    """Poisson GLM with log link (purchase counts); L2 penalty ``alpha`` (sklearn's scaling)."""

    _power_fixed = 1.0

    def __init__(self, *, alpha=1.0, fit_intercept=True, max_iter=100, tol=1e-4, n_jobs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs


class GammaRegressor(_GLMBase):
    """Gamma GLM with log link (positive spend); L2 penalty ``alpha`` (sklearn's scaling)."""

    _power_fixed = 2.0

    def __init__(self, *, alpha=1.0, fit_intercept=True, max_iter=100, tol=1e-4, n_jobs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs


class TweedieRegressor(_GLMBase):
    """Tweedie GLM: power 0 Normal, 1 Poisson, (1, 2) compound Poisson-Gamma (spend with
    exact zeros), 2 Gamma, 3 inverse Gaussian; link "auto" (identity for power 0, else
    log), "log" or "identity"."""

    def __init__(self, *, power=0.0, alpha=1.0, fit_intercept=True, link="auto", max_iter=100, tol=1e-4,
                 n_jobs=None):
        self.power = power
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.link = link
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs

    def _power(self):
        return self.power

    def _link(self):
        if self.link not in ("auto", "log", "identity"):
            raise ValueError(f"TweedieRegressor.fit: link must be 'auto', 'log' or 'identity', got {self.link!r}")
        return self.link

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        p = self.power if isinstance(self.power, numbers.Real) else 0
        tags.target_tags.positive_only = p > 0
        return tags


# ------------------------------------------------------------------------------------
# Customer spend features (calibration -> holdout)


def spend_features(transactions, cutoff, *, horizon_days=None, customer="CustomerID", date="InvoiceDate",
                   order="InvoiceNo", quantity="Quantity", price="UnitPrice") -> pd.DataFrame:
    """Per-customer RFM-like features from the calibration period (dates < cutoff) and the
    spend of the following ``horizon_days`` (default: to the last date) as ``next_spend``.

    Columns: recency_days, frequency (distinct orders), monetary (net spend), avg_order,
    tenure_days, log_monetary, next_spend (0 when the customer did not buy). Only customers
    active in the calibration period are kept; rows without a customer are dropped.
    """
    where = "spend_features"
    df = transactions
    for col in (customer, date, order, quantity, price):
        if col not in df.columns:
            raise ValueError(f"{where}: column {col!r} is missing")
    cutoff = pd.Timestamp(cutoff)
    df = df.loc[df[customer].notna(), [customer, date, order, quantity, price]].copy()
    df["amount"] = df[quantity].to_numpy(dtype=float) * df[price].to_numpy(dtype=float)
    cal = df[df[date] < cutoff]
    end = df[date].max() if horizon_days is None else cutoff + pd.Timedelta(days=horizon_days)
    hold = df[(df[date] >= cutoff) & (df[date] < end + pd.Timedelta(seconds=1))]
    if cal.empty:
        raise ValueError(f"{where}: no transactions before the cutoff {cutoff.date()}")
    g = cal.groupby(customer)
    feats = pd.DataFrame({
        "recency_days": (cutoff - g[date].max()).dt.days.astype(float),
        "frequency": g[order].nunique().astype(float),
        "monetary": g["amount"].sum(),
        "tenure_days": (cutoff - g[date].min()).dt.days.astype(float),
    })
    feats["avg_order"] = feats["monetary"] / feats["frequency"]
    feats["log_monetary"] = np.log1p(feats["monetary"].clip(lower=0))
    nxt = hold.groupby(customer)["amount"].sum().clip(lower=0)
    feats["next_spend"] = nxt.reindex(feats.index).fillna(0.0)
    return feats


# ------------------------------------------------------------------------------------
# Plots (matplotlib imported on first use)


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_residuals(model, X, y, ax=None):
    """Residuals against fitted values, with a zero line."""
    ax = _ax(ax)
    fitted = model.predict(X)
    resid = np.asarray(y, dtype=float) - fitted
    ax.scatter(fitted, resid, s=8, alpha=0.6)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("fitted")
    ax.set_ylabel("residual")
    ax.set_title("Residuals vs fitted")
    return ax


def plot_qq(model, X, y, ax=None):
    """Normal Q-Q plot of the standardized residuals."""
    from statistics import NormalDist

    ax = _ax(ax)
    resid = np.asarray(y, dtype=float) - model.predict(X)
    z = np.sort((resid - resid.mean()) / resid.std(ddof=1))
    n = z.size
    q = np.array([NormalDist().inv_cdf((i + 0.625) / (n + 0.25)) for i in range(n)])  # Blom positions
    ax.scatter(q, z, s=8, alpha=0.6)
    lim = [min(q.min(), z.min()), max(q.max(), z.max())]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set_xlabel("theoretical quantile")
    ax.set_ylabel("standardized residual")
    ax.set_title("Normal Q-Q")
    return ax


def plot_coef_path(alphas, coefs, feature_names=None, ax=None):
    """Coefficient paths (coefs: n_features x n_alphas, as returned by lasso_path)."""
    ax = _ax(ax)
    coefs = np.asarray(coefs)
    names = feature_names if feature_names is not None else [f"x{i}" for i in range(coefs.shape[0])]
    for j in range(coefs.shape[0]):
        ax.plot(np.asarray(alphas), coefs[j], label=str(names[j]))
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("alpha")
    ax.set_ylabel("coefficient")
    ax.set_title("Coefficient path")
    if coefs.shape[0] <= 12:
        ax.legend(fontsize=7)
    return ax


def plot_actual_vs_predicted(y_true, y_pred, ax=None):
    """Actual against predicted values with the identity line."""
    ax = _ax(ax)
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    ax.scatter(y_pred, y_true, s=8, alpha=0.6)
    lim = [min(y_true.min(), y_pred.min()), max(y_true.max(), y_pred.max())]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title("Actual vs predicted")
    return ax


# ------------------------------------------------------------------------------------
# Demo section


def demo_report(out_dir) -> str:
    """Markdown section for ``custmine demo``: next-period spend with a Tweedie GLM
    (calibration until 2011-09-01, holdout to the end) and an OLS summary table."""
    from pathlib import Path

    from ._report import markdown_table
    from .datasets import load_online_retail

    out_dir = Path(out_dir)
    tx = load_online_retail()
    cutoff = pd.Timestamp("2011-09-01")
    feats = spend_features(tx, cutoff)
    cols = ["recency_days", "frequency", "log_monetary", "tenure_days"]
    X, y = feats[cols], feats["next_spend"].to_numpy()
    # Train on customers with an even id, evaluate on the others (same periods).
    ids = feats.index.to_numpy()
    train = (ids.astype(np.int64) % 2) == 0
    glm = TweedieRegressor(power=1.5, alpha=0.0, max_iter=300).fit(X[train], y[train])
    pred = glm.predict(X[~train])
    base = np.full((~train).sum(), y[train].mean())
    rows = pd.DataFrame(
        {"MAE": [metrics.mean_absolute_error(y[~train], pred), metrics.mean_absolute_error(y[~train], base)],
         "RMSE": [metrics.root_mean_squared_error(y[~train], pred),
                  metrics.root_mean_squared_error(y[~train], base)],
         "Tweedie deviance (p=1.5)": [metrics.mean_tweedie_deviance(y[~train], pred, power=1.5),
                                      metrics.mean_tweedie_deviance(y[~train], base, power=1.5)]},
        index=pd.Index(["Tweedie GLM", "mean spend"], name="model"),
    )
    ols = LinearRegression(cov_type="HC1").fit(X, np.log1p(y))
    table = ols.summary()
    fmt4 = {c: "{:.4f}".format for c in table.columns}
    try:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 4))
        plot_actual_vs_predicted(y[~train], pred, ax=axes[0])
        plot_residuals(ols, X, np.log1p(y), ax=axes[1])
        fig.tight_layout()
        out_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_dir / "regression.png", dpi=90)
        plt.close(fig)
        chart = ["", "![regression](regression.png)"]
    except ImportError:  # pragma: no cover - matplotlib is optional
        chart = []
    lines = [
        "## Spend prediction (Tweedie GLM and OLS)",
        "",
        f"Features from the calibration period (before {cutoff.date()}) for {len(feats):,} customers; "
        f"target = spend from {cutoff.date()} to {tx['InvoiceDate'].max().date()} "
        f"({(y == 0).mean():.0%} spent nothing). Tweedie GLM (power 1.5, log link) fitted on half the "
        "customers, scored on the other half:",
        "",
        markdown_table(rows, {c: "{:,.1f}".format for c in rows.columns}),
        "",
        f"Deviance explained (D², holdout): {metrics.d2_tweedie_score(y[~train], pred, power=1.5):.3f}.",
        "",
        "### OLS: log(1 + next spend) on the same features (HC1 robust standard errors)",
        "",
        markdown_table(table, fmt4),
        "",
        f"R² = {ols.rsquared_:.3f}, adj. R² = {ols.rsquared_adj_:.3f}, F = {ols.fvalue_:.1f} "
        f"(p = {ols.f_pvalue_:.2g}), n = {ols.nobs_}, AIC = {ols.aic_:.1f}.",
        *chart,
    ]
    return "\n".join(lines)
