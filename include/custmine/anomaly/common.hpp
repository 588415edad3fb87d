// Shared pieces of the anomaly detectors: the score convention, contamination and
// offset, the training feature profile used to explain flagged rows, and JSON helpers.
//
// Convention (scikit-learn's, shared by every detector in this family):
//   score_samples(X)     lower  = more abnormal
//   decision_function(X) = score_samples(X) - offset; negative = outlier
//   predict(X)           +1 inlier, -1 outlier (decision_function < 0)
//   anomaly_score(X)     = -score_samples(X); higher = more abnormal (PyOD's direction)
// With contamination c the offset is the 100*c-th percentile (numpy's linear rule) of
// the training scores, so a fraction c of the training rows is flagged; "auto" uses the
// detector's own fixed threshold (isolation forest -0.5, LOF -1.5, as in the papers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::anomaly {

/// Share of outliers expected in the training data: "auto" or a value in (0, 0.5].
struct Contamination {
  bool is_auto = false;
  double value = 0.1;
  static Contamination automatic() { return {true, 0.0}; }
  static Contamination fraction(double v) { return {false, v}; }
  void validate(std::string_view where, bool auto_allowed) const;
  [[nodiscard]] json::value to_json() const;
  static Contamination from_json(const json::object& params, std::string_view where);
};

/// numpy.percentile(v, q) with the default 'linear' method (v need not be sorted).
double percentile(std::vector<double> v, double q);

/// Per-feature summary of the training data used by top_attributes: the typical range
/// (5th and 95th percentiles), the median, and the median training contribution of
/// each feature (the baseline a row's contribution is compared with).
struct FeatureProfile {
  std::vector<double> low, median, high, baseline;
  [[nodiscard]] bool empty() const { return low.empty(); }
  [[nodiscard]] json::object to_json() const;
  static FeatureProfile from_json(const json::object& state, std::size_t n_features, std::string_view where);
};

/// Percentiles 5/50/95 of each column (baseline left empty); columns on n_threads threads.
/// Above max_rows rows, of max_rows evenly spaced rows.
template <class T>
FeatureProfile feature_ranges(MatrixView<T> X, int n_threads = 1, Index max_rows = 200000);

/// Which of n rows contribution baselines are computed on: all when n <= max_rows, else
/// max_rows rows evenly spaced (deterministic).
std::vector<Index> baseline_row_ids(Index n, Index max_rows = 2048);

/// Those rows of X (baseline_row_ids).
template <class T>
RowMatrix<T> baseline_rows(MatrixView<T> X, Index max_rows = 2048);

/// Column medians of a contribution matrix.
std::vector<double> column_medians(const RowMatrix<double>& C);

/// For each row, the k features with the largest contribution in excess of the feature's
/// baseline (ties by feature index). Returns indices (n x k) and excesses (n x k).
struct TopK {
  RowMatrix<std::int32_t> feature;
  RowMatrix<double> excess;
};
TopK top_k_features(const RowMatrix<double>& contributions, const std::vector<double>& baseline, int k);

/// Common input checks: 2-D shape, at least one row and column, all finite.
template <class T>
void check_fit_input(std::string_view where, MatrixView<T> X, Index min_rows = 1);
template <class T>
void check_score_input(std::string_view where, MatrixView<T> X, Index n_features, bool fitted);

/// Offset from training scores and the contamination setting.
double offset_from_scores(const Vector<double>& train_scores, const Contamination& c, double auto_offset);

/// +1 / -1 from decision values (negative decision = outlier).
Vector<std::int32_t> labels_from_decision(const Vector<double>& decision);

// ---- JSON helpers -----------------------------------------------------------------
json::array json_doubles_array(const double* p, std::size_t n);
inline json::array json_doubles_array(const std::vector<double>& v) { return json_doubles_array(v.data(), v.size()); }
/// Reads an array of numbers and checks its length.
std::vector<double> json_doubles_n(const json::object& o, std::string_view key, std::size_t n, std::string_view where);
std::vector<std::int64_t> json_ints_n(const json::object& o, std::string_view key, std::size_t n, std::string_view where);
/// A positive integer field bounded above (sizes in documents are checked before use).
std::int64_t json_size(const json::object& o, std::string_view key, std::int64_t lo, std::int64_t hi, std::string_view where);

}  // namespace custmine::anomaly
