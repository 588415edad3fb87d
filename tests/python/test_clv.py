"""custmine.clv: published estimates, parity with lifetimes on CDNOW, API contract, bad input."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import custmine
from custmine import _core, clv
from conftest import shared_path


@pytest.fixture(scope="module")
def cdnow():
    # Hardie's 39-week calibration summary (weeks): x, t_x, T, zbar (mean repeat spend).
    return pd.read_csv(shared_path("cdnow", "cdnow_customers_summary_with_transactions.csv"))


@pytest.fixture(scope="module")
def bg(cdnow):
    return clv.BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


# ---- published estimates --------------------------------------------------------------


def test_betageo_reproduces_fhl2005(bg):
    # Fader, Hardie & Lee (2005) "Counting your customers the easy way": r 0.243, alpha 4.414,
    # a 0.793, b 2.426, LL -9582.4.
    for k, v in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert bg.params_[k] == pytest.approx(v, abs=5e-4)
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.converged_
    assert set(bg.summary.columns) == {"coef", "se(coef)", "lower 95% bound", "upper 95% bound"}


def test_pareto_reproduces_published(cdnow):
    m = clv.ParetoNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    # FHL (2005): r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0
    for k, v in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert m.params_[k] == pytest.approx(v, abs=2e-3 * max(1, v))
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_reproduces_published(cdnow):
    rep = cdnow[cdnow["x"] > 0]
    gg = clv.GammaGamma().fit(rep["x"], rep["zbar"])
    # "RFM and CLV" (2005): p 6.25, q 3.74, gamma 15.44 (printed precision; see test_clv.cpp)
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert gg.params_[k] == pytest.approx(v, abs=0.01)


def test_bgbb_donations():
    d = pd.read_csv(shared_path("cdnow", "donations.csv"))
    m = clv.BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])
    # Fader, Hardie & Shang (2010): alpha 1.204, beta 0.750, gamma 0.657, delta 2.783
    for k, v in {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}.items():
        assert m.params_[k] == pytest.approx(v, abs=1e-3)


@pytest.mark.parametrize("counts, alpha, beta", [
    ([1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182),  # Regular
    ([1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806),  # High End
])
def test_sbg_fader_hardie_2007(counts, alpha, beta):
    m = clv.ShiftedBetaGeometric().fit(counts)
    assert m.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert m.params_["beta"] == pytest.approx(beta, abs=5e-4)
    curve = m.survival_curve(7)
    # the fitted curve tracks the observed survivors (F&H 2007 Fig. 3: within a few points)
    assert np.allclose(curve["survival"].to_numpy(), np.array(counts[1:]) / 1000, atol=0.02)
    assert m.discounted_expected_residual_lifetime(0.1, renewals=0) > 0


def test_sbg_accepts_cohort_table():
    tbl = pd.DataFrame([[1000, 631, 468, 382], [500, 320, np.nan, np.nan]])
    m = clv.ShiftedBetaGeometric().fit(tbl)
    m2 = clv.ShiftedBetaGeometric().fit([[1000, 631, 468, 382], [500, 320]])
    assert m.params_ == m2.params_
    with pytest.raises(ValueError, match="missing count"):
        clv.ShiftedBetaGeometric().fit(pd.DataFrame([[1000, np.nan, 400]]))


# ---- parity with lifetimes --------------------------------------------------------------


@pytest.fixture(scope="module")
def lifetimes():
    lt = pytest.importorskip("lifetimes", reason="lifetimes is not installed (requirements/test-clv.txt)")
    return lt


def test_parity_with_lifetimes_betageo(cdnow, bg, lifetimes):
    warnings.simplefilter("ignore")
    ref = lifetimes.BetaGeoFitter().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    for k in ("r", "alpha", "a", "b"):
        assert bg.params_[k] == pytest.approx(ref.params_[k], rel=1e-4)
    # predictions per customer at the SAME parameters: tight tolerance (1e-8 relative)
    ref.params_ = pd.Series(bg.params_)
    x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    np.testing.assert_allclose(bg.probability_alive(x, tx, T), ref.conditional_probability_alive(x, tx, T), rtol=1e-8)
    np.testing.assert_allclose(bg.conditional_expected_purchases(39, x, tx, T),
                               ref.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-8)
    t = np.array([1.0, 10, 39, 78])
    np.testing.assert_allclose(bg.expected_purchases(t), ref.expected_number_of_purchases_up_to_time(t), rtol=1e-8)


def test_parity_with_lifetimes_pareto_mbg(cdnow, lifetimes):
    warnings.simplefilter("ignore")
    x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    for ours, theirs in ((clv.ParetoNBD, lifetimes.ParetoNBDFitter), (clv.ModifiedBetaGeo, lifetimes.ModifiedBetaGeoFitter)):
        m = ours().fit(x, tx, T)
        # lifetimes starts these fits (Nelder-Mead on a flat likelihood) from a draw of numpy's
        # global random state, so its answer depended on which tests ran before (a CI run
        # saw Pareto/NBD beta 11.634 against the published 11.67); a fixed draw makes the
        # reference reproducible. The state is restored afterwards.
        state = np.random.get_state()
        try:
            np.random.seed(0)
            ref = theirs().fit(x, tx, T)
        finally:
            np.random.set_state(state)
        for k in m.params_:
            assert m.params_[k] == pytest.approx(ref.params_[k], rel=2e-3), (ours.__name__, k)
        ref.params_ = pd.Series(m.params_)
        np.testing.assert_allclose(m.probability_alive(x, tx, T), np.ravel(ref.conditional_probability_alive(x, tx, T)),
                                   rtol=1e-7)
        np.testing.assert_allclose(m.conditional_expected_purchases(39, x, tx, T),
                                   ref.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-7)


def test_parity_with_lifetimes_clv(cdnow, bg, lifetimes):
    warnings.simplefilter("ignore")
    rep = cdnow[cdnow["x"] > 0]
    gg = clv.GammaGamma().fit(rep["x"], rep["zbar"])
    ref_gg = lifetimes.GammaGammaFitter().fit(rep["x"], rep["zbar"])
    for k, k_ref in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert gg.params_[k] == pytest.approx(ref_gg.params_[k_ref], rel=1e-3)
    ref_gg.params_ = pd.Series({"p": gg.params_["p"], "q": gg.params_["q"], "v": gg.params_["gamma"]})
    ref_bg = lifetimes.BetaGeoFitter()
    ref_bg.params_ = pd.Series(bg.params_)
    ref_bg.predict = ref_bg.conditional_expected_number_of_purchases_up_to_time  # set by its fit
    data = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    ours = clv.customer_lifetime_value(bg, gg, data, time=12, freq="W", discount_rate=0.01)
    theirs = ref_gg.customer_lifetime_value(ref_bg, data["frequency"], data["recency"], data["T"],
                                            data["monetary_value"], time=12, freq="W", discount_rate=0.01)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-7)


def test_parity_with_lifetimes_bgbb(lifetimes):
    warnings.simplefilter("ignore")
    d = pd.read_csv(shared_path("cdnow", "donations.csv"))
    m = clv.BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])
    ref = lifetimes.BetaGeoBetaBinomFitter()
    ref.params_ = pd.Series(m.params_)
    np.testing.assert_allclose(m.probability_alive(d["frequency"], d["recency"], d["periods"]),
                               ref.conditional_probability_alive(1, d["frequency"], d["recency"], d["periods"]),
                               rtol=1e-7)
    np.testing.assert_allclose(
        m.conditional_expected_purchases(5, d["frequency"], d["recency"], d["periods"]),
        ref.conditional_expected_number_of_purchases_up_to_time(5, d["frequency"], d["recency"], d["periods"]),
        rtol=1e-7)


# ---- summary_data -------------------------------------------------------------------------


def test_summary_data_reproduces_cdnow_summary():
    raw = pd.read_csv(shared_path("cdnow", "CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=["master", "id", "date", "cds", "value"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    s = clv.summary_data(raw, "id", "date", "value", freq="W", observation_end="1998-06-30",
                         calibration_end="1997-09-30")
    ref = pd.read_csv(shared_path("cdnow", "cdnow_customers_summary_with_transactions.csv")).set_index("ID")
    s = s.loc[ref.index]
    assert (s["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    np.testing.assert_allclose(s["recency"], ref["t_x"], atol=0.006)  # file rounds to 2 decimals
    np.testing.assert_allclose(s["T"], ref["T"], atol=0.006)
    np.testing.assert_allclose(s["monetary_value"], ref["zbar"], atol=0.006)
    assert s["frequency_holdout"].sum() == 1882  # SOURCE.md: holdout (customer, day) purchases
    assert s["duration_holdout"].iloc[0] == pytest.approx(273 / 7)


def test_summary_data_matches_lifetimes_daily(lifetimes):
    tx = pd.read_csv(shared_path("cdnow", "example_transactions.csv"), parse_dates=["date"])
    ours = clv.summary_data(tx, "id", "date", freq="D")
    ref = lifetimes.utils.summary_data_from_transaction_data(tx, "id", "date", freq="D")
    ref = ref.loc[ours.index]
    for c in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[c].to_numpy(), ref[c].to_numpy())


# ---- API contract ----------------------------------------------------------------------------


def test_pickle_json_clone_and_threads(cdnow, bg, tmp_path):
    b2 = pickle.loads(pickle.dumps(bg))
    assert b2.params_ == bg.params_
    path = tmp_path / "bg.json"
    bg.save(path)
    b3 = clv.BetaGeo.load(path)
    assert b3.params_ == bg.params_ and b3.log_likelihood_ == bg.log_likelihood_
    np.testing.assert_array_equal(b3.probability_alive(cdnow["x"], cdnow["t_x"], cdnow["T"]),
                                  bg.probability_alive(cdnow["x"], cdnow["t_x"], cdnow["T"]))
    with pytest.raises(custmine.SerializationError):
        clv.BetaGeo.from_json(bg.to_json().replace('"alpha"', '"alfa"'))
    with pytest.raises(custmine.SerializationError):
        clv.GammaGamma.from_json(bg.to_json())
    c = clone(clv.BetaGeo(penalizer=0.1, n_jobs=2))
    assert c.get_params()["penalizer"] == 0.1 and not hasattr(c, "params_")
    two = clv.BetaGeo(n_jobs=2).fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert two.params_ == bg.params_  # thread-count invariance (exact)


@pytest.mark.parametrize("cls", [clv.ModifiedBetaGeo, clv.ParetoNBD, clv.GammaGamma])
def test_thread_count_invariance_other_models(cdnow, cls):
    # CDNOW has > 512 distinct rows, i.e. several fixed-size blocks summed in a fixed order.
    rep = cdnow[cdnow["x"] > 0]
    args = (rep["x"], rep["zbar"]) if cls is clv.GammaGamma else (cdnow["x"], cdnow["t_x"], cdnow["T"])
    one, two = cls(n_jobs=1).fit(*args), cls(n_jobs=2).fit(*args)
    assert one.fit_info_["n_groups"] > 512
    assert one.params_ == two.params_ and one.log_likelihood_ == two.log_likelihood_


def test_weights_equal_repeated_rows(cdnow):
    small = cdnow.iloc[:400]
    rep = pd.concat([small, small.iloc[:100]])
    w = np.r_[np.full(100, 2.0), np.ones(300)]
    a = clv.BetaGeo().fit(rep["x"], rep["t_x"], rep["T"])
    b = clv.BetaGeo().fit(small["x"], small["t_x"], small["T"], weights=w)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-7)


def test_penalizer_shrinks(cdnow):
    a = clv.BetaGeo(penalizer=0.1).fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert a.params_["alpha"] < 4.414  # the L2 term pulls the large parameter down


def test_series_index_kept(cdnow, bg):
    x = cdnow["x"].set_axis(cdnow["ID"])
    out = bg.probability_alive(x, cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy())
    assert isinstance(out, pd.Series) and (out.index == cdnow["ID"]).all()


def test_probability_alive_matrix(bg):
    mat = bg.probability_alive_matrix(max_frequency=5, max_recency=30)
    assert mat.shape == (6, 31)
    assert (mat.loc[0] == 1.0).all()  # BG/NBD: no repeat purchase -> alive
    assert mat.loc[3, 30.0] > mat.loc[3, 5.0]  # a recent last purchase means more likely alive


def test_nonconvergence_raises_or_warns(cdnow):
    with pytest.raises(custmine.ConvergenceError, match="did not converge"):
        clv.BetaGeo(max_iter=1, tol=1e-15).fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        m = clv.BetaGeo(max_iter=1, tol=1e-15, strict=False).fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert not m.converged_ and m.fit_info_["iterations"] == 1


# ---- bad input (issue 4, part 4) ---------------------------------------------------------------


@pytest.mark.parametrize("x, tx, T, match", [
    ([1], [5.0], [4.0], "recency must not exceed T"),
    ([-1], [0.0], [4.0], "frequency must be >= 0"),
    ([1], [-1.0], [4.0], "recency must be >= 0"),
    ([1.5], [1.0], [4.0], "whole numbers"),
    ([0], [1.0], [4.0], "recency must be 0 when frequency is 0"),
    ([np.nan], [1.0], [4.0], "frequency has NaN"),
    ([1], [1.0], [np.inf], "T has NaN or infinity"),
    ([], [], [], "empty"),
    ([1, 2], [1.0], [4.0, 5.0], "rows"),
])
@pytest.mark.parametrize("model", [clv.BetaGeo, clv.ModifiedBetaGeo, clv.ParetoNBD])
def test_bad_input(model, x, tx, T, match):
    with pytest.raises(ValueError, match=match):
        model().fit(np.array(x, dtype=float), np.array(tx, dtype=float), np.array(T, dtype=float))


def test_bad_input_other_models_and_args(bg):
    with pytest.raises(ValueError, match="frequency must be a whole number >= 1"):
        clv.GammaGamma().fit([0, 1], [3.0, 4.0])
    with pytest.raises(ValueError, match="monetary_value must be > 0"):
        clv.GammaGamma().fit([1, 1], [3.0, -4.0])
    with pytest.raises(ValueError, match="recency must not exceed n_periods"):
        clv.BetaGeoBetaBinom().fit([1], [7], [6])
    with pytest.raises(ValueError, match="must not increase"):
        clv.ShiftedBetaGeometric().fit([100, 120])
    with pytest.raises(ValueError, match="penalizer"):
        clv.BetaGeo(penalizer=-1).fit([1], [1.0], [2.0])
    with pytest.raises(ValueError, match="weights"):
        clv.BetaGeo().fit([1, 2], [1.0, 2.0], [2.0, 3.0], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        clv.BetaGeo().fit([0, 0], [0.0, 0.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="freq must be one of"):
        clv.customer_lifetime_value(bg, clv.GammaGamma().set_published_params({"p": 6, "q": 4, "gamma": 15}),
                                    pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0],
                                                  "monetary_value": [3.0]}), freq="Y")
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        clv.BetaGeo().probability_alive([1], [1.0], [2.0])


def test_summary_bad_input():
    tx = pd.DataFrame({"c": [1, 1, 2], "d": pd.to_datetime(["2020-01-01", "2020-01-05", "2020-01-02"]),
                       "a": [1.0, np.nan, 2.0]})
    with pytest.raises(ValueError, match="amount has NaN"):
        clv.summary_data(tx, "c", "d", "a")
    with pytest.raises(ValueError, match="not a column"):
        clv.summary_data(tx, "cust", "d")
    with pytest.raises(ValueError, match="freq must be one of"):
        clv.summary_data(tx, "c", "d", freq="Q")
    with pytest.raises(ValueError, match="empty"):
        clv.summary_data(tx.iloc[:0], "c", "d")
    with pytest.raises(ValueError, match="calibration_end must be before"):
        clv.summary_data(tx, "c", "d", calibration_end="2020-02-01")
    before = tx.copy()
    clv.summary_data(tx.fillna(0.0), "c", "d", "a")
    pd.testing.assert_frame_equal(tx, before)  # input not mutated


def test_extreme_values_do_not_overflow(bg):
    x = np.array([1e6, 5000, 0.0])
    tx = np.array([1e5, 9e4, 0.0])
    T = np.array([1e5, 1e5, 1e6])
    for m in (bg, clv.ParetoNBD().set_published_params({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})):
        pa = np.asarray(m.probability_alive(x, tx, T))
        ce = np.asarray(m.conditional_expected_purchases(52, x, tx, T))
        assert np.isfinite(pa).all() and ((pa >= 0) & (pa <= 1)).all()
        assert np.isfinite(ce).all() and (ce >= 0).all()


# ---- simulation property test (Python side) ---------------------------------------------------


def test_simulated_pareto_recovers_parameters():
    truth = [0.8, 6.0, 0.9, 12.0]
    T = np.tile(np.arange(20.0, 40.0), 1000)
    x, tx, TT = _core.clv.simulate_counting("ParetoNBD", truth, T, 5)
    m = clv.ParetoNBD().fit(x, tx, TT)
    for (k, v), t in zip(m.params_.items(), truth):
        assert abs(v - t) < 4 * m.standard_errors_[k], k


def test_plots_and_report(bg, cdnow, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = clv.plot_probability_alive_matrix(bg, max_frequency=10, max_recency=38)
    ax2 = clv.plot_frequency_recency_matrix(bg, t=1, max_frequency=10, max_recency=38)
    assert ax.get_title() and ax2.get_title()
    plt.close("all")


def test_gamma_gamma_heavy_tail_is_flagged_not_garbage():
    # On the bundled Online Retail sample an L2 penalizer of 0.001 pulls gamma (~460 unpenalized)
    # down and q below 1, where the population mean spend p*gamma/(q-1) does not exist. The fit
    # warns and the expected spend is +inf where p*x + q <= 1 instead of a negative number.
    from custmine import datasets
    from custmine.clv import GammaGamma, summary_data

    df = datasets.load_online_retail()
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)]
    summ = summary_data(df.assign(amount=df["Quantity"] * df["UnitPrice"]), "CustomerID", "InvoiceDate", "amount",
                        freq="D")
    rep = summ[summ["frequency"] > 0]
    with pytest.warns(UserWarning, match=r"q = 0\.\d+ <= 1"):
        gg = GammaGamma(penalizer=0.001).fit(rep["frequency"], rep["monetary_value"])
    assert gg.params_["q"] <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the unpenalized fit is well defined
        assert GammaGamma().fit(rep["frequency"], rep["monetary_value"]).params_["q"] > 1
    spend = gg.conditional_expected_average_profit(np.array([0.0, 1.0, 5.0]), np.array([0.0, 100.0, 100.0]))
    p, q = gg.params_["p"], gg.params_["q"]
    assert np.isinf(spend[0]) and spend[0] > 0
    expected = (q - 1) / (p * 5 + q - 1) * (p * gg.params_["gamma"] / (q - 1)) + p * 5 / (p * 5 + q - 1) * 100
    assert spend[2] == pytest.approx(expected, rel=1e-9)
    assert np.all(np.isfinite(spend[1:])) and np.all(spend[1:] > 0)
