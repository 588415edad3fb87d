"""Tree ensembles: random forests.

``RandomForestClassifier`` / ``RandomForestRegressor`` follow scikit-learn's API:
bootstrap samples (``max_samples`` rows each), ``max_features`` features examined per
split, out-of-bag estimates (``oob_score_``, ``oob_decision_function_`` /
``oob_prediction_``), class probabilities averaged over trees. Tree ``t`` draws from
its own random stream ``Rng::stream(random_state, t)``, so a fixed ``random_state``
gives the same forest whatever ``n_jobs`` is.

Reference: L. Breiman (2001), "Random Forests", Machine Learning 45(1), 5-32.
Histogram gradient boosting (issue 8, part 1) is not built yet.
"""
from __future__ import annotations


import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from ._base import NativeModelMixin, ProbaClassifierMixin, resolve_n_jobs, validate_X
from .tree import (
    _check_targets,
    _class_weights,
    _classes_fit,
    _count_or_fraction,
    _float_param,
    _fraction_leaf,
    _int_param,
    _max_features,
    _regression_target,
    _seed,
)

__all__ = ["RandomForestClassifier", "RandomForestRegressor"]


def _max_bins(value, where):
    """None -> 0 (exact splits between every pair of distinct values, scikit-learn's)."""
    if value is None:
        return 0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 2 <= value <= 65535:
        raise ValueError(f"{where}: max_bins must be None (exact splits) or an integer in [2, 65535], got {value!r}")
    return int(value)


class _BaseForest(NativeModelMixin, BaseEstimator):
    _native_class = _core.tree.RandomForest
    _is_clf = False

    def _fit(self, X, y, sample_weight):
        where = f"{type(self).__name__}.fit"
        if y is None:
            raise ValueError(f"{where} requires y to be passed, but the target y is None")
        X, y = validate_X(self, X, y=y, reset=True, ensure_all_finite=True, y_numeric=False, dtype=np.float64)
        y = _check_targets(y, where)
        n, p = X.shape
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if not np.all(np.isfinite(sw)) or (sw < 0).any():
            raise ValueError(f"{where}: sample_weight must be finite and non-negative")
        allowed = ("gini", "entropy", "log_loss") if self._is_clf else ("squared_error", "poisson")
        if self.criterion not in allowed:
            raise ValueError(f"{where}: criterion must be one of {allowed}, got {self.criterion!r}")
        if self._is_clf:
            self.classes_, codes = _classes_fit(self, y, where)
            self.n_classes_ = len(self.classes_)
            ci = codes.astype(np.int64)
            sw = sw * _class_weights(self.class_weight, self.classes_, ci, where)[ci]
            yy, k = codes, self.n_classes_
        else:
            yy, k = _regression_target(y, where, self.criterion == "poisson"), 0
        if sw.sum() <= 0:
            raise ValueError(f"{where}: sample_weight sums to zero")
        n_est = _int_param(self.n_estimators, "n_estimators", where, 1, allow_none=False)
        if not isinstance(self.bootstrap, (bool, np.bool_)):
            raise ValueError(f"{where}: bootstrap must be True or False, got {self.bootstrap!r}")
        if not isinstance(self.oob_score, (bool, np.bool_)):
            raise ValueError(f"{where}: oob_score must be True or False, got {self.oob_score!r}")
        if self.oob_score and not self.bootstrap:
            raise ValueError(f"{where}: oob_score=True needs bootstrap=True")
        if self.max_samples is None:
            ms = -1
        else:
            if not self.bootstrap:
                raise ValueError(f"{where}: max_samples needs bootstrap=True")
            ms = _count_or_fraction(self.max_samples, "max_samples", where, n, 1)
            if ms > n:
                raise ValueError(f"{where}: max_samples ({ms}) exceeds the number of rows ({n})")
        default_mf = "sqrt" if self._is_clf else 1.0
        native = _core.tree.RandomForest(
            criterion=self.criterion,
            max_depth=_int_param(self.max_depth, "max_depth", where, 1),
            min_samples_split=_count_or_fraction(self.min_samples_split, "min_samples_split", where, n, 2),
            min_samples_leaf=_count_or_fraction(self.min_samples_leaf, "min_samples_leaf", where, n, 1),
            min_weight_fraction_leaf=_fraction_leaf(self.min_weight_fraction_leaf, where),
            min_impurity_decrease=_float_param(self.min_impurity_decrease, "min_impurity_decrease", where),
            max_leaf_nodes=_int_param(self.max_leaf_nodes, "max_leaf_nodes", where, 2),
            ccp_alpha=_float_param(self.ccp_alpha, "ccp_alpha", where),
            max_features=_max_features(self.max_features, p, where, default_mf),
            random_state=_seed(self.random_state, where),
            n_estimators=n_est, bootstrap=bool(self.bootstrap), max_samples=ms, oob_score=bool(self.oob_score),
            n_threads=resolve_n_jobs(self.n_jobs, where),
            max_bins=_max_bins(self.max_bins, where),
        )
        native.fit(X, yy, np.ascontiguousarray(sw), k)
        self._native = native
        self._set_fitted_attributes()
        if self.oob_score:
            oob = np.asarray(native.oob_values())
            seen = ~np.isnan(oob[:, 0])
            if not seen.all():
                import warnings

                warnings.warn(f"{where}: {int((~seen).sum())} rows were never out of bag; "
                              "oob_score_ uses the others", UserWarning, stacklevel=3)
            if self._is_clf:
                self.oob_decision_function_ = oob
                self.oob_score_ = float(accuracy_score(codes[seen], np.argmax(oob[seen], axis=1)))
            else:
                self.oob_prediction_ = oob[:, 0]
                self.oob_score_ = float(r2_score(yy[seen], oob[seen, 0]))
        return self

    def _set_fitted_attributes(self):
        self.feature_importances_ = np.asarray(self._native.feature_importances())
        self.n_estimators_ = int(self._native.n_trees)

    def _python_state(self):
        st = super()._python_state()
        if self._is_clf:
            st["classes_"] = self.classes_.tolist()
        return st

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        if "classes_" in state:
            self.classes_ = np.asarray(state["classes_"])
            self.n_classes_ = len(self.classes_)
        self._set_fitted_attributes()

    def _values(self, X):
        check_is_fitted(self)
        X = validate_X(self, X, reset=False, ensure_all_finite=True)
        return np.asarray(self._native.predict_values(X, resolve_n_jobs(self.n_jobs)))

    def predict_contributions(self, X):
        """Exact TreeSHAP contributions averaged over the trees (Lundberg, Erion & Lee 2018; path-dependent, with
        training weights as covers). Regressors: shape (n, n_features + 1); classifiers:
        (n, n_features + 1, n_classes) for the class probabilities. The last entry along
        axis 1 is the expected value; each row sums to the prediction."""
        check_is_fitted(self)
        X = validate_X(self, X, reset=False, ensure_all_finite=True)
        raw = np.asarray(self._native.contributions(X, resolve_n_jobs(self.n_jobs)))
        return raw.reshape(len(X), self.n_features_in_ + 1, -1) if self._is_clf else raw

    @property
    def estimators_(self):
        """The trees as custmine DecisionTree estimators (read-only views of the forest)."""
        from .tree import DecisionTreeClassifier, DecisionTreeRegressor

        check_is_fitted(self)
        out = []
        for i in range(self._native.n_trees):
            est = DecisionTreeClassifier() if self._is_clf else DecisionTreeRegressor()
            est._native = self._native.tree(i)
            est.n_features_in_ = self.n_features_in_
            if hasattr(self, "feature_names_in_"):
                est.feature_names_in_ = self.feature_names_in_
            if self._is_clf:
                est.classes_, est.n_classes_ = self.classes_, self.n_classes_
            est._set_fitted_attributes()
            out.append(est)
        return out


_DOC_PARAMS = """
    Parameters follow scikit-learn: ``n_estimators``, ``criterion``, ``max_depth``,
    ``min_samples_split``, ``min_samples_leaf``, ``min_impurity_decrease``,
    ``max_features`` ('sqrt', 'log2', int, float fraction or None = all),
    ``max_leaf_nodes``, ``ccp_alpha`` (pruning of each tree), ``bootstrap``,
    ``oob_score``, ``max_samples`` (rows drawn per tree: int or fraction), ``n_jobs``
    (threads over trees; the result does not depend on it) and ``random_state``.
    Rows of zero weight (including rows not drawn into a tree's bootstrap sample) take no
    part in growing that tree: they neither move thresholds nor count towards
    ``min_samples_split`` / ``min_samples_leaf`` (scikit-learn's forests count them).
    ``max_bins`` (default 255): each feature's distinct values are grouped once per fit into
    at most this many quantile bins (never splitting a run of equal values) and splits fall
    between bins, so a node costs O(rows) per feature instead of a sort; thresholds still
    lie midway between two observed values. ``max_bins=None`` gives exact splits between
    every pair of distinct values, as scikit-learn's forests do.
"""


class RandomForestClassifier(ProbaClassifierMixin, ClassifierMixin, _BaseForest):
    __doc__ = "Random forest of CART classification trees; probabilities are averaged over trees.\n" + _DOC_PARAMS
    _is_clf = True

    def __init__(self, n_estimators=100, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1,
                 min_weight_fraction_leaf=0.0, min_impurity_decrease=0.0, max_features="sqrt", max_leaf_nodes=None,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None, class_weight=None,
                 ccp_alpha=0.0, max_samples=None, max_bins=255):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.min_impurity_decrease = min_impurity_decrease
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.max_bins = max_bins

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight)

    def predict_proba(self, X):
        return self._values(X)



class RandomForestRegressor(RegressorMixin, _BaseForest):
    __doc__ = "Random forest of CART regression trees; predictions are averaged over trees.\n" + _DOC_PARAMS

    def __init__(self, n_estimators=100, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1,
                 min_weight_fraction_leaf=0.0, min_impurity_decrease=0.0, max_features=1.0, max_leaf_nodes=None,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None, ccp_alpha=0.0,
                 max_samples=None, max_bins=255):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.min_impurity_decrease = min_impurity_decrease
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.max_bins = max_bins

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight)

    def predict(self, X):
        return self._values(X)[:, 0]
