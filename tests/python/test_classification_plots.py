"""custmine.plotting: every plot draws what the tables report (Agg backend)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from custmine import metrics, plotting  # noqa: E402
from custmine.cluster import KMeans, inertia_curve, segment_profile  # noqa: E402


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.clip(rng.random(500) * 0.6 + 0.3 * y, 0, 1)
    yield y, s
    plt.close("all")


def test_roc_gains_lift_profit_calibration(scored):
    y, s = scored
    ax = plotting.plot_roc(y, s)
    fpr, tpr, _ = metrics.roc_curve(y, s)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), fpr)
    assert f"{metrics.roc_auc_score(y, s):.3f}" in ax.get_legend().get_texts()[0].get_text()
    ax = plotting.plot_cumulative_gains(y, s)
    captured = ax.lines[0].get_ydata()
    assert captured[0] == 0 and captured[-1] == pytest.approx(100.0)
    ax = plotting.plot_lift(y, s, bins=5)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, metrics.gains_table(y, s, bins=5)["lift"])
    pc = metrics.profit_curve(y, s, cost_per_contact=1, revenue_per_response=4)
    ax = plotting.plot_profit_curve(pc)
    assert f"{pc.best_contacts:,}" in ax.get_legend().get_texts()[0].get_text()
    ax = plotting.plot_calibration(y, s, n_bins=5)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), metrics.calibration_curve(y, s, n_bins=5)[0])


def test_confusion_segments_inertia_benchmark():
    ax = plotting.plot_confusion_matrix(["a", "b", "a", "b"], ["a", "a", "a", "b"])
    assert [t.get_text() for t in ax.texts] == ["2", "0", "1", "1"]
    X = np.random.default_rng(1).normal(size=(300, 3))
    labels = KMeans(3, random_state=0).fit_predict(X)
    prof = segment_profile(X, labels)
    ax = plotting.plot_segment_profile(prof)
    assert len(ax.get_yticklabels()) == 3
    ax = plotting.plot_inertia_curve(inertia_curve(X, range(2, 5), silhouette=True))
    assert len(ax.lines[0].get_xdata()) == 3
    import pandas as pd

    res = pd.DataFrame({"model": ["a", "a", "b", "b"], "fold": [0, 1, 0, 1], "fit_time_s": [0.1, 0.2, 1, 2],
                        "predict_time_s": 0.0, "peak_memory_mb": 0.0, "roc_auc": [0.7, 0.8, 0.9, 0.9]})
    ax = plotting.plot_benchmark(res)
    assert ax.get_ylabel() == "roc_auc"
    with pytest.raises(ValueError):
        plotting.plot_segment_profile(res)
    plt.close("all")


def test_plotting_does_not_import_matplotlib_eagerly():
    import subprocess
    import sys

    code = "import sys, custmine.plotting, custmine.metrics; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__('os').environ})
    assert out.stdout.strip() == "False"
