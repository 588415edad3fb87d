"""Decision trees and random forests side by side: custmine vs scikit-learn, in one process.

Data: UCI bank marketing (bank-additional-full, `duration` dropped: it is known only after
the call), one-hot encoded, 70/30 stratified split; and a synthetic make_classification
set with 28 features. Same parameters for both libraries; the script checks that test
ROC AUC agrees (decision tree within 0.005, forest within 0.01 — 0.015 at smoke sizes —
forests draw different random samples) and exits non-zero otherwise. Times are best of `--repeat` fits;
prediction time is for the test set. Peak memory is the peak resident-set growth during
the fit, sampled every 2 ms (psutil), so it counts native allocations too.
Gradient boosting: custmine GradientBoostingClassifier against LightGBM, XGBoost (hist,
loss-guided growth) and scikit-learn HistGradientBoosting with the same trees (100 x 31 leaves,
learning rate 0.1, >= 20 rows per leaf, 255 bins, no early stopping), on bank marketing and a
1M x 28 synthetic set (20k in smoke mode), 1 and 2 threads; times relative to LightGBM; the
AUC must be within 0.005 of LightGBM's.

    python benchmarks/python/compare_trees.py            # full sizes
    python benchmarks/python/compare_trees.py --smoke    # small sizes, agreement check, < 60 s
    python benchmarks/python/compare_trees.py --gbdt-only   # only the boosting comparison
"""
from __future__ import annotations

import argparse
import os
import sys

if "--smoke" in sys.argv:
    # Smoke runs share CI machines: OpenMP peers (LightGBM, XGBoost, scikit-learn) that spin-wait
    # between parallel regions can take 100x longer when the cores are busy. Set before any
    # OpenMP runtime loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _bench import PeakRSS
from sklearn import ensemble as ske
from sklearn import tree as skt
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from custmine import ensemble as cme
from custmine import tree as cmt

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def fit_measure(make, X, y, repeat):
    best, mem, model = float("inf"), 0.0, None
    for _ in range(repeat):
        model = make()
        with PeakRSS() as m:
            t0 = time.perf_counter()
            model.fit(X, y)
            dt = time.perf_counter() - t0
        best, mem = min(best, dt), max(mem, m.mib)
    return best, mem, model


def bank(n_max=None):
    path = SHARED / "bank_marketing" / "bank-additional-full.csv"
    if not path.exists():
        return None
    df = pd.read_csv(path, sep=";").drop(columns=["duration"])
    if n_max is not None and len(df) > n_max:
        df = df.sample(n_max, random_state=0)
    y = (df.pop("y") == "yes").astype(int).to_numpy()
    X = pd.get_dummies(df, dtype=float).to_numpy()
    return X, y


def synthetic(n):
    X, y = make_classification(n_samples=n, n_features=28, n_informative=12, flip_y=0.05, random_state=0)
    return X.astype(np.float32).astype(np.float64), y


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small sizes; only check agreement")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--bank-only", action="store_true", help="skip the synthetic data set")
    ap.add_argument("--gbdt-only", action="store_true", help="only the gradient boosting comparison")
    ap.add_argument("--no-gbdt", action="store_true", help="skip the gradient boosting comparison")
    args = ap.parse_args()
    if args.gbdt_only:
        return gbdt_main(args)
    repeat = args.repeat or (1 if args.smoke else 2)
    n_trees = 60 if args.smoke else 100
    datasets = []
    b = bank(8000 if args.smoke else None)
    if b is None:
        print("bank marketing data not found in ../shared/data: skipping it")
    else:
        datasets.append(("bank marketing (no duration)", b))
    n_syn = 8000 if args.smoke else 200_000
    if not args.bank_only:
        datasets.append((f"synthetic {n_syn} x 28", synthetic(n_syn)))

    rows, ok = [], True
    for dname, (X, y) in datasets:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
        cases = [
            ("DecisionTree depth 6", 0.005,
             lambda: cmt.DecisionTreeClassifier(max_depth=6, min_samples_leaf=10, random_state=0),
             lambda: skt.DecisionTreeClassifier(max_depth=6, min_samples_leaf=10, random_state=0)),
        ]
        for jobs in (1, 2):
            cases.append((f"RandomForest {n_trees} trees, {jobs} thread(s)", 0.015 if args.smoke else 0.01,
                          lambda j=jobs: cme.RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=5,
                                                                    random_state=0, n_jobs=j),
                          lambda j=jobs: ske.RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=5,
                                                                    random_state=0, n_jobs=j)))
        cases.append((f"RandomForest {n_trees} trees, exact splits (max_bins=None), 1 thread",
                      0.015 if args.smoke else 0.01,
                      lambda: cme.RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=5, random_state=0,
                                                         n_jobs=1, max_bins=None),
                      lambda: ske.RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=5, random_state=0,
                                                         n_jobs=1)))
        for cname, tol, ours, ref in cases:
            t_o, m_o, mo = fit_measure(ours, Xtr, ytr, repeat)
            t_r, m_r, mr = fit_measure(ref, Xtr, ytr, repeat)
            t0 = time.perf_counter()
            p_o = mo.predict_proba(Xte)[:, 1]
            tp_o = time.perf_counter() - t0
            t0 = time.perf_counter()
            p_r = mr.predict_proba(Xte)[:, 1]
            tp_r = time.perf_counter() - t0
            a_o, a_r = roc_auc_score(yte, p_o), roc_auc_score(yte, p_r)
            agree = abs(a_o - a_r) <= tol
            ok &= agree
            rows.append(dict(data=dname, model=cname, rows=len(Xtr), auc_custmine=round(a_o, 4),
                             auc_sklearn=round(a_r, 4), agree=agree, fit_s_custmine=round(t_o, 3),
                             fit_s_sklearn=round(t_r, 3), fit_ratio=round(t_o / t_r, 2),
                             predict_ratio=round(tp_o / max(tp_r, 1e-9), 2), peak_mib_custmine=round(m_o, 1),
                             peak_mib_sklearn=round(m_r, 1)))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False))
    print("fit_ratio = custmine time / scikit-learn time (lower is faster); peak = RSS growth during fit (psutil)")
    if not ok:
        sys.stdout.flush()
        print("DISAGREEMENT: AUC differs beyond tolerance", file=sys.stderr)
        return 1
    print("all results agree")
    return 0 if args.no_gbdt else gbdt_main(args)


def gbdt_models(threads):
    """The same boosted trees in each library: 100 iterations x 31 leaves, learning rate 0.1."""
    import lightgbm as lgb
    import xgboost as xgb

    return {
        "custmine": lambda: cme.GradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, learning_rate=0.1,
                                                           min_samples_leaf=20, early_stopping=False,
                                                           random_state=0, n_jobs=threads),
        "lightgbm": lambda: lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1,
                                               min_child_samples=20, min_child_weight=1e-3, max_bin=255,
                                               verbose=-1, n_jobs=threads),
        "xgboost": lambda: xgb.XGBClassifier(n_estimators=100, max_leaves=31, max_depth=0, grow_policy="lossguide",
                                             learning_rate=0.1, tree_method="hist", max_bin=256,
                                             min_child_weight=1e-3, reg_lambda=0.0, n_jobs=threads),
        "sklearn": lambda: ske.HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, learning_rate=0.1,
                                                              min_samples_leaf=20, early_stopping=False,
                                                              random_state=0),
    }


def gbdt_main(args) -> int:
    from threadpoolctl import threadpool_limits

    try:
        import lightgbm  # noqa: F401
        import xgboost  # noqa: F401
    except ImportError as exc:
        print(f"gradient boosting comparison skipped: {exc.name} is not installed "
              "(pip install -r requirements/test-tree.txt)")
        return 0

    repeat = args.repeat or (1 if args.smoke else 2)
    datasets = []
    b = bank(8000 if args.smoke else None)
    if b is None:
        print("bank marketing data not found in ../shared/data: skipping it")
    else:
        datasets.append(("bank marketing (no duration)", b))
    n_syn = 20_000 if args.smoke else 1_000_000
    if not args.bank_only:
        datasets.append((f"synthetic {n_syn:,} x 28", synthetic(n_syn)))
    rows, ok = [], True
    for dname, (X, y) in datasets:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
        for threads in (1, 2):
            res = {}
            for lib, make in gbdt_models(threads).items():
                # scikit-learn's OpenMP pool follows the limit; the others take n_jobs
                with threadpool_limits(threads, user_api="openmp"):
                    t_fit, mem, model = fit_measure(make, Xtr, ytr, repeat)
                    t0 = time.perf_counter()
                    p = model.predict_proba(Xte)[:, 1]
                    t_pred = time.perf_counter() - t0
                res[lib] = (t_fit, t_pred, mem, roc_auc_score(yte, p))
            ref = res["lightgbm"]
            agree = abs(res["custmine"][3] - ref[3]) <= 0.005
            ok &= agree
            for lib, (t_fit, t_pred, mem, auc) in res.items():
                rows.append(dict(data=dname, threads=threads, library=lib, rows=len(Xtr), auc=round(auc, 4),
                                 fit_s=round(t_fit, 3), fit_vs_lightgbm=round(t_fit / ref[0], 2),
                                 predict_s=round(t_pred, 3), predict_vs_lightgbm=round(t_pred / max(ref[1], 1e-9), 2),
                                 peak_mib=round(mem, 1)))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False))
    print("fit_vs_lightgbm = library time / LightGBM time (lower is faster); peak = RSS growth during fit")
    if not ok:
        sys.stdout.flush()
        print("DISAGREEMENT: custmine GBDT AUC differs from LightGBM's by more than 0.005", file=sys.stderr)
        return 1
    print("gradient boosting: custmine AUC within 0.005 of LightGBM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
