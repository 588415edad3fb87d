// Rule generation, measures, appearance filters and redundancy pruning.
#include "custmine/association/rules.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "custmine/core/threading.hpp"

namespace custmine::association {

Measure parse_measure(std::string_view s, std::string_view where) {
  if (s == "support") return Measure::Support;
  if (s == "confidence") return Measure::Confidence;
  if (s == "lift") return Measure::Lift;
  if (s == "leverage") return Measure::Leverage;
  if (s == "conviction") return Measure::Conviction;
  if (s == "zhangs_metric") return Measure::Zhang;
  if (s == "jaccard") return Measure::Jaccard;
  if (s == "certainty") return Measure::Certainty;
  if (s == "kulczynski") return Measure::Kulczynski;
  if (s == "all_confidence") return Measure::AllConfidence;
  if (s == "antecedent support") return Measure::AntecedentSupport;
  if (s == "consequent support") return Measure::ConsequentSupport;
  fail(where, "metric must be one of 'support', 'confidence', 'lift', 'leverage', 'conviction', 'zhangs_metric', "
              "'jaccard', 'certainty', 'kulczynski', 'all_confidence', 'antecedent support', "
              "'consequent support'; got '", s, "'");
}

void RuleParams::validate() const {
  constexpr std::string_view w = "association_rules";
  require(!std::isnan(min_threshold), w, "min_threshold must be a number (got NaN)");
  require(min_len >= 1, w, "min_len must be >= 1 (got ", min_len, ")");
  require(max_len >= 0, w, "max_len must be >= 1 or None (got ", max_len, ")");
  require(max_len == 0 || max_len >= min_len, w, "max_len (", max_len, ") must be >= min_len (", min_len, ")");
  require(max_rules >= 0, w, "max_rules must be >= 1 or None (got ", max_rules, ")");
  resolve_threads(n_threads, w);
}

double Rules::measure(Measure m, Index r) const {
  switch (m) {
    case Measure::Support: return support[r];
    case Measure::Confidence: return confidence[r];
    case Measure::Lift: return lift[r];
    case Measure::Leverage: return leverage[r];
    case Measure::Conviction: return conviction[r];
    case Measure::Zhang: return zhangs_metric[r];
    case Measure::Jaccard: return jaccard[r];
    case Measure::Certainty: return certainty[r];
    case Measure::Kulczynski: return kulczynski[r];
    case Measure::AllConfidence: return all_confidence[r];
    case Measure::AntecedentSupport: return antecedent_support[r];
    case Measure::ConsequentSupport: return consequent_support[r];
  }
  return 0.0;
}

RuleMeasures rule_measures(double wX, double wY, double wZ, double total) {
  RuleMeasures m;
  const double sA = wX / total, sC = wY / total, sAC = wZ / total;
  const double conf = wZ / wX;  // a ratio of counts: exact, so thresholds such as 0.8 compare right
  m.antecedent_support = sA;
  m.consequent_support = sC;
  m.support = sAC;
  m.confidence = conf;
  m.lift = conf / sC;
  m.leverage = sAC - sA * sC;
  m.conviction = conf < 1.0 ? (1.0 - sC) / (1.0 - conf) : std::numeric_limits<double>::infinity();
  const double zden = std::max(sAC * (1 - sA), sA * (sC - sAC));
  m.zhangs_metric = zden == 0 ? 0.0 : m.leverage / zden;
  m.jaccard = wZ / (wX + wY - wZ);
  m.certainty = (1 - sC) == 0 ? 0.0 : (conf - sC) / (1 - sC);
  m.kulczynski = (wZ / wX + wZ / wY) / 2;
  m.all_confidence = wZ / std::max(wX, wY);
  return m;
}

double RuleMeasures::get(Measure m) const {
  switch (m) {
    case Measure::Support: return support;
    case Measure::Confidence: return confidence;
    case Measure::Lift: return lift;
    case Measure::Leverage: return leverage;
    case Measure::Conviction: return conviction;
    case Measure::Zhang: return zhangs_metric;
    case Measure::Jaccard: return jaccard;
    case Measure::Certainty: return certainty;
    case Measure::Kulczynski: return kulczynski;
    case Measure::AllConfidence: return all_confidence;
    case Measure::AntecedentSupport: return antecedent_support;
    case Measure::ConsequentSupport: return consequent_support;
  }
  return 0.0;
}

void Rules::push(std::span<const std::int32_t> X, std::span<const std::int32_t> Y, const RuleMeasures& m,
                 Index cnt) {
  ante.insert(ante.end(), X.begin(), X.end());
  cons.insert(cons.end(), Y.begin(), Y.end());
  ante_off.push_back(static_cast<Index>(ante.size()));
  cons_off.push_back(static_cast<Index>(cons.size()));
  antecedent_support.push_back(m.antecedent_support);
  consequent_support.push_back(m.consequent_support);
  support.push_back(m.support);
  confidence.push_back(m.confidence);
  lift.push_back(m.lift);
  representativity.push_back(1.0);
  leverage.push_back(m.leverage);
  conviction.push_back(m.conviction);
  zhangs_metric.push_back(m.zhangs_metric);
  jaccard.push_back(m.jaccard);
  certainty.push_back(m.certainty);
  kulczynski.push_back(m.kulczynski);
  all_confidence.push_back(m.all_confidence);
  count.push_back(cnt);
}

namespace {
template <class V>
void cat(V& a, const V& b) {
  a.insert(a.end(), b.begin(), b.end());
}
template <class V>
void keep_flags(V& v, const std::vector<std::uint8_t>& f) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (f[i]) v[w++] = v[i];
  v.resize(w);
}
}  // namespace

void Rules::append(const Rules& o) {
  const Index ab = static_cast<Index>(ante.size()), cb = static_cast<Index>(cons.size());
  for (std::size_t q = 1; q < o.ante_off.size(); ++q) ante_off.push_back(ab + o.ante_off[q]);
  for (std::size_t q = 1; q < o.cons_off.size(); ++q) cons_off.push_back(cb + o.cons_off[q]);
  cat(ante, o.ante);
  cat(cons, o.cons);
  cat(antecedent_support, o.antecedent_support);
  cat(consequent_support, o.consequent_support);
  cat(support, o.support);
  cat(confidence, o.confidence);
  cat(lift, o.lift);
  cat(representativity, o.representativity);
  cat(leverage, o.leverage);
  cat(conviction, o.conviction);
  cat(zhangs_metric, o.zhangs_metric);
  cat(jaccard, o.jaccard);
  cat(certainty, o.certainty);
  cat(kulczynski, o.kulczynski);
  cat(all_confidence, o.all_confidence);
  cat(count, o.count);
}

void Rules::keep(const std::vector<std::uint8_t>& f) {
  Rules out;
  for (Index r = 0; r < size(); ++r) {
    if (!f[r]) continue;
    auto a = antecedent(r), c = consequent(r);
    out.ante.insert(out.ante.end(), a.begin(), a.end());
    out.cons.insert(out.cons.end(), c.begin(), c.end());
    out.ante_off.push_back(static_cast<Index>(out.ante.size()));
    out.cons_off.push_back(static_cast<Index>(out.cons.size()));
  }
  ante = std::move(out.ante);
  cons = std::move(out.cons);
  ante_off = std::move(out.ante_off);
  cons_off = std::move(out.cons_off);
  keep_flags(antecedent_support, f);
  keep_flags(consequent_support, f);
  keep_flags(support, f);
  keep_flags(confidence, f);
  keep_flags(lift, f);
  keep_flags(representativity, f);
  keep_flags(leverage, f);
  keep_flags(conviction, f);
  keep_flags(zhangs_metric, f);
  keep_flags(jaccard, f);
  keep_flags(certainty, f);
  keep_flags(kulczynski, f);
  keep_flags(all_confidence, f);
  keep_flags(count, f);
}

Rules association_rules(const ItemsetTable& t, const RuleParams& p) {
  p.validate();
  constexpr std::string_view where = "association_rules";
  require(!t.offsets.empty() && t.offsets.front() == 0 &&
              t.offsets.back() == static_cast<Index>(t.items.size()),
          where, "itemsets: malformed offsets");
  const Index n = static_cast<Index>(t.offsets.size()) - 1;
  check_same_length(where, "support", static_cast<Index>(t.weight.size()), "itemsets", n);
  require(n > 0, where, "the itemsets frame is empty: there is nothing to build rules from "
                        "(lower min_support)");
  require(t.total > 0, where, "total weight must be > 0");
  for (Index s = 0; s < n; ++s) {
    const double w = t.weight[s];
    if (!(std::isfinite(w) && w > 0.0 && w <= t.total * (1 + 1e-12)))
      fail(where, "support of itemset ", s, " must lie in (0, 1] (got ", w / t.total, ")");
    require(t.offsets[s + 1] > t.offsets[s], where, "itemset ", s, " is empty");
    for (Index q = t.offsets[s] + 1; q < t.offsets[s + 1]; ++q)
      require(t.items[q - 1] < t.items[q], where, "itemset ", s, " has repeated items");
  }
  std::vector<Index> off(t.offsets.begin(), t.offsets.end());
  std::vector<std::int32_t> items(t.items.begin(), t.items.end());
  const ItemsetIndex index(off, items);
  const double total = t.total;
  const bool counts = t.n_transactions > 0 && total == static_cast<double>(t.n_transactions);

  auto allowed = [&](std::int32_t item, int bit) {
    if (p.appearance.empty()) return true;
    return item >= 0 && static_cast<std::size_t>(item) < p.appearance.size() && (p.appearance[item] >> bit) & 1;
  };
  auto weight_of = [&](std::span<const std::int32_t> set) -> double {
    if (set.empty()) return total;
    const Index x = index.find(set);
    if (x < 0) {
      std::string s;
      for (auto i : set) {
        if (!s.empty()) s.push_back(',');
        s.append(std::to_string(i));
      }
      fail(where, "the itemsets frame lacks the subset {", s, "} of a frequent itemset; rules need every "
                  "frequent itemset (pass the kind='all' result, unfiltered)");
    }
    return t.weight[x];
  };

  const int threads = resolve_threads(p.n_threads);
  const int chunks = static_cast<int>(std::min<Index>(n, 16 * threads));
  std::vector<Rules> parts(static_cast<std::size_t>(chunks));
  std::atomic<Index> made{0};
  parallel_for(chunks, threads, [&](Index c, int th) {
    if (th == 0) Interrupt::check(where);
    Rules& out = parts[c];
    std::vector<std::int32_t> X, Y;
    const Index s0 = n * c / chunks, s1 = n * (c + 1) / chunks;
    for (Index s = s0; s < s1; ++s) {
      std::span<const std::int32_t> Z(items.data() + off[s], static_cast<std::size_t>(off[s + 1] - off[s]));
      const int L = static_cast<int>(Z.size());
      if (L < p.min_len || (p.max_len && L > p.max_len)) continue;
      const double wZ = t.weight[s];
      auto emit = [&]() {
        for (auto i : X)
          if (!allowed(i, 0)) return;
        for (auto i : Y)
          if (!allowed(i, 1)) return;
        const double wX = weight_of(X), wY = weight_of(Y);
        const RuleMeasures m = rule_measures(wX, wY, wZ, total);
        if (!(m.get(p.metric) >= p.min_threshold)) return;
        if (p.max_rules && made.fetch_add(1, std::memory_order_relaxed) + 1 > p.max_rules)
          fail(where, "more than max_rules=", p.max_rules, " rules; raise min_threshold or min_support");
        out.push(X, Y, m,
                 counts ? static_cast<Index>(std::llround(wZ))
                        : (t.n_transactions > 0 ? static_cast<Index>(std::llround(m.support * t.n_transactions)) : -1));
      };
      if (!p.multi_consequent) {
        for (int j = 0; j < L; ++j) {
          X.clear();
          for (int q = 0; q < L; ++q)
            if (q != j) X.push_back(Z[q]);
          Y.assign(1, Z[j]);
          emit();
        }
      } else if (L >= 2) {
        require(L <= 24, where, "multi_consequent rules from an itemset of ", L, " items would be too many");
        const std::uint32_t full = (1u << L) - 1;
        for (std::uint32_t mask = 1; mask < full; ++mask) {  // mask = consequent items
          X.clear();
          Y.clear();
          for (int q = 0; q < L; ++q) ((mask >> q) & 1 ? Y : X).push_back(Z[q]);
          emit();
        }
      }
    }
  });
  Rules all;
  for (auto& part : parts) all.append(part);
  if (p.prune_redundant && all.size() > 0) {
    auto red = redundant_rules(all, p.n_threads);
    for (auto& f : red) f = !f;
    all.keep(red);
  }
  return all;
}

Rules association_rules(const Itemsets& s, const RuleParams& p) {
  std::vector<double> w(s.counts.begin(), s.counts.end());
  ItemsetTable t{s.offsets, s.items, w, static_cast<double>(s.n_transactions), s.n_transactions};
  return association_rules(t, p);
}

std::vector<std::uint8_t> redundant_rules(const Rules& r, int n_threads) {
  const Index n = r.size();
  // Key of a rule: consequent items, a -1 separator, antecedent items.
  std::vector<Index> off{0};
  std::vector<std::int32_t> keys;
  for (Index i = 0; i < n; ++i) {
    auto c = r.consequent(i), a = r.antecedent(i);
    keys.insert(keys.end(), c.begin(), c.end());
    keys.push_back(-1);
    keys.insert(keys.end(), a.begin(), a.end());
    off.push_back(static_cast<Index>(keys.size()));
  }
  const ItemsetIndex index(off, keys);
  std::vector<std::uint8_t> red(static_cast<std::size_t>(n), 0);
  parallel_chunks(n, n_threads, [&](Index b, Index e, int) {
    std::vector<std::int32_t> key;
    for (Index i = b; i < e; ++i) {
      auto c = r.consequent(i), a = r.antecedent(i);
      const int L = static_cast<int>(a.size());
      if (L == 0) continue;
      const int Lc = std::min(L, 20);  // more general rules searched among the first 20 items
      const std::uint32_t full = (1u << Lc) - 1;
      for (std::uint32_t mask = 0; mask < full && !red[i]; ++mask) {  // proper subsets
        key.assign(c.begin(), c.end());
        key.push_back(-1);
        for (int q = 0; q < Lc; ++q)
          if ((mask >> q) & 1) key.push_back(a[q]);
        for (int q = Lc; q < L; ++q) key.push_back(a[q]);
        if (Lc < L && mask == full) continue;
        const Index j = index.find(key);
        if (j >= 0 && r.confidence[j] >= r.confidence[i]) red[i] = 1;
      }
    }
  });
  return red;
}

}  // namespace custmine::association
