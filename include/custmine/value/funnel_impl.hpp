// Definitions for funnel.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/core/error.hpp"
#include "custmine/core/matrix.hpp"
#include "custmine/value/funnel.hpp"

namespace custmine::value {

namespace detail {
inline double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + h, v.end());
  const double hi = v[h];
  if (v.size() % 2) return hi;
  return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + h));
}
inline void init_groups(FunnelGroups& g, std::int64_t k) {
  g.open_deals.assign(k, 0);
  g.won_deals.assign(k, 0);
  g.open_amount.assign(k, 0.0);
  g.weighted_amount.assign(k, 0.0);
  g.won_amount.assign(k, 0.0);
}
}  // namespace detail

CUSTMINE_VALUE_API FunnelResult funnel(const FunnelInput& in) {
  constexpr std::string_view where = "funnel";
  const auto n = static_cast<Index>(in.stage.size());
  const std::int32_t S = in.n_stages;
  check_nonempty(where, "deals", n);
  require(S >= 1, where, "stages must hold at least one stage");
  check_same_length(where, "stage", n, "won", static_cast<Index>(in.status.size()));
  auto same = [&](std::span<const auto> s, std::string_view name) {
    if (!s.empty()) check_same_length(where, "stage", n, name, static_cast<Index>(s.size()));
  };
  same(in.amount, "amount");
  same(in.opened, "opened");
  same(in.closed, "closed");
  same(in.stage_entered, "stage_entered");
  same(in.group_a, "expected_close");
  same(in.group_b, "owner");
  if (!in.given_probability.empty())
    require(static_cast<std::int32_t>(in.given_probability.size()) == S, where, "probabilities must hold one value per stage (",
            S, "), got ", in.given_probability.size());
  for (double p : in.given_probability)
    require(std::isnan(p) || (p >= 0 && p <= 1), where, "probabilities must lie in [0, 1], got ", p);
  for (Index i = 0; i < n; ++i) {
    require(in.stage[i] >= 0 && in.stage[i] < S, where, "stage code ", in.stage[i], " at row ", i, " is outside 0..", S - 1);
    require(in.status[i] >= -1 && in.status[i] <= 1, where, "status code at row ", i, " must be -1, 0 or 1");
    if (!in.amount.empty())
      require(std::isfinite(in.amount[i]) && in.amount[i] >= 0, where, "amount at row ", i,
              " must be finite and non-negative, got ", in.amount[i]);
    if (!in.group_a.empty()) require(in.group_a[i] >= -1 && in.group_a[i] < in.n_group_a, where, "bad expected_close code at row ", i);
    if (!in.group_b.empty()) require(in.group_b[i] >= -1 && in.group_b[i] < in.n_group_b, where, "bad owner code at row ", i);
    if (!in.opened.empty() && !in.closed.empty() && in.opened[i] != kNoDay && in.closed[i] != kNoDay)
      require(in.closed[i] >= in.opened[i], where, "deal at row ", i, " closes before it opens");
  }
  auto amt = [&](Index i) { return in.amount.empty() ? 1.0 : in.amount[i]; };

  FunnelResult r;
  r.open_deals.assign(S, 0);
  r.reached.assign(S, 0);
  r.won_reached.assign(S, 0);
  r.lost_at.assign(S, 0);
  r.closed_reached.assign(S, 0);
  r.open_amount.assign(S, 0.0);
  r.weighted_amount.assign(S, 0.0);

  // reached[s] = deals whose stage >= s, or won: accumulate at the deal's stage, then
  // suffix sums.
  std::vector<std::int64_t> at(S, 0), lost_at_suffix(S, 0);
  for (Index i = 0; i < n; ++i) {
    const auto s = in.stage[i];
    switch (in.status[i]) {
      case kWon:
        ++r.won;
        r.won_amount += amt(i);
        break;
      case kLost:
        ++r.lost;
        r.lost_amount += amt(i);
        ++r.lost_at[s];
        ++at[s];
        break;
      default:
        ++r.open;
        ++r.open_deals[s];
        r.open_amount[s] += amt(i);
        ++at[s];
    }
  }
  std::int64_t tail = 0, lost_tail = 0;
  for (std::int32_t s = S - 1; s >= 0; --s) {
    tail += at[s];
    lost_tail += r.lost_at[s];
    r.reached[s] = tail + r.won;
    r.won_reached[s] = r.won;
    r.closed_reached[s] = lost_tail + r.won;
  }

  r.estimated_probability.resize(S);
  r.win_probability.resize(S);
  r.conversion_to_next.resize(S);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::int32_t s = 0; s < S; ++s) {
    r.estimated_probability[s] =
        r.closed_reached[s] > 0 ? static_cast<double>(r.won_reached[s]) / static_cast<double>(r.closed_reached[s]) : nan;
    const double given = in.given_probability.empty() ? nan : in.given_probability[s];
    r.win_probability[s] = std::isnan(given) ? r.estimated_probability[s] : given;
    r.conversion_to_next[s] =
        s + 1 < S && r.reached[s] > 0 ? static_cast<double>(r.reached[s + 1]) / static_cast<double>(r.reached[s]) : nan;
  }
  // An open deal needs a probability for its stage: say which stage lacks one.
  for (std::int32_t s = 0; s < S; ++s)
    if (r.open_deals[s] > 0 && std::isnan(r.win_probability[s]))
      fail(where, "no closed deal reached stage ", s,
           ", so its win probability cannot be estimated; pass probabilities for it");

  detail::init_groups(r.by_a, in.n_group_a);
  detail::init_groups(r.by_b, in.n_group_b);
  r.deal_probability.resize(n);
  r.deal_weighted.resize(n);
  for (Index i = 0; i < n; ++i) {
    const double a = amt(i);
    double p;
    if (in.status[i] == kWon) p = 1.0;
    else if (in.status[i] == kLost) p = 0.0;
    else p = r.win_probability[in.stage[i]];
    r.deal_probability[i] = p;
    r.deal_weighted[i] = in.status[i] == kOpen ? a * p : 0.0;
    auto add = [&](FunnelGroups& g, std::span<const std::int64_t> codes) {
      if (codes.empty() || codes[i] < 0) return;
      const auto k = codes[i];
      if (in.status[i] == kOpen) {
        ++g.open_deals[k];
        g.open_amount[k] += a;
        g.weighted_amount[k] += a * p;
      } else if (in.status[i] == kWon) {
        ++g.won_deals[k];
        g.won_amount[k] += a;
      }
    };
    add(r.by_a, in.group_a);
    add(r.by_b, in.group_b);
    if (in.status[i] == kOpen) {
      r.weighted_amount[in.stage[i]] += a * p;
      r.pipeline_amount += a;
      r.weighted_pipeline += a * p;
    }
  }

  // Durations in days.
  std::vector<std::vector<double>> in_stage(S);
  std::vector<double> to_win, to_loss, ages;
  const bool have_as_of = in.as_of != kNoDay;
  for (Index i = 0; i < n; ++i) {
    if (in.status[i] == kOpen && have_as_of) {
      if (!in.stage_entered.empty() && in.stage_entered[i] != kNoDay) {
        require(in.stage_entered[i] <= in.as_of, where, "stage_entered at row ", i, " is after as_of");
        in_stage[in.stage[i]].push_back(static_cast<double>(in.as_of - in.stage_entered[i]));
      }
      if (!in.opened.empty() && in.opened[i] != kNoDay) {
        require(in.opened[i] <= in.as_of, where, "opened at row ", i, " is after as_of");
        ages.push_back(static_cast<double>(in.as_of - in.opened[i]));
      }
    }
    if (in.status[i] != kOpen && !in.opened.empty() && !in.closed.empty() && in.opened[i] != kNoDay &&
        in.closed[i] != kNoDay) {
      (in.status[i] == kWon ? to_win : to_loss).push_back(static_cast<double>(in.closed[i] - in.opened[i]));
    }
  }
  r.mean_days_in_stage.resize(S);
  r.median_days_in_stage.resize(S);
  for (std::int32_t s = 0; s < S; ++s) {
    r.mean_days_in_stage[s] = detail::mean_of(in_stage[s]);
    r.median_days_in_stage[s] = detail::median_of(in_stage[s]);
  }
  r.mean_days_to_win = detail::mean_of(to_win);
  r.median_days_to_win = detail::median_of(to_win);
  r.mean_days_to_loss = detail::mean_of(to_loss);
  r.median_days_to_loss = detail::median_of(to_loss);
  r.mean_open_age = detail::mean_of(ages);
  return r;
}

CUSTMINE_VALUE_API StageDurations stage_durations(std::span<const std::int64_t> deal, std::int64_t n_deals,
                                                  std::span<const std::int32_t> stage, std::int32_t n_stages,
                                                  std::span<const std::int64_t> day,
                                                  std::span<const std::int64_t> closed, std::int64_t as_of) {
  constexpr std::string_view where = "stage_durations";
  const auto n = static_cast<Index>(deal.size());
  check_nonempty(where, "history", n);
  require(n_stages >= 1, where, "stages must hold at least one stage");
  require(n_deals >= 1, where, "n_deals must be at least 1");
  check_same_length(where, "deal", n, "stage", static_cast<Index>(stage.size()));
  check_same_length(where, "deal", n, "entered", static_cast<Index>(day.size()));
  if (!closed.empty()) check_same_length(where, "deal", n, "closed", static_cast<Index>(closed.size()));
  std::vector<Index> start(n_deals + 1, 0);
  std::vector<std::int64_t> end(n_deals, kNoDay);
  for (Index i = 0; i < n; ++i) {
    require(deal[i] >= 0 && deal[i] < n_deals, where, "deal code ", deal[i], " at row ", i, " is outside 0..", n_deals - 1);
    require(stage[i] >= 0 && stage[i] < n_stages, where, "stage code ", stage[i], " at row ", i, " is outside 0..",
            n_stages - 1);
    require(day[i] != kNoDay, where, "entered has a missing date at row ", i);
    ++start[deal[i] + 1];
    if (!closed.empty() && closed[i] != kNoDay) end[deal[i]] = std::max(end[deal[i]], closed[i]);
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<Index> rows(n);
  {
    std::vector<Index> next(start.begin(), start.end() - 1);
    for (Index i = 0; i < n; ++i) rows[next[deal[i]]++] = i;  // stable: input order within a deal
  }
  StageDurations r;
  r.entries.assign(n_stages, 0);
  r.completed.assign(n_stages, 0);
  r.current.assign(n_stages, 0);
  std::vector<std::vector<double>> stays(n_stages);
  std::vector<double> running_sum(n_stages, 0.0);
  for (std::int64_t d = 0; d < n_deals; ++d) {
    const auto b = rows.begin() + start[d], e = rows.begin() + start[d + 1];
    std::stable_sort(b, e, [&](Index x, Index y) { return day[x] < day[y]; });
    for (auto it = b; it != e; ++it) {
      const Index i = *it;
      ++r.entries[stage[i]];
      if (it + 1 != e) {
        stays[stage[i]].push_back(static_cast<double>(day[*(it + 1)] - day[i]));
        ++r.completed[stage[i]];
      } else if (end[d] != kNoDay) {
        if (end[d] < day[i]) fail(where, "deal at row ", i, " closes before it enters its last stage");
        stays[stage[i]].push_back(static_cast<double>(end[d] - day[i]));
        ++r.completed[stage[i]];
      } else {
        ++r.current[stage[i]];
        if (as_of != kNoDay) {
          if (as_of < day[i]) fail(where, "as_of is before the stage entry at row ", i);
          running_sum[stage[i]] += static_cast<double>(as_of - day[i]);
        }
      }
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.mean_days.resize(n_stages);
  r.median_days.resize(n_stages);
  r.mean_days_current.resize(n_stages);
  for (std::int32_t s = 0; s < n_stages; ++s) {
    r.mean_days[s] = detail::mean_of(stays[s]);
    r.median_days[s] = detail::median_of(std::move(stays[s]));
    r.mean_days_current[s] =
        as_of != kNoDay && r.current[s] > 0 ? running_sum[s] / static_cast<double>(r.current[s]) : nan;
  }
  return r;
}

}  // namespace custmine::value
