// Cross-sell and up-sell recommendations from association rules.
//
// A basket B fires every rule X => {y} with X ⊆ B (X non-empty) and y ∉ B; each candidate
// item y scores the best value of the chosen measure among the rules that fire for it
// (ties: higher confidence, then higher support, then the earlier rule), or, in up-sell
// mode, the expected value confidence × price(y) of its most confident rule. This is the
// rule-based recommender of B. Mobasher, H. Dai, T. Luo, M. Nakagawa (2001), "Effective
// personalization based on association rule discovery from web usage data", WIDM.
// Evaluation by leave-one-item-out hit rate@k as in B. Sarwar et al. (2000), "Analysis of
// recommendation algorithms for e-commerce", EC.
//
// Items outside 0..n_items-1 in a basket are ignored (unknown at fit time).
// Complexity per basket: O(sum over basket items b of the rules indexed under b × |X|),
// rules being indexed under their smallest antecedent item, plus O(c log k) to rank c
// candidates. recommend_many and score run baskets in parallel.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custmine/association/rules.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::association {

struct RecommenderParams {
  Index min_count = 1;          ///< itemset threshold used at fit
  double min_confidence = 0.1;  ///< rules kept when confidence >= this
  Measure metric = Measure::Confidence;
  int max_len = 0;              ///< longest rule (|X| + 1); 0 = no limit
  Algorithm algorithm = Algorithm::Eclat;  // the fastest of the three on every benchmark set
  int n_threads = 1;
  Index max_itemsets = 0;
  void validate() const;
};

struct Recommendation {
  std::int32_t item;
  double score;
  Index rule;  ///< index into rules()
};

struct HitRate {
  double hit_rate = 0;  ///< held-out items found in the top k / cases
  double coverage = 0;  ///< cases with at least one recommendation / cases
  Index cases = 0;      ///< (basket, held-out item) pairs evaluated
  Index hits = 0;
};

class RuleRecommender {
 public:
  RuleRecommender() = default;
  /// Mines itemsets and single-consequent rules (|X| >= 1) from `t`.
  void fit(const Transactions& t, const RecommenderParams& p);
  /// Uses given rules directly (each with exactly one consequent item, non-empty antecedent,
  /// measures computed from counts over n_transactions).
  void set_rules(Rules rules, std::int32_t n_items, Index n_transactions, Measure metric);
  /// Per-item prices for up-sell mode (NaN = no price: the item is never up-sold).
  void set_prices(std::vector<double> prices);

  [[nodiscard]] std::vector<Recommendation> recommend(std::span<const std::int32_t> basket, int k,
                                                      bool upsell = false) const;
  [[nodiscard]] std::vector<std::vector<Recommendation>> recommend_many(const Transactions& baskets, int k,
                                                                        bool upsell, int n_threads) const;
  /// Leave-one-item-out over baskets with >= 2 known items.
  [[nodiscard]] HitRate score(const Transactions& holdout, int k, int n_threads) const;

  [[nodiscard]] const Rules& rules() const { return rules_; }
  [[nodiscard]] std::int32_t n_items() const { return n_items_; }
  [[nodiscard]] Index n_transactions() const { return n_transactions_; }
  [[nodiscard]] Measure metric() const { return metric_; }
  [[nodiscard]] const std::vector<double>& prices() const { return prices_; }
  [[nodiscard]] bool fitted() const { return fitted_; }

  [[nodiscard]] ModelDocument to_document() const;
  static RuleRecommender from_document(const ModelDocument& doc);

 private:
  struct Scratch {
    std::vector<std::uint8_t> in_basket;
    std::vector<double> best, conf, supp;
    std::vector<Index> rule;
    std::vector<std::int32_t> touched;
  };
  void build_index();
  void recommend_into(std::span<const std::int32_t> basket, int k, bool upsell, Scratch& s,
                      std::vector<Recommendation>& out) const;
  void check_fitted(std::string_view where) const;

  Rules rules_;
  Index n_transactions_ = 0;
  std::int32_t n_items_ = 0;
  Measure metric_ = Measure::Confidence;
  std::vector<double> value_;  // the metric per rule
  std::vector<double> prices_;
  std::vector<Index> by_item_off_;
  std::vector<Index> by_item_;
  bool fitted_ = false;
};

}  // namespace custmine::association
