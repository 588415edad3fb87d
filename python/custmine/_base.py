"""Shared machinery for the public estimators and table functions.

The Python layer is thin: it validates input once, converts it to the contiguous
arrays the native core reads without a copy, and wraps results in pandas. No model
math lives here.
"""
from __future__ import annotations

import json
import numbers
import os

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from . import _core

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _sk_validate_data = None

__all__ = [
    "NativeModelMixin",
    "ProbaClassifierMixin",
    "resolve_n_jobs",
    "validate_X",
    "require_columns",
    "as_datetime",
    "as_day",
    "as_numeric",
    "as_labels",
]


# ---------------------------------------------------------------------------------
# Threads


def resolve_n_jobs(n_jobs, where: str = "n_jobs") -> int:
    """Threads for ``n_jobs`` under joblib's rule: None -> 1, -1 -> all cores, -2 -> all but one."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"{where}: n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    return int(_core.resolve_threads(int(n_jobs)))


# ---------------------------------------------------------------------------------
# Arrays


def check_bool(value, name: str, where: str) -> bool:
    """value as a bool; ValueError naming the argument when it is not True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def validate_X(estimator, X, *, reset: bool, y=None, **kwargs):
    """scikit-learn's validate_data (keeps ``feature_names_in_``/``n_features_in_``),
    returning float64 C-contiguous arrays the core views without a copy."""
    kwargs.setdefault("dtype", np.float64)
    kwargs.setdefault("order", "C")
    if _sk_validate_data is None and "ensure_all_finite" in kwargs:  # pragma: no cover
        kwargs["force_all_finite"] = kwargs.pop("ensure_all_finite")  # its name before 1.6
    if _sk_validate_data is not None:
        if y is None:
            return _sk_validate_data(estimator, X, reset=reset, **kwargs)
        return _sk_validate_data(estimator, X, y, reset=reset, **kwargs)
    if y is None:  # pragma: no cover
        return estimator._validate_data(X, reset=reset, **kwargs)
    return estimator._validate_data(X, y, reset=reset, **kwargs)  # pragma: no cover


# ---------------------------------------------------------------------------------
# Table columns (functions that take transaction DataFrames)


def require_columns(df: pd.DataFrame, columns: dict, where: str) -> None:
    """Fail with the argument and the missing column name."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    for arg, col in columns.items():
        if col is None:
            continue
        if col not in df.columns:
            raise ValueError(
                f"{where}: {arg}={col!r} is not a column of the table "
                f"(columns: {', '.join(map(str, df.columns[:12]))}{'...' if len(df.columns) > 12 else ''})"
            )


def _first_missing(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def as_datetime(values, name: str, where: str) -> np.ndarray:
    """Dates as int64 nanoseconds since the epoch; strings are parsed, failures named."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            raise ValueError(f"{where}: {name} must hold dates, got numbers (dtype {s.dtype})")
        try:
            s = pd.to_datetime(s, errors="raise")
        except (ValueError, TypeError, OverflowError):
            try:  # pandas infers one format from the first value; allow a mix
                s = pd.to_datetime(s, errors="raise", format="mixed")
            except (ValueError, TypeError, OverflowError) as exc:
                raise ValueError(f"{where}: {name} holds values that are not dates ({exc})") from None
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = s.isna().to_numpy()
    if missing.any():
        raise ValueError(f"{where}: {name} has a missing date (first at row {_first_missing(missing)})")
    return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def as_day(value, name: str, where: str) -> int:
    """A single date-like value (e.g. ``as_of``) as whole days since the epoch (UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {name} is not a date ({exc})") from None
    if ts is pd.NaT:
        raise ValueError(f"{where}: {name} is missing (NaT)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.normalize().value // 86_400_000_000_000)


def as_numeric(values, name: str, where: str) -> np.ndarray:
    """Finite float64 values; non-numeric, NaN and infinity are named errors."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        raise ValueError(f"{where}: {name} must be numeric, got dtype {s.dtype}")
    a = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{where}: {name} has NaN or infinity (first at row {_first_missing(bad)})")
    return np.ascontiguousarray(a)


def as_labels(values, name: str, where: str, sort: bool = True):
    """Integer codes 0..k-1 and the unique labels (sorted), refusing missing labels.

    Integer labels go to the native hash factorizer; other labels use pandas."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):  # nullable Int64 may hold <NA>
            missing = s.isna().to_numpy()
            if missing.any():
                raise ValueError(f"{where}: {name} has a missing value (first at row {_first_missing(missing)})")
        codes, uniques = _core.factorize_int64(np.ascontiguousarray(s.to_numpy(dtype=np.int64)))
        return codes, pd.Index(uniques.astype(s.dtype, copy=False), name=None)
    codes, uniques = pd.factorize(s, sort=sort)  # missing values get code -1
    missing = codes < 0
    if missing.any():
        raise ValueError(f"{where}: {name} has a missing value (first at row {_first_missing(missing)})")
    return np.ascontiguousarray(codes, dtype=np.int64), pd.Index(uniques)


# ---------------------------------------------------------------------------------
# Classifiers


class ProbaClassifierMixin:
    """``predict`` and ``predict_log_proba`` derived from ``predict_proba`` and ``classes_``."""

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


# ---------------------------------------------------------------------------------
# Native models: JSON save/load and pickling through the same document


def _jsonable_params(params: dict) -> dict:
    """Parameters that JSON can hold (numbers, strings, lists, dicts, None)."""
    out = {}
    for k, v in params.items():
        try:
            json.dumps(v)
        except TypeError:
            continue
        out[k] = v
    return out


class NativeModelMixin:
    """For estimators whose fitted state is a native object in ``self._native``.

    The native object provides ``to_json()`` and a static ``from_json(text)``; the
    document is the one C++ reads, so ``save``/``load`` files move between the two.
    Pickling stores the parameters plus that document.
    """

    _native_class = None  # set by subclasses: the _core class

    def _is_native_fitted(self) -> bool:
        return getattr(self, "_native", None) is not None

    def __sklearn_is_fitted__(self) -> bool:
        return self._is_native_fitted()

    def _check_fitted(self) -> None:
        check_is_fitted(self)

    def to_json(self) -> str:
        """The fitted model as a versioned JSON document."""
        self._check_fitted()
        doc = json.loads(self._native.to_json())
        doc["python"] = self._python_state()
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str):
        """Rebuild a fitted model from :meth:`to_json` output (or a C++-written file)."""
        if not isinstance(text, (str, bytes)):
            raise ValueError(f"{cls.__name__}.from_json: expected a JSON string, got {type(text).__name__}")
        native = cls._native_class.from_json(text)
        try:
            doc = json.loads(text)
        except ValueError as exc:  # pragma: no cover - native parser already checked
            raise ValueError(f"{cls.__name__}.from_json: not valid JSON ({exc})") from None
        python = doc.get("python", {}) if isinstance(doc, dict) else {}
        params = python.get("params", {}) if isinstance(python, dict) else {}
        if not isinstance(params, dict):
            raise ValueError(f"{cls.__name__}.from_json: field 'python.params' must be an object")
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ValueError(f"{cls.__name__}.from_json: parameters do not fit {cls.__name__} ({exc})") from None
        est._native = native
        est._restore_python_state(python if isinstance(python, dict) else {})
        return est

    def save(self, path) -> None:
        """Write the model document to ``path``."""
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path):
        """Read a model document written by :meth:`save` or by the C++ API."""
        with open(os.fspath(path), "r", encoding="utf-8") as f:
            return cls.from_json(f.read())

    # Subclasses override these to carry Python-side attributes (feature names, classes).
    def _python_state(self) -> dict:
        state = {"params": _jsonable_params(self.get_params(deep=False))}
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = [str(c) for c in self.feature_names_in_]
        if hasattr(self, "n_features_in_"):
            state["n_features_in_"] = int(self.n_features_in_)
        return state

    def _restore_python_state(self, state: dict) -> None:
        if "feature_names_in_" in state:
            self.feature_names_in_ = np.asarray(state["feature_names_in_"], dtype=object)
        if "n_features_in_" in state:
            self.n_features_in_ = int(state["n_features_in_"])

    def __getstate__(self):
        state = self.__dict__.copy()
        native = state.pop("_native", None)
        state["_native_json"] = None if native is None else native.to_json()
        return state

    def __setstate__(self, state):
        state = dict(state)
        text = state.pop("_native_json", None)
        self.__dict__.update(state)
        self._native = None if text is None else self._native_class.from_json(text)


__all__ += ["BaseEstimator", "NotFittedError"]
