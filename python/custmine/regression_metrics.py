"""Regression metrics computed by the native core (scikit-learn's definitions).

``mean_absolute_error``, ``mean_squared_error``, ``root_mean_squared_error``,
``mean_absolute_percentage_error`` (|y - yhat| / max(|y|, eps)), ``r2_score``,
``explained_variance_score``, ``mean_poisson_deviance``, ``mean_gamma_deviance``,
``mean_tweedie_deviance(power)`` and ``d2_tweedie_score(power)``, all with an optional
``sample_weight``. Errors (shape, NaN, domain) raise ``ValueError`` naming the argument.
"""
from __future__ import annotations

import numpy as np

from . import _core

_r = _core.regression

__all__ = [
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_percentage_error",
    "r2_score",
    "explained_variance_score",
    "mean_poisson_deviance",
    "mean_gamma_deviance",
    "mean_tweedie_deviance",
    "d2_tweedie_score",
]


def _vec(a, name, where):
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be numeric") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _args(where, y_true, y_pred, sample_weight):
    w = None if sample_weight is None else _vec(sample_weight, "sample_weight", where)
    return _vec(y_true, "y_true", where), _vec(y_pred, "y_pred", where), w


def _make(name):
    native = getattr(_r, name)

    def metric(y_true, y_pred, *, sample_weight=None) -> float:
        return float(native(*_args(name, y_true, y_pred, sample_weight)))

    metric.__name__ = name
    metric.__doc__ = f"{name.replace('_', ' ')} (native; same definition as scikit-learn's)."
    return metric


mean_absolute_error = _make("mean_absolute_error")
mean_squared_error = _make("mean_squared_error")
root_mean_squared_error = _make("root_mean_squared_error")
mean_absolute_percentage_error = _make("mean_absolute_percentage_error")
r2_score = _make("r2_score")
explained_variance_score = _make("explained_variance_score")
mean_poisson_deviance = _make("mean_poisson_deviance")
mean_gamma_deviance = _make("mean_gamma_deviance")


def mean_tweedie_deviance(y_true, y_pred, *, power=0.0, sample_weight=None) -> float:
    """Mean Tweedie unit deviance for ``power`` 0 or >= 1 (1 Poisson, 2 Gamma)."""
    y, p, w = _args("mean_tweedie_deviance", y_true, y_pred, sample_weight)
    return float(_r.mean_tweedie_deviance(y, p, float(power), w))


def d2_tweedie_score(y_true, y_pred, *, power=0.0, sample_weight=None) -> float:
    """Fraction of Tweedie deviance explained relative to the (weighted) mean."""
    y, p, w = _args("d2_tweedie_score", y_true, y_pred, sample_weight)
    return float(_r.d2_tweedie_score(y, p, float(power), w))
