// Distinct values of a feature with few of them (one-hot and coded columns), found without
// sorting every row: shared by the CART/forest coder and the boosting binner.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::tree {

/// Features with at most this many distinct values take the sort-free path.
inline constexpr std::size_t kFewValues = 64;

/// The distinct values of value(0), ..., value(n - 1), ascending, NaN left out, into `out`
/// when there are at most `limit` of them; false otherwise (`out` is then incomplete).
/// A small sorted list and a binary search per value; of values that compare equal (-0.0
/// and 0.0) the first one seen is kept.
template <class Value>
bool few_distinct_values(Index n, std::size_t limit, Value&& value, std::vector<double>& out) {
  out.clear();
  for (Index i = 0; i < n; ++i) {
    const double x = value(i);
    if (std::isnan(x)) continue;
    const auto it = std::lower_bound(out.begin(), out.end(), x);
    if (it != out.end() && !(x < *it)) continue;
    if (out.size() == limit) return false;
    out.insert(it, x);
  }
  return true;
}

}  // namespace custmine::tree
