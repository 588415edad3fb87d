// RFM analysis: recency, frequency and monetary value per customer, quantile scores
// and the standard RFM segment map.
//
// Reference: A. M. Hughes (1994), "Strategic Database Marketing" (quintile RFM
// scoring); segment score ranges from Putler's RFM segment table (the defaults of
// Hebbali's R package rfm), the eleven segments Champions .. Lost.
// Complexity O(n + k log k) for n transactions and k customers; memory O(k), plus
// O(orders) when distinct orders are counted.
//
// Conventions (shared with the Python layer, documented in custmine.tiering.rfm):
// - rows with amount < 0 are returns; every other row is a purchase;
// - recency is counted from the customer's last purchase (from its last row of any
//   kind when it has no purchase), in whole days, to as_of;
// - frequency counts purchase rows, or distinct orders among them when orders are given;
// - monetary nets returns (Returns::Net) or ignores them (Returns::Exclude); Mean divides
//   by frequency (0 when frequency is 0); totals are exact sums on a grid of 2^-90 of the
//   largest |amount| rounded once (core/exact_sum.hpp), so they do not depend on row order
//   and Spark/Dask aggregations reproduce them bit for bit;
// - scores run 1..bins, high is good (recent, frequent, high value). Ties::First gives
//   equal-sized bins: customers are ranked by value, ties by customer code (ascending),
//   and rank i of n gets ceil(i * bins / n); for recency the ranking is by recency
//   descending so the most recent customers rank last. Ties::Together gives equal
//   values the same score: 1 + the number of First-bin upper edges strictly below.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::tiering {

enum class Ties { First, Together };
enum class Monetary { Sum, Mean };
enum class Returns { Net, Exclude };

struct RfmParams {
  int bins = 5;
  Ties ties = Ties::First;
  Monetary monetary = Monetary::Sum;
  Returns returns = Returns::Net;
  int n_threads = 1;  ///< joblib's rule; results do not depend on it
  void validate() const;
};

/// One segment: inclusive score ranges on the 1..5 scale (scores for other bin counts
/// are mapped linearly onto 1..5, round(1 + 4 (score - 1) / (bins - 1)) with halves
/// rounded up, before matching). First match wins.
struct SegmentRule {
  std::string name;
  int r_lo = 1, r_hi = 5, f_lo = 1, f_hi = 5, m_lo = 1, m_hi = 5;
};

/// The standard eleven-segment map (Champions, Loyal Customers, ..., Lost).
const std::vector<SegmentRule>& default_segment_rules();
/// Checks a rule table (non-empty names, 1 <= lo <= hi <= 5).
void validate_segment_rules(const std::vector<SegmentRule>& rules);

/// One row per customer code 0..n_customers-1.
struct RfmTable {
  std::vector<std::int64_t> recency;    ///< days from last purchase to as_of
  std::vector<std::int64_t> frequency;  ///< purchases or distinct orders
  std::vector<double> monetary;         ///< total (or mean) value
  std::vector<std::int32_t> r_score, f_score, m_score;
  std::vector<std::int32_t> segment;  ///< index into the rule table, -1 when none matches
  [[nodiscard]] std::size_t size() const { return recency.size(); }
};

/// RFM over transactions with customers already coded: customer in [0, n_customers),
/// day as days since the epoch, order as any int64 order ids (an empty span counts
/// purchase rows instead). as_of must not precede the last transaction day.
template <class T>
RfmTable rfm(std::span<const std::int64_t> customer, std::int64_t n_customers,
             std::span<const std::int64_t> day, std::span<const T> amount,
             std::span<const std::int64_t> order, std::int64_t as_of_day, const RfmParams& params,
             const std::vector<SegmentRule>& rules = default_segment_rules());

/// Scores 1..bins for one column (see the header comment); `higher_is_better` false
/// reverses the direction (recency).
template <class V>
std::vector<std::int32_t> quantile_scores(std::span<const V> values, int bins, Ties ties,
                                          bool higher_is_better);

/// The upper edge of each of the first bins-1 equal-count bins, in the scoring direction.
template <class V>
std::vector<double> quantile_edges(std::span<const V> values, int bins, bool higher_is_better);

/// Segment index per customer (-1 = no rule matched).
std::vector<std::int32_t> assign_segments(std::span<const std::int32_t> r, std::span<const std::int32_t> f,
                                          std::span<const std::int32_t> m, int bins,
                                          const std::vector<SegmentRule>& rules);

/// A fitted quantile scorer: learns, per column, the upper edges of the first bins-1
/// equal-count bins of a reference population and scores new rows against them
/// (1 + the number of edges the value is strictly beyond, in the column's scoring
/// direction). On the reference rows this equals Ties::Together, i.e.
/// ceil(min-rank * bins / n). RFM scoring is the case (recency reversed, frequency,
/// monetary), so a new period's customers are tiered by the same rules.
class QuantileScorer {
 public:
  struct Params {
    int bins = 5;
    /// Scoring direction per column; empty = every column higher-is-better.
    std::vector<bool> higher_is_better;
    void validate() const;
  };
  QuantileScorer() = default;
  explicit QuantileScorer(Params p) : params_(std::move(p)) {}

  QuantileScorer& fit(MatrixView<double> X);
  /// Scores (n x columns, 1..bins) for rows of X.
  [[nodiscard]] RowMatrix<std::int32_t> transform(MatrixView<double> X) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return !edges_.empty(); }
  /// Edges per column (bins-1 each), negated for lower-is-better columns.
  [[nodiscard]] const std::vector<std::vector<double>>& edges() const { return edges_; }
  [[nodiscard]] Index n_features() const { return static_cast<Index>(edges_.size()); }

  [[nodiscard]] ModelDocument to_document() const;
  static QuantileScorer from_document(const ModelDocument& doc);

 private:
  [[nodiscard]] bool direction(Index j) const {
    return params_.higher_is_better.empty() ? true : params_.higher_is_better[j];
  }
  Params params_;
  std::vector<std::vector<double>> edges_;
};

/// Customer pyramid and ABC classes (value_tiers), declared here for one include.
struct TierSummary {
  std::vector<std::int64_t> customers;
  std::vector<double> customer_share, value, value_share, min_value, max_value;
};

/// Tier index per customer (0 = top). Customers are ranked by value descending, ties by
/// input position; the customer at rank i of n is in the first tier k with
/// i <= ceil(cuts[k] * n) (cuts cumulative and increasing in (0, 1)); the rest are in the
/// last tier (index cuts.size()).
template <class T>
std::vector<std::int32_t> pyramid_tiers(std::span<const T> values, std::span<const double> cuts);

/// ABC class per customer (0 = A). Ranked as for the pyramid; a customer is in the first
/// class k whose threshold exceeds the cumulative value share of the customers ranked
/// above it, so class A is the smallest top group reaching thresholds[0] of the total.
/// The total value must be positive.
template <class T>
std::vector<std::int32_t> abc_classes(std::span<const T> values, std::span<const double> thresholds);

/// Counts and value shares per tier (n_tiers rows).
template <class T>
TierSummary summarize_tiers(std::span<const T> values, std::span<const std::int32_t> tier, int n_tiers);

}  // namespace custmine::tiering

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::tiering {
extern template RfmTable rfm<double>(std::span<const std::int64_t>, std::int64_t, std::span<const std::int64_t>,
                                     std::span<const double>, std::span<const std::int64_t>, std::int64_t,
                                     const RfmParams&, const std::vector<SegmentRule>&);
extern template RfmTable rfm<float>(std::span<const std::int64_t>, std::int64_t, std::span<const std::int64_t>,
                                    std::span<const float>, std::span<const std::int64_t>, std::int64_t,
                                    const RfmParams&, const std::vector<SegmentRule>&);
extern template std::vector<std::int32_t> quantile_scores<double>(std::span<const double>, int, Ties, bool);
extern template std::vector<std::int32_t> pyramid_tiers<double>(std::span<const double>, std::span<const double>);
extern template std::vector<std::int32_t> pyramid_tiers<float>(std::span<const float>, std::span<const double>);
extern template std::vector<std::int32_t> abc_classes<double>(std::span<const double>, std::span<const double>);
extern template std::vector<std::int32_t> abc_classes<float>(std::span<const float>, std::span<const double>);
extern template TierSummary summarize_tiers<double>(std::span<const double>, std::span<const std::int32_t>, int);
extern template TierSummary summarize_tiers<float>(std::span<const float>, std::span<const std::int32_t>, int);
}  // namespace custmine::tiering
#else
#include "custmine/tiering/rfm_impl.hpp"
#endif
