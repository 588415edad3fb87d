// Definitions for periods.hpp.
#pragma once

#include <algorithm>

#include "custmine/core/error.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/value/periods.hpp"

namespace custmine::value {

namespace detail {
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
}  // namespace detail

CUSTMINE_VALUE_API void Period::validate(std::string_view where) const {
  require(week_start >= 0 && week_start <= 6, where, "week_start must be in 0..6 (0 = Monday), got ", week_start);
}

CUSTMINE_VALUE_API void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

CUSTMINE_VALUE_API std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CUSTMINE_VALUE_API std::int64_t period_of_day(std::int64_t day, const Period& p) {
  if (p.unit == PeriodUnit::Day) return day;
  if (p.unit == PeriodUnit::Week) return detail::floor_div(day + 3 - p.week_start, 7);
  std::int64_t y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  switch (p.unit) {
    case PeriodUnit::Month: return y * 12 + (m - 1);
    case PeriodUnit::Quarter: return y * 4 + (m - 1) / 3;
    default: return y;
  }
}

CUSTMINE_VALUE_API std::int64_t period_start_day(std::int64_t ordinal, const Period& p) {
  switch (p.unit) {
    case PeriodUnit::Day: return ordinal;
    case PeriodUnit::Week: return ordinal * 7 - 3 + p.week_start;
    case PeriodUnit::Month:
      return days_from_civil(detail::floor_div(ordinal, 12), static_cast<unsigned>(ordinal - 12 * detail::floor_div(ordinal, 12)) + 1, 1);
    case PeriodUnit::Quarter:
      return days_from_civil(detail::floor_div(ordinal, 4), 3 * static_cast<unsigned>(ordinal - 4 * detail::floor_div(ordinal, 4)) + 1, 1);
    default: return days_from_civil(ordinal, 1, 1);
  }
}

CUSTMINE_VALUE_API std::vector<std::int64_t> periods_of_days(std::span<const std::int64_t> days, const Period& p,
                                                             int n_threads) {
  p.validate("periods_of_days");
  std::vector<std::int64_t> out(days.size());
  if (days.empty()) return out;
  // Dates cluster in a few years: map each day of the range once and look the rows up
  // (a table gather instead of a civil-date conversion per row).
  const auto [mn, mx] = std::minmax_element(days.begin(), days.end());
  const std::int64_t lo = *mn, hi = *mx;
  if (hi - lo < 4'000'000 && static_cast<std::size_t>(hi - lo) < 4 * days.size() + 1024) {
    std::vector<std::int64_t> table(static_cast<std::size_t>(hi - lo + 1));
    for (std::int64_t d = lo; d <= hi; ++d) table[d - lo] = period_of_day(d, p);
    parallel_chunks(static_cast<Index>(days.size()), n_threads, [&](Index b, Index e, int) {
      for (Index i = b; i < e; ++i) out[i] = table[days[i] - lo];
    });
    return out;
  }
  parallel_chunks(static_cast<Index>(days.size()), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) out[i] = period_of_day(days[i], p);
  });
  return out;
}

}  // namespace custmine::value
