// Histogram gradient boosting of decision trees (classification and regression).
//
// Each feature is cut into at most 255 bins (quantiles of a row subsample; a categorical
// feature gets one bin per category) plus one bin for missing values, and the data are
// stored as one byte per value. Each boosting iteration fits a tree to the gradients and
// hessians of the loss (second-order step, Friedman 2001; Chen & Guestrin 2016), growing
// it leaf-wise: the leaf with the largest gain splits next, until max_leaf_nodes. A
// node's split is found from per-bin gradient histograms (Ke et al. 2017, LightGBM);
// only the smaller child's histogram is built from rows, the larger one is the parent
// minus the smaller ("histogram subtraction"). Numeric splits try sending the missing
// bin left and right and keep the better (learned default direction); categorical splits
// sort the categories by gradient / (hessian + cat_smooth) and cut that order (LightGBM's
// many-vs-many split, after Fisher 1958). Monotonic constraints bound the children's
// values by the midpoint of the parent's split (scikit-learn's scheme).
// References: J. H. Friedman (2001), "Greedy function approximation: a gradient boosting
// machine", Annals of Statistics 29(5); G. Ke et al. (2017), "LightGBM: a highly efficient
// gradient boosting decision tree", NeurIPS 30; S. M. Lundberg, G. Erion, S.-I. Lee (2018)
// for TreeSHAP (predict_contributions).
// Complexity: binning O(F s log s) for a subsample of s rows; per tree O(F n_small) for
// histograms (n_small: rows of the smaller children, at most n log(leaves) in total) plus
// O(leaves F bins) for split search; predict O(T depth) per row; contributions O(T L D^2).
//
// Conventions: raw predictions are on the link scale (log-odds, log-mean, ...); a numeric
// split sends a row left when x <= threshold, NaN rows follow the node's missing
// direction. A categorical feature holds non-negative integer codes; NaN, and at predict
// time any code not seen in training, follow the missing direction. Histograms are summed
// row-wise over fixed groups of columns (a column is a feature, or a bundle of mutually
// exclusive sparse features such as one-hot columns: LightGBM's exclusive feature
// bundling); threads take whole groups (histograms) or row ranges (gradients, prediction)
// and every sum runs in row order, so the model does not depend on n_threads.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::tree {

enum class GBLoss { SquaredError, AbsoluteError, Poisson, Tweedie, LogLoss };

[[nodiscard]] std::string gb_loss_name(GBLoss l);
[[nodiscard]] GBLoss parse_gb_loss(const std::string& s);

struct GBDTParams {
  GBLoss loss = GBLoss::SquaredError;
  double variance_power = 1.5;      ///< Tweedie power, in [1, 2)
  double learning_rate = 0.1;
  int max_iter = 100;
  Index max_leaf_nodes = 31;        ///< -1: unlimited
  int max_depth = -1;               ///< -1: unlimited (root has depth 0)
  Index min_samples_leaf = 20;
  double min_sum_hessian = 1e-3;    ///< hessian needed in each child
  double l2_regularization = 0.0;
  int max_bins = 255;               ///< non-missing bins per feature, 2..255
  Index subsample_for_bins = 200000;
  double cat_smooth = 10.0;         ///< added to the hessian when ordering categories
  int max_cat_threshold = 32;       ///< most categories on the smaller side of a split
  std::vector<int> monotonic_cst;   ///< per feature -1/0/+1, or empty
  std::vector<char> categorical;    ///< per feature, or empty (all numeric)
  int n_iter_no_change = 10;
  double tol = 1e-7;
  std::uint64_t random_state = 0;   ///< binning subsample
  int n_threads = 1;                ///< not saved; results do not depend on it
  void validate() const;
  [[nodiscard]] json::object to_json() const;
  static GBDTParams from_json(const json::object& o);
};

/// Bin edges of one feature. Numeric: a value goes to the first bin b with x <= edges[b]
/// (the last edge is +inf). Categorical: bin b holds the category cats[b]. NaN goes to
/// bin n_bins().
struct BinMapper {
  bool categorical = false;
  std::vector<double> edges;  ///< numeric
  std::vector<double> cats;   ///< categorical: sorted category codes
  [[nodiscard]] int n_bins() const { return static_cast<int>(categorical ? cats.size() : edges.size()); }
  [[nodiscard]] int bin(double x) const;
};

/// A fitted boosted ensemble. Tree t = iteration * n_trees_per_iteration + class.
class GradientBoosting {
 public:
  GradientBoosting() = default;
  explicit GradientBoosting(GBDTParams p) : params_(std::move(p)) {}

  /// n_classes: 0 for regression, >= 2 for log-loss (class codes 0..K-1 in y). X_val may
  /// have zero rows (no early stopping); otherwise training stops when the validation
  /// loss has not improved by tol over n_iter_no_change iterations (scikit-learn's rule).
  void fit(const MatrixView<double>& X, std::span<const double> y, std::span<const double> sample_weight,
           int n_classes, const MatrixView<double>& X_val, std::span<const double> y_val,
           std::span<const double> w_val);

  [[nodiscard]] bool fitted() const { return !baseline_.empty(); }
  [[nodiscard]] Index n_features() const { return n_features_; }
  [[nodiscard]] int n_classes() const { return n_classes_; }
  [[nodiscard]] int n_trees_per_iteration() const { return n_classes_ > 2 ? n_classes_ : 1; }
  [[nodiscard]] int n_iter() const { return n_iter_; }
  [[nodiscard]] const GBDTParams& params() const { return params_; }
  [[nodiscard]] const std::vector<double>& baseline() const { return baseline_; }
  [[nodiscard]] const std::vector<BinMapper>& bin_mappers() const { return mappers_; }
  /// Negative mean loss after each iteration (index 0: the baseline); empty without a validation set.
  [[nodiscard]] const std::vector<double>& train_score() const { return train_score_; }
  [[nodiscard]] const std::vector<double>& validation_score() const { return val_score_; }

  /// Raw (link-scale) predictions, n x n_trees_per_iteration, using the first n_iter
  /// iterations (-1: all).
  [[nodiscard]] RowMatrix<double> raw_predict(const MatrixView<double>& X, int n_threads = 1,
                                              int n_iter = -1) const;
  /// Exact TreeSHAP of the raw prediction: n x ((n_features + 1) * K), the last row of
  /// each block being the expected value (baseline included); rows sum to raw_predict.
  [[nodiscard]] RowMatrix<double> contributions(const MatrixView<double>& X, int n_threads = 1) const;
  /// Total split gain (gain=true) or number of splits per feature.
  [[nodiscard]] std::vector<double> importances(bool gain) const;
  [[nodiscard]] Index n_nodes() const { return static_cast<Index>(nodes_.size()); }
  [[nodiscard]] Index n_leaves(Index tree) const;

  /// Node arrays of tree t (node ids local to the tree): feature (-1 leaf), threshold,
  /// left, right, missing_left, categorical left-set (category codes), value, gain, count.
  struct TreeView {
    std::vector<std::int32_t> feature, left, right;
    std::vector<double> threshold, value, gain, count;
    std::vector<char> missing_left;
    std::vector<std::vector<double>> cat_left;
  };
  [[nodiscard]] TreeView tree(Index t) const;
  [[nodiscard]] Index n_trees() const { return static_cast<Index>(roots_.size()); }

  [[nodiscard]] ModelDocument to_document() const;
  static GradientBoosting from_document(const ModelDocument& doc);

  /// Prediction-time node (32 bytes). Leaves have feature == -1.
  struct Node {
    double threshold;
    std::int32_t feature, left, right, cat;  ///< cat: index into cat bitsets or -1
    std::uint16_t bin;                       ///< numeric: left when bin code <= bin
    std::uint8_t missing_left, pad;
  };
  using Bitset = std::array<std::uint64_t, 4>;  ///< over bins 0..255

 private:
  friend struct GBDTBuilder;
  void check_X(const MatrixView<double>& X, std::string_view where) const;
  [[nodiscard]] bool goes_left(const Node& nd, double x) const;
  [[nodiscard]] std::int32_t leaf_of(std::int32_t root, const double* row) const;
  void add_contributions(std::int32_t root, const double* row, double* out, int K, int k) const;

  GBDTParams params_;
  Index n_features_ = 0;
  int n_classes_ = 0;
  int n_iter_ = 0;
  std::vector<BinMapper> mappers_;
  std::vector<double> baseline_;
  std::vector<Node> nodes_;
  std::vector<double> value_, gain_, count_;
  std::vector<Bitset> cats_;
  std::vector<std::int32_t> roots_;
  std::vector<double> train_score_, val_score_;
  std::vector<double> imp_gain_, imp_split_;
};

}  // namespace custmine::tree
