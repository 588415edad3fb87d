// KMeans: separated blobs, Lloyd = Elkan = Hamerly (also on overlapping clusters, far
// from the origin and with weights), thread invariance, empty clusters, invalid input,
// JSON; silhouette by hand.
#include <gtest/gtest.h>

#include "custmine/cluster/center_distances.hpp"
#include "custmine/cluster/kmeans.hpp"
#include "custmine/core/random.hpp"
#include "expect_error.hpp"

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
  p.algorithm = KMeansAlgorithm::Lloyd;
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

namespace {
// Overlapping clusters (every row near some boundary, dozens of iterations), shifted
// by `offset` from the origin.
RowMatrix<double> overlapping(int n, int p, double offset, std::uint64_t seed) {
  Rng rng(seed);
  RowMatrix<double> X(n, p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) X(i, j) = offset + rng.normal() + (i % 2 ? 3.0 : 0.0);
  return X;
}

KMeans fit_with(KMeansAlgorithm algo, int threads, const RowMatrix<double>& X, const RowMatrix<double>& init,
                std::span<const double> w = {}) {
  KMeans::Params p;
  p.n_clusters = static_cast<int>(init.rows());
  p.algorithm = algo;
  p.n_threads = threads;
  p.tol = 0;
  KMeans m(p);
  m.fit(X, w, &init);
  return m;
}
}  // namespace

TEST(KMeans, BoundsReachLloydsFixedPointInTheSameIterations) {
  for (double offset : {0.0, 1e6}) {  // far from the origin the expanded distances lose digits
    auto X = overlapping(30000, 6, offset, 5);
    RowMatrix<double> init = X.topRows(8);
    auto lloyd = fit_with(KMeansAlgorithm::Lloyd, 1, X, init);
    EXPECT_GT(lloyd.n_iter(), 10) << "the data should need many iterations";
    for (auto algo : {KMeansAlgorithm::Hamerly, KMeansAlgorithm::Elkan}) {
      auto m = fit_with(algo, 1, X, init);
      EXPECT_EQ(m.n_iter(), lloyd.n_iter()) << "offset " << offset;
      EXPECT_EQ(m.labels(), lloyd.labels()) << "offset " << offset;
      EXPECT_LT((m.centers() - lloyd.centers()).cwiseAbs().maxCoeff(), 1e-9 * (1 + offset));
      EXPECT_NEAR(m.inertia(), lloyd.inertia(), 1e-9 * lloyd.inertia());
      auto m2 = fit_with(algo, 2, X, init);  // thread count changes nothing
      EXPECT_EQ(m2.centers(), m.centers());
      EXPECT_EQ(m2.labels(), m.labels());
      EXPECT_EQ(m2.inertia(), m.inertia());
    }
  }
}

TEST(KMeans, BoundsStoppedByToleranceOrIterationsEqualLloyd) {
  // Stopped by the tolerance or by max_iter, the last center step leaves labels of the
  // previous centers: the bound algorithms relabel from their bounds (Hamerly) or with every
  // distance (Elkan), as Lloyd's final assignment; the inertia from the differences.
  auto X = overlapping(30000, 6, 0.0, 21);
  RowMatrix<double> init = X.topRows(8);
  for (const auto& [tol, max_iter] : {std::pair{1e-4, 300}, std::pair{0.0, 3}, std::pair{0.0, 1}}) {
    KMeans::Params p;
    p.n_clusters = 8;
    p.tol = tol;
    p.max_iter = max_iter;
    p.algorithm = KMeansAlgorithm::Lloyd;
    KMeans lloyd(p);
    lloyd.fit(X, {}, &init);
    for (auto algo : {KMeansAlgorithm::Hamerly, KMeansAlgorithm::Elkan}) {
      p.algorithm = algo;
      p.n_threads = 2;
      KMeans m(p);
      m.fit(X, {}, &init);
      EXPECT_EQ(m.n_iter(), lloyd.n_iter()) << tol << " " << max_iter;
      EXPECT_EQ(m.labels(), lloyd.labels()) << tol << " " << max_iter;
      EXPECT_NEAR(m.inertia(), lloyd.inertia(), 1e-12 * lloyd.inertia());
      double exact = 0;
      for (Index i = 0; i < X.rows(); ++i) exact += (X.row(i) - m.centers().row(m.labels()[i])).squaredNorm();
      EXPECT_NEAR(m.inertia(), exact, 1e-12 * exact);
    }
    if (max_iter == 300) EXPECT_LT(lloyd.n_iter(), 300) << "the tolerance should stop it";
  }
}

TEST(KMeans, CenterDistanceKernelsAgreeInEveryBit) {
  // The rows in doubt are assigned from these distances, ties to the lowest index: the AVX2
  // and portable kernels must agree in every bit; each distance is within its stated
  // rounding bound, the padded centers are infinitely far, and a duplicated center ties.
  namespace cd = cluster::detail;
  Rng rng(12);
  for (const Index k : {1, 5, 8, 11}) {
    for (const Index p : {1, 2, 7, 20}) {
      RowMatrix<double> C(k, p);
      for (Index j = 0; j < k; ++j)
        for (Index f = 0; f < p; ++f) C(j, f) = 1e4 + rng.normal();  // far from the origin
      if (k >= 5) C.row(3) = C.row(1);
      cd::CenterPanel panel;
      panel.assign(C);
      ASSERT_EQ(panel.width % 8, 0);
      std::vector<double> x(static_cast<std::size_t>(p)), a(static_cast<std::size_t>(panel.width)), b = a;
      for (int rep = 0; rep < 20; ++rep) {
        for (Index f = 0; f < p; ++f) x[f] = (rep % 4 == 0 ? C(std::min<Index>(1, k - 1), f) : 1e4) + 1e-3 * rng.normal();
        cd::center_distances_portable(x.data(), panel, a.data());
        const cd::NearestTwo want = cd::nearest_two_portable(a.data(), k);
        const cd::NearestTwo got = cd::nearest_centers<double>()(x.data(), panel, b.data());
        EXPECT_EQ(a, b) << k << " x " << p;
        EXPECT_EQ(got.best, want.best);
        EXPECT_EQ(got.first, want.first);
        EXPECT_EQ(got.second, want.second);
#if defined(__x86_64__) && defined(__GNUC__)
        if (__builtin_cpu_supports("avx2")) {
          const cd::NearestTwo v = cd::nearest_centers_avx2(x.data(), panel, b.data());
          EXPECT_EQ(a, b) << k << " x " << p;
          EXPECT_EQ(v.best, want.best);
          EXPECT_EQ(v.first, want.first);
          EXPECT_EQ(v.second, want.second);
        }
#endif
        // The nearest two by hand; a row next to the duplicated center picks its lower index.
        Index best = 0;
        for (Index j = 1; j < k; ++j)
          if (a[j] < a[best]) best = j;
        EXPECT_EQ(want.best, best);
        EXPECT_EQ(want.first, a[best]);
        if (k >= 5 && rep % 4 == 0) {
          EXPECT_EQ(want.best, 1);
          EXPECT_EQ(want.second, want.first);
        }
        for (Index j = 0; j < k; ++j) {
          long double exact = 0;
          for (Index f = 0; f < p; ++f) exact += (static_cast<long double>(x[f]) - C(j, f)) * (static_cast<long double>(x[f]) - C(j, f));
          EXPECT_LE(std::abs(a[j] - static_cast<double>(exact)), (p + 4) * 0x1p-53 * static_cast<double>(exact));
        }
        for (Index j = k; j < panel.width; ++j) EXPECT_EQ(a[j], std::numeric_limits<double>::infinity());
        if (k == 1) EXPECT_EQ(want.second, std::numeric_limits<double>::infinity());
        // The float twins (on copies less an offset, as the fit's float copy of X - m): the
        // same partial sums, so the same bits too, within the float rounding bound.
        cd::CenterPanelFloat pf;
        const Eigen::RowVectorXd ref = Eigen::RowVectorXd::Constant(p, 1e4);
        ASSERT_TRUE(pf.assign(C, &ref));
        std::vector<float> xf(static_cast<std::size_t>(p)), af(static_cast<std::size_t>(pf.width)), bf = af;
        for (Index f = 0; f < p; ++f) xf[f] = static_cast<float>(x[f] - 1e4);
        cd::center_distances_portable(xf.data(), pf, af.data());
        const cd::NearestTwoFloat wf = cd::nearest_two_portable(af.data(), k);
        const cd::NearestTwoFloat gf = cd::nearest_centers<float>()(xf.data(), pf, bf.data());
        EXPECT_EQ(af, bf);
        EXPECT_EQ(gf.best, wf.best);
        EXPECT_EQ(gf.first, wf.first);
        EXPECT_EQ(gf.second, wf.second);
        for (Index j = 0; j < k; ++j) {
          double exact = 0;
          for (Index f = 0; f < p; ++f) {
            const double e = static_cast<double>(xf[f]) - static_cast<double>(pf.t[static_cast<std::size_t>(f * pf.width + j)]);
            exact += e * e;
          }
          EXPECT_LE(std::abs(af[j] - exact), (p + 8) * 0x1p-24 * exact + 1e-30);
        }
      }
    }
  }
  // A center beyond float's range has no float copy.
  RowMatrix<double> big(2, 2);
  big << 0, 0, 1e39, 0;
  cd::CenterPanelFloat pf;
  EXPECT_FALSE(pf.assign(big));
}

TEST(KMeans, BoundsBeyondFloatRangeEqualLloyd) {
  // Hamerly's bound tests read a float copy of X; elements beyond float's range leave it
  // out (X itself throughout): still Lloyd's steps and labels.
  auto X = overlapping(20000, 4, 0.0, 13);
  X *= 1e39;
  RowMatrix<double> init = X.topRows(6);
  auto lloyd = fit_with(KMeansAlgorithm::Lloyd, 1, X, init);
  auto m = fit_with(KMeansAlgorithm::Hamerly, 2, X, init);
  EXPECT_GT(lloyd.n_iter(), 5);
  EXPECT_EQ(m.n_iter(), lloyd.n_iter());
  EXPECT_EQ(m.labels(), lloyd.labels());
  EXPECT_LT((m.centers() - lloyd.centers()).cwiseAbs().maxCoeff(), 1e-9 * 1e39);
}

TEST(KMeans, FarFromOriginPredictAndDocuments) {
  // Amounts in the millions: predict, transform and a document round trip agree with
  // the fit; a document without the reference point (older files) still predicts.
  auto X = overlapping(5000, 3, 5e6, 9);
  RowMatrix<double> init = X.topRows(4);
  auto m = fit_with(KMeansAlgorithm::Hamerly, 1, X, init);
  EXPECT_EQ(m.predict(X), m.labels());
  const auto D = m.transform(X);
  for (Index i = 0; i < 50; ++i)
    for (Index j = 0; j < 4; ++j) EXPECT_NEAR(D(i, j), (X.row(i) - m.centers().row(j)).norm(), 1e-6);
  auto doc = m.to_document();
  auto back = KMeans::from_document(from_json(to_json(doc), "KMeans"));
  EXPECT_EQ(back.predict(X), m.labels());
  doc.state.erase("reference");
  auto old = KMeans::from_document(doc);
  auto labels = old.predict(X);
  Index same = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) same += labels[i] == m.labels()[i];
  EXPECT_GE(same, X.rows() - 5);  // another reference point may only flip near-ties
  doc.state["reference"] = json_array(std::vector<double>{1.0});
  EXPECT_THROW(KMeans::from_document(doc), SerializationError);
}

TEST(KMeans, BoundsWithWeightsEqualLloyd) {
  auto X = overlapping(20000, 4, 0.0, 7);
  Rng rng(11);
  std::vector<double> w(X.rows());
  for (auto& v : w) v = rng.uniform() < 0.1 ? 0.0 : 0.5 + 2 * rng.uniform();  // some rows weigh nothing
  RowMatrix<double> init = X.topRows(5);
  auto lloyd = fit_with(KMeansAlgorithm::Lloyd, 1, X, init, w);
  for (auto algo : {KMeansAlgorithm::Hamerly, KMeansAlgorithm::Elkan}) {
    auto m = fit_with(algo, 2, X, init, w);
    EXPECT_EQ(m.n_iter(), lloyd.n_iter());
    EXPECT_EQ(m.labels(), lloyd.labels());
    EXPECT_LT((m.centers() - lloyd.centers()).cwiseAbs().maxCoeff(), 1e-9);
  }
}

TEST(KMeans, EmptyClusterIsRelocated) {
  RowMatrix<double> X(4, 1);
  X << 0, 1, 2, 100;
  RowMatrix<double> init(2, 1);
  init << 0, -1000;  // the second center attracts nobody at first
  for (auto algo : {KMeansAlgorithm::Lloyd, KMeansAlgorithm::Hamerly, KMeansAlgorithm::Elkan}) {
    auto m = fit_with(algo, 1, X, init);
    EXPECT_DOUBLE_EQ(m.centers()(1, 0), 100.0);
    EXPECT_DOUBLE_EQ(m.inertia(), 2.0);
  }
  // A cluster whose only rows weigh nothing is empty too.
  std::vector<double> w{1, 1, 1, 0};
  RowMatrix<double> init2(2, 1);
  init2 << 1, 100;
  for (auto algo : {KMeansAlgorithm::Lloyd, KMeansAlgorithm::Hamerly, KMeansAlgorithm::Elkan}) {
    auto m = fit_with(algo, 1, X, init2, w);
    EXPECT_EQ(m.labels(), fit_with(KMeansAlgorithm::Lloyd, 1, X, init2, w).labels());
    EXPECT_DOUBLE_EQ(m.inertia(), fit_with(KMeansAlgorithm::Lloyd, 1, X, init2, w).inertia());
  }
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
  X(1, 1) = NAN;
  EXPECT_THROW(KMeans(p).fit(X), InvalidArgument);
  X(1, 1) = 1e300;  // finite, but squared distances overflow
  test::expect_error_naming<InvalidArgument>([&] { KMeans(p).fit(X); }, "too large");
  KMeans m(p);
  EXPECT_THROW(m.predict(X), NotFittedError);
  {
    // predict reads X once and finds non-finite entries through its products: still an
    // error naming the first bad position, whatever the entry.
    auto Y = overlapping(3000, 3, 0.0, 2);
    m.fit(Y);
    for (const double v : {double(NAN), double(INFINITY), -double(INFINITY)}) {
      RowMatrix<double> q = Y.topRows(100);
      q(42, 1) = v;
      test::expect_error_naming<InvalidArgument>([&] { (void)m.predict(q); }, "row 42, column 1");
    }
    m = KMeans(p);
  }
  auto doc = ModelDocument{};
  doc.estimator = "KMeans";
  EXPECT_THROW(KMeans::from_document(doc), SerializationError);
}

TEST(KMeansPlusPlus, OneCenterPerSeparatedBlobThreadsAndWeights) {
  // Eight blobs far apart: the greedy seeding takes one center in each (a second center in
  // a blob would leave another blob's rows at a huge distance), every center is a row of X,
  // and the thread count changes nothing.
  const int k = 8;
  auto X = blobs(40000, k, 3, 4);  // blob i % k at 10 (i % k) along the first axis
  for (std::uint64_t seed : {0u, 1u, 2u}) {
    const auto C = kmeans_plusplus(X, {}, k, seed, 0, 1);
    std::vector<int> hits(k, 0);
    for (Index c = 0; c < k; ++c) {
      const int blob = static_cast<int>(std::lround(C(c, 0) / 10.0));
      ASSERT_GE(blob, 0);
      ASSERT_LT(blob, k);
      ++hits[static_cast<std::size_t>(blob)];
      bool is_row = false;
      for (Index i = 0; i < X.rows() && !is_row; ++i) is_row = X.row(i) == C.row(c);
      EXPECT_TRUE(is_row) << "center " << c << " is not a row of X";
    }
    EXPECT_EQ(hits, std::vector<int>(k, 1)) << "seed " << seed;
    EXPECT_EQ(kmeans_plusplus(X, {}, k, seed, 0, 2), C);
  }
  // Rows of weight 0 are never drawn: only rows of blobs 0-3 weigh anything here.
  std::vector<double> w(static_cast<std::size_t>(X.rows()));
  for (Index i = 0; i < X.rows(); ++i) w[static_cast<std::size_t>(i)] = i % k < 4 ? 1.0 : 0.0;
  const auto Cw = kmeans_plusplus(X, w, 4, 3, 0, 2);
  for (Index c = 0; c < 4; ++c) EXPECT_LT(Cw(c, 0), 35.0) << "a center from a row of weight 0";
  // Fewer distinct rows than centers: every row coincides with a chosen center after two
  // draws; the seeding still returns rows of X.
  RowMatrix<double> Y(50, 2);
  for (Index i = 0; i < 50; ++i) Y(i, 0) = i % 2, Y(i, 1) = 0;
  const auto Cy = kmeans_plusplus(Y, {}, 4, 0, 0, 1);
  for (Index c = 0; c < 4; ++c) EXPECT_TRUE(Cy(c, 0) == 0 || Cy(c, 0) == 1);
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
