// Compiled part of the tiering family: parameter checks, the segment map, the fitted
// QuantileScorer and the float/double instantiations.
#include "custmine/tiering/rfm_impl.hpp"

namespace custmine::tiering {

void RfmParams::validate() const {
  require(bins >= 2 && bins <= 100, "rfm", "bins must be an integer in 2..100 (got ", bins, ")");
}

const std::vector<SegmentRule>& default_segment_rules() {
  // Score ranges of Putler's RFM segment table (also the defaults of Hebbali's R
  // package rfm). Those ranges overlap, so they are matched in an order chosen to give
  // every segment a region (first match wins); Lost is the all-lowest cell, as Putler
  // describes it. Customers matching no rule are "Others".
  static const std::vector<SegmentRule> rules = {
      {"Champions", 4, 5, 4, 5, 4, 5},
      {"Loyal Customers", 2, 5, 3, 5, 3, 5},
      {"Can't Lose Them", 1, 1, 4, 5, 4, 5},
      {"At Risk", 1, 2, 2, 5, 2, 5},
      {"New Customers", 4, 5, 1, 1, 1, 1},
      {"Promising", 3, 4, 1, 1, 1, 1},
      {"Need Attention", 2, 3, 2, 3, 2, 3},
      {"Lost", 1, 1, 1, 1, 1, 1},
      {"Hibernating", 1, 2, 1, 2, 1, 2},
      {"About to Sleep", 2, 3, 1, 2, 1, 2},
      {"Potential Loyalist", 3, 5, 1, 3, 1, 3},
  };
  return rules;
}

void validate_segment_rules(const std::vector<SegmentRule>& rules) {
  constexpr std::string_view where = "rfm";
  require(!rules.empty(), where, "segments must hold at least one rule");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    require(!r.name.empty(), where, "segment rule ", i, " has an empty name");
    const int b[6] = {r.r_lo, r.r_hi, r.f_lo, r.f_hi, r.m_lo, r.m_hi};
    for (int j = 0; j < 6; j += 2)
      require(1 <= b[j] && b[j] <= b[j + 1] && b[j + 1] <= 5, where, "segment rule '", r.name,
              "' needs 1 <= low <= high <= 5 for each score, got ", b[j], "..", b[j + 1]);
  }
}

std::vector<std::int32_t> assign_segments(std::span<const std::int32_t> r, std::span<const std::int32_t> f,
                                          std::span<const std::int32_t> m, int bins,
                                          const std::vector<SegmentRule>& rules) {
  std::vector<std::int32_t> seg(r.size(), -1);
  // Map 1..bins linearly onto 1..5 (rounding half up), keeping both ends.
  auto to5 = [bins](std::int32_t s) { return 1 + ((s - 1) * 8 + (bins - 1)) / (2 * (bins - 1)); };
  for (std::size_t i = 0; i < r.size(); ++i) {
    const int R = to5(r[i]), F = to5(f[i]), M = to5(m[i]);
    for (std::size_t k = 0; k < rules.size(); ++k) {
      const auto& q = rules[k];
      if (q.r_lo <= R && R <= q.r_hi && q.f_lo <= F && F <= q.f_hi && q.m_lo <= M && M <= q.m_hi) {
        seg[i] = static_cast<std::int32_t>(k);
        break;
      }
    }
  }
  return seg;
}

// ---- QuantileScorer -------------------------------------------------------------------

namespace {
constexpr std::string_view kEstimator = "QuantileScorer";
}  // namespace

void QuantileScorer::Params::validate() const {
  require(bins >= 2 && bins <= 100, "QuantileScorer", "bins must be an integer in 2..100 (got ", bins, ")");
}

QuantileScorer& QuantileScorer::fit(MatrixView<double> X) {
  constexpr std::string_view where = "QuantileScorer::fit";
  params_.validate();
  check_nonempty(where, "X", X.rows());
  require<ShapeError>(X.cols() >= 1, where, "X has no column");
  if (!params_.higher_is_better.empty())
    require<ShapeError>(static_cast<Index>(params_.higher_is_better.size()) == X.cols(), where, "X has ", X.cols(),
                        " columns but higher_is_better gives ", params_.higher_is_better.size(), " directions");
  check_finite(where, "X", X);
  std::vector<std::vector<double>> edges(X.cols());
  std::vector<double> col(X.rows());
  for (Index j = 0; j < X.cols(); ++j) {
    for (Index i = 0; i < X.rows(); ++i) col[i] = X(i, j);
    edges[j] = quantile_edges(std::span<const double>(col), params_.bins, direction(j));
  }
  edges_ = std::move(edges);
  return *this;
}

RowMatrix<std::int32_t> QuantileScorer::transform(MatrixView<double> X) const {
  constexpr std::string_view where = "QuantileScorer::transform";
  if (!is_fitted()) fail<NotFittedError>(where, "this scorer is not fitted yet; call fit first");
  require<ShapeError>(X.cols() == n_features(), where, "X has ", X.cols(), " columns but the scorer was fitted on ",
                      n_features());
  check_finite(where, "X", X);
  RowMatrix<std::int32_t> out(X.rows(), X.cols());
  for (Index i = 0; i < X.rows(); ++i)
    for (Index j = 0; j < X.cols(); ++j)
      out(i, j) = detail::edge_score(detail::directed(X(i, j), direction(j)), edges_[j]);
  return out;
}

ModelDocument QuantileScorer::to_document() const {
  if (!is_fitted()) fail<NotFittedError>("QuantileScorer::to_document", "this scorer is not fitted yet");
  ModelDocument doc;
  doc.estimator = std::string(kEstimator);
  doc.params["bins"] = params_.bins;
  json::array dirs;
  for (Index j = 0; j < n_features(); ++j) dirs.emplace_back(direction(j));
  doc.params["higher_is_better"] = std::move(dirs);
  json::array edges;
  for (const auto& e : edges_) {
    json::array a;
    for (double v : e) a.push_back(json_number(v));
    edges.push_back(std::move(a));
  }
  doc.state["edges"] = std::move(edges);
  return doc;
}

QuantileScorer QuantileScorer::from_document(const ModelDocument& doc) {
  constexpr std::string_view where = "QuantileScorer document";
  if (doc.estimator != kEstimator) fail<SerializationError>(where, "holds a '", doc.estimator, "' model");
  Params p;
  const std::int64_t bins = json_int(doc.params, "bins", where);
  if (bins < 2 || bins > 100) fail<SerializationError>(where, "field 'bins' must be in 2..100, got ", bins);
  p.bins = static_cast<int>(bins);
  const auto& dirs = json_field(doc.params, "higher_is_better", where);
  const auto& v = json_field(doc.state, "edges", where);
  if (!dirs.is_array() || !v.is_array() || dirs.get_array().size() != v.get_array().size() ||
      v.get_array().empty())
    fail<SerializationError>(where, "fields 'higher_is_better' and 'edges' must be non-empty arrays of equal length");
  for (const auto& d : dirs.get_array()) {
    if (!d.is_bool()) fail<SerializationError>(where, "field 'higher_is_better' must hold booleans");
    p.higher_is_better.push_back(d.get_bool());
  }
  QuantileScorer s(p);
  for (const auto& col : v.get_array()) {
    if (!col.is_array()) fail<SerializationError>(where, "field 'edges' must hold arrays");
    json::object wrapper;
    wrapper["edges"] = col;
    auto e = json_doubles(wrapper, "edges", where);
    if (e.size() != static_cast<std::size_t>(p.bins - 1))
      fail<SerializationError>(where, "each edge array must hold bins-1 = ", p.bins - 1, " numbers, got ", e.size());
    if (!std::is_sorted(e.begin(), e.end())) fail<SerializationError>(where, "edges must be non-decreasing");
    s.edges_.push_back(std::move(e));
  }
  return s;
}

// ---- instantiations -------------------------------------------------------------------

template RfmTable rfm<double>(std::span<const std::int64_t>, std::int64_t, std::span<const std::int64_t>,
                              std::span<const double>, std::span<const std::int64_t>, std::int64_t,
                              const RfmParams&, const std::vector<SegmentRule>&);
template RfmTable rfm<float>(std::span<const std::int64_t>, std::int64_t, std::span<const std::int64_t>,
                             std::span<const float>, std::span<const std::int64_t>, std::int64_t,
                             const RfmParams&, const std::vector<SegmentRule>&);
template std::vector<std::int32_t> quantile_scores<double>(std::span<const double>, int, Ties, bool);
template std::vector<std::int32_t> pyramid_tiers<double>(std::span<const double>, std::span<const double>);
template std::vector<std::int32_t> pyramid_tiers<float>(std::span<const float>, std::span<const double>);
template std::vector<std::int32_t> abc_classes<double>(std::span<const double>, std::span<const double>);
template std::vector<std::int32_t> abc_classes<float>(std::span<const float>, std::span<const double>);
template TierSummary summarize_tiers<double>(std::span<const double>, std::span<const std::int32_t>, int);
template TierSummary summarize_tiers<float>(std::span<const float>, std::span<const std::int32_t>, int);

}  // namespace custmine::tiering
