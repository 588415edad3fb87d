// Cohort retention: customers grouped by the period of their first purchase (the cohort)
// and counted in every later period; plus the per-period retention metrics analysts
// report (active, new, retained and returning customers, orders, revenue).
//
// References: the cohort table is the standard acquisition-cohort layout of
// D. Schmittlein & R. Peterson (1994) and of Fader & Hardie (2007, "How to project
// customer retention", J. Interactive Marketing 21(1)), whose survivor counts the sBG
// model fits; "rolling" (unbounded) retention counts a customer as retained in every
// period up to their last purchase, which gives monotone survivor-like curves.
//
// Conventions:
// - a row with amount < 0 is a return: it never makes a customer active nor counts as an
//   order; revenue nets it (net_returns) or ignores it. Without amounts every row is a
//   purchase;
// - a customer's cohort is the period of their first purchase; customers with returns only
//   have no cohort (counted in `customers_without_purchase`) and enter only period revenue;
// - orders are distinct order codes among a customer's purchase rows in the period, or
//   purchase rows when no order codes are given;
// - periods run from the first to the last period holding any row, with no gap.
//
// Complexity: O(n) for the period codes and a counting sort of rows by customer, plus a
// sort of each customer's own rows (parallel over customers), then one serial O(n) pass
// (so sums are bitwise identical for any thread count); O(P^2) memory for P periods.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custmine/value/api.hpp"
#include "custmine/value/periods.hpp"

namespace custmine::value {

struct CohortParams {
  Period period;
  bool net_returns = true;
  int n_threads = 1;
  /// Refuse period grids with more than this many cohort x offset cells (a day grid over
  /// many years); the error suggests a coarser period.
  std::int64_t max_cells = 50'000'000;
  void validate(std::string_view where) const;
};

/// Cohort x offset tables (row-major, P x P: cohort i, offset j = period i + j; cells with
/// i + j >= P lie after the data and stay 0) and per-calendar-period totals (P each).
struct CohortTable {
  std::int64_t first_period = 0;  ///< ordinal of period 0
  std::int64_t n_periods = 0;     ///< P
  std::int64_t customers_without_purchase = 0;
  std::vector<std::int64_t> cohort_size;  ///< customers whose first purchase is in period i
  std::vector<std::int64_t> active;       ///< cohort customers with a purchase in period i + j
  std::vector<std::int64_t> rolling;      ///< cohort customers with a purchase in period i + j or later
  std::vector<std::int64_t> orders;       ///< their orders in period i + j
  std::vector<double> revenue;            ///< their revenue in period i + j (returns per net_returns)
  // Per calendar period p:
  std::vector<std::int64_t> period_active;    ///< customers with a purchase in p
  std::vector<std::int64_t> period_new;       ///< ... whose first purchase is in p
  std::vector<std::int64_t> period_retained;  ///< ... who also bought in p - 1
  std::vector<std::int64_t> period_repeat;    ///< ... with two or more orders in p
  std::vector<std::int64_t> period_orders;    ///< orders in p
  std::vector<double> period_revenue;         ///< revenue of all rows in p
};

/// customer: codes in [0, n_customers); day: days since 1970-01-01; amount and order may be
/// empty (every row a purchase; orders = rows); order codes >= 0.
CUSTMINE_VALUE_API CohortTable cohort_table(std::span<const std::int64_t> customer, std::int64_t n_customers,
                                            std::span<const std::int64_t> day, std::span<const double> amount,
                                            std::span<const std::int64_t> order, const CohortParams& params);

}  // namespace custmine::value

#ifdef CUSTMINE_HEADER_ONLY
#include "custmine/value/retention_impl.hpp"
#endif
