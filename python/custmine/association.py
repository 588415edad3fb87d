"""Association rules for cross-selling and up-selling.

Frequent itemsets (FP-Growth, Eclat, Apriori; all, closed or maximal), association rules
with every common interest measure (mlxtend-compatible columns, R arules semantics by
default) and a rule-based basket recommender. All mining runs in the native core with the
GIL released; this module only converts inputs and wraps results in pandas.

Transactions can be given as
- a long DataFrame with a transaction column and an item column (``transaction_col``,
  ``item_col``);
- a list (or other iterable) of baskets, each a list/tuple/set of hashable items;
- a one-hot DataFrame (bool or 0/1 columns, one column per item; mlxtend style);
- a scipy sparse matrix or a 2-D numpy array (non-zero = item present; ``item_names``
  names the columns);
- a :class:`Transactions` object (encode once, mine many times), also built by
  :func:`read_fimi` and :func:`read_baskets`.

Items inside one transaction are deduplicated; labels are kept exactly as given (no
trimming, no case folding). Missing items (None/NaN) are an error.

``min_support`` is a fraction in (0, 1] (the count threshold is ``ceil(min_support * n)``,
as in R arules) or an absolute count given as an ``int`` >= 1.
"""
from __future__ import annotations

import itertools
import json
import numbers
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from . import _core
from ._base import NativeModelMixin, check_bool, resolve_n_jobs
from ._itemset_array import ItemsetArray, ItemsetDtype, _object_array

_native = _core.association

__all__ = [
    "Transactions",
    "as_transactions",
    "read_fimi",
    "read_baskets",
    "frequent_itemsets",
    "association_rules",
    "ItemsetArray",
    "ItemsetDtype",
    "CrossSellRecommender",
    "plot_rules",
    "plot_rule_graph",
    "demo_report",
]

RULE_COLUMNS = [
    "antecedents",
    "consequents",
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "representativity",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
    "all_confidence",
    "count",
]
_METRICS = RULE_COLUMNS[2:-1]
_DEFAULT_MAX_ITEMSETS = 10_000_000


# ---------------------------------------------------------------------------------
# Transactions


class Transactions:
    """Encoded transactions: the native CSR container plus the item labels.

    Build with :func:`as_transactions` (any supported input), :func:`read_fimi` or
    :func:`read_baskets`. ``labels[k]`` is the item with code ``k``.
    """

    def __init__(self, native, labels):
        self._native = native
        self.labels = list(labels)
        self._index = None

    @property
    def n_transactions(self) -> int:
        return int(self._native.n_transactions)

    @property
    def n_items(self) -> int:
        return int(self._native.n_items)

    def __len__(self) -> int:
        return self.n_transactions

    def __repr__(self) -> str:
        return f"Transactions(n_transactions={self.n_transactions}, n_items={self.n_items})"

    def item_counts(self) -> pd.Series:
        """Number of transactions holding each item, most frequent first."""
        s = pd.Series(self._native.item_counts(), index=pd.Index(self.labels, dtype=object), name="count")
        return s.sort_values(ascending=False, kind="stable")

    def to_baskets(self) -> list:
        """The transactions as a list of lists of labels (items in code order)."""
        off, items = self._native.offsets, self._native.items
        labels = self.labels
        return [[labels[i] for i in items[off[t]:off[t + 1]]] for t in range(len(off) - 1)]

    def label_index(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self.labels, dtype=object)
        return self._index


def _where_name(where):
    return where or "as_transactions"


def _check_items_present(values, where, what="items"):
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.size and pd.isna(arr).any():
        first = int(np.flatnonzero(pd.isna(arr))[0])
        raise ValueError(f"{where}: {what} contain a missing value (None/NaN) at position {first}")


def _factorize(values, where):
    """Integer codes and labels; sorted labels when they are mutually comparable."""
    arr = pd.array(values, dtype=object) if not isinstance(values, (pd.Series, pd.Index)) else values
    try:
        codes, uniques = pd.factorize(arr, sort=True)
    except TypeError:  # mixed, unorderable labels: order of first appearance
        codes, uniques = pd.factorize(arr, sort=False)
    return np.ascontiguousarray(codes, dtype=np.int64), list(uniques)


def _from_baskets(baskets, where):
    lengths = []
    flat = []
    for t, basket in enumerate(baskets):
        if isinstance(basket, (str, bytes)) or not isinstance(basket, Iterable):
            raise ValueError(
                f"{where}: transaction {t} must be a list/tuple/set of items, got {type(basket).__name__}"
            )
        items = list(basket)
        lengths.append(len(items))
        flat.extend(items)
    if not lengths:
        raise ValueError(f"{where}: transactions is empty (no transactions)")
    flat_arr = np.empty(len(flat), dtype=object)
    flat_arr[:] = flat
    _check_items_present(flat_arr, where)
    if len(flat):
        codes, labels = _factorize(flat_arr, where)
    else:
        codes, labels = np.zeros(0, dtype=np.int64), []
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    native = _native.transactions_from_csr(offsets, codes, len(labels))
    return Transactions(native, labels)


def _from_long(df, transaction_col, item_col, where):
    for arg, col in (("transaction_col", transaction_col), ("item_col", item_col)):
        if col not in df.columns:
            raise ValueError(f"{where}: {arg}={col!r} is not a column of the table")
    if len(df) == 0:
        raise ValueError(f"{where}: transactions is empty (the table has no rows)")
    tid = df[transaction_col]
    item = df[item_col]
    for name, s in (("transaction_col", tid), ("item_col", item)):
        miss = s.isna().to_numpy()
        if miss.any():
            raise ValueError(f"{where}: {name} has a missing value (first at row {int(np.flatnonzero(miss)[0])})")
    tcodes, _ = pd.factorize(tid, sort=False)
    icodes, labels = _factorize(item, where)
    n_tr = int(tcodes.max()) + 1
    native = _native.transactions_from_pairs(
        np.ascontiguousarray(tcodes, dtype=np.int64), icodes, n_tr, len(labels)
    )
    return Transactions(native, labels)


def _from_matrix_csr(mat, labels, where):
    import scipy.sparse as sp

    if np.iscomplexobj(mat.data if sp.issparse(mat) else mat):
        raise ValueError(f"{where}: Complex data not supported; expected 0/1 or bool")
    csr = sp.csr_matrix(mat, copy=True)
    if csr.data.size and not np.all(np.isfinite(csr.data.astype(float, copy=False))):
        raise ValueError(f"{where}: the matrix holds NaN or infinity")
    if csr.data.size and (csr.data.astype(float, copy=False) < 0).any():
        raise ValueError(f"{where}: Negative values in data; expected 0/1 or bool")
    csr.eliminate_zeros()
    csr.sort_indices()
    n_rows, n_cols = csr.shape
    if n_rows == 0:
        raise ValueError(f"{where}: transactions is empty (the matrix has no rows)")
    if n_cols == 0:
        raise ValueError(
            f"{where}: transactions has no items: 0 feature(s) (shape=({n_rows}, 0)) while a minimum of 1 is required."
        )
    if labels is None:
        labels = list(range(n_cols))
    labels = list(labels)
    if len(labels) != n_cols:
        raise ValueError(f"{where}: item_names has {len(labels)} names but the matrix has {n_cols} columns")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{where}: item_names holds duplicate names")
    native = _native.transactions_from_csr(
        np.ascontiguousarray(csr.indptr, dtype=np.int64), np.ascontiguousarray(csr.indices, dtype=np.int64), n_cols
    )
    return Transactions(native, labels)


def _from_onehot(df, where):
    if df.shape[0] == 0:
        raise ValueError(f"{where}: transactions is empty (the one-hot table has no rows)")
    labels = list(df.columns)
    if any(isinstance(dt, pd.SparseDtype) for dt in df.dtypes):
        mat = df.sparse.to_coo()
        return _from_matrix_csr(mat, labels, where)
    values = df.to_numpy()
    if values.dtype == object or not (values.dtype == bool or np.issubdtype(values.dtype, np.number)):
        raise ValueError(
            f"{where}: a one-hot DataFrame must hold bool or 0/1 columns (got dtype {values.dtype}); "
            "for a long table pass transaction_col= and item_col="
        )
    v = values.astype(float, copy=False)
    if np.isnan(v).any():
        raise ValueError(f"{where}: the one-hot DataFrame holds missing values")
    if not np.isin(v, (0.0, 1.0)).all():
        raise ValueError(f"{where}: a one-hot DataFrame must hold only 0/1 or True/False values")
    return _from_matrix_csr(values != 0, labels, where)


def _is_sparse(x):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(x)


def as_transactions(transactions, *, transaction_col=None, item_col=None, item_names=None, where=None):
    """Encode any supported transaction input as :class:`Transactions` (see module doc)."""
    where = _where_name(where)
    if isinstance(transactions, Transactions):
        return transactions
    if transactions is None:
        raise ValueError(f"{where}: transactions is None")
    if isinstance(transactions, pd.DataFrame):
        if transaction_col is not None or item_col is not None:
            if transaction_col is None or item_col is None:
                raise ValueError(f"{where}: a long table needs both transaction_col and item_col")
            return _from_long(transactions, transaction_col, item_col, where)
        return _from_onehot(transactions, where)
    try:
        import scipy.sparse as sp

        if sp.issparse(transactions):
            return _from_matrix_csr(transactions, item_names, where)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(transactions, np.ndarray):
        if transactions.ndim != 2:
            raise ValueError(f"{where}: a numpy array of transactions must be 2-D (one-hot), got {transactions.ndim}-D")
        if transactions.dtype == object:
            try:
                transactions = transactions.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: a numpy array of transactions must be numeric or bool (one-hot); "
                    "argument must be a string or a number"
                ) from None
        return _from_matrix_csr(transactions, item_names, where)
    if isinstance(transactions, (str, bytes, Mapping)):
        raise ValueError(f"{where}: transactions must be baskets, a DataFrame or a matrix, got {type(transactions).__name__}")
    if isinstance(transactions, Iterable):
        return _from_baskets(transactions, where)
    raise ValueError(f"{where}: unsupported transactions type {type(transactions).__name__}")


def read_fimi(path) -> Transactions:
    """Read a FIMI ``.dat`` file (one transaction per line, integer item ids)."""
    native, ids = _native.read_fimi(str(path))
    return Transactions(native, [int(i) for i in ids])


def read_baskets(path, sep: str = ",") -> Transactions:
    """Read a basket file: one transaction per line, items separated by ``sep``.

    Only the line end is stripped, so labels keep surrounding spaces exactly (arules'
    Groceries has ``"cream cheese "``); empty fields are skipped.
    """
    native, labels = _native.read_baskets(str(path), sep)
    return Transactions(native, labels)


# ---------------------------------------------------------------------------------
# Frequent itemsets


def _min_count(min_support, n, where):
    if isinstance(min_support, (bool, np.bool_)) or not isinstance(min_support, numbers.Real):
        raise ValueError(f"{where}: min_support must be a fraction in (0, 1] or an int count >= 1, got {min_support!r}")
    if isinstance(min_support, numbers.Integral):
        if min_support < 1:
            raise ValueError(f"{where}: min_support as a count must be >= 1, got {min_support}")
        return int(min_support)
    s = float(min_support)
    if not np.isfinite(s) or s <= 0 or s > 1:
        raise ValueError(
            f"{where}: min_support as a fraction must lie in (0, 1], got {min_support!r} "
            "(pass an int for an absolute count)"
        )
    return int(_native.min_count_from_support(s, n))


def _opt_len(v, name, where, lo=1):
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise ValueError(f"{where}: {name} must be an int >= {lo} or None, got {v!r}")
    return int(v)


def frequent_itemsets(
    transactions,
    min_support=0.5,
    *,
    algorithm="eclat",
    kind="all",
    min_len=1,
    max_len=None,
    n_jobs=None,
    max_itemsets=_DEFAULT_MAX_ITEMSETS,
    transaction_col=None,
    item_col=None,
    item_names=None,
    itemset_type="frozenset",
    compact=True,
):
    """Frequent itemsets as a DataFrame with columns ``support``, ``itemsets``
    (frozensets of the original labels), ``length`` and ``count``.

    Parameters
    ----------
    transactions : any supported input (see the module doc) or :class:`Transactions`.
    min_support : float in (0, 1] (count threshold ``ceil(min_support * n)``) or int count.
    algorithm : "eclat" (default), "fpgrowth" or "apriori" -- identical results, different speed
        (Eclat was the fastest on every data set of benchmarks/python/compare_association.py).
    kind : "all", "closed" (no superset with the same count) or "maximal" (no frequent superset).
    min_len, max_len : itemset length bounds (closed/maximal stay exact under max_len).
    n_jobs : threads (joblib rule; None = 1). The result does not depend on it.
    max_itemsets : stop with a ValueError past this many itemsets (None = no limit); the
        default 10 million keeps a too-low support from exhausting memory.
    itemset_type : "frozenset" (mlxtend's convention) or "tuple": tuples of the labels (in the
        transactions' label order) cost no hashing and about a third of the memory, which
        matters for outputs of millions of itemsets; :func:`association_rules` takes either.
    compact : with frozensets, hold the column as an :class:`ItemsetArray` (dtype
        ``"itemset"``): item codes into one label table, each element a frozenset of the
        labels built when it is read (indexing, iteration, ``tolist``, ``apply``, comparisons;
        ``to_numpy()`` / ``astype(object)`` build them all once). Mining outputs of millions of
        itemsets then cost no Python objects until they are read, and
        :func:`association_rules` reads the codes directly. ``False`` builds a plain object
        column of frozensets up front (mlxtend's dtype). Ignored for tuples.

    The row order is deterministic for a given algorithm (it does not depend on n_jobs);
    ``df.attrs["n_transactions"]`` holds the number of transactions.
    """
    where = "frequent_itemsets"
    tx = as_transactions(
        transactions, transaction_col=transaction_col, item_col=item_col, item_names=item_names, where=where
    )
    n = tx.n_transactions
    if n == 0:
        raise ValueError(f"{where}: transactions is empty (no transactions)")
    minc = _min_count(min_support, n, where)
    if algorithm not in ("fpgrowth", "eclat", "apriori"):
        raise ValueError(f"{where}: algorithm must be 'fpgrowth', 'eclat' or 'apriori', got {algorithm!r}")
    if kind not in ("all", "closed", "maximal"):
        raise ValueError(f"{where}: kind must be 'all', 'closed' or 'maximal', got {kind!r}")
    min_len_v = _opt_len(min_len, "min_len", where) or 1
    max_len_v = _opt_len(max_len, "max_len", where)
    max_sets = _opt_len(max_itemsets, "max_itemsets", where)
    threads = resolve_n_jobs(n_jobs, where)
    if itemset_type not in ("frozenset", "tuple"):
        raise ValueError(f"{where}: itemset_type must be 'frozenset' or 'tuple', got {itemset_type!r}")
    check_bool(compact, "compact", where)
    lazy = itemset_type == "frozenset" and compact
    res = _native.frequent_itemsets(
        tx._native, minc, algorithm, kind, min_len_v, max_len_v, threads, max_sets, None if lazy else tx.labels,
        itemset_type == "tuple",
    )
    count = res["count"]
    lengths = np.diff(res["offsets"])
    if lazy:
        column = pd.array(ItemsetArray._trusted(res["offsets"], res["items"], _object_array(tx.labels)))
    else:
        column = pd.Series(res["itemsets"], dtype=object)
    df = pd.DataFrame(
        {
            "support": count / float(n),
            "itemsets": column,
            "length": lengths.astype(np.int64),
            "count": count.astype(np.int64),
        }
    )
    df.attrs["n_transactions"] = int(n)
    df.attrs["min_count"] = int(minc)
    return df


# ---------------------------------------------------------------------------------
# Rules


def _encode_itemsets(itemsets: pd.DataFrame, where):
    if not isinstance(itemsets, pd.DataFrame):
        raise ValueError(f"{where}: itemsets must be the DataFrame returned by frequent_itemsets, got {type(itemsets).__name__}")
    for col in ("support", "itemsets"):
        if col not in itemsets.columns:
            raise ValueError(f"{where}: the itemsets frame has no {col!r} column")
    if len(itemsets) == 0:
        raise ValueError(f"{where}: the itemsets frame is empty: there is nothing to build rules from (lower min_support)")
    support = pd.to_numeric(itemsets["support"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(support).any():
        raise ValueError(f"{where}: the support column holds missing or non-numeric values")
    arr = itemsets["itemsets"].array
    csr = arr._csr() if isinstance(arr, ItemsetArray) else None
    if csr is not None:
        # frequent_itemsets' own codes: no frozenset is built or hashed.
        offsets, codes, labels = csr
        codes = _sorted_within_rows(offsets, codes)
        if codes is not None:
            return offsets, codes, support, labels.tolist()
        # else an item repeated within an itemset (a hand-built array): go through the sets
    sets = itemsets["itemsets"].tolist()
    lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    for r, s in enumerate(sets):
        if not isinstance(s, (frozenset, set, tuple, list)):
            raise ValueError(f"{where}: itemsets row {r} is not a set of items ({type(s).__name__})")
    flat = np.empty(int(lengths.sum()), dtype=object)
    flat[:] = list(itertools.chain.from_iterable(sets))
    _check_items_present(flat, where)
    codes, labels = _factorize(flat, where) if len(flat) else (np.zeros(0, np.int64), [])
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # Items of each itemset sorted by code (the native side expects sorted sets).
    row = np.repeat(np.arange(len(sets)), lengths)
    order = np.lexsort((codes, row))
    codes = np.ascontiguousarray(codes[order], dtype=np.int32)
    return offsets, codes, support, labels


def _sorted_within_rows(offsets, codes):
    """codes with each row's items in increasing order (the native side expects sorted sets),
    or None when a row repeats an item."""
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    if len(codes) < 2:
        return codes
    starts = np.zeros(len(codes), dtype=bool)
    starts[offsets[:-1][offsets[:-1] < len(codes)]] = True
    if np.all((np.diff(codes) > 0) | starts[1:]):
        return codes
    row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    codes = np.ascontiguousarray(codes[np.lexsort((codes, row))], dtype=np.int32)
    return codes if np.all((np.diff(codes) != 0) | starts[1:]) else None


def _rules_frame(res, labels, compact=True) -> pd.DataFrame:
    """The rules DataFrame from the native result (codes), antecedents and consequents as
    ItemsetArrays over the label table (or plain object columns of frozensets)."""
    table = labels if isinstance(labels, np.ndarray) else _object_array(labels)
    cols = {}
    for side in ("antecedent", "consequent"):
        arr = ItemsetArray._trusted(res[f"{side}_offsets"], res[f"{side}_items"], table)
        cols[f"{side}s"] = pd.array(arr) if compact else pd.Series(arr.to_numpy(), dtype=object)
    out = pd.DataFrame({c: cols[c] if c in cols else res[c] for c in RULE_COLUMNS})
    out["count"] = out["count"].astype("Int64")
    return out


def association_rules(
    itemsets,
    metric="confidence",
    min_threshold=0.8,
    *,
    min_len=1,
    max_len=None,
    multi_consequent=False,
    appearance=None,
    prune_redundant=False,
    top_k=None,
    sort_by=None,
    n_transactions=None,
    max_rules=None,
    n_jobs=None,
    compact=True,
):
    """Association rules X => Y from a frame of frequent itemsets.

    Returns a DataFrame with mlxtend's columns (``antecedents``, ``consequents``,
    ``antecedent support``, ``consequent support``, ``support``, ``confidence``, ``lift``,
    ``representativity``, ``leverage``, ``conviction``, ``zhangs_metric``, ``jaccard``,
    ``certainty``, ``kulczynski``) plus ``all_confidence`` and ``count``.

    Semantics follow R arules: one item in the consequent (``multi_consequent=True`` gives
    every non-empty proper subset, as mlxtend does), rule support = support(X ∪ Y),
    ``metric >= min_threshold`` inclusive, ``min_len``/``max_len`` count |X| + |Y|, and with
    ``min_len=1`` the rules {} => {y} for items with support >= the threshold are included
    (use ``min_len=2`` to drop them, as mlxtend never produces them).

    appearance : dict with optional keys ``"lhs"``, ``"rhs"``, ``"both"``, ``"none"`` (lists
        of items) and ``"default"`` ("both", "lhs", "rhs" or "none"), as arules' appearance:
        listed items may appear only on that side; others follow ``default``. For example
        ``{"rhs": ["whole milk"], "default": "lhs"}`` gives rules predicting whole milk.
    prune_redundant : drop X => Y when a rule X' => Y with X' ⊂ X in the result has at
        least its confidence (arules ``is.redundant``).
    top_k, sort_by : keep the k best rules by ``sort_by`` (default: ``metric``), sorted.
    n_transactions : used for ``count`` when the frame has no ``count`` column.
    compact : antecedents and consequents as :class:`ItemsetArray` columns (frozensets built
        when read; see :func:`frequent_itemsets`); ``False`` gives plain object columns.
    """
    where = "association_rules"
    check_bool(compact, "compact", where)
    if metric not in _METRICS:
        raise ValueError(f"{where}: metric must be one of {', '.join(_METRICS)}; got {metric!r}")
    if isinstance(min_threshold, bool) or not isinstance(min_threshold, numbers.Real) or np.isnan(min_threshold):
        raise ValueError(f"{where}: min_threshold must be a number, got {min_threshold!r}")
    min_len_v = _opt_len(min_len, "min_len", where) or 1
    max_len_v = _opt_len(max_len, "max_len", where)
    max_rules_v = _opt_len(max_rules, "max_rules", where)
    if top_k is not None:
        _opt_len(top_k, "top_k", where)
    if sort_by is not None and sort_by not in _METRICS:
        raise ValueError(f"{where}: sort_by must be one of {', '.join(_METRICS)}; got {sort_by!r}")
    threads = resolve_n_jobs(n_jobs, where)
    offsets, codes, support, labels = _encode_itemsets(itemsets, where)

    n = None
    if n_transactions is not None:
        n = _opt_len(n_transactions, "n_transactions", where)
    elif "n_transactions" in itemsets.attrs:
        n = int(itemsets.attrs["n_transactions"])
    if "count" in itemsets.columns and n:
        weight = pd.to_numeric(itemsets["count"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(weight).any() or (weight != np.round(weight)).any():
            raise ValueError(f"{where}: the count column must hold whole numbers")
        total = float(n)
    else:
        weight, total = support, 1.0

    app = None
    if appearance is not None:
        app = _appearance_codes(appearance, labels, where)
    res = _native.association_rules(
        offsets, codes, np.ascontiguousarray(weight), total, int(n or 0), metric, float(min_threshold),
        min_len_v, max_len_v, bool(multi_consequent), bool(prune_redundant), app, max_rules_v, threads,
    )
    out = _rules_frame(res, labels, compact)
    if not n:
        out.loc[out["count"] < 0, "count"] = pd.NA
    if top_k is not None or sort_by is not None:
        key = sort_by or metric
        out = out.sort_values(key, ascending=False, kind="stable")
        if top_k is not None:
            out = out.head(int(top_k))
        out = out.reset_index(drop=True)
    return out


def _appearance_codes(appearance, labels, where):
    if not isinstance(appearance, Mapping):
        raise ValueError(f"{where}: appearance must be a dict with keys lhs/rhs/both/none/default")
    allowed = {"lhs", "rhs", "both", "none", "default"}
    unknown = set(appearance) - allowed
    if unknown:
        raise ValueError(f"{where}: appearance has unknown keys {sorted(map(str, unknown))}; use {sorted(allowed)}")
    bits = {"lhs": 1, "rhs": 2, "both": 3, "none": 0}
    default = appearance.get("default", "both")
    if default not in bits:
        raise ValueError(f"{where}: appearance['default'] must be 'both', 'lhs', 'rhs' or 'none', got {default!r}")
    codes = np.full(len(labels), bits[default], dtype=np.uint8)
    index = {lab: i for i, lab in enumerate(labels)}
    seen = {}
    for side in ("lhs", "rhs", "both", "none"):
        items = appearance.get(side, ())
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            items = [items]
        for it in items:
            if it in seen and seen[it] != side:
                raise ValueError(f"{where}: appearance lists item {it!r} under both {seen[it]!r} and {side!r}")
            seen[it] = side
            if it in index:  # items absent from the itemsets cannot appear in any rule
                codes[index[it]] = bits[side]
    return codes


# ---------------------------------------------------------------------------------
# Recommender


class CrossSellRecommender(NativeModelMixin, BaseEstimator):
    """Rule-based cross-sell and up-sell recommendations for baskets.

    ``fit`` mines frequent itemsets and single-consequent rules (antecedent non-empty,
    confidence >= ``min_confidence``). A basket fires every rule whose antecedent it
    contains; each candidate item not in the basket scores the best ``metric`` among its
    fired rules (ties: higher confidence, then support). In up-sell mode
    (``mode="upsell"``, needs ``prices`` at fit) candidates rank by expected value
    confidence × price. Items unknown at fit time are ignored at recommend time.

    Parameters
    ----------
    min_support : float in (0, 1] or int count.
    min_confidence : float in [0, 1].
    metric : ranking measure (any rule column, e.g. "confidence", "lift").
    max_len : longest rule (antecedent + 1 item); None = no limit.
    algorithm : mining algorithm ("eclat", the default, "fpgrowth" or "apriori"; same rules).
    n_jobs : threads for fit, recommend_many and score.
    max_itemsets : explosion guard passed to mining.

    Attributes
    ----------
    items_ : list of item labels seen at fit.
    rules_ : DataFrame of the rules (as :func:`association_rules`).
    n_transactions_ : int.
    """

    _native_class = _native.RuleRecommender

    def __init__(
        self,
        min_support=0.01,
        min_confidence=0.1,
        metric="confidence",
        max_len=None,
        algorithm="eclat",
        n_jobs=None,
        max_itemsets=_DEFAULT_MAX_ITEMSETS,
    ):
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.metric = metric
        self.max_len = max_len
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.max_itemsets = max_itemsets

    def fit(self, X, y=None, prices=None, *, transaction_col=None, item_col=None, item_names=None):
        """Mine rules from transactions ``X`` (any supported input); ``y`` is ignored.

        prices : optional dict or Series mapping item -> price (enables ``mode="upsell"``;
            items without a price are never up-sold).
        """
        where = "CrossSellRecommender.fit"
        tx = as_transactions(X, transaction_col=transaction_col, item_col=item_col, item_names=item_names, where=where)
        if tx.n_transactions == 0:
            raise ValueError(f"{where}: transactions is empty")
        minc = _min_count(self.min_support, tx.n_transactions, where)
        if isinstance(self.min_confidence, bool) or not isinstance(self.min_confidence, numbers.Real) or not (
            0 <= float(self.min_confidence) <= 1
        ):
            raise ValueError(f"{where}: min_confidence must lie in [0, 1], got {self.min_confidence!r}")
        if self.metric not in _METRICS:
            raise ValueError(f"{where}: metric must be one of {', '.join(_METRICS)}; got {self.metric!r}")
        if self.algorithm not in ("fpgrowth", "eclat", "apriori"):
            raise ValueError(f"{where}: algorithm must be 'fpgrowth', 'eclat' or 'apriori', got {self.algorithm!r}")
        max_len = _opt_len(self.max_len, "max_len", where, lo=2)
        max_sets = _opt_len(self.max_itemsets, "max_itemsets", where)
        threads = resolve_n_jobs(self.n_jobs, where)
        native = _native.RuleRecommender()
        native.fit(tx._native, minc, float(self.min_confidence), self.metric, max_len, self.algorithm, threads, max_sets)
        self.items_ = list(tx.labels)
        self.n_transactions_ = tx.n_transactions
        if isinstance(X, pd.DataFrame) and transaction_col is None:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if isinstance(X, (pd.DataFrame, np.ndarray)) or _is_sparse(X):
            if transaction_col is None:
                self.n_features_in_ = int(X.shape[1])
        self._native = native
        if prices is not None:
            self._set_prices(prices, where)
        self._build_rules_frame()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags

    def _set_prices(self, prices, where):
        if isinstance(prices, pd.Series):
            mapping = prices.to_dict()
        elif isinstance(prices, Mapping):
            mapping = dict(prices)
        else:
            raise ValueError(f"{where}: prices must be a dict or a pandas Series mapping item -> price")
        arr = np.full(len(self.items_), np.nan)
        for i, item in enumerate(self.items_):
            if item in mapping:
                v = mapping[item]
                if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
                    raise ValueError(f"{where}: price of {item!r} must be a finite number >= 0, got {v!r}")
                arr[i] = float(v)
        self._native.set_prices(arr)

    def _build_rules_frame(self):
        self.rules_ = _rules_frame(self._native.rules(), self.items_)

    def _labels_index(self):
        idx = getattr(self, "_items_index", None)
        if idx is None or len(idx) != len(self.items_):
            idx = pd.Index(self.items_, dtype=object)
            self._items_index = idx
        return idx

    def _encode_baskets(self, baskets, where):
        """Baskets as native transactions in the fitted item codes (unknown items -> dropped)."""
        if isinstance(baskets, (str, bytes)) or not isinstance(baskets, Iterable):
            raise ValueError(f"{where}: baskets must be a list of baskets (lists of items)")
        lengths, flat = [], []
        for t, b in enumerate(baskets):
            if isinstance(b, (str, bytes)) or not isinstance(b, Iterable):
                raise ValueError(f"{where}: basket {t} must be a list/tuple/set of items, got {type(b).__name__}")
            items = list(b)
            lengths.append(len(items))
            flat.extend(items)
        arr = np.empty(len(flat), dtype=object)
        arr[:] = flat
        _check_items_present(arr, where)
        codes = self._labels_index().get_indexer(arr) if len(arr) else np.zeros(0, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        keep = codes >= 0
        row = np.repeat(np.arange(len(lengths)), lengths)
        kept_lengths = np.bincount(row[keep], minlength=len(lengths)) if len(lengths) else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(kept_lengths, out=offsets[1:])
        return _native.transactions_from_csr(offsets, np.ascontiguousarray(codes[keep]), len(self.items_)), len(lengths)

    def _mode(self, mode, where):
        if mode not in ("cross", "upsell"):
            raise ValueError(f"{where}: mode must be 'cross' or 'upsell', got {mode!r}")
        if mode == "upsell" and not self._native.has_prices:
            raise ValueError(f"{where}: mode='upsell' needs prices; pass prices= to fit")
        return mode == "upsell"

    def recommend_many(self, baskets, k=5, *, mode="cross"):
        """Top-k recommendations for many baskets (native, multi-threaded).

        Returns a long DataFrame: ``basket`` (position in ``baskets``), ``rank`` (1..k),
        ``item``, ``score``, ``rule`` (row of ``rules_`` that fired).
        """
        where = "CrossSellRecommender.recommend_many"
        self._check_fitted()
        k = _opt_len(k, "k", where)
        if k == 0:
            raise ValueError(f"{where}: k must be an int >= 1")
        upsell = self._mode(mode, where)
        tx, _ = self._encode_baskets(baskets, where)
        res = self._native.recommend_many(tx, k, upsell, resolve_n_jobs(self.n_jobs, where))
        items = np.empty(len(res["item"]), dtype=object)
        items[:] = [self.items_[i] for i in res["item"]]
        return pd.DataFrame(
            {"basket": res["basket"], "rank": res["rank"], "item": items, "score": res["score"], "rule": res["rule"]}
        )

    def recommend(self, basket, k=5, *, mode="cross"):
        """Top-k items to add to one basket, with the rule that fired.

        Returns a DataFrame: ``item``, ``score``, ``confidence``, ``lift``, ``support``,
        ``antecedents`` (the firing rule's antecedent). Unknown items are ignored.
        """
        where = "CrossSellRecommender.recommend"
        if isinstance(basket, (str, bytes)) or not isinstance(basket, Iterable):
            raise ValueError(f"{where}: basket must be a list/tuple/set of items")
        recs = self.recommend_many([list(basket)], k, mode=mode)
        rules = self.rules_.iloc[recs["rule"].to_numpy()]
        return pd.DataFrame(
            {
                "item": recs["item"].to_numpy(),
                "score": recs["score"].to_numpy(),
                "confidence": rules["confidence"].to_numpy(),
                "lift": rules["lift"].to_numpy(),
                "support": rules["support"].to_numpy(),
                "antecedents": rules["antecedents"].to_numpy(),
            }
        )

    def evaluate(self, X, k=5):
        """Leave-one-item-out evaluation on holdout baskets.

        Every item of every basket with >= 2 known items is hidden in turn; returns a dict
        with ``hit_rate`` (hidden item in the top k), ``coverage`` (at least one
        recommendation), ``cases`` and ``hits``.
        """
        where = "CrossSellRecommender.evaluate"
        self._check_fitted()
        k = _opt_len(k, "k", where)
        if k == 0:
            raise ValueError(f"{where}: k must be an int >= 1")
        if (isinstance(X, (pd.DataFrame, np.ndarray)) or _is_sparse(X)) and hasattr(self, "n_features_in_"):
            if X.ndim == 2 and X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but CrossSellRecommender is expecting {self.n_features_in_} "
                    "features as input."
                )
        baskets = as_transactions(X, where=where).to_baskets() if not isinstance(X, list) else X
        tx, _ = self._encode_baskets(baskets, where)
        return dict(self._native.score(tx, k, resolve_n_jobs(self.n_jobs, where)))

    def score(self, X, y=None, k=5):
        """Leave-one-item-out hit rate@k on holdout baskets (see :meth:`evaluate`)."""
        return float(self.evaluate(X, k)["hit_rate"])

    # JSON: labels ride along in the Python part of the document.
    def _python_state(self) -> dict:
        state = super()._python_state()
        try:
            json.dumps(self.items_)
        except TypeError:
            raise ValueError(
                "CrossSellRecommender.to_json: item labels must be JSON values (str, int, float); use pickle instead"
            ) from None
        state["items_"] = [x.item() if isinstance(x, np.generic) else x for x in self.items_]
        state["n_transactions_"] = int(self.n_transactions_)
        return state

    def _restore_python_state(self, state: dict) -> None:
        super()._restore_python_state(state)
        items = state.get("items_")
        if not isinstance(items, list) or len(items) != self._native.n_items:
            raise _core.SerializationError("CrossSellRecommender.from_json: field 'python.items_' is missing or wrong")
        self.items_ = items
        self.n_transactions_ = int(state.get("n_transactions_", 0))
        self._build_rules_frame()

    def __setstate__(self, state):
        super().__setstate__(state)


# ---------------------------------------------------------------------------------
# Plots (matplotlib imported on use)


def plot_rules(rules: pd.DataFrame, ax=None, x="support", y="confidence", color="lift"):
    """Scatter of rules: ``x`` against ``y`` coloured by ``color`` (arulesViz's default)."""
    import matplotlib.pyplot as plt

    for col in (x, y, color):
        if col not in rules.columns:
            raise ValueError(f"plot_rules: rules has no column {col!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sc = ax.scatter(rules[x], rules[y], c=rules[color], cmap="viridis", s=12)
    ax.figure.colorbar(sc, ax=ax, label=color)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{len(rules)} rules")
    return ax


def plot_rule_graph(rules: pd.DataFrame, top=15, by="lift", ax=None):
    """Graph of the ``top`` rules by ``by``: items on a circle, one node per rule (sized
    by support, coloured by ``by``) with arrows antecedent items -> rule -> consequent."""
    import matplotlib.pyplot as plt

    if by not in rules.columns:
        raise ValueError(f"plot_rule_graph: rules has no column {by!r}")
    r = rules.sort_values(by, ascending=False, kind="stable").head(int(top))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    items = sorted({i for s in r["antecedents"] for i in s} | {i for s in r["consequents"] for i in s}, key=str)
    ang = np.linspace(0, 2 * np.pi, len(items), endpoint=False)
    pos = {it: (np.cos(a), np.sin(a)) for it, a in zip(items, ang)}
    vmin, vmax = float(r[by].min()) if len(r) else 0.0, float(r[by].max()) if len(r) else 1.0
    cmap = plt.get_cmap("Reds")
    for k, (_, row) in enumerate(r.iterrows()):
        pts = [pos[i] for i in row["antecedents"]] + [pos[i] for i in row["consequents"]]
        cx, cy = 0.55 * np.mean([p[0] for p in pts]), 0.55 * np.mean([p[1] for p in pts])
        for i in row["antecedents"]:
            ax.annotate("", xy=(cx, cy), xytext=pos[i], arrowprops=dict(arrowstyle="->", color="0.6", lw=0.8))
        for i in row["consequents"]:
            ax.annotate("", xy=pos[i], xytext=(cx, cy), arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))
        t = 0.5 if vmax == vmin else (row[by] - vmin) / (vmax - vmin)
        ax.scatter([cx], [cy], s=2000 * row["support"] + 30, color=cmap(0.3 + 0.7 * t), zorder=3)
    for it, (px, py) in pos.items():
        ax.text(px * 1.08, py * 1.08, str(it), ha="center", va="center", fontsize=8)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"top {len(r)} rules by {by}")
    return ax


# ---------------------------------------------------------------------------------
# Demo section


def _fmt_set(s):
    return "{" + ", ".join(sorted(map(str, s))) + "}"


def demo_report(out_dir=None) -> str:
    """A markdown cross-sell section on the bundled groceries baskets: the top rules by
    lift and recommendations for a few baskets. ``out_dir`` (optional) receives the rule
    scatter plot as ``association_rules.png`` when matplotlib is available."""
    from . import datasets

    baskets = datasets.load_groceries()
    tx = as_transactions(baskets)
    itemsets = frequent_itemsets(tx, 0.005, max_len=4)
    rules = association_rules(itemsets, "confidence", 0.4, min_len=2)
    top = rules.sort_values("lift", ascending=False, kind="stable").head(10)
    lines = [
        "## Cross-sell: association rules",
        "",
        f"{tx.n_transactions:,} baskets, {tx.n_items} items; {len(itemsets):,} frequent itemsets at support >= 0.5%, "
        f"{len(rules):,} rules with confidence >= 0.4 (FP-Growth).",
        "",
        "| rule | support | confidence | lift |",
        "|---|---:|---:|---:|",
    ]
    for _, r in top.iterrows():
        lines.append(
            f"| {_fmt_set(r['antecedents'])} => {_fmt_set(r['consequents'])} | {r['support']:.4f} | "
            f"{r['confidence']:.3f} | {r['lift']:.2f} |"
        )
    rec = CrossSellRecommender(min_support=0.005, min_confidence=0.2, metric="lift").fit(tx)
    lines += ["", "Recommendations (top 3 by lift of the rule that fires):", ""]
    for basket in (["citrus fruit", "yogurt"], ["root vegetables", "other vegetables"], ["beer", "sausage"]):
        recs = rec.recommend(basket, k=3)
        got = ", ".join(f"{i} ({s:.2f})" for i, s in zip(recs["item"], recs["score"])) or "(no rule fires)"
        lines.append(f"- {_fmt_set(basket)} -> {got}")
    ev = rec.evaluate(baskets[:2000], k=5)
    lines += [
        "",
        f"Leave-one-item-out on the first 2,000 baskets: hit rate@5 = {ev['hit_rate']:.3f}, "
        f"coverage = {ev['coverage']:.3f} ({ev['cases']:,} cases; in-sample).",
    ]
    if out_dir is not None:
        try:
            import os

            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            os.makedirs(out_dir, exist_ok=True)
            ax = plot_rules(rules)
            path = os.path.join(out_dir, "association_rules.png")
            ax.figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
            lines += ["", "![rules](association_rules.png)"]
        except ImportError:  # pragma: no cover - matplotlib optional
            pass
    return "\n".join(lines) + "\n"
