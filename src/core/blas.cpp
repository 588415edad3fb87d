// Products behind the heavy kernels: an external BLAS when the build has one, Eigen otherwise.
// See custmine/core/blas.hpp for why this seam exists.
#include "custmine/core/blas.hpp"

#include <Eigen/Core>
#include <limits>
#include <type_traits>

#ifdef CUSTMINE_HAVE_BLAS
// Fortran BLAS entry points (every BLAS exports these; CBLAS is not always there).
extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a,
            const int* lda, const double* x, const int* incx, const double* beta, double* y,
            const int* incy);
}
#endif

namespace custmine::blas {
namespace {

using ColMap = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>;
using MutColMap = Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>;

// The column-major storage of a matrix: a row-major r x c matrix is stored as its c x r transpose.
Index srows(const ConstMat& m) { return m.row_major ? m.cols : m.rows; }
Index scols(const ConstMat& m) { return m.row_major ? m.rows : m.cols; }
ColMap storage(const ConstMat& m) {
  return ColMap(m.data, srows(m), scols(m), Eigen::OuterStride<>(m.ld));
}

#ifdef CUSTMINE_HAVE_BLAS
int to_int(Index v) {
  if (v < 0 || v > std::numeric_limits<int>::max())
    fail<InvalidArgument>("blas", "dimension ", v, " exceeds the BLAS integer range");
  return static_cast<int>(v);
}
#endif

// Column-major C (m x n) = alpha * op(A) op(B) + beta C, with op given on the storage matrices.
void gemm_storage(double alpha, const ConstMat& A, bool ta, const ConstMat& B, bool tb, double beta,
                  double* c, Index m, Index n, Index ldc) {
  const Index k = ta ? srows(A) : scols(A);
  if (m == 0 || n == 0) return;
#ifdef CUSTMINE_HAVE_BLAS
  if (k > 0) {
    const int M = to_int(m), N = to_int(n), K = to_int(k);
    const int lda = to_int(std::max<Index>(A.ld, 1)), ldb = to_int(std::max<Index>(B.ld, 1));
    const int ldcc = to_int(std::max<Index>(ldc, 1));
    const char fa = ta ? 'T' : 'N', fb = tb ? 'T' : 'N';
    dgemm_(&fa, &fb, &M, &N, &K, &alpha, A.data, &lda, B.data, &ldb, &beta, c, &ldcc);
    return;
  }
#endif
  MutColMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0) C.setZero();
  else if (beta != 1.0) C *= beta;
  if (k == 0) return;
  const ColMap a = storage(A), b = storage(B);
  if (!ta && !tb) C.noalias() += alpha * (a * b);
  else if (ta && !tb) C.noalias() += alpha * (a.transpose() * b);
  else if (!ta && tb) C.noalias() += alpha * (a * b.transpose());
  else C.noalias() += alpha * (a.transpose() * b.transpose());
}

}  // namespace

void syrk_t(double alpha, ConstMat A, double beta, Mat C) {
  const Index k = A.cols;
  if (C.rows != k || C.cols != k)
    fail<ShapeError>("blas::syrk_t", "C is ", C.rows, " x ", C.cols, " but A has ", k, " columns");
  if (k == 0) return;
  // The lower triangle of a row-major C is the upper triangle of its column-major storage.
  const bool lower = !C.row_major;
  // A^T A from the storage: column-major A -> storage^T storage; row-major -> storage storage^T.
  const bool trans = !A.row_major;
#ifdef CUSTMINE_HAVE_BLAS
  // Below 16 columns BLIS's syrk is slower than Eigen's (4096 x 8: 102 us vs 48 us; 4096 x 32:
  // 272 us vs 437 us), so the small Grams of narrow data stay on Eigen.
  if (A.rows > 0 && k >= 16) {
    const int n = to_int(k), kk = to_int(A.rows), lda = to_int(std::max<Index>(A.ld, 1));
    const int ldc = to_int(std::max<Index>(C.ld, 1));
    const char uplo = lower ? 'L' : 'U', tr = trans ? 'T' : 'N';
    dsyrk_(&uplo, &tr, &n, &kk, &alpha, A.data, &lda, &beta, C.data, &ldc);
    return;
  }
#endif
  MutColMap c(C.data, k, k, Eigen::OuterStride<>(C.ld));
  auto on = [&](auto uplo) {
    constexpr unsigned kMode = decltype(uplo)::value;
    if (beta == 0.0) c.triangularView<kMode>().setZero();
    else if (beta != 1.0) c.triangularView<kMode>() *= beta;
    if (A.rows == 0) return;
    const ColMap a = storage(A);
    if (trans) c.selfadjointView<kMode>().rankUpdate(a.transpose(), alpha);
    else c.selfadjointView<kMode>().rankUpdate(a, alpha);
  };
  if (lower) on(std::integral_constant<unsigned, Eigen::Lower>{});
  else on(std::integral_constant<unsigned, Eigen::Upper>{});
}

void gemm(double alpha, ConstMat A, bool trans_a, ConstMat B, bool trans_b, double beta, Mat C) {
  const Index m = trans_a ? A.cols : A.rows, ka = trans_a ? A.rows : A.cols;
  const Index kb = trans_b ? B.cols : B.rows, n = trans_b ? B.rows : B.cols;
  if (ka != kb || C.rows != m || C.cols != n)
    fail<ShapeError>("blas::gemm", "op(A) is ", m, " x ", ka, ", op(B) is ", kb, " x ", n,
                     " and C is ", C.rows, " x ", C.cols);
  // On storages: op(A) = storage^T when exactly one of (transposed, row-major) holds.
  const bool sa = trans_a != A.row_major, sb = trans_b != B.row_major;
  if (!C.row_major) {
    gemm_storage(alpha, A, sa, B, sb, beta, C.data, m, n, C.ld);
  } else {
    // Row-major C is stored as C^T = op(B)^T op(A)^T.
    gemm_storage(alpha, B, !sb, A, !sa, beta, C.data, n, m, C.ld);
  }
}

void gemv(double alpha, ConstMat A, bool trans, const double* x, double beta, double* y) {
  const Index m = trans ? A.cols : A.rows, k = trans ? A.rows : A.cols;
  if (m == 0) return;
  // On the storage: op(A) = storage^T when exactly one of (transposed, row-major) holds.
  const bool st = trans != A.row_major;
#ifdef CUSTMINE_HAVE_BLAS
  if (k > 0) {
    const int sr = to_int(srows(A)), sc = to_int(scols(A)), lda = to_int(std::max<Index>(A.ld, 1));
    const int one = 1;
    const char t = st ? 'T' : 'N';
    dgemv_(&t, &sr, &sc, &alpha, A.data, &lda, x, &one, &beta, y, &one);
    return;
  }
#endif
  Eigen::Map<Eigen::VectorXd> out(y, m);
  if (beta == 0.0) out.setZero();
  else if (beta != 1.0) out *= beta;
  if (k == 0) return;
  const Eigen::Map<const Eigen::VectorXd> in(x, k);
  const ColMap a = storage(A);
  if (st) out.noalias() += alpha * (a.transpose() * in);
  else out.noalias() += alpha * (a * in);
}

}  // namespace custmine::blas
