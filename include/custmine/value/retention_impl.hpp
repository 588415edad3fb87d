// Definitions for retention.hpp.
#pragma once

#include <algorithm>
#include <limits>
#include <numeric>

#include "custmine/core/error.hpp"
#include "custmine/core/matrix.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/value/periods_impl.hpp"
#include "custmine/value/retention.hpp"

namespace custmine::value {

CUSTMINE_VALUE_API void CohortParams::validate(std::string_view where) const {
  period.validate(where);
  require(max_cells >= 1, where, "max_cells must be positive, got ", max_cells);
  resolve_threads(n_threads, where);
}

CUSTMINE_VALUE_API CohortTable cohort_table(std::span<const std::int64_t> customer, std::int64_t n_customers,
                                            std::span<const std::int64_t> day, std::span<const double> amount,
                                            std::span<const std::int64_t> order, const CohortParams& params) {
  constexpr std::string_view where = "cohort_retention";
  params.validate(where);
  const auto n = static_cast<Index>(customer.size());
  check_nonempty(where, "transactions", n);
  check_same_length(where, "customer", n, "date", static_cast<Index>(day.size()));
  if (!amount.empty()) check_same_length(where, "customer", n, "amount", static_cast<Index>(amount.size()));
  if (!order.empty()) check_same_length(where, "customer", n, "order", static_cast<Index>(order.size()));
  require(n_customers >= 1, where, "n_customers must be at least 1 (got ", n_customers, ")");
  if (!amount.empty()) check_finite(where, "amount", amount);
  for (Index i = 0; i < n; ++i) {
    if (customer[i] < 0 || customer[i] >= n_customers)
      fail(where, "customer code ", customer[i], " at row ", i, " is outside 0..", n_customers - 1);
    if (!order.empty() && order[i] < 0) fail(where, "order code ", order[i], " at row ", i, " is negative");
  }
  // Dates beyond +-1e8 days (273,000 years) are corrupt input, and would overflow the civil math.
  for (Index i = 0; i < n; ++i)
    if (day[i] < -100'000'000 || day[i] > 100'000'000) fail(where, "date at row ", i, " is out of range");

  // Period of every row, relative to the first one.
  std::vector<std::int64_t> ord = periods_of_days(day, params.period, params.n_threads);
  const auto [mn, mx] = std::minmax_element(ord.begin(), ord.end());
  const std::int64_t first = *mn, P = *mx - *mn + 1;
  if (P > 1 && P > params.max_cells / P)
    fail(where, "the data span ", P, " periods, a ", P, " x ", P,
         " cohort table is too large; use a coarser period (for example 'W' or 'M')");
  std::vector<std::int32_t> per(n);
  for (Index i = 0; i < n; ++i) per[i] = static_cast<std::int32_t>(ord[i] - first);
  std::vector<std::int64_t>().swap(ord);

  // Rows grouped by customer (stable counting sort), then each customer's rows sorted by
  // (period, order, row) in parallel: the segments are disjoint.
  std::vector<Index> start(n_customers + 1, 0);
  for (Index i = 0; i < n; ++i) ++start[customer[i] + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<Index> rows(n);
  {
    std::vector<Index> next(start.begin(), start.end() - 1);
    for (Index i = 0; i < n; ++i) rows[next[customer[i]]++] = i;
  }
  const bool has_order = !order.empty();
  parallel_chunks(n_customers, params.n_threads, [&](Index b, Index e, int) {
    for (Index c = b; c < e; ++c) {
      if ((c & 0xFFFF) == 0) Interrupt::check(where);
      auto first_row = rows.begin() + start[c], last_row = rows.begin() + start[c + 1];
      std::sort(first_row, last_row, [&](Index a, Index z) {
        if (per[a] != per[z]) return per[a] < per[z];
        if (has_order && order[a] != order[z]) return order[a] < order[z];
        return a < z;
      });
    }
  });

  CohortTable t;
  t.first_period = first;
  t.n_periods = P;
  const auto cells = static_cast<std::size_t>(P * P);
  t.cohort_size.assign(P, 0);
  t.active.assign(cells, 0);
  t.rolling.assign(cells, 0);
  t.orders.assign(cells, 0);
  t.revenue.assign(cells, 0.0);
  t.period_active.assign(P, 0);
  t.period_new.assign(P, 0);
  t.period_retained.assign(P, 0);
  t.period_repeat.assign(P, 0);
  t.period_orders.assign(P, 0);
  t.period_revenue.assign(P, 0.0);

  // One serial pass in a fixed order: sums do not depend on the thread count.
  auto is_purchase = [&](Index i) { return amount.empty() || amount[i] >= 0; };
  for (std::int64_t c = 0; c < n_customers; ++c) {
    const Index b = start[c], e = start[c + 1];
    if (b == e) continue;
    std::int32_t cohort = -1, last_active = -1;
    for (Index k = b; k < e; ++k)
      if (is_purchase(rows[k])) {
        cohort = per[rows[k]];
        break;
      }
    if (cohort < 0) ++t.customers_without_purchase;
    else ++t.cohort_size[cohort];
    std::int32_t prev_active = std::numeric_limits<std::int32_t>::min();
    for (Index k = b; k < e;) {
      const std::int32_t p = per[rows[k]];
      std::int64_t n_orders = 0;
      double value = 0.0;
      std::int64_t last_order = -1;
      bool purchase = false;
      for (; k < e && per[rows[k]] == p; ++k) {
        const Index i = rows[k];
        const double a = amount.empty() ? 0.0 : amount[i];
        if (is_purchase(i)) {
          purchase = true;
          value += a;
          if (!has_order) ++n_orders;
          else if (order[i] != last_order) {
            ++n_orders;
            last_order = order[i];
          }
        } else if (params.net_returns) {
          value += a;
        }
      }
      t.period_revenue[p] += value;
      if (cohort >= 0 && p >= cohort) {
        const auto cell = static_cast<std::size_t>(cohort) * P + (p - cohort);
        t.revenue[cell] += value;
        if (purchase) {
          ++t.active[cell];
          t.orders[cell] += n_orders;
        }
      }
      if (!purchase) continue;
      ++t.period_active[p];
      t.period_orders[p] += n_orders;
      if (n_orders >= 2) ++t.period_repeat[p];
      if (p == cohort) ++t.period_new[p];
      if (prev_active == p - 1) ++t.period_retained[p];
      prev_active = p;
      last_active = p;
    }
    if (cohort >= 0)
      for (std::int32_t j = 0; j <= last_active - cohort; ++j) ++t.rolling[static_cast<std::size_t>(cohort) * P + j];
  }
  return t;
}

}  // namespace custmine::value
