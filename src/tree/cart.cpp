// Compiled part of the tree family: CART growth, pruning, prediction, forests, JSON.
#include "custmine/tree/cart.hpp"
#include "custmine/tree/few_values.hpp"
#include "custmine/tree/treeshap.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "custmine/core/random.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::tree {

namespace {
constexpr double kEps = DBL_EPSILON;
// Thresholds are only placed between values more than this apart (scikit-learn's
// FEATURE_THRESHOLD), so near-duplicates from float round-off are not split.
constexpr double kFeatureThreshold = 1e-7;
}  // namespace

bool is_classification(Criterion c) { return c == Criterion::Gini || c == Criterion::Entropy; }

std::string criterion_name(Criterion c) {
  switch (c) {
    case Criterion::Gini: return "gini";
    case Criterion::Entropy: return "entropy";
    case Criterion::SquaredError: return "squared_error";
    case Criterion::Poisson: return "poisson";
  }
  return "?";
}

Criterion parse_criterion(const std::string& s) {
  if (s == "gini") return Criterion::Gini;
  if (s == "entropy" || s == "log_loss") return Criterion::Entropy;
  if (s == "squared_error") return Criterion::SquaredError;
  if (s == "poisson") return Criterion::Poisson;
  fail("DecisionTree", "criterion must be 'gini', 'entropy', 'log_loss', 'squared_error' or 'poisson', got '", s,
       "'");
}

void TreeParams::validate() const {
  constexpr std::string_view w = "DecisionTree";
  require(max_depth == -1 || max_depth >= 1, w, "max_depth must be >= 1 or None (got ", max_depth, ")");
  require(min_samples_split >= 2, w, "min_samples_split must be >= 2 (got ", min_samples_split, ")");
  require(min_samples_leaf >= 1, w, "min_samples_leaf must be >= 1 (got ", min_samples_leaf, ")");
  require(min_weight_fraction_leaf >= 0 && min_weight_fraction_leaf <= 0.5, w,
          "min_weight_fraction_leaf must be in [0, 0.5] (got ", min_weight_fraction_leaf, ")");
  require(std::isfinite(min_impurity_decrease) && min_impurity_decrease >= 0, w,
          "min_impurity_decrease must be a finite number >= 0 (got ", min_impurity_decrease, ")");
  require(max_leaf_nodes == -1 || max_leaf_nodes >= 2, w, "max_leaf_nodes must be >= 2 or None (got ",
          max_leaf_nodes, ")");
  require(std::isfinite(ccp_alpha) && ccp_alpha >= 0, w, "ccp_alpha must be a finite number >= 0 (got ", ccp_alpha,
          ")");
  require(max_features == -1 || max_features >= 1, w, "max_features must be >= 1 (got ", max_features, ")");
  require(max_bins == 0 || (max_bins >= 2 && max_bins <= 65535), w,
          "max_bins must be 0 (exact splits) or in [2, 65535] (got ", max_bins, ")");
}

json::object TreeParams::to_json() const {
  json::object o;
  o["criterion"] = criterion_name(criterion);
  o["max_depth"] = max_depth;
  o["min_samples_split"] = min_samples_split;
  o["min_samples_leaf"] = min_samples_leaf;
  o["min_weight_fraction_leaf"] = json_number(min_weight_fraction_leaf);
  o["min_impurity_decrease"] = json_number(min_impurity_decrease);
  o["max_leaf_nodes"] = max_leaf_nodes;
  o["ccp_alpha"] = json_number(ccp_alpha);
  o["max_features"] = max_features;
  o["random_state"] = random_state;
  o["max_bins"] = max_bins;
  return o;
}

TreeParams TreeParams::from_json(const json::object& o) {
  constexpr std::string_view w = "DecisionTree params";
  TreeParams p;
  try {
    p.criterion = parse_criterion(json_string(o, "criterion", w));
  } catch (const SerializationError&) {
    throw;
  } catch (const Error& e) {
    fail<SerializationError>(w, e.what());
  }
  p.max_depth = static_cast<int>(json_int(o, "max_depth", w));
  p.min_samples_split = json_int(o, "min_samples_split", w);
  p.min_samples_leaf = json_int(o, "min_samples_leaf", w);
  p.min_weight_fraction_leaf = json_double(o, "min_weight_fraction_leaf", w);
  p.min_impurity_decrease = json_double(o, "min_impurity_decrease", w);
  p.max_leaf_nodes = json_int(o, "max_leaf_nodes", w);
  p.ccp_alpha = json_double(o, "ccp_alpha", w);
  p.max_features = static_cast<int>(json_int(o, "max_features", w));
  const auto& rs = json_field(o, "random_state", w);
  if (rs.is_uint64()) p.random_state = rs.get_uint64();
  else if (rs.is_int64() && rs.get_int64() >= 0) p.random_state = static_cast<std::uint64_t>(rs.get_int64());
  else fail<SerializationError>(w, "field 'random_state' must be a non-negative integer");
  // absent in documents written before max_bins existed: those trees used exact splits
  if (o.contains("max_bins")) p.max_bins = static_cast<int>(json_int(o, "max_bins", w));
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>(w, e.what());
  }
  return p;
}

// ---------------------------------------------------------------------------------
// Growth

namespace {

/// Sufficient statistics of a set of rows: class totals, or weight and moments of y.
struct Stats {
  std::vector<double> c;  // classification: per-class weight
  double w = 0, s1 = 0, s2 = 0, ylogy = 0;
  Index n = 0;
  void reset(int K) {
    c.assign(static_cast<std::size_t>(K), 0.0);
    w = s1 = s2 = ylogy = 0;
    n = 0;
  }
};

double impurity_of(Criterion cr, const Stats& s) {
  if (s.w <= 0) return 0.0;
  switch (cr) {
    case Criterion::Gini: {
      double q = 0;
      for (double v : s.c) q += v * v;
      return 1.0 - q / (s.w * s.w);
    }
    case Criterion::Entropy: {
      double h = 0;
      for (double v : s.c)
        if (v > 0) {
          const double p = v / s.w;
          h -= p * std::log2(p);
        }
      return h;
    }
    case Criterion::SquaredError: {
      const double m = s.s1 / s.w;
      return std::max(0.0, s.s2 / s.w - m * m);
    }
    case Criterion::Poisson: {
      const double m = s.s1 / s.w;
      if (m <= 0) return 0.0;  // all-zero node: deviance 0
      return std::max(0.0, s.ylogy / s.w - m * std::log(m));
    }
  }
  return 0.0;
}

struct Split {
  std::int32_t feature = -1;
  double threshold = 0;
  double score = -std::numeric_limits<double>::infinity();  // -(W_L I_L + W_R I_R)
  double improvement = 0;                                   // weighted, for min_impurity_decrease
  double imp_left = 0, imp_right = 0;
  std::uint32_t code = 0;  // rows with a feature code <= this go left
};

/// Features known to be constant in a node (one bit each): constant in its children too,
/// so they are skipped without a pass over the rows (scikit-learn keeps the same record).
using FeatureMask = std::vector<std::uint64_t>;

struct Pending {
  std::int32_t node;
  Index begin, end;
  int depth;
  Split split;
  FeatureMask constant;
};

}  // namespace

/// Each feature as dense codes of its sorted distinct values (column-major), built once
/// per fit (once per forest) so nodes sort 32-bit codes or fill histograms instead of
/// gathering strided doubles. With max_bins > 0, a feature with more distinct values is cut
/// into at most max_bins groups of about equal row counts (never inside a run of equal
/// values); a group's code then stands for all its values, `values` holds each group's
/// largest value and `lows` its smallest, so a split between groups a < b still lies
/// between two observed values.
struct Binned {
  Index n = 0, F = 0;
  std::vector<std::uint32_t> codes;          // codes[f * n + r]; empty when codes8 holds them
  // With at most 256 codes per feature (always so with binning), one byte per code: a node's
  // rows stay in ascending order, so a feature's codes are read in a forward sweep that
  // four times as many rows share per cache line.
  std::vector<std::uint8_t> codes8;          // codes8[f * n + r]
  std::vector<std::vector<double>> values;   // per feature, ascending: the largest value of each code
  std::vector<std::vector<double>> lows;     // the smallest value of each code (empty: equal to values)
  Index max_distinct = 0;

  Binned(const MatrixView<double>& X, int n_threads, int max_bins = 0) : n(X.rows()), F(X.cols()) {
    codes.resize(static_cast<std::size_t>(n * F));
    values.resize(static_cast<std::size_t>(F));
    lows.resize(static_cast<std::size_t>(F));
    parallel_for(F, n_threads, [&](Index f, int) {
      if (few_values(X, f, max_bins)) return;
      std::vector<std::pair<double, std::uint32_t>> v(static_cast<std::size_t>(n));
      for (Index r = 0; r < n; ++r) v[r] = {X(r, f), static_cast<std::uint32_t>(r)};
      std::sort(v.begin(), v.end());
      Index D = 0;
      for (Index i = 0; i < n; ++i) D += (i == 0 || v[i].first != v[i - 1].first);
      auto& vals = values[f];
      std::uint32_t* c = codes.data() + f * n;
      if (max_bins == 0 || D <= max_bins) {
        vals.reserve(static_cast<std::size_t>(D));
        for (Index i = 0; i < n; ++i) {
          if (i == 0 || v[i].first != v[i - 1].first) vals.push_back(v[i].first);
          c[v[i].second] = static_cast<std::uint32_t>(vals.size() - 1);
        }
        return;
      }
      // Close group g at the first value change at or after row rank (g + 1) n / max_bins.
      auto& lo = lows[f];
      Index g = 0;
      lo.push_back(v[0].first);
      for (Index i = 0; i < n; ++i) {
        if (i > 0 && v[i].first != v[i - 1].first && i >= (g + 1) * n / max_bins) {
          vals.push_back(v[i - 1].first);
          lo.push_back(v[i].first);
          ++g;
        }
        c[v[i].second] = static_cast<std::uint32_t>(g);
      }
      vals.push_back(v[n - 1].first);
    });
    for (const auto& v : values) max_distinct = std::max<Index>(max_distinct, static_cast<Index>(v.size()));
    if (max_distinct <= 256) {
      codes8.resize(static_cast<std::size_t>(n * F));
      parallel_chunks(n * F, n_threads, [&](Index b, Index e, int) {
        for (Index i = b; i < e; ++i) codes8[i] = static_cast<std::uint8_t>(codes[i]);
      });
      std::vector<std::uint32_t>().swap(codes);
    }
  }
  /// Codes feature f without sorting its n rows when it has at most kFewValues distinct
  /// values (one-hot and other coded columns): each row's code by binary search among them.
  /// Same codes and values as the sort. False, with nothing written, for a feature with more
  /// distinct values (or more than max_bins).
  bool few_values(const MatrixView<double>& X, Index f, int max_bins) {
    const std::size_t limit =
        max_bins > 0 ? std::min<std::size_t>(kFewValues, static_cast<std::size_t>(max_bins)) : kFewValues;
    std::vector<double> uniq;
    if (!few_distinct_values(n, limit, [&](Index r) { return X(r, f); }, uniq)) return false;
    std::uint32_t* c = codes.data() + f * n;
    for (Index r = 0; r < n; ++r)
      c[r] = static_cast<std::uint32_t>(std::lower_bound(uniq.begin(), uniq.end(), X(r, f)) - uniq.begin());
    values[static_cast<std::size_t>(f)] = std::move(uniq);
    return true;
  }
  /// Calls fn(code) with code(r) giving feature f's code of row r, for either storage.
  template <class Fn>
  decltype(auto) with_codes(std::int32_t f, Fn&& fn) const {
    if (!codes8.empty()) {
      const std::uint8_t* c = codes8.data() + static_cast<Index>(f) * n;
      return fn([c](std::int32_t r) -> std::uint32_t { return c[r]; });
    }
    const std::uint32_t* c = codes.data() + static_cast<Index>(f) * n;
    return fn([c](std::int32_t r) -> std::uint32_t { return c[r]; });
  }
  /// Smallest value of code c of feature f.
  [[nodiscard]] double low(std::int32_t f, std::uint32_t c) const {
    const auto& lo = lows[static_cast<std::size_t>(f)];
    return lo.empty() ? values[static_cast<std::size_t>(f)][c] : lo[c];
  }
};

struct TreeBuilder {
  DecisionTree& t;
  const Binned& B;
  std::span<const double> y, w;
  std::vector<std::int32_t> rows;
  std::vector<std::int32_t> ycode;
  const TreeParams& p;
  int K;
  double W_root = 0;
  double min_weight_leaf = 0;
  Rng rng;
  std::vector<std::uint64_t> keys;
  std::vector<std::int32_t> feats;
  std::vector<std::int32_t> node_y, part_tmp;
  std::vector<double> node_w;
  Stats left, right, total;
  // histogram scratch: per distinct value, the sufficient statistics
  std::vector<double> hw, hs1, hs2, hyl, hc;
  std::vector<Index> hn;
  bool check_interrupt = true;
  bool poisson_ = false;  // y log y sums are needed by the Poisson criterion only

  TreeBuilder(DecisionTree& tree, const Binned& B_, std::span<const double> y_, std::span<const double> w_,
              std::vector<std::int32_t> rows_, int K_)
      : t(tree), B(B_), y(y_), w(w_), rows(std::move(rows_)), p(tree.params_), K(K_), rng(p.random_state),
        poisson_(p.criterion == Criterion::Poisson) {
    if (K > 0) {
      ycode.resize(y.size());
      for (std::size_t i = 0; i < y.size(); ++i) ycode[i] = static_cast<std::int32_t>(y[i]);
    }
    feats.resize(B.values.size());
    std::iota(feats.begin(), feats.end(), 0);
  }

  void add(Stats& s, std::int32_t r, double sign) const {
    const double wi = w[r];
    s.w += sign * wi;
    s.n += sign > 0 ? 1 : -1;
    if (K > 0) {
      s.c[ycode[r]] += sign * wi;
    } else {
      const double yi = y[r];
      s.s1 += sign * wi * yi;
      s.s2 += sign * wi * yi * yi;
      if (poisson_ && yi > 0) s.ylogy += sign * wi * yi * std::log(yi);
    }
  }

  void stats_of(Index b, Index e, Stats& s) const {
    s.reset(K);
    if (K == 2) {
      // Two classes: the sums in registers, chosen by multiplying with the 0/1 class (adding
      // 0.0 to the other class keeps each sum exactly what adding into memory row by row
      // gave, without waiting on the store).
      double sw = 0, c0 = 0, c1 = 0;
      for (Index i = b; i < e; ++i) {
        const auto r = rows[i];
        const double wi = w[r], w1 = wi * static_cast<double>(ycode[r]);  // wi or 0, exactly
        sw += wi;
        c0 += wi - w1;
        c1 += w1;
      }
      s.w = sw, s.c[0] = c0, s.c[1] = c1;
      s.n = e - b;
      return;
    }
    for (Index i = b; i < e; ++i) add(s, rows[i], 1.0);
  }

  std::int32_t new_node(const Stats& s, double imp) {
    const auto id = static_cast<std::int32_t>(t.feature_.size());
    t.feature_.push_back(-1);
    t.threshold_.push_back(0.0);
    t.left_.push_back(-1);
    t.right_.push_back(-1);
    t.impurity_.push_back(imp);
    t.weight_.push_back(s.w);
    t.n_samples_.push_back(s.n);
    if (K > 0) t.value_.insert(t.value_.end(), s.c.begin(), s.c.end());
    else t.value_.push_back(s.w > 0 ? s.s1 / s.w : 0.0);
    return id;
  }

  /// Evaluates the boundary between distinct values a < b with `left` holding rows <= a.
  void consider(Split& best, std::int32_t f, const std::vector<double>& vals, std::uint32_t ca, std::uint32_t cb,
                bool poisson) {
    if (left.w <= 0 || right.w <= 0 || left.w < min_weight_leaf || right.w < min_weight_leaf) return;
    if (poisson && (left.s1 <= kEps || right.s1 <= kEps)) return;
    const double il = impurity_of(p.criterion, left), ir = impurity_of(p.criterion, right);
    const double score = -(left.w * il + right.w * ir);
    if (score > best.score) {
      best.score = score;
      best.feature = f;
      const double vb = B.low(f, cb);
      double thr = 0.5 * (vals[ca] + vb);
      if (thr == vb || !std::isfinite(thr)) thr = vals[ca];
      best.threshold = thr;
      best.code = ca;
      best.imp_left = il;
      best.imp_right = ir;
    }
  }

  /// Best split of rows[b, e), or feature -1 when none is allowed.
  /// `constant` holds the features known to be constant here and receives those found so.
  Split find_split(Index b, Index e, int depth, const Stats& node, double node_imp, FeatureMask& constant) {
    Split best;
    const Index n = e - b;
    if ((p.max_depth >= 0 && depth >= p.max_depth) || n < p.min_samples_split || n < 2 * p.min_samples_leaf ||
        node_imp <= kEps || node.w < 2 * min_weight_leaf)
      return best;
    // Fisher-Yates: visit features in a random order; ties keep the first visited.
    const auto F = static_cast<std::int32_t>(feats.size());
    for (std::int32_t i = F - 1; i > 0; --i) std::swap(feats[i], feats[rng.below(static_cast<std::uint64_t>(i) + 1)]);
    const int want = p.max_features < 0 ? F : std::min<int>(p.max_features, F);
    int visited = 0;
    const bool poisson = p.criterion == Criterion::Poisson;
    // The node's class codes and weights in row order, gathered once for all its features.
    if (K > 0) {
      node_y.resize(static_cast<std::size_t>(n));
      node_w.resize(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) {
        const auto r = rows[b + i];
        node_y[i] = ycode[r];
        node_w[i] = w[r];
      }
    }
    for (std::int32_t fi = 0; fi < F && visited < want; ++fi) {
      const std::int32_t f = feats[fi];
      const auto& vals = B.values[f];
      const auto D = static_cast<Index>(vals.size());
      if (D < 2 || ((constant[f >> 6] >> (f & 63)) & 1)) continue;
      if (D <= 4 * n) {
        // Histogram over the distinct values: O(n + D K), same boundaries as sorting.
        hw.assign(D, 0.0);
        if (K == 2 && D == 2) {
          // A binary feature and two classes (most one-hot columns): the sums stay in
          // registers, chosen by multiplying with the 0/1 code and class (exact) instead of
          // branching on them, in two interleaved sets (no row waits for the previous add).
          hn.assign(2, 0);
          hc.assign(4, 0.0);
          B.with_codes(f, [&](auto code) {
            const std::int32_t* rr = rows.data() + b;
            double s[2][4] = {};  // per set: cell 1 class 1, cell 1 all, cell 0 class 1, cell 0 all
            Index ones = 0;
            auto take = [&](double* a, Index i) {
              const std::uint32_t c = code(rr[i]);
              const double wv = node_w[i], yv = static_cast<double>(node_y[i]);
              const double t1 = wv * static_cast<double>(c), t0 = wv - t1;
              a[0] += t1 * yv, a[1] += t1, a[2] += t0 * yv, a[3] += t0;
              ones += c;
            };
            Index i = 0;
            for (; i + 2 <= n; i += 2) take(s[0], i), take(s[1], i + 1);
            if (i < n) take(s[0], i);
            const double p1 = s[0][0] + s[1][0], a1 = s[0][1] + s[1][1], p0 = s[0][2] + s[1][2], a0 = s[0][3] + s[1][3];
            hn[0] = n - ones, hn[1] = ones;
            hc[0] = a0 - p0, hc[1] = p0, hc[2] = a1 - p1, hc[3] = p1;
          });
          hw[0] = hc[0] + hc[1];
          hw[1] = hc[2] + hc[3];
        } else if (K > 0) {
          // With few codes, consecutive rows keep adding into the same cells and each add
          // waits for the previous one; R interleaved copies break that chain (merged below).
          const Index R = D <= 64 ? 4 : 1;
          hn.assign(R * D, 0);
          hc.assign(static_cast<std::size_t>(R * D * K), 0.0);
          B.with_codes(f, [&](auto code) {
            const std::int32_t* rr = rows.data() + b;
            for (Index i = 0; i < n; ++i) {
              const Index cell = (i & (R - 1)) * D + code(rr[i]);
              hc[cell * K + node_y[i]] += node_w[i];
              ++hn[cell];
            }
          });
          for (Index j = 1; j < R; ++j)
            for (Index c = 0; c < D; ++c) {
              hn[c] += hn[j * D + c];
              for (int k = 0; k < K; ++k) hc[c * K + k] += hc[(j * D + c) * K + k];
            }
          for (Index c = 0; c < D; ++c)
            for (int k = 0; k < K; ++k) hw[c] += hc[c * K + k];
        } else {
          hn.assign(D, 0);
          hs1.assign(D, 0.0);
          hs2.assign(D, 0.0);
          if (poisson) hyl.assign(D, 0.0);
          B.with_codes(f, [&](auto code) {
            for (Index i = b; i < e; ++i) {
              const auto r = rows[i];
              const auto c = code(r);
              const double yi = y[r], wi = w[r];
              hw[c] += wi;
              ++hn[c];
              hs1[c] += wi * yi;
              hs2[c] += wi * yi * yi;
              if (poisson && yi > 0) hyl[c] += wi * yi * std::log(yi);
            }
          });
        }
        // the codes present: the first and last non-empty cells
        std::uint32_t lo = 0, hi = static_cast<std::uint32_t>(D - 1);
        while (hn[lo] == 0) ++lo;
        while (hn[hi] == 0) --hi;
        if (vals[hi] <= B.low(f, lo) + kFeatureThreshold) {  // constant here: not counted
          constant[f >> 6] |= std::uint64_t{1} << (f & 63);
          continue;
        }
        ++visited;
        left.reset(K);
        right = node;
        std::uint32_t prev = lo;
        for (std::uint32_t c = lo; c <= hi; ++c) {
          if (hn[c] == 0) continue;
          if (c != lo && B.low(f, c) > vals[prev] + kFeatureThreshold && left.n >= p.min_samples_leaf) {
            if (right.n < p.min_samples_leaf) break;
            consider(best, f, vals, prev, c, poisson);
          }
          left.w += hw[c];
          right.w -= hw[c];
          left.n += hn[c];
          right.n -= hn[c];
          if (K > 0) {
            for (int k = 0; k < K; ++k) {
              left.c[k] += hc[static_cast<Index>(c) * K + k];
              right.c[k] -= hc[static_cast<Index>(c) * K + k];
            }
          } else {
            left.s1 += hs1[c];
            right.s1 -= hs1[c];
            left.s2 += hs2[c];
            right.s2 -= hs2[c];
            if (poisson) {
              left.ylogy += hyl[c];
              right.ylogy -= hyl[c];
            }
          }
          prev = c;
        }
      } else {
        keys.resize(static_cast<std::size_t>(n));
        B.with_codes(f, [&](auto code) {
          for (Index i = 0; i < n; ++i)
            keys[i] = (static_cast<std::uint64_t>(code(rows[b + i])) << 32) | static_cast<std::uint32_t>(rows[b + i]);
        });
        std::sort(keys.begin(), keys.end());
        auto code = [&](Index i) { return static_cast<std::uint32_t>(keys[i] >> 32); };
        if (vals[code(n - 1)] <= B.low(f, code(0)) + kFeatureThreshold) {
          constant[f >> 6] |= std::uint64_t{1} << (f & 63);
          continue;
        }
        ++visited;
        left.reset(K);
        right = node;
        for (Index i = 0; i + 1 < n; ++i) {
          const auto r = static_cast<std::int32_t>(keys[i] & 0xffffffffu);
          add(left, r, 1.0);
          add(right, r, -1.0);
          const auto ca = code(i), cb = code(i + 1);
          if (B.low(f, cb) <= vals[ca] + kFeatureThreshold) continue;
          if (left.n < p.min_samples_leaf) continue;
          if (right.n < p.min_samples_leaf) break;
          consider(best, f, vals, ca, cb, poisson);
        }
      }
    }
    if (best.feature < 0) return best;
    best.improvement = (node.w / W_root) * (node_imp + best.score / node.w);
    if (best.improvement + kEps < p.min_impurity_decrease) best.feature = -1;
    return best;
  }

  /// Grows `tree` (its params already set) on pre-binned data.
  static void fit(DecisionTree& tree, const Binned& B, std::span<const double> y, std::span<const double> w,
                  int n_classes, bool check_interrupt) {
    // Rows of zero weight take no part: they would move thresholds and count towards
    // min_samples_* without carrying any weight (so bootstrap trees skip out-of-bag rows).
    std::vector<std::int32_t> rows;
    rows.reserve(static_cast<std::size_t>(B.n));
    for (Index r = 0; r < B.n; ++r)
      if (w[r] > 0) rows.push_back(static_cast<std::int32_t>(r));
    tree = DecisionTree(tree.params_);
    tree.n_features_ = static_cast<Index>(B.values.size());
    tree.n_classes_ = n_classes;
    TreeBuilder b(tree, B, y, w, std::move(rows), n_classes);
    b.check_interrupt = check_interrupt;
    b.grow();
    if (tree.params_.ccp_alpha > 0) tree.prune(tree.params_.ccp_alpha);
    tree.pack();
  }

  void grow() {
    Stats s;
    stats_of(0, static_cast<Index>(rows.size()), s);
    W_root = s.w;
    min_weight_leaf = p.min_weight_fraction_leaf * W_root;
    require(W_root > 0, "DecisionTree.fit", "the sample weights sum to zero");
    const double imp = impurity_of(p.criterion, s);
    std::vector<Pending> open;
    auto push = [&](Index b, Index e, int depth, FeatureMask constant) {
      Stats st;
      stats_of(b, e, st);
      const double im = impurity_of(p.criterion, st);
      const std::int32_t id = new_node(st, im);
      Split sp = find_split(b, e, depth, st, im, constant);
      if (sp.feature >= 0) open.push_back({id, b, e, depth, sp, std::move(constant)});
    };
    push(0, static_cast<Index>(rows.size()), 0, FeatureMask((B.values.size() + 63) / 64, 0));
    const bool best_first = p.max_leaf_nodes > 0;
    Index leaves = 1;
    std::size_t steps = 0;
    while (!open.empty()) {
      // The check takes the GIL from Python; keep it rare.
      if (check_interrupt && (++steps & 1023) == 0) Interrupt::check("DecisionTree.fit");
      std::size_t pick = open.size() - 1;  // depth-first: the most recent node
      if (best_first) {
        if (leaves >= p.max_leaf_nodes) break;
        for (std::size_t i = 0; i < open.size(); ++i)
          if (open[i].split.improvement > open[pick].split.improvement ||
              (open[i].split.improvement == open[pick].split.improvement && open[i].node < open[pick].node))
            pick = i;
      }
      Pending cur = std::move(open[pick]);
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
      const auto f = cur.split.feature;
      const double thr = cur.split.threshold;
      const std::uint32_t cut = cur.split.code;
      // Stable partition: left rows compacted in place, right rows through a kept buffer
      // (std::stable_partition allocated one per node).
      const Index m = B.with_codes(f, [&](auto code) {
        Index l = cur.begin, nr = 0;
        part_tmp.resize(static_cast<std::size_t>(cur.end - cur.begin));
        for (Index i = cur.begin; i < cur.end; ++i) {
          const auto r = rows[i];
          if (code(r) <= cut) rows[l++] = r;
          else part_tmp[nr++] = r;
        }
        std::copy(part_tmp.begin(), part_tmp.begin() + nr, rows.begin() + l);
        return l;
      });
      t.feature_[cur.node] = f;
      t.threshold_[cur.node] = thr;
      ++leaves;
      // Right first so that depth-first growth pops (and numbers) the left child first.
      const auto before = static_cast<std::int32_t>(t.feature_.size());
      t.left_[cur.node] = before;
      push(cur.begin, m, cur.depth + 1, cur.constant);
      t.right_[cur.node] = static_cast<std::int32_t>(t.feature_.size());
      const std::size_t after_left = open.size();
      push(m, cur.end, cur.depth + 1, std::move(cur.constant));
      // keep the left child on top of the stack for preorder numbering of later nodes
      if (!best_first && open.size() == after_left + 1 && after_left > 0 &&
          open[after_left - 1].node == before)
        std::swap(open[after_left - 1], open[after_left]);
    }
    (void)imp;
  }
};

void DecisionTree::check_X(const MatrixView<double>& X, std::string_view where) const {
  require<NotFittedError>(fitted(), where, "the model is not fitted");
  require<ShapeError>(X.cols() == n_features_, where, "X has ", X.cols(), " features but the model was fitted with ",
                      n_features_);
}

namespace {
/// Checks shared by trees and forests; returns the weights to use (ones when none given).
std::vector<double> checked_inputs(std::string_view where, const TreeParams& p, const MatrixView<double>& X,
                                   std::span<const double> y, std::span<const double> sw, int n_classes) {
  const Index n = X.rows();
  check_nonempty(where, "X", n);
  require<ShapeError>(n < (Index{1} << 31), where, "X has too many rows (", n, ")");
  check_same_length(where, "X", n, "y", static_cast<Index>(y.size()));
  check_finite(where, "X", X);
  check_finite(where, "y", y);
  std::vector<double> w;
  if (sw.empty()) {
    w.assign(static_cast<std::size_t>(n), 1.0);
  } else {
    check_same_length(where, "X", n, "sample_weight", static_cast<Index>(sw.size()));
    check_finite(where, "sample_weight", sw);
    for (double v : sw) require(v >= 0, where, "sample_weight must be non-negative");
    w.assign(sw.begin(), sw.end());
  }
  const bool clf = is_classification(p.criterion);
  require(clf == (n_classes > 0), where,
          clf ? "a classification criterion needs n_classes >= 1" : "a regression criterion needs n_classes = 0");
  if (clf) {
    for (double v : y)
      require(v >= 0 && v < n_classes && v == std::floor(v), where, "y must hold class codes 0..", n_classes - 1,
              " (got ", v, ")");
  } else if (p.criterion == Criterion::Poisson) {
    double s = 0;
    for (double v : y) {
      require(v >= 0, where, "criterion='poisson' needs y >= 0 (got ", v, ")");
      s += v;
    }
    require(s > 0, where, "criterion='poisson' needs sum(y) > 0");
  }
  return w;
}
}  // namespace

void DecisionTree::fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sw,
                       int n_classes) {
  params_.validate();
  auto w = checked_inputs("DecisionTree.fit", params_, X, y, sw, n_classes);
  Binned binned(X, 1, params_.max_bins);
  TreeBuilder::fit(*this, binned, y, w, n_classes, true);
}

Index DecisionTree::n_leaves() const {
  return std::count(left_.begin(), left_.end(), -1);
}

int DecisionTree::depth() const {
  if (!fitted()) return 0;
  std::vector<int> d(feature_.size(), 0);
  int best = 0;
  for (std::size_t i = 0; i < feature_.size(); ++i) {  // children have larger ids than parents
    if (left_[i] >= 0) {
      d[left_[i]] = d[right_[i]] = d[i] + 1;
      best = std::max(best, d[i] + 1);
    }
  }
  return best;
}

void DecisionTree::pack() {
  const std::size_t N = feature_.size();
  nodes_.resize(N);
  for (std::size_t i = 0; i < N; ++i) {
    nodes_[i] = {threshold_[i], feature_[i], left_[i], right_[i], 0};
  }
  const int K = n_outputs();
  out_.assign(N * static_cast<std::size_t>(K), 0.0);
  for (std::size_t i = 0; i < N; ++i) {
    const double* v = value_.data() + i * K;
    double* o = out_.data() + i * K;
    if (n_classes_ == 0) {
      o[0] = v[0];
      continue;
    }
    double s = 0;
    for (int k = 0; k < K; ++k) s += v[k];
    for (int k = 0; k < K; ++k) o[k] = s > 0 ? v[k] / s : 1.0 / K;
  }
}

std::int32_t DecisionTree::leaf_of(const double* row) const {
  const Packed* n = nodes_.data();
  std::int32_t i = 0;
  while (n[i].left >= 0) i = row[n[i].feature] <= n[i].threshold ? n[i].left : n[i].right;
  return i;
}

void DecisionTree::node_output(std::int32_t node, double* out) const {
  const int K = n_outputs();
  const double* o = out_.data() + static_cast<std::size_t>(node) * K;
  for (int k = 0; k < K; ++k) out[k] = o[k];
}

void DecisionTree::add_outputs(const MatrixView<double>& X, Index b, Index e, double* out) const {
  const int K = n_outputs();
  for (Index i = b; i < e; ++i) {
    const double* o = out_.data() + static_cast<std::size_t>(leaf_of(X.row(i).data())) * K;
    double* dst = out + (i - b) * K;
    for (int k = 0; k < K; ++k) dst[k] += o[k];
  }
}

std::vector<std::int32_t> DecisionTree::apply(const MatrixView<double>& X, int n_threads) const {
  check_X(X, "DecisionTree.apply");
  std::vector<std::int32_t> out(static_cast<std::size_t>(X.rows()));
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) out[i] = leaf_of(X.row(i).data());
  });
  return out;
}

RowMatrix<double> DecisionTree::predict_values(const MatrixView<double>& X, int n_threads) const {
  check_X(X, "DecisionTree.predict");
  RowMatrix<double> out = RowMatrix<double>::Zero(X.rows(), n_outputs());
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    if (b < e) add_outputs(X, b, e, out.row(b).data());
  });
  return out;
}

std::vector<double> DecisionTree::raw_importances() const {
  std::vector<double> imp(static_cast<std::size_t>(n_features_), 0.0);
  for (std::size_t i = 0; i < feature_.size(); ++i) {
    if (left_[i] < 0) continue;
    const auto l = left_[i], r = right_[i];
    imp[feature_[i]] += weight_[i] * impurity_[i] - weight_[l] * impurity_[l] - weight_[r] * impurity_[r];
  }
  return imp;
}

namespace {
/// Weakest-link search on a tree whose leaves are marked by left == -1.
struct Pruner {
  const std::vector<std::int32_t>& right;
  std::vector<std::int32_t> left;
  std::vector<double> risk;  // R(t) = W_t / W_root * I_t
  std::vector<double> sub_risk;
  std::vector<Index> sub_leaves;

  /// Returns the internal node with the smallest effective alpha (or -1) and that alpha.
  std::pair<std::int32_t, double> weakest() {
    const std::size_t N = left.size();
    sub_risk.assign(N, 0.0);
    sub_leaves.assign(N, 0);
    // children have larger ids: a reverse sweep is a post-order
    for (std::size_t k = N; k-- > 0;) {
      if (left[k] < 0) {
        sub_risk[k] = risk[k];
        sub_leaves[k] = 1;
      } else {
        sub_risk[k] = sub_risk[left[k]] + sub_risk[right[k]];
        sub_leaves[k] = sub_leaves[left[k]] + sub_leaves[right[k]];
      }
    }
    std::int32_t best = -1;
    double alpha = std::numeric_limits<double>::infinity();
    std::vector<char> reach(N, 0);
    reach[0] = 1;
    for (std::size_t k = 0; k < N; ++k) {
      if (!reach[k] || left[k] < 0) continue;
      reach[left[k]] = reach[right[k]] = 1;
      const double g = (risk[k] - sub_risk[k]) / static_cast<double>(sub_leaves[k] - 1);
      if (g < alpha) {
        alpha = g;
        best = static_cast<std::int32_t>(k);
      }
    }
    return {best, alpha};
  }
};
}  // namespace

void DecisionTree::pruning_path(std::vector<double>& alphas, std::vector<double>& impurities) const {
  require<NotFittedError>(fitted(), "DecisionTree.cost_complexity_pruning_path", "the model is not fitted");
  Pruner pr{right_, left_, {}, {}, {}};
  pr.risk.resize(left_.size());
  for (std::size_t i = 0; i < left_.size(); ++i) pr.risk[i] = weight_[i] / weight_[0] * impurity_[i];
  alphas.assign(1, 0.0);
  pr.weakest();
  impurities.assign(1, pr.sub_risk[0]);
  while (pr.left[0] >= 0) {
    auto [k, g] = pr.weakest();
    pr.left[k] = -1;
    pr.weakest();
    alphas.push_back(std::max(0.0, g));
    impurities.push_back(pr.sub_risk[0]);
  }
}

void DecisionTree::prune(double alpha) {
  Pruner pr{right_, left_, {}, {}, {}};
  pr.risk.resize(left_.size());
  for (std::size_t i = 0; i < left_.size(); ++i) pr.risk[i] = weight_[i] / weight_[0] * impurity_[i];
  while (pr.left[0] >= 0) {
    auto [k, g] = pr.weakest();
    if (g > alpha) break;
    pr.left[k] = -1;
  }
  // Compact: keep reachable nodes in preorder so children keep larger ids than parents.
  const int K = n_outputs();
  std::vector<std::int32_t> order, stack{0};
  while (!stack.empty()) {
    const auto k = stack.back();
    stack.pop_back();
    order.push_back(k);
    if (pr.left[k] >= 0) {
      stack.push_back(right_[k]);
      stack.push_back(pr.left[k]);
    }
  }
  std::vector<std::int32_t> map(left_.size(), -1);
  for (std::size_t i = 0; i < order.size(); ++i) map[order[i]] = static_cast<std::int32_t>(i);
  DecisionTree out(params_);
  out.n_features_ = n_features_;
  out.n_classes_ = n_classes_;
  for (auto k : order) {
    const bool leaf = pr.left[k] < 0;
    out.feature_.push_back(leaf ? -1 : feature_[k]);
    out.threshold_.push_back(leaf ? 0.0 : threshold_[k]);
    out.left_.push_back(leaf ? -1 : map[left_[k]]);
    out.right_.push_back(leaf ? -1 : map[right_[k]]);
    out.impurity_.push_back(impurity_[k]);
    out.weight_.push_back(weight_[k]);
    out.n_samples_.push_back(n_samples_[k]);
    out.value_.insert(out.value_.end(), value_.begin() + static_cast<std::ptrdiff_t>(k) * K,
                      value_.begin() + static_cast<std::ptrdiff_t>(k + 1) * K);
  }
  *this = std::move(out);
}

// ---------------------------------------------------------------------------------
// TreeSHAP

using shap::extend;
using shap::Path;
using shap::unwind;

void DecisionTree::add_contributions(const double* x, double scale, double* out) const {
  const int K = n_outputs();
  const auto F = n_features_;
  std::vector<double> leaf(static_cast<std::size_t>(K));
  // expected value: cover-weighted mean of the leaves
  for (std::int32_t j = 0; j < static_cast<std::int32_t>(n_nodes()); ++j) {
    if (left_[j] >= 0) continue;
    node_output(j, leaf.data());
    const double share = weight_[j] / weight_[0];
    for (int k = 0; k < K; ++k) out[F * K + k] += scale * share * leaf[k];
  }
  auto recurse = [&](auto&& self, std::int32_t j, Path m, double pz, double po, std::int32_t pi) -> void {
    extend(m, pz, po, pi);
    if (left_[j] < 0) {
      node_output(j, leaf.data());
      for (std::size_t i = 1; i < m.size(); ++i) {
        const Path u = unwind(m, i);
        double w = 0;
        for (const auto& e : u) w += e.w;
        const double c = scale * w * (m[i].o - m[i].z);
        for (int k = 0; k < K; ++k) out[static_cast<Index>(m[i].d) * K + k] += c * leaf[k];
      }
      return;
    }
    const auto d = feature_[j];
    const bool go_left = x[d] <= threshold_[j];
    const auto hot = go_left ? left_[j] : right_[j], cold = go_left ? right_[j] : left_[j];
    double iz = 1, io = 1;
    for (std::size_t k = 1; k < m.size(); ++k) {
      if (m[k].d == d) {  // feature seen higher up: undo its earlier split
        iz = m[k].z;
        io = m[k].o;
        m = unwind(m, k);
        break;
      }
    }
    self(self, hot, m, iz * weight_[hot] / weight_[j], io, d);
    self(self, cold, m, iz * weight_[cold] / weight_[j], 0.0, d);
  };
  recurse(recurse, 0, Path{}, 1.0, 1.0, -1);
}

RowMatrix<double> DecisionTree::contributions(const MatrixView<double>& X, int n_threads) const {
  check_X(X, "DecisionTree.predict_contributions");
  RowMatrix<double> out = RowMatrix<double>::Zero(X.rows(), (n_features_ + 1) * n_outputs());
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i) add_contributions(X.row(i).data(), 1.0, out.row(i).data());
  });
  return out;
}

RowMatrix<double> RandomForest::contributions(const MatrixView<double>& X, int n_threads) const {
  constexpr std::string_view where = "RandomForest.predict_contributions";
  require<NotFittedError>(fitted(), where, "the model is not fitted");
  require<ShapeError>(X.cols() == n_features_, where, "X has ", X.cols(), " features but the model was fitted with ",
                      n_features_);
  const int K = trees_[0].n_outputs();
  RowMatrix<double> out = RowMatrix<double>::Zero(X.rows(), (n_features_ + 1) * K);
  const double s = 1.0 / static_cast<double>(trees_.size());
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    for (Index i = b; i < e; ++i)
      for (const auto& t : trees_) t.add_contributions(X.row(i).data(), s, out.row(i).data());
  });
  return out;
}

// ---------------------------------------------------------------------------------
// JSON

json::object DecisionTree::state_json() const {
  json::object s;
  s["n_features"] = n_features_;
  s["n_classes"] = n_classes_;
  s["feature"] = json_array(feature_);
  s["left"] = json_array(left_);
  s["right"] = json_array(right_);
  json::array thr, imp, wt, val;
  for (double v : threshold_) thr.push_back(json_number(v));
  for (double v : impurity_) imp.push_back(json_number(v));
  for (double v : weight_) wt.push_back(json_number(v));
  for (double v : value_) val.push_back(json_number(v));
  s["threshold"] = std::move(thr);
  s["impurity"] = std::move(imp);
  s["weighted_n_node_samples"] = std::move(wt);
  s["value"] = std::move(val);
  s["n_node_samples"] = json_array(n_samples_);
  return s;
}

DecisionTree DecisionTree::from_state_json(const TreeParams& p, const json::object& s, std::string_view where) {
  DecisionTree t(p);
  t.n_features_ = json_int(s, "n_features", where);
  const auto nc = json_int(s, "n_classes", where);
  require<SerializationError>(t.n_features_ >= 1 && t.n_features_ < (Index{1} << 31), where,
                              "field 'n_features' out of range");
  require<SerializationError>(nc >= 0 && nc < (1 << 24), where, "field 'n_classes' out of range");
  require<SerializationError>((nc > 0) == is_classification(p.criterion), where,
                              "field 'n_classes' does not match the criterion");
  t.n_classes_ = static_cast<int>(nc);
  auto ints = [&](const char* k) {
    auto v = json_ints(s, k, where);
    return std::vector<std::int32_t>(v.begin(), v.end());
  };
  auto feat = json_ints(s, "feature", where), l = json_ints(s, "left", where), r = json_ints(s, "right", where);
  t.threshold_ = json_doubles(s, "threshold", where);
  t.impurity_ = json_doubles(s, "impurity", where);
  t.weight_ = json_doubles(s, "weighted_n_node_samples", where);
  t.value_ = json_doubles(s, "value", where);
  auto ns = json_ints(s, "n_node_samples", where);
  (void)ints;
  const std::size_t N = feat.size();
  require<SerializationError>(N >= 1 && l.size() == N && r.size() == N && t.threshold_.size() == N &&
                                  t.impurity_.size() == N && t.weight_.size() == N && ns.size() == N &&
                                  t.value_.size() == N * static_cast<std::size_t>(t.n_outputs()),
                              where, "node arrays have inconsistent lengths");
  std::vector<char> has_parent(N, 0);
  for (std::size_t i = 0; i < N; ++i) {
    const bool leaf = l[i] < 0;
    if (leaf) {
      require<SerializationError>(l[i] == -1 && r[i] == -1 && feat[i] == -1, where, "node ", i,
                                  " is a malformed leaf");
    } else {
      require<SerializationError>(l[i] > static_cast<std::int64_t>(i) && r[i] > static_cast<std::int64_t>(i) &&
                                      l[i] < static_cast<std::int64_t>(N) && r[i] < static_cast<std::int64_t>(N) &&
                                      l[i] != r[i],
                                  where, "node ", i, " has invalid children");
      require<SerializationError>(!has_parent[l[i]] && !has_parent[r[i]], where, "node ", i,
                                  " shares a child with another node");
      has_parent[l[i]] = has_parent[r[i]] = 1;
      require<SerializationError>(feat[i] >= 0 && feat[i] < t.n_features_, where, "node ", i,
                                  " has an invalid feature");
      require<SerializationError>(!std::isnan(t.threshold_[i]), where, "node ", i, " has a NaN threshold");
    }
  }
  t.feature_.assign(feat.begin(), feat.end());
  t.left_.assign(l.begin(), l.end());
  t.right_.assign(r.begin(), r.end());
  t.n_samples_.assign(ns.begin(), ns.end());
  t.pack();
  return t;
}

ModelDocument DecisionTree::to_document() const {
  require<NotFittedError>(fitted(), "DecisionTree.to_json", "the model is not fitted");
  ModelDocument d;
  d.estimator = "DecisionTree";
  d.params = params_.to_json();
  d.state = state_json();
  return d;
}

DecisionTree DecisionTree::from_document(const ModelDocument& doc) {
  return from_state_json(TreeParams::from_json(doc.params), doc.state, "DecisionTree state");
}

// ---------------------------------------------------------------------------------
// Forest

void ForestParams::validate() const {
  constexpr std::string_view w = "RandomForest";
  tree.validate();
  require(n_estimators >= 1, w, "n_estimators must be >= 1 (got ", n_estimators, ")");
  require(max_samples == -1 || max_samples >= 1, w, "max_samples must be >= 1 (got ", max_samples, ")");
  require(!oob_score || bootstrap, w, "oob_score needs bootstrap=True");
  require(!(max_samples != -1 && !bootstrap), w, "max_samples needs bootstrap=True");
}

void RandomForest::fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sw,
                       int n_classes) {
  constexpr std::string_view where = "RandomForest.fit";
  params_.validate();
  const Index n = X.rows();
  const auto base_w = checked_inputs(where, params_.tree, X, y, sw, n_classes);
  const Binned binned(X, params_.n_threads, params_.tree.max_bins);
  const Index draws = params_.max_samples < 0 ? n : params_.max_samples;
  require(draws <= n || !params_.bootstrap, where, "max_samples (", draws, ") exceeds the number of rows (", n, ")");
  const int T = params_.n_estimators;
  std::vector<DecisionTree> trees(static_cast<std::size_t>(T));
  std::vector<std::vector<double>> inbag(params_.oob_score ? T : 0);
  parallel_for(T, params_.n_threads, [&](Index t, int) {
    Interrupt::check(where);
    Rng rng = Rng::stream(params_.tree.random_state, static_cast<std::uint64_t>(t));
    TreeParams tp = params_.tree;
    tp.random_state = rng();
    std::vector<double> w = base_w;
    if (params_.bootstrap) {
      std::vector<double> cnt(static_cast<std::size_t>(n), 0.0);
      for (Index d = 0; d < draws; ++d) cnt[rng.below(static_cast<std::uint64_t>(n))] += 1.0;
      for (Index i = 0; i < n; ++i) w[i] *= cnt[i];
      if (params_.oob_score) inbag[t] = std::move(cnt);
    }
    DecisionTree tree(tp);
    TreeBuilder::fit(tree, binned, y, w, n_classes, false);
    trees[t] = std::move(tree);
  });
  trees_ = std::move(trees);
  n_features_ = X.cols();
  n_classes_ = n_classes;
  oob_.resize(0, 0);
  if (params_.oob_score) {
    const int K = trees_[0].n_outputs();
    oob_.setZero(n, K);
    std::vector<double> tmp(static_cast<std::size_t>(K));
    parallel_chunks(n, params_.n_threads, [&](Index b, Index e, int) {
      std::vector<double> out(static_cast<std::size_t>(K));
      for (Index i = b; i < e; ++i) {
        int m = 0;
        for (int t = 0; t < T; ++t) {
          if (inbag[t][i] > 0) continue;
          trees_[t].node_output(trees_[t].leaf_of(X.row(i).data()), out.data());
          for (int k = 0; k < K; ++k) oob_(i, k) += out[k];
          ++m;
        }
        for (int k = 0; k < K; ++k) oob_(i, k) = m > 0 ? oob_(i, k) / m : std::numeric_limits<double>::quiet_NaN();
      }
    });
  }
}

RowMatrix<double> RandomForest::predict_values(const MatrixView<double>& X, int n_threads) const {
  constexpr std::string_view where = "RandomForest.predict";
  require<NotFittedError>(fitted(), where, "the model is not fitted");
  require<ShapeError>(X.cols() == n_features_, where, "X has ", X.cols(), " features but the model was fitted with ",
                      n_features_);
  const int K = trees_[0].n_outputs();
  RowMatrix<double> out = RowMatrix<double>::Zero(X.rows(), K);
  parallel_chunks(X.rows(), n_threads, [&](Index b, Index e, int) {
    // Blocks of rows, trees outer: a tree's nodes stay in cache for the whole block. Each
    // row still sums its trees in order 0..T-1, so results do not depend on the blocking.
    // Fully grown trees hold ~10k nodes (a quarter MB): a block must be long enough to pay for
    // bringing one back (256 rows: 7.8 s for 200k rows x 100 trees; 4096: 2.8 s).
    constexpr Index kBlock = 4096;
    for (Index b0 = b; b0 < e; b0 += kBlock) {
      const Index e0 = std::min(e, b0 + kBlock);
      for (const auto& t : trees_) t.add_outputs(X, b0, e0, out.row(b0).data());
      for (Index i = b0; i < e0; ++i) out.row(i) /= static_cast<double>(trees_.size());
    }
  });
  return out;
}

std::vector<double> RandomForest::feature_importances() const {
  std::vector<double> acc(static_cast<std::size_t>(n_features_), 0.0);
  int used = 0;
  for (const auto& t : trees_) {
    auto imp = t.raw_importances();
    double s = std::accumulate(imp.begin(), imp.end(), 0.0);
    if (s <= 0) continue;  // a single-leaf tree carries no importance
    for (std::size_t j = 0; j < imp.size(); ++j) acc[j] += imp[j] / s;
    ++used;
  }
  double s = std::accumulate(acc.begin(), acc.end(), 0.0);
  if (s > 0)
    for (double& v : acc) v /= s;
  (void)used;
  return acc;
}

ModelDocument RandomForest::to_document() const {
  require<NotFittedError>(fitted(), "RandomForest.to_json", "the model is not fitted");
  ModelDocument d;
  d.estimator = "RandomForest";
  d.params = params_.tree.to_json();
  d.params["n_estimators"] = params_.n_estimators;
  d.params["bootstrap"] = params_.bootstrap;
  d.params["max_samples"] = params_.max_samples;
  d.params["oob_score"] = params_.oob_score;
  json::array trees;
  for (const auto& t : trees_) trees.push_back(t.state_json());
  d.state["trees"] = std::move(trees);
  d.state["n_features"] = n_features_;
  d.state["n_classes"] = n_classes_;
  return d;
}

RandomForest RandomForest::from_document(const ModelDocument& doc) {
  constexpr std::string_view w = "RandomForest state";
  ForestParams p;
  p.tree = TreeParams::from_json(doc.params);
  p.n_estimators = static_cast<int>(json_int(doc.params, "n_estimators", "RandomForest params"));
  p.bootstrap = json_bool(doc.params, "bootstrap", "RandomForest params");
  p.max_samples = json_int(doc.params, "max_samples", "RandomForest params");
  p.oob_score = json_bool(doc.params, "oob_score", "RandomForest params");
  try {
    p.validate();
  } catch (const Error& e) {
    fail<SerializationError>("RandomForest params", e.what());
  }
  RandomForest f(p);
  f.n_features_ = json_int(doc.state, "n_features", w);
  f.n_classes_ = static_cast<int>(json_int(doc.state, "n_classes", w));
  const auto& arr = json_field(doc.state, "trees", w);
  require<SerializationError>(arr.is_array() && !arr.as_array().empty(), w, "field 'trees' must be a non-empty array");
  for (const auto& v : arr.as_array()) {
    require<SerializationError>(v.is_object(), w, "each tree must be an object");
    f.trees_.push_back(DecisionTree::from_state_json(p.tree, v.as_object(), w));
    require<SerializationError>(f.trees_.back().n_features() == f.n_features_ &&
                                    f.trees_.back().n_classes() == f.n_classes_,
                                w, "a tree does not match the forest's shape");
  }
  require<SerializationError>(static_cast<int>(f.trees_.size()) == p.n_estimators, w,
                              "the number of trees differs from n_estimators");
  return f;
}

}  // namespace custmine::tree
