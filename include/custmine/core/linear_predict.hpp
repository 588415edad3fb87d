// Predict paths that read X once: for_rows_checked (rows in parallel, finiteness read off
// the outputs; logistic, k-means) and the linear predictions X w + b built on it (regression,
// two-class logistic scores).
//
// Each row's value is a dot product in a fixed order, the same operations wherever the row
// sits, so predictions do not depend on how the rows are split (Spark and Dask partitions
// give the single-machine values bit for bit; a BLAS kernel treats edge rows differently).
// X's finiteness is read off the values (a NaN or infinity in a row makes its value NaN or
// infinite): X is scanned only then, to name the entry, or to let a finite row whose value
// overflowed stand.
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/threading.hpp"

namespace custmine {

/// Runs body(begin, end) on contiguous chunks of X's rows on n_threads threads; body computes
/// outputs from those rows and returns false when one of them is not finite. X's finiteness
/// is read off the outputs: X is scanned (check_finite, naming `where` and the entry) only
/// then, and a finite X whose outputs overflowed passes. For predict paths that read X once.
template <class Body>
void for_rows_checked(std::string_view where, MatrixView<double> X, int n_threads, Body&& body) {
  const int threads = resolve_threads(n_threads);
  std::vector<char> bad(static_cast<std::size_t>(threads), 0);
  parallel_chunks(X.rows(), threads, [&](Index b, Index e, int t) {
    if (!body(b, e)) bad[static_cast<std::size_t>(t)] = 1;
  });
  if (std::any_of(bad.begin(), bad.end(), [](char v) { return v != 0; })) check_finite(where, "X", X);
}

/// x . w over p entries in four interleaved partial sums.
double row_dot(const double* x, const double* w, Index p);

/// X w + b per row, on n_threads threads; fails (InvalidArgument, naming `where` and the first
/// bad entry) when X holds NaN or infinity.
Vector<double> checked_linear(std::string_view where, MatrixView<double> X, const double* w, double b,
                              int n_threads);

}  // namespace custmine
