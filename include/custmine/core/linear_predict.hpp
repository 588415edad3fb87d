// Linear predictions X w + b for the linear models' predict paths (regression, two-class
// logistic scores), X read once.
//
// Each row's value is a dot product in a fixed order, the same operations wherever the row
// sits, so predictions do not depend on how the rows are split (Spark and Dask partitions
// give the single-machine values bit for bit; a BLAS kernel treats edge rows differently).
// X's finiteness is read off the values (a NaN or infinity in a row makes its value NaN or
// infinite): X is scanned only then, to name the entry, or to let a finite row whose value
// overflowed stand.
#pragma once

#include <string_view>

#include "custmine/core/matrix.hpp"

namespace custmine {

/// x . w over p entries in four interleaved partial sums.
double row_dot(const double* x, const double* w, Index p);

/// X w + b per row, on n_threads threads; fails (InvalidArgument, naming `where` and the first
/// bad entry) when X holds NaN or infinity.
Vector<double> checked_linear(std::string_view where, MatrixView<double> X, const double* w, double b,
                              int n_threads);

}  // namespace custmine
