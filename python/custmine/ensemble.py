"""Tree ensembles: random forests and histogram gradient boosting.

``RandomForestClassifier`` / ``RandomForestRegressor`` follow scikit-learn's API:
bootstrap samples (``max_samples`` rows each), ``max_features`` features examined per
split, out-of-bag estimates (``oob_score_``, ``oob_decision_function_`` /
``oob_prediction_``), class probabilities averaged over trees. Tree ``t`` draws from
its own random stream ``Rng::stream(random_state, t)``, so a fixed ``random_state``
gives the same forest whatever ``n_jobs`` is.

``GradientBoostingClassifier`` / ``GradientBoostingRegressor`` are histogram gradient
boosting with scikit-learn's ``HistGradientBoosting*`` parameter names: features cut into
at most 255 bins, leaf-wise trees (``max_leaf_nodes``), histogram subtraction, native
missing values (a learned default direction per split), native categorical features
(category-set splits; pandas ``category`` columns are found by
``categorical_features='from_dtype'``), monotonic constraints, early stopping, and exact
TreeSHAP contributions of the raw score (``predict_contributions``).

References: L. Breiman (2001), "Random Forests", Machine Learning 45(1), 5-32;
J. H. Friedman (2001), "Greedy function approximation: a gradient boosting machine";
G. Ke et al. (2017), "LightGBM: a highly efficient gradient boosting decision tree".
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from ._base import NativeModelMixin, ProbaClassifierMixin, check_bool, resolve_n_jobs, validate_X
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

__all__ = ["RandomForestClassifier", "RandomForestRegressor", "GradientBoostingClassifier",
           "GradientBoostingRegressor"]


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
        check_bool(self.bootstrap, "bootstrap", where)
        check_bool(self.oob_score, "oob_score", where)
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


# ---------------------------------------------------------------------------------
# Histogram gradient boosting


class _BaseGB(NativeModelMixin, BaseEstimator):
    _native_class = _core.tree.GradientBoosting
    _is_clf = False

    # --- input: categorical columns ------------------------------------------------

    def _categorical_mask(self, X, where):
        """Which columns are categorical (at fit), from categorical_features."""
        cf = self.categorical_features
        p = X.shape[1]
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        if cf is None:
            mask = np.zeros(p, dtype=bool)
        elif isinstance(cf, str):
            if cf != "from_dtype":
                raise ValueError(f"{where}: categorical_features must be None, 'from_dtype', a list of indices, "
                                 f"a boolean mask or a list of column names, got {cf!r}")
            mask = np.zeros(p, dtype=bool)
            if names is not None:
                mask = np.array([isinstance(X[c].dtype, pd.CategoricalDtype) for c in X.columns], dtype=bool)
        else:
            arr = np.asarray(cf)
            if arr.size == 0:
                mask = np.zeros(p, dtype=bool)
            elif arr.dtype == bool:
                if arr.shape != (p,):
                    raise ValueError(f"{where}: categorical_features as a boolean mask must have {p} entries, "
                                     f"got {arr.shape[0] if arr.ndim else 0}")
                mask = arr.copy()
            elif arr.dtype.kind in "iu":
                if arr.min() < 0 or arr.max() >= p:
                    raise ValueError(f"{where}: categorical_features holds an index outside 0..{p - 1}")
                mask = np.zeros(p, dtype=bool)
                mask[arr] = True
            elif arr.dtype.kind in "UO":
                if names is None:
                    raise ValueError(f"{where}: categorical_features names columns, but X has no column names")
                missing = [c for c in arr.tolist() if c not in names]
                if missing:
                    raise ValueError(f"{where}: categorical_features names {missing[0]!r}, which is not a column of X")
                mask = np.array([c in set(arr.tolist()) for c in names], dtype=bool)
            else:
                raise ValueError(f"{where}: categorical_features must be None, 'from_dtype', indices, a boolean "
                                 f"mask or column names, got {cf!r}")
        if names is not None:
            for j, c in enumerate(names):
                dt = X[c].dtype
                if not mask[j] and (pd.api.types.is_object_dtype(dt) or isinstance(dt, pd.CategoricalDtype)
                                    or pd.api.types.is_string_dtype(dt)):
                    raise ValueError(f"{where}: column {c!r} is not numeric (dtype {dt}); declare it in "
                                     "categorical_features (or use the pandas 'category' dtype with "
                                     "categorical_features='from_dtype')")
        return mask

    def _encode(self, X, where, fit):
        """DataFrame columns that hold labels (category/object/string dtype) -> float codes
        0..k-1 in the training categories; NaN for missing and for labels unseen in training.
        A new frame is built: the caller's data is not modified."""
        if not isinstance(X, pd.DataFrame):
            return X
        if fit:
            self._cat_values = {}
        cols = {}
        for j, c in enumerate(X.columns):
            col = X[c]
            dt = col.dtype
            label_like = (isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dt)
                          or pd.api.types.is_string_dtype(dt))
            if fit and label_like and self.is_categorical_[j]:
                if isinstance(dt, pd.CategoricalDtype):
                    cats = list(dt.categories)
                else:
                    cats = sorted(pd.unique(col.dropna()).tolist(), key=str)
                if len(cats) > self.max_bins:
                    raise ValueError(f"{where}: categorical column {c!r} has {len(cats)} categories; at most "
                                     f"max_bins = {self.max_bins} are supported (group rare categories first)")
                self._cat_values[j] = cats
            if j in getattr(self, "_cat_values", {}):
                # unseen labels and missing values both get -1, then NaN: routed as missing
                codes = pd.Index(self._cat_values[j]).get_indexer(np.asarray(col, dtype=object)).astype(np.float64)
                codes[codes < 0] = np.nan
                cols[c] = codes
            else:
                cols[c] = col
        return pd.DataFrame(cols, index=X.index)

    # --- fit ----------------------------------------------------------------------

    def _check_params(self, where):
        lr = _float_param(self.learning_rate, "learning_rate", where)
        if lr <= 0:
            raise ValueError(f"{where}: learning_rate must be > 0, got {self.learning_rate!r}")
        mb = self.max_bins
        if isinstance(mb, bool) or not isinstance(mb, numbers.Integral) or not 2 <= mb <= 255:
            raise ValueError(f"{where}: max_bins must be an integer in 2..255, got {mb!r}")
        if self.importance_type not in ("gain", "split"):
            raise ValueError(f"{where}: importance_type must be 'gain' or 'split', got {self.importance_type!r}")
        if self.early_stopping not in ("auto", True, False):
            raise ValueError(f"{where}: early_stopping must be 'auto', True or False, got {self.early_stopping!r}")
        vf = self.validation_fraction
        if vf is not None:
            if isinstance(vf, bool) or not isinstance(vf, numbers.Real) or not (
                    0 < vf < 1 or (isinstance(vf, numbers.Integral) and vf >= 1)):
                raise ValueError(f"{where}: validation_fraction must be in (0, 1), an int >= 1 or None, got {vf!r}")
        return lr

    def _fit(self, X, y, sample_weight, X_val, y_val, sample_weight_val):
        where = f"{type(self).__name__}.fit"
        if y is None:
            raise ValueError(f"{where} requires y to be passed, but the target y is None")
        lr = self._check_params(where)
        frame = isinstance(X, pd.DataFrame)
        if frame:
            self.is_categorical_ = self._categorical_mask(X, where)
            X = self._encode(X, where, fit=True)
        else:
            self._cat_values = {}
        X, y = validate_X(self, X, y=y, reset=True, ensure_all_finite="allow-nan", y_numeric=False,
                          dtype=np.float64)
        if not frame:
            self.is_categorical_ = self._categorical_mask(X, where)
        y = _check_targets(y, where)
        n, p = X.shape
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if not np.all(np.isfinite(sw)) or (sw < 0).any():
            raise ValueError(f"{where}: sample_weight must be finite and non-negative")
        if self._is_clf:
            self.classes_, codes = _classes_fit(self, y, where)
            self.n_classes_ = len(self.classes_)
            ci = codes.astype(np.int64)
            sw = sw * _class_weights(self.class_weight, self.classes_, ci, where)[ci]
            yy, k = codes, self.n_classes_
            if k < 2:
                raise ValueError(f"{where}: y has 1 class ({self.classes_[0]!r}); need at least 2 classes")
            loss = "log_loss"
        else:
            loss = self.loss
            allowed = ("squared_error", "absolute_error", "poisson", "tweedie")
            if loss not in allowed:
                raise ValueError(f"{where}: loss must be one of {allowed}, got {loss!r}")
            yy, k = _regression_target(y, where, False), 0
            if loss in ("poisson", "tweedie"):
                if (yy < 0).any():
                    raise ValueError(f"{where}: loss={loss!r} needs y >= 0 (first negative at row "
                                     f"{int(np.flatnonzero(yy < 0)[0])})")
                if (sw * yy).sum() <= 0:
                    raise ValueError(f"{where}: loss={loss!r} needs sum(y) > 0")
        if sw.sum() <= 0:
            raise ValueError(f"{where}: sample_weight sums to zero")
        mono = self._monotonic(p, where)
        if mono is not None and self._is_clf and self.n_classes_ > 2 and any(mono):
            raise ValueError(f"{where}: monotonic_cst is not supported for multiclass classification")
        if mono is not None and any(m != 0 and c for m, c in zip(mono, self.is_categorical_)):
            raise ValueError(f"{where}: monotonic_cst is set on a categorical feature")
        seed = _seed(self.random_state, where)
        # early stopping: validation set given, or split off validation_fraction
        es = self.early_stopping
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError(f"{where}: X_val and y_val must be given together")
            if es is False:
                raise ValueError(f"{where}: X_val/y_val are given but early_stopping=False")
            es = True
        self.do_early_stopping_ = bool(es is True or (es == "auto" and n > 10000))
        Xv = np.zeros((0, p))
        yv = np.zeros(0)
        wv = np.zeros(0)
        Xt, yt, wt = X, yy, sw
        if self.do_early_stopping_:
            if X_val is not None:
                Xv = self._validated_X(X_val, where)
                yv_raw = _check_targets(y_val, where)
                if self._is_clf:
                    idx = np.searchsorted(self.classes_, yv_raw)
                    ok = (idx < len(self.classes_)) & (self.classes_[np.minimum(idx, len(self.classes_) - 1)] == yv_raw)
                    if not ok.all():
                        raise ValueError(f"{where}: y_val holds a class not present in y")
                    yv = idx.astype(np.float64)
                else:
                    yv = _regression_target(yv_raw, where, False)
                if len(yv) != len(Xv):
                    raise ValueError(f"{where}: X_val has {len(Xv)} rows but y_val has {len(yv)}")
                wv = _check_sample_weight(sample_weight_val, Xv, dtype=np.float64)
                if self._is_clf:
                    ci = yv.astype(np.int64)
                    wv = wv * _class_weights(self.class_weight, self.classes_, ci, where)[ci]
            elif self.validation_fraction is not None:
                from sklearn.model_selection import train_test_split

                strat = yy if self._is_clf and np.bincount(yy.astype(np.int64)).min() >= 2 else None
                tr, va = train_test_split(np.arange(n), test_size=self.validation_fraction, stratify=strat,
                                          random_state=seed)
                Xt, yt, wt = X[tr], yy[tr], sw[tr]
                Xv, yv, wv = X[va], yy[va], sw[va]
            else:  # scikit-learn: validation_fraction=None stops on the training data
                Xv, yv, wv = X, yy, sw
        native = _core.tree.GradientBoosting(
            loss=loss, variance_power=float(self._variance_power()), learning_rate=lr,
            max_iter=_int_param(self.max_iter, "max_iter", where, 1, allow_none=False),
            max_leaf_nodes=_int_param(self.max_leaf_nodes, "max_leaf_nodes", where, 2),
            max_depth=_int_param(self.max_depth, "max_depth", where, 1),
            min_samples_leaf=_int_param(self.min_samples_leaf, "min_samples_leaf", where, 1, allow_none=False),
            min_sum_hessian=_float_param(self.min_sum_hessian, "min_sum_hessian", where),
            l2_regularization=_float_param(self.l2_regularization, "l2_regularization", where),
            max_bins=int(self.max_bins), subsample_for_bins=200_000, cat_smooth=10.0, max_cat_threshold=32,
            monotonic_cst=list(mono) if mono is not None else [],
            categorical=[bool(c) for c in self.is_categorical_],
            n_iter_no_change=_int_param(self.n_iter_no_change, "n_iter_no_change", where, 1, allow_none=False),
            tol=_float_param(self.tol, "tol", where), random_state=seed,
            n_threads=resolve_n_jobs(self.n_jobs, where),
        )
        native.fit(np.ascontiguousarray(Xt), np.ascontiguousarray(yt, dtype=np.float64), np.ascontiguousarray(wt),
                   k, np.ascontiguousarray(Xv, dtype=np.float64), np.ascontiguousarray(yv, dtype=np.float64),
                   np.ascontiguousarray(wv, dtype=np.float64))
        self._native = native
        self._set_fitted_attributes()
        return self

    def _variance_power(self):
        return 1.5

    def _monotonic(self, p, where):
        m = self.monotonic_cst
        if m is None:
            return None
        if isinstance(m, dict):
            names = list(getattr(self, "feature_names_in_", []))
            out = [0] * p
            for key, v in m.items():
                if key not in names:
                    raise ValueError(f"{where}: monotonic_cst names {key!r}, which is not a column of X")
                out[names.index(key)] = v
            m = out
        m = list(m)
        if len(m) != p:
            raise ValueError(f"{where}: monotonic_cst has {len(m)} entries but X has {p} features")
        for v in m:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v not in (-1, 0, 1):
                raise ValueError(f"{where}: monotonic_cst values must be -1, 0 or 1, got {v!r}")
        return [int(v) for v in m]

    def _set_fitted_attributes(self):
        nat = self._native
        self.n_iter_ = int(nat.n_iter)
        self.n_trees_per_iteration_ = int(nat.n_trees_per_iteration)
        self.train_score_ = np.asarray(nat.train_score)
        self.validation_score_ = np.asarray(nat.validation_score)
        imp = np.asarray(nat.importances(self.importance_type == "gain"), dtype=float)
        s = imp.sum()
        self.feature_importances_ = imp / s if s > 0 else imp

    def _python_state(self):
        st = super()._python_state()
        if self._is_clf:
            st["classes_"] = self.classes_.tolist()
        st["is_categorical_"] = [bool(c) for c in self.is_categorical_]
        st["cat_values"] = {str(j): pd.Index(v).tolist() for j, v in self._cat_values.items()}
        st["do_early_stopping_"] = bool(self.do_early_stopping_)
        return st

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        if "classes_" in state:
            self.classes_ = np.asarray(state["classes_"])
            self.n_classes_ = len(self.classes_)
        self.is_categorical_ = np.asarray(state.get("is_categorical_", []), dtype=bool)
        self._cat_values = {int(j): v for j, v in state.get("cat_values", {}).items()}
        self.do_early_stopping_ = bool(state.get("do_early_stopping_", False))
        self._set_fitted_attributes()

    # --- predict ------------------------------------------------------------------

    def _validated_X(self, X, where):
        if isinstance(X, pd.DataFrame):
            X = self._encode(X, where, fit=False)
        return validate_X(self, X, reset=False, ensure_all_finite="allow-nan")

    def _raw(self, X, n_iter=-1):
        check_is_fitted(self)
        X = self._validated_X(X, f"{type(self).__name__}.predict")
        return np.asarray(self._native.raw_predict(X, resolve_n_jobs(self.n_jobs), n_iter))

    def predict_contributions(self, X):
        """Exact TreeSHAP contributions of the raw score (log-odds for classifiers, log-mean for
        Poisson/Tweedie), path-dependent with training row counts as covers (as LightGBM's
        ``pred_contrib``). Shape (n, n_features + 1) for regressors and binary classifiers,
        (n, n_features + 1, n_classes) for multiclass; the last entry along axis 1 is the
        expected value, and each row sums to ``decision_function`` / the raw prediction."""
        check_is_fitted(self)
        X = self._validated_X(X, f"{type(self).__name__}.predict_contributions")
        raw = np.asarray(self._native.contributions(X, resolve_n_jobs(self.n_jobs)))
        K = self.n_trees_per_iteration_
        return raw.reshape(len(X), self.n_features_in_ + 1, K) if K > 1 else raw

    def tree_arrays(self, t):
        """Node arrays of tree ``t`` (iteration * n_trees_per_iteration_ + class): feature
        (-1 at leaves), threshold, children_left/right, missing_left, categories_left (the
        category codes sent left by a categorical split), value (raw, shrunk), gain, count."""
        check_is_fitted(self)
        return self._native.tree(int(t))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_GB_DOC = """
    Histogram gradient boosting (Friedman 2001; LightGBM, Ke et al. 2017) with
    scikit-learn's ``HistGradientBoosting*`` parameter names: ``learning_rate``,
    ``max_iter``, ``max_leaf_nodes`` (leaf-wise growth), ``max_depth``,
    ``min_samples_leaf``, ``l2_regularization``, ``max_bins`` (<= 255 plus one bin for
    missing values), ``categorical_features`` (None, 'from_dtype' = pandas ``category``
    columns, indices, a boolean mask or column names), ``monotonic_cst`` (list or dict of
    -1/0/1), ``early_stopping`` ('auto': on when n > 10 000, True, False) with
    ``validation_fraction``, ``n_iter_no_change`` and ``tol`` (or ``X_val``/``y_val`` passed
    to ``fit``), ``random_state`` (binning subsample and validation split) and ``n_jobs``
    (threads; the model does not depend on it). Extra: ``min_sum_hessian`` (hessian needed in
    each leaf) and ``importance_type`` ('gain' or 'split') for ``feature_importances_``.

    Missing values (NaN) are routed by a direction learned at each split; categorical
    features are split on category sets. A categorical column holds non-negative integer
    codes, or labels in a pandas ``category``/object column; at most ``max_bins`` (255)
    categories per feature (a clear error otherwise: group rare categories). At predict
    time a category not seen in training is routed like a missing value.
"""


class GradientBoostingClassifier(ProbaClassifierMixin, ClassifierMixin, _BaseGB):
    __doc__ = "Histogram gradient boosting classifier (log-loss; one tree per class per iteration for multiclass).\n" \
        + _GB_DOC
    _is_clf = True

    def __init__(self, loss="log_loss", learning_rate=0.1, max_iter=100, max_leaf_nodes=31, max_depth=None,
                 min_samples_leaf=20, l2_regularization=0.0, max_bins=255, categorical_features="from_dtype",
                 monotonic_cst=None, early_stopping="auto", validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-7, random_state=None, class_weight=None, min_sum_hessian=1e-3, importance_type="gain",
                 n_jobs=None):
        self.loss = loss
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.categorical_features = categorical_features
        self.monotonic_cst = monotonic_cst
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.class_weight = class_weight
        self.min_sum_hessian = min_sum_hessian
        self.importance_type = importance_type
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        if self.loss != "log_loss":
            raise ValueError(f"GradientBoostingClassifier.fit: loss must be 'log_loss', got {self.loss!r}")
        return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)

    def decision_function(self, X):
        """Raw scores: log-odds (n,) for two classes, (n, n_classes) otherwise."""
        raw = self._raw(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    @staticmethod
    def _proba(raw):
        if raw.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        z = np.exp(raw - raw.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict_proba(self, X):
        return self._proba(self._raw(X))

    def predict(self, X):
        """Class of the largest raw score (the same as the largest probability, without
        round-off ties)."""
        raw = self._raw(X)
        return self.classes_[(raw[:, 0] > 0).astype(np.int64) if raw.shape[1] == 1 else np.argmax(raw, axis=1)]

    def staged_predict_proba(self, X):
        """Class probabilities after each iteration."""
        for i in range(1, self.n_iter_ + 1):
            yield self._proba(self._raw(X, i))

    def staged_predict(self, X):
        for p in self.staged_predict_proba(X):
            yield self.classes_[np.argmax(p, axis=1)]


class GradientBoostingRegressor(RegressorMixin, _BaseGB):
    __doc__ = "Histogram gradient boosting regressor: loss 'squared_error', 'absolute_error' (leaf values are " \
        "median residuals), 'poisson' or 'tweedie' (``variance_power`` in [1, 2); log link).\n" + _GB_DOC

    def __init__(self, loss="squared_error", learning_rate=0.1, max_iter=100, max_leaf_nodes=31, max_depth=None,
                 min_samples_leaf=20, l2_regularization=0.0, max_bins=255, categorical_features="from_dtype",
                 monotonic_cst=None, early_stopping="auto", validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-7, random_state=None, variance_power=1.5, min_sum_hessian=1e-3, importance_type="gain",
                 n_jobs=None):
        self.loss = loss
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.categorical_features = categorical_features
        self.monotonic_cst = monotonic_cst
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.variance_power = variance_power
        self.min_sum_hessian = min_sum_hessian
        self.importance_type = importance_type
        self.n_jobs = n_jobs

    def _variance_power(self):
        v = self.variance_power
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 1 <= v < 2:
            raise ValueError(f"GradientBoostingRegressor.fit: variance_power must be in [1, 2), got {v!r}")
        return v

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)

    def _link(self, raw):
        return np.exp(raw) if self.loss in ("poisson", "tweedie") else raw

    def predict(self, X):
        return self._link(self._raw(X)[:, 0])

    def staged_predict(self, X):
        """Predictions after each iteration."""
        for i in range(1, self.n_iter_ + 1):
            yield self._link(self._raw(X, i)[:, 0])
