"""custmine.association: inputs, itemsets (property tests vs brute force), rules (arules and
mlxtend parity on Groceries), the recommender, JSON/pickle and bad input."""
from __future__ import annotations

import itertools
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import custmine
from custmine import association as A
from conftest import shared_path

ALGS = ("fpgrowth", "eclat", "apriori")


def as_dict(df):
    return dict(zip(df["itemsets"], df["count"]))


def brute(baskets, minc, max_len=None):
    items = sorted({i for b in baskets for i in b}, key=repr)
    sets = [frozenset(b) for b in baskets]
    out = {}
    for k in range(1, (max_len or len(items)) + 1):
        for c in itertools.combinations(items, k):
            s = frozenset(c)
            n = sum(s <= b for b in sets)
            if n >= minc:
                out[s] = n
    return out


def by_definition(all_sets, maximal):
    out = {}
    for s, c in all_sets.items():
        sup = [d for t, d in all_sets.items() if len(t) == len(s) + 1 and s < t]
        if (maximal and not sup) or (not maximal and all(d != c for d in sup)):
            out[s] = c
    return out


# --------------------------------------------------------------------------- inputs


BASKETS = [["a", "b"], ["a", "b", "c"], ["a", "c"], ["b"]]


def test_every_input_form_gives_the_same_itemsets():
    ref = as_dict(A.frequent_itemsets(BASKETS, 2))
    assert ref == {frozenset("a"): 3, frozenset("b"): 3, frozenset("c"): 2, frozenset("ab"): 2, frozenset("ac"): 2}
    long = pd.DataFrame({"order": [1, 1, 2, 2, 2, 3, 3, 4], "sku": list("ababcacb")})
    assert as_dict(A.frequent_itemsets(long, 2, transaction_col="order", item_col="sku")) == ref
    onehot = pd.DataFrame([[x in b for x in "abc"] for b in BASKETS], columns=list("abc"))
    assert as_dict(A.frequent_itemsets(onehot, 2)) == ref
    assert as_dict(A.frequent_itemsets(onehot.astype(int), 2)) == ref
    m = sp.csr_matrix(onehot.to_numpy().astype(np.int8))
    assert as_dict(A.frequent_itemsets(m, 2, item_names=list("abc"))) == ref
    assert as_dict(A.frequent_itemsets(onehot.to_numpy(), 2, item_names=list("abc"))) == ref
    sparse_df = onehot.astype(pd.SparseDtype(bool, False))
    assert as_dict(A.frequent_itemsets(sparse_df, 2)) == ref


def test_duplicates_within_a_transaction_count_once_and_labels_are_exact():
    df = A.frequent_itemsets([["x ", "x ", "x"], ["x"]], 1)
    d = as_dict(df)
    assert d[frozenset(["x"])] == 2 and d[frozenset(["x "])] == 1  # no trimming
    # any hashable label, mixed types kept apart from their string forms
    d2 = as_dict(A.frequent_itemsets([[1, "1", (2, 3)], [1]], 1))
    assert d2[frozenset([1])] == 2 and d2[frozenset(["1"])] == 1 and d2[frozenset([(2, 3)])] == 1


def test_user_data_is_not_mutated():
    baskets = [["b", "a", "a"], ["a"]]
    frame = pd.DataFrame({"t": [1, 1, 2], "i": ["b", "a", "a"]})
    before = (pickle.dumps(baskets), frame.copy())
    A.frequent_itemsets(baskets, 1)
    A.frequent_itemsets(frame, 1, transaction_col="t", item_col="i")
    assert pickle.dumps(baskets) == before[0]
    pd.testing.assert_frame_equal(frame, before[1])


def test_readers(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"cream cheese ,milk\r\nmilk,,milk\n\nbread\n")
    tx = A.read_baskets(p)
    assert tx.n_transactions == 4 and sorted(tx.labels) == ["bread", "cream cheese ", "milk"]
    assert tx.to_baskets()[1] == ["milk"]
    q = tmp_path / "x.dat"
    q.write_text("10 3 \n3\n")
    f = A.read_fimi(q)
    assert f.labels == [3, 10]
    assert as_dict(A.frequent_itemsets(f, 2)) == {frozenset([3]): 2}
    with pytest.raises(ValueError, match="cannot open"):
        A.read_fimi(tmp_path / "missing.dat")


# --------------------------------------------------------------------------- property tests

baskets_st = st.lists(st.lists(st.sampled_from("abcdefg"), max_size=6), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(baskets=baskets_st, minc=st.integers(1, 6), max_len=st.sampled_from([None, 1, 2, 3]))
def test_three_algorithms_equal_brute_force(baskets, minc, max_len):
    want = brute(baskets, minc, max_len)
    full = brute(baskets, minc)
    closed = {s: c for s, c in by_definition(full, False).items() if max_len is None or len(s) <= max_len}
    maximal = {s: c for s, c in by_definition(full, True).items() if max_len is None or len(s) <= max_len}
    for alg in ALGS:
        for n_jobs in (1, 2):
            got = A.frequent_itemsets(baskets, minc, algorithm=alg, max_len=max_len, n_jobs=n_jobs)
            assert as_dict(got) == want
            assert (got["length"] == got["itemsets"].map(len)).all()
            assert np.allclose(got["support"], got["count"] / len(baskets))
            assert as_dict(A.frequent_itemsets(baskets, minc, algorithm=alg, kind="closed", max_len=max_len)) == closed
            assert as_dict(A.frequent_itemsets(baskets, minc, algorithm=alg, kind="maximal", max_len=max_len)) == maximal


def test_thread_count_invariance_exact_order():
    rng = np.random.default_rng(3)
    baskets = [list(np.flatnonzero(rng.random(25) < 0.3)) for _ in range(400)]
    for alg in ALGS:
        a = A.frequent_itemsets(baskets, 15, algorithm=alg, n_jobs=1)
        b = A.frequent_itemsets(baskets, 15, algorithm=alg, n_jobs=2)
        pd.testing.assert_frame_equal(a, b)


def test_min_support_fraction_uses_ceil():
    baskets = [["a"]] * 7 + [["b"]] * 93
    # 0.07 * 100 = 7.000000000000001 in floating point: the threshold is still 7
    assert frozenset("a") in as_dict(A.frequent_itemsets(baskets, 0.07))
    assert frozenset("a") not in as_dict(A.frequent_itemsets(baskets, 0.071))
    assert frozenset("a") in as_dict(A.frequent_itemsets(baskets, 7))


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def groceries():
    return A.read_baskets(shared_path("groceries", "groceries.csv"))


def test_groceries_arules_published_results(groceries):
    # ../shared/data/groceries/SOURCE.md: apriori(Groceries, supp=0.001, conf=0.8) -> 410 rules,
    # sizes 3:29 4:229 5:140 6:12 (arulesViz example); Lantz ch. 8 (supp .006, conf .25, minlen 2) -> 463.
    fi = A.frequent_itemsets(groceries, 0.001, max_len=10)
    assert fi.attrs["min_count"] == 10
    rules = A.association_rules(fi, "confidence", 0.8, max_len=10)
    assert len(rules) == 410
    sizes = (rules["antecedents"].map(len) + 1).value_counts().sort_index().to_dict()
    assert sizes == {3: 29, 4: 229, 5: 140, 6: 12}
    assert (rules["confidence"] == 0.8).sum() == 39
    ex = rules[(rules["antecedents"] == frozenset({"citrus fruit", "whipped/sour cream", "sugar"}))
               & (rules["consequents"] == frozenset({"whole milk"}))]
    assert len(ex) == 1
    row = ex.iloc[0]
    assert row["support"] == pytest.approx(0.001118454, abs=1e-9)
    assert row["confidence"] == pytest.approx(0.8461538, abs=1e-7)
    assert row["lift"] == pytest.approx(3.311549, abs=1e-6)
    assert row["count"] == 11
    fi2 = A.frequent_itemsets(groceries, 0.006)
    assert len(A.association_rules(fi2, "confidence", 0.25, min_len=2)) == 463


def test_groceries_parity_with_mlxtend(groceries):
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    from mlxtend.preprocessing import TransactionEncoder

    baskets = groceries.to_baskets()
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    ref = mlx.fpgrowth(onehot, min_support=0.01, use_colnames=True)
    ours = A.frequent_itemsets(groceries, 0.01)
    r = dict(zip(ref["itemsets"], ref["support"]))
    o = dict(zip(ours["itemsets"], ours["support"]))
    assert r.keys() == o.keys()
    assert max(abs(r[k] - o[k]) for k in r) < 1e-12
    ref_rules = mlx.association_rules(ref, num_itemsets=len(baskets), metric="confidence", min_threshold=0.2)
    our_rules = A.association_rules(ours, "confidence", 0.2, multi_consequent=True)
    key = ["antecedents", "consequents"]
    m = ref_rules.merge(our_rules, on=key, suffixes=("_m", "_c"))
    assert len(m) == len(ref_rules) == len(our_rules) > 0
    for col in ["antecedent support", "consequent support", "support", "confidence", "lift", "representativity",
                "leverage", "conviction", "zhangs_metric", "jaccard", "certainty", "kulczynski"]:
        np.testing.assert_allclose(m[col + "_c"], m[col + "_m"], rtol=1e-9, atol=1e-12, err_msg=col)


@pytest.mark.parametrize(
    "name,minc,kind,expected",
    [  # reference counts from ../shared/data/<name>/SOURCE.md
        ("chess/chess.dat", 2557, "all", 8227),
        ("chess/chess.dat", 2557, "closed", 5083),
        ("chess/chess.dat", 2557, "maximal", 226),
        ("mushroom/mushroom.dat", 4062, "all", 153),
        ("mushroom/mushroom.dat", 4062, "closed", 45),
        ("mushroom/mushroom.dat", 3250, "maximal", 41),
        ("retail/retail.dat", 441, "all", 580),
        ("retail/retail.dat", 441, "closed", 580),
        ("T10I4D100K/T10I4D100K.dat", 1000, "all", 385),
        ("T10I4D100K/T10I4D100K.dat", 500, "maximal", 585),
    ],
)
def test_fimi_reference_counts(name, minc, kind, expected):
    tx = A.read_fimi(shared_path(*name.split("/")))
    got = {alg: len(A.frequent_itemsets(tx, minc, algorithm=alg, kind=kind, n_jobs=2)) for alg in ("fpgrowth", "eclat")}
    assert got == {"fpgrowth": expected, "eclat": expected}


# --------------------------------------------------------------------------- rules


def test_rule_options():
    fi = A.frequent_itemsets(BASKETS, 1)
    r = A.association_rules(fi, "confidence", 0.0, min_len=2)
    assert list(r.columns) == A.RULE_COLUMNS
    assert (r["consequents"].map(len) == 1).all() and len(r) == 9
    r1 = A.association_rules(fi, "support", 0.7)  # min_len=1: {} => {a}, {} => {b}
    assert set(r1["consequents"]) == {frozenset("a"), frozenset("b")}
    assert (r1["antecedents"] == frozenset()).all()
    app = A.association_rules(fi, "confidence", 0.0, min_len=2, appearance={"rhs": ["c"], "default": "lhs"})
    assert set(app["consequents"]) == {frozenset("c")} and len(app) == 3
    pr = A.association_rules(fi, "confidence", 0.0, min_len=2, appearance={"rhs": ["c"], "default": "lhs"},
                             prune_redundant=True)
    assert frozenset("ab") not in set(pr["antecedents"]) and len(pr) == 2
    multi = A.association_rules(fi, "confidence", 0.0, multi_consequent=True)
    assert len(multi) == 12
    top = A.association_rules(fi, "confidence", 0.0, min_len=2, top_k=3, sort_by="lift")
    assert len(top) == 3 and top["lift"].is_monotonic_decreasing
    ml = A.association_rules(fi, "confidence", 0.0, min_len=3, max_len=3)
    assert (ml["antecedents"].map(len) == 2).all()
    # a frame without counts (e.g. from mlxtend) works from supports
    r2 = A.association_rules(fi[["support", "itemsets"]], "confidence", 0.0, min_len=2)
    np.testing.assert_allclose(r2["confidence"], r["confidence"])
    assert (r2["count"] == r["count"]).all()  # n_transactions from df.attrs
    bare = fi[["support", "itemsets"]].copy()
    bare.attrs = {}
    r3 = A.association_rules(bare, "confidence", 0.0, min_len=2)
    assert r3["count"].isna().all()
    r4 = A.association_rules(bare, "confidence", 0.0, min_len=2, n_transactions=4)
    assert (r4["count"] == r["count"]).all()


def test_rules_from_incomplete_frame_is_a_clear_error():
    fi = A.frequent_itemsets(BASKETS, 1, kind="maximal")
    with pytest.raises(ValueError, match="lacks the subset"):
        A.association_rules(fi, "confidence", 0.5)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(transactions=[], min_support=0.5), "empty"),
        (dict(transactions=BASKETS, min_support=0.0), "min_support"),
        (dict(transactions=BASKETS, min_support=1.5), "min_support"),
        (dict(transactions=BASKETS, min_support=-2), "min_support"),
        (dict(transactions=BASKETS, min_support=True), "min_support"),
        (dict(transactions=BASKETS, min_support=float("nan")), "min_support"),
        (dict(transactions=[["a", None]], min_support=1), "missing"),
        (dict(transactions=[["a", float("nan")]], min_support=1), "missing"),
        (dict(transactions=["ab", "c"], min_support=1), "transaction 0"),
        (dict(transactions=BASKETS, min_support=1, algorithm="magic"), "algorithm"),
        (dict(transactions=BASKETS, min_support=1, kind="open"), "kind"),
        (dict(transactions=BASKETS, min_support=1, max_len=0), "max_len"),
        (dict(transactions=BASKETS, min_support=1, n_jobs=0), "n_jobs"),
        (dict(transactions=pd.DataFrame({"a": [0.5, 1.0]}), min_support=1), "0/1"),
        (dict(transactions=pd.DataFrame({"a": [1.0, np.nan]}), min_support=1), "missing"),
        (dict(transactions=pd.DataFrame({"t": [1, None], "i": ["a", "b"]}), min_support=1, transaction_col="t",
              item_col="i"), "transaction_col"),
        (dict(transactions=pd.DataFrame({"t": [1]}), min_support=1, transaction_col="t", item_col="x"), "item_col"),
        (dict(transactions=pd.DataFrame({"t": [], "i": []}), min_support=1, transaction_col="t", item_col="i"),
         "empty"),
        (dict(transactions=sp.csr_matrix(np.array([[1.0, -1.0]])), min_support=1), "Negative"),
        (dict(transactions="abc", min_support=1), "transactions"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        A.frequent_itemsets(**kwargs)


def test_explosion_guard():
    baskets = [list(range(20))] * 3  # 2^20 - 1 itemsets
    with pytest.raises(ValueError, match="max_itemsets"):
        A.frequent_itemsets(baskets, 1, max_itemsets=10_000)
    assert len(A.frequent_itemsets(baskets, 1, max_len=2, max_itemsets=10_000)) == 210


def test_bad_rule_input():
    fi = A.frequent_itemsets(BASKETS, 1)
    with pytest.raises(ValueError, match="empty"):
        A.association_rules(fi.iloc[:0])
    with pytest.raises(ValueError, match="metric"):
        A.association_rules(fi, "magic")
    with pytest.raises(ValueError, match="itemsets"):
        A.association_rules(fi.drop(columns="itemsets"))
    with pytest.raises(ValueError, match="appearance"):
        A.association_rules(fi, appearance={"left": ["a"]})
    with pytest.raises(ValueError, match="min_threshold"):
        A.association_rules(fi, min_threshold=float("nan"))
    with pytest.raises(ValueError, match="DataFrame"):
        A.association_rules([frozenset("a")])


# --------------------------------------------------------------------------- recommender

TRAIN = [["bread", "butter", "jam"]] * 2 + [["bread", "milk"]] * 2 + [["butter", "milk"]]


def test_recommender_hand_checked():
    rec = A.CrossSellRecommender(min_support=2, min_confidence=0.5).fit(TRAIN)
    out = rec.recommend(["bread", "butter", "caviar"], k=3)  # caviar is unknown: ignored
    assert out["item"].iloc[0] == "jam" and out["score"].iloc[0] == 1.0
    assert "bread" not in set(out["item"]) and "butter" not in set(out["item"])
    assert out["antecedents"].iloc[0] <= frozenset({"bread", "butter"})
    many = rec.recommend_many([["bread", "butter"], ["caviar"], []], k=2)
    assert set(many["basket"]) == {0}
    assert rec.recommend(["caviar"]).empty
    ev = rec.evaluate(TRAIN, k=1)
    assert ev["cases"] == 12 and 0 < ev["hit_rate"] <= 1 and 0 < ev["coverage"] <= 1
    assert rec.score(TRAIN, k=1) == ev["hit_rate"]
    two = A.CrossSellRecommender(min_support=2, min_confidence=0.5, n_jobs=2).fit(TRAIN)
    pd.testing.assert_frame_equal(two.recommend_many(TRAIN, k=2), rec.recommend_many(TRAIN, k=2))


def test_recommender_upsell():
    rec = A.CrossSellRecommender(min_support=2, min_confidence=0.3).fit(TRAIN, prices={"jam": 4.0, "milk": 1.0})
    up = rec.recommend(["bread"], k=5, mode="upsell")
    # bread => jam conf 2/4 * 4.0 = 2.0 ranks above bread => milk conf 2/4 * 1.0; butter has no price
    assert list(up["item"]) == ["jam", "milk"]
    assert up["score"].tolist() == pytest.approx([2.0, 0.5])
    plain = A.CrossSellRecommender(min_support=2, min_confidence=0.3).fit(TRAIN)
    with pytest.raises(ValueError, match="prices"):
        plain.recommend(["bread"], mode="upsell")
    with pytest.raises(ValueError, match="price"):
        A.CrossSellRecommender(min_support=2).fit(TRAIN, prices={"jam": -1.0})


def test_recommender_json_pickle_and_errors(tmp_path):
    rec = A.CrossSellRecommender(min_support=2, min_confidence=0.3, metric="lift").fit(TRAIN, prices={"jam": 4.0})
    back = A.CrossSellRecommender.from_json(rec.to_json())
    pd.testing.assert_frame_equal(back.rules_, rec.rules_)
    pd.testing.assert_frame_equal(back.recommend_many(TRAIN, k=3), rec.recommend_many(TRAIN, k=3))
    pd.testing.assert_frame_equal(back.recommend(["bread"], mode="upsell"), rec.recommend(["bread"], mode="upsell"))
    rec.save(tmp_path / "m.json")
    assert A.CrossSellRecommender.load(tmp_path / "m.json").get_params() == rec.get_params()
    p = pickle.loads(pickle.dumps(rec))
    pd.testing.assert_frame_equal(p.recommend_many(TRAIN), rec.recommend_many(TRAIN))
    with pytest.raises(custmine.SerializationError):
        A.CrossSellRecommender.from_json(rec.to_json().replace('"n_transactions": 5', '"n_transactions": -5'))
    with pytest.raises(ValueError):
        A.CrossSellRecommender.from_json("{not json")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        A.CrossSellRecommender().recommend(["a"])
    with pytest.raises(ValueError, match="min_confidence"):
        A.CrossSellRecommender(min_confidence=2).fit(TRAIN)
    with pytest.raises(ValueError, match="k"):
        rec.recommend(["bread"], k=0)
    with pytest.raises(ValueError, match="mode"):
        rec.recommend(["bread"], mode="downsell")


def test_sklearn_clone_and_params():
    from sklearn.base import clone

    rec = A.CrossSellRecommender(min_support=3, metric="lift")
    c = clone(rec)
    assert c.get_params() == rec.get_params()
    assert not hasattr(c, "rules_")


def test_groceries_recommender(groceries):
    rec = A.CrossSellRecommender(min_support=0.005, min_confidence=0.2, n_jobs=2).fit(groceries)
    baskets = groceries.to_baskets()
    ev = rec.evaluate(baskets[:1500], k=5)
    assert 0.05 < ev["hit_rate"] < 0.9 and ev["coverage"] > 0.5
    one = A.CrossSellRecommender(min_support=0.005, min_confidence=0.2, n_jobs=1).fit(groceries)
    assert one.evaluate(baskets[:1500], k=5) == ev


def test_plots_and_demo(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fi = A.frequent_itemsets(BASKETS, 1)
    rules = A.association_rules(fi, "confidence", 0.0, min_len=2)
    assert A.plot_rules(rules) is not None
    assert A.plot_rule_graph(rules, top=5) is not None
    text = A.demo_report(tmp_path)
    assert "Cross-sell" in text and "=>" in text
    assert (tmp_path / "association_rules.png").exists()


# --------------------------------------------------------------------------- scikit-learn contract

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

_EXPECTED_FAILURES = {
    # X is a transaction matrix: 0/1 presence flags. Object arrays of strings are rejected
    # by design (baskets of strings go in as lists, not as a one-hot object matrix).
    "check_dtype_object": "object matrices of strings are not one-hot transactions",
    # sklearn's sparse checks feed random signed floats; a presence matrix must be >= 0,
    # so fit rejects them with a 'Negative values' message the sparse check does not expect.
    "check_estimator_sparse_array": "random signed sparse data is not a presence matrix",
    "check_estimator_sparse_matrix": "random signed sparse data is not a presence matrix",
}


@parametrize_with_checks(
    [A.CrossSellRecommender(min_support=0.2, max_len=3)],
    expected_failed_checks=lambda est: _EXPECTED_FAILURES,
)
def test_sklearn_compat(estimator, check):
    check(estimator)


def test_itemsets_as_tuples(groceries):
    # same itemsets and counts as frozensets; items in the transactions' label order; rules alike
    order = {label: i for i, label in enumerate(groceries.labels)}
    fs = A.frequent_itemsets(groceries, 0.005)
    for alg in ("fpgrowth", "eclat", "apriori"):
        tu = A.frequent_itemsets(groceries, 0.005, algorithm=alg, itemset_type="tuple")
        assert all(isinstance(t, tuple) and list(t) == sorted(t, key=order.get) for t in tu["itemsets"])
        assert dict(zip(map(frozenset, tu["itemsets"]), tu["count"])) == dict(zip(fs["itemsets"], fs["count"]))
    r1 = A.association_rules(fs, metric="confidence", min_threshold=0.3)
    r2 = A.association_rules(tu, metric="confidence", min_threshold=0.3)
    key = lambda r: {(frozenset(a), frozenset(c)): round(v, 12)  # noqa: E731
                     for a, c, v in zip(r["antecedents"], r["consequents"], r["confidence"])}
    assert len(r1) > 0 and key(r1) == key(r2)
    with pytest.raises(ValueError, match="itemset_type"):
        A.frequent_itemsets(groceries, 0.005, itemset_type="list")



def test_itemsets_of_plain_labels_are_left_out_of_garbage_collection():
    # Frozensets/tuples of str/int labels cannot hold a reference cycle: they are untracked,
    # so that building a million of them does not trigger full collections over them. Labels
    # of any other type keep the objects tracked; the results are the same either way.
    import gc

    class Tag:
        def __init__(self, name):
            self.name = name

        def __eq__(self, other):
            return isinstance(other, Tag) and other.name == self.name

        def __hash__(self):
            return hash(self.name)

    baskets = [["a", "b"], ["a", "b", "c"], ["b", "c"], ["a", "c"], ["a", "b", "c"]]
    tags = {x: Tag(x) for x in "abc"}
    for itemset_type in ("frozenset", "tuple"):
        plain = A.frequent_itemsets(baskets, 0.4, itemset_type=itemset_type)
        assert not any(gc.is_tracked(s) for s in plain["itemsets"])
        numbered = A.frequent_itemsets([[ord(x) for x in b] for b in baskets], 0.4, itemset_type=itemset_type)
        assert not any(gc.is_tracked(s) for s in numbered["itemsets"])
        custom = A.frequent_itemsets([[tags[x] for x in b] for b in baskets], 0.4, itemset_type=itemset_type)
        assert all(gc.is_tracked(s) for s in custom["itemsets"])
        as_names = {frozenset(t.name for t in s): c for s, c in zip(custom["itemsets"], custom["count"])}
        assert as_names == {frozenset(s): c for s, c in zip(plain["itemsets"], plain["count"])}
    rules = A.association_rules(A.frequent_itemsets(baskets, 0.4), metric="confidence", min_threshold=0.5)
    assert len(rules) > 0
    assert not any(gc.is_tracked(s) for s in rules["antecedents"])
    before = [sorted(s) for s in rules["antecedents"]]
    gc.collect()  # a full collection leaves the untracked objects intact
    assert [sorted(s) for s in rules["antecedents"]] == before
