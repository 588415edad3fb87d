"""A pandas extension array of itemsets, stored as item codes and built into frozensets on read.

Frequent-itemset outputs run to millions of rows; building a Python frozenset per row costs
more than mining them (chess at 1,918 transactions: 255k frozensets, 0.11 s against 0.05 s of
mining) and about 300 bytes each. ``ItemsetArray`` keeps what the miner produced -- CSR offsets
and int32 codes into one label table, 4 bytes an item -- and hands out frozensets of the
original labels wherever pandas or the user reads an element: indexing, iteration,
``tolist()``, ``to_numpy()``, ``astype(object)``, ``apply``/``map``, comparisons, ``isin``,
``explode``. A full conversion (``to_numpy``, ``astype(object)``) builds every frozenset once
and caches it. Assigning an element switches the array to a plain object array of frozensets.

The design follows Arrow's list arrays (offsets into one values buffer); pandas' own
extension arrays (``pandas.arrays``) are the model for the interface.
"""
from __future__ import annotations

import bisect
import numbers

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype
from pandas.api.indexers import check_array_indexer
from pandas._libs import lib

from ._core import association as _native

__all__ = ["ItemsetArray", "ItemsetDtype"]


@register_extension_dtype
class ItemsetDtype(ExtensionDtype):
    """dtype ``"itemset"``: each element a frozenset of item labels (or missing)."""

    name = "itemset"
    type = frozenset
    kind = "O"
    na_value = np.nan
    _metadata = ()

    @classmethod
    def construct_array_type(cls):
        return ItemsetArray

    def __repr__(self) -> str:
        return "itemset"


def _as_itemset(v, where="ItemsetArray"):
    """One element as a frozenset (None for missing); strings are refused, not split."""
    if isinstance(v, frozenset):
        return v
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (str, bytes)) or not isinstance(v, (set, tuple, list, np.ndarray)):
        raise TypeError(f"{where}: an itemset must be a set, frozenset, tuple or list of items, got {type(v).__name__}")
    return frozenset(v)


class ItemsetArray(ExtensionArray):
    """Itemsets as a pandas extension array (dtype ``"itemset"``); elements are frozensets.

    Compact form: ``offsets`` (int64, n + 1), ``codes`` (int32 indices into ``labels``) and an
    optional missing mask. Object form (after an assignment, or built from Python sets): an
    object ndarray of frozensets, ``None`` for missing.
    """

    _dtype = ItemsetDtype()

    def __init__(self, offsets=None, codes=None, labels=None, mask=None, *, objects=None):
        if objects is not None:
            self._obj = objects
            self._off = self._codes = self._labels = self._mask = None
            return
        self._off = np.asarray(offsets, dtype=np.int64)
        self._codes = np.asarray(codes, dtype=np.int32)
        self._labels = labels if isinstance(labels, np.ndarray) else _object_array(labels)
        if self._off.ndim != 1 or len(self._off) == 0 or self._off[0] != 0 or self._off[-1] != len(self._codes):
            raise ValueError("ItemsetArray: offsets must start at 0 and end at len(codes)")
        if (np.diff(self._off) < 0).any():
            raise ValueError("ItemsetArray: offsets must not decrease")
        if len(self._codes) and (self._codes.min() < 0 or self._codes.max() >= len(self._labels)):
            raise ValueError(f"ItemsetArray: codes must index the {len(self._labels)} labels")
        self._mask = None if mask is None else np.asarray(mask, dtype=bool)
        self._obj = None  # frozensets, built on first full read

    @classmethod
    def _trusted(cls, offsets, codes, labels, mask=None, objects=None) -> "ItemsetArray":
        """From arrays already known valid (the miner's output, gathers of a valid array):
        skips the O(n) checks of the public constructor."""
        out = cls.__new__(cls)
        out._off, out._codes, out._labels, out._mask, out._obj = offsets, codes, labels, mask, objects
        return out

    # -- construction -------------------------------------------------------------------
    @classmethod
    def _from_sequence(cls, scalars, *, dtype=None, copy=False):
        if isinstance(scalars, ItemsetArray):
            return scalars.copy() if copy else scalars
        vals = list(scalars)
        out = np.empty(len(vals), dtype=object)
        out[:] = [_as_itemset(v) for v in vals]
        return cls(objects=out)

    @classmethod
    def _from_factorized(cls, values, original):
        return cls._from_sequence(values)

    @property
    def compact(self) -> bool:
        """True while the array holds item codes (no element assigned since it was built)."""
        return self._off is not None

    # -- the ExtensionArray interface ---------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    def __len__(self) -> int:
        return len(self._off) - 1 if self._off is not None else len(self._obj)

    @property
    def nbytes(self) -> int:
        if self._off is not None:
            return int(self._off.nbytes + self._codes.nbytes + (0 if self._mask is None else self._mask.nbytes))
        return int(self._obj.nbytes)

    def _element(self, i: int):
        if self._obj is not None:
            v = self._obj[i]
            return self._dtype.na_value if v is None else v
        if self._mask is not None and self._mask[i]:
            return self._dtype.na_value
        return frozenset(self._labels[self._codes[self._off[i] : self._off[i + 1]]].tolist())

    def __getitem__(self, item):
        if isinstance(item, tuple):  # data[..., :3] and the like (one dimension only)
            rest = [k for k in item if k is not Ellipsis]
            if len(rest) > 1:
                raise IndexError("too many indices for a one-dimensional ItemsetArray")
            item = rest[0] if rest else slice(None)
        if isinstance(item, (numbers.Integral, np.integer)) and not isinstance(item, (bool, np.bool_)):
            i = int(item)
            n = len(self)
            if i < -n or i >= n:
                raise IndexError(f"index {i} is out of bounds for axis 0 with size {n}")
            return self._element(i % n if n else i)
        if isinstance(item, slice):
            out = self._take_rows(np.arange(len(self), dtype=np.int64)[item])
            out._readonly = self._readonly
            return out
        if not pd.api.types.is_list_like(item):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
                f"boolean arrays are valid indices (got {type(item).__name__})"
            )
        else:
            idx = check_array_indexer(self, item)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
        idx = np.asarray(idx, dtype=np.int64)
        n = len(self)
        if ((idx < -n) | (idx >= n)).any():
            raise IndexError(f"indices out of bounds for an ItemsetArray of length {n}")
        return self._take_rows(np.where(idx < 0, idx + n, idx))

    def _take_rows(self, idx: np.ndarray) -> "ItemsetArray":
        """Rows idx (all valid, non-negative) as a new array, compact if this one is."""
        if self._off is None:
            return ItemsetArray(objects=self._obj[idx])
        lengths = np.diff(self._off)[idx]
        off = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        # Position of every kept item: its row's old start plus its rank in the row.
        pos = np.repeat(self._off[idx] - off[:-1], lengths) + np.arange(off[-1], dtype=np.int64)
        mask = None if self._mask is None else self._mask[idx]
        return ItemsetArray._trusted(off, self._codes[pos], self._labels, mask, None if self._obj is None else self._obj[idx])

    def take(self, indices, *, allow_fill=False, fill_value=None):
        idx = np.asarray(indices, dtype=np.int64)
        n = len(self)
        if allow_fill:
            if (idx < -1).any():
                raise ValueError("take: with allow_fill, indices must be -1 (missing) or valid positions")
            missing = idx == -1
            if fill_value is not None and not (np.ndim(fill_value) == 0 and pd.isna(fill_value)):
                # An itemset as the fill: the object form, filled where -1.
                fill = _as_itemset(fill_value, "take")
                obj = np.empty(len(idx), dtype=object)
                if n:
                    obj[:] = self._objects()[np.where(missing, 0, idx)]
                elif not missing.all():
                    raise IndexError("take: cannot take non-missing positions from an empty ItemsetArray")
                obj[missing] = fill
                return ItemsetArray(objects=obj)
        else:
            idx = np.where(idx < 0, idx + n, idx)
            missing = np.zeros(len(idx), dtype=bool)
        if n == 0 and not missing.all():
            raise IndexError("cannot do a non-empty take from an empty axes (the ItemsetArray is empty)")
        if ((idx >= n) | ((idx < 0) & ~missing)).any():
            raise IndexError(f"take: indices out of bounds for an ItemsetArray of length {n}")
        if not missing.any():
            return self._take_rows(idx)
        out = self._take_rows(np.where(missing, 0, idx) if n else np.zeros(0, np.int64))
        if n == 0:  # every index is missing
            return ItemsetArray(objects=np.full(len(idx), None, dtype=object))
        if out._off is not None:
            out._off, out._codes = _blank_rows(out._off, out._codes, missing)
            out._mask = missing if out._mask is None else (out._mask | missing)
            if out._obj is not None:
                out._obj = out._obj.copy()
                out._obj[missing] = None
        else:
            out._obj = out._obj.copy()
            out._obj[missing] = None
        return out

    def copy(self):
        if self._off is None:
            return ItemsetArray(objects=self._obj.copy())
        mask = None if self._mask is None else self._mask.copy()
        return ItemsetArray._trusted(self._off.copy(), self._codes.copy(), self._labels, mask, self._obj)

    def isna(self):
        if self._off is None:
            return np.fromiter((v is None for v in self._obj), dtype=bool, count=len(self._obj))
        return np.zeros(len(self), dtype=bool) if self._mask is None else self._mask.copy()

    @classmethod
    def _concat_same_type(cls, to_concat):
        arrs = list(to_concat)
        if arrs and all(a._off is not None and a._labels is arrs[0]._labels for a in arrs):
            lens = [len(a) for a in arrs]
            off = np.zeros(sum(lens) + 1, dtype=np.int64)
            np.cumsum(np.concatenate([np.diff(a._off) for a in arrs]), out=off[1:])
            codes = np.concatenate([a._codes for a in arrs])
            mask = None
            if any(a._mask is not None for a in arrs):
                mask = np.concatenate([a._mask if a._mask is not None else np.zeros(len(a), bool) for a in arrs])
            return cls._trusted(off, codes, arrs[0]._labels, mask)
        return cls(objects=np.concatenate([a._objects() for a in arrs]) if arrs else np.empty(0, dtype=object))

    # -- reading as Python objects ------------------------------------------------------
    def _objects(self) -> np.ndarray:
        """Every element as an object ndarray (frozensets, None for missing), built once."""
        if self._obj is None:
            built = _native.itemsets_to_objects(self._off, self._codes, self._labels.tolist())
            obj = np.empty(len(self), dtype=object)
            obj[:] = built
            if self._mask is not None:
                obj[self._mask] = None
            self._obj = obj
        return self._obj

    def __iter__(self):
        na = self._dtype.na_value
        for v in self._objects():
            yield na if v is None else v

    def to_numpy(self, dtype=None, copy=False, na_value=lib.no_default):
        # Always a fresh, writable object array (never a view of the cached frozensets).
        out = self.__array__(dtype=dtype)
        if na_value is not lib.no_default:
            out[self.isna()] = na_value
        return out

    def _putmask(self, mask, value) -> None:
        # pandas' default reads any list-like value as one value per row; a frozenset is one itemset.
        self[mask] = value if _is_one_itemset(value) else value[mask]

    def _where(self, mask, value):
        out = self.copy()
        out[~mask] = value if _is_one_itemset(value) else value[~mask]
        return out

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("an ItemsetArray cannot become a numpy array without a copy (its items are codes)")
        if dtype is not None and np.dtype(dtype) != object:
            return np.array(list(self), dtype=dtype)
        # Always a copy: the cached frozensets must not be writable through a numpy view.
        obj = self._objects().copy()
        na = self.isna()
        if na.any():
            obj[na] = self._dtype.na_value
        return obj

    def astype(self, dtype, copy=True):
        if isinstance(dtype, ItemsetDtype) or (isinstance(dtype, str) and dtype == "itemset"):
            return self.copy() if copy else self
        if pd.api.types.pandas_dtype(dtype) == np.dtype(object):
            return self.__array__()
        return super().astype(dtype, copy=copy)

    def _values_for_argsort(self):
        # Frozensets' own < is the subset relation, not an order: itemsets sort by length,
        # then by their items' string forms (sorted), as ranks (equal itemsets, equal rank).
        keys = [_sort_key(v) for v in self._objects()]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), dtype=np.int64)
        r, prev = -1, None
        for i in order:
            if r < 0 or keys[i] != prev:
                r, prev = r + 1, keys[i]
            rank[i] = r
        return rank

    def searchsorted(self, value, side="left", sorter=None):
        keys = [_sort_key(v) for v in self._objects()]
        if sorter is not None:
            keys = [keys[i] for i in np.asarray(sorter)]
        scalar = isinstance(value, (set, frozenset, tuple, list)) and not isinstance(value, ItemsetArray)
        wanted = [value] if scalar else list(value)
        find = bisect.bisect_left if side == "left" else bisect.bisect_right
        out = np.array([find(keys, _sort_key(_as_itemset(v, "searchsorted"))) for v in wanted], dtype=np.intp)
        return out[0] if scalar else out

    def _values_for_factorize(self):
        return self._objects(), None

    def _formatter(self, boxed=False):
        return repr

    def __eq__(self, other):
        if isinstance(other, (pd.Series, pd.Index, pd.DataFrame)):
            return NotImplemented
        if isinstance(other, (set, frozenset, tuple, list)) and not isinstance(other, ItemsetArray):
            target = frozenset(other)
            return np.fromiter((v == target for v in self._objects()), dtype=bool, count=len(self))
        if isinstance(other, (ItemsetArray, np.ndarray)):
            if len(other) != len(self):
                raise ValueError(f"cannot compare an ItemsetArray of length {len(self)} with one of length {len(other)}")
            mine = self._objects()
            theirs = other._objects() if isinstance(other, ItemsetArray) else other
            return np.fromiter(
                (a is not None and a == b for a, b in zip(mine, theirs)), dtype=bool, count=len(self)
            )
        return np.zeros(len(self), dtype=bool)

    def isin(self, values):
        wanted = {frozenset(v) for v in values if isinstance(v, (set, frozenset, tuple, list))}
        return np.fromiter((v in wanted for v in self._objects()), dtype=bool, count=len(self))

    def __setitem__(self, key, value):
        if self._readonly:
            raise ValueError("Cannot modify read-only array")
        # In code form the cached frozensets may be shared with copies of this array: written
        # on a copy of them. An object-form array owns its objects and is written in place.
        obj = self._objects() if self._off is None else self._objects().copy()
        key = check_array_indexer(self, key)
        if np.ndim(obj[key]) == 0 and isinstance(value, (ItemsetArray, pd.Series, pd.Index, np.ndarray)):
            raise ValueError("ItemsetArray.__setitem__: setting one element with a sequence of itemsets")
        if not _is_one_itemset(value) and np.ndim(obj[key]) > 0:
            conv = np.empty(len(value), dtype=object)
            conv[:] = [_as_itemset(v, "ItemsetArray.__setitem__") for v in value]
            obj[key] = conv
        else:
            if isinstance(value, (str, bytes)):
                # df.loc[row, col] = {"a"} reaches here as "a": pandas unpacks list-likes
                # for extension columns (object columns are special-cased).
                raise TypeError(
                    f"ItemsetArray.__setitem__: an itemset must be a set of items, got the string {value!r}; "
                    "to assign one itemset to a DataFrame cell use df.at[row, col] = frozenset(...)"
                )
            obj[key] = _as_itemset(value, "ItemsetArray.__setitem__")
        self._obj = obj
        self._off = self._codes = self._labels = self._mask = None

    def _explode(self):
        """One row per item (missing and empty itemsets give one missing row), as Series.explode."""
        obj = self._objects()
        counts = np.fromiter((max(len(v), 1) if v is not None else 1 for v in obj), dtype=np.int64, count=len(obj))
        flat = []
        for v in obj:
            if v:
                flat.extend(v)
            else:
                flat.append(np.nan)
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out, counts

    def __arrow_array__(self, type=None):
        """The column as an Arrow list array (so ``df.to_parquet`` and ``pa.table(df)`` work):
        each itemset a list of its labels (in code order; by their string forms in the object
        form), missing itemsets null. Labels must share one Arrow type, as any list column's."""
        import pyarrow as pa

        if self._off is not None:
            values = pa.array(self._labels[self._codes].tolist() if len(self._codes) else [])
            mask = None if self._mask is None else pa.array(self._mask)
            out = pa.ListArray.from_arrays(pa.array(self._off, type=pa.int64()), values, mask=mask)
            return out if type is None else out.cast(type)
        rows = [None if v is None else sorted(v, key=str) for v in self._obj]
        return pa.array(rows, type=type)

    # -- what association_rules reads -----------------------------------------------------
    def _csr(self):
        """(offsets, codes, labels) of a compact array without missing rows, else None."""
        if self._off is None or (self._mask is not None and self._mask.any()):
            return None
        return self._off, self._codes, self._labels

    def __reduce__(self):
        # Pickles its compact form: codes, not a million frozensets.
        if self._off is not None:
            return (_rebuild, (self._off, self._codes, self._labels, self._mask))
        return (_rebuild_objects, (self._obj,))


def _is_one_itemset(value) -> bool:
    return isinstance(value, (set, frozenset, tuple)) or not pd.api.types.is_list_like(value)


def _sort_key(v):
    return (-1, ()) if v is None else (len(v), tuple(sorted(map(str, v))))


def _rebuild(off, codes, labels, mask):
    return ItemsetArray(off, codes, labels, mask)


def _rebuild_objects(obj):
    return ItemsetArray(objects=obj)


def _object_array(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _blank_rows(off, codes, blank):
    """CSR with the rows flagged in blank emptied."""
    lengths = np.diff(off)
    keep = np.repeat(~blank, lengths)
    lengths = np.where(blank, 0, lengths)
    new = np.zeros(len(off), dtype=np.int64)
    np.cumsum(lengths, out=new[1:])
    return new, codes[keep]
