// KMeans: separated blobs, Lloyd = Elkan, thread invariance, empty clusters, invalid
// input, JSON; silhouette by hand.
#include <gtest/gtest.h>

#include "custmine/cluster/kmeans.hpp"
#include "custmine/core/random.hpp"

using namespace custmine;
using namespace custmine::cluster;

namespace {
RowMatrix<double> blobs(int n, int k, int p, std::uint64_t seed) {
  Rng rng(seed);
  RowMatrix<double> X(n, p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) X(i, j) = 10.0 * (i % k) * (j == 0 ? 1 : 0.5) + rng.normal();
  return X;
}
}  // namespace

TEST(KMeans, TwoPointsPerClusterByHand) {
  RowMatrix<double> X(4, 1);
  X << 0, 2, 10, 12;
  KMeans::Params p;
  p.n_clusters = 2;
  KMeans m(p);
  RowMatrix<double> init(2, 1);
  init << 0, 10;
  m.fit(X, {}, &init);
  EXPECT_DOUBLE_EQ(m.centers()(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(m.centers()(1, 0), 11.0);
  EXPECT_DOUBLE_EQ(m.inertia(), 4.0);
}

TEST(KMeans, LloydEqualsElkanAndThreadInvariant) {
  auto X = blobs(20000, 5, 4, 1);
  KMeans::Params p;
  p.n_clusters = 5;
  p.seed = 3;
  p.n_init = 2;
  p.n_threads = 1;
  KMeans a(p);
  a.fit(X);
  p.n_threads = 2;
  KMeans b(p);
  b.fit(X);
  EXPECT_EQ(a.centers(), b.centers());
  EXPECT_EQ(a.labels(), b.labels());
  EXPECT_EQ(a.inertia(), b.inertia());
  p.algorithm = KMeansAlgorithm::Elkan;
  KMeans c(p);
  c.fit(X);
  EXPECT_EQ(a.labels(), c.labels());
  EXPECT_NEAR(a.inertia(), c.inertia(), 1e-9 * a.inertia());
  auto back = KMeans::from_document(from_json(to_json(a.to_document()), "KMeans"));
  EXPECT_LT((back.centers() - a.centers()).cwiseAbs().maxCoeff(), 1e-12);  // Boost.JSON: within 1 ulp
  EXPECT_EQ(back.predict(X), a.labels());
}

TEST(KMeans, EmptyClusterIsRelocated) {
  RowMatrix<double> X(4, 1);
  X << 0, 1, 2, 100;
  RowMatrix<double> init(2, 1);
  init << 0, -1000;  // the second center attracts nobody at first
  KMeans::Params p;
  p.n_clusters = 2;
  KMeans m(p);
  m.fit(X, {}, &init);
  EXPECT_DOUBLE_EQ(m.centers()(1, 0), 100.0);
  EXPECT_DOUBLE_EQ(m.inertia(), 2.0);
}

TEST(KMeans, InvalidInput) {
  RowMatrix<double> X(3, 2);
  X.setOnes();
  KMeans::Params p;
  p.n_clusters = 4;
  EXPECT_THROW(KMeans(p).fit(X), InvalidArgument);  // k > n
  p.n_clusters = 2;
  X(1, 1) = INFINITY;
  EXPECT_THROW(KMeans(p).fit(X), InvalidArgument);
  KMeans m(p);
  EXPECT_THROW(m.predict(X), NotFittedError);
  auto doc = ModelDocument{};
  doc.estimator = "KMeans";
  EXPECT_THROW(KMeans::from_document(doc), SerializationError);
}

TEST(Silhouette, ByHand) {
  // Clusters {0, 1} and {10}: point 0: a = 1, b = 10 -> 0.9; point 1: a = 1, b = 9 -> 8/9;
  // point 2 alone -> 0.
  RowMatrix<double> X(3, 1);
  X << 0, 1, 10;
  std::vector<std::int32_t> l{0, 0, 1};
  auto s = silhouette_samples(X, l, 2, 1);
  EXPECT_NEAR(s[0], 0.9, 1e-12);
  EXPECT_NEAR(s[1], 8.0 / 9.0, 1e-12);
  EXPECT_EQ(s[2], 0.0);
}
