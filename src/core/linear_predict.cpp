// Linear predictions; see custmine/core/linear_predict.hpp.
#include "custmine/core/linear_predict.hpp"


namespace custmine {

double row_dot(const double* x, const double* w, Index p) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  Index f = 0;
  for (; f + 4 <= p; f += 4) s0 += x[f] * w[f], s1 += x[f + 1] * w[f + 1], s2 += x[f + 2] * w[f + 2], s3 += x[f + 3] * w[f + 3];
  for (; f < p; ++f) s0 += x[f] * w[f];
  return (s0 + s1) + (s2 + s3);
}

Vector<double> checked_linear(std::string_view where, MatrixView<double> X, const double* w, double b,
                              int n_threads) {
  const Index n = X.rows(), p = X.cols();
  Vector<double> out(n);
  // A thread costs tens of microseconds to start: below ~2^19 multiply-adds (a few hundred
  // microseconds) one does the work.
  for_rows_checked(where, X, n * p < (Index{1} << 19) ? 1 : n_threads, [&](Index lo, Index hi) {
    bool finite = true;
    for (Index i = lo; i < hi; ++i) {
      const double v = row_dot(X.row(i).data(), w, p) + b;
      out[i] = v;
      finite &= std::isfinite(v);
    }
    return finite;
  });
  return out;
}

}  // namespace custmine
