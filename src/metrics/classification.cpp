// Compiled part of the metrics family: the non-template metrics and the float/double
// instantiations of the ranking metrics.
#include "custmine/metrics/classification_impl.hpp"

namespace custmine::metrics {

double log_loss(std::span<const std::int64_t> y, MatrixView<double> proba, std::span<const double> weight,
                double eps) {
  constexpr std::string_view where = "log_loss";
  const Index n = static_cast<Index>(y.size());
  check_nonempty(where, "y_true", n);
  check_same_length(where, "y_true", n, "y_proba", proba.rows());
  require(proba.cols() >= 2, where, "y_proba must have at least 2 columns (got ", proba.cols(), ")");
  check_finite(where, "y_proba", proba);
  detail::check_weights(where, weight, y.size());
  double num = 0, den = 0;
  for (Index i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= proba.cols())
      fail(where, "y_true code ", y[i], " at position ", i, " has no column in y_proba");
    double row = 0;
    for (Index j = 0; j < proba.cols(); ++j) {
      const double p = proba(i, j);
      if (p < 0 || p > 1) fail(where, "y_proba must lie in [0, 1] (row ", i, " column ", j, " is ", p, ")");
      row += p;
    }
    if (std::abs(row - 1.0) > 1e-6)
      fail(where, "the rows of y_proba must sum to 1 (row ", i, " sums to ", row, ")");
    const double p = std::clamp(proba(i, y[i]), eps, 1.0 - eps);
    const double w = weight.empty() ? 1.0 : weight[i];
    num -= w * std::log(p);
    den += w;
  }
  require(den > 0, where, "sample_weight sums to zero");
  return num / den;
}

RowMatrix<double> confusion_matrix(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred,
                                   std::int64_t k, std::span<const double> weight) {
  constexpr std::string_view where = "confusion_matrix";
  check_same_length(where, "y_true", static_cast<Index>(y_true.size()), "y_pred", static_cast<Index>(y_pred.size()));
  require(k >= 1, where, "there must be at least one label (got ", k, ")");
  detail::check_weights(where, weight, y_true.size());
  RowMatrix<double> cm = RowMatrix<double>::Zero(k, k);
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const auto t = y_true[i], p = y_pred[i];
    if (t < 0 || t >= k || p < 0 || p >= k) fail(where, "label code out of range at position ", i);
    cm(t, p) += weight.empty() ? 1.0 : weight[i];
  }
  return cm;
}

namespace {
double safe_div(double a, double b) { return b > 0 ? a / b : 0.0; }
double fbeta(double p, double r, double beta) {
  const double b2 = beta * beta;
  return (p + r) > 0 ? (1 + b2) * p * r / (b2 * p + r) : 0.0;
}
}  // namespace

ClassReport precision_recall_fscore(const RowMatrix<double>& cm, double beta) {
  require(beta > 0 && std::isfinite(beta), "precision_recall_fscore", "beta must be positive (got ", beta, ")");
  const Index k = cm.rows();
  ClassReport r;
  for (Index c = 0; c < k; ++c) {
    const double tp = cm(c, c), pred = cm.col(c).sum(), truth = cm.row(c).sum();
    r.precision.push_back(safe_div(tp, pred));
    r.recall.push_back(safe_div(tp, truth));
    r.fscore.push_back(fbeta(r.precision.back(), r.recall.back(), beta));
    r.support.push_back(truth);
  }
  return r;
}

std::vector<double> average_report(const ClassReport& r, const RowMatrix<double>& cm, Average avg,
                                   std::int64_t pos_label, double beta) {
  const auto k = static_cast<std::int64_t>(r.precision.size());
  switch (avg) {
    case Average::Binary:
      require(pos_label >= 0 && pos_label < k, "precision_recall_fscore", "pos_label is not a known label");
      return {r.precision[pos_label], r.recall[pos_label], r.fscore[pos_label]};
    case Average::Micro: {
      const double tp = cm.diagonal().sum(), total = cm.sum();
      const double p = safe_div(tp, total);
      return {p, p, fbeta(p, p, beta)};
    }
    case Average::Macro:
    case Average::Weighted: {
      double sp = 0, sr = 0, sf = 0, sw = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        const double w = avg == Average::Macro ? 1.0 : r.support[c];
        sp += w * r.precision[c];
        sr += w * r.recall[c];
        sf += w * r.fscore[c];
        sw += w;
      }
      return {safe_div(sp, sw), safe_div(sr, sw), safe_div(sf, sw)};
    }
    case Average::None:
      break;
  }
  fail("precision_recall_fscore", "average=None has no single value; read the per-class report");
}

double accuracy(const RowMatrix<double>& cm) {
  const double total = cm.sum();
  require(total > 0, "accuracy_score", "no samples (or all weights zero)");
  return cm.diagonal().sum() / total;
}

#define CUSTMINE_METRICS_INSTANTIATE(T)                                                                        \
  template BinaryCurve binary_curve<T>(std::span<const std::uint8_t>, std::span<const T>, std::span<const double>, \
                                       bool, int);                                                             \
  template double roc_auc<T>(std::span<const std::uint8_t>, std::span<const T>, std::span<const double>, int);    \
  template double average_precision<T>(std::span<const std::uint8_t>, std::span<const T>, std::span<const double>, \
                                       int);                                                                   \
  template double ks_statistic<T>(std::span<const std::uint8_t>, std::span<const T>, std::span<const double>, int); \
  template double brier_score<T>(std::span<const std::uint8_t>, std::span<const T>, std::span<const double>);      \
  template GainsTable gains_table<T>(std::span<const std::uint8_t>, std::span<const T>, int, int);                \
  template ProfitCurve profit_curve<T>(std::span<const std::uint8_t>, std::span<const T>, double, double, int);   \
  template Calibration calibration_curve<T>(std::span<const std::uint8_t>, std::span<const T>, int, bool);        \
  template std::vector<std::int64_t> rank_descending<T>(std::span<const T>, int);
CUSTMINE_METRICS_INSTANTIATE(float)
CUSTMINE_METRICS_INSTANTIATE(double)

}  // namespace custmine::metrics
