// Naive Bayes classifiers: Gaussian (numeric features) and categorical (coded features).
//
// GaussianNB: per class and feature a normal density; variances get var_smoothing times
// the largest feature variance added (as scikit-learn). partial_fit merges batches with
// the pairwise update of Chan, Golub & LeVeque (1979), "Updating formulae and a pairwise
// algorithm for computing sample variances". CategoricalNB: per class and feature the
// category frequencies with additive (Lidstone) smoothing alpha; categories are codes
// 0..m_j-1 and may grow between partial_fit batches. Reference for both: Manning,
// Raghavan & Schuetze (2008), "Introduction to Information Retrieval", ch. 13.
//
// Complexity: fit O(n p); prediction O(n p k). Memory O(k p) (Gaussian) and
// O(k sum_j m_j) (categorical).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::classification {

class GaussianNB {
 public:
  struct Params {
    double var_smoothing = 1e-9;
    std::vector<double> priors;  ///< empty = class frequencies
    int n_threads = 1;
    void validate() const;
  };
  GaussianNB() = default;
  explicit GaussianNB(Params p) : params_(std::move(p)) {}

  /// Fresh fit on class codes 0..n_classes-1.
  GaussianNB& fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                  std::span<const double> weight = {});
  /// Adds a batch (the first call fixes n_classes and the feature count).
  GaussianNB& partial_fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                          std::span<const double> weight = {});
  [[nodiscard]] RowMatrix<double> joint_log_likelihood(MatrixView<double> X) const;
  [[nodiscard]] RowMatrix<double> predict_proba(MatrixView<double> X) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return theta_.rows() > 0; }
  [[nodiscard]] const RowMatrix<double>& theta() const { return theta_; }
  [[nodiscard]] const RowMatrix<double>& var() const { return var_; }
  [[nodiscard]] const Vector<double>& class_count() const { return class_count_; }
  [[nodiscard]] Vector<double> class_prior() const;
  [[nodiscard]] double epsilon() const { return epsilon_; }

  [[nodiscard]] ModelDocument to_document() const;
  static GaussianNB from_document(const ModelDocument& doc);

 private:
  Params params_;
  RowMatrix<double> theta_, var_;  // k x p; var_ includes epsilon_
  Vector<double> class_count_;
  double epsilon_ = 0;
};

class CategoricalNB {
 public:
  struct Params {
    double alpha = 1.0;          ///< additive smoothing, >= 0 (values below 1e-10 use 1e-10)
    bool fit_prior = true;       ///< false: uniform class prior
    std::vector<double> class_prior;  ///< given prior (overrides fit_prior)
    std::vector<std::int64_t> min_categories;  ///< per feature, or one value for all, or empty
    int n_threads = 1;
    void validate() const;
  };
  CategoricalNB() = default;
  explicit CategoricalNB(Params p) : params_(std::move(p)) {}

  /// X holds non-negative integer category codes (as doubles).
  CategoricalNB& fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                     std::span<const double> weight = {});
  CategoricalNB& partial_fit(MatrixView<double> X, std::span<const std::int64_t> y, std::int64_t n_classes,
                             std::span<const double> weight = {});
  [[nodiscard]] RowMatrix<double> joint_log_likelihood(MatrixView<double> X) const;
  [[nodiscard]] RowMatrix<double> predict_proba(MatrixView<double> X) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return class_count_.size() > 0; }
  [[nodiscard]] const Vector<double>& class_count() const { return class_count_; }
  [[nodiscard]] Vector<double> class_log_prior() const;
  /// Per feature: k x m_j category counts.
  [[nodiscard]] const std::vector<RowMatrix<double>>& category_count() const { return counts_; }
  /// Per feature: k x m_j log P(category | class).
  [[nodiscard]] std::vector<RowMatrix<double>> feature_log_prob() const;

  [[nodiscard]] ModelDocument to_document() const;
  static CategoricalNB from_document(const ModelDocument& doc);

 private:
  Params params_;
  std::vector<RowMatrix<double>> counts_;
  Vector<double> class_count_;
};

}  // namespace custmine::classification
