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
  // One validation pass that also counts rows per customer and finds the date range.
  std::vector<Index> start(n_customers + 1, 0);
  std::int64_t lo_day = day[0], hi_day = day[0];
  for (Index i = 0; i < n; ++i) {
    if (customer[i] < 0 || customer[i] >= n_customers)
      fail(where, "customer code ", customer[i], " at row ", i, " is outside 0..", n_customers - 1);
    if (!order.empty() && order[i] < 0) fail(where, "order code ", order[i], " at row ", i, " is negative");
    // Dates beyond +-1e8 days (273,000 years) are corrupt input and would overflow the civil math.
    if (day[i] < -100'000'000 || day[i] > 100'000'000) fail(where, "date at row ", i, " is out of range");
    ++start[customer[i] + 1];
    lo_day = std::min(lo_day, day[i]);
    hi_day = std::max(hi_day, day[i]);
  }
  std::partial_sum(start.begin(), start.end(), start.begin());

  const std::int64_t first = period_of_day(lo_day, params.period);
  const std::int64_t P = period_of_day(hi_day, params.period) - first + 1;
  if (P > 1 && P > params.max_cells / P)
    fail(where, "the data span ", P, " periods, a ", P, " x ", P,
         " cohort table is too large; use a coarser period (for example 'W' or 'M')");
  // Period (relative to the first) of every day in the range, looked up per row; a date
  // range much wider than the data (a stray far date) converts row by row instead.
  const bool lookup = hi_day - lo_day < 4 * n + 4096;
  std::vector<std::int32_t> day_period(lookup ? static_cast<std::size_t>(hi_day - lo_day + 1) : 0);
  if (lookup)
    for (std::int64_t d = lo_day; d <= hi_day; ++d)
      day_period[d - lo_day] = static_cast<std::int32_t>(period_of_day(d, params.period) - first);

  // Rows grouped by customer (a stable counting-sort scatter of their period, order and
  // amount), so that everything after this reads memory contiguously. Then each
  // customer's rows are sorted by (period, order, input position) in parallel: the
  // segments are disjoint and the order is fixed by the data alone.
  const bool has_order = !order.empty(), has_amount = !amount.empty();
  std::vector<std::int32_t> sper(n);
  std::vector<std::int64_t> sorder(has_order ? n : 0);
  std::vector<double> samt(has_amount ? n : 0);
  {
    std::vector<Index> next(start.begin(), start.end() - 1);
    for (Index i = 0; i < n; ++i) {
      const Index k = next[customer[i]]++;
      sper[k] = lookup ? day_period[day[i] - lo_day]
                       : static_cast<std::int32_t>(period_of_day(day[i], params.period) - first);
      if (has_order) sorder[k] = order[i];
      if (has_amount) samt[k] = amount[i];
    }
  }
  parallel_chunks(n_customers, params.n_threads, [&](Index b, Index e, int) {
    struct Row {
      std::int32_t period;
      std::int64_t order;
      double amount;
      Index pos;
    };
    std::vector<Row> buf;
    for (Index c = b; c < e; ++c) {
      if ((c & 0xFFFF) == 0) Interrupt::check(where);
      const Index lo = start[c], hi = start[c + 1];
      if (hi - lo < 2) continue;
      if (!has_order && !has_amount) {  // periods alone: a plain integer sort
        std::sort(sper.begin() + lo, sper.begin() + hi);
        continue;
      }
      bool sorted = true;
      for (Index k = lo + 1; k < hi && sorted; ++k)
        sorted = sper[k - 1] < sper[k] || (sper[k - 1] == sper[k] && (!has_order || sorder[k - 1] <= sorder[k]));
      if (sorted) continue;  // rows usually arrive in date order
      buf.clear();
      for (Index k = lo; k < hi; ++k)
        buf.push_back({sper[k], has_order ? sorder[k] : 0, has_amount ? samt[k] : 0.0, k});
      std::sort(buf.begin(), buf.end(), [](const Row& x, const Row& y) {
        if (x.period != y.period) return x.period < y.period;
        if (x.order != y.order) return x.order < y.order;
        return x.pos < y.pos;
      });
      for (Index k = lo; k < hi; ++k) {
        const Row& r = buf[k - lo];
        sper[k] = r.period;
        if (has_order) sorder[k] = r.order;
        if (has_amount) samt[k] = r.amount;
      }
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
  auto is_purchase = [&](Index k) { return !has_amount || samt[k] >= 0; };
  for (std::int64_t c = 0; c < n_customers; ++c) {
    const Index b = start[c], e = start[c + 1];
    if (b == e) continue;
    std::int32_t cohort = -1, last_active = -1;
    for (Index k = b; k < e; ++k)
      if (is_purchase(k)) {
        cohort = sper[k];
        break;
      }
    if (cohort < 0) ++t.customers_without_purchase;
    else ++t.cohort_size[cohort];
    std::int32_t prev_active = std::numeric_limits<std::int32_t>::min();
    for (Index k = b; k < e;) {
      const std::int32_t p = sper[k];
      std::int64_t n_orders = 0;
      double value = 0.0;
      std::int64_t last_order = -1;
      bool purchase = false;
      for (; k < e && sper[k] == p; ++k) {
        const double a = has_amount ? samt[k] : 0.0;
        if (is_purchase(k)) {
          purchase = true;
          value += a;
          if (!has_order) ++n_orders;
          else if (sorder[k] != last_order) {
            ++n_orders;
            last_order = sorder[k];
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
