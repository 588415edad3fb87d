// Regression family: hand-checkable cases, the ISLR Advertising table, bad input, JSON
// round trips and thread-count invariance.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "custmine/core/random.hpp"
#include "custmine/metrics/regression.hpp"
#include "custmine/regression/elastic_net.hpp"
#include "custmine/regression/glm.hpp"
#include "custmine/regression/linear.hpp"
#include "shared_data.hpp"

using namespace custmine;
using namespace custmine::regression;

TEST(RegressionOls, HandCase) {
  // x = 0,1,2; y = 1,4,5 -> slope 2, intercept 4/3, RSS 2/3 on 1 df, Var(slope) = (2/3)/2
  RowMatrix<double> X(3, 1);
  X << 0, 1, 2;
  Eigen::VectorXd y(3);
  y << 1, 4, 5;
  LinearRegression m;
  m.fit(X, y);
  EXPECT_NEAR(m.params_vec(0), 4.0 / 3, 1e-12);
  EXPECT_NEAR(m.params_vec(1), 2.0, 1e-12);
  EXPECT_NEAR(m.scale, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.std_err(1), std::sqrt(1.0 / 3), 1e-12);
}

TEST(RegressionOls, IslrAdvertising) {
  CUSTMINE_SHARED_FILE(path, "advertising/Advertising.csv");
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<double> v;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');  // row index
    while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
  }
  const Index n = static_cast<Index>(v.size() / 4);
  ASSERT_EQ(n, 200);
  RowMatrix<double> X(n, 3);
  Eigen::VectorXd y(n);
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) X(i, j) = v[i * 4 + j];
    y(i) = v[i * 4 + 3];
  }
  // ISLR (James et al. 2013) Table 3.4, unrounded values in shared/data/advertising/SOURCE.md
  for (auto solver : {LinearSolver::QR, LinearSolver::Cholesky}) {
    LinearRegression::Params p;
    p.solver = solver;
    LinearRegression m(p);
    m.fit(X, y);
    const double coef[4] = {2.938889, 0.045765, 0.188530, -0.001037};
    const double se[4] = {0.311908, 0.001395, 0.008611, 0.005871};
    for (int j = 0; j < 4; ++j) {
      EXPECT_NEAR(m.params_vec(j), coef[j], 5e-7);
      EXPECT_NEAR(m.std_err(j), se[j], 5e-7);
    }
    EXPECT_NEAR(m.rsquared, 0.89721, 5e-6);
    EXPECT_NEAR(m.fvalue, 570.27, 5e-3);
    EXPECT_NEAR(std::sqrt(m.scale), 1.6855, 5e-5);
  }
}

TEST(RegressionOls, MoreFeaturesThanSamplesSuggestsRidge) {
  RowMatrix<double> X = RowMatrix<double>::Random(3, 5);
  Eigen::VectorXd y = Eigen::VectorXd::Random(3);
  LinearRegression m;
  try {
    m.fit(X, y);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("use Ridge"), std::string::npos);
  }
  Eigen::VectorXd y2 = Eigen::VectorXd::Random(2);
  EXPECT_THROW(m.fit(X, y2), ShapeError);
  X(0, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(m.fit(X, y), InvalidArgument);
}

TEST(RegressionOls, JsonRoundTripAndCorrupt) {
  RowMatrix<double> X = RowMatrix<double>::Random(50, 3);
  Eigen::VectorXd y = X * Eigen::Vector3d(1, -2, 0.5) + Eigen::VectorXd::Random(50) * 0.1;
  LinearRegression::Params p;
  p.cov_type = CovType::HC3;
  LinearRegression m(p);
  m.fit(X, y);
  const auto text = to_json(m.to_document());
  const auto back = LinearRegression::from_document(from_json(text, "LinearRegression"));
  EXPECT_TRUE((back.predict(X) - m.predict(X)).isZero(0));
  EXPECT_TRUE((back.std_err - m.std_err).isZero(0));
  auto doc = m.to_document();
  doc.state["cov"] = json::array{1.0, 2.0};
  EXPECT_THROW(LinearRegression::from_document(doc), SerializationError);
  EXPECT_THROW(from_json("{\"format_version\":1,\"estimator\":\"Ridge\"}", "LinearRegression"), SerializationError);
}

TEST(RegressionOls, ThreadCountInvariance) {
  RowMatrix<double> X = RowMatrix<double>::Random(20000, 6);
  Eigen::VectorXd y = X.rowwise().sum() + Eigen::VectorXd::Random(20000);
  LinearRegression::Params p;
  p.solver = LinearSolver::Cholesky;
  p.n_threads = 1;
  LinearRegression a(p);
  a.fit(X, y);
  p.n_threads = 2;
  LinearRegression b(p);
  b.fit(X, y);
  EXPECT_TRUE((a.params_vec - b.params_vec).isZero(0));
  EXPECT_TRUE((a.std_err - b.std_err).isZero(0));
}

TEST(RegressionRidge, HandCase) {
  RowMatrix<double> X(2, 1);
  X << -1, 1;
  Eigen::VectorXd y(2);
  y << -1, 1;
  Ridge r(Ridge::Params{2.0, true, 1});
  r.fit(X, y);
  EXPECT_NEAR(r.coef(0), 0.5, 1e-14);  // Sxy / (Sxx + alpha) = 2 / 4
  EXPECT_THROW(Ridge(Ridge::Params{-1.0, true, 1}).fit(X, y), InvalidArgument);
}

// ridge_cv's closed-form leave-one-out errors equal refitting without each row, and its
// coefficients equal Ridge at the chosen alpha, in the primal form (n > p, streamed over
// 2048-row blocks: 4200 rows make three) and the dual form (p > n); the errors do not
// depend on the thread count.
TEST(RegressionRidge, CvMatchesBruteForceLeaveOneOut) {
  for (auto [n, p] : {std::pair<Index, Index>{4200, 4}, std::pair<Index, Index>{15, 40}}) {
    Rng rng(7);
    RowMatrix<double> X(n, p);
    Eigen::VectorXd y(n);
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < p; ++j) X(i, j) = rng.normal() + (j == 0 ? 3.0 : 0.0);
      y(i) = 2.0 * X(i, 0) - X(i, 1) + rng.normal();
    }
    const std::vector<double> alphas{0.01, 1.0, 30.0};
    const RidgeCVResult cv = ridge_cv(X, y, nullptr, alphas, true, false, 1);
    EXPECT_EQ(ridge_cv(X, y, nullptr, alphas, true, false, 2).cv_error, cv.cv_error);
    for (std::size_t a = 0; a < alphas.size(); ++a) {
      double err = 0;
      RowMatrix<double> Xi(n - 1, p);
      Eigen::VectorXd yi(n - 1);
      for (Index i = 0; i < n; ++i) {
        for (Index r = 0, k = 0; r < n; ++r)
          if (r != i) Xi.row(k) = X.row(r), yi(k++) = y(r);
        Ridge m(Ridge::Params{alphas[a], true, 1});
        m.fit(Xi, yi);
        const double e = y(i) - m.predict(X.row(i))(0);
        err += e * e;
      }
      EXPECT_NEAR(cv.cv_error(static_cast<Index>(a)), err / static_cast<double>(n), 1e-9 * err) << n << " " << a;
    }
    Ridge best(Ridge::Params{alphas[static_cast<std::size_t>(cv.best)], true, 1});
    best.fit(X, y);
    for (Index j = 0; j < p; ++j) EXPECT_NEAR(cv.coef(j), best.coef(j), 1e-9 * (1 + std::abs(best.coef(j))));
    EXPECT_NEAR(cv.intercept, best.intercept, 1e-9 * (1 + std::abs(best.intercept)));
  }
}

TEST(RegressionEnet, LassoHandCaseAndRoundTrip) {
  RowMatrix<double> X(2, 1);
  X << -1, 1;
  Eigen::VectorXd y(2);
  y << -2, 2;
  EnetParams p;
  p.alpha = 0.5;
  p.tol = 1e-12;
  ElasticNet m(p);
  m.fit(X, y);
  EXPECT_NEAR(m.coef(0), 1.5, 1e-12);  // soft(Sxy/n = 2, 0.5) / (Sxx/n = 1)
  auto back = ElasticNet::from_document(from_json(to_json(m.to_document()), "ElasticNet"));
  EXPECT_EQ(back.coef(0), m.coef(0));
  p.l1_ratio = 2;
  EXPECT_THROW(ElasticNet(p).fit(X, y), InvalidArgument);
}

TEST(RegressionGlm, PoissonSaturatedGroups) {
  RowMatrix<double> X(4, 1);
  X << 0, 0, 1, 1;
  Eigen::VectorXd y(4);
  y << 1, 3, 2, 6;
  GLM::Params p;
  p.power = 1;
  p.tol = 1e-12;
  GLM m(p);
  m.fit(X, y);
  EXPECT_NEAR(m.intercept, std::log(2.0), 1e-10);  // group means 2 and 4
  EXPECT_NEAR(m.coef(0), std::log(2.0), 1e-10);
  y(1) = -1;
  EXPECT_THROW(m.fit(X, y), InvalidArgument);
  auto back = GLM::from_document(from_json(to_json(GLM(p).fit(X, (Eigen::VectorXd(4) << 1, 3, 2, 6).finished()).to_document()), "GLM"));
  EXPECT_NEAR(back.coef(0), std::log(2.0), 1e-10);
}

TEST(RegressionMetrics, HandValues) {
  const std::vector<double> y{1, 2, 3}, p{2, 2, 2};
  EXPECT_DOUBLE_EQ(metrics::mean_absolute_error(y, p), 2.0 / 3);
  EXPECT_DOUBLE_EQ(metrics::mean_squared_error(y, p), 2.0 / 3);
  EXPECT_DOUBLE_EQ(metrics::r2_score(y, p), 0.0);  // predicting the mean
  EXPECT_NEAR(metrics::mean_poisson_deviance(y, p),
              2.0 / 3 * ((1 * std::log(0.5) - 1 + 2) + 0 + (3 * std::log(1.5) - 3 + 2)), 1e-14);
  EXPECT_THROW(metrics::mean_gamma_deviance(std::vector<double>{0.0}, std::vector<double>{1.0}), InvalidArgument);
  EXPECT_THROW(metrics::r2_score(y, std::vector<double>{1.0}), ShapeError);
}
