"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, BG/BB and sBG.

The models are fitted by maximum likelihood in the C++ core (exact gradients, L-BFGS on
the log-parameters, Newton polishing, identical customers grouped); this module only
validates input and returns pandas objects. Names follow the literature and lifetimes:

- :func:`summary_data` turns transactions into ``frequency`` (repeat purchase days),
  ``recency`` (first to last purchase), ``T`` (first purchase to the end) and
  ``monetary_value`` (mean value of the repeat purchase days), optionally with a
  calibration/holdout split.
- :class:`BetaGeo` (Fader, Hardie & Lee 2005), :class:`ModifiedBetaGeo` (Batislam et al.
  2007), :class:`ParetoNBD` (Schmittlein et al. 1987): ``fit(frequency, recency, T)``.
- :class:`GammaGamma` (Fader, Hardie & Lee 2005, "RFM and CLV"): ``fit(frequency, monetary_value)``.
- :class:`BetaGeoBetaBinom` (Fader, Hardie & Shang 2010): discrete opportunities.
- :class:`ShiftedBetaGeometric` (Fader & Hardie 2007, 2010): contractual retention.
- :func:`customer_lifetime_value` (lifetimes' discounted monthly convention).

See docs/clv.md for conventions and references.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from . import _core
from ._base import NativeModelMixin, as_datetime, as_labels, as_numeric, require_columns, resolve_n_jobs

__all__ = [
    "summary_data",
    "BetaGeo",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "BetaGeoBetaBinom",
    "ShiftedBetaGeometric",
    "customer_lifetime_value",
    "expected_cumulative_transactions",
    "plot_calibration_purchases_vs_holdout",
    "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix",
    "plot_cumulative_transactions",
    "demo_report",
]

_NS_PER_DAY = 86_400_000_000_000
_PERIOD_DAYS = {"D": 1.0, "W": 7.0}
# lifetimes' customer_lifetime_value: model time units per month.
_PERIODS_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 720.0}


def _check_freq(freq, where, table):
    if freq not in table:
        raise ValueError(f"{where}: freq must be one of {', '.join(map(repr, table))}, got {freq!r}")


def _day(value, name, where):
    return int(as_datetime(pd.Series([value]), name, where)[0] // _NS_PER_DAY)


# ---------------------------------------------------------------------------------------
# Summary


def summary_data(transactions, customer, date, amount=None, freq="D", observation_end=None,
                 calibration_end=None) -> pd.DataFrame:
    """Per-customer RFM summary in model time units (``freq`` "D" days or "W" weeks = days/7).

    Purchases are counted per customer-day (rows on the same calendar day merge, their
    amounts summed). ``frequency`` = purchase days after the first, ``recency`` = first to
    last purchase, ``T`` = first purchase to ``observation_end`` (or ``calibration_end``),
    ``monetary_value`` = mean amount of the repeat purchase days (0 without repeats).
    Transactions after ``observation_end`` (default: the last date) are not counted.

    With ``calibration_end`` the columns describe the calibration period only, customers
    whose first purchase is later are left out (they cannot be scored), and
    ``frequency_holdout``, ``monetary_value_holdout`` and ``duration_holdout`` describe
    (calibration_end, observation_end].
    """
    where = "summary_data"
    _check_freq(freq, where, _PERIOD_DAYS)
    require_columns(transactions, {"customer": customer, "date": date, "amount": amount}, where)
    if len(transactions) == 0:
        raise ValueError(f"{where}: transactions is empty")
    codes, uniques = as_labels(transactions[customer], "customer", where)
    ns = as_datetime(transactions[date], "date", where)
    day = np.floor_divide(ns, _NS_PER_DAY).astype(np.int64)
    amt = None if amount is None else as_numeric(transactions[amount], "amount", where)
    window = _summary_window(int(day.min()), int(day.max()), freq, observation_end, calibration_end, where)
    return _summary_frame(codes, pd.Index(uniques, name=customer), day, amt, freq, window)


def _summary_window(first_day: int, last_day: int, freq, observation_end, calibration_end, where: str) -> tuple:
    """(observation end, has calibration, calibration end) in days since the epoch, checked.
    Needs only the first and last transaction day, so custmine.spark / custmine.dask check
    the whole data on the driver before each partition is summarised alone."""
    _check_freq(freq, where, _PERIOD_DAYS)
    end = last_day if observation_end is None else _day(observation_end, "observation_end", where)
    has_cal = calibration_end is not None
    cal = _day(calibration_end, "calibration_end", where) if has_cal else 0
    if has_cal and cal >= end:
        raise ValueError(f"{where}: calibration_end must be before observation_end")
    if first_day > (cal if has_cal else end):
        raise ValueError(f"{where}: every transaction is after the {'calibration' if has_cal else 'observation'} end")
    return end, has_cal, cal


def _summary_columns(with_amount: bool, has_cal: bool) -> list:
    """summary_data's columns, in order."""
    cols = ["frequency", "recency", "T"] + (["monetary_value"] if with_amount else [])
    if has_cal:
        cols += ["frequency_holdout"] + (["monetary_value_holdout"] if with_amount else []) + ["duration_holdout"]
    return cols


def _summary_frame(codes, index: pd.Index, day, amt, freq, window: tuple) -> pd.DataFrame:
    """summary_data's table for customer codes 0..len(index)-1. Each customer's row depends
    on its own transactions and the window only, so summarising partitions that hold whole
    customers and concatenating gives the same rows."""
    end, has_cal, cal = window
    out = _core.clv.summary_data(np.ascontiguousarray(codes), len(index), day, amt, _PERIOD_DAYS[freq], end,
                                 has_cal, cal)
    if has_cal:
        out["duration_holdout"] = np.full(len(index), out["duration_holdout"])
    df = pd.DataFrame({k: out[k] for k in _summary_columns(amt is not None, has_cal)}, index=index)
    keep = out["in_calibration"].astype(bool)
    return df[keep] if has_cal else df


# ---------------------------------------------------------------------------------------
# Shared estimator machinery


def _vec(values, name, where):
    return as_numeric(values, name, where)


def _wrap(result, like):
    """A Series with the input's index when the input was a Series, else an array."""
    if isinstance(like, pd.Series):
        return pd.Series(result, index=like.index)
    return result


class _ClvModel(NativeModelMixin, BaseEstimator):
    """Parameters shared by every model (see the subclasses)."""

    def __init__(self, penalizer=0.0, tol=1e-8, max_iter=1000, n_jobs=None, strict=True, initial_params=None):
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.strict = strict
        self.initial_params = initial_params

    def _fit_args(self):
        where = f"{type(self).__name__}.fit"
        if isinstance(self.penalizer, bool) or not isinstance(self.penalizer, numbers.Real) or not (
            np.isfinite(self.penalizer) and self.penalizer >= 0
        ):
            raise ValueError(f"{where}: penalizer must be a number >= 0, got {self.penalizer!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"{where}: max_iter must be an integer >= 1, got {self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ValueError(f"{where}: tol must be a number > 0, got {self.tol!r}")
        init = []
        if self.initial_params is not None:
            names = self._param_names
            if isinstance(self.initial_params, dict):
                missing = [n for n in names if n not in self.initial_params]
                if missing:
                    raise ValueError(f"{where}: initial_params lacks {', '.join(missing)}")
                init = [float(self.initial_params[n]) for n in names]
            else:
                init = [float(v) for v in self.initial_params]
        return dict(penalizer=float(self.penalizer), max_iter=int(self.max_iter), tol=float(self.tol),
                    strict=bool(self.strict), initial=init)

    def _after_fit(self):
        n = self._native
        names = list(n.param_names)
        self.params_ = dict(zip(names, n.params))
        self.standard_errors_ = dict(zip(names, n.standard_errors))
        self.log_likelihood_ = float(n.log_likelihood)
        info = dict(n.info)
        self.fit_info_ = info
        self.converged_ = bool(info["converged"])
        self.n_iter_ = int(info["iterations"])
        if not self.converged_:
            warnings.warn(f"{type(self).__name__}.fit did not converge: {info['message']}; params {self.params_}",
                          ConvergenceWarning, stacklevel=3)
        return self

    def _restore_python_state(self, state):
        super()._restore_python_state(state)
        self._after_fit()

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95 % Wald intervals."""
        self._check_fitted()
        coef = pd.Series(self.params_)
        se = pd.Series(self.standard_errors_)
        return pd.DataFrame({"coef": coef, "se(coef)": se, "lower 95% bound": coef - 1.96 * se,
                             "upper 95% bound": coef + 1.96 * se})

    def set_published_params(self, params):
        """Use given parameter values (e.g. a paper's estimates) without fitting."""
        native = self._new_native()
        native.set_params([float(params[k]) for k in self._param_names] if isinstance(params, dict)
                          else [float(v) for v in params])
        self._native = native
        return self._after_fit()


def _native_adapter(kind):
    class _Adapter:
        @staticmethod
        def from_json(text):
            return _core.clv.CountingModel.from_json(text, kind)

    return _Adapter


class _CountingModel(_ClvModel):
    _kind = None

    def _new_native(self):
        return _core.clv.CountingModel(self._kind)

    def fit(self, frequency, recency, T, weights=None):
        """Maximum likelihood on per-customer (frequency, recency, T); ``weights`` counts
        identical customers (e.g. a compressed table). Returns self."""
        where = f"{type(self).__name__}.fit"
        x, tx, t = (_vec(frequency, "frequency", where), _vec(recency, "recency", where), _vec(T, "T", where))
        w = None if weights is None else _vec(weights, "weights", where)
        native = self._new_native()
        native.fit(x, tx, t, w, n_threads=resolve_n_jobs(self.n_jobs), **self._fit_args())
        self._native = native
        return self._after_fit()

    def _rft(self, frequency, recency, T, where):
        self._check_fitted()
        return (_vec(frequency, "frequency", where), _vec(recency, "recency", where), _vec(T, "T", where))

    def expected_purchases(self, t):
        """E[X(t)]: repeat purchases of a customer just acquired, within t time units."""
        self._check_fitted()
        ts = np.atleast_1d(_vec(np.atleast_1d(np.asarray(t, dtype=float)), "t", "expected_purchases"))
        out = self._native.expected_purchases(ts)
        return float(out[0]) if np.ndim(t) == 0 else out

    def conditional_expected_purchases(self, t, frequency, recency, T):
        """E[Y(t) | frequency, recency, T]: expected purchases in the next t time units."""
        where = "conditional_expected_purchases"
        x, tx, tt = self._rft(frequency, recency, T, where)
        ts = _vec(np.atleast_1d(np.asarray(t, dtype=float)), "t", where)
        out = self._native.conditional_expected_purchases(ts, x, tx, tt, resolve_n_jobs(self.n_jobs))
        return _wrap(out, frequency)

    def probability_alive(self, frequency, recency, T):
        """P(customer still active | frequency, recency, T)."""
        x, tx, tt = self._rft(frequency, recency, T, "probability_alive")
        return _wrap(self._native.probability_alive(x, tx, tt, resolve_n_jobs(self.n_jobs)), frequency)

    def log_likelihood_rows(self, frequency, recency, T):
        """Each customer's log-likelihood at the fitted parameters."""
        x, tx, tt = self._rft(frequency, recency, T, "log_likelihood_rows")
        return _wrap(self._native.log_likelihood_rows(x, tx, tt, resolve_n_jobs(self.n_jobs)), frequency)

    def _grid(self, max_frequency, max_recency, T):
        self._check_fitted()
        if max_frequency is None or max_recency is None:
            raise ValueError("matrix: give max_frequency and max_recency (e.g. from the data's maxima)")
        mf, mr = int(max_frequency), float(max_recency)
        T = mr if T is None else float(T)
        if mf < 0 or mr < 0 or T < mr:
            raise ValueError("matrix: need max_frequency >= 0, max_recency >= 0 and T >= max_recency")
        freqs = np.arange(mf + 1, dtype=float)
        recs = np.arange(int(np.floor(mr)) + 1, dtype=float)
        F, R = np.meshgrid(freqs, recs, indexing="ij")
        R = np.where(F == 0, 0.0, R)  # recency is 0 by definition without repeat purchases
        return freqs, recs, F.ravel(), R.ravel(), np.full(F.size, T)

    def probability_alive_matrix(self, max_frequency=None, max_recency=None, T=None) -> pd.DataFrame:
        """P(alive) over frequency (rows) x recency (columns) for customers of age T
        (default max_recency). Row 0 repeats P(alive | frequency 0), which has no recency."""
        freqs, recs, x, tx, tt = self._grid(max_frequency, max_recency, T)
        p = self._native.probability_alive(x, tx, tt, resolve_n_jobs(self.n_jobs))
        return pd.DataFrame(p.reshape(len(freqs), len(recs)), index=pd.Index(freqs.astype(int), name="frequency"),
                            columns=pd.Index(recs, name="recency"))

    def expected_purchases_matrix(self, t=1, max_frequency=None, max_recency=None, T=None) -> pd.DataFrame:
        """E[purchases in the next t] over frequency x recency for customers of age T."""
        freqs, recs, x, tx, tt = self._grid(max_frequency, max_recency, T)
        e = self._native.conditional_expected_purchases(np.array([float(t)]), x, tx, tt, resolve_n_jobs(self.n_jobs))
        return pd.DataFrame(e.reshape(len(freqs), len(recs)), index=pd.Index(freqs.astype(int), name="frequency"),
                            columns=pd.Index(recs, name="recency"))


class BetaGeo(_CountingModel):
    """BG/NBD (Fader, Hardie & Lee 2005). Parameters r, alpha (gamma purchase rates) and
    a, b (beta dropout probability after each purchase).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative log-likelihood.
    tol : float, default 1e-8
        Convergence: max |gradient| of the per-customer objective w.r.t. log-parameters.
    max_iter : int, default 1000
    n_jobs : int or None
        Threads for the likelihood and predictions (joblib's rule).
    strict : bool, default True
        Raise ``custmine.ConvergenceError`` when the fit does not converge (False: warn
        with ``ConvergenceWarning`` and keep the optimiser's state in ``fit_info_``).
    initial_params : dict or sequence, optional
        Starting values on the natural scale.
    """

    _kind = "BetaGeo"
    _param_names = ("r", "alpha", "a", "b")
    _native_class = _native_adapter("BetaGeo")


class ModifiedBetaGeo(_CountingModel):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but a customer may also
    drop out right after the first purchase. Parameters r, alpha, a, b; see :class:`BetaGeo`."""

    _kind = "ModifiedBetaGeo"
    _param_names = ("r", "alpha", "a", "b")
    _native_class = _native_adapter("ModifiedBetaGeo")


class ParetoNBD(_CountingModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987). Parameters r, alpha (purchase
    rates) and s, beta (gamma dropout rates); see :class:`BetaGeo` for the options."""

    _kind = "ParetoNBD"
    _param_names = ("r", "alpha", "s", "beta")
    _native_class = _native_adapter("ParetoNBD")


class GammaGamma(_ClvModel):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013): parameters
    p, q, gamma (lifetimes calls gamma ``v``). Fit on customers with frequency >= 1; assumes
    spend is independent of purchase frequency (check the correlation first)."""

    _param_names = ("p", "q", "gamma")
    _native_class = _core.clv.GammaGamma

    def _new_native(self):
        return _core.clv.GammaGamma()

    def fit(self, frequency, monetary_value, weights=None):
        where = "GammaGamma.fit"
        x, m = _vec(frequency, "frequency", where), _vec(monetary_value, "monetary_value", where)
        w = None if weights is None else _vec(weights, "weights", where)
        native = self._new_native()
        native.fit(x, m, w, n_threads=resolve_n_jobs(self.n_jobs), **self._fit_args())
        self._native = native
        self._after_fit()
        if self.params_["q"] <= 1:
            warnings.warn(
                f"GammaGamma.fit: q = {self.params_['q']:.3f} <= 1, so mean spend has no finite population "
                "mean (heavy-tailed spend; check for outliers or wholesale accounts). Expected spend is "
                "infinite for customers with p * frequency + q <= 1, e.g. frequency 0.",
                UserWarning, stacklevel=2)
        return self

    def _spend(self, x, m):
        """Conditional expected spend; +inf where it does not exist (p x + q <= 1)."""
        out = np.asarray(self._native.conditional_expected_average_profit(x, m), dtype=float)
        p, q = self.params_["p"], self.params_["q"]
        return np.where(p * np.asarray(x, dtype=float) + q <= 1, np.inf, out)

    def conditional_expected_average_profit(self, frequency, monetary_value):
        """E[mean spend | frequency, monetary_value]; frequency 0 gives the population mean
        p * gamma / (q - 1), which is +inf when q <= 1."""
        self._check_fitted()
        where = "conditional_expected_average_profit"
        out = self._spend(_vec(frequency, "frequency", where), _vec(monetary_value, "monetary_value", where))
        return _wrap(out, frequency)

    def customer_lifetime_value(self, transaction_model, frequency, recency, T, monetary_value, time=12,
                                discount_rate=0.01, freq="D"):
        """lifetimes-compatible spelling of :func:`customer_lifetime_value`."""
        data = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T, "monetary_value": monetary_value})
        out = customer_lifetime_value(transaction_model, self, data, time=time, freq=freq, discount_rate=discount_rate)
        return out if isinstance(frequency, pd.Series) else out.to_numpy()


class BetaGeoBetaBinom(_ClvModel):
    """BG/BB (Fader, Hardie & Shang 2010) for discrete purchase opportunities (yearly
    donations, renewals): alpha, beta (beta purchase probability) and gamma, delta (beta
    dropout probability). Data: frequency x, recency t_x (the opportunity of the last
    purchase, 0 when x = 0) and n_periods (opportunities observed)."""

    _param_names = ("alpha", "beta", "gamma", "delta")
    _native_class = _core.clv.BetaGeoBetaBinom

    def _new_native(self):
        return _core.clv.BetaGeoBetaBinom()

    def fit(self, frequency, recency, n_periods, weights=None):
        where = "BetaGeoBetaBinom.fit"
        args = [_vec(v, n, where) for v, n in ((frequency, "frequency"), (recency, "recency"), (n_periods, "n_periods"))]
        w = None if weights is None else _vec(weights, "weights", where)
        native = self._new_native()
        native.fit(*args, w, n_threads=resolve_n_jobs(self.n_jobs), **self._fit_args())
        self._native = native
        return self._after_fit()

    def _args(self, frequency, recency, n_periods, where):
        self._check_fitted()
        return [_vec(v, n, where) for v, n in ((frequency, "frequency"), (recency, "recency"), (n_periods, "n_periods"))]

    def probability_alive(self, frequency, recency, n_periods):
        """P(alive at opportunity n_periods + 1)."""
        return _wrap(self._native.probability_alive(*self._args(frequency, recency, n_periods, "probability_alive")),
                     frequency)

    def conditional_expected_purchases(self, m, frequency, recency, n_periods):
        """Expected purchases in the next m opportunities."""
        a = self._args(frequency, recency, n_periods, "conditional_expected_purchases")
        return _wrap(self._native.conditional_expected_purchases(float(m), *a), frequency)

    def expected_purchases(self, n):
        """Expected purchases of a new customer in n opportunities."""
        self._check_fitted()
        out = self._native.expected_purchases(np.atleast_1d(np.asarray(n, dtype=float)))
        return float(out[0]) if np.ndim(n) == 0 else out

    def log_likelihood_rows(self, frequency, recency, n_periods):
        return _wrap(self._native.log_likelihood_rows(*self._args(frequency, recency, n_periods, "log_likelihood_rows")),
                     frequency)


class ShiftedBetaGeometric(_ClvModel):
    """sBG (Fader & Hardie 2007) for contractual retention: each customer churns at the
    end of a period with probability theta ~ Beta(alpha, beta).

    ``fit(survivors)``: one cohort (a sequence starting with the cohort size, then the
    customers still active after each period) or several (a list of sequences, or a
    DataFrame with one row per cohort and NaN after its last observed period, as a cohort
    table of counts gives)."""

    _param_names = ("alpha", "beta")
    _native_class = _core.clv.ShiftedBetaGeometric

    def _new_native(self):
        return _core.clv.ShiftedBetaGeometric()

    @staticmethod
    def _cohorts(survivors):
        where = "ShiftedBetaGeometric.fit"
        if isinstance(survivors, pd.DataFrame):
            rows = [r.to_numpy(dtype=float, na_value=np.nan) for _, r in survivors.iterrows()]
        else:
            seq = list(survivors) if not isinstance(survivors, np.ndarray) else survivors
            if isinstance(seq, np.ndarray) and seq.ndim == 2:
                rows = list(seq.astype(float))
            elif len(seq) > 0 and np.ndim(seq[0]) == 1:
                rows = [np.asarray(r, dtype=float) for r in seq]
            else:
                rows = [np.asarray(seq, dtype=float)]
        cohorts = []
        for i, r in enumerate(rows):
            r = np.asarray(r, dtype=float)
            if r.ndim != 1:
                raise ValueError(f"{where}: survivors must be 1-D per cohort")
            nan = np.isnan(r)
            if nan.any():  # trailing NaN = not observed yet; NaN in the middle is an error
                first = int(np.argmax(nan))
                if not nan[first:].all():
                    raise ValueError(f"{where}: cohort {i} has a missing count before an observed one")
                r = r[:first]
            if not np.isfinite(r).all():
                raise ValueError(f"{where}: cohort {i} has an infinite count")
            cohorts.append(r.tolist())
        return cohorts

    def fit(self, survivors):
        native = self._new_native()
        args = self._fit_args()
        native.fit(self._cohorts(survivors), **args)
        self._native = native
        return self._after_fit()

    def _t(self, t):
        self._check_fitted()
        return np.atleast_1d(np.asarray(t, dtype=float))

    def survival(self, t):
        """S(t): share of a new cohort still active after t periods."""
        return self._native.survival(self._t(t))

    def retention_rate(self, t):
        """r(t) = S(t) / S(t-1), t >= 1 (rises with t: the survivors are the loyal ones)."""
        return self._native.retention_rate(self._t(t))

    def churn_probability(self, t):
        """P(T = t): probability of churning in period t."""
        return self._native.churn_probability(self._t(t))

    def survival_curve(self, periods=12) -> pd.DataFrame:
        """S(t), r(t) and P(T = t) for t = 1..periods."""
        t = np.arange(1, int(periods) + 1, dtype=float)
        return pd.DataFrame({"survival": self.survival(t), "retention_rate": self.retention_rate(t),
                             "churn_probability": self.churn_probability(t)}, index=pd.Index(t.astype(int), name="t"))

    def discounted_expected_residual_lifetime(self, discount_rate, renewals=0):
        """DERL (Fader & Hardie 2010): expected discounted number of future payments of a
        customer who has made ``renewals`` renewals, the next payment undiscounted.
        Multiply by the margin per period for the residual value."""
        self._check_fitted()
        return float(self._native.derl(float(discount_rate), float(renewals)))

    def discounted_expected_lifetime(self, discount_rate):
        """DEL: expected discounted lifetime (periods) of a newly acquired customer."""
        self._check_fitted()
        return float(self._native.del_(float(discount_rate)))


# ---------------------------------------------------------------------------------------
# Lifetime value


def customer_lifetime_value(transaction_model, spend_model, data, time=12, freq="D", discount_rate=0.01,
                            frequency="frequency", recency="recency", T="T", monetary_value="monetary_value"):
    """Discounted CLV over ``time`` months, lifetimes' convention:

        CLV = sum_{i=1..time} spend * (E[Y(i f)] - E[Y((i-1) f)]) / (1 + discount_rate)^i

    where E[Y(t)] is the transaction model's conditional expected purchases, spend the
    Gamma-Gamma conditional expected average profit, and f the model time units per month
    (freq "D": 30, "W": 4.345, "M": 1, "H": 720). ``discount_rate`` is monthly. ``data``
    holds one row per customer (e.g. :func:`summary_data` output). Returns a Series "clv".
    """
    where = "customer_lifetime_value"
    if not isinstance(transaction_model, _CountingModel):
        raise ValueError(f"{where}: transaction_model must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD")
    if not isinstance(spend_model, GammaGamma):
        raise ValueError(f"{where}: spend_model must be a fitted GammaGamma")
    _check_freq(freq, where, _PERIODS_PER_MONTH)
    if isinstance(time, bool) or not isinstance(time, numbers.Integral) or time < 1:
        raise ValueError(f"{where}: time must be a whole number of months >= 1, got {time!r}")
    require_columns(data, {"frequency": frequency, "recency": recency, "T": T, "monetary_value": monetary_value}, where)
    transaction_model._check_fitted()
    spend_model._check_fitted()
    x, tx, tt, m = (_vec(data[c], c, where) for c in (frequency, recency, T, monetary_value))
    spend = spend_model._spend(x, m)
    out = _core.clv.customer_lifetime_value(transaction_model._native, spend, x, tx, tt, int(time),
                                            _PERIODS_PER_MONTH[freq], float(discount_rate),
                                            resolve_n_jobs(transaction_model.n_jobs))
    return pd.Series(out, index=data.index, name="clv")


def expected_cumulative_transactions(model, transactions, customer, date, freq="D", end=None) -> pd.DataFrame:
    """Actual and model-expected cumulative repeat transactions per day (in ``freq``
    units since the first date): each customer contributes E[X(age)] from the day of its
    first purchase. Repeat transactions are purchase days after a customer's first."""
    where = "expected_cumulative_transactions"
    _check_freq(freq, where, _PERIOD_DAYS)
    require_columns(transactions, {"customer": customer, "date": date}, where)
    codes, _ = as_labels(transactions[customer], "customer", where)
    day = np.floor_divide(as_datetime(transactions[date], "date", where), _NS_PER_DAY)
    pairs = pd.DataFrame({"c": codes, "d": day}).drop_duplicates()
    first = pairs.groupby("c")["d"].min()
    start = int(day.min())
    stop = int(day.max()) if end is None else _day(end, "end", where)
    days = np.arange(start, stop + 1)
    births = first.value_counts().sort_index()
    repeat_days = pairs["d"][pairs["d"].to_numpy() != first.reindex(pairs["c"]).to_numpy()]
    actual = np.cumsum(np.bincount((repeat_days[repeat_days <= stop] - start).to_numpy(), minlength=len(days))[:len(days)])
    ages = np.arange(len(days), dtype=float) / _PERIOD_DAYS[freq]
    ex = model.expected_purchases(ages)  # E[X(age)] for every possible age
    expected = np.zeros(len(days))
    for b, n in births.items():
        k = int(b) - start
        if k < len(days):
            expected[k:] += n * ex[: len(days) - k]
    t = (days - start) / _PERIOD_DAYS[freq]
    return pd.DataFrame({"actual": actual.astype(float), "predicted": expected}, index=pd.Index(t, name="t"))


# ---------------------------------------------------------------------------------------
# Plots (matplotlib imported lazily)


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    return ax


def plot_calibration_purchases_vs_holdout(model, summary, n=7, ax=None):
    """Mean holdout purchases, actual vs model, by calibration frequency (0..n, n+ pooled)."""
    require_columns(summary, {"frequency": "frequency", "recency": "recency", "T": "T",
                              "frequency_holdout": "frequency_holdout", "duration_holdout": "duration_holdout"},
                    "plot_calibration_purchases_vs_holdout")
    pred = model.conditional_expected_purchases(summary["duration_holdout"].to_numpy(), summary["frequency"],
                                                summary["recency"], summary["T"])
    df = pd.DataFrame({"frequency": summary["frequency"].clip(upper=n), "actual": summary["frequency_holdout"],
                       "model": np.asarray(pred)})
    table = df.groupby("frequency")[["actual", "model"]].mean()
    ax = _axes(ax)
    table.plot(ax=ax, marker="o")
    ax.set_xlabel(f"purchases in calibration ({n} = {n} or more)")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title("Actual vs expected holdout purchases")
    return ax


def _heatmap(df, title, label, ax):
    ax = _axes(ax)
    im = ax.imshow(df.to_numpy(), aspect="auto", origin="lower", cmap="viridis",
                   extent=(df.columns.min() - 0.5, df.columns.max() + 0.5, -0.5, len(df) - 0.5))
    ax.set_xlabel("recency (time of last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label=label)
    return ax


def plot_frequency_recency_matrix(model, t=1, max_frequency=None, max_recency=None, T=None, ax=None):
    """Heatmap of expected purchases in the next t over frequency x recency."""
    df = model.expected_purchases_matrix(t, max_frequency, max_recency, T)
    return _heatmap(df, f"Expected purchases in the next {t} time units", "expected purchases", ax)


def plot_probability_alive_matrix(model, max_frequency=None, max_recency=None, T=None, ax=None):
    """Heatmap of P(alive) over frequency x recency."""
    df = model.probability_alive_matrix(max_frequency, max_recency, T)
    return _heatmap(df, "Probability that the customer is alive", "P(alive)", ax)


def plot_cumulative_transactions(model, transactions, customer, date, freq="D", calibration_end=None,
                                 incremental=False, ax=None):
    """Actual vs expected cumulative (or per-period incremental) repeat transactions."""
    df = expected_cumulative_transactions(model, transactions, customer, date, freq=freq)
    if incremental:
        df = df.diff().fillna(df.iloc[:1])
    ax = _axes(ax)
    df.plot(ax=ax)
    if calibration_end is not None:
        first = pd.to_datetime(transactions[date]).min().normalize()
        cut = (pd.Timestamp(calibration_end) - first).days / _PERIOD_DAYS[freq]
        ax.axvline(cut, color="grey", linestyle="--", label="calibration end")
    ax.set_xlabel(f"time since the first purchase in the data ({freq})")
    ax.set_ylabel("repeat transactions" + (" per period" if incremental else " (cumulative)"))
    ax.set_title("Tracking: actual vs expected repeat transactions")
    return ax


# ---------------------------------------------------------------------------------------
# Demo section for `custmine demo`


def demo_report(out_dir) -> str:
    """Markdown section: BG/NBD + Gamma-Gamma 12-month CLV on the bundled Online Retail sample."""
    from pathlib import Path

    from . import datasets
    from ._report import markdown_table

    df = datasets.load_online_retail()
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0) & ~df["InvoiceNo"].str.startswith("C")]
    df = df.assign(amount=df["Quantity"] * df["UnitPrice"])
    summ = summary_data(df, "CustomerID", "InvoiceDate", "amount", freq="D")
    bg = BetaGeo(penalizer=0.001).fit(summ["frequency"], summ["recency"], summ["T"])
    rep = summ[summ["frequency"] > 0]
    # No penalizer for Gamma-Gamma: an L2 penalty on gamma (~460 GBP here) would drag q below 1.
    with warnings.catch_warnings():  # the report states a q <= 1 caveat itself
        warnings.simplefilter("ignore", UserWarning)
        gg = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    heavy_tail = gg.params_["q"] <= 1
    if heavy_tail:  # one-time buyers have no finite expected spend: value repeat buyers only
        summ = summ[summ["frequency"] > 0]
    summ = summ.assign(p_alive=bg.probability_alive(summ["frequency"], summ["recency"], summ["T"]),
                       purchases_90d=bg.conditional_expected_purchases(90, summ["frequency"], summ["recency"],
                                                                       summ["T"]))
    summ["clv_12m"] = customer_lifetime_value(bg, gg, summ, time=12, freq="D", discount_rate=0.01)
    top = summ.sort_values("clv_12m", ascending=False).head(10)
    fmt2 = lambda v: f"{v:,.2f}"  # noqa: E731
    params = ", ".join(f"{k} = {v:.3f}" for k, v in {**bg.params_, **gg.params_}.items())
    bins = pd.cut(summ["p_alive"], [0, 0.2, 0.4, 0.6, 0.8, 1.0], include_lowest=True)
    dist = summ.groupby(bins, observed=False).size().rename("customers").to_frame()
    dist.index = dist.index.astype(str)
    dist.index.name = "P(alive)"
    lines = [
        "## Customer lifetime value",
        "",
        f"BG/NBD + Gamma-Gamma on {len(summ):,} customers (daily units, purchases merged per day, "
        f"cancellations and non-positive lines removed). Fitted: {params}. "
        f"Total expected 12-month value (1 % monthly discount): {summ['clv_12m'].sum():,.0f} GBP.",
        "",
    ]
    if heavy_tail:
        lines += [
            f"**Caution:** Gamma-Gamma fits q = {gg.params_['q']:.3f} <= 1 on this sample: spend is so "
            "heavy-tailed (a few wholesale accounts) that the population mean spend is infinite, so CLV is "
            f"shown for the {len(summ):,} repeat buyers only and the largest values lean on those accounts' "
            "own averages.",
            "",
        ]
    lines += [
        "Top customers by 12-month CLV:",
        "",
        markdown_table(top[["frequency", "recency", "T", "monetary_value", "p_alive", "purchases_90d", "clv_12m"]],
                       {"recency": fmt2, "T": fmt2, "monetary_value": fmt2, "p_alive": lambda v: f"{v:.3f}",
                        "purchases_90d": fmt2, "clv_12m": fmt2}),
        "",
        "P(alive) distribution:",
        "",
        markdown_table(dist),
    ]
    try:
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        ax = plot_probability_alive_matrix(bg, max_frequency=int(summ["frequency"].quantile(0.99)),
                                           max_recency=float(summ["T"].max()))
        ax.figure.savefig(out / "clv_p_alive.png", dpi=100, bbox_inches="tight")
        plt.close(ax.figure)
        lines += ["", "![P(alive) over frequency and recency](clv_p_alive.png)"]
    except ImportError:  # pragma: no cover - matplotlib is optional
        pass
    return "\n".join(lines) + "\n"
