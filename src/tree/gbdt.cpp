// Compiled part of histogram gradient boosting: binning, losses, leaf-wise growth with
// histogram subtraction, prediction, TreeSHAP and JSON (see gbdt.hpp).
#include "custmine/tree/gbdt.hpp"
#include "custmine/tree/few_values.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "custmine/core/random.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/tree/treeshap.hpp"

namespace custmine::tree {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMinHess = 1e-16;
// Below these sizes a step runs on the calling thread: handing it out would cost more than
// the work. Threads started per call (binning) need far more work than the fit's team.
constexpr Index kParallelWork = 1 << 16;  // rows, for threads started per call
constexpr Index kParallelHist = 1 << 14;  // rows x features of a leaf's histogram, team
constexpr Index kTeamWork = 1 << 12;      // rows, other team steps

bool bit(const GradientBoosting::Bitset& b, int i) { return (b[static_cast<std::size_t>(i) >> 6] >> (i & 63)) & 1U; }
void set_bit(GradientBoosting::Bitset& b, int i) { b[static_cast<std::size_t>(i) >> 6] |= std::uint64_t{1} << (i & 63); }
}  // namespace

std::string gb_loss_name(GBLoss l) {
  switch (l) {
    case GBLoss::SquaredError: return "squared_error";
    case GBLoss::AbsoluteError: return "absolute_error";
    case GBLoss::Poisson: return "poisson";
    case GBLoss::Tweedie: return "tweedie";
    case GBLoss::LogLoss: return "log_loss";
  }
  return "?";
}

GBLoss parse_gb_loss(const std::string& s) {
  if (s == "squared_error") return GBLoss::SquaredError;
  if (s == "absolute_error") return GBLoss::AbsoluteError;
  if (s == "poisson") return GBLoss::Poisson;
  if (s == "tweedie") return GBLoss::Tweedie;
  if (s == "log_loss") return GBLoss::LogLoss;
  fail("GradientBoosting", "loss must be 'squared_error', 'absolute_error', 'poisson', 'tweedie' or 'log_loss', got '",
       s, "'");
}

void GBDTParams::validate() const {
  constexpr std::string_view w = "GradientBoosting";
  require(std::isfinite(learning_rate) && learning_rate > 0, w, "learning_rate must be > 0 (got ", learning_rate, ")");
  require(max_iter >= 1, w, "max_iter must be >= 1 (got ", max_iter, ")");
  require(max_leaf_nodes == -1 || max_leaf_nodes >= 2, w, "max_leaf_nodes must be >= 2 or None (got ",
          max_leaf_nodes, ")");
  require(max_depth == -1 || max_depth >= 1, w, "max_depth must be >= 1 or None (got ", max_depth, ")");
  require(min_samples_leaf >= 1, w, "min_samples_leaf must be >= 1 (got ", min_samples_leaf, ")");
  require(std::isfinite(min_sum_hessian) && min_sum_hessian >= 0, w, "min_sum_hessian must be >= 0");
  require(std::isfinite(l2_regularization) && l2_regularization >= 0, w, "l2_regularization must be >= 0 (got ",
          l2_regularization, ")");
  require(max_bins >= 2 && max_bins <= 255, w, "max_bins must be in 2..255 (got ", max_bins, ")");
  require(subsample_for_bins >= 1, w, "subsample_for_bins must be >= 1");
  require(std::isfinite(cat_smooth) && cat_smooth >= 0, w, "cat_smooth must be >= 0");
  require(max_cat_threshold >= 1, w, "max_cat_threshold must be >= 1");
  require(std::isfinite(variance_power) && variance_power >= 1 && variance_power < 2, w,
          "variance_power must be in [1, 2) (got ", variance_power, ")");
  require(n_iter_no_change >= 1, w, "n_iter_no_change must be >= 1 (got ", n_iter_no_change, ")");
  require(std::isfinite(tol) && tol >= 0, w, "tol must be >= 0 (got ", tol, ")");
  for (int c : monotonic_cst) require(c >= -1 && c <= 1, w, "monotonic_cst values must be -1, 0 or 1 (got ", c, ")");
  if (!monotonic_cst.empty() && !categorical.empty())
    for (std::size_t j = 0; j < std::min(monotonic_cst.size(), categorical.size()); ++j)
      require(!(monotonic_cst[j] != 0 && categorical[j]), w, "feature ", j,
              " is categorical and cannot have a monotonic constraint");
}

json::object GBDTParams::to_json() const {
  json::object o;
  o["loss"] = gb_loss_name(loss);
  o["variance_power"] = variance_power;
  o["learning_rate"] = learning_rate;
  o["max_iter"] = max_iter;
  o["max_leaf_nodes"] = max_leaf_nodes;
  o["max_depth"] = max_depth;
  o["min_samples_leaf"] = min_samples_leaf;
  o["min_sum_hessian"] = min_sum_hessian;
  o["l2_regularization"] = l2_regularization;
  o["max_bins"] = max_bins;
  o["subsample_for_bins"] = subsample_for_bins;
  o["cat_smooth"] = cat_smooth;
  o["max_cat_threshold"] = max_cat_threshold;
  o["monotonic_cst"] = json_array(monotonic_cst);
  json::array cat;
  for (char c : categorical) cat.emplace_back(c != 0);
  o["categorical"] = std::move(cat);
  o["n_iter_no_change"] = n_iter_no_change;
  o["tol"] = tol;
  o["random_state"] = random_state;
  return o;
}

GBDTParams GBDTParams::from_json(const json::object& o) {
  constexpr std::string_view w = "GradientBoosting params";
  GBDTParams p;
  try {
    p.loss = parse_gb_loss(json_string(o, "loss", w));
  } catch (const SerializationError&) {
    throw;
  } catch (const Error& e) {
    fail<SerializationError>(w, e.what());
  }
  p.variance_power = json_double(o, "variance_power", w);
  p.learning_rate = json_double(o, "learning_rate", w);
  p.max_iter = static_cast<int>(json_int(o, "max_iter", w));
  p.max_leaf_nodes = json_int(o, "max_leaf_nodes", w);
  p.max_depth = static_cast<int>(json_int(o, "max_depth", w));
  p.min_samples_leaf = json_int(o, "min_samples_leaf", w);
  p.min_sum_hessian = json_double(o, "min_sum_hessian", w);
  p.l2_regularization = json_double(o, "l2_regularization", w);
  p.max_bins = static_cast<int>(json_int(o, "max_bins", w));
  p.subsample_for_bins = json_int(o, "subsample_for_bins", w);
  p.cat_smooth = json_double(o, "cat_smooth", w);
  p.max_cat_threshold = static_cast<int>(json_int(o, "max_cat_threshold", w));
  for (auto v : json_ints(o, "monotonic_cst", w)) p.monotonic_cst.push_back(static_cast<int>(v));
  const auto& cat = json_field(o, "categorical", w);
  require<SerializationError>(cat.is_array(), w, "field 'categorical' must be an array");
  for (const auto& v : cat.as_array()) {
    require<SerializationError>(v.is_bool(), w, "field 'categorical' must hold booleans");
    p.categorical.push_back(v.as_bool() ? 1 : 0);
  }
  p.n_iter_no_change = static_cast<int>(json_int(o, "n_iter_no_change", w));
  p.tol = json_double(o, "tol", w);
  const auto& rs = json_field(o, "random_state", w);
  if (rs.is_uint64()) p.random_state = rs.get_uint64();
  else if (rs.is_int64() && rs.get_int64() >= 0) p.random_state = static_cast<std::uint64_t>(rs.get_int64());
  else fail<SerializationError>(w, "field 'random_state' must be a non-negative integer");
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(w, e.what());
  }
  return p;
}

int BinMapper::bin(double x) const {
  if (std::isnan(x)) return n_bins();
  if (categorical) {
    auto it = std::lower_bound(cats.begin(), cats.end(), x);
    return (it != cats.end() && *it == x) ? static_cast<int>(it - cats.begin()) : n_bins();  // unseen: missing
  }
  return static_cast<int>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
}

// ---------------------------------------------------------------------------------
// Losses: gradient / hessian of the per-row loss in the raw score, baseline, mean loss.

namespace {

struct LossFn {
  GBLoss kind;
  double p;  // Tweedie power
  int K;     // trees per iteration

  // 1 / (1 + e^-r) is accurate for every r (e^-r overflows to inf for r < -709: 0), and
  // free of the branch a two-sided form mispredicts on every other row
  static double sigmoid(double r) { return 1.0 / (1.0 + std::exp(-r)); }

  /// g, h for rows [b, e): raw is n x K, g/h are K x n (tree-major).
  void gradients(Index b, Index e, Index n, const double* raw, const double* y, const double* w, double* g,
                 double* h) const {
    switch (kind) {
      case GBLoss::SquaredError:
        for (Index i = b; i < e; ++i) g[i] = w[i] * (raw[i] - y[i]), h[i] = w[i];
        break;
      case GBLoss::AbsoluteError:
        for (Index i = b; i < e; ++i) g[i] = w[i] * (raw[i] > y[i] ? 1.0 : (raw[i] < y[i] ? -1.0 : 0.0)), h[i] = w[i];
        break;
      case GBLoss::Poisson:
        for (Index i = b; i < e; ++i) {
          const double mu = std::exp(raw[i]);
          g[i] = w[i] * (mu - y[i]);
          h[i] = std::max(w[i] * mu, kMinHess * w[i]);
        }
        break;
      case GBLoss::Tweedie:
        for (Index i = b; i < e; ++i) {
          const double a = std::exp((1 - p) * raw[i]), c = std::exp((2 - p) * raw[i]);
          g[i] = w[i] * (c - y[i] * a);
          h[i] = std::max(w[i] * ((2 - p) * c - (1 - p) * y[i] * a), kMinHess * w[i]);
        }
        break;
      case GBLoss::LogLoss:
        if (K == 1) {
          for (Index i = b; i < e; ++i) {
            const double q = sigmoid(raw[i]);
            g[i] = w[i] * (q - y[i]);
            h[i] = std::max(w[i] * q * (1 - q), kMinHess * w[i]);
          }
        } else {
          std::vector<double> q(static_cast<std::size_t>(K));
          for (Index i = b; i < e; ++i) {
            const double* r = raw + i * K;
            const double m = *std::max_element(r, r + K);
            double s = 0;
            for (int k = 0; k < K; ++k) s += (q[k] = std::exp(r[k] - m));
            const int yi = static_cast<int>(y[i]);
            for (int k = 0; k < K; ++k) {
              const double pk = q[k] / s;
              g[k * n + i] = w[i] * (pk - (k == yi ? 1.0 : 0.0));
              h[k * n + i] = std::max(w[i] * pk * (1 - pk), kMinHess * w[i]);
            }
          }
        }
        break;
    }
  }

  /// Weighted mean loss (scikit-learn's half losses, constants dropped).
  double mean_loss(Index n, const double* raw, const double* y, const double* w) const {
    double s = 0, sw = 0;
    for (Index i = 0; i < n; ++i) {
      double l = 0;
      const double r = raw[i * K];
      switch (kind) {
        case GBLoss::SquaredError: l = 0.5 * (r - y[i]) * (r - y[i]); break;
        case GBLoss::AbsoluteError: l = std::abs(r - y[i]); break;
        case GBLoss::Poisson: l = std::exp(r) - y[i] * r; break;
        case GBLoss::Tweedie:
          l = p == 1 ? std::exp(r) - y[i] * r : -y[i] * std::exp((1 - p) * r) / (1 - p) + std::exp((2 - p) * r) / (2 - p);
          break;
        case GBLoss::LogLoss:
          if (K == 1) {
            l = (r > 0 ? r + std::log1p(std::exp(-r)) : std::log1p(std::exp(r))) - y[i] * r;
          } else {
            const double* rr = raw + i * K;
            const double m = *std::max_element(rr, rr + K);
            double z = 0;
            for (int k = 0; k < K; ++k) z += std::exp(rr[k] - m);
            l = m + std::log(z) - rr[static_cast<int>(y[i])];
          }
          break;
      }
      s += w[i] * l;
      sw += w[i];
    }
    return sw > 0 ? s / sw : 0.0;
  }
};

/// Weighted median: the plain median (mean of the two middle values) when weights are equal.
double weighted_median(std::vector<std::pair<double, double>>& v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  bool equal = true;
  for (const auto& e : v) equal = equal && e.second == v[0].second;
  const std::size_t m = v.size();
  if (equal) return m % 2 ? v[m / 2].first : 0.5 * (v[m / 2 - 1].first + v[m / 2].first);
  double tot = 0;
  for (const auto& e : v) tot += e.second;
  double c = 0;
  for (const auto& e : v) {
    c += e.second;
    if (c >= 0.5 * tot) return e.first;
  }
  return v.back().first;
}

std::vector<double> compute_baseline(const GBDTParams& p, int K, int n_classes, std::span<const double> y,
                                     std::span<const double> w) {
  const Index n = static_cast<Index>(y.size());
  double sw = 0, swy = 0;
  for (Index i = 0; i < n; ++i) sw += w[i], swy += w[i] * y[i];
  switch (p.loss) {
    case GBLoss::SquaredError: return {swy / sw};
    case GBLoss::AbsoluteError: {
      std::vector<std::pair<double, double>> v;
      v.reserve(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) v.emplace_back(y[i], w[i]);
      return {weighted_median(v)};
    }
    case GBLoss::Poisson:
    case GBLoss::Tweedie: return {std::log(std::max(swy / sw, 1e-300))};
    case GBLoss::LogLoss: {
      std::vector<double> prior(static_cast<std::size_t>(n_classes), 0.0);
      for (Index i = 0; i < n; ++i) prior[static_cast<std::size_t>(y[i])] += w[i];
      constexpr double eps = 1e-15;
      if (K == 1) {
        const double q = std::clamp(prior[1] / sw, eps, 1 - eps);
        return {std::log(q / (1 - q))};
      }
      std::vector<double> b(static_cast<std::size_t>(K));
      double mean = 0;
      for (int k = 0; k < K; ++k) mean += (b[k] = std::log(std::clamp(prior[k] / sw, eps, 1.0))) / K;
      for (auto& v : b) v -= mean;
      return b;
    }
  }
  return {0.0};
}

// ---------------------------------------------------------------------------------
// Binning

std::vector<BinMapper> fit_bins(const MatrixView<double>& X, const GBDTParams& p) {
  const Index n = X.rows(), F = X.cols();
  std::vector<Index> rows;
  if (n > p.subsample_for_bins) {  // partial Fisher-Yates: a fixed subsample for all features
    std::vector<Index> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), Index{0});
    Rng rng(p.random_state);
    for (Index i = 0; i < p.subsample_for_bins; ++i)
      std::swap(all[i], all[i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - i)))]);
    rows.assign(all.begin(), all.begin() + p.subsample_for_bins);
    std::sort(rows.begin(), rows.end());
  }
  std::vector<BinMapper> out(static_cast<std::size_t>(F));
  // Few distinct values (one-hot and coded columns): found without sorting every row, the
  // same edges as below. Scanned row by row (X is row-major), each thread over its own
  // features.
  const Index ns = rows.empty() ? n : static_cast<Index>(rows.size());
  std::vector<DistinctValues> distinct_of(static_cast<std::size_t>(F));
  for (Index j = 0; j < F; ++j) distinct_of[j].few = p.categorical.empty() || !p.categorical[j];
  parallel_chunks(F, p.n_threads, [&](Index f0, Index f1, int) {
    for (Index t = 0; t < ns; ++t) {
      const Index i = rows.empty() ? t : rows[t];
      for (Index j = f0; j < f1; ++j) distinct_of[j].add(X(i, j), kFewValues);
    }
  });
  parallel_for(F, p.n_threads, [&](Index j, int) {
    BinMapper& m = out[j];
    m.categorical = !p.categorical.empty() && p.categorical[j];
    std::vector<double> v;
    if (m.categorical) {  // every row: a category seen only outside the subsample still gets a bin
      for (Index i = 0; i < n; ++i) {
        const double x = X(i, j);
        if (std::isnan(x)) continue;
        if (!(x >= 0 && x == std::floor(x) && x < 2147483648.0))
          fail("GradientBoosting.fit", "categorical feature ", j,
               " must hold non-negative integer codes or NaN (row ", i, " has ", x, ")");
        v.push_back(x);
      }
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      if (static_cast<int>(v.size()) > p.max_bins)
        fail("GradientBoosting.fit", "categorical feature ", j, " has ", v.size(), " categories; at most max_bins = ",
             p.max_bins, " are supported (group rare categories, or treat the feature as numeric)");
      m.cats = std::move(v);
      return;
    }
    if (const auto& u = distinct_of[j].values; distinct_of[j].few && static_cast<int>(u.size()) <= p.max_bins) {
      for (std::size_t k = 0; k + 1 < u.size(); ++k) m.edges.push_back(u[k] + (u[k + 1] - u[k]) / 2);
      m.edges.push_back(kInf);
      return;
    }
    if (rows.empty()) {
      for (Index i = 0; i < n; ++i)
        if (!std::isnan(X(i, j))) v.push_back(X(i, j));
    } else {
      for (Index i : rows)
        if (!std::isnan(X(i, j))) v.push_back(X(i, j));
    }
    std::sort(v.begin(), v.end());
    std::vector<double> distinct = v;
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (static_cast<int>(distinct.size()) <= p.max_bins) {
      // one bin per value: edges at the midpoints
      for (std::size_t k = 0; k + 1 < distinct.size(); ++k) {
        double mid = distinct[k] + (distinct[k + 1] - distinct[k]) / 2;
        m.edges.push_back(mid);
      }
    } else {
      // quantile edges (midpoint between the order statistics around each quantile)
      const std::size_t s = v.size();
      for (int k = 1; k < p.max_bins; ++k) {
        const double q = static_cast<double>(k) * static_cast<double>(s - 1) / p.max_bins;
        const auto lo = static_cast<std::size_t>(std::floor(q));
        const double e = lo + 1 < s ? v[lo] + (v[lo + 1] - v[lo]) / 2 : v[lo];
        if (m.edges.empty() || e > m.edges.back()) m.edges.push_back(e);
      }
    }
    m.edges.push_back(kInf);
  });
  return out;
}

/// Feature-major bin codes: codes[j * n + i]. Coded in blocks of rows, all features of a
/// block while it is in cache (X is row-major).
std::vector<std::uint8_t> bin_data(const MatrixView<double>& X, const std::vector<BinMapper>& mappers, int n_threads) {
  const Index n = X.rows(), F = X.cols();
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(n * F));
  constexpr Index kBlock = 256;
  parallel_for((n + kBlock - 1) / kBlock, n < kParallelWork ? 1 : n_threads, [&](Index blk, int) {
    const Index b = blk * kBlock, e = std::min(n, b + kBlock);
    // a value in the previous value's bin skips the search (runs of one value in one-hot
    // and coded columns); NaN fails both comparisons and takes the search
    std::vector<double> lo(static_cast<std::size_t>(F), kInf), hi(static_cast<std::size_t>(F), -kInf);
    std::vector<int> last(static_cast<std::size_t>(F), 0);
    for (Index i = b; i < e; ++i) {
      for (Index j = 0; j < F; ++j) {
        const BinMapper& m = mappers[j];
        const double x = X(i, j);
        if (!(x > lo[j] && x <= hi[j])) {
          const int c = m.bin(x);
          last[j] = c;
          if (c < m.n_bins() && !m.categorical) {
            lo[j] = c > 0 ? m.edges[static_cast<std::size_t>(c) - 1] : -kInf;
            hi[j] = m.edges[static_cast<std::size_t>(c)];
          } else {
            lo[j] = kInf, hi[j] = -kInf;
          }
        }
        codes[static_cast<std::size_t>(j * n + i)] = static_cast<std::uint8_t>(last[j]);
      }
    }
  });
  return codes;
}

// ---------------------------------------------------------------------------------
// Growth

struct HBin {
  double g, h, c;
};

struct Split {
  double gain = 0;
  std::int32_t feature = -1;
  int bin = 0;               // numeric: left when code <= bin
  bool missing_left = false;
  bool categorical = false;
  GradientBoosting::Bitset left_set{};  // categorical: bins going left (missing bin included)
  double gl = 0, hl = 0, cl = 0;        // left child totals
  double vl = 0, vr = 0;                // (constrained) child values
};

struct Leaf {
  Index begin = 0, end = 0;
  double g = 0, h = 0, c = 0;
  int depth = 0;
  double lo = -kInf, hi = kInf;  // monotonic bounds on the value
  std::int32_t node = -1;        // index in the tree's node list
  int hist = -1;                 // histogram buffer
  Split best;
  bool can_split = false;
};

}  // namespace

struct GBDTBuilder {
  const GBDTParams& p;
  const std::vector<BinMapper>& mappers;
  const std::vector<std::uint8_t>& codes;
  Index n, F;
  int n_threads;
  ThreadTeam& team;  // kept for the fit: a tree takes dozens of short parallel steps
  std::vector<Index> offset;  // histogram offset of each feature
  Index total_bins = 0;
  std::vector<std::vector<HBin>> pool;
  std::vector<int> free_hists;
  std::vector<Index> idx, tmp;
  std::vector<double> og, oh;  // gradients gathered in leaf order
  // Histograms are summed row-wise. Features that sit on one bin in at least half of the
  // rows (one-hot columns, counts that are mostly zero) are "sparse": each row lists only
  // the histogram cells of its sparse features that are off their most frequent bin
  // (LightGBM's multi-value sparse bins, Ke et al. 2017), and that bin is filled in
  // afterwards as the leaf total minus the feature's other bins. On one-hot marketing
  // data a row then costs its dozen active cells instead of one per column. The other
  // features are summed in groups of up to kGroup that store their codes row-major, so a
  // row's codes share a cache line and one read of its gradients serves the group. The
  // layout depends on the data only, never on the thread count.
  static constexpr int kGroup = 8;
  struct Group {
    std::vector<std::int32_t> features;
    std::vector<std::uint8_t> codes;  // n x features.size()
  };
  std::vector<Group> groups;
  std::vector<std::int32_t> sparse;   // sparse features
  std::vector<int> top;               // most frequent bin of each feature
  std::vector<Index> sp_ptr;        // row i's cells: sp_cell[sp_ptr[i] .. sp_ptr[i + 1])
  std::vector<std::uint16_t> sp_cell16;  // histogram cells when total_bins < 2^16
  std::vector<std::uint32_t> sp_cell32;  // otherwise
  std::vector<HBin> second;            // second half of a large leaf's rows
  static constexpr Index kTwoParts = 4096;  // rows of a leaf summed in two halves
  double lambda;

  GBDTBuilder(const GBDTParams& params, const std::vector<BinMapper>& m, const std::vector<std::uint8_t>& c, Index rows,
              ThreadTeam& workers)
      : p(params), mappers(m), codes(c), n(rows), F(static_cast<Index>(m.size())), n_threads(params.n_threads),
        team(workers), lambda(params.l2_regularization) {
    offset.resize(static_cast<std::size_t>(F) + 1);
    for (Index j = 0; j < F; ++j) offset[j + 1] = offset[j] + mappers[j].n_bins() + 1;
    total_bins = offset[F];
    idx.resize(static_cast<std::size_t>(n));
    tmp.resize(static_cast<std::size_t>(n));
    og.resize(static_cast<std::size_t>(n));
    oh.resize(static_cast<std::size_t>(n));
    top.assign(static_cast<std::size_t>(F), 0);
    std::vector<Index> top_count(static_cast<std::size_t>(F), 0);
    parallel_for(F, n_threads, [&](Index j, int) {
      std::vector<Index> cnt(static_cast<std::size_t>(offset[j + 1] - offset[j]), 0);
      const std::uint8_t* col = codes.data() + j * n;
      for (Index i = 0; i < n; ++i) ++cnt[col[i]];
      const auto t = std::max_element(cnt.begin(), cnt.end());
      top[j] = static_cast<int>(t - cnt.begin());
      top_count[j] = *t;
    });
    std::vector<std::int32_t> dense;
    for (Index j = 0; j < F; ++j) (2 * top_count[j] >= n ? sparse : dense).push_back(static_cast<std::int32_t>(j));
    for (std::size_t c0 = 0; c0 < dense.size(); c0 += kGroup) {
      Group gr;
      gr.features.assign(dense.begin() + static_cast<std::ptrdiff_t>(c0),
                         dense.begin() + static_cast<std::ptrdiff_t>(std::min(dense.size(), c0 + kGroup)));
      groups.push_back(std::move(gr));
    }
    parallel_for(static_cast<Index>(groups.size()), n_threads, [&](Index gi, int) {
      Group& gr = groups[gi];
      const auto gs = static_cast<Index>(gr.features.size());
      gr.codes.resize(static_cast<std::size_t>(n * gs));
      for (Index k = 0; k < gs; ++k) {
        const std::uint8_t* col = codes.data() + static_cast<Index>(gr.features[k]) * n;
        for (Index i = 0; i < n; ++i) gr.codes[i * gs + k] = col[i];
      }
    });
    if (!sparse.empty()) {
      sp_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
      for (auto j : sparse) {
        const std::uint8_t* col = codes.data() + static_cast<Index>(j) * n;
        for (Index i = 0; i < n; ++i) sp_ptr[i + 1] += col[i] != top[j];
      }
      for (Index i = 0; i < n; ++i) sp_ptr[i + 1] += sp_ptr[i];
      auto fill = [&](auto& cells) {
        cells.resize(sp_ptr[n]);
        std::vector<Index> at(sp_ptr.begin(), sp_ptr.end() - 1);
        for (auto j : sparse) {  // cells of a row in feature order
          const std::uint8_t* col = codes.data() + static_cast<Index>(j) * n;
          for (Index i = 0; i < n; ++i)
            if (col[i] != top[j]) cells[at[i]++] = static_cast<std::remove_reference_t<decltype(cells[0])>>(offset[j] + col[i]);
        }
      };
      if (total_bins < (Index{1} << 16)) fill(sp_cell16);
      else fill(sp_cell32);
    }
  }

  int new_hist() {
    if (!free_hists.empty()) {
      int h = free_hists.back();
      free_hists.pop_back();
      return h;
    }
    pool.emplace_back(static_cast<std::size_t>(total_bins));
    return static_cast<int>(pool.size()) - 1;
  }

  void build_hist(const Leaf& lf, const double* g, const double* h, std::vector<HBin>& H) {
    const Index m = lf.end - lf.begin;
    const Index* __restrict rows = idx.data() + lf.begin;
    double* __restrict pg = og.data();
    double* __restrict ph = oh.data();
    const int threads = m * F < kParallelHist ? 1 : n_threads;
    team.parallel_chunks(m, m < kTeamWork ? 1 : n_threads, [&](Index b, Index e, int) {
      for (Index i = b; i < e; ++i) pg[i] = g[rows[i]], ph[i] = h[rows[i]];
    });
    // Work units: the row groups and the sparse lists. A large leaf's rows are also split
    // in two halves, the second summed into a second buffer and added after, so that two
    // threads share even one unit; the halves depend on the leaf size only, so the sums
    // (and the model) do not depend on the thread count.
    const auto n_groups = static_cast<Index>(groups.size());
    const Index units = n_groups + (sparse.empty() ? 0 : 1);
    const Index parts = m >= kTwoParts ? 2 : 1;
    if (parts == 2 && second.empty()) second.resize(static_cast<std::size_t>(total_bins));
    team.parallel_for(units * parts, threads, [&](Index task, int) {
      const Index u = task % units, part = task / units;
      const Index b = m * part / parts, e = m * (part + 1) / parts;
      HBin* out = part == 0 ? H.data() : second.data();
      if (u == n_groups) {
        if (sp_cell32.empty()) sum_sparse(b, e, rows, pg, ph, sp_cell16.data(), out);
        else sum_sparse(b, e, rows, pg, ph, sp_cell32.data(), out);
      } else {
        sum_group(groups[u], b, e, rows, pg, ph, out);
      }
    });
    if (parts == 2)
      for (Index k = 0; k < total_bins; ++k) H[k].g += second[k].g, H[k].h += second[k].h, H[k].c += second[k].c;
    for (auto j : sparse) {  // the most frequent bin: leaf total minus the others
      HBin* hb = H.data() + offset[j];
      const Index nb = offset[j + 1] - offset[j];
      double sg = 0, sh = 0, sc = 0;
      for (Index c = 0; c < nb; ++c) sg += hb[c].g, sh += hb[c].h, sc += hb[c].c;
      hb[top[j]] = HBin{lf.g - sg, lf.h - sh, lf.c - sc};
    }
  }

  /// Sums rows [b, e) of the leaf into the group's features' histograms in out.
  void sum_group(const Group& gr, Index b, Index e, const Index* __restrict rows, const double* __restrict pg,
                 const double* __restrict ph, HBin* out) const {
    const auto gs = static_cast<Index>(gr.features.size());
    HBin* hs[kGroup];
    for (Index k = 0; k < gs; ++k) {
      hs[k] = out + offset[gr.features[k]];
      std::fill(hs[k], hs[k] + (offset[gr.features[k] + 1] - offset[gr.features[k]]), HBin{0, 0, 0});
    }
    const std::uint8_t* __restrict gc = gr.codes.data();
    for (Index i = b; i < e; ++i) {
      // rows of a deep leaf are scattered over a large table: fetch ahead
      if (i + 16 < e) __builtin_prefetch(gc + rows[i + 16] * gs);
      const std::uint8_t* rc = gc + rows[i] * gs;
      const double gi = pg[i], hi = ph[i];
      for (Index k = 0; k < gs; ++k) {
        HBin& bin = hs[k][rc[k]];
        bin.g += gi;
        bin.h += hi;
        bin.c += 1;
      }
    }
  }

  /// Sums rows [b, e) of the leaf into the sparse features' histograms in out, leaving
  /// out each feature's most frequent bin.
  template <class Cell>
  void sum_sparse(Index b, Index e, const Index* __restrict rows, const double* __restrict pg,
                  const double* __restrict ph, const Cell* __restrict cells, HBin* __restrict out) const {
    for (auto j : sparse) std::fill(out + offset[j], out + offset[j + 1], HBin{0, 0, 0});
    const Index* __restrict ptr = sp_ptr.data();
    for (Index i = b; i < e; ++i) {
      if (i + 16 < e) __builtin_prefetch(ptr + rows[i + 16]);
      if (i + 8 < e) __builtin_prefetch(cells + ptr[rows[i + 8]]);
      const Index r = rows[i];
      const double gi = pg[i], hi = ph[i];
      for (Index k = ptr[r], end = ptr[r + 1]; k < end; ++k) {
        HBin& bin = out[cells[k]];
        bin.g += gi;
        bin.h += hi;
        bin.c += 1;
      }
    }
  }

  double leaf_value(double G, double H, double lo, double hi) const {
    return std::clamp(-G / (H + lambda + kMinHess), lo, hi);
  }
  // Loss decrease of a leaf holding value v (positive is good): -(G v + (H + l2) v^2 / 2).
  double objective(double G, double H, double v) const { return -(G * v + 0.5 * (H + lambda) * v * v); }

  bool valid_child(double c, double h) const {
    return c >= static_cast<double>(p.min_samples_leaf) && h >= p.min_sum_hessian;
  }

  void find_split(Leaf& lf, const std::vector<HBin>& H) {
    lf.best = Split{};
    lf.can_split = false;
    if (p.max_depth >= 0 && lf.depth >= p.max_depth) return;
    if (lf.c < 2.0 * static_cast<double>(p.min_samples_leaf)) return;
    const double vp = leaf_value(lf.g, lf.h, lf.lo, lf.hi);
    const double parent = objective(lf.g, lf.h, vp);
    Split best;
    auto consider = [&](std::int32_t j, int cst, double gl, double hl, double cl, auto&& fill) {
      const double gr = lf.g - gl, hr = lf.h - hl, cr = lf.c - cl;
      if (!valid_child(cl, hl) || !valid_child(cr, hr)) return;
      double vl = leaf_value(gl, hl, lf.lo, lf.hi), vr = leaf_value(gr, hr, lf.lo, lf.hi);
      if ((cst > 0 && vl > vr) || (cst < 0 && vl < vr)) return;
      const double gain = objective(gl, hl, vl) + objective(gr, hr, vr) - parent;
      if (gain > best.gain) {
        best.gain = gain;
        best.feature = j;
        best.gl = gl, best.hl = hl, best.cl = cl, best.vl = vl, best.vr = vr;
        fill(best);
      }
    };
    std::vector<std::pair<double, int>> order;
    for (Index jj = 0; jj < F; ++jj) {
      const auto j = static_cast<std::int32_t>(jj);
      const int nb = mappers[j].n_bins();
      const HBin* hb = H.data() + offset[j];
      const HBin miss = hb[nb];
      if (!mappers[j].categorical) {
        const int cst = p.monotonic_cst.empty() ? 0 : p.monotonic_cst[j];
        for (int ml = 0; ml < (miss.c > 0 ? 2 : 1); ++ml) {
          double gl = ml ? miss.g : 0, hl = ml ? miss.h : 0, cl = ml ? miss.c : 0;
          const int last = (miss.c > 0 && !ml) ? nb - 1 : nb - 2;
          for (int b = 0; b <= last; ++b) {
            gl += hb[b].g, hl += hb[b].h, cl += hb[b].c;
            if (hb[b].c == 0 && b < last) continue;  // same partition as the previous threshold
            consider(j, cst, gl, hl, cl, [&](Split& s) {
              s.bin = b;
              s.categorical = false;
              // no missing rows here: send missing values to the larger child
              s.missing_left = miss.c > 0 ? ml == 1 : cl >= lf.c - cl;
            });
          }
        }
      } else {
        order.clear();
        for (int b = 0; b <= nb; ++b)
          if (hb[b].c > 0) order.emplace_back(hb[b].g / (hb[b].h + p.cat_smooth), b);
        if (order.size() < 2) continue;
        std::stable_sort(order.begin(), order.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        const int m = static_cast<int>(order.size());
        const int limit = std::min(m - 1, p.max_cat_threshold);
        for (int dir = 0; dir < 2; ++dir) {
          double gl = 0, hl = 0, cl = 0;
          for (int t = 0; t < limit; ++t) {
            const int b = order[dir ? m - 1 - t : t].second;
            gl += hb[b].g, hl += hb[b].h, cl += hb[b].c;
            consider(j, 0, gl, hl, cl, [&](Split& s) {
              s.categorical = true;
              s.left_set = {};
              for (int u = 0; u <= t; ++u) set_bit(s.left_set, order[dir ? m - 1 - u : u].second);
              // no missing rows here: send missing values to the larger child
              if (miss.c == 0 && cl >= lf.c - cl) set_bit(s.left_set, nb);
              s.missing_left = bit(s.left_set, nb);
            });
          }
        }
      }
    }
    if (best.feature >= 0 && best.gain > 0) {
      lf.best = best;
      lf.can_split = true;
    }
  }

  bool split_left(const Split& s, int code) const {
    if (s.categorical) return bit(s.left_set, code);
    if (code == mappers[s.feature].n_bins()) return s.missing_left;
    return code <= s.bin;
  }

  /// Grows one tree on gradients g, h (length n); appends its nodes to model; returns the
  /// leaves (row ranges in idx and node ids) so the caller can update predictions.
  std::vector<Leaf> grow(const double* g, const double* h, GradientBoosting& model, std::vector<double>& imp_gain,
                         std::vector<double>& imp_split) {
    std::iota(idx.begin(), idx.end(), Index{0});
    const auto root = static_cast<std::int32_t>(model.nodes_.size());
    auto add_node = [&](double value, double count) {
      model.nodes_.push_back(GradientBoosting::Node{0.0, -1, -1, -1, -1, 0, 0, 0});
      model.value_.push_back(value);
      model.gain_.push_back(0.0);
      model.count_.push_back(count);
      return static_cast<std::int32_t>(model.nodes_.size()) - 1;
    };
    std::vector<Leaf> leaves(1);
    Leaf& r = leaves[0];
    r.begin = 0, r.end = n, r.hist = new_hist();
    for (Index i = 0; i < n; ++i) r.g += g[i], r.h += h[i];
    r.c = static_cast<double>(n);
    build_hist(r, g, h, pool[r.hist]);
    r.node = add_node(leaf_value(r.g, r.h, r.lo, r.hi), r.c);
    find_split(r, pool[r.hist]);
    const Index max_leaves = p.max_leaf_nodes < 0 ? std::numeric_limits<Index>::max() : p.max_leaf_nodes;
    while (static_cast<Index>(leaves.size()) < max_leaves) {
      int pick = -1;
      for (int i = 0; i < static_cast<int>(leaves.size()); ++i)
        if (leaves[i].can_split && (pick < 0 || leaves[i].best.gain > leaves[pick].best.gain)) pick = i;
      if (pick < 0) break;
      Leaf parent = leaves[pick];
      const Split s = parent.best;
      // stable partition of the parent's rows
      // (in fixed chunks: each chunk splits its rows into tmp, then the chunks' left and
      // right parts are laid out in chunk order, so the order does not depend on threads)
      const Index m = parent.end - parent.begin;
      const Index chunks = m < kTeamWork ? 1 : 16;
      std::vector<Index> nleft(static_cast<std::size_t>(chunks)), cbeg(static_cast<std::size_t>(chunks) + 1);
      for (Index c = 0; c <= chunks; ++c) cbeg[c] = parent.begin + m * c / chunks;
      // which codes go left, as a table: the loop below is then free of branches (a split
      // sends rows left and right unpredictably)
      std::array<std::uint8_t, 256> left_code{};
      for (int code = 0; code <= mappers[s.feature].n_bins(); ++code)
        left_code[static_cast<std::size_t>(code)] = split_left(s, code) ? 1 : 0;
      const std::uint8_t* col = codes.data() + static_cast<std::size_t>(s.feature) * n;
      team.parallel_for(chunks, chunks == 1 ? 1 : n_threads, [&](Index c, int) {
        Index l = cbeg[c], r = cbeg[c + 1];
        for (Index i = cbeg[c]; i < cbeg[c + 1]; ++i) {
          const Index row = idx[i];
          const Index left = left_code[col[row]];
          // the row is written to both ends and kept where it belongs; right rows fill
          // the chunk's end, reversed
          tmp[l] = row;
          tmp[r - 1] = row;
          l += left;
          r -= 1 - left;
        }
        nleft[c] = l - cbeg[c];
      });
      Index nl = 0;
      std::vector<Index> lpos(static_cast<std::size_t>(chunks)), rpos(static_cast<std::size_t>(chunks));
      for (Index c = 0; c < chunks; ++c) lpos[c] = nl, nl += nleft[c];
      Index nr = 0;
      for (Index c = 0; c < chunks; ++c) rpos[c] = nl + nr, nr += (cbeg[c + 1] - cbeg[c]) - nleft[c];
      team.parallel_for(chunks, chunks == 1 ? 1 : n_threads, [&](Index c, int) {
        Index* out = idx.data() + parent.begin;
        std::copy(tmp.begin() + cbeg[c], tmp.begin() + cbeg[c] + nleft[c], out + lpos[c]);
        // right rows were written backwards from the chunk's end: restore their order
        const Index nrc = (cbeg[c + 1] - cbeg[c]) - nleft[c];
        for (Index k = 0; k < nrc; ++k) out[rpos[c] + k] = tmp[cbeg[c + 1] - 1 - k];
      });
      Leaf L, R;
      L.begin = parent.begin, L.end = parent.begin + nl;
      R.begin = L.end, R.end = parent.end;
      L.g = s.gl, L.h = s.hl, L.c = static_cast<double>(nl);
      R.g = parent.g - s.gl, R.h = parent.h - s.hl, R.c = static_cast<double>(nr);
      L.depth = R.depth = parent.depth + 1;
      L.lo = R.lo = parent.lo, L.hi = R.hi = parent.hi;
      const int cst = (s.categorical || p.monotonic_cst.empty()) ? 0 : p.monotonic_cst[s.feature];
      if (cst != 0) {
        const double mid = 0.5 * (s.vl + s.vr);
        if (cst > 0) L.hi = mid, R.lo = mid;
        else L.lo = mid, R.hi = mid;
      }
      // Histograms are needed only if a child may split later: not after the last split a
      // tree can take, nor when both children are too small or too deep to split.
      auto may_split = [&](const Leaf& c) {
        return (p.max_depth < 0 || c.depth < p.max_depth) && c.c >= 2.0 * static_cast<double>(p.min_samples_leaf);
      };
      const bool need = static_cast<Index>(leaves.size()) + 1 < max_leaves && (may_split(L) || may_split(R));
      if (need) {
        // the smaller child from rows, the larger by subtraction in the parent's buffer
        Leaf& small = nl <= nr ? L : R;
        Leaf& large = nl <= nr ? R : L;
        small.hist = new_hist();
        build_hist(small, g, h, pool[small.hist]);
        large.hist = parent.hist;
        HBin* a = pool[large.hist].data();
        const HBin* b = pool[small.hist].data();
        for (Index k = 0; k < total_bins; ++k) a[k].g -= b[k].g, a[k].h -= b[k].h, a[k].c -= b[k].c;
      } else {
        free_hists.push_back(parent.hist);
        L.hist = R.hist = -1;
      }
      // record the split on the parent's node
      auto& nd = model.nodes_[parent.node];
      nd.feature = s.feature;
      nd.missing_left = s.missing_left ? 1 : 0;
      if (s.categorical) {
        nd.cat = static_cast<std::int32_t>(model.cats_.size());
        model.cats_.push_back(s.left_set);
        nd.threshold = kNaN;
      } else {
        nd.bin = static_cast<std::uint16_t>(s.bin);
        nd.threshold = mappers[s.feature].edges[s.bin];
      }
      model.gain_[parent.node] = s.gain;
      imp_gain[s.feature] += s.gain;
      imp_split[s.feature] += 1;
      L.node = add_node(s.vl, L.c);
      R.node = add_node(s.vr, R.c);
      model.nodes_[parent.node].left = L.node;
      model.nodes_[parent.node].right = R.node;
      if (need) {
        find_split(L, pool[L.hist]);
        find_split(R, pool[R.hist]);
      }
      leaves[pick] = L;
      leaves.push_back(R);
    }
    for (auto& lf : leaves)
      if (lf.hist >= 0) free_hists.push_back(lf.hist);
    // node ids relative to the tree are stored relative to the global array already
    (void)root;
    return leaves;
  }
};

// ---------------------------------------------------------------------------------
// Fit

void GradientBoosting::check_X(const MatrixView<double>& X, std::string_view where) const {
  require<NotFittedError>(fitted(), where, "the model is not fitted");
  require<ShapeError>(X.cols() == n_features_, where, "X has ", X.cols(), " features but the model was fitted with ",
                      n_features_);
}

namespace {
void check_target(std::string_view where, const GBDTParams& p, int n_classes, std::span<const double> y,
                  std::span<const double> w, std::string_view yname) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double v = y[i];
    if (!std::isfinite(v)) fail(where, yname, " has NaN or infinity (first at row ", i, ")");
    if (p.loss == GBLoss::LogLoss && (v < 0 || v >= n_classes || v != std::floor(v)))
      fail(where, yname, " must hold class codes 0..", n_classes - 1, " (row ", i, " has ", v, ")");
    if ((p.loss == GBLoss::Poisson || p.loss == GBLoss::Tweedie) && v < 0)
      fail(where, "loss='", gb_loss_name(p.loss), "' needs ", yname, " >= 0 (first negative at row ", i, ")");
  }
  double sw = 0, swy = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0) fail(where, "sample_weight must be finite and >= 0 (row ", i, ")");
    sw += w[i], swy += w[i] * y[i];
  }
  require(sw > 0, where, "sample_weight sums to zero");
  if (p.loss == GBLoss::Poisson || p.loss == GBLoss::Tweedie)
    require(swy > 0, where, "loss='", gb_loss_name(p.loss), "' needs sum(", yname, ") > 0");
}
}  // namespace

void GradientBoosting::fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sw,
                           int n_classes, const MatrixView<double>& X_val, std::span<const double> y_val,
                           std::span<const double> w_val) {
  constexpr std::string_view where = "GradientBoosting.fit";
  params_.validate();
  const Index n = X.rows(), F = X.cols();
  check_nonempty(where, "X", n);
  require<ShapeError>(F >= 1, where, "X has no features");
  check_same_length(where, "X", n, "y", static_cast<Index>(y.size()));
  if (!sw.empty()) check_same_length(where, "X", n, "sample_weight", static_cast<Index>(sw.size()));
  require(params_.loss == GBLoss::LogLoss ? n_classes >= 2 : n_classes == 0, where,
          params_.loss == GBLoss::LogLoss ? "log_loss needs n_classes >= 2" : "regression losses need n_classes = 0");
  if (!params_.monotonic_cst.empty())
    require<ShapeError>(static_cast<Index>(params_.monotonic_cst.size()) == F, where, "monotonic_cst has ",
                        params_.monotonic_cst.size(), " entries but X has ", F, " features");
  if (!params_.categorical.empty())
    require<ShapeError>(static_cast<Index>(params_.categorical.size()) == F, where, "categorical has ",
                        params_.categorical.size(), " entries but X has ", F, " features");
  const int K = n_classes > 2 ? n_classes : 1;
  if (K > 1)
    for (int c : params_.monotonic_cst)
      require(c == 0, where, "monotonic constraints are not supported for multiclass classification");
  std::vector<double> w(sw.begin(), sw.end());
  if (w.empty()) w.assign(static_cast<std::size_t>(n), 1.0);
  check_target(where, params_, n_classes, y, w, "y");
  const Index nv = X_val.rows();
  std::vector<double> wv(w_val.begin(), w_val.end());
  if (nv > 0) {
    check_same_length(where, "X_val", nv, "y_val", static_cast<Index>(y_val.size()));
    require<ShapeError>(X_val.cols() == F, where, "X_val has ", X_val.cols(), " features but X has ", F);
    if (wv.empty()) wv.assign(static_cast<std::size_t>(nv), 1.0);
    check_same_length(where, "X_val", nv, "sample_weight_val", static_cast<Index>(wv.size()));
    check_target(where, params_, n_classes, y_val, wv, "y_val");
  }

  n_features_ = F;
  n_classes_ = n_classes;
  nodes_.clear(), value_.clear(), gain_.clear(), count_.clear(), cats_.clear(), roots_.clear();
  train_score_.clear(), val_score_.clear();
  mappers_ = fit_bins(X, params_);
  const auto codes = bin_data(X, mappers_, params_.n_threads);
  const auto vcodes = nv > 0 ? bin_data(X_val, mappers_, params_.n_threads) : std::vector<std::uint8_t>{};
  baseline_ = compute_baseline(params_, K, n_classes, y, w);
  const LossFn loss{params_.loss, params_.variance_power, K};

  RowMatrix<double> raw(n, K), vraw(nv, K);
  for (int k = 0; k < K; ++k) raw.col(k).setConstant(baseline_[k]), vraw.col(k).setConstant(baseline_[k]);
  std::vector<double> g(static_cast<std::size_t>(n * K)), h(static_cast<std::size_t>(n * K));
  ThreadTeam team(params_.n_threads);
  GBDTBuilder builder(params_, mappers_, codes, n, team);
  imp_gain_.assign(static_cast<std::size_t>(F), 0.0);
  imp_split_.assign(static_cast<std::size_t>(F), 0.0);
  if (nv > 0) {
    train_score_.push_back(-loss.mean_loss(n, raw.data(), y.data(), w.data()));
    val_score_.push_back(-loss.mean_loss(nv, vraw.data(), y_val.data(), wv.data()));
  }
  n_iter_ = 0;
  for (int it = 0; it < params_.max_iter; ++it) {
    Interrupt::check(where);
    team.parallel_chunks(n, n < kTeamWork ? 1 : params_.n_threads, [&](Index b, Index e, int) {
      loss.gradients(b, e, n, raw.data(), y.data(), w.data(), g.data(), h.data());
    });
    for (int k = 0; k < K; ++k) {
      const auto root = static_cast<std::int32_t>(nodes_.size());
      auto leaves = builder.grow(g.data() + k * n, h.data() + k * n, *this, imp_gain_, imp_split_);
      roots_.push_back(root);
      // leaves hold disjoint rows: one task per leaf
      team.parallel_for(static_cast<Index>(leaves.size()), n < kTeamWork ? 1 : params_.n_threads, [&](Index l, int) {
        const auto& lf = leaves[static_cast<std::size_t>(l)];
        double v = value_[lf.node] * params_.learning_rate;
        if (params_.loss == GBLoss::AbsoluteError) {  // leaf value: median residual (scikit-learn)
          std::vector<std::pair<double, double>> med;
          for (Index i = lf.begin; i < lf.end; ++i) {
            const Index r = builder.idx[i];
            med.emplace_back(y[r] - raw(r, 0), w[r]);
          }
          v = params_.learning_rate * weighted_median(med);
        }
        value_[lf.node] = v;
        for (Index i = lf.begin; i < lf.end; ++i) raw(builder.idx[i], k) += v;
      });
      // internal nodes keep their (shrunk) unsplit values for reference
      for (std::size_t j = static_cast<std::size_t>(root); j < nodes_.size(); ++j)
        if (nodes_[j].feature >= 0) value_[j] *= params_.learning_rate;
      if (nv > 0) {
        team.parallel_chunks(nv, nv < kTeamWork ? 1 : params_.n_threads, [&](Index b, Index e, int) {
          for (Index i = b; i < e; ++i) {
            std::int32_t nd = root;
            while (nodes_[nd].feature >= 0) {
              const Node& q = nodes_[nd];
              const int code = vcodes[static_cast<std::size_t>(q.feature) * nv + i];
              bool left;
              if (q.cat >= 0) left = bit(cats_[q.cat], code);
              else if (code == mappers_[q.feature].n_bins()) left = q.missing_left;
              else left = code <= q.bin;
              nd = left ? q.left : q.right;
            }
            vraw(i, k) += value_[nd];
          }
        });
      }
    }
    n_iter_ = it + 1;
    if (nv > 0) {
      train_score_.push_back(-loss.mean_loss(n, raw.data(), y.data(), w.data()));
      val_score_.push_back(-loss.mean_loss(nv, vraw.data(), y_val.data(), wv.data()));
      // scikit-learn's rule: stop when none of the last n_iter_no_change scores beats the
      // one before them by more than tol.
      const auto m = static_cast<int>(val_score_.size());
      const int q = params_.n_iter_no_change;
      if (m > q) {
        const double ref = val_score_[m - q - 1];
        bool improved = false;
        for (int t = m - q; t < m; ++t) improved = improved || val_score_[t] > ref + params_.tol;
        if (!improved) break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Prediction

bool GradientBoosting::goes_left(const Node& nd, double x) const {
  if (nd.cat >= 0) return bit(cats_[nd.cat], mappers_[nd.feature].bin(x));
  if (std::isnan(x)) return nd.missing_left != 0;
  return x <= nd.threshold;
}

std::int32_t GradientBoosting::leaf_of(std::int32_t nd, const double* row) const {
  while (nodes_[nd].feature >= 0) {
    const Node& q = nodes_[nd];
    nd = goes_left(q, row[q.feature]) ? q.left : q.right;
  }
  return nd;
}

RowMatrix<double> GradientBoosting::raw_predict(const MatrixView<double>& X, int n_threads, int n_iter) const {
  check_X(X, "GradientBoosting.predict");
  const int K = n_trees_per_iteration();
  const int iters = n_iter < 0 ? n_iter_ : std::min(n_iter, n_iter_);
  RowMatrix<double> out(X.rows(), K);
  for (int k = 0; k < K; ++k) out.col(k).setConstant(baseline_[k]);
  const std::size_t T = static_cast<std::size_t>(iters) * K;
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    // blocks of rows, trees outer: a tree's nodes stay in cache; each row still adds its
    // trees in order, so the result does not depend on the blocking
    constexpr Index kBlock = 2048;  // 128 rows: 12 % slower on 200k x 28, 100 trees
    for (Index b0 = b; b0 < e; b0 += kBlock) {
      const Index e0 = std::min(e, b0 + kBlock);
      for (std::size_t t = 0; t < T; ++t) {
        const int k = static_cast<int>(t % K);
        for (Index i = b0; i < e0; ++i) out(i, k) += value_[leaf_of(roots_[t], X.row(i).data())];
      }
    }
  });
  return out;
}

Index GradientBoosting::n_leaves(Index t) const {
  require(t >= 0 && t < n_trees(), "GradientBoosting.n_leaves", "tree index out of range");
  const std::int32_t b = roots_[t], e = t + 1 < n_trees() ? roots_[t + 1] : static_cast<std::int32_t>(nodes_.size());
  Index c = 0;
  for (std::int32_t j = b; j < e; ++j) c += nodes_[j].feature < 0;
  return c;
}

std::vector<double> GradientBoosting::importances(bool gain) const { return gain ? imp_gain_ : imp_split_; }

GradientBoosting::TreeView GradientBoosting::tree(Index t) const {
  require(t >= 0 && t < n_trees(), "GradientBoosting.tree", "tree index out of range");
  const std::int32_t b = roots_[t], e = t + 1 < n_trees() ? roots_[t + 1] : static_cast<std::int32_t>(nodes_.size());
  TreeView v;
  for (std::int32_t j = b; j < e; ++j) {
    const Node& q = nodes_[j];
    v.feature.push_back(q.feature);
    v.left.push_back(q.feature >= 0 ? q.left - b : -1);
    v.right.push_back(q.feature >= 0 ? q.right - b : -1);
    v.threshold.push_back(q.threshold);
    v.value.push_back(value_[j]);
    v.gain.push_back(gain_[j]);
    v.count.push_back(count_[j]);
    v.missing_left.push_back(static_cast<char>(q.missing_left));
    std::vector<double> cl;
    if (q.feature >= 0 && q.cat >= 0) {
      const auto& cats = mappers_[q.feature].cats;
      for (std::size_t c = 0; c < cats.size(); ++c)
        if (bit(cats_[q.cat], static_cast<int>(c))) cl.push_back(cats[c]);
    }
    v.cat_left.push_back(std::move(cl));
  }
  return v;
}

// ---------------------------------------------------------------------------------
// TreeSHAP (path-dependent; covers are training row counts, as LightGBM's pred_contrib)

void GradientBoosting::add_contributions(std::int32_t root, const double* x, double* out, int K, int k) const {
  using shap::Path;
  const auto F = n_features_;
  // expected value of the tree: count-weighted mean of its leaves
  {
    double ev = 0;
    auto rec = [&](auto&& self, std::int32_t j) -> void {
      if (nodes_[j].feature < 0) {
        ev += value_[j] * count_[j] / count_[root];
        return;
      }
      self(self, nodes_[j].left);
      self(self, nodes_[j].right);
    };
    rec(rec, root);
    out[F * K + k] += ev;
  }
  auto recurse = [&](auto&& self, std::int32_t j, Path m, double pz, double po, std::int32_t pi) -> void {
    shap::extend(m, pz, po, pi);
    const Node& q = nodes_[j];
    if (q.feature < 0) {
      for (std::size_t i = 1; i < m.size(); ++i) {
        const Path u = shap::unwind(m, i);
        double s = 0;
        for (const auto& e : u) s += e.w;
        out[static_cast<Index>(m[i].d) * K + k] += s * (m[i].o - m[i].z) * value_[j];
      }
      return;
    }
    const auto d = q.feature;
    const bool left = goes_left(q, x[d]);
    const auto hot = left ? q.left : q.right, cold = left ? q.right : q.left;
    double iz = 1, io = 1;
    for (std::size_t t = 1; t < m.size(); ++t) {
      if (m[t].d == d) {
        iz = m[t].z;
        io = m[t].o;
        m = shap::unwind(m, t);
        break;
      }
    }
    self(self, hot, m, iz * count_[hot] / count_[j], io, d);
    self(self, cold, m, iz * count_[cold] / count_[j], 0.0, d);
  };
  recurse(recurse, root, Path{}, 1.0, 1.0, -1);
}

RowMatrix<double> GradientBoosting::contributions(const MatrixView<double>& X, int n_threads) const {
  check_X(X, "GradientBoosting.predict_contributions");
  const int K = n_trees_per_iteration();
  RowMatrix<double> out = RowMatrix<double>::Zero(X.rows(), (n_features_ + 1) * K);
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) {
      double* o = out.row(i).data();
      for (int k = 0; k < K; ++k) o[n_features_ * K + k] = baseline_[k];
      for (std::size_t t = 0; t < roots_.size(); ++t)
        add_contributions(roots_[t], X.row(i).data(), o, K, static_cast<int>(t % K));
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------
// JSON

ModelDocument GradientBoosting::to_document() const {
  require<NotFittedError>(fitted(), "GradientBoosting.to_json", "the model is not fitted");
  ModelDocument d;
  d.estimator = "GradientBoosting";
  d.params = params_.to_json();
  json::object& s = d.state;
  s["n_features"] = n_features_;
  s["n_classes"] = n_classes_;
  s["n_iter"] = n_iter_;
  s["baseline"] = json_array(baseline_);
  json::array bins;
  for (const auto& m : mappers_) {
    json::object o;
    o["categorical"] = m.categorical;
    json::array e;
    for (double v : m.edges) e.push_back(json_number(v));
    o["edges"] = std::move(e);
    o["cats"] = json_array(m.cats);
    bins.push_back(std::move(o));
  }
  s["bins"] = std::move(bins);
  std::vector<std::int64_t> feat, left, right, cat, bin, ml;
  json::array thr;
  for (const auto& q : nodes_) {
    feat.push_back(q.feature), left.push_back(q.left), right.push_back(q.right), cat.push_back(q.cat);
    bin.push_back(q.bin), ml.push_back(q.missing_left);
    thr.push_back(json_number(q.threshold));
  }
  s["feature"] = json_array(feat);
  s["left"] = json_array(left);
  s["right"] = json_array(right);
  s["cat"] = json_array(cat);
  s["bin"] = json_array(bin);
  s["missing_left"] = json_array(ml);
  s["threshold"] = std::move(thr);
  s["value"] = json_array(value_);
  s["gain"] = json_array(gain_);
  s["count"] = json_array(count_);
  json::array cs;
  for (const auto& b : cats_) {
    json::array a;
    for (auto w : b) a.emplace_back(std::to_string(w));  // as strings: JSON numbers lose 64-bit integers
    cs.push_back(std::move(a));
  }
  s["cat_sets"] = std::move(cs);
  s["roots"] = json_array(roots_);
  s["importance_gain"] = json_array(imp_gain_);
  s["importance_split"] = json_array(imp_split_);
  s["train_score"] = json_array(train_score_);
  s["validation_score"] = json_array(val_score_);
  return d;
}

GradientBoosting GradientBoosting::from_document(const ModelDocument& doc) {
  constexpr std::string_view w = "GradientBoosting state";
  GradientBoosting m(GBDTParams::from_json(doc.params));
  const json::object& s = doc.state;
  m.n_features_ = json_int(s, "n_features", w);
  require<SerializationError>(m.n_features_ >= 1 && m.n_features_ < (Index{1} << 31), w, "field 'n_features' out of range");
  const auto nc = json_int(s, "n_classes", w);
  require<SerializationError>(nc == 0 || (nc >= 2 && nc < (1 << 20)), w, "field 'n_classes' out of range");
  require<SerializationError>((nc > 0) == (m.params_.loss == GBLoss::LogLoss), w,
                              "field 'n_classes' does not match the loss");
  m.n_classes_ = static_cast<int>(nc);
  const int K = m.n_trees_per_iteration();
  const auto ni = json_int(s, "n_iter", w);
  require<SerializationError>(ni >= 0 && ni <= m.params_.max_iter, w, "field 'n_iter' out of range");
  m.n_iter_ = static_cast<int>(ni);
  m.baseline_ = json_doubles(s, "baseline", w);
  require<SerializationError>(static_cast<int>(m.baseline_.size()) == K, w, "field 'baseline' has the wrong length");
  const auto& bins = json_field(s, "bins", w);
  require<SerializationError>(bins.is_array() && static_cast<Index>(bins.as_array().size()) == m.n_features_, w,
                              "field 'bins' must hold one entry per feature");
  for (const auto& b : bins.as_array()) {
    require<SerializationError>(b.is_object(), w, "each bin mapper must be an object");
    BinMapper bm;
    bm.categorical = json_bool(b.as_object(), "categorical", w);
    bm.edges = json_doubles(b.as_object(), "edges", w);
    bm.cats = json_doubles(b.as_object(), "cats", w);
    const int nb = bm.n_bins();
    require<SerializationError>(nb <= 255 && (bm.categorical || nb >= 1), w, "a bin mapper has a bad size");
    const auto& v = bm.categorical ? bm.cats : bm.edges;
    for (std::size_t i = 0; i < v.size(); ++i)
      require<SerializationError>(!std::isnan(v[i]) && (i == 0 || v[i] > v[i - 1]), w, "bin edges must increase");
    m.mappers_.push_back(std::move(bm));
  }
  auto feat = json_ints(s, "feature", w), left = json_ints(s, "left", w), right = json_ints(s, "right", w),
       cat = json_ints(s, "cat", w), bin = json_ints(s, "bin", w), ml = json_ints(s, "missing_left", w);
  auto thr = json_doubles(s, "threshold", w);
  m.value_ = json_doubles(s, "value", w);
  m.gain_ = json_doubles(s, "gain", w);
  m.count_ = json_doubles(s, "count", w);
  const std::size_t N = feat.size();
  require<SerializationError>(left.size() == N && right.size() == N && cat.size() == N && bin.size() == N &&
                                  ml.size() == N && thr.size() == N && m.value_.size() == N && m.gain_.size() == N &&
                                  m.count_.size() == N,
                              w, "node arrays have inconsistent lengths");
  const auto& cs = json_field(s, "cat_sets", w);
  require<SerializationError>(cs.is_array(), w, "field 'cat_sets' must be an array");
  for (const auto& a : cs.as_array()) {
    require<SerializationError>(a.is_array() && a.as_array().size() == 4, w, "each category set has 4 words");
    Bitset b{};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto& v = a.as_array()[i];
      require<SerializationError>(v.is_string(), w, "category set words are strings");
      try {
        b[i] = std::stoull(std::string(v.as_string()));
      } catch (...) {
        fail<SerializationError>(w, "a category set word is not an integer");
      }
    }
    m.cats_.push_back(b);
  }
  for (auto r : json_ints(s, "roots", w)) m.roots_.push_back(static_cast<std::int32_t>(r));
  require<SerializationError>(m.roots_.size() == static_cast<std::size_t>(m.n_iter_) * K, w,
                              "field 'roots' does not match n_iter");
  for (std::size_t t = 0; t < m.roots_.size(); ++t)
    require<SerializationError>(m.roots_[t] >= 0 && static_cast<std::size_t>(m.roots_[t]) < N &&
                                    (t == 0 || m.roots_[t] > m.roots_[t - 1]),
                                w, "field 'roots' out of range");
  // children must lie after their parent inside the same tree: traversal always ends
  for (std::size_t t = 0; t < m.roots_.size(); ++t) {
    const auto b = static_cast<std::int64_t>(m.roots_[t]);
    const auto e = t + 1 < m.roots_.size() ? static_cast<std::int64_t>(m.roots_[t + 1]) : static_cast<std::int64_t>(N);
    for (auto j = b; j < e; ++j) {
      Node q{thr[j], static_cast<std::int32_t>(feat[j]), static_cast<std::int32_t>(left[j]),
             static_cast<std::int32_t>(right[j]), static_cast<std::int32_t>(cat[j]), 0,
             static_cast<std::uint8_t>(ml[j] != 0), 0};
      if (feat[j] >= 0) {
        require<SerializationError>(feat[j] < m.n_features_ && left[j] > j && right[j] > j && left[j] < e &&
                                        right[j] < e && left[j] != right[j],
                                    w, "node ", j, " has invalid children or feature");
        const auto& bm = m.mappers_[feat[j]];
        if (bm.categorical) {
          require<SerializationError>(cat[j] >= 0 && static_cast<std::size_t>(cat[j]) < m.cats_.size(), w, "node ", j,
                                      " has an invalid category set");
        } else {
          require<SerializationError>(cat[j] == -1 && bin[j] >= 0 && bin[j] < bm.n_bins() &&
                                          !std::isnan(thr[j]),
                                      w, "node ", j, " has an invalid numeric split");
          q.bin = static_cast<std::uint16_t>(bin[j]);
        }
      } else {
        require<SerializationError>(feat[j] == -1, w, "node ", j, " is a malformed leaf");
        q.left = q.right = q.cat = -1;
      }
      require<SerializationError>(m.count_[j] > 0 && std::isfinite(m.value_[j]), w, "node ", j,
                                  " has a bad count or value");
      m.nodes_.push_back(q);
    }
  }
  require<SerializationError>(m.nodes_.size() == N, w, "nodes lie outside every tree");
  m.imp_gain_ = json_doubles(s, "importance_gain", w);
  m.imp_split_ = json_doubles(s, "importance_split", w);
  require<SerializationError>(static_cast<Index>(m.imp_gain_.size()) == m.n_features_ &&
                                  static_cast<Index>(m.imp_split_.size()) == m.n_features_,
                              w, "importances have the wrong length");
  m.train_score_ = json_doubles(s, "train_score", w);
  m.val_score_ = json_doubles(s, "validation_score", w);
  return m;
}

}  // namespace custmine::tree
