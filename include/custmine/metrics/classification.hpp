// Classification metrics and the marketer's evaluation tables.
//
// Confusion matrix, accuracy, precision / recall / F-beta, ROC curve and ROC AUC, average
// precision, log loss, Brier score, the Kolmogorov-Smirnov statistic, the cumulative
// gains / lift table and the profit curve.
//
// References: T. Fawcett (2006), "An introduction to ROC analysis", Pattern Recognition
// Letters 27(8) (ROC AUC by one sorted pass with tied scores as one step, i.e. the
// trapezoid rule); G. W. Brier (1950) (Brier score); Kolmogorov-Smirnov as the maximum
// TPR - FPR gap (Hand 1997, "Construction and Assessment of Classification Rules");
// gains / lift tables as in Berry & Linoff (2004), "Data Mining Techniques".
//
// Complexity: the ranking metrics sort once, O(n log n) with the sort split over
// n_threads; everything else is O(n) (confusion matrix O(n + k^2)).
//
// Conventions (kept equal to scikit-learn's so results can be compared directly):
// - binary labels are 0/1 bytes, 1 is the positive class; weights are optional (empty
//   span = every weight 1) and must be finite and non-negative;
// - tied scores form one threshold: ROC AUC adds the trapezoid over a tie, average
//   precision is sum_t (R_t - R_{t-1}) P_t over the distinct thresholds (no
//   interpolation), KS is max_t |TPR_t - FPR_t|;
// - precision / recall / F with a zero denominator are 0 (scikit-learn's
//   zero_division=0, without its warning).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::metrics {

/// Cumulative counts at each distinct score, from the highest score down.
struct BinaryCurve {
  std::vector<double> thresholds;  ///< distinct scores, descending
  std::vector<double> tps, fps;    ///< weighted positives / negatives scoring >= threshold
};

/// Distinct-threshold curve. When `drop_intermediate`, points on a straight segment of
/// the ROC curve are dropped (scikit-learn's roc_curve rule).
template <class T>
BinaryCurve binary_curve(std::span<const std::uint8_t> y, std::span<const T> score,
                         std::span<const double> weight, bool drop_intermediate = false,
                         int n_threads = 1);

/// Area under the ROC curve; needs both classes present.
template <class T>
double roc_auc(std::span<const std::uint8_t> y, std::span<const T> score,
               std::span<const double> weight = {}, int n_threads = 1);

/// Average precision (area under the step precision-recall curve); needs a positive.
template <class T>
double average_precision(std::span<const std::uint8_t> y, std::span<const T> score,
                         std::span<const double> weight = {}, int n_threads = 1);

/// Kolmogorov-Smirnov statistic: max over thresholds of TPR - FPR (in [0, 1]).
template <class T>
double ks_statistic(std::span<const std::uint8_t> y, std::span<const T> score,
                    std::span<const double> weight = {}, int n_threads = 1);

/// Weighted mean of (p - y)^2 for the positive-class probability p in [0, 1].
template <class T>
double brier_score(std::span<const std::uint8_t> y, std::span<const T> proba,
                   std::span<const double> weight = {});

/// Mean negative log-likelihood of class codes y in [0, k) under the n x k probabilities
/// (clipped to [eps, 1 - eps] as scikit-learn does; rows must sum to one within 1e-6).
double log_loss(std::span<const std::int64_t> y, MatrixView<double> proba,
                std::span<const double> weight = {}, double eps = 2.220446049250313e-16);

/// Weighted k x k confusion matrix, rows = true class, columns = predicted class.
RowMatrix<double> confusion_matrix(std::span<const std::int64_t> y_true,
                                   std::span<const std::int64_t> y_pred, std::int64_t n_classes,
                                   std::span<const double> weight = {});

/// Per-class precision, recall, F-beta and support from a confusion matrix.
struct ClassReport {
  std::vector<double> precision, recall, fscore, support;
};
ClassReport precision_recall_fscore(const RowMatrix<double>& cm, double beta = 1.0);

enum class Average { None, Binary, Micro, Macro, Weighted };
/// Averages a ClassReport; Binary reports class `pos_label`. Returns {precision, recall, F}.
std::vector<double> average_report(const ClassReport& r, const RowMatrix<double>& cm, Average avg,
                                   std::int64_t pos_label, double beta = 1.0);

/// Trace over total of a confusion matrix.
double accuracy(const RowMatrix<double>& cm);

/// Cumulative gains / lift table: customers ranked by score descending (ties keep input
/// order, a stable sort), split into `bins` groups whose sizes differ by at most one
/// (rank r of n, 0-based, goes to group floor(r * bins / n)).
struct GainsTable {
  std::vector<std::int64_t> customers;
  std::vector<double> responders, min_score, max_score;
};
template <class T>
GainsTable gains_table(std::span<const std::uint8_t> y, std::span<const T> score, int bins,
                       int n_threads = 1);

/// Profit when the top-k scored customers are contacted, for k = 0..n: revenue times the
/// responders among them (y given) or the sum of their scores taken as response
/// probabilities (y empty: expected profit), minus cost times k. Ties keep input order.
struct ProfitCurve {
  std::vector<double> profit;    ///< n + 1 values, profit[k] for contacting k customers
  std::vector<double> threshold; ///< score of the k-th contacted customer (NaN for k = 0)
  std::int64_t best_k = 0;       ///< smallest k reaching the maximum profit
};
template <class T>
ProfitCurve profit_curve(std::span<const std::uint8_t> y, std::span<const T> score,
                         double cost_per_contact, double revenue_per_response,
                         int n_threads = 1);

/// Reliability diagram bins: for `bins` equal-width (or, with `quantile`, equal-count)
/// bins of the predicted probability, the mean prediction and the observed positive rate
/// over non-empty bins (scikit-learn's calibration_curve).
struct Calibration {
  std::vector<double> prob_true, prob_pred, count;
};
template <class T>
Calibration calibration_curve(std::span<const std::uint8_t> y, std::span<const T> proba, int bins,
                              bool quantile);

/// Indices that sort `score` descending, ties by index (stable), sorted on n_threads.
template <class T>
std::vector<std::int64_t> rank_descending(std::span<const T> score, int n_threads);

}  // namespace custmine::metrics

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::metrics {
#define CUSTMINE_METRICS_EXTERN(T)                                                                    \
  extern template BinaryCurve binary_curve<T>(std::span<const std::uint8_t>, std::span<const T>,       \
                                              std::span<const double>, bool, int);                    \
  extern template double roc_auc<T>(std::span<const std::uint8_t>, std::span<const T>,                 \
                                    std::span<const double>, int);                                    \
  extern template double average_precision<T>(std::span<const std::uint8_t>, std::span<const T>,       \
                                              std::span<const double>, int);                          \
  extern template double ks_statistic<T>(std::span<const std::uint8_t>, std::span<const T>,            \
                                         std::span<const double>, int);                               \
  extern template double brier_score<T>(std::span<const std::uint8_t>, std::span<const T>,             \
                                        std::span<const double>);                                     \
  extern template GainsTable gains_table<T>(std::span<const std::uint8_t>, std::span<const T>, int, int); \
  extern template ProfitCurve profit_curve<T>(std::span<const std::uint8_t>, std::span<const T>, double,  \
                                              double, int);                                           \
  extern template Calibration calibration_curve<T>(std::span<const std::uint8_t>, std::span<const T>,  \
                                                   int, bool);                                        \
  extern template std::vector<std::int64_t> rank_descending<T>(std::span<const T>, int);
CUSTMINE_METRICS_EXTERN(float)
CUSTMINE_METRICS_EXTERN(double)
#undef CUSTMINE_METRICS_EXTERN
}  // namespace custmine::metrics
#else
#include "custmine/metrics/classification_impl.hpp"
#endif
