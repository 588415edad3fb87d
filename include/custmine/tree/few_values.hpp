// Distinct values of a feature with few of them (one-hot and coded columns), found without
// sorting every row: shared by the CART/forest coder and the boosting binner.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "custmine/core/matrix.hpp"

namespace custmine::tree {

/// Features with at most this many distinct values take the sort-free path.
inline constexpr std::size_t kFewValues = 64;

/// The distinct values seen so far, ascending, NaN left out, while there are at most
/// `limit` of them (`few` turns false after that, and `values` is then incomplete). A small
/// sorted list and a binary search per value; of values that compare equal (-0.0 and 0.0)
/// the first one seen is kept. Values can be added in any number of passes (row blocks).
struct DistinctValues {
  std::vector<double> values;
  double last = std::numeric_limits<double>::quiet_NaN();
  bool few = true;

  void add(double x, std::size_t limit) {
    if (x == last || std::isnan(x) || !few) return;  // runs of one value (one-hot columns) cost a compare
    last = x;
    const auto it = std::lower_bound(values.begin(), values.end(), x);
    if (it != values.end() && !(x < *it)) return;
    if (values.size() == limit) {
      few = false;
      return;
    }
    values.insert(it, x);
  }
};

/// The distinct values of value(0), ..., value(n - 1) into `out` when there are at most
/// `limit` of them; false otherwise (`out` is then incomplete).
template <class Value>
bool few_distinct_values(Index n, std::size_t limit, Value&& value, std::vector<double>& out) {
  DistinctValues d;
  d.values = std::move(out);
  d.values.clear();
  for (Index i = 0; i < n && d.few; ++i) d.add(value(i), limit);
  out = std::move(d.values);
  return d.few;
}

}  // namespace custmine::tree
