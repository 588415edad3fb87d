"""Classification metrics and the marketer's evaluation toolkit.

Native and fast (one sort, O(n log n), for the ranking metrics): ``roc_auc_score``,
``roc_curve``, ``average_precision_score``, ``ks_statistic``, ``log_loss``,
``brier_score_loss``, ``confusion_matrix``, ``accuracy_score``, ``precision_score``,
``recall_score``, ``f1_score``, ``fbeta_score``, ``precision_recall_fscore_support``,
``calibration_curve``. Signatures and results follow scikit-learn's (ties count as one
threshold; zero divisions give 0 without a warning).

Marketing tables: ``gains_table`` (deciles with response rate, cumulative capture,
lift), ``profit_curve`` (profit by number of customers contacted, best cutoff) and
``benchmark_variants`` (model variants under one scikit-learn cross-validation: fit /
predict time, peak memory, every score).
"""
from __future__ import annotations

import dataclasses
import threading
import time
import numbers

import numpy as np
import pandas as pd

from . import _core

_m = _core.metrics

__all__ = [
    "accuracy_score",
    "average_precision_score",
    "benchmark_variants",
    "brier_score_loss",
    "calibration_curve",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "gains_table",
    "ks_statistic",
    "log_loss",
    "precision_recall_fscore_support",
    "precision_score",
    "profit_curve",
    "ProfitCurve",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
]


# ---------------------------------------------------------------------------------
# Input helpers


def _threads(n_jobs, where):
    from ._base import resolve_n_jobs

    return resolve_n_jobs(n_jobs, where)


def _1d(values, name, where, dtype=None):
    a = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-dimensional, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{where}: {name} is empty")
    if dtype is not None:
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {name} must be numeric, got dtype {a.dtype}")
        a = np.ascontiguousarray(a, dtype=dtype)
        if dtype == np.float64 and not np.isfinite(a).all():
            bad = int(np.flatnonzero(~np.isfinite(a))[0])
            raise ValueError(f"{where}: {name} contains NaN or infinity (first at position {bad})")
    return a


def _weights(sample_weight, n, where):
    if sample_weight is None:
        return None
    w = _1d(sample_weight, "sample_weight", where, np.float64)
    if w.shape[0] != n:
        raise ValueError(f"{where}: sample_weight has {w.shape[0]} rows but y_true has {n}")
    return w


def _missing(a):
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind == "O":
        return pd.isna(a)
    return np.zeros(a.shape, dtype=bool)


def _binary_y(y_true, pos_label, where):
    """0/1 bytes for binary labels; pos_label as in scikit-learn (needed unless the
    labels are {0, 1}, {-1, 1} or booleans)."""
    y = _1d(y_true, "y_true", where)
    if _missing(y).any():
        raise ValueError(f"{where}: y_true has a missing value (first at position {int(np.flatnonzero(_missing(y))[0])})")
    classes = np.unique(y)
    if classes.shape[0] > 2:
        raise ValueError(f"{where}: y_true must be binary, got {classes.shape[0]} classes ({classes[:5].tolist()}...)")
    if pos_label is None:
        if y.dtype.kind == "b":
            pos_label = True
        elif y.dtype.kind in "iuf" and set(classes.tolist()) <= {0, 1, -1}:
            pos_label = 1
        else:
            raise ValueError(
                f"{where}: y_true labels are {classes.tolist()}; pass pos_label to say which is positive"
            )
    elif pos_label not in set(classes.tolist()) and classes.shape[0] == 2:
        raise ValueError(f"{where}: pos_label={pos_label!r} is not a label of y_true ({classes.tolist()})")
    return np.ascontiguousarray(y == pos_label, dtype=np.uint8)


def _score(y_score, n, where, name="y_score"):
    s = _1d(y_score, name, where, np.float64)
    if s.shape[0] != n:
        raise ValueError(f"{where}: {name} has {s.shape[0]} rows but y_true has {n}")
    return s


def _labels(y_true, y_pred, labels, where):
    t = _1d(y_true, "y_true", where)
    p = _1d(y_pred, "y_pred", where)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"{where}: y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if _missing(a).any():
            raise ValueError(f"{where}: {name} has a missing value")
    if labels is None:
        labels = np.unique(np.concatenate([t, p]) if t.dtype == p.dtype else np.concatenate([t.astype(object), p.astype(object)]))
    else:
        labels = np.asarray(labels)
        if labels.shape[0] == 0:
            raise ValueError(f"{where}: labels is empty")
    index = pd.Index(labels)
    if not index.is_unique:
        raise ValueError(f"{where}: labels must be unique")
    tc = index.get_indexer(t)
    pc = index.get_indexer(p)
    # Rows whose true or predicted label is outside `labels` are left out, as in scikit-learn.
    keep = (tc >= 0) & (pc >= 0)
    return np.ascontiguousarray(tc[keep], dtype=np.int64), np.ascontiguousarray(pc[keep], dtype=np.int64), labels, keep


# ---------------------------------------------------------------------------------
# Ranking metrics


def roc_auc_score(y_true, y_score, *, pos_label=None, sample_weight=None, multi_class="raise", labels=None,
                  n_jobs=None):
    """Area under the ROC curve (ties count half, the trapezoid rule).

    Binary ``y_true`` with 1-D scores for the positive class; for a 2-D score matrix
    with ``multi_class="ovr"`` the unweighted mean of the one-vs-rest AUCs is returned."""
    where = "roc_auc_score"
    threads = _threads(n_jobs, where)
    s2 = np.asarray(y_score)
    if s2.ndim == 2 and s2.shape[1] > 2:
        if multi_class != "ovr":
            raise ValueError(f"{where}: a score matrix with {s2.shape[1]} columns needs multi_class='ovr'")
        y = _1d(y_true, "y_true", where)
        classes = np.unique(y) if labels is None else np.asarray(labels)
        if classes.shape[0] != s2.shape[1]:
            raise ValueError(f"{where}: y_score has {s2.shape[1]} columns but there are {classes.shape[0]} classes")
        w = _weights(sample_weight, y.shape[0], where)
        return float(np.mean([
            _m.roc_auc(np.ascontiguousarray(y == c, dtype=np.uint8), _score(s2[:, k], y.shape[0], where), w, threads)
            for k, c in enumerate(classes)
        ]))
    if s2.ndim == 2 and s2.shape[1] == 2:
        s2 = s2[:, 1]
    y = _binary_y(y_true, pos_label, where)
    return float(_m.roc_auc(y, _score(s2, y.shape[0], where), _weights(sample_weight, y.shape[0], where), threads))


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True, n_jobs=None):
    """False positive rate, true positive rate and thresholds (scikit-learn's layout:
    the first threshold is +inf, where nobody is selected)."""
    where = "roc_curve"
    y = _binary_y(y_true, pos_label, where)
    s = _score(y_score, y.shape[0], where)
    thr, tps, fps = _m.binary_curve(y, s, _weights(sample_weight, y.shape[0], where), bool(drop_intermediate),
                                    _threads(n_jobs, where))
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thr = np.r_[np.inf, thr]
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full_like(fps, np.nan)
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
    return fpr, tpr, thr


def average_precision_score(y_true, y_score, *, pos_label=None, sample_weight=None, n_jobs=None):
    """Average precision: sum over thresholds of (R_t - R_{t-1}) P_t (no interpolation)."""
    where = "average_precision_score"
    y = _binary_y(y_true, pos_label, where)
    return float(_m.average_precision(y, _score(y_score, y.shape[0], where),
                                      _weights(sample_weight, y.shape[0], where), _threads(n_jobs, where)))


def ks_statistic(y_true, y_score, *, pos_label=None, sample_weight=None, n_jobs=None):
    """Kolmogorov-Smirnov statistic: the largest gap between the score distributions of
    positives and negatives, max |TPR - FPR| (equals scipy.stats.ks_2samp's statistic)."""
    where = "ks_statistic"
    y = _binary_y(y_true, pos_label, where)
    return float(_m.ks_statistic(y, _score(y_score, y.shape[0], where),
                                 _weights(sample_weight, y.shape[0], where), _threads(n_jobs, where)))


def brier_score_loss(y_true, y_proba, *, pos_label=None, sample_weight=None):
    """Mean squared difference between the positive-class probability and the outcome."""
    where = "brier_score_loss"
    y = _binary_y(y_true, pos_label, where)
    return float(_m.brier_score(y, _score(y_proba, y.shape[0], where, "y_proba"), _weights(sample_weight, y.shape[0], where)))


def log_loss(y_true, y_proba, *, labels=None, sample_weight=None):
    """Mean negative log-likelihood; ``y_proba`` is n x k (columns in sorted label
    order, or ``labels``) or 1-D positive-class probabilities for binary labels."""
    where = "log_loss"
    y = _1d(y_true, "y_true", where)
    P = np.asarray(y_proba, dtype=np.float64)
    classes = np.unique(y) if labels is None else np.asarray(labels)
    if P.ndim == 1:
        P = np.column_stack([1.0 - P, P])
    if P.ndim != 2:
        raise ValueError(f"{where}: y_proba must be 1- or 2-dimensional")
    if classes.shape[0] == 1 and P.shape[1] == 2:
        raise ValueError(f"{where}: y_true holds one label only ({classes[0]!r}); pass labels=[...] with both classes")
    if P.shape[1] != classes.shape[0]:
        raise ValueError(f"{where}: y_proba has {P.shape[1]} columns but there are {classes.shape[0]} labels")
    codes = pd.Index(classes).get_indexer(y)
    if (codes < 0).any():
        raise ValueError(f"{where}: y_true holds a label not in labels (first at position {int(np.flatnonzero(codes < 0)[0])})")
    return float(_m.log_loss(np.ascontiguousarray(codes, dtype=np.int64), np.ascontiguousarray(P),
                             _weights(sample_weight, y.shape[0], where)))


# ---------------------------------------------------------------------------------
# Confusion-matrix metrics


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """k x k matrix, rows = true label, columns = predicted label (labels sorted, or as given).
    ``normalize`` in {None, "true", "pred", "all"}."""
    where = "confusion_matrix"
    t, p, labels, keep = _labels(y_true, y_pred, labels, where)
    w = _weights(sample_weight, keep.shape[0], where)
    if w is not None:
        w = np.ascontiguousarray(w[keep])
    cm = np.asarray(_m.confusion_matrix(t, p, len(labels), w))
    if normalize is None:
        return cm.astype(np.int64) if sample_weight is None else cm
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        else:
            raise ValueError(f"{where}: normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    return np.nan_to_num(cm)


def accuracy_score(y_true, y_pred, *, sample_weight=None):
    """Share of correct predictions (weighted)."""
    where = "accuracy_score"
    t, p, labels, keep = _labels(y_true, y_pred, None, where)
    w = _weights(sample_weight, keep.shape[0], where)
    return float(_m.accuracy(_m.confusion_matrix(t, p, len(labels), w)))


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    sample_weight=None):
    """Per-class precision, recall, F-beta and support, or their average
    (``average`` in {None, "binary", "micro", "macro", "weighted"}); returns a 4-tuple
    like scikit-learn (support is None when averaged)."""
    where = "precision_recall_fscore_support"
    if not isinstance(beta, numbers.Real) or not beta > 0:
        raise ValueError(f"{where}: beta must be positive, got {beta!r}")
    t, p, labels, keep = _labels(y_true, y_pred, labels, where)
    w = _weights(sample_weight, keep.shape[0], where)
    if w is not None:
        w = np.ascontiguousarray(w[keep])
    cm = _m.confusion_matrix(t, p, len(labels), w)
    pos = 0
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(f"{where}: average='binary' needs binary labels, got {len(labels)}; use 'macro', 'micro' or 'weighted'")
        idx = np.flatnonzero(np.asarray(labels) == pos_label)
        if idx.shape[0] == 0:
            if len(labels) == 1:  # only the negative class seen: every score is 0
                return 0.0, 0.0, 0.0, None
            raise ValueError(f"{where}: pos_label={pos_label!r} is not a label ({list(labels)})")
        pos = int(idx[0])
    d = _m.precision_recall_fscore(cm, float(beta), "none" if average is None else average, pos)
    if average is None:
        return d["precision"], d["recall"], d["fscore"], d["support"].astype(np.int64)
    pr, rc, f = d["average"]
    return float(pr), float(rc), float(f), None


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None):
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight)[0]


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None):
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight)[1]


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None):
    return precision_recall_fscore_support(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
                                           average=average, sample_weight=sample_weight)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None):
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight)


def calibration_curve(y_true, y_prob, *, pos_label=None, n_bins=5, strategy="uniform"):
    """Observed positive rate and mean prediction per probability bin (non-empty bins),
    as scikit-learn's ``sklearn.calibration.calibration_curve``."""
    where = "calibration_curve"
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"{where}: strategy must be 'uniform' or 'quantile', got {strategy!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"{where}: n_bins must be a positive integer, got {n_bins!r}")
    y = _binary_y(y_true, pos_label, where)
    prob_true, prob_pred, _ = _m.calibration_curve(y, _score(y_prob, y.shape[0], where, "y_prob"), int(n_bins),
                                                   strategy == "quantile")
    return prob_true, prob_pred


# ---------------------------------------------------------------------------------
# Marketing tables


def gains_table(y_true, y_score, *, bins=10, pos_label=None, n_jobs=None) -> pd.DataFrame:
    """Cumulative gains and lift by score group (deciles by default).

    Customers are ranked by score, highest first (ties keep input order) and cut into
    ``bins`` groups whose sizes differ by at most one. Columns: ``bin`` (1 = best),
    ``customers``, ``responders``, ``response_rate``, ``min_score``, ``max_score``,
    ``cum_customers``, ``cum_customers_pct``, ``cum_responders``, ``cum_captured_pct``
    (share of all responders reached so far, in %), ``cum_response_rate``, ``lift``
    (group response rate / overall rate) and ``cum_lift``.
    """
    where = "gains_table"
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise ValueError(f"{where}: bins must be an integer, got {bins!r}")
    y = _binary_y(y_true, pos_label, where)
    s = _score(y_score, y.shape[0], where)
    g = _m.gains_table(y, s, int(bins), _threads(n_jobs, where))
    t = pd.DataFrame({"bin": np.arange(1, int(bins) + 1), "customers": g["customers"],
                      "responders": g["responders"].astype(np.int64)})
    overall = y.mean()
    t["response_rate"] = t["responders"] / t["customers"]
    t["min_score"] = g["min_score"]
    t["max_score"] = g["max_score"]
    t["cum_customers"] = t["customers"].cumsum()
    t["cum_customers_pct"] = 100.0 * t["cum_customers"] / y.shape[0]
    t["cum_responders"] = t["responders"].cumsum()
    total = max(int(y.sum()), 1)
    t["cum_captured_pct"] = 100.0 * t["cum_responders"] / total
    t["cum_response_rate"] = t["cum_responders"] / t["cum_customers"]
    with np.errstate(invalid="ignore", divide="ignore"):
        t["lift"] = t["response_rate"] / overall if overall > 0 else np.nan
        t["cum_lift"] = t["cum_response_rate"] / overall if overall > 0 else np.nan
    return t


@dataclasses.dataclass
class ProfitCurve:
    """Result of :func:`profit_curve`.

    ``table`` has one row per number of contacted customers k = 0..n: ``contacted``,
    ``contacted_pct``, ``responders`` (observed, or expected when y_true is None),
    ``profit`` and ``threshold`` (score of the k-th contacted customer).
    ``best_contacts`` is the smallest k with the highest profit."""

    table: pd.DataFrame
    best_contacts: int
    best_profit: float
    best_threshold: float


def profit_curve(y_true, y_score, *, cost_per_contact, revenue_per_response, pos_label=None,
                 n_jobs=None) -> ProfitCurve:
    """Profit of contacting the top-k customers by score, for every k.

    profit(k) = revenue_per_response * responders among the top k - cost_per_contact * k.
    With ``y_true=None`` the scores are taken as response probabilities and the
    expected profit is reported (for deciding whom to call before the campaign)."""
    where = "profit_curve"
    for name, v in (("cost_per_contact", cost_per_contact), ("revenue_per_response", revenue_per_response)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{where}: {name} must be a finite number, got {v!r}")
    if y_true is None:
        y = None
        s = _1d(y_score, "y_score", where, np.float64)
    else:
        y = _binary_y(y_true, pos_label, where)
        s = _score(y_score, y.shape[0], where)
    profit, thr, best = _m.profit_curve(y, s, float(cost_per_contact), float(revenue_per_response),
                                        _threads(n_jobs, where))
    n = s.shape[0]
    k = np.arange(n + 1)
    responders = (profit + float(cost_per_contact) * k) / float(revenue_per_response) if revenue_per_response != 0 else np.full(n + 1, np.nan)
    table = pd.DataFrame({"contacted": k, "contacted_pct": 100.0 * k / n, "responders": responders,
                          "profit": profit, "threshold": thr})
    return ProfitCurve(table=table, best_contacts=int(best), best_profit=float(profit[best]),
                       best_threshold=float(thr[best]))


# ---------------------------------------------------------------------------------
# Benchmarking model variants


class _PeakRSS:
    """Peak resident-set growth over a block, sampled every 2 ms on a helper thread
    (covers native allocations, which tracemalloc does not see)."""

    def __init__(self):
        import psutil

        self._proc = psutil.Process()
        self.peak = 0

    def __enter__(self):
        self._base = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss - self._base)
            self._stop.wait(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss - self._base)
        return False


def benchmark_variants(models: dict, X, y, *, cv=5, scoring=("roc_auc", "average_precision", "neg_log_loss"),
                       random_state=None) -> pd.DataFrame:
    """Fit each model variant under the same cross-validation and compare them.

    ``models`` maps a name to an unfitted scikit-learn-compatible estimator (custmine's or
    any other); ``cv`` is an int (stratified K-fold for classifiers, shuffled with
    ``random_state`` when given) or any scikit-learn splitter / iterable of splits;
    ``scoring`` is a scorer name, a callable ``scorer(estimator, X, y)``, or a list/dict of
    them. Returns a tidy DataFrame with one row per (model, fold): ``model``, ``fold``,
    ``fit_time_s``, ``predict_time_s`` (scoring time on the test fold), ``peak_memory_mb``
    (peak RSS growth during fit, sampled), and one column per score. Summarise with
    ``df.groupby("model").mean()`` or plot with ``custmine.plotting.plot_benchmark``.
    """
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv

    where = "benchmark_variants"
    if not isinstance(models, dict) or not models:
        raise ValueError(f"{where}: models must be a non-empty dict of name -> estimator")
    if isinstance(scoring, str) or callable(scoring):
        scoring = [scoring]
    if isinstance(scoring, dict):
        scorers = {k: check_scoring(None, scoring=v) if isinstance(v, str) else v for k, v in scoring.items()}
    else:
        scorers = {}
        for sc in scoring:
            name = sc if isinstance(sc, str) else getattr(sc, "__name__", f"score_{len(scorers)}")
            scorers[name] = check_scoring(None, scoring=sc) if isinstance(sc, str) else sc
    first = next(iter(models.values()))
    if isinstance(cv, numbers.Integral) and random_state is not None:
        from sklearn.model_selection import KFold, StratifiedKFold

        cv = (StratifiedKFold if is_classifier(first) else KFold)(int(cv), shuffle=True, random_state=random_state)
    splitter = check_cv(cv, y, classifier=is_classifier(first))
    splits = list(splitter.split(X, y))

    def take(a, idx):
        return a.iloc[idx] if hasattr(a, "iloc") else np.asarray(a)[idx]

    rows = []
    for name, est in models.items():
        for fold, (tr, te) in enumerate(splits):
            model = clone(est)
            Xtr, ytr, Xte, yte = take(X, tr), take(y, tr), take(X, te), take(y, te)
            with _PeakRSS() as mem:
                t0 = time.perf_counter()
                model.fit(Xtr, ytr)
                fit_time = time.perf_counter() - t0
            row = {"model": name, "fold": fold, "fit_time_s": fit_time, "peak_memory_mb": mem.peak / 2**20}
            t0 = time.perf_counter()
            for sname, scorer in scorers.items():
                row[sname] = float(scorer(model, Xte, yte))
            row["predict_time_s"] = time.perf_counter() - t0
            rows.append(row)
    cols = ["model", "fold", "fit_time_s", "predict_time_s", "peak_memory_mb", *scorers]
    return pd.DataFrame(rows)[cols]
