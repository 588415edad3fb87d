// Sales funnel (pipeline) analysis: deals by stage, stage-to-stage conversion, time in
// stage, stage win probabilities and the probability-weighted revenue forecast.
//
// Model: stages are ordered; a deal's stage is its current stage when open and the stage
// at which it closed when lost. A deal "reached" every stage up to its stage, and a won
// deal reached every stage (it went through the whole funnel). The win probability of
// stage s, estimated from closed deals, is P(won | closed, reached s) = won /
// (won + lost deals that reached s) — the historical stage win rate that CRM pipelines
// (e.g. Salesforce's stage probability) let analysts set by hand; given probabilities
// replace the estimates. The forecast of an open deal is amount x probability of its
// current stage (weighted pipeline; see e.g. Jolson 1988, "Qualifying sales leads: the
// tight and loose approaches", Industrial Marketing Management 17(3)). O(n + S + G) for n
// deals, S stages and G groups, plus O(n log n) for medians.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "custmine/value/api.hpp"

namespace custmine::value {

/// Deal status codes.
inline constexpr std::int8_t kOpen = -1, kLost = 0, kWon = 1;
/// Marker of a missing day (no date).
inline constexpr std::int64_t kNoDay = std::numeric_limits<std::int64_t>::min();

struct FunnelInput {
  std::span<const std::int32_t> stage;   ///< 0..n_stages-1
  std::int32_t n_stages = 0;
  std::span<const double> amount;        ///< >= 0; empty: every deal counts 1
  std::span<const std::int8_t> status;   ///< kOpen, kLost, kWon
  std::span<const std::int64_t> opened;  ///< day or kNoDay; may be empty
  std::span<const std::int64_t> closed;  ///< day or kNoDay (open deals); may be empty
  std::span<const std::int64_t> stage_entered;  ///< day the deal entered its stage; may be empty
  std::int64_t as_of = kNoDay;           ///< reference day for ages of open deals
  std::span<const std::int64_t> group_a;  ///< e.g. expected-close period code (>= 0, -1 none); may be empty
  std::int64_t n_group_a = 0;
  std::span<const std::int64_t> group_b;  ///< e.g. owner code (>= 0, -1 none); may be empty
  std::int64_t n_group_b = 0;
  std::span<const double> given_probability;  ///< per stage, NaN = estimate; may be empty
};

struct FunnelGroups {
  std::vector<std::int64_t> open_deals, won_deals;
  std::vector<double> open_amount, weighted_amount, won_amount;
};

struct FunnelResult {
  // per stage
  std::vector<std::int64_t> open_deals, reached, won_reached, lost_at, closed_reached;
  std::vector<double> open_amount, weighted_amount, win_probability, estimated_probability, conversion_to_next;
  std::vector<double> mean_days_in_stage, median_days_in_stage;  ///< open deals, NaN without dates
  // per deal
  std::vector<double> deal_probability, deal_weighted;
  // groups (size n_group_a, n_group_b)
  FunnelGroups by_a, by_b;
  // totals
  std::int64_t won = 0, lost = 0, open = 0;
  double won_amount = 0, lost_amount = 0, pipeline_amount = 0, weighted_pipeline = 0;
  double mean_days_to_win = 0, mean_days_to_loss = 0, median_days_to_win = 0, median_days_to_loss = 0;
  double mean_open_age = 0;  ///< NaN without dates
};

CUSTMINE_VALUE_API FunnelResult funnel(const FunnelInput& in);

/// Time in stage from stage histories (one row per stage entry of a deal, as a CRM's
/// opportunity history holds them). A deal's entries are ordered by day (ties by input
/// position); a stay ends when the next entry starts, or at the deal's close day for its
/// last entry (completed stays). The last stay of a deal without a close day is still
/// running at as_of (censored: reported apart, never mixed with completed stays).
struct StageDurations {
  std::vector<std::int64_t> entries;    ///< stays that started in stage s
  std::vector<std::int64_t> completed;  ///< ... that ended
  std::vector<double> mean_days, median_days;  ///< of completed stays (NaN if none)
  std::vector<std::int64_t> current;    ///< stays still running
  std::vector<double> mean_days_current;  ///< as_of - entry day of running stays (NaN without as_of)
};

/// deal: codes 0..n_deals-1; stage: 0..n_stages-1; day: entry day; closed: per row the
/// deal's close day or kNoDay (may be empty; a deal's latest close day is used).
CUSTMINE_VALUE_API StageDurations stage_durations(std::span<const std::int64_t> deal, std::int64_t n_deals,
                                                  std::span<const std::int32_t> stage, std::int32_t n_stages,
                                                  std::span<const std::int64_t> day,
                                                  std::span<const std::int64_t> closed, std::int64_t as_of);

}  // namespace custmine::value

#ifdef CUSTMINE_HEADER_ONLY
#include "custmine/value/funnel_impl.hpp"
#endif
