// Core: errors, checks, threads, random streams, factorization, JSON documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <cmath>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "custmine/core/exact_sum.hpp"
#include "custmine/core/factorize.hpp"
#include "custmine/core/linear_predict.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/serialize.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/tiering/rfm.hpp"
#include "expect_error.hpp"

using namespace custmine;

TEST(Errors, HierarchyDerivesFromInvalidArgument) {
  try {
    fail<ShapeError>("fit", "X has ", 3, " rows but y has ", 2);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "fit: X has 3 rows but y has 2");
    EXPECT_NE(dynamic_cast<const InvalidArgument*>(&e), nullptr);
    EXPECT_NE(dynamic_cast<const Error*>(&e), nullptr);
  }
}

TEST(Checks, NameTheArgumentAndPosition) {
  std::vector<double> v{1.0, std::numeric_limits<double>::quiet_NaN()};
  try {
    check_finite("rfm", "amount", std::span<const double>(v));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("amount contains NaN or infinity (first at position 1)"), std::string::npos);
  }
  EXPECT_THROW(check_same_length("f", "a", 2, "b", 3), ShapeError);
  EXPECT_THROW(check_nonempty("f", "X", 0), InvalidArgument);
  EXPECT_NO_THROW(check_same_length("f", "a", 3, "b", 3));
}

// The linear predictions of the linear models: X w + b, each row's value independent of how
// the rows are split (a slice of rows gives the same bits as the whole, any thread count),
// non-finite entries named, a finite row whose value overflows left standing.
TEST(Checks, LinearPredictionsReadXOnce) {
  custmine::Rng rng(5);
  custmine::RowMatrix<double> X(1001, 13);
  for (custmine::Index i = 0; i < X.rows(); ++i)
    for (custmine::Index j = 0; j < X.cols(); ++j) X(i, j) = rng.normal() * 100;
  Eigen::VectorXd w(13);
  for (auto& v : w) v = rng.normal();
  const auto all = custmine::checked_linear("t", X, w.data(), 0.5, 1);
  EXPECT_LT((all - ((X * w).array() + 0.5).matrix()).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_EQ(custmine::checked_linear("t", X, w.data(), 0.5, 2), all);
  const auto part = custmine::checked_linear("t", X.middleRows(333, 101), w.data(), 0.5, 2);
  EXPECT_EQ(part, all.segment(333, 101));
  for (const double v : {double(NAN), double(INFINITY)}) {
    custmine::RowMatrix<double> Y = X;
    Y(600, 4) = v;
    custmine::test::expect_error_naming<custmine::InvalidArgument>(
        [&] { (void)custmine::checked_linear("where", Y, w.data(), 0.5, 2); }, "row 600, column 4");
  }
  custmine::RowMatrix<double> Y = X.topRows(3);
  Y.row(1) = w.transpose().cwiseSign() * std::numeric_limits<double>::max();
  EXPECT_TRUE(std::isinf(custmine::checked_linear("t", Y, w.data(), 0.0, 1)[1]));
}

TEST(Threads, JoblibRule) {
  EXPECT_EQ(resolve_threads(3), 3);
  EXPECT_EQ(resolve_threads(-1), hardware_threads());
  EXPECT_EQ(resolve_threads(-1000), 1);
  EXPECT_THROW(resolve_threads(0), InvalidArgument);
}

TEST(Threads, ParallelForVisitsEveryIndexOnce) {
  for (int threads : {1, 2, 4}) {
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(1000, threads, [&](Index i, int) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    std::vector<int> owner(1000, -1);
    parallel_chunks(1000, threads, [&](Index b, Index e, int t) {
      for (Index i = b; i < e; ++i) owner[i] = t;
    });
    for (int o : owner) ASSERT_GE(o, 0);
  }
}

TEST(Threads, WorkerExceptionReachesCaller) {
  EXPECT_THROW(parallel_for(100, 2, [](Index i, int) {
                 if (i == 57) fail<ConvergenceError>("worker", "boom at ", i);
               }),
               ConvergenceError);
  EXPECT_THROW(parallel_chunks(100, 3, [](Index, Index, int t) {
                 if (t == 2) throw InvalidArgument("chunk");
               }),
               InvalidArgument);
}

TEST(Threads, WorkAfterFork) {
  // Threads are started per call, so a forked child (Spark/Dask workers) computes normally.
  std::atomic<int> sum{0};
  parallel_for(64, 2, [&](Index i, int) { sum += static_cast<int>(i); });
  ASSERT_EQ(sum.load(), 64 * 63 / 2);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<int> s{0};
    parallel_for(64, 2, [&](Index i, int) { s += static_cast<int>(i); });
    _exit(s.load() == 64 * 63 / 2 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Threads, TeamRunsManyStepsWithTheFreeFunctionsSemantics) {
  for (int threads : {1, 2, 3}) {
    ThreadTeam team(threads);
    EXPECT_EQ(team.size(), threads);
    for (int step = 0; step < 2000; ++step) {  // short steps back to back: workers spinning
      const Index n = 1 + step % 37;
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      team.parallel_for(n, threads, [&](Index i, int t) {
        ASSERT_LT(t, threads);
        hits[static_cast<std::size_t>(i)]++;
      });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
      std::vector<int> owner(static_cast<std::size_t>(n), -1);
      team.parallel_chunks(n, threads, [&](Index b, Index e, int t) {
        for (Index i = b; i < e; ++i) owner[static_cast<std::size_t>(i)] = t;
      });
      // the same chunks as the free function
      std::vector<int> want(static_cast<std::size_t>(n), -1);
      parallel_chunks(n, threads, [&](Index b, Index e, int t) {
        for (Index i = b; i < e; ++i) want[static_cast<std::size_t>(i)] = t;
      });
      ASSERT_EQ(owner, want);
    }
    // after a pause the workers sleep; a step wakes them, and fewer threads than the team
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::atomic<int> sum{0};
    team.parallel_for(100, 2, [&](Index i, int t) {
      EXPECT_LT(t, 2);
      sum += static_cast<int>(i);
    });
    EXPECT_EQ(sum.load(), 99 * 100 / 2);
    EXPECT_THROW(team.parallel_for(100, threads, [](Index i, int) {
                   if (i == 57) fail<ConvergenceError>("worker", "boom at ", i);
                 }),
                 ConvergenceError);
    EXPECT_THROW(team.parallel_chunks(100, threads, [&](Index, Index, int t) {
                   if (t == threads - 1) throw InvalidArgument("chunk");
                 }),
                 InvalidArgument);
    // the team still works after an exception; destroyed while its workers sleep
    sum = 0;
    team.parallel_for(10, threads, [&](Index i, int) { sum += static_cast<int>(i); });
    EXPECT_EQ(sum.load(), 45);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
}

TEST(Random, SameSeedSameStreamAndDistinctStreams) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    auto x = a();
    EXPECT_EQ(x, b());
    EXPECT_NE(x, c());
  }
  Rng s0 = Rng::stream(7, 0), s1 = Rng::stream(7, 1), s0b = Rng::stream(7, 0);
  EXPECT_EQ(s0(), s0b());
  EXPECT_NE(Rng::stream(7, 0)(), s1());
}

TEST(Random, UniformAndBelowAreInRangeAndRoughlyUniform) {
  Rng r(1);
  std::vector<int> counts(10, 0);
  double mean = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u;
    counts[r.below(10)]++;
  }
  EXPECT_NEAR(mean / 100000, 0.5, 0.01);
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
  double m = 0, v = 0;
  for (int i = 0; i < 100000; ++i) {
    double z = r.normal();
    m += z;
    v += z * z;
  }
  EXPECT_NEAR(m / 100000, 0.0, 0.02);
  EXPECT_NEAR(v / 100000, 1.0, 0.02);
}

TEST(Factorize, SortedCodesForDenseAndSparseIds) {
  std::vector<std::int64_t> dense{5, 3, 5, 9, 3};
  auto f = factorize(dense);
  EXPECT_EQ(f.uniques, (std::vector<std::int64_t>{3, 5, 9}));
  EXPECT_EQ(f.codes, (std::vector<std::int64_t>{1, 0, 1, 2, 0}));
  std::vector<std::int64_t> sparse{INT64_MAX, -7, 1'000'000'000'000LL, -7, INT64_MIN};
  auto g = factorize(sparse);
  EXPECT_EQ(g.uniques, (std::vector<std::int64_t>{INT64_MIN, -7, 1'000'000'000'000LL, INT64_MAX}));
  EXPECT_EQ(g.codes, (std::vector<std::int64_t>{3, 1, 2, 1, 0}));
  Rng r(3);
  std::vector<std::int64_t> big(5000);
  for (auto& x : big) x = static_cast<std::int64_t>(r() >> 1) % 100000 * 1'000'003;
  auto h = factorize(big);
  std::set<std::int64_t> expect(big.begin(), big.end());
  EXPECT_EQ(h.uniques, std::vector<std::int64_t>(expect.begin(), expect.end()));
  for (std::size_t i = 0; i < big.size(); ++i) ASSERT_EQ(h.uniques[h.codes[i]], big[i]);
}

TEST(Json, RoundTripAndNonFiniteNumbers) {
  ModelDocument d;
  d.estimator = "Thing";
  d.params["alpha"] = 0.5;
  d.state["values"] = json::array{json_number(1.5), json_number(std::numeric_limits<double>::infinity()),
                                   json_number(std::numeric_limits<double>::quiet_NaN())};
  auto back = from_json(to_json(d), "Thing");
  EXPECT_EQ(back.estimator, "Thing");
  EXPECT_DOUBLE_EQ(json_double(back.params, "alpha", "t"), 0.5);
  auto v = json_doubles(back.state, "values", "t");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], 1.5);
  EXPECT_TRUE(std::isinf(v[1]));
  EXPECT_TRUE(std::isnan(v[2]));
}

TEST(Json, DoublesRoundTripExactly) {
  // Boost.JSON 1.81's own parser can be an ulp off; model thresholds must survive exactly.
  Rng r(17);
  ModelDocument d;
  d.estimator = "Thing";
  std::vector<double> xs;
  for (int i = 0; i < 20000; ++i) {
    double x = (r.uniform() - 0.5) * std::pow(10.0, static_cast<int>(r.below(40)) - 20);
    xs.push_back(x);
  }
  xs.push_back(5e-324);
  xs.push_back(1.7976931348623157e308);
  xs.push_back(0.1 + 0.2);
  d.state["x"] = json_array(xs);
  auto back = json_doubles(from_json(to_json(d), "Thing").state, "x", "t");
  ASSERT_EQ(back.size(), xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(back[i], xs[i]) << i;
}

TEST(Json, CorruptDocumentsRaiseSerializationError) {
  const char* bad[] = {
      "",
      "{",
      "[1,2]",
      "{\"format_version\": 1}",
      "{\"format_version\": 99, \"estimator\": \"Thing\", \"params\": {}, \"state\": {}}",
      "{\"format_version\": \"1\", \"estimator\": \"Thing\", \"params\": {}, \"state\": {}}",
      "{\"format_version\": 1, \"estimator\": \"Other\", \"params\": {}, \"state\": {}}",
      "{\"format_version\": 1, \"estimator\": \"Thing\", \"params\": [], \"state\": {}}",
  };
  for (const char* text : bad) EXPECT_THROW(from_json(text, "Thing"), SerializationError) << text;
  // Deep nesting is refused, not a stack overflow.
  std::string deep(100000, '[');
  EXPECT_THROW(from_json(deep, "Thing"), SerializationError);
  EXPECT_THROW(load_document("/nonexistent/model.json", "Thing"), SerializationError);
}


TEST(GridSum, OrderIndependentAndExactOnTheGrid) {
  std::mt19937_64 rng(5);
  for (double scale : {1.0, 1e-300, 1e300, 3e-7}) {
    std::vector<double> x(5000);
    std::normal_distribution<double> nd(0.0, 1.0);
    for (auto& v : x) v = std::round(nd(rng) * 1e4) / 100.0 * scale;
    double top = 0.0;
    for (double v : x) top = std::max(top, std::abs(v));
    const GridSum g(top);
    auto total = [&](const std::vector<double>& v) {
      GridSum::Int s = 0;
      for (double a : v) s += g.to_grid(a);
      return g.to_double(s);
    };
    const double want = total(x);
    for (int k = 0; k < 4; ++k) {
      std::shuffle(x.begin(), x.end(), rng);
      EXPECT_EQ(total(x), want) << "scale " << scale;
    }
    // A sum of long double (64-bit mantissa) is a close witness of the exact total.
    long double ld = 0;
    for (double a : x) ld += a;
    EXPECT_NEAR(want, static_cast<double>(ld), 1e-14 * top * 100) << "scale " << scale;
  }
  const GridSum zero(0.0);
  EXPECT_EQ(zero.to_double(zero.to_grid(0.0)), 0.0);
  // A value too small for the grid rounds to zero, never to garbage.
  const GridSum big(1e10);
  EXPECT_EQ(big.to_grid(1e-30), 0);
  EXPECT_EQ(big.to_double(big.to_grid(1e10) + big.to_grid(-1e10)), 0.0);
}

TEST(GridSum, ToGridIsRintOfTheScaledValue) {
  // The add-and-subtract rounding equals rint (ties to even) over the whole range,
  // including exact halves and values near the 2^46 split.
  std::mt19937_64 rng(17);
  for (double top : {1.0, 168469.6, 1e-300, 1e300, 3.0e15}) {
    const GridSum g(top);
    std::uniform_real_distribution<double> u(-top, top);
    std::vector<double> xs = {0.0, -0.0, top, -top};
    for (int i = 0; i < 20000; ++i) xs.push_back(u(rng));
    for (int k = 0; k < 200; ++k)  // exact halves and near-halves on the grid
      xs.push_back(std::ldexp(static_cast<double>(k) + 0.5, -g.shift()) * (k % 2 ? 1 : -1));
    for (int k = 40; k < 60; ++k) xs.push_back(std::ldexp(1.0 + std::ldexp(1.0, -30), k - g.shift()));
    for (double x : xs) {
      const double y = std::ldexp(x, g.shift());
      if (std::abs(y) >= 0x1p92) continue;
      const double r = std::rint(y);
      const GridSum::Int want = (static_cast<GridSum::Int>(static_cast<std::int64_t>(std::trunc(r / 0x1p46))) << 46) +
                                static_cast<std::int64_t>(r - std::trunc(r / 0x1p46) * 0x1p46);
      ASSERT_TRUE(g.to_grid(x) == want) << "x " << x << " top " << top;
    }
  }
}
