// Calendar periods for cohort and pipeline tables: day, week (any start day), calendar
// month, quarter and year, as integer ordinals so that consecutive periods differ by 1.
//
// Days are counted from 1970-01-01 (negative before). Month ordinals are year*12 + month-1,
// quarters year*4 + quarter-1, years the year, weeks floor((day + 3 - week_start) / 7)
// (1970-01-01 was a Thursday; week_start 0 = Monday .. 6 = Sunday). The civil-date
// conversion is Howard Hinnant's days_from_civil algorithm (public domain, 2013). O(1) each.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "custmine/value/api.hpp"

namespace custmine::value {

enum class PeriodUnit { Day, Week, Month, Quarter, Year };

struct Period {
  PeriodUnit unit = PeriodUnit::Month;
  int week_start = 0;  ///< 0 = Monday .. 6 = Sunday; used by weeks only
  void validate(std::string_view where) const;
};

/// Ordinal of the period holding `day`.
CUSTMINE_VALUE_API std::int64_t period_of_day(std::int64_t day, const Period& p);
/// First day of the period with this ordinal.
CUSTMINE_VALUE_API std::int64_t period_start_day(std::int64_t ordinal, const Period& p);
/// Year, month (1..12), day (1..31) of a day count, and back.
CUSTMINE_VALUE_API void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);
CUSTMINE_VALUE_API std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
/// Ordinals of many days (n_threads as in custmine::resolve_threads).
CUSTMINE_VALUE_API std::vector<std::int64_t> periods_of_days(std::span<const std::int64_t> days, const Period& p,
                                                             int n_threads = 1);

}  // namespace custmine::value

#ifdef CUSTMINE_HEADER_ONLY
#include "custmine/value/periods_impl.hpp"
#endif
