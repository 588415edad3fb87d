// Rule-based cross-sell / up-sell recommender.
#include "custmine/association/recommend.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "custmine/association/transactions.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::association {

namespace {
constexpr std::string_view kEstimator = "CrossSellRecommender";

const char* measure_name(Measure m) {
  switch (m) {
    case Measure::Support: return "support";
    case Measure::Confidence: return "confidence";
    case Measure::Lift: return "lift";
    case Measure::Leverage: return "leverage";
    case Measure::Conviction: return "conviction";
    case Measure::Zhang: return "zhangs_metric";
    case Measure::Jaccard: return "jaccard";
    case Measure::Certainty: return "certainty";
    case Measure::Kulczynski: return "kulczynski";
    case Measure::AllConfidence: return "all_confidence";
    case Measure::AntecedentSupport: return "antecedent support";
    case Measure::ConsequentSupport: return "consequent support";
  }
  return "confidence";
}

json::array numbers(const std::vector<double>& v) {
  json::array a;
  a.reserve(v.size());
  for (double x : v) a.push_back(json_number(x));
  return a;
}
}  // namespace

void RecommenderParams::validate() const {
  constexpr std::string_view w = "CrossSellRecommender";
  require(min_count >= 1, w, "the minimum support count must be >= 1 (got ", min_count, ")");
  require(std::isfinite(min_confidence) && min_confidence >= 0 && min_confidence <= 1, w,
          "min_confidence must lie in [0, 1] (got ", min_confidence, ")");
  require(max_len == 0 || max_len >= 2, w, "max_len must be >= 2 or None (got ", max_len, ")");
  resolve_threads(n_threads, w);
}

void RuleRecommender::check_fitted(std::string_view where) const {
  if (!fitted_) fail<NotFittedError>(where, "this CrossSellRecommender is not fitted yet; call fit first");
}

void RuleRecommender::fit(const Transactions& t, const RecommenderParams& p) {
  p.validate();
  MiningParams mp;
  mp.min_count = p.min_count;
  mp.max_len = p.max_len;
  mp.min_len = 2;
  mp.algorithm = p.algorithm;
  mp.n_threads = p.n_threads;
  mp.max_itemsets = p.max_itemsets;
  const Itemsets sets = frequent_itemsets(t, mp);
  // Rules need the single items too: mine them again is wasteful, so add them from counts.
  Itemsets full;
  full.n_transactions = sets.n_transactions;
  const auto counts = item_counts(t);
  for (std::int32_t i = 0; i < t.n_items; ++i)
    if (counts[i] >= p.min_count) full.push(std::span<const std::int32_t>(&i, 1), counts[i]);
  for (Index s = 0; s < sets.size(); ++s) full.push(sets[s], sets.counts[s]);
  RuleParams rp;
  rp.metric = Measure::Confidence;
  rp.min_threshold = p.min_confidence;
  rp.min_len = 2;
  rp.max_len = p.max_len;
  rp.n_threads = p.n_threads;
  set_rules(full.size() ? association_rules(full, rp) : Rules{}, t.n_items, t.size(), p.metric);
}

void RuleRecommender::set_rules(Rules rules, std::int32_t n_items, Index n_transactions, Measure metric) {
  constexpr std::string_view w = "CrossSellRecommender";
  require(n_items >= 0, w, "n_items must be >= 0");
  require(n_transactions >= 1, w, "n_transactions must be >= 1");
  n_transactions_ = n_transactions;
  for (Index r = 0; r < rules.size(); ++r) {
    require(rules.consequent(r).size() == 1, w, "rule ", r, " must have exactly one consequent item");
    require(!rules.antecedent(r).empty(), w, "rule ", r, " has an empty antecedent");
    for (auto i : rules.antecedent(r)) require(i >= 0 && i < n_items, w, "rule ", r, " has an unknown item ", i);
    require(rules.consequent(r)[0] >= 0 && rules.consequent(r)[0] < n_items, w, "rule ", r,
            " has an unknown consequent");
  }
  rules_ = std::move(rules);
  n_items_ = n_items;
  metric_ = metric;
  value_.resize(static_cast<std::size_t>(rules_.size()));
  for (Index r = 0; r < rules_.size(); ++r) value_[r] = rules_.measure(metric, r);
  if (prices_.size() != static_cast<std::size_t>(n_items_)) prices_.clear();
  build_index();
  fitted_ = true;
}

void RuleRecommender::set_prices(std::vector<double> prices) {
  check_fitted("CrossSellRecommender::set_prices");
  require(prices.size() == static_cast<std::size_t>(n_items_), "CrossSellRecommender",
          "prices has ", prices.size(), " entries but the model knows ", n_items_, " items");
  for (std::size_t i = 0; i < prices.size(); ++i)
    require(std::isnan(prices[i]) || (std::isfinite(prices[i]) && prices[i] >= 0), "CrossSellRecommender",
            "prices must be finite and >= 0 (item ", i, " has ", prices[i], ")");
  prices_ = std::move(prices);
}

void RuleRecommender::build_index() {
  by_item_off_.assign(static_cast<std::size_t>(n_items_) + 1, 0);
  for (Index r = 0; r < rules_.size(); ++r) ++by_item_off_[rules_.antecedent(r)[0] + 1];
  for (std::int32_t i = 0; i < n_items_; ++i) by_item_off_[i + 1] += by_item_off_[i];
  by_item_.resize(static_cast<std::size_t>(rules_.size()));
  std::vector<Index> pos(by_item_off_.begin(), by_item_off_.end() - 1);
  for (Index r = 0; r < rules_.size(); ++r) by_item_[pos[rules_.antecedent(r)[0]]++] = r;
}

void RuleRecommender::recommend_into(std::span<const std::int32_t> basket, int k, bool upsell, Scratch& s,
                                     std::vector<Recommendation>& out) const {
  out.clear();
  if (s.in_basket.size() != static_cast<std::size_t>(n_items_)) {
    s.in_basket.assign(static_cast<std::size_t>(n_items_), 0);
    s.best.assign(static_cast<std::size_t>(n_items_), -std::numeric_limits<double>::infinity());
    s.conf.assign(static_cast<std::size_t>(n_items_), 0);
    s.supp.assign(static_cast<std::size_t>(n_items_), 0);
    s.rule.assign(static_cast<std::size_t>(n_items_), -1);
  }
  for (auto b : basket)
    if (b >= 0 && b < n_items_) s.in_basket[b] = 1;
  s.touched.clear();
  for (auto b : basket) {
    if (b < 0 || b >= n_items_ || s.in_basket[b] != 1) continue;
    s.in_basket[b] = 2;  // visit each distinct basket item once
    for (Index h = by_item_off_[b]; h < by_item_off_[b + 1]; ++h) {
      const Index r = by_item_[h];
      const std::int32_t y = rules_.consequent(r)[0];
      if (s.in_basket[y]) continue;
      bool fires = true;
      for (auto x : rules_.antecedent(r))
        if (!s.in_basket[x]) {
          fires = false;
          break;
        }
      if (!fires) continue;
      double v = value_[r];
      if (upsell) {
        const double price = prices_.empty() ? std::numeric_limits<double>::quiet_NaN() : prices_[y];
        if (std::isnan(price)) continue;
        v = rules_.confidence[r] * price;
      }
      const double c = rules_.confidence[r], sp = rules_.support[r];
      if (s.rule[y] < 0) s.touched.push_back(y);
      const bool better = s.rule[y] < 0 || v > s.best[y] ||
                          (v == s.best[y] && (c > s.conf[y] || (c == s.conf[y] && (sp > s.supp[y] ||
                                                                                  (sp == s.supp[y] && r < s.rule[y])))));
      if (better) {
        s.best[y] = v;
        s.conf[y] = c;
        s.supp[y] = sp;
        s.rule[y] = r;
      }
    }
  }
  for (auto y : s.touched) out.push_back({y, s.best[y], s.rule[y]});
  auto cmp = [&](const Recommendation& a, const Recommendation& b) {
    if (a.score != b.score) return a.score > b.score;
    if (s.conf[a.item] != s.conf[b.item]) return s.conf[a.item] > s.conf[b.item];
    if (s.supp[a.item] != s.supp[b.item]) return s.supp[a.item] > s.supp[b.item];
    return a.item < b.item;
  };
  const std::size_t kk = std::min<std::size_t>(static_cast<std::size_t>(k), out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(kk), out.end(), cmp);
  out.resize(kk);
  for (auto y : s.touched) {
    s.best[y] = -std::numeric_limits<double>::infinity();
    s.rule[y] = -1;
  }
  for (auto b : basket)
    if (b >= 0 && b < n_items_) s.in_basket[b] = 0;
}

std::vector<Recommendation> RuleRecommender::recommend(std::span<const std::int32_t> basket, int k,
                                                       bool upsell) const {
  check_fitted("CrossSellRecommender::recommend");
  require(k >= 1, "CrossSellRecommender::recommend", "k must be >= 1 (got ", k, ")");
  require(!upsell || !prices_.empty(), "CrossSellRecommender::recommend",
          "up-sell mode needs item prices (fit with prices=...)");
  Scratch s;
  std::vector<Recommendation> out;
  recommend_into(basket, k, upsell, s, out);
  return out;
}

std::vector<std::vector<Recommendation>> RuleRecommender::recommend_many(const Transactions& baskets, int k,
                                                                         bool upsell, int n_threads) const {
  check_fitted("CrossSellRecommender::recommend_many");
  require(k >= 1, "CrossSellRecommender::recommend_many", "k must be >= 1 (got ", k, ")");
  require(!upsell || !prices_.empty(), "CrossSellRecommender::recommend_many",
          "up-sell mode needs item prices (fit with prices=...)");
  std::vector<std::vector<Recommendation>> out(static_cast<std::size_t>(baskets.size()));
  const int threads = resolve_threads(n_threads);
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  parallel_chunks(baskets.size(), threads, [&](Index b, Index e, int t) {
    for (Index i = b; i < e; ++i) {
      if (t == 0 && i % 4096 == 0) Interrupt::check("CrossSellRecommender::recommend_many");
      recommend_into(baskets[i], k, upsell, scratch[t], out[i]);
    }
  });
  return out;
}

HitRate RuleRecommender::score(const Transactions& holdout, int k, int n_threads) const {
  check_fitted("CrossSellRecommender::score");
  require(k >= 1, "CrossSellRecommender::score", "k must be >= 1 (got ", k, ")");
  const int threads = resolve_threads(n_threads);
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  std::vector<HitRate> part(static_cast<std::size_t>(threads));
  parallel_chunks(holdout.size(), threads, [&](Index b, Index e, int t) {
    std::vector<std::int32_t> rest;
    std::vector<Recommendation> recs;
    for (Index i = b; i < e; ++i) {
      auto basket = holdout[i];
      Index known = 0;
      for (auto x : basket) known += (x >= 0 && x < n_items_);
      if (known < 2) continue;
      for (std::size_t j = 0; j < basket.size(); ++j) {
        const auto held = basket[j];
        if (held < 0 || held >= n_items_) continue;
        rest.clear();
        for (std::size_t q = 0; q < basket.size(); ++q)
          if (q != j) rest.push_back(basket[q]);
        recommend_into(rest, k, false, scratch[t], recs);
        ++part[t].cases;
        if (!recs.empty()) part[t].coverage += 1;
        for (const auto& r : recs)
          if (r.item == held) {
            ++part[t].hits;
            break;
          }
      }
    }
  });
  HitRate h;
  for (const auto& p : part) {
    h.cases += p.cases;
    h.hits += p.hits;
    h.coverage += p.coverage;
  }
  if (h.cases > 0) {
    h.hit_rate = static_cast<double>(h.hits) / static_cast<double>(h.cases);
    h.coverage /= static_cast<double>(h.cases);
  }
  return h;
}

ModelDocument RuleRecommender::to_document() const {
  check_fitted("CrossSellRecommender::to_document");
  // Counts, not measures: every measure is recomputed on load, so a reloaded model ranks
  // exactly as the original (JSON text does not round-trip every double bit for bit).
  ModelDocument d;
  d.estimator = std::string(kEstimator);
  d.params["metric"] = measure_name(metric_);
  d.state["n_items"] = n_items_;
  d.state["n_transactions"] = n_transactions_;
  const double n = static_cast<double>(n_transactions_);
  std::vector<Index> ante_count, cons_count;
  for (Index r = 0; r < rules_.size(); ++r) {
    ante_count.push_back(std::llround(rules_.antecedent_support[r] * n));
    cons_count.push_back(std::llround(rules_.consequent_support[r] * n));
  }
  d.state["antecedent_offsets"] = json_array(rules_.ante_off);
  d.state["antecedents"] = json_array(rules_.ante);
  d.state["consequents"] = json_array(rules_.cons);
  d.state["count"] = json_array(rules_.count);
  d.state["antecedent_count"] = json_array(ante_count);
  d.state["consequent_count"] = json_array(cons_count);
  d.state["prices"] = numbers(prices_);
  return d;
}

RuleRecommender RuleRecommender::from_document(const ModelDocument& doc) {
  constexpr std::string_view w = "CrossSellRecommender.from_json";
  RuleRecommender m;
  try {
    const Measure metric = parse_measure(json_string(doc.params, "metric", w), w);
    const auto n_items = json_int(doc.state, "n_items", w);
    if (n_items < 0 || n_items > INT32_MAX) fail<SerializationError>(w, "field 'n_items' is out of range");
    const auto n = json_int(doc.state, "n_transactions", w);
    if (n < 1) fail<SerializationError>(w, "field 'n_transactions' must be >= 1");
    auto ante_off = json_ints(doc.state, "antecedent_offsets", w);
    auto ante = json_ints(doc.state, "antecedents", w);
    auto cons = json_ints(doc.state, "consequents", w);
    auto count = json_ints(doc.state, "count", w);
    auto ac = json_ints(doc.state, "antecedent_count", w);
    auto cc = json_ints(doc.state, "consequent_count", w);
    const std::size_t nr = cons.size();
    if (ante_off.size() != nr + 1 || ante_off.front() != 0 || ante_off.back() != static_cast<Index>(ante.size()))
      fail<SerializationError>(w, "field 'antecedent_offsets' does not match 'antecedents'/'consequents'");
    if (count.size() != nr || ac.size() != nr || cc.size() != nr)
      fail<SerializationError>(w, "fields 'count'/'antecedent_count'/'consequent_count' have the wrong length");
    for (auto x : ante)
      if (x < 0 || x >= n_items) fail<SerializationError>(w, "field 'antecedents' holds an unknown item");
    for (auto x : cons)
      if (x < 0 || x >= n_items) fail<SerializationError>(w, "field 'consequents' holds an unknown item");
    Rules r;
    for (std::size_t q = 0; q < nr; ++q) {
      if (ante_off[q + 1] <= ante_off[q]) fail<SerializationError>(w, "field 'antecedent_offsets' is not increasing");
      if (!(count[q] >= 1 && count[q] <= ac[q] && count[q] <= cc[q] && ac[q] <= n && cc[q] <= n))
        fail<SerializationError>(w, "rule ", q, " has inconsistent counts");
      std::vector<std::int32_t> X(ante.begin() + ante_off[q], ante.begin() + ante_off[q + 1]);
      const std::int32_t y = static_cast<std::int32_t>(cons[q]);
      const auto meas = rule_measures(static_cast<double>(ac[q]), static_cast<double>(cc[q]),
                                      static_cast<double>(count[q]), static_cast<double>(n));
      r.push(X, std::span<const std::int32_t>(&y, 1), meas, count[q]);
    }
    auto prices = json_doubles(doc.state, "prices", w);
    if (!prices.empty() && prices.size() != static_cast<std::size_t>(n_items))
      fail<SerializationError>(w, "field 'prices' has the wrong length");
    m.set_rules(std::move(r), static_cast<std::int32_t>(n_items), n, metric);
    if (!prices.empty()) m.prices_ = std::move(prices);
  } catch (const SerializationError&) {
    throw;
  } catch (const Error& e) {
    fail<SerializationError>(w, e.what());
  }
  return m;
}

}  // namespace custmine::association
