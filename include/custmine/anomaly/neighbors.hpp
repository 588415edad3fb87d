// Exact Euclidean k nearest neighbours, the search behind LocalOutlierFactor.
//
// Three methods, one answer: each returns, per query, the k reference rows of smallest
// (squared distance, index), with distances measured by one function (ties break on the
// index), so they give identical neighbours and the choice is only about speed.
// - k-d tree (d <= 15, scikit-learn's rule): median splits on the widest dimension, node
//   bounding boxes for pruning (Friedman, Bentley & Finkel 1977).
// - Projected brute force (d >= 16, when a cost model measured on a sample of the data says
//   it pays): onto the top p principal axes P of the reference rows,
//   |x - y|^2 >= |Px - Py|^2 + (|Rx| - |Ry|)^2 with R = I - P P^T (the lower-bounding lemma
//   of Faloutsos, Ranganathan & Manolopoulos 1994, SIGMOD). Bounds for all pairs come from a
//   float kernel over p axes (an error bound covers its rounding); only rows whose bound is
//   below the running k-th exact distance are measured in full. On correlated features
//   (bank campaign: 62 standardized columns, p = 28) about 1% of rows are measured.
// - Blocked brute force otherwise: one matrix product per block of queries
//   (|q|^2 + |r|^2 - 2 q.r), every candidate within a rounding bound of the k-th smallest
//   re-measured exactly (no cancellation error for duplicates).
// A NeighborIndex is built once for the reference rows (the k-d tree, or the projection
// with the rows copied in a locality order) and answers any number of searches. Memory: a
// copy of the reference rows for the tree and the projected method. Time O(n m d) at worst
// for m queries against n references; parallel over queries, results independent of the
// thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "custmine/core/error.hpp"
#include "custmine/core/matrix.hpp"

namespace custmine::anomaly {

/// k nearest neighbours: distances (ascending) and indices into the reference rows.
struct Neighbors {
  RowMatrix<double> distance;
  RowMatrix<std::int64_t> index;
};

namespace detail {
struct NeighborIndexState;
}

/// A search structure over fixed reference rows (see the top of this file).
class NeighborIndex {
 public:
  enum class Method { automatic, brute_force, kd_tree, projected };
  NeighborIndex() = default;
  /// Builds the index for `ref` and searches of about k neighbours. automatic: the k-d tree
  /// for d <= 15, else the projection where the cost model says it pays, else brute force.
  /// A projection asked for on data where it cannot be built (one column, or rows so far
  /// apart that their coordinates overflow a float's square) is brute force; so is a search
  /// whose queries lie that far from the training rows.
  NeighborIndex(const RowMatrix<double>& ref, Index k, int n_threads, Method method = Method::automatic);
  /// The k nearest of `ref` (the rows the index was built on) for each query row. With
  /// exclude_self the queries are those rows themselves and each row's own index is removed
  /// (or, when it is not among the k + 1 nearest because of duplicates, the first one is,
  /// as scikit-learn does).
  template <class T>
  [[nodiscard]] Neighbors search(const RowMatrix<double>& ref, MatrixView<T> queries, Index k, bool exclude_self,
                                 int n_threads) const;
  /// The method built (never automatic).
  [[nodiscard]] Method method() const;
  /// Principal axes of the projected method's bound (0 for the others).
  [[nodiscard]] Index axes() const;
  [[nodiscard]] bool built() const { return state_ != nullptr; }

 private:
  std::shared_ptr<const detail::NeighborIndexState> state_;
};

/// The scikit-learn-style name of a method ("auto", "brute", "kd_tree", "projected").
inline std::string algorithm_name(NeighborIndex::Method m) {
  switch (m) {
    case NeighborIndex::Method::brute_force: return "brute";
    case NeighborIndex::Method::kd_tree: return "kd_tree";
    case NeighborIndex::Method::projected: return "projected";
    default: return "auto";
  }
}

/// The method of such a name; InvalidArgument naming `where` for any other.
inline NeighborIndex::Method parse_algorithm(const std::string& s, std::string_view where) {
  if (s == "auto") return NeighborIndex::Method::automatic;
  if (s == "brute") return NeighborIndex::Method::brute_force;
  if (s == "kd_tree") return NeighborIndex::Method::kd_tree;
  if (s == "projected") return NeighborIndex::Method::projected;
  fail<InvalidArgument>(where, "algorithm must be one of 'auto', 'brute', 'kd_tree', 'projected', got '", s, "'");
}

/// Exact k nearest reference rows for each query row: builds an index and searches once.
template <class T>
Neighbors knn_search(const RowMatrix<double>& ref, MatrixView<T> queries, Index k, bool exclude_self, int n_threads);

}  // namespace custmine::anomaly

#ifndef CUSTMINE_HEADER_ONLY
namespace custmine::anomaly {
extern template Neighbors NeighborIndex::search<double>(const RowMatrix<double>&, MatrixView<double>, Index, bool, int) const;
extern template Neighbors NeighborIndex::search<float>(const RowMatrix<double>&, MatrixView<float>, Index, bool, int) const;
extern template Neighbors knn_search<double>(const RowMatrix<double>&, MatrixView<double>, Index, bool, int);
extern template Neighbors knn_search<float>(const RowMatrix<double>&, MatrixView<float>, Index, bool, int);
}  // namespace custmine::anomaly
#else
#include "custmine/anomaly/neighbors_impl.hpp"
#endif
