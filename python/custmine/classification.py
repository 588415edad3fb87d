"""Classification: logistic regression and naive Bayes on the native core.

``LogisticRegression`` (binary and multinomial; penalties none / l2 / l1 / elasticnet;
Newton-Cholesky, L-BFGS and coordinate-descent solvers; ``summary()`` with standard
errors, Wald tests and odds ratios), ``GaussianNB`` and ``CategoricalNB`` (with
``partial_fit``). All are scikit-learn estimators (clone, Pipeline, GridSearchCV,
pandas in) with JSON save/load and pickling.

``demo_report(out_dir)`` writes the response-model section of ``custmine demo``: whom
to call in the bank's term-deposit campaign.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from ._base import NativeModelMixin, ProbaClassifierMixin, resolve_n_jobs, validate_X

__all__ = ["LogisticRegression", "GaussianNB", "CategoricalNB", "demo_report"]

_nc = _core.classification


def _encode_y(est, y, where, checked=False):
    if not checked:  # the caller may have run it already: it finds the unique labels twice
        check_classification_targets(y)
    y = np.asarray(y)
    if y.dtype.kind == "O" and pd.isna(y).any():
        raise ValueError(f"{where}: y has a missing label")
    if y.dtype.kind in "biuf":
        # hashing instead of np.unique's sort: the same sorted classes and codes in O(n)
        codes, classes = pd.factorize(y.ravel(), sort=True)
        return np.asarray(classes, dtype=y.dtype), np.ascontiguousarray(codes, dtype=np.int64)
    classes, codes = np.unique(y, return_inverse=True)
    return classes, np.ascontiguousarray(codes, dtype=np.int64)


def _labels_state(classes):
    return {"values": classes.tolist(), "dtype": str(classes.dtype)}


def _labels_restore(state):
    dtype = state.get("dtype", "object")
    try:
        return np.asarray(state["values"], dtype=dtype)
    except (TypeError, ValueError):
        return np.asarray(state["values"], dtype=object)


def _check_real(value, name, where, *, positive=False, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{where}: {name} must be positive, got {value!r}")
    if low is not None and value < low or high is not None and value > high:
        raise ValueError(f"{where}: {name} must be in [{low}, {high}], got {value!r}")


def _check_int(value, name, where, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")


class _ClassifierBase(ProbaClassifierMixin, ClassifierMixin, NativeModelMixin, BaseEstimator):
    """The Python-side state of the classifiers (predict comes from ProbaClassifierMixin)."""

    def _python_state(self) -> dict:
        state = super()._python_state()
        state["classes_"] = _labels_state(self.classes_)
        return state

    def _restore_python_state(self, state: dict) -> None:
        super()._restore_python_state(state)
        if "classes_" not in state:
            raise ValueError(f"{type(self).__name__}.from_json: the document has no 'python.classes_' field")
        self.classes_ = _labels_restore(state["classes_"])
        self._sync_from_native()

    def __setstate__(self, state):
        super().__setstate__(state)
        if self._native is not None:
            self._sync_from_native()

    def _sync_from_native(self):  # pragma: no cover - overridden
        pass


# ---------------------------------------------------------------------------------
# Logistic regression


class LogisticRegression(_ClassifierBase):
    """Logistic regression, binary or multinomial, with scikit-learn's objective.

    Minimises ``C * sum_i w_i loss_i + penalty(coef)`` (the intercept is not penalised)
    so that ``coef_`` equals scikit-learn's ``LogisticRegression`` for the same ``C``.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", "none"}, default="l2"
        ``l2``: ``||coef||^2 / 2``; ``l1``: ``||coef||_1``; ``elasticnet``:
        ``l1_ratio ||coef||_1 + (1 - l1_ratio) ||coef||^2 / 2``; ``none``: unpenalised
        (``C`` is ignored; needed for :meth:`summary`).
    C : float, default=1.0
        Inverse regularisation strength, > 0.
    l1_ratio : float, default=0.5
        Elastic-net mixing in [0, 1] (used by ``penalty="elasticnet"`` only).
    solver : {"auto", "newton-cholesky", "lbfgs", "cd"}, default="auto"
        ``auto``: for smooth penalties L-BFGS while its rate of convergence (read from the
        gradient norms, so the choice is deterministic) beats the predicted cost of finishing
        with Newton-Cholesky, then Newton-Cholesky from there (L-BFGS throughout when the
        number of parameters exceeds 1000); coordinate descent (``cd``) for ``l1`` /
        ``elasticnet``.
    fit_intercept : bool, default=True
    class_weight : dict, "balanced" or None
        Multiplies the sample weights of each class (``balanced``: n / (k * count)).
    tol : float, default=1e-4
        Stop when the largest absolute (sub)gradient of the per-sample objective is at
        most ``tol`` (scikit-learn's criterion for lbfgs / newton-cholesky).
    max_iter : int, default=100
    n_jobs : int or None
        Threads for the gradient / Hessian sums (results do not depend on it).

    Attributes
    ----------
    classes_, coef_ (1 x p binary, k x p multinomial), intercept_, n_iter_ (array of
    one value), n_features_in_, feature_names_in_, solver_ (solver used).
    """

    _native_class = _nc.LogisticRegression

    def __init__(self, penalty="l2", *, C=1.0, l1_ratio=0.5, solver="auto", fit_intercept=True, class_weight=None,
                 tol=1e-4, max_iter=100, n_jobs=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    def _make_native(self):
        where = "LogisticRegression"
        if self.penalty not in ("l2", "l1", "elasticnet", "none", None):
            raise ValueError(f"{where}: penalty must be 'l2', 'l1', 'elasticnet' or 'none', got {self.penalty!r}")
        penalty = "none" if self.penalty is None else self.penalty
        if penalty != "none":
            _check_real(self.C, "C", where, positive=True)
        _check_real(self.l1_ratio, "l1_ratio", where, low=0.0, high=1.0)
        _check_real(self.tol, "tol", where, positive=True)
        _check_int(self.max_iter, "max_iter", where)
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"{where}: fit_intercept must be a bool, got {self.fit_intercept!r}")
        if self.solver not in ("auto", "lbfgs", "newton-cholesky", "cd"):
            raise ValueError(f"{where}: solver must be 'auto', 'lbfgs', 'newton-cholesky' or 'cd', got {self.solver!r}")
        C = float(self.C) if penalty != "none" else 1.0
        return _nc.LogisticRegression(penalty, C, float(self.l1_ratio), self.solver, bool(self.fit_intercept),
                                      float(self.tol), int(self.max_iter), resolve_n_jobs(self.n_jobs))

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n x p, numeric, finite) and labels y (at least two classes)."""
        where = "LogisticRegression.fit"
        native = self._make_native()
        if y is None:
            raise ValueError(f"{where}: requires y to be passed, but the target y is None")
        X, y = validate_X(self, X, y=y, reset=True)
        classes, codes = _encode_y(self, y, where)
        if classes.shape[0] < 2:
            raise ValueError(f"{where}: y holds one class only ({classes[0]!r}); a classifier needs at least two classes")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            try:  # scikit-learn >= 1.7 counts "balanced" classes with the sample weights
                cw = compute_class_weight(self.class_weight, classes=classes, y=y, sample_weight=sw)
            except TypeError:  # pragma: no cover - older scikit-learn
                cw = compute_class_weight(self.class_weight, classes=classes, y=y)
            sw = sw * cw[codes]
        native.fit(X, codes, int(classes.shape[0]), np.ascontiguousarray(sw))
        self.classes_ = classes
        self._native = native
        self._sync_from_native()
        if not native.converged:
            warnings.warn(
                f"LogisticRegression did not converge in {self.max_iter} iterations (largest gradient "
                f"{native.gradient_norm:.3g} > tol={self.tol}); raise max_iter, scale the features or "
                "add regularisation (smaller C)", ConvergenceWarning, stacklevel=2)
        return self

    def _sync_from_native(self):
        n = self._native
        self.coef_ = np.asarray(n.coef)
        self.intercept_ = np.asarray(n.intercept)
        self.n_iter_ = np.array([n.n_iter], dtype=np.int32)
        self.solver_ = n.solver_used

    def _predict_X(self, X):
        check_is_fitted(self)
        # No scan for NaN / inf here: the core reads it off the scores, naming the entry.
        return validate_X(self, X, reset=False, ensure_all_finite=False)

    def decision_function(self, X):
        """Linear scores: 1-D (positive class) for binary models, n x k otherwise."""
        X = self._predict_X(X)
        Z = np.asarray(self._native.decision_function(X))
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X):
        """Class probabilities, n x k in the order of ``classes_``."""
        X = self._predict_X(X)
        return np.asarray(self._native.predict_proba(X))

    def predict(self, X):
        X = self._predict_X(X)
        return self.classes_[np.asarray(self._native.predict(X))]

    def summary(self, alpha=0.05) -> pd.DataFrame:
        """statsmodels-style coefficient table of an unpenalised fit.

        Index: ``const`` (when fitted with an intercept) and the feature names; for more than
        two classes a (class, term) MultiIndex with one block per class against the first
        class ``classes_[0]`` (statsmodels' MNLogit parameterisation; odds ratios are then
        relative risk ratios against that class). Columns:
        ``coef``, ``std_err`` (from the inverse observed information), ``z``, ``p_value``
        (two-sided Wald test), ``ci_low`` / ``ci_high`` (1 - alpha Wald interval),
        ``odds_ratio`` = exp(coef) and ``or_ci_low`` / ``or_ci_high``. Sample weights
        act as frequency weights.
        """
        check_is_fitted(self)
        _check_real(alpha, "alpha", "LogisticRegression.summary", low=0.0, high=1.0)
        d = self._native.inference(float(alpha))
        names = (list(map(str, self.feature_names_in_)) if hasattr(self, "feature_names_in_")
                 else [f"x{j}" for j in range(self.n_features_in_)])
        terms = (["const"] if self.fit_intercept else []) + names
        if len(self.classes_) > 2:
            # one block per class against classes_[0], as statsmodels' MNLogit
            index = pd.MultiIndex.from_product([list(self.classes_[1:]), terms], names=["class", "term"])
        else:
            index = pd.Index(terms, name="term")
        t = pd.DataFrame({k: d[k] for k in ("coef", "std_err", "z", "p_value", "ci_low", "ci_high")}, index=index)
        t["odds_ratio"] = np.exp(t["coef"])
        t["or_ci_low"] = np.exp(t["ci_low"])
        t["or_ci_high"] = np.exp(t["ci_high"])
        return t

    def _python_state(self) -> dict:
        state = super()._python_state()
        if isinstance(state["params"].get("class_weight"), dict):  # JSON keys must be strings
            state["params"].pop("class_weight")
        return state


# ---------------------------------------------------------------------------------
# Naive Bayes


class _NaiveBayes(_ClassifierBase):
    """fit / partial_fit / predict_proba shared by the naive Bayes models."""

    def _make_native(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _fit(self, X, y, sample_weight, classes, partial):
        where = f"{type(self).__name__}.{'partial_fit' if partial else 'fit'}"
        first = not partial or not hasattr(self, "classes_") or getattr(self, "_native", None) is None
        if first:
            native = self._make_native()
        if y is None:
            raise ValueError(f"{where}: requires y to be passed, but the target y is None")
        X, y = validate_X(self, X, y=y, reset=first)
        check_classification_targets(y)
        y = np.asarray(y)
        if partial:
            if first:
                if classes is None:
                    raise ValueError(f"{where}: classes must be passed on the first call to partial_fit")
                known = np.unique(np.asarray(classes))
            else:
                known = self.classes_
                if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), known):
                    raise ValueError(f"{where}: classes={classes!r} differs from the first call's {known.tolist()}")
            codes = np.searchsorted(known, y)
            codes = np.clip(codes, 0, known.shape[0] - 1)
            bad = known[codes] != y
            if bad.any():
                raise ValueError(f"{where}: y holds label {y[bad][0]!r} not in classes {known.tolist()}")
            codes = np.ascontiguousarray(codes, dtype=np.int64)
        else:
            known, codes = _encode_y(self, y, where, checked=True)
            if known.shape[0] < 2:
                raise ValueError(f"{where}: y holds one class only ({known[0]!r}); a classifier needs at least two classes")
        X = self._check_X(X, where)
        sw = None if sample_weight is None else np.ascontiguousarray(_check_sample_weight(sample_weight, X, dtype=np.float64))
        target = native if first else self._native
        target.fit(X, codes, int(known.shape[0]), sw, bool(partial))
        self.classes_ = known
        self._native = target
        self._sync_from_native()
        return self

    def _check_X(self, X, where):
        return X

    def fit(self, X, y, sample_weight=None):
        """Fit from scratch."""
        return self._fit(X, y, sample_weight, None, partial=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Add a batch; ``classes`` (every label) is required on the first call."""
        return self._fit(X, y, sample_weight, classes, partial=True)

    def predict_joint_log_proba(self, X):
        """log P(x, class) per row and class."""
        check_is_fitted(self)
        X = self._check_X(validate_X(self, X, reset=False), f"{type(self).__name__}.predict")
        return np.asarray(self._native.joint_log_likelihood(X))

    def predict_proba(self, X):
        check_is_fitted(self)
        X = self._check_X(validate_X(self, X, reset=False), f"{type(self).__name__}.predict_proba")
        return np.asarray(self._native.predict_proba(X))

    def predict_log_proba(self, X):
        from scipy.special import logsumexp

        jll = self.predict_joint_log_proba(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)


class GaussianNB(_NaiveBayes):
    """Gaussian naive Bayes (scikit-learn's parametrisation).

    Parameters
    ----------
    priors : array of shape (n_classes,) or None
        Class priors; None uses the class frequencies.
    var_smoothing : float, default=1e-9
        Share of the largest feature variance added to every variance.
    n_jobs : int or None
        Threads for prediction.

    Attributes: classes_, class_count_, class_prior_, theta_, var_, epsilon_.
    """

    _native_class = _nc.GaussianNB

    def __init__(self, *, priors=None, var_smoothing=1e-9, n_jobs=None):
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.n_jobs = n_jobs

    def _make_native(self):
        _check_real(self.var_smoothing, "var_smoothing", "GaussianNB", low=0.0)
        priors = [] if self.priors is None else [float(v) for v in np.asarray(self.priors, dtype=np.float64).ravel()]
        return _nc.GaussianNB(float(self.var_smoothing), priors, resolve_n_jobs(self.n_jobs))

    def _sync_from_native(self):
        n = self._native
        self.theta_ = np.asarray(n.theta)
        self.var_ = np.asarray(n.var)
        self.class_count_ = np.asarray(n.class_count)
        self.class_prior_ = np.asarray(n.class_prior)
        self.epsilon_ = float(n.epsilon)

    def _python_state(self):
        state = super()._python_state()
        if state["params"].get("priors") is None and self.priors is not None:
            state["params"]["priors"] = [float(v) for v in np.asarray(self.priors).ravel()]
        return state


class CategoricalNB(_NaiveBayes):
    """Naive Bayes for categorical features coded 0..m_j-1 (e.g. by OrdinalEncoder).

    Parameters
    ----------
    alpha : float, default=1.0
        Additive (Laplace / Lidstone) smoothing; values below 1e-10 act as 1e-10.
    fit_prior : bool, default=True
        Learn class priors (else uniform), unless ``class_prior`` is given.
    class_prior : array or None
    min_categories : int, array or None
        Categories to reserve per feature (codes unseen in training then get the
        smoothed probability instead of an error at predict).
    n_jobs : int or None

    Attributes: classes_, class_count_, class_log_prior_, category_count_ (list of
    k x m_j arrays), feature_log_prob_, n_categories_.
    """

    _native_class = _nc.CategoricalNB

    def __init__(self, *, alpha=1.0, fit_prior=True, class_prior=None, min_categories=None, n_jobs=None):
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.min_categories = min_categories
        self.n_jobs = n_jobs

    def _make_native(self):
        _check_real(self.alpha, "alpha", "CategoricalNB", low=0.0)
        prior = [] if self.class_prior is None else [float(v) for v in np.asarray(self.class_prior, dtype=np.float64).ravel()]
        if self.min_categories is None:
            mc = []
        else:
            a = np.atleast_1d(np.asarray(self.min_categories))
            if a.dtype.kind not in "iu" or (a < 1).any():
                raise ValueError(f"CategoricalNB: min_categories must be positive integers, got {self.min_categories!r}")
            mc = [int(v) for v in a]
        return _nc.CategoricalNB(float(self.alpha), bool(self.fit_prior), prior, mc, resolve_n_jobs(self.n_jobs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def _check_X(self, X, where):
        if (X < 0).any() or (X != np.floor(X)).any():
            raise ValueError(f"{where}: X must hold non-negative integer category codes (use OrdinalEncoder)")
        return X

    def _sync_from_native(self):
        n = self._native
        self.class_count_ = np.asarray(n.class_count)
        self.class_log_prior_ = np.asarray(n.class_log_prior)
        self.category_count_ = [np.asarray(c) for c in n.category_count]
        self.feature_log_prob_ = [np.asarray(c) for c in n.feature_log_prob]
        self.n_categories_ = np.asarray([c.shape[1] for c in self.category_count_], dtype=np.int64)

    def _python_state(self):
        state = super()._python_state()
        for k in ("class_prior", "min_categories"):
            v = getattr(self, k)
            if v is not None and state["params"].get(k) is None:
                state["params"][k] = np.asarray(v).tolist()
        return state


# ---------------------------------------------------------------------------------
# Demo: whom to call in the term-deposit campaign


def demo_report(out_dir, *, cost_per_call=5.0, revenue_per_subscription=50.0, plots=True) -> str:
    """Response-model section of ``custmine demo`` (markdown).

    Fits a logistic response model on the first 75 % of the bank-marketing calls (the
    file is in date order, so this is an honest forward-in-time test), scores the last
    25 %, and reports the ROC AUC, the decile gains table and the profit-optimal number
    of calls for the given cost per call and revenue per subscription (illustrative
    figures, not from the source). Writes ``response_gains.png`` and
    ``response_profit.png`` to ``out_dir`` when ``plots``.
    """
    from pathlib import Path

    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from .datasets.bank_marketing import load_bank_marketing
    from .metrics import gains_table, profit_curve, roc_auc_score

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_bank_marketing()
    cut = int(0.75 * len(X))
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c not in cat]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
                                (StandardScaler(), num)),
        LogisticRegression(C=1.0, class_weight=None),
    )
    model.fit(X.iloc[:cut], y.iloc[:cut])
    score = model.predict_proba(X.iloc[cut:])[:, 1]
    y_test = y.iloc[cut:].to_numpy()
    auc = roc_auc_score(y_test, score)
    g = gains_table(y_test, score, bins=10)
    pc = profit_curve(y_test, score, cost_per_contact=cost_per_call, revenue_per_response=revenue_per_subscription)
    call_all = float(pc.table["profit"].iloc[-1])
    lines = [
        "## Response model: whom to call for the term-deposit campaign",
        "",
        f"Bank marketing calls (UCI, Moro et al. 2014), {len(X):,} calls without `duration`; "
        f"model trained on the first {cut:,} calls in date order, tested on the last {len(X) - cut:,} "
        f"(response rate {y_test.mean():.1%}). Logistic regression on one-hot categories and scaled numbers: "
        f"ROC AUC **{auc:.3f}**.",
        "",
        "| decile | customers | responders | response rate | captured (cum. %) | lift | cum. lift |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in g.itertuples():
        lines.append(f"| {r.bin} | {r.customers:,} | {r.responders:,} | {r.response_rate:.1%} | "
                     f"{r.cum_captured_pct:.1f} | {r.lift:.2f} | {r.cum_lift:.2f} |")
    lines += [
        "",
        f"With a cost of {cost_per_call:g} per call and revenue of {revenue_per_subscription:g} per subscription, "
        f"the profit-optimal plan calls the top **{pc.best_contacts:,}** customers "
        f"({100 * pc.best_contacts / len(y_test):.1f} %, score >= {pc.best_threshold:.3f}) for a profit of "
        f"**{pc.best_profit:,.0f}**, against {call_all:,.0f} when calling everyone.",
        "",
    ]
    if plots:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .plotting import plot_cumulative_gains, plot_profit_curve

        ax = plot_cumulative_gains(y_test, score, label="logistic regression")
        ax.figure.savefig(out / "response_gains.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        ax = plot_profit_curve(pc)
        ax.figure.savefig(out / "response_profit.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        lines += ["![Cumulative gains](response_gains.png) ![Profit curve](response_profit.png)", ""]
    text = "\n".join(lines)
    (out / "response_model.md").write_text(text, encoding="utf-8")
    return text
