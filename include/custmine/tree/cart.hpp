// CART decision trees (classification and regression) and random forests.
//
// DecisionTree grows a binary tree by exhaustive search over every feature and every
// threshold between consecutive distinct values (the midpoint, as scikit-learn does), so
// on data whose best split is unique both libraries pick the same split. Growth is
// depth-first, or best-first (largest weighted impurity decrease first) when
// max_leaf_nodes is set. Minimal cost-complexity pruning collapses the weakest link
// while its effective alpha is <= ccp_alpha.
// References: L. Breiman, J. Friedman, R. Olshen, C. Stone (1984), "Classification and
// Regression Trees" (CART, cost-complexity pruning, ch. 3); L. Breiman (2001), "Random
// Forests", Machine Learning 45(1) (bootstrap + random feature subsets, OOB estimates).
// Complexity: fit O(F n log n) per tree level (each node sorts its rows per candidate
// feature), O(K) per threshold for K classes; predict O(depth) per row.
//
// Conventions: a row goes left when x[feature] <= threshold. Classification node values
// are weighted class totals; regression node values are the weighted mean. Impurities:
// gini, entropy (bits), squared error (weighted variance), Poisson (half deviance / W).
// Sample weights multiply (class weights are folded into them by the caller). Inputs
// are double; the Python layer passes float64.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::tree {

enum class Criterion { Gini, Entropy, SquaredError, Poisson };

[[nodiscard]] bool is_classification(Criterion c);
[[nodiscard]] std::string criterion_name(Criterion c);
[[nodiscard]] Criterion parse_criterion(const std::string& s);

struct TreeParams {
  Criterion criterion = Criterion::Gini;
  int max_depth = -1;                  ///< -1: unlimited
  Index min_samples_split = 2;         ///< rows needed to split a node (>= 2)
  Index min_samples_leaf = 1;          ///< rows needed in each child (>= 1)
  double min_weight_fraction_leaf = 0; ///< share of the total weight needed in each child (0..0.5)
  double min_impurity_decrease = 0.0;  ///< weighted decrease N_t/N (I - N_L/N_t I_L - N_R/N_t I_R)
  Index max_leaf_nodes = -1;           ///< -1: unlimited (depth-first); otherwise best-first
  double ccp_alpha = 0.0;              ///< cost-complexity pruning threshold
  int max_features = -1;               ///< features examined per node; -1: all
  std::uint64_t random_state = 0;      ///< feature visiting order (ties go to the first seen)
  /// 0: exact splits between every pair of distinct values (scikit-learn's). k >= 2: each
  /// feature's distinct values are first grouped into at most k quantile bins, and splits
  /// fall between bins: O(rows) per node and feature instead of a sort.
  int max_bins = 0;
  void validate() const;
  [[nodiscard]] json::object to_json() const;
  static TreeParams from_json(const json::object& o);
};

/// A fitted tree, stored as parallel arrays (node 0 is the root; leaves have left == -1).
class DecisionTree {
 public:
  DecisionTree() = default;
  explicit DecisionTree(TreeParams p) : params_(p) {}

  /// Classification: y holds class codes 0..n_classes-1 (as doubles). sample_weight may be empty.
  void fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sample_weight,
           int n_classes = 0);

  [[nodiscard]] bool fitted() const { return !feature_.empty(); }
  [[nodiscard]] Index n_features() const { return n_features_; }
  [[nodiscard]] int n_classes() const { return n_classes_; }
  [[nodiscard]] int n_outputs() const { return n_classes_ > 0 ? n_classes_ : 1; }
  [[nodiscard]] Index n_nodes() const { return static_cast<Index>(feature_.size()); }
  [[nodiscard]] Index n_leaves() const;
  [[nodiscard]] int depth() const;
  [[nodiscard]] const TreeParams& params() const { return params_; }

  /// Leaf index of each row.
  [[nodiscard]] std::vector<std::int32_t> apply(const MatrixView<double>& X, int n_threads = 1) const;
  /// Classification: class probabilities (n x K, row-major); regression: the mean (n x 1).
  [[nodiscard]] RowMatrix<double> predict_values(const MatrixView<double>& X, int n_threads = 1) const;
  /// Leaf index of one row (no checks).
  [[nodiscard]] std::int32_t leaf_of(const double* row) const;
  /// Normalised output of a node (probabilities or mean) written to out[0..n_outputs).
  void node_output(std::int32_t node, double* out) const;
  /// Adds the outputs (node_output of leaf_of) of rows [b, e) of X to out, row-major
  /// (e - b) x n_outputs.
  void add_outputs(const MatrixView<double>& X, Index b, Index e, double* out) const;
  /// Exact TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized feature
  /// attribution for tree ensembles", Algorithm 2; path-dependent, covers = training weight):
  /// adds scale * phi to out, laid out (n_features + 1) x n_outputs row-major, the last row
  /// being the expected value. Per row, the contributions sum to the node output. O(L D^2).
  void add_contributions(const double* row, double scale, double* out) const;
  /// Contributions for every row: n x ((n_features + 1) * n_outputs).
  [[nodiscard]] RowMatrix<double> contributions(const MatrixView<double>& X, int n_threads = 1) const;
  /// Unnormalised feature importances (total weighted impurity decrease per feature).
  [[nodiscard]] std::vector<double> raw_importances() const;
  /// Minimal cost-complexity pruning path of this tree: effective alphas and the total
  /// leaf impurity (weighted by node share) of each pruned subtree, from the full tree down to the root.
  void pruning_path(std::vector<double>& alphas, std::vector<double>& impurities) const;

  // node arrays
  const std::vector<std::int32_t>& feature() const { return feature_; }
  const std::vector<double>& threshold() const { return threshold_; }
  const std::vector<std::int32_t>& left() const { return left_; }
  const std::vector<std::int32_t>& right() const { return right_; }
  const std::vector<double>& impurity() const { return impurity_; }
  const std::vector<Index>& n_node_samples() const { return n_samples_; }
  const std::vector<double>& weighted_n_node_samples() const { return weight_; }
  const std::vector<double>& value() const { return value_; }  ///< n_nodes x n_outputs

  [[nodiscard]] json::object state_json() const;
  static DecisionTree from_state_json(const TreeParams& p, const json::object& state, std::string_view where);
  [[nodiscard]] ModelDocument to_document() const;
  static DecisionTree from_document(const ModelDocument& doc);

 private:
  friend struct TreeBuilder;
  void prune(double alpha);
  void check_X(const MatrixView<double>& X, std::string_view where) const;
  void pack();  ///< builds nodes_ from the node arrays (after fit, pruning or loading)

  /// The split fields a row visits, in one 24-byte record per node (prediction reads
  /// one cache line per node instead of four arrays).
  struct Packed {
    double threshold;
    std::int32_t feature, left, right, pad;
  };
  std::vector<Packed> nodes_;
  std::vector<double> out_;  ///< per node, the output node_output returns (normalised class shares)

  TreeParams params_;
  Index n_features_ = 0;
  int n_classes_ = 0;
  std::vector<std::int32_t> feature_, left_, right_;
  std::vector<double> threshold_, impurity_, weight_, value_;
  std::vector<Index> n_samples_;
};

struct ForestParams {
  TreeParams tree;
  int n_estimators = 100;
  bool bootstrap = true;
  Index max_samples = -1;  ///< rows drawn per tree when bootstrapping; -1: n
  bool oob_score = false;
  int n_threads = 1;       ///< results do not depend on it
  void validate() const;
};

/// Random forest: each tree t is grown from Rng::stream(random_state, t), so the model
/// does not depend on the thread count.
class RandomForest {
 public:
  RandomForest() = default;
  explicit RandomForest(ForestParams p) : params_(p) {}

  void fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sample_weight,
           int n_classes = 0);
  [[nodiscard]] bool fitted() const { return !trees_.empty(); }
  /// Mean over trees of the tree outputs (probabilities or means), n x n_outputs.
  [[nodiscard]] RowMatrix<double> predict_values(const MatrixView<double>& X, int n_threads = 1) const;
  [[nodiscard]] std::vector<double> feature_importances() const;
  /// Mean of the trees' TreeSHAP contributions: n x ((n_features + 1) * n_outputs).
  [[nodiscard]] RowMatrix<double> contributions(const MatrixView<double>& X, int n_threads = 1) const;
  [[nodiscard]] const std::vector<DecisionTree>& trees() const { return trees_; }
  [[nodiscard]] const ForestParams& params() const { return params_; }
  /// Out-of-bag mean outputs (n x n_outputs; NaN rows never out of bag). Empty unless oob_score.
  [[nodiscard]] const RowMatrix<double>& oob_values() const { return oob_; }
  [[nodiscard]] Index n_features() const { return n_features_; }
  [[nodiscard]] int n_classes() const { return n_classes_; }

  [[nodiscard]] ModelDocument to_document() const;
  static RandomForest from_document(const ModelDocument& doc);

 private:
  ForestParams params_;
  Index n_features_ = 0;
  int n_classes_ = 0;
  std::vector<DecisionTree> trees_;
  RowMatrix<double> oob_;
};

}  // namespace custmine::tree
