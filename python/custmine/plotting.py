"""Plots for model evaluation and segmentation (matplotlib, imported on first use).

ROC curve, cumulative gains, lift, profit curve, calibration (reliability) curve,
confusion matrix, k-means segment profile, the elbow (inertia over k) and a comparison
of model variants from :func:`custmine.metrics.benchmark_variants`. Every function
takes an optional ``ax`` and returns the Axes it drew on; the numbers come from
:mod:`custmine.metrics` / :mod:`custmine.cluster`, so a plot always shows what the
tables report.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "plot_roc",
    "plot_cumulative_gains",
    "plot_lift",
    "plot_profit_curve",
    "plot_calibration",
    "plot_confusion_matrix",
    "plot_segment_profile",
    "plot_inertia_curve",
    "plot_benchmark",
]


def _axes(ax, figsize=(5.5, 4.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_roc(y_true, y_score, *, pos_label=None, label=None, ax=None):
    """ROC curve with its AUC in the legend and the chance diagonal."""
    from .metrics import roc_auc_score, roc_curve

    ax = _axes(ax)
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=pos_label)
    auc = roc_auc_score(y_true, y_score, pos_label=pos_label)
    ax.plot(fpr, tpr, label=f"{label + ' ' if label else ''}AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="chance")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right")
    return ax


def _gains_points(y_true, y_score, pos_label):
    from .metrics import _binary_y, _score, _m

    y = _binary_y(y_true, pos_label, "plot_cumulative_gains")
    s = _score(y_score, y.shape[0], "plot_cumulative_gains")
    order = np.asarray(_m.rank_descending(s, 1))
    captured = np.r_[0.0, np.cumsum(y[order])] / max(int(y.sum()), 1)
    share = np.arange(y.shape[0] + 1) / y.shape[0]
    return share, captured, y.mean()


def plot_cumulative_gains(y_true, y_score, *, pos_label=None, label=None, ax=None):
    """Share of responders captured against share of customers contacted (best first),
    with the random and the perfect model for reference."""
    ax = _axes(ax)
    share, captured, rate = _gains_points(y_true, y_score, pos_label)
    ax.plot(100 * share, 100 * captured, label=label or "model")
    ax.plot([0, 100], [0, 100], ls="--", c="grey", lw=1, label="random")
    ax.plot([0, 100 * rate, 100], [0, 100, 100], ls=":", c="black", lw=1, label="perfect")
    ax.set(xlabel="Customers contacted (%)", ylabel="Responders captured (%)", title="Cumulative gains",
           xlim=(0, 100), ylim=(0, 101))
    ax.legend(loc="lower right")
    return ax


def plot_lift(y_true, y_score, *, bins=10, pos_label=None, cumulative=True, ax=None):
    """Lift per score group (bars) and cumulative lift (line) from :func:`gains_table`."""
    from .metrics import gains_table

    ax = _axes(ax)
    g = gains_table(y_true, y_score, bins=bins, pos_label=pos_label)
    ax.bar(g["bin"], g["lift"], color="#9ecae1", label="lift")
    if cumulative:
        ax.plot(g["bin"], g["cum_lift"], marker="o", c="#08519c", label="cumulative lift")
    ax.axhline(1.0, ls="--", c="grey", lw=1)
    ax.set(xlabel=f"Score group (1 = top {100 / bins:g}%)", ylabel="Lift", title="Lift by score group")
    ax.set_xticks(g["bin"])
    ax.legend()
    return ax


def plot_profit_curve(result, *, ax=None):
    """Profit against customers contacted, marking the profit-optimal cutoff; ``result``
    is the :class:`custmine.metrics.ProfitCurve` from :func:`profit_curve`."""
    ax = _axes(ax)
    t = result.table
    ax.plot(t["contacted_pct"], t["profit"], c="#31a354")
    best_pct = 100.0 * result.best_contacts / (len(t) - 1)
    ax.axvline(best_pct, ls="--", c="grey", lw=1)
    ax.scatter([best_pct], [result.best_profit], c="black", zorder=3,
               label=f"best: {result.best_contacts:,} contacts, profit {result.best_profit:,.0f}")
    ax.axhline(0, c="black", lw=0.5)
    ax.set(xlabel="Customers contacted (%)", ylabel="Profit", title="Profit curve")
    ax.legend(loc="lower left")
    return ax


def plot_calibration(y_true, y_prob, *, n_bins=10, strategy="uniform", pos_label=None, label=None, ax=None):
    """Observed response rate against mean predicted probability per bin."""
    from .metrics import calibration_curve

    ax = _axes(ax)
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy, pos_label=pos_label)
    ax.plot(prob_pred, prob_true, marker="o", label=label or "model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfectly calibrated")
    ax.set(xlabel="Mean predicted probability", ylabel="Observed positive rate", title="Calibration curve")
    ax.legend(loc="upper left")
    return ax


def plot_confusion_matrix(y_true, y_pred, *, labels=None, normalize=None, ax=None, cmap="Blues"):
    """Confusion matrix as an annotated heat map (rows = true, columns = predicted)."""
    from .metrics import confusion_matrix

    ax = _axes(ax, (4.5, 4))
    if labels is None:
        labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    cm = confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
    im = ax.imshow(cm, cmap=cmap)
    fmt = "{:.2f}" if normalize else "{:,.0f}"
    hi = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, fmt.format(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > hi else "black")
    ax.set_xticks(range(len(labels)), [str(x) for x in labels])
    ax.set_yticks(range(len(labels)), [str(x) for x in labels])
    ax.set(xlabel="Predicted", ylabel="True", title="Confusion matrix")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax


def plot_segment_profile(profile: pd.DataFrame, *, ax=None, cmap="RdBu_r"):
    """Heat map of how each segment differs from the population (the ``<f>_z`` columns of
    :func:`custmine.cluster.segment_profile`), annotated with segment means and sizes."""
    zcols = [c for c in profile.columns if c.endswith("_z")]
    if not zcols:
        raise ValueError("plot_segment_profile: expected the output of custmine.cluster.segment_profile")
    feats = [c[:-2] for c in zcols]
    Z = profile[zcols].to_numpy(dtype=float)
    ax = _axes(ax, (1.2 * len(feats) + 2.5, 0.6 * len(profile) + 1.8))
    lim = max(1.0, float(np.nanmax(np.abs(Z))))
    im = ax.imshow(Z, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
    for i in range(Z.shape[0]):
        for j, f in enumerate(feats):
            ax.text(j, i, f"{profile[f].iloc[i]:.3g}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(feats)), feats, rotation=30, ha="right")
    ax.set_yticks(range(len(profile)), [f"{s} (n={n:,})" for s, n in zip(profile.index, profile["size"])])
    ax.set_title("Segment profile (colour: z vs population; text: segment mean)")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label="z")
    return ax


def plot_inertia_curve(curve: pd.DataFrame, *, ax=None):
    """Inertia against k (the elbow plot), with silhouette on a second axis if present."""
    ax = _axes(ax)
    ax.plot(curve["k"], curve["inertia"], marker="o", c="#3182bd")
    ax.set(xlabel="k (number of segments)", ylabel="Inertia", title="Inertia over k")
    if "silhouette" in curve:
        ax2 = ax.twinx()
        ax2.plot(curve["k"], curve["silhouette"], marker="s", c="#e6550d")
        ax2.set_ylabel("Silhouette", color="#e6550d")
    return ax


def plot_benchmark(results: pd.DataFrame, *, score=None, ax=None):
    """Mean score (with fold min-max) against mean fit time per model variant, from
    :func:`custmine.metrics.benchmark_variants`."""
    fixed = {"model", "fold", "fit_time_s", "predict_time_s", "peak_memory_mb"}
    scores = [c for c in results.columns if c not in fixed]
    if not scores:
        raise ValueError("plot_benchmark: the results hold no score column")
    score = score or scores[0]
    g = results.groupby("model", sort=False)
    mean, lo, hi = g[score].mean(), g[score].min(), g[score].max()
    t = g["fit_time_s"].mean()
    ax = _axes(ax)
    for m in mean.index:
        ax.errorbar(t[m], mean[m], yerr=[[mean[m] - lo[m]], [hi[m] - mean[m]]], fmt="o", capsize=3, label=m)
    ax.set_xscale("log")
    ax.set(xlabel="Mean fit time (s, log scale)", ylabel=score, title="Model variants")
    ax.legend()
    return ax
