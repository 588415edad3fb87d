// Views and containers shared by every model.
//
// One sample per row, row-major, so numpy/pandas arrays arrive without a copy:
// MatrixView<T> is an Eigen::Ref over a row-major matrix. Vectors are Eigen column
// vectors or std::span. Transactions use a CSR layout (offsets + item ids).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "custmine/core/error.hpp"

namespace custmine {

using Index = std::int64_t;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Read-only zero-copy view of a row-major matrix (numpy C order).
template <class T>
using MatrixView = Eigen::Ref<const RowMatrix<T>>;
/// Read-only view of a contiguous vector.
template <class T>
using VectorView = Eigen::Ref<const Vector<T>>;

// ---- input checks shared by every boundary -------------------------------------

/// Fail unless two lengths agree: "<where>: <a> has n rows but <b> has m".
inline void check_same_length(std::string_view where, std::string_view a, Index na,
                              std::string_view b, Index nb) {
  if (na != nb) fail<ShapeError>(where, a, " has ", na, " rows but ", b, " has ", nb);
}

/// Fail on an empty input.
inline void check_nonempty(std::string_view where, std::string_view name, Index n) {
  if (n <= 0) fail<InvalidArgument>(where, name, " is empty");
}

/// Fail on NaN or infinity, naming the first bad position.
template <class T>
void check_finite(std::string_view where, std::string_view name, std::span<const T> v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(static_cast<double>(v[i])))
      fail<InvalidArgument>(where, name, " contains NaN or infinity (first at position ", i, ")");
}

template <class Derived>
void check_finite(std::string_view where, std::string_view name,
                  const Eigen::DenseBase<Derived>& m) {
  using S = typename Derived::Scalar;
  for (Index i = 0; i < m.rows(); ++i) {
    // x * 0 is 0 for a finite x and NaN otherwise: a vectorised sum per row passes a clean
    // row at memory speed (a branch per entry took a third longer than reading X); a row
    // that fails it is searched for the position.
    if constexpr (std::is_floating_point_v<S>) {
      if ((m.row(i).array() * S(0)).sum() == S(0)) continue;
    }
    for (Index j = 0; j < m.cols(); ++j)
      if (!std::isfinite(static_cast<double>(m(i, j))))
        fail<InvalidArgument>(where, name, " contains NaN or infinity (first at row ", i,
                              ", column ", j, ")");
  }
}

/// Transactions in CSR layout: transaction t holds items[offsets[t] .. offsets[t+1]).
/// Item ids are dense 0..n_items-1; labels live with the caller.
struct Transactions {
  std::vector<Index> offsets{0};
  std::vector<std::int32_t> items;
  std::int32_t n_items = 0;

  [[nodiscard]] Index size() const { return static_cast<Index>(offsets.size()) - 1; }
  [[nodiscard]] std::span<const std::int32_t> operator[](Index t) const {
    return {items.data() + offsets[t], static_cast<std::size_t>(offsets[t + 1] - offsets[t])};
  }
};

}  // namespace custmine
