// Dense products behind the heavy kernels: Gram matrices (regression, GLM Hessians),
// logistic-regression Hessians and scores, and k-means distance blocks.
//
// Why a seam of our own instead of EIGEN_USE_BLAS: the library is compiled for baseline
// x86-64, so Eigen's own kernels use SSE2 only, while an optimized BLAS (BLIS) picks
// AVX2/AVX-512 kernels at run time. Routing only these few large products through BLAS keeps
// small products inline in Eigen and keeps BLAS out of the headers (no ODR mix of Eigen
// builds with and without EIGEN_USE_BLAS). When custmine is built without a BLAS
// (CMake option CUSTMINE_USE_BLAS=OFF, or none found) the same functions run on Eigen.
// The BLAS must be single-threaded (custmine threads by itself, `n_threads`) and reentrant:
// each of custmine's threads calls it at once on its own block. BLIS's serial build is both
// (Debian: libblis-serial-dev, found by CMake); Debian's serial OpenBLAS is not reentrant and is
// never picked (CMakeLists.txt).
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "custmine/core/matrix.hpp"

namespace custmine::blas {

/// A read-only dense double matrix with unit inner stride, in either storage order.
struct ConstMat {
  const double* data;
  Index rows, cols, ld;
  bool row_major;
};
/// A writable dense double matrix with unit inner stride, in either storage order.
struct Mat {
  double* data;
  Index rows, cols, ld;
  bool row_major;
};

template <class M>
ConstMat view(const Eigen::DenseBase<M>& m) {
  const auto& d = m.derived();
  if (d.innerStride() != 1) fail<InvalidArgument>("blas", "matrix must have unit inner stride");
  return {d.data(), d.rows(), d.cols(), d.outerStride(), bool(M::IsRowMajor)};
}
template <class M>  // M&&: blocks of a matrix arrive as temporaries
Mat mut_view(M&& m) {
  using D = std::remove_cvref_t<M>;
  if (m.innerStride() != 1) fail<InvalidArgument>("blas", "matrix must have unit inner stride");
  return {m.data(), m.rows(), m.cols(), m.outerStride(), bool(D::IsRowMajor)};
}

/// Lower triangle of C = alpha * A^T A + beta * C. A is m x k, C is k x k; the strictly
/// upper triangle of C is not touched.
void syrk_t(double alpha, ConstMat A, double beta, Mat C);

/// C = alpha * op(A) * op(B) + beta * C, op(X) = X^T when the flag is set.
void gemm(double alpha, ConstMat A, bool trans_a, ConstMat B, bool trans_b, double beta, Mat C);

/// y = alpha * op(A) * x + beta * y on contiguous vectors, op(A) = A^T when trans is set
/// (x has op(A).cols entries, y op(A).rows). On the row-major scores X w of a logistic pass
/// (41,188 x 62) BLIS's AVX kernel takes 3.0 ms against Eigen's SSE2 3.9 ms.
void gemv(double alpha, ConstMat A, bool trans, const double* x, double beta, double* y);

}  // namespace custmine::blas
