"""Anomaly detection that says which attribute is irregular.

Six detectors on the native core, all scikit-learn outlier detectors (``OutlierMixin``)
with JSON ``save``/``load`` and pickling:

=====================  =================================================================
``IsolationForest``    random isolation trees (Liu, Ting & Zhou 2008)
``LocalOutlierFactor`` local density ratio to the k nearest neighbours (Breunig et al. 2000)
``RobustZScore``       median / MAD z-score per feature, combined (Iglewicz & Hoaglin 1993)
``EllipticEnvelope``   FastMCD robust covariance + Mahalanobis distance (Rousseeuw & Van Driessen 1999)
``HBOS``               histogram-based outlier score (Goldstein & Dengel 2012)
``ECOD``               empirical-CDF tail probabilities (Li et al. 2022)
=====================  =================================================================

One score convention, scikit-learn's, with PyOD's direction alongside:

==========================  ==========================================================
``score_samples(X)``        lower = more abnormal
``decision_function(X)``    ``score_samples(X) - offset_``; negative = outlier
``predict(X)``              +1 inlier, -1 outlier (``decision_function < 0``)
``anomaly_score(X)``        ``-score_samples(X)``: higher = more abnormal (as PyOD's
                            ``decision_function``)
==========================  ==========================================================

``offset_`` is the ``100 * contamination`` percentile of the training scores, so a share
``contamination`` of the training rows is flagged; ``contamination="auto"`` (isolation
forest and LOF only) uses the papers' fixed thresholds (-0.5 and -1.5).

Attribution: ``explain(X)`` returns a DataFrame (rows x features) of each feature's
contribution to the row's abnormality; ``top_attributes(X, k=3)`` lists, for each flagged
row, its k features whose contribution most exceeds that feature's median training
contribution, with the value and the typical range (5th-95th percentile of the training
data). What a contribution is per detector is documented on each class.
"""
from __future__ import annotations

import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from . import _core
from ._base import NativeModelMixin, resolve_n_jobs, validate_X

__all__ = [
    "IsolationForest",
    "LocalOutlierFactor",
    "RobustZScore",
    "EllipticEnvelope",
    "HBOS",
    "ECOD",
    "demo_report",
]

_native = _core.anomaly


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _contamination(value, name: str, auto_allowed: bool):
    """'auto' or a float in (0, 0.5], with a clear error naming the argument."""
    if isinstance(value, str):
        if value == "auto" and auto_allowed:
            return "auto"
        allowed = "'auto' or a float in (0, 0.5]" if auto_allowed else "a float in (0, 0.5]"
        raise ValueError(f"{name}: contamination must be {allowed}, got {value!r}")
    if not _is_real(value) or not (0.0 < float(value) <= 0.5):
        allowed = "'auto' or a float in (0, 0.5]" if auto_allowed else "a float in (0, 0.5]"
        raise ValueError(f"{name}: contamination must be {allowed}, got {value!r}")
    return float(value)


def _seed(random_state) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _Detector(OutlierMixin, NativeModelMixin, BaseEstimator):
    """Shared fit/score/explain plumbing; subclasses build the native model."""

    _auto_allowed = False

    def _build(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _after_fit(self):
        """Copy native attributes to the public ``*_`` attributes."""
        self.offset_ = float(self._native.offset)

    def fit(self, X, y=None):
        """Fit on X (n_samples, n_features); y is ignored."""
        name = type(self).__name__
        _contamination(self.contamination, name, self._auto_allowed)
        Xa = validate_X(self, X, reset=True)
        native = self._build(Xa)
        native.fit(Xa)
        self._native = native
        self._after_fit()
        return self

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        self._after_fit()

    def _X(self, X):
        self._check_fitted()
        return validate_X(self, X, reset=False)

    def _call(self, method, X):
        Xa = self._X(X)  # checks fitted state before touching the native model
        return getattr(self._native, method)(Xa)

    # -- the score convention ----------------------------------------------------
    def score_samples(self, X):
        """Normality score: lower = more abnormal."""
        return np.asarray(self._call("score_samples", X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers."""
        return np.asarray(self._call("decision_function", X))

    def predict(self, X):
        """+1 for inliers, -1 for outliers."""
        return np.asarray(self._call("predict", X), dtype=np.int64)

    def anomaly_score(self, X):
        """``-score_samples(X)``: higher = more abnormal (PyOD's direction)."""
        return np.asarray(self._call("anomaly_score", X))

    # -- attribution ----------------------------------------------------------------
    def _feature_names(self):
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    @staticmethod
    def _index(X, n):
        return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)

    def explain(self, X) -> pd.DataFrame:
        """Per-row, per-feature contribution to abnormality (larger = more irregular)."""
        Xa = self._X(X)
        C = np.asarray(self._native.explain(Xa))
        return pd.DataFrame(C, index=self._index(X, Xa.shape[0]), columns=self._feature_names())

    def _flagged(self, Xa):
        return np.asarray(self._native.decision_function(Xa)) < 0

    def top_attributes(self, X, k: int = 3, flagged_only: bool = True) -> pd.DataFrame:
        """For each flagged row (all rows with ``flagged_only=False``), its ``k`` most
        irregular features.

        Columns: ``row`` (X's index label), ``rank`` (1 = most irregular), ``feature``,
        ``value``, ``contribution`` (as in :meth:`explain`), ``excess`` (contribution minus
        the feature's median training contribution, the ranking key), ``typical_low`` and
        ``typical_high`` (5th and 95th percentiles of the training data; of 200,000 evenly
        spaced training rows when there are more) and
        ``anomaly_score`` of the row.
        """
        if not _is_int(k) or k < 1:
            raise ValueError(f"{type(self).__name__}.top_attributes: k must be a positive integer, got {k!r}")
        Xa = self._X(X)
        return self._top(Xa, self._index(X, Xa.shape[0]), int(k), flagged_only,
                         np.asarray(self._native.explain(Xa)), self._flagged(Xa),
                         np.asarray(self._native.anomaly_score(Xa)) if self._has_scores() else None)

    def _has_scores(self):
        return True

    def _top(self, Xa, index, k, flagged_only, C, flagged, scores):
        prof = self._native.profile
        names = np.asarray(self._feature_names(), dtype=object)
        base = np.asarray(prof["baseline"])
        rows = np.flatnonzero(flagged) if flagged_only else np.arange(Xa.shape[0])
        k = min(k, Xa.shape[1])
        ex = C[rows] - base
        # Stable descending order by excess (ties by feature position), as the core does.
        order = np.argsort(-ex, axis=1, kind="stable")[:, :k]
        r = np.repeat(rows, k)
        f = order.ravel()
        out = pd.DataFrame({
            "row": np.asarray(index)[r] if len(r) else np.asarray([], dtype=object),
            "rank": np.tile(np.arange(1, k + 1), len(rows)),
            "feature": names[f] if len(f) else np.asarray([], dtype=object),
            "value": Xa[r, f],
            "contribution": C[r, f],
            "excess": ex[np.repeat(np.arange(len(rows)), k), f],
            "typical_low": np.asarray(prof["low"])[f],
            "typical_high": np.asarray(prof["high"])[f],
        })
        if scores is not None:
            out["anomaly_score"] = scores[r]
            if len(out):
                out = out.sort_values(["anomaly_score", "rank"], ascending=[False, True], kind="stable")
        return out.reset_index(drop=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class IsolationForest(_Detector):
    """Isolation forest (Liu, Ting & Zhou 2008), scikit-learn's normalisation.

    Parameters
    ----------
    n_estimators : int, default 100
    max_samples : "auto", int or float, default "auto"
        Rows per tree: ``min(256, n)``, a count (capped at n with a warning) or a fraction.
    contamination : "auto" or float in (0, 0.5], default "auto" (offset -0.5)
    max_features : int or float, default 1.0
        Features drawn (without replacement) per tree: a count or a fraction.
    bootstrap : bool, default False
        Draw each tree's rows with replacement.
    n_jobs : int or None
        Threads (joblib's rule). Fit is parallel over trees, scoring over rows; the
        model is identical for any n_jobs.
    random_state : int, RandomState or None

    Attributes: ``offset_``, ``max_samples_``, ``n_nodes_``, ``n_features_in_``.

    ``explain``: for each tree the row's path is walked; every split on feature f adds
    ``1 / h`` (h = the row's path length in that tree); averaged over trees. Features that
    cut the row off early and often get the largest share.
    """

    _auto_allowed = True
    _parameter_constraints = {"contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")]}

    def __init__(self, n_estimators=100, *, max_samples="auto", contamination="auto", max_features=1.0,
                 bootstrap=False, n_jobs=None, random_state=None):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _build(self, X):
        w = "IsolationForest"
        if not _is_int(self.n_estimators) or self.n_estimators < 1:
            raise ValueError(f"{w}: n_estimators must be a positive integer, got {self.n_estimators!r}")
        ms, msf = 0, 0.0
        if isinstance(self.max_samples, str):
            if self.max_samples != "auto":
                raise ValueError(f"{w}: max_samples must be 'auto', a positive integer or a float in (0, 1], "
                                 f"got {self.max_samples!r}")
        elif _is_int(self.max_samples):
            if self.max_samples < 1:
                raise ValueError(f"{w}: max_samples must be a positive integer, got {self.max_samples!r}")
            ms = int(self.max_samples)
            if ms > X.shape[0]:
                warnings.warn(f"{w}: max_samples ({ms}) is greater than the number of samples ({X.shape[0]}); "
                              f"max_samples will be set to n_samples", UserWarning, stacklevel=3)
        elif _is_real(self.max_samples):
            if not (0.0 < self.max_samples <= 1.0):
                raise ValueError(f"{w}: max_samples as a float must be in (0, 1], got {self.max_samples!r}")
            msf = float(self.max_samples)
        else:
            raise ValueError(f"{w}: max_samples must be 'auto', an int or a float, got {self.max_samples!r}")
        mf, mff = 0, 0.0
        if _is_int(self.max_features):
            if not (1 <= self.max_features <= X.shape[1]):
                raise ValueError(f"{w}: max_features must be in 1..{X.shape[1]} (the number of features), "
                                 f"got {self.max_features!r}")
            mf = int(self.max_features)
        elif _is_real(self.max_features) and 0.0 < self.max_features <= 1.0:
            mff = float(self.max_features)
        else:
            raise ValueError(f"{w}: max_features must be a positive integer or a float in (0, 1], "
                             f"got {self.max_features!r}")
        return _native.IsolationForest(
            n_estimators=int(self.n_estimators), max_samples=ms, max_samples_fraction=msf, max_features=mf,
            max_features_fraction=mff, bootstrap=bool(self.bootstrap),
            contamination=_contamination(self.contamination, w, True), seed=_seed(self.random_state),
            n_threads=resolve_n_jobs(self.n_jobs, w))

    def _after_fit(self):
        super()._after_fit()
        self.max_samples_ = int(self._native.max_samples_used)
        self.n_nodes_ = int(self._native.n_nodes)

    def mean_path_length(self, X):
        """Mean path length E[h(x)] of each row over the trees."""
        return np.asarray(self._call("mean_path_length", X))

    _native_class = _native.IsolationForest


def _novelty(est):
    return bool(est.novelty)


def _outlier_mode(est):
    return not bool(est.novelty)


class LocalOutlierFactor(_Detector):
    """Local outlier factor (Breunig et al. 2000) with exact Euclidean neighbours.

    Same numbers as scikit-learn's ``LocalOutlierFactor`` for the same ``n_neighbors``:
    reach-distances, ``lrd = 1 / (mean reach-dist + 1e-10)`` and the self-exclusion rule
    for duplicates. ``n_neighbors >= n_samples`` is an error (scikit-learn silently
    lowers it).

    With ``novelty=False`` (outlier mode) the model scores its training rows:
    ``negative_outlier_factor_`` and ``fit_predict``; ``predict``/``score_samples``/
    ``decision_function``/``anomaly_score`` are unavailable, as in scikit-learn. With
    ``novelty=True`` they score new rows against the training data.

    ``algorithm`` chooses the neighbour search; every choice returns the same neighbours
    (ties broken by row index): ``"kd_tree"``, ``"brute"`` (blocked matrix products),
    ``"projected"`` (a lower bound on the top principal axes, after which only the rows that
    may be neighbours are measured in full) or ``"auto"``: the k-d tree up to 15 features,
    otherwise the projection where a cost model measured on the data says it pays (correlated
    features, at least 2,048 rows), else brute force. ``algorithm_used_`` and
    ``projection_axes_`` say what was built. The index is built once at fit and reused by
    every scoring call.

    ``explain``: contribution of feature f = mean over the k neighbours o of
    ``(x_f - o_f)^2``, divided by the same quantity averaged over all training rows and
    their neighbours (how much farther than usual the row is from its neighbours along f).
    In outlier mode ``explain()``/``top_attributes()`` without X explain the training rows.
    """

    _auto_allowed = True
    _parameter_constraints = {"contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")]}
    _algorithms = ("auto", "brute", "kd_tree", "projected")

    def __init__(self, n_neighbors=20, *, algorithm="auto", contamination="auto", novelty=False, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.contamination = contamination
        self.novelty = novelty
        self.n_jobs = n_jobs

    def _build(self, X):
        w = "LocalOutlierFactor"
        if not _is_int(self.n_neighbors) or self.n_neighbors < 1:
            raise ValueError(f"{w}: n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if self.n_neighbors >= X.shape[0]:
            raise ValueError(f"{w}: n_neighbors ({self.n_neighbors}) must be less than the number of samples, "
                             f"got n_samples = {X.shape[0]}")
        if not isinstance(self.algorithm, str) or self.algorithm not in self._algorithms:
            raise ValueError(f"{w}: algorithm must be one of {', '.join(map(repr, self._algorithms))}, "
                             f"got {self.algorithm!r}")
        self._train_X = X  # kept for top_attributes() on the training rows
        return _native.LocalOutlierFactor(n_neighbors=int(self.n_neighbors), novelty=bool(self.novelty),
                                          contamination=_contamination(self.contamination, w, True),
                                          n_threads=resolve_n_jobs(self.n_jobs, w), algorithm=self.algorithm)

    def _after_fit(self):
        super()._after_fit()
        self.negative_outlier_factor_ = np.asarray(self._native.negative_outlier_factor)
        self.algorithm_used_ = self._native.algorithm_used
        self.projection_axes_ = int(self._native.projection_axes)
        self.n_neighbors_ = int(self.n_neighbors)
        self.n_samples_fit_ = int(self.negative_outlier_factor_.shape[0])

    @available_if(_novelty)
    def score_samples(self, X):
        """-LOF of new rows (lower = more abnormal); novelty=True only."""
        return super().score_samples(X)

    @available_if(_novelty)
    def decision_function(self, X):
        """``score_samples(X) - offset_``; novelty=True only."""
        return super().decision_function(X)

    @available_if(_novelty)
    def predict(self, X):
        """+1 / -1 for new rows; novelty=True only."""
        return super().predict(X)

    @available_if(_novelty)
    def anomaly_score(self, X):
        """LOF of new rows (higher = more abnormal); novelty=True only."""
        return super().anomaly_score(X)

    @available_if(_outlier_mode)
    def fit_predict(self, X, y=None):
        """Fit and label the training rows (+1 / -1); novelty=False only."""
        self.fit(X)
        return np.where(self.negative_outlier_factor_ < self.offset_, -1, 1)

    def kneighbors(self, X):
        """Distances and indices of the n_neighbors nearest training rows."""
        d, i = self._call("kneighbors", X)
        return np.asarray(d), np.asarray(i)

    def explain(self, X=None) -> pd.DataFrame:
        """Per-feature contributions; ``X=None`` explains the training rows."""
        if X is not None:
            return super().explain(X)
        self._check_fitted()
        C = np.asarray(self._native.explain_training())
        return pd.DataFrame(C, columns=self._feature_names())

    def top_attributes(self, X=None, k: int = 3, flagged_only: bool = True) -> pd.DataFrame:
        """As :meth:`_Detector.top_attributes`; ``X=None`` uses the training rows (outlier
        mode), flagged by ``negative_outlier_factor_ < offset_``."""
        if X is not None:
            return super().top_attributes(X, k=k, flagged_only=flagged_only)
        if not _is_int(k) or k < 1:
            raise ValueError(f"LocalOutlierFactor.top_attributes: k must be a positive integer, got {k!r}")
        self._check_fitted()
        raise_if = getattr(self, "_train_X", None)
        if raise_if is None:
            raise ValueError("LocalOutlierFactor.top_attributes: the training rows are not kept by this model "
                             "(loaded from a file?); pass X")
        C = np.asarray(self._native.explain_training())
        nof = self.negative_outlier_factor_
        return self._top(self._train_X, pd.RangeIndex(len(nof)), int(k), flagged_only, C, nof < self.offset_, -nof)

    _native_class = _native.LocalOutlierFactor


class RobustZScore(_Detector):
    """Robust z-score per feature, ``|x - median| / (1.4826 MAD)``, combined over features.

    ``combine``: "max" (default: the most extreme feature decides), "mean" or "rms".
    A feature with MAD 0 uses 1.2533 x the mean absolute deviation instead; a constant
    feature keeps scale 1 (its deviations count in raw units) and is listed in
    ``constant_features_``. ``explain`` returns ``|z|`` per feature; ``zscores`` the
    signed z.
    """

    _parameter_constraints = {"contamination": [Interval(numbers.Real, 0, 0.5, closed="right")]}

    def __init__(self, *, combine="max", contamination=0.1):
        self.combine = combine
        self.contamination = contamination

    def _build(self, X):
        if self.combine not in ("max", "mean", "rms"):
            raise ValueError(f"RobustZScore: combine must be 'max', 'mean' or 'rms', got {self.combine!r}")
        return _native.RobustZScore(combine=self.combine,
                                    contamination=_contamination(self.contamination, "RobustZScore", False))

    def _after_fit(self):
        super()._after_fit()
        self.center_ = np.asarray(self._native.center)
        self.scale_ = np.asarray(self._native.scale)
        const = np.asarray(self._native.constant).astype(bool)
        self.constant_features_ = np.asarray(self._feature_names(), dtype=object)[const]

    def zscores(self, X):
        """Signed robust z per feature, ``(x - center_) / scale_``."""
        return np.asarray(self._call("transform", X))

    _native_class = _native.RobustZScore


class HBOS(_Detector):
    """Histogram-based outlier score (Goldstein & Dengel 2012), PyOD's static variant.

    ``anomaly_score = sum_f -log2(density_f(x) + alpha)`` with ``n_bins`` equal-width
    bins per feature (numpy.histogram's edges and counts; a constant feature gets the range
    value +- 0.5, so no division by zero). Values outside the training range by at most
    ``tol`` bin widths take the edge bin, farther ones the lowest density. Scores equal
    PyOD's ``HBOS(n_bins, alpha, tol).decision_function``. ``explain`` returns the
    per-feature terms ``-log2(density + alpha)`` (they sum to ``anomaly_score``).
    """

    _parameter_constraints = {"contamination": [Interval(numbers.Real, 0, 0.5, closed="right")]}

    def __init__(self, n_bins=10, *, alpha=0.1, tol=0.5, contamination=0.1, n_jobs=None):
        self.n_bins = n_bins
        self.alpha = alpha
        self.tol = tol
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _build(self, X):
        if not _is_int(self.n_bins) or self.n_bins < 2:
            raise ValueError(f"HBOS: n_bins must be an integer >= 2, got {self.n_bins!r}")
        for name in ("alpha", "tol"):
            if not _is_real(getattr(self, name)):
                raise ValueError(f"HBOS: {name} must be a float, got {getattr(self, name)!r}")
        return _native.HBOS(n_bins=int(self.n_bins), alpha=float(self.alpha), tol=float(self.tol),
                            contamination=_contamination(self.contamination, "HBOS", False),
                            n_threads=resolve_n_jobs(self.n_jobs, "HBOS"))

    def _after_fit(self):
        super()._after_fit()
        self.bin_edges_ = np.asarray(self._native.edges)
        self.hist_ = np.asarray(self._native.density)

    _native_class = _native.HBOS


class ECOD(_Detector):
    """Empirical-CDF outlier detection (Li, Zhao, Hu, Botta, Ionescu & Chen 2022).

    Per feature, left and right tail probabilities from the training ECDF (floored at 1/n)
    give ``U_l = -log F_left`` and ``U_r = -log F_right``; ``U_auto`` picks the tail by the
    sign of the feature's skewness.

    ``aggregation="paper"`` (default) is Algorithm 1 of the paper:
    ``O = max(sum U_l, sum U_r, sum U_auto)``. ``aggregation="pyod"`` reproduces PyOD's
    ``ECOD``, which instead sums the per-feature maximum ``max(U_l, U_r, U_skew)``
    (yzhao062/pyod#453); with it the training scores equal PyOD's ``decision_scores_``.
    New rows are always scored against the training ECDFs (PyOD re-fits them on train +
    new rows, pyod#401). ``explain`` returns each feature's dimensional outlier score
    ``max(U_l, U_r)`` ("paper"; the terms of the winning sum would hide a feature in the
    other tail when the rest of the row outweighs it) or PyOD's per-feature terms ("pyod",
    which sum to ``anomaly_score``).
    """

    _parameter_constraints = {"contamination": [Interval(numbers.Real, 0, 0.5, closed="right")]}

    def __init__(self, *, aggregation="paper", contamination=0.1, n_jobs=None):
        self.aggregation = aggregation
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _build(self, X):
        if self.aggregation not in ("paper", "pyod"):
            raise ValueError(f"ECOD: aggregation must be 'paper' or 'pyod', got {self.aggregation!r}")
        return _native.ECOD(aggregation=self.aggregation,
                            contamination=_contamination(self.contamination, "ECOD", False),
                            n_threads=resolve_n_jobs(self.n_jobs, "ECOD"))

    def _after_fit(self):
        super()._after_fit()
        self.skewness_ = np.asarray(self._native.skewness)

    def tail_scores(self, X):
        """(left, right) per-feature tail scores ``-log F``."""
        left, right = self._call("tail_scores", X)
        return np.asarray(left), np.asarray(right)

    _native_class = _native.ECOD


class EllipticEnvelope(_Detector):
    """Robust Gaussian envelope: FastMCD location and covariance (Rousseeuw & Van Driessen
    1999) with scikit-learn's consistency correction and reweighting (``MinCovDet``);
    ``score_samples = -squared Mahalanobis distance``.

    ``support_fraction``: share of rows in the MCD subset (None: ``(n + d + 1) / 2``).
    ``n_trials``: random starts (500 as in the paper). Attributes as scikit-learn's:
    ``location_``, ``covariance_``, ``precision_``, ``raw_location_``,
    ``raw_covariance_``, ``support_``, ``dist_``, ``offset_``.

    ``explain``: ``z_f (P z)_f`` with ``z = x - location_`` and ``P = precision_``: the exact
    Shapley values of the squared Mahalanobis distance (they sum to it; a feature explained
    away by correlated ones can be negative).
    """

    _parameter_constraints = {"contamination": [Interval(numbers.Real, 0, 0.5, closed="right")]}

    def __init__(self, *, support_fraction=None, contamination=0.1, n_trials=500, random_state=None):
        self.support_fraction = support_fraction
        self.contamination = contamination
        self.n_trials = n_trials
        self.random_state = random_state

    def _build(self, X):
        sf = self.support_fraction
        if sf is not None and (not _is_real(sf) or not (0.0 < sf <= 1.0)):
            raise ValueError(f"EllipticEnvelope: support_fraction must be None or a float in (0, 1], got {sf!r}")
        if not _is_int(self.n_trials) or self.n_trials < 1:
            raise ValueError(f"EllipticEnvelope: n_trials must be a positive integer, got {self.n_trials!r}")
        if X.shape[0] < 2:
            raise ValueError(f"EllipticEnvelope: needs at least 2 samples, got n_samples = {X.shape[0]}")
        return _native.EllipticEnvelope(support_fraction=0.0 if sf is None else float(sf),
                                        contamination=_contamination(self.contamination, "EllipticEnvelope", False),
                                        seed=_seed(self.random_state), n_trials=int(self.n_trials))

    def _after_fit(self):
        super()._after_fit()
        n = self._native
        self.location_ = np.asarray(n.location)
        self.covariance_ = np.asarray(n.covariance)
        self.precision_ = np.asarray(n.precision)
        self.raw_location_ = np.asarray(n.raw_location)
        self.raw_covariance_ = np.asarray(n.raw_covariance)
        self.support_ = np.asarray(n.support).astype(bool)
        self.dist_ = np.asarray(n.dist)

    def mahalanobis(self, X):
        """Squared Mahalanobis distances to ``location_``."""
        return np.asarray(self._call("mahalanobis", X))

    _native_class = _native.EllipticEnvelope


# ---------------------------------------------------------------------------------
# Demo: irregular customers and orders of the bundled transactions


def _customer_features(df: pd.DataFrame) -> pd.DataFrame:
    amount = df["Quantity"] * df["UnitPrice"]
    d = df.assign(Amount=amount, IsReturn=df["Quantity"] < 0)
    g = d.groupby("CustomerID")
    orders = d[~d["IsReturn"]].groupby("CustomerID")["InvoiceNo"].nunique()
    span = (g["InvoiceDate"].max() - g["InvoiceDate"].min()).dt.days
    out = pd.DataFrame({
        "orders": orders,
        "lines": g.size(),
        "spend": g["Amount"].sum(),
        "products": g["StockCode"].nunique(),
        "max_quantity": g["Quantity"].max(),
        "mean_unit_price": g["UnitPrice"].mean(),
        "return_share": g["IsReturn"].mean(),
        "active_days": span,
    }).fillna(0.0)
    out["spend_per_order"] = out["spend"] / out["orders"].clip(lower=1)
    return out.astype(float)


def _order_features(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["Quantity"] > 0].assign(Amount=df["Quantity"] * df["UnitPrice"])
    g = d.groupby("InvoiceNo")
    return pd.DataFrame({
        "lines": g.size(),
        "total": g["Amount"].sum(),
        "max_quantity": g["Quantity"].max(),
        "max_unit_price": g["UnitPrice"].max(),
        "products": g["StockCode"].nunique(),
    }).astype(float)


def _markdown_table(tab: pd.DataFrame, fmt=None) -> str:
    cols = list(tab.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in tab.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:,.2f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _section(title, feats, model, n_show, id_name):
    model.fit(feats)
    score = pd.Series(model.anomaly_score(feats), index=feats.index)
    top = score.sort_values(ascending=False).head(n_show)
    attrs = model.top_attributes(feats.loc[top.index], k=3, flagged_only=False)
    rows = []
    for rid in top.index:
        a = attrs[attrs["row"] == rid]
        desc = "; ".join(f"{f} = {v:,.2f} (typical {lo:,.2f}..{hi:,.2f})"
                         for f, v, lo, hi in zip(a["feature"], a["value"], a["typical_low"], a["typical_high"]))
        rows.append({id_name: rid, "anomaly score": float(top[rid]), "top irregular attributes": desc})
    flagged = int((model.predict(feats) == -1).sum())
    text = [f"### {title}", "",
            f"{type(model).__name__} on {len(feats):,} {id_name.lower()}s x {feats.shape[1]} features "
            f"({', '.join(feats.columns)}); {flagged:,} flagged at contamination "
            f"{model.contamination}. The {n_show} most anomalous:", "",
            _markdown_table(pd.DataFrame(rows)), ""]
    return "\n".join(text)


def demo_report(out_dir) -> str:
    """Irregular-records section for ``custmine demo``: the most anomalous customers and
    orders of the bundled Online Retail sample, each with its top irregular attributes.

    Writes ``irregular_records.md`` into ``out_dir`` and returns the markdown.
    """
    from .datasets import load_online_retail

    df = load_online_retail()
    cust = _customer_features(df)
    orders = _order_features(df)
    parts = ["## Irregular records", "",
             "Which customers and orders break pattern, and which attributes make them irregular "
             "(`custmine.anomaly`; typical = 5th-95th percentile of all rows).", "",
             _section("Customers", cust, IsolationForest(n_estimators=200, contamination=0.02, random_state=0),
                      10, "CustomerID"),
             _section("Orders", orders, ECOD(contamination=0.01), 10, "InvoiceNo")]
    md = "\n".join(parts)
    out = Path(os.fspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)
    (out / "irregular_records.md").write_text(md, encoding="utf-8")
    return md
