// Compiled helpers shared by the anomaly detectors (see anomaly/common.hpp).
#include "custmine/anomaly/common.hpp"
#include "custmine/core/threading.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace custmine::anomaly {

void Contamination::validate(std::string_view where, bool auto_allowed) const {
  if (is_auto) {
    require(auto_allowed, where, "contamination must be a float in (0, 0.5] for this detector, got 'auto'");
    return;
  }
  require(std::isfinite(value) && value > 0.0 && value <= 0.5, where,
          "contamination must be ", auto_allowed ? "'auto' or " : "", "a float in (0, 0.5], got ", value);
}

json::value Contamination::to_json() const {
  if (is_auto) return json::value("auto");
  return json::value(value);
}

Contamination Contamination::from_json(const json::object& params, std::string_view where) {
  const auto& v = json_field(params, "contamination", where);
  if (v.is_string()) {
    if (v.get_string() != "auto") fail<SerializationError>(where, "field 'contamination' must be 'auto' or a number");
    return automatic();
  }
  const double c = json_double(params, "contamination", where);
  if (!(c > 0.0 && c <= 0.5)) fail<SerializationError>(where, "field 'contamination' must lie in (0, 0.5], got ", c);
  return fraction(c);
}

namespace {
// numpy's linear-interpolated percentile q of all of v, selecting only inside [from, to): the
// caller guarantees that every element before `from` is <= the wanted order statistic and
// every element from `to` on is >= the next one (an earlier selection partitioned v so).
// Returns the percentile and the index of the lower order statistic.
std::pair<double, std::size_t> select_percentile(std::vector<double>& v, std::size_t from, std::size_t to,
                                                 double q) {
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = std::min(static_cast<std::size_t>(std::floor(pos)), v.size() - 1);
  std::nth_element(v.begin() + from, v.begin() + lo, v.begin() + to);
  const double a = v[lo];
  const double b = lo + 1 < to ? *std::min_element(v.begin() + lo + 1, v.begin() + to) : a;
  const double t = pos - static_cast<double>(lo);
  // numpy's _lerp: interpolate from the nearer end for accuracy.
  const double diff = b - a;
  return {t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t, lo};
}
}  // namespace

double percentile(std::vector<double> v, double q) {
  require(!v.empty(), "percentile", "empty input");
  return select_percentile(v, 0, v.size(), q).first;
}

json::object FeatureProfile::to_json() const {
  json::object o;
  o["low"] = json_doubles_array(low);
  o["median"] = json_doubles_array(median);
  o["high"] = json_doubles_array(high);
  o["baseline"] = json_doubles_array(baseline);
  return o;
}

FeatureProfile FeatureProfile::from_json(const json::object& state, std::size_t d, std::string_view where) {
  const auto& o = json_object(state, "profile", where);
  FeatureProfile p;
  p.low = json_doubles_n(o, "low", d, where);
  p.median = json_doubles_n(o, "median", d, where);
  p.high = json_doubles_n(o, "high", d, where);
  p.baseline = json_doubles_n(o, "baseline", d, where);
  return p;
}

template <class T>
FeatureProfile feature_ranges(MatrixView<T> X, int n_threads, Index max_rows) {
  // Above max_rows, evenly spaced rows (deterministic; scikit-learn's KBinsDiscretizer
  // subsamples 200,000 rows for its quantiles likewise): the typical range is a description
  // for explanations, and exact selections over millions of rows cost more than the fit.
  const Index n = std::min(X.rows(), std::max<Index>(max_rows, 1)), d = X.cols();
  const Index N = X.rows();
  require(n > 0, "feature_ranges", "empty input");
  FeatureProfile p;
  p.low.resize(static_cast<std::size_t>(d));
  p.median.resize(p.low.size());
  p.high.resize(p.low.size());
  parallel_for(d, n_threads, [&](Index j, int) {
    std::vector<double> col(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) col[i] = static_cast<double>(X(n == N ? i : i * N / n, j));
    // Median on the whole column, then 5 % below it and 95 % above it: the same order
    // statistics as three independent selections, for about half the work.
    const auto [med, mid] = select_percentile(col, 0, col.size(), 50.0);
    p.median[j] = med;
    p.low[j] = select_percentile(col, 0, std::min(mid + 1, col.size()), 5.0).first;
    p.high[j] = select_percentile(col, mid, col.size(), 95.0).first;
  });
  return p;
}

std::vector<Index> baseline_row_ids(Index n, Index max_rows) {
  const Index m = std::min(n, max_rows);
  std::vector<Index> ids(static_cast<std::size_t>(m));
  for (Index r = 0; r < m; ++r) ids[static_cast<std::size_t>(r)] = r * n / m;
  return ids;
}

template <class T>
RowMatrix<T> baseline_rows(MatrixView<T> X, Index max_rows) {
  if (X.rows() <= max_rows) return X;
  const std::vector<Index> ids = baseline_row_ids(X.rows(), max_rows);
  RowMatrix<T> out(static_cast<Index>(ids.size()), X.cols());
  for (std::size_t r = 0; r < ids.size(); ++r) out.row(static_cast<Index>(r)) = X.row(ids[r]);
  return out;
}

std::vector<double> column_medians(const RowMatrix<double>& C) {
  std::vector<double> med;
  std::vector<double> col(static_cast<std::size_t>(C.rows()));
  for (Index j = 0; j < C.cols(); ++j) {
    for (Index i = 0; i < C.rows(); ++i) col[i] = C(i, j);
    med.push_back(percentile(col, 50.0));
  }
  return med;
}

TopK top_k_features(const RowMatrix<double>& C, const std::vector<double>& baseline, int k) {
  require(k >= 1, "top_attributes", "k must be a positive integer, got ", k);
  const Index d = C.cols();
  require(static_cast<Index>(baseline.size()) == d, "top_attributes", "baseline has the wrong length");
  const Index kk = std::min<Index>(k, d);
  TopK out{RowMatrix<std::int32_t>(C.rows(), kk), RowMatrix<double>(C.rows(), kk)};
  std::vector<std::int32_t> idx(static_cast<std::size_t>(d));
  std::vector<double> ex(static_cast<std::size_t>(d));
  for (Index i = 0; i < C.rows(); ++i) {
    for (Index j = 0; j < d; ++j) ex[j] = C(i, j) - baseline[j];
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](std::int32_t a, std::int32_t b) {
      return ex[a] > ex[b] || (ex[a] == ex[b] && a < b);
    });
    for (Index r = 0; r < kk; ++r) {
      out.feature(i, r) = idx[r];
      out.excess(i, r) = ex[idx[r]];
    }
  }
  return out;
}

template <class T>
void check_fit_input(std::string_view where, MatrixView<T> X, Index min_rows) {
  check_nonempty(where, "X", X.rows());
  require<ShapeError>(X.cols() >= 1, where, "X has 0 features; at least 1 is required");
  if (X.rows() < min_rows)
    fail(where, "needs at least ", min_rows, " samples, got n_samples = ", X.rows());
  check_finite(where, "X", X);
}

template <class T>
void check_score_input(std::string_view where, MatrixView<T> X, Index n_features, bool fitted) {
  if (!fitted) fail<NotFittedError>(where, "this model is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == n_features, where, "X has ", X.cols(), " features, but the model was fitted with ",
                      n_features, " features");
  check_finite(where, "X", X);
}

double offset_from_scores(const Vector<double>& s, const Contamination& c, double auto_offset) {
  if (c.is_auto) return auto_offset;
  return percentile(std::vector<double>(s.data(), s.data() + s.size()), 100.0 * c.value);
}

Vector<std::int32_t> labels_from_decision(const Vector<double>& d) {
  Vector<std::int32_t> y(d.size());
  for (Index i = 0; i < d.size(); ++i) y[i] = d[i] < 0 ? -1 : 1;
  return y;
}

json::array json_doubles_array(const double* p, std::size_t n) {
  json::array a;
  a.reserve(n);
  for (std::size_t i = 0; i < n; ++i) a.push_back(json_number(p[i]));
  return a;
}

std::vector<double> json_doubles_n(const json::object& o, std::string_view key, std::size_t n, std::string_view where) {
  auto v = json_doubles(o, key, where);
  if (v.size() != n) fail<SerializationError>(where, "field '", key, "' must hold ", n, " numbers, got ", v.size());
  return v;
}

std::vector<std::int64_t> json_ints_n(const json::object& o, std::string_view key, std::size_t n, std::string_view where) {
  auto v = json_ints(o, key, where);
  if (v.size() != n) fail<SerializationError>(where, "field '", key, "' must hold ", n, " integers, got ", v.size());
  return v;
}

std::int64_t json_size(const json::object& o, std::string_view key, std::int64_t lo, std::int64_t hi, std::string_view where) {
  const auto v = json_int(o, key, where);
  if (v < lo || v > hi) fail<SerializationError>(where, "field '", key, "' must be in ", lo, "..", hi, ", got ", v);
  return v;
}

#define CUSTMINE_ANOMALY_COMMON(T)                                                        \
  template FeatureProfile feature_ranges<T>(MatrixView<T>, int, Index);                  \
  template RowMatrix<T> baseline_rows<T>(MatrixView<T>, Index);                           \
  template void check_fit_input<T>(std::string_view, MatrixView<T>, Index);               \
  template void check_score_input<T>(std::string_view, MatrixView<T>, Index, bool);
CUSTMINE_ANOMALY_COMMON(double)
CUSTMINE_ANOMALY_COMMON(float)
#undef CUSTMINE_ANOMALY_COMMON

}  // namespace custmine::anomaly
