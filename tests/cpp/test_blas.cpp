// custmine/core/blas.hpp: the products behind the heavy kernels. Built twice (CMakeLists):
// test_blas against the library as configured (with a BLAS where one was found) and
// test_blas_eigen with src/core/blas.cpp compiled without one, so both paths are checked.
#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "custmine/core/blas.hpp"

// The BLAS seam must equal Eigen's products for every storage order, transpose flag, outer
// stride (blocks of larger matrices) and beta; with or without a BLAS in the build.
TEST(Blas, GemmMatchesEigenForEveryLayout) {
  using custmine::RowMatrix;
  Eigen::MatrixXd bigA = Eigen::MatrixXd::Random(40, 30), bigB = Eigen::MatrixXd::Random(40, 30);
  const Eigen::MatrixXd A0 = bigA.block(1, 2, 13, 7);  // 13 x 7
  const Eigen::MatrixXd B0 = bigB.block(3, 1, 7, 5);   // 7 x 5
  const Eigen::MatrixXd C0 = Eigen::MatrixXd::Random(13, 5);
  const Eigen::MatrixXd expect = 0.5 * A0 * B0 + 2.0 * C0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int rma = 0; rma < 2; ++rma)
        for (int rmb = 0; rmb < 2; ++rmb)
          for (int rmc = 0; rmc < 2; ++rmc) {
            // Store op^-1 of each operand in a block of a larger matrix of the chosen order.
            const Eigen::MatrixXd a = ta ? Eigen::MatrixXd(A0.transpose()) : A0;
            const Eigen::MatrixXd b = tb ? Eigen::MatrixXd(B0.transpose()) : B0;
            Eigen::MatrixXd ca = Eigen::MatrixXd::Zero(30, 30), cb = ca;
            RowMatrix<double> ra = RowMatrix<double>::Zero(30, 30), rb = ra;
            ca.block(2, 3, a.rows(), a.cols()) = a;
            ra.block(2, 3, a.rows(), a.cols()) = a;
            cb.block(1, 4, b.rows(), b.cols()) = b;
            rb.block(1, 4, b.rows(), b.cols()) = b;
            const auto va = rma ? custmine::blas::view(ra.block(2, 3, a.rows(), a.cols()))
                                : custmine::blas::view(ca.block(2, 3, a.rows(), a.cols()));
            const auto vb = rmb ? custmine::blas::view(rb.block(1, 4, b.rows(), b.cols()))
                                : custmine::blas::view(cb.block(1, 4, b.rows(), b.cols()));
            Eigen::MatrixXd cc = Eigen::MatrixXd::Zero(20, 20);
            RowMatrix<double> rc = RowMatrix<double>::Zero(20, 20);
            cc.block(0, 1, 13, 5) = C0;
            rc.block(0, 1, 13, 5) = C0;
            if (rmc) custmine::blas::gemm(0.5, va, ta, vb, tb, 2.0, custmine::blas::mut_view(rc.block(0, 1, 13, 5)));
            else custmine::blas::gemm(0.5, va, ta, vb, tb, 2.0, custmine::blas::mut_view(cc.block(0, 1, 13, 5)));
            const Eigen::MatrixXd got = rmc ? Eigen::MatrixXd(rc.block(0, 1, 13, 5)) : Eigen::MatrixXd(cc.block(0, 1, 13, 5));
            EXPECT_LT((got - expect).cwiseAbs().maxCoeff(), 1e-12) << ta << tb << rma << rmb << rmc;
            // Nothing outside the target block was written.
            if (rmc) EXPECT_EQ(rc.col(0).cwiseAbs().sum() + rc.rightCols(14).cwiseAbs().sum(), 0.0);
            else EXPECT_EQ(cc.col(0).cwiseAbs().sum() + cc.rightCols(14).cwiseAbs().sum(), 0.0);
          }
  Eigen::MatrixXd C(3, 4);
  EXPECT_THROW(custmine::blas::gemm(1.0, custmine::blas::view(A0), false, custmine::blas::view(B0), false,
                                    0.0, custmine::blas::mut_view(C)),
               custmine::ShapeError);
}

TEST(Blas, SyrkLowerTriangleMatchesEigen) {
  using custmine::RowMatrix;
  // 6 columns take the Eigen path even with a BLAS (narrow Grams), 20 the BLAS path.
  for (const int k : {6, 20}) {
    const Eigen::MatrixXd A0 = Eigen::MatrixXd::Random(50, k);
    const Eigen::MatrixXd S0 = Eigen::MatrixXd::Random(k, k);
    const Eigen::MatrixXd expect = 3.0 * A0.transpose() * A0 + 0.5 * S0;
    for (int rma = 0; rma < 2; ++rma)
      for (int rmc = 0; rmc < 2; ++rmc) {
        RowMatrix<double> ra = RowMatrix<double>::Zero(60, k + 3);
        Eigen::MatrixXd ca = Eigen::MatrixXd::Zero(60, k + 3);
        ra.block(4, 2, 50, k) = A0;
        ca.block(4, 2, 50, k) = A0;
        const auto va = rma ? custmine::blas::view(ra.block(4, 2, 50, k)) : custmine::blas::view(ca.block(4, 2, 50, k));
        RowMatrix<double> rc = S0;
        Eigen::MatrixXd cc = S0;
        Eigen::MatrixXd got;
        if (rmc) {
          custmine::blas::syrk_t(3.0, va, 0.5, custmine::blas::mut_view(rc));
          got = rc;
        } else {
          custmine::blas::syrk_t(3.0, va, 0.5, custmine::blas::mut_view(cc));
          got = cc;
        }
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            if (i >= j) EXPECT_NEAR(got(i, j), expect(i, j), 1e-11) << k << rma << rmc;
            else EXPECT_EQ(got(i, j), S0(i, j)) << "upper triangle touched";
          }
      }
  }
  const Eigen::MatrixXd S0 = Eigen::MatrixXd::Random(6, 6);
  // No rows: C = beta * C on the lower triangle.
  Eigen::MatrixXd E(0, 6), C = S0;
  custmine::blas::syrk_t(1.0, custmine::blas::view(E), 0.0, custmine::blas::mut_view(C));
  EXPECT_EQ(C.triangularView<Eigen::StrictlyLower>().toDenseMatrix().cwiseAbs().sum(), 0.0);
  EXPECT_EQ(C.diagonal().cwiseAbs().sum(), 0.0);
}

TEST(Blas, GemvMatchesEigenForEveryLayout) {
  using custmine::RowMatrix;
  const Eigen::MatrixXd A0 = Eigen::MatrixXd::Random(13, 7);
  const Eigen::VectorXd x7 = Eigen::VectorXd::Random(7), x13 = Eigen::VectorXd::Random(13);
  const Eigen::VectorXd y13 = Eigen::VectorXd::Random(13), y7 = Eigen::VectorXd::Random(7);
  for (int rm = 0; rm < 2; ++rm)
    for (int trans = 0; trans < 2; ++trans)
      for (const double beta : {0.0, 1.0, -0.5}) {
        RowMatrix<double> ra = RowMatrix<double>::Zero(20, 12);
        Eigen::MatrixXd ca = Eigen::MatrixXd::Zero(20, 12);
        ra.block(3, 2, 13, 7) = A0;
        ca.block(3, 2, 13, 7) = A0;
        const auto va = rm ? custmine::blas::view(ra.block(3, 2, 13, 7)) : custmine::blas::view(ca.block(3, 2, 13, 7));
        Eigen::VectorXd y = trans ? y7 : y13;
        // beta = 0 must ignore what y held (BLAS semantics), even NaN.
        if (beta == 0.0) y.setConstant(std::numeric_limits<double>::quiet_NaN());
        const Eigen::VectorXd expect = trans ? Eigen::VectorXd(1.5 * A0.transpose() * x13 + beta * y7)
                                             : Eigen::VectorXd(1.5 * A0 * x7 + beta * y13);
        custmine::blas::gemv(1.5, va, trans, trans ? x13.data() : x7.data(), beta, y.data());
        EXPECT_LT((y - expect).cwiseAbs().maxCoeff(), 1e-12) << rm << trans << beta;
      }
}

// custmine calls the BLAS from several threads at once (one block each): the library it was
// built with must be reentrant. Debian's serial OpenBLAS fails this (corrupted blocks).
TEST(Blas, ConcurrentCallsEqualSerialCalls) {
  using custmine::RowMatrix;
  const RowMatrix<double> X = RowMatrix<double>::Random(40000, 20), C = RowMatrix<double>::Random(8, 20);
  auto run = [&](custmine::Index lo, custmine::Index hi, RowMatrix<double>& Z) {
    for (custmine::Index s = lo; s < hi; s += 256) {
      const custmine::Index m = std::min<custmine::Index>(256, hi - s);
      custmine::blas::gemm(1.0, custmine::blas::view(X.middleRows(s, m)), false, custmine::blas::view(C), true,
                           0.0, custmine::blas::mut_view(Z.middleRows(s, m)));
    }
  };
  RowMatrix<double> serial(X.rows(), 8);
  run(0, X.rows(), serial);
  for (int rep = 0; rep < 5; ++rep) {
    RowMatrix<double> par = RowMatrix<double>::Zero(X.rows(), 8);
    std::thread a([&] { run(0, 20000, par); }), b([&] { run(20000, 40000, par); });
    a.join();
    b.join();
    ASSERT_EQ((par - serial).cwiseAbs().maxCoeff(), 0.0) << "repetition " << rep;
  }
}
