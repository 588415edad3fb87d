// Association rules X => Y from frequent itemsets, with every common interest measure.
//
// Reference: R. Agrawal, T. Imielinski, A. Swami (1993), "Mining association rules
// between sets of items in large databases", SIGMOD (support, confidence); measures as
// surveyed by P.-N. Tan, V. Kumar, J. Srivastava (2004), "Selecting the right
// objective measure for association analysis", Inf. Systems; Zhang's metric from
// T. Zhang (2000), "Association rules", PAKDD; definitions and edge cases follow mlxtend
// (conviction = inf when confidence = 1; Zhang and certainty = 0 on a zero denominator).
//
// Semantics follow R arules by default: one item in the consequent, rule support =
// support(X ∪ Y), inclusive thresholds (measure >= min_threshold), min_len/max_len count
// |X| + |Y|, and with min_len <= 1 the rule {} => {y} is produced for frequent items.
// With multi_consequent every non-empty proper subset of an itemset is a consequent (as
// in mlxtend; no empty antecedent then). Redundant rules: X => Y is redundant when some
// X' ⊂ X (proper, possibly empty) gives a rule X' => Y in the result with at least its
// confidence (arules is.redundant).
//
// Complexity: O(sum over itemsets Z of |Z|^2) lookups in a hash index (2^|Z| |Z| with
// multi_consequent), plus O(r 2^|X|) for redundancy pruning of r rules.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "custmine/association/itemsets.hpp"

namespace custmine::association {

enum class Measure {
  Support,
  Confidence,
  Lift,
  Leverage,
  Conviction,
  Zhang,
  Jaccard,
  Certainty,
  Kulczynski,
  AllConfidence,
  AntecedentSupport,
  ConsequentSupport,
};

Measure parse_measure(std::string_view s, std::string_view where);

struct RuleParams {
  Measure metric = Measure::Confidence;
  double min_threshold = 0.8;
  int min_len = 1;                   ///< on |X| + |Y|
  int max_len = 0;                   ///< 0 = no limit
  bool multi_consequent = false;
  bool prune_redundant = false;
  /// Per item: bit 0 = may appear in the antecedent, bit 1 = in the consequent
  /// (arules' appearance). Empty = every item anywhere.
  std::vector<std::uint8_t> appearance;
  Index max_rules = 0;  ///< stop with an error past this many rules; 0 = no limit
  int n_threads = 1;
  void validate() const;
};

/// Input to rule generation: an itemset collection with weights. With counts, weight is
/// the count and total the number of transactions (confidence is then an exact ratio of
/// integers); with supports only, weight is the support and total is 1.
struct ItemsetTable {
  std::span<const Index> offsets;
  std::span<const std::int32_t> items;  ///< sorted ascending within each itemset
  std::span<const double> weight;
  double total = 1.0;
  Index n_transactions = 0;  ///< for the count column; 0 = unknown (count = -1)
};

/// Every measure of one rule from the weights of X, Y and X ∪ Y (weight / total = support).
struct RuleMeasures {
  double antecedent_support, consequent_support, support, confidence, lift, leverage, conviction, zhangs_metric,
      jaccard, certainty, kulczynski, all_confidence;
  [[nodiscard]] double get(Measure m) const;
};
RuleMeasures rule_measures(double wX, double wY, double wZ, double total);

struct Rules {
  std::vector<Index> ante_off{0}, cons_off{0};
  std::vector<std::int32_t> ante, cons;
  std::vector<double> antecedent_support, consequent_support, support, confidence, lift, representativity,
      leverage, conviction, zhangs_metric, jaccard, certainty, kulczynski, all_confidence;
  std::vector<Index> count;
  [[nodiscard]] Index size() const { return static_cast<Index>(support.size()); }
  [[nodiscard]] std::span<const std::int32_t> antecedent(Index r) const {
    return {ante.data() + ante_off[r], static_cast<std::size_t>(ante_off[r + 1] - ante_off[r])};
  }
  [[nodiscard]] std::span<const std::int32_t> consequent(Index r) const {
    return {cons.data() + cons_off[r], static_cast<std::size_t>(cons_off[r + 1] - cons_off[r])};
  }
  [[nodiscard]] double measure(Measure m, Index r) const;
  void append(const Rules& o);
  void push(std::span<const std::int32_t> X, std::span<const std::int32_t> Y, const RuleMeasures& m, Index count);
  /// Keeps rules whose flag is set, in order.
  void keep(const std::vector<std::uint8_t>& flag);
};

/// Rules from a complete itemset table (every needed subset present, else a clear error).
Rules association_rules(const ItemsetTable& t, const RuleParams& p);
/// Convenience overload for mined itemsets.
Rules association_rules(const Itemsets& s, const RuleParams& p);

/// Flags redundant rules (1 = redundant) as defined above.
std::vector<std::uint8_t> redundant_rules(const Rules& r, int n_threads);

}  // namespace custmine::association
