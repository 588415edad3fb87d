// LogisticRegression and naive Bayes: small exact cases, optimality, invalid input,
// JSON round trip and thread invariance.
#include <gtest/gtest.h>

#include <limits>

#include <cmath>

#include "custmine/classification/logistic.hpp"
#include "custmine/classification/naive_bayes.hpp"
#include "custmine/core/random.hpp"
#include "expect_error.hpp"

using namespace custmine;
using namespace custmine::classification;

namespace {
struct Data {
  RowMatrix<double> X;
  std::vector<std::int64_t> y;
};
Data make(int n, int p, int k, std::uint64_t seed) {
  Rng rng(seed);
  Data d{RowMatrix<double>(n, p), std::vector<std::int64_t>(n)};
  for (int i = 0; i < n; ++i) {
    double z = 0;
    for (int j = 0; j < p; ++j) z += (d.X(i, j) = rng.normal()) * (j % 3 - 1);
    const double u = z + rng.normal();
    d.y[i] = k == 2 ? (u > 0) : std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(u + k / 2.0)), 0, k - 1);
  }
  return d;
}
}  // namespace

TEST(Logistic, InterceptOnlyIsLogOdds) {
  // Unpenalised, one constant-free column of zeros: the intercept is log(p / (1 - p)).
  RowMatrix<double> X = RowMatrix<double>::Zero(10, 1);
  std::vector<std::int64_t> y{1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  LogisticRegression::Params p;
  p.penalty = Penalty::None;
  p.tol = 1e-12;
  LogisticRegression m(p);
  m.fit(X, y, 2);
  EXPECT_NEAR(m.intercept()(0), std::log(3.0 / 7.0), 1e-9);
  EXPECT_NEAR(m.predict_proba(X)(0, 1), 0.3, 1e-9);
}

TEST(Logistic, SolversAgreeAndGradientVanishes) {
  auto d = make(600, 5, 2, 1);
  LogisticRegression::Params p;
  p.C = 0.5;
  p.tol = 1e-10;
  p.max_iter = 1000;
  p.solver = LogisticSolver::NewtonCholesky;
  LogisticRegression a(p);
  a.fit(d.X, d.y, 2);
  p.solver = LogisticSolver::Lbfgs;
  LogisticRegression b(p);
  b.fit(d.X, d.y, 2);
  p.solver = LogisticSolver::CoordinateDescent;
  LogisticRegression c(p);
  c.fit(d.X, d.y, 2);
  EXPECT_TRUE(a.converged());
  EXPECT_LT((a.coef() - b.coef()).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_LT((a.coef() - c.coef()).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(Logistic, MultinomialThreadInvariantAndJson) {
  auto d = make(9000, 4, 3, 2);  // > 4096 rows: several reduction blocks
  LogisticRegression::Params p;
  p.tol = 1e-8;
  p.n_threads = 1;
  LogisticRegression a(p);
  a.fit(d.X, d.y, 3);
  p.n_threads = 2;
  LogisticRegression b(p);
  b.fit(d.X, d.y, 3);
  EXPECT_EQ(a.coef(), b.coef());
  EXPECT_EQ(a.intercept(), b.intercept());
  EXPECT_NEAR(a.intercept().sum(), 0.0, 1e-12);  // centred
  auto back = LogisticRegression::from_document(from_json(to_json(a.to_document()), "LogisticRegression"));
  // Boost.JSON 1.81 parses numbers to within one ulp (no precise mode before 1.84).
  EXPECT_LT((back.predict_proba(d.X) - a.predict_proba(d.X)).cwiseAbs().maxCoeff(), 1e-12);
  auto doc = a.to_document();
  doc.state["coef"] = json::array{1.0, 2.0};  // wrong length
  EXPECT_THROW(LogisticRegression::from_document(doc), SerializationError);
  doc = a.to_document();
  doc.params["penalty"] = "l3";
  EXPECT_THROW(LogisticRegression::from_document(doc), SerializationError);
}

TEST(Logistic, L1ZeroesCoefficientsAndSatisfiesKkt) {
  auto d = make(800, 6, 2, 3);
  LogisticRegression::Params p;
  p.penalty = Penalty::L1;
  p.C = 0.01;
  p.tol = 1e-8;
  p.max_iter = 500;
  LogisticRegression m(p);
  m.fit(d.X, d.y, 2);
  EXPECT_TRUE(m.converged());
  EXPECT_LE(m.gradient_norm(), 1e-8);
  EXPECT_GT((m.coef().array() == 0).count(), 0);  // true zeros on the null features (j % 3 == 1)
}

TEST(Logistic, InvalidInput) {
  auto d = make(50, 3, 2, 4);
  LogisticRegression::Params p;
  p.C = 0;
  EXPECT_THROW(LogisticRegression(p).fit(d.X, d.y, 2), InvalidArgument);
  p.C = 1;
  std::vector<std::int64_t> one(50, 0);
  EXPECT_THROW(LogisticRegression(p).fit(d.X, one, 1), InvalidArgument);
  EXPECT_THROW(LogisticRegression(p).fit(d.X, one, 2), InvalidArgument);  // class 1 absent
  RowMatrix<double> bad = d.X;
  bad(3, 1) = NAN;
  EXPECT_THROW(LogisticRegression(p).fit(bad, d.y, 2), InvalidArgument);
  LogisticRegression m(p);
  EXPECT_THROW(m.predict_proba(d.X), NotFittedError);
  m.fit(d.X, d.y, 2);
  RowMatrix<double> wrong(2, 4);
  wrong.setZero();
  EXPECT_THROW(m.predict_proba(wrong), ShapeError);
  // Non-finite entries at predict time are found through the scores (X is read once): every
  // entry point fails and names the first bad position, whatever the coefficient it meets.
  for (const double v : {double(NAN), double(INFINITY), -double(INFINITY)}) {
    RowMatrix<double> q = d.X;
    q(7, 2) = v;
    test::expect_error_naming<InvalidArgument>([&] { (void)m.predict(q); }, "row 7, column 2");
    EXPECT_THROW((void)m.predict_proba(q), InvalidArgument);
    EXPECT_THROW((void)m.decision_function(q), InvalidArgument);
  }
  {
    // A finite row whose score overflows is not an input error.
    RowMatrix<double> q = d.X.topRows(3);
    q.row(1).setConstant(std::numeric_limits<double>::max());
    q.row(1) = q.row(1).cwiseProduct(m.coef().row(0).cwiseSign());
    const auto Z = m.decision_function(q);
    EXPECT_TRUE(std::isinf(Z(1, 0)));
    EXPECT_EQ(m.predict_proba(q)(1, 1), 1.0);
  }
  EXPECT_THROW(m.inference(), InvalidArgument);  // penalised fit has no summary
  p.penalty = Penalty::L1;
  p.solver = LogisticSolver::NewtonCholesky;
  EXPECT_THROW(p.validate(), InvalidArgument);
}

TEST(NaiveBayes, GaussianByHand) {
  // Class 0: x = {0, 2} (mean 1, var 1); class 1: x = {4, 6} (mean 5, var 1).
  RowMatrix<double> X(4, 1);
  X << 0, 2, 4, 6;
  std::vector<std::int64_t> y{0, 0, 1, 1};
  GaussianNB::Params p;
  p.var_smoothing = 0;
  GaussianNB m(p);
  m.fit(X, y, 2);
  EXPECT_DOUBLE_EQ(m.theta()(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(m.var()(1, 0), 1.0);
  RowMatrix<double> q(1, 1);
  q << 3.0;  // half-way: equal likelihoods and priors
  EXPECT_NEAR(m.predict_proba(q)(0, 0), 0.5, 1e-12);
  // partial_fit in two batches equals one fit.
  GaussianNB a(p), b(p);
  a.fit(X, y, 2);
  b.partial_fit(X.topRows(3), std::span(y).first(3), 2);
  b.partial_fit(X.bottomRows(1), std::span(y).last(1), 2);
  EXPECT_NEAR((a.theta() - b.theta()).cwiseAbs().maxCoeff(), 0, 1e-12);
  EXPECT_NEAR((a.var() - b.var()).cwiseAbs().maxCoeff(), 0, 1e-12);
}

TEST(NaiveBayes, CategoricalByHandAndUnseen) {
  RowMatrix<double> X(4, 1);
  X << 0, 0, 1, 1;
  std::vector<std::int64_t> y{0, 0, 0, 1};
  CategoricalNB m;
  m.fit(X, y, 2);
  // P(x=0 | class 0) = (2 + 1) / (3 + 2) = 0.6.
  EXPECT_NEAR(std::exp(m.feature_log_prob()[0](0, 0)), 0.6, 1e-12);
  RowMatrix<double> unseen(1, 1);
  unseen << 2;
  EXPECT_THROW(m.predict_proba(unseen), InvalidArgument);
  RowMatrix<double> neg(1, 1);
  neg << -1;
  EXPECT_THROW(m.fit(neg, std::vector<std::int64_t>{0}, 1), InvalidArgument);
  auto back = CategoricalNB::from_document(from_json(to_json(m.to_document()), "CategoricalNB"));
  EXPECT_LT((back.predict_proba(X) - m.predict_proba(X)).cwiseAbs().maxCoeff(), 1e-12);
}

