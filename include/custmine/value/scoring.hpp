// Weighted multi-indicator scoring, grading and two-axis portfolio matrices.
//
// weighted_score: each indicator (column) is put on a common scale — min-max to [0, 1],
// z-score, percentile rank to [0, 1] (average ranks for ties), or a fixed (low, high)
// scale mapped to [0, 1] — reversed where lower is better, and combined with weights
// normalised to sum to 1. The contribution of indicator j to row i is w_j * z_ij, so a
// row's score is the sum of its contributions (the weighted-sum / simple additive weighting
// model of multi-criteria decision analysis; Fishburn 1967, "Additive utilities with
// incomplete product set", Operations Research 15(3)). A constant column carries no
// information: min-max and rank give it 0.5, z-score 0.
//
// Grades: by thresholds (first grade whose lower bound the score reaches) or by quantile
// shares from the top, equal scores always sharing a grade.
//
// Quadrants: two scores split at their median, mean or given values; "high" means strictly
// above the split. Used by the customer value matrix (Verhoef & Donkers 2001) and the key
// account identification and selection matrix (McDonald, Millman & Rogers 1997).
// Complexity: O(n m) for scores (O(n m log n) with ranks), O(n log n) for quantile grades.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"
#include "custmine/value/api.hpp"

namespace custmine::value {

enum class Scaling { MinMax, ZScore, Rank, Fixed };

struct ScoreParams {
  Scaling scaling = Scaling::MinMax;
  double fixed_low = 0, fixed_high = 1;  ///< Fixed: every value must lie in [low, high]
};

struct ScoreResult {
  RowMatrix<double> scaled;        ///< n x m, each indicator on the common scale, reversed where lower is better
  RowMatrix<double> contribution;  ///< n x m, w_j * scaled
  std::vector<double> score;       ///< row sums of contribution
  std::vector<double> weight;      ///< normalised weights (sum 1)
};

/// X: n x m indicators; weights: m, non-negative, not all zero; higher_is_better: m flags.
CUSTMINE_VALUE_API ScoreResult weighted_score(MatrixView<double> X, std::span<const double> weights,
                                              std::span<const std::uint8_t> higher_is_better, const ScoreParams& p);

/// Grade index per row: the first k with score >= lower[k]; lower must be strictly
/// decreasing; rows below every bound get lower.size() (an "ungraded" index).
CUSTMINE_VALUE_API std::vector<std::int32_t> grade_by_thresholds(std::span<const double> score,
                                                                 std::span<const double> lower);

/// Grade index per row from cumulative shares from the top (increasing in (0, 1], last
/// == 1): rows ranked by score descending (ties by position); rank i of n goes to the first
/// k with i <= ceil(cum_share[k] * n); then every row takes the best grade of its equal scores.
CUSTMINE_VALUE_API std::vector<std::int32_t> grade_by_shares(std::span<const double> score,
                                                             std::span<const double> cum_share);

enum class Split { Median, Mean, Value };

/// The split value of a score (Value returns `value`).
CUSTMINE_VALUE_API double split_value(std::span<const double> v, Split how, double value);

/// Quadrant per row: 0 = high x & high y, 1 = low x & high y, 2 = high x & low y,
/// 3 = low x & low y ("high" = strictly above the split).
CUSTMINE_VALUE_API std::vector<std::int32_t> quadrants(std::span<const double> x, std::span<const double> y,
                                                       double split_x, double split_y);

/// A fitted weighted grader: learns the scaling of each indicator and the grade bounds
/// on a reference population, then scores and grades new rows by the same rules (so a new
/// period's customers are graded like the reference ones). On the reference rows its scores
/// and grades equal weighted_score + grade_by_shares / grade_by_thresholds. New values may
/// scale outside [0, 1] under min-max (they are not clipped); ranks place a new value
/// between its reference neighbours (average rank, clipped to [0, 1]).
class WeightedGrader {
 public:
  struct Params {
    Scaling scaling = Scaling::MinMax;       ///< MinMax, ZScore or Rank
    std::vector<double> weights;             ///< per column (>= 0, not all 0); empty = equal
    std::vector<std::uint8_t> higher_is_better;  ///< per column; empty = all higher
    std::vector<double> cum_shares;          ///< quantile grades (see grade_by_shares), or
    std::vector<double> thresholds;          ///< fixed lower bounds (see grade_by_thresholds)
    void validate() const;
  };
  WeightedGrader() = default;
  explicit WeightedGrader(Params p) : params_(std::move(p)) {}

  WeightedGrader& fit(MatrixView<double> X);
  /// Scaled values, contributions and scores of new rows.
  [[nodiscard]] ScoreResult score(MatrixView<double> X) const;
  /// Grade index per row (0 = best; n_grades() = below every threshold).
  [[nodiscard]] std::vector<std::int32_t> grade(std::span<const double> score) const;

  [[nodiscard]] bool is_fitted() const { return !weight_.empty(); }
  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] const std::vector<double>& lower_bounds() const { return lower_; }
  [[nodiscard]] const std::vector<double>& weights() const { return weight_; }
  [[nodiscard]] std::size_t n_grades() const {
    return params_.thresholds.empty() ? params_.cum_shares.size() : params_.thresholds.size();
  }

  [[nodiscard]] ModelDocument to_document() const;
  static WeightedGrader from_document(const ModelDocument& doc);

 private:
  [[nodiscard]] double scale(Index j, double x) const;
  Params params_;
  std::vector<double> weight_;               ///< normalised
  std::vector<double> a_, b_;                ///< per column: min/max or mean/sd
  std::vector<std::vector<double>> sorted_;  ///< per column, reference values (Rank)
  std::vector<double> lower_;                ///< grade lower bounds, best first
};

}  // namespace custmine::value

#ifdef CUSTMINE_HEADER_ONLY
#include "custmine/value/scoring_impl.hpp"
#endif
