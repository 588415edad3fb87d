"""Core conventions seen from Python: errors, n_jobs, fork safety, datasets."""
import multiprocessing as mp
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import custmine
from custmine import _core
from custmine._base import as_datetime, as_labels, as_numeric, require_columns, resolve_n_jobs
from custmine.tiering import RFMScorer


def test_error_hierarchy_is_value_error():
    assert issubclass(custmine.CustmineError, ValueError)
    assert issubclass(custmine.ShapeError, custmine.InvalidArgumentError)
    assert issubclass(custmine.InvalidArgumentError, custmine.CustmineError)
    assert issubclass(custmine.SerializationError, custmine.CustmineError)
    with pytest.raises(custmine.CustmineError, match="rfm: bins must be an integer in 2..100"):
        _core.tiering.rfm(np.zeros(1, np.int64), 1, np.zeros(1, np.int64), np.ones(1), None, 0, 1, "first", "sum",
                          "net", [], 1)


def test_not_fitted_maps_to_sklearn():
    native = _core.tiering.QuantileScorer(5, [])
    with pytest.raises(NotFittedError, match="not fitted"):
        native.transform(np.zeros((1, 3)))
    with pytest.raises(NotFittedError):
        RFMScorer().transform(np.zeros((1, 3)))


@pytest.mark.parametrize("n_jobs,expected", [(None, 1), (1, 1), (2, 2), (-1, _core.hardware_threads())])
def test_n_jobs_joblib_rule(n_jobs, expected):
    assert resolve_n_jobs(n_jobs) == expected


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_n_jobs_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_n_jobs(bad)


def _fit_in_child(queue):
    rng = np.random.default_rng(1)
    X = rng.random((500, 3))
    queue.put(RFMScorer().fit(X).transform(X).sum())


def test_fit_fork_fit_again_in_child():
    rng = np.random.default_rng(1)
    X = rng.random((500, 3))
    expected = RFMScorer().fit(X).transform(X).sum()
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_fit_in_child, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0
    assert got == expected


def test_column_helpers_name_the_problem():
    df = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match="customer='cust' is not a column"):
        require_columns(df, {"customer": "cust"}, "rfm")
    with pytest.raises(ValueError, match="date holds values that are not dates"):
        as_datetime(pd.Series(["2020-01-01", "not a date"]), "date", "rfm")
    with pytest.raises(ValueError, match="date has a missing date"):
        as_datetime(pd.Series([pd.Timestamp("2020-01-01"), None]), "date", "rfm")
    with pytest.raises(ValueError, match="amount must be numeric"):
        as_numeric(pd.Series(["1", "2"]), "amount", "rfm")
    with pytest.raises(ValueError, match=r"amount has NaN or infinity \(first at row 1\)"):
        as_numeric(pd.Series([1.0, np.inf]), "amount", "rfm")
    with pytest.raises(ValueError, match=r"customer has a missing value \(first at row 1\)"):
        as_labels(pd.Series(["a", None]), "customer", "rfm")
    with pytest.raises(ValueError, match=r"customer has a missing value \(first at row 2\)"):
        as_labels(pd.Series([3, 4, None, 5], dtype="Int64"), "customer", "rfm")
    with pytest.raises(ValueError, match=r"customer has a missing value \(first at row 0\)"):
        as_labels(pd.Series([np.nan, 1.5]), "customer", "rfm")


def test_integer_labels_factorized_natively_and_sorted():
    ids = pd.Series([30, 10, 30, -5, 2**62], dtype="int64")
    codes, uniques = as_labels(ids, "customer", "t")
    assert list(uniques) == [-5, 10, 30, 2**62]
    assert list(uniques[codes]) == list(ids)


def test_bundled_datasets():
    tx = custmine.datasets.load_online_retail()
    assert tx.shape == (92505, 8)
    assert tx["CustomerID"].nunique() == 1093
    assert pd.api.types.is_datetime64_any_dtype(tx["InvoiceDate"])
    baskets = custmine.datasets.load_groceries()
    assert len(baskets) == 9835
    assert sum(map(len, baskets)) == 43367
    assert any("cream cheese " in b for b in baskets)  # labels kept exactly


def test_pickle_of_unfitted_and_fitted_models():
    est = pickle.loads(pickle.dumps(RFMScorer(bins=4)))
    assert est.bins == 4
    X = np.random.default_rng(0).random((50, 3))
    fitted = RFMScorer(bins=4).fit(X)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))


def test_lazy_family_import():
    assert "tiering" in dir(custmine)
    with pytest.raises(AttributeError):
        custmine.no_such_family  # noqa: B018


def test_type_stubs_ship_for_every_native_submodule():
    # Regenerate with tools/stubgen.sh when a binding changes.
    from importlib import resources

    stubs = resources.files("custmine").joinpath("_core")
    assert stubs.joinpath("__init__.pyi").is_file()
    assert resources.files("custmine").joinpath("py.typed").is_file()
    native = [name for name in dir(_core) if type(getattr(_core, name)).__name__ == "module"]
    assert native, "the native module has no submodules"
    missing = [name for name in native if not stubs.joinpath(f"{name}.pyi").is_file()]
    assert not missing, f"no stub for native submodule(s) {missing}: run tools/stubgen.sh"
