// K-means clustering (customer segmentation) and the silhouette coefficient.
//
// Minimises the weighted within-cluster sum of squares (inertia). Initialisation by
// greedy k-means++ (Arthur & Vassilvitskii 2007, "k-means++: the advantages of careful
// seeding"; 2 + floor(ln k) candidates per step, keeping the one that lowers the
// potential most), by k distinct random rows, or from given centers. Iterations by
// Lloyd's algorithm (Lloyd 1982) on blocks of 2048 rows with one matrix product per
// block (|x|^2 - 2 x.c + |c|^2); by Hamerly's algorithm (Hamerly 2010, "Making k-means
// even faster", the default), which keeps one upper and one lower distance bound per
// row and revisits only the rows whose bounds allow a change, updating the cluster sums
// for the rows that move; or by Elkan's algorithm (Elkan 2003, "Using the triangle
// inequality to accelerate k-means"), with k lower bounds per row (floats rounded down)
// and the same incremental cluster sums. All three reach
// Lloyd's fixed point in the same number of iterations (up to near-ties). Empty
// clusters take the points farthest from their centers. Runs n_init times and keeps
// the lowest inertia.
//
// Complexity: Lloyd O(n k p) per iteration; Hamerly O(n) bound updates plus the rows
// they cannot settle, memory O(n p): a float copy of X less the reference point (4 bytes per
// element, half of X; scikit-learn centres a full copy) that its bound tests read, with
// rounding margins that keep the bounds valid; Elkan O(n k) bound updates plus the
// distances it cannot rule out, memory O(n k) (4 k bytes per row). Silhouette O(n^2 p).
//
// Determinism: run r draws from Rng::stream(seed, r); row sums are reduced in fixed
// blocks set by n only, so results are identical for any n_threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine::cluster {

enum class KMeansInit { KMeansPlusPlus, Random };
enum class KMeansAlgorithm { Lloyd, Elkan, Hamerly };

class KMeans {
 public:
  struct Params {
    int n_clusters = 8;
    KMeansInit init = KMeansInit::KMeansPlusPlus;
    int n_init = 1;
    int max_iter = 300;
    double tol = 1e-4;  ///< relative to the mean feature variance, as scikit-learn
    KMeansAlgorithm algorithm = KMeansAlgorithm::Hamerly;
    std::uint64_t seed = 0;
    int n_threads = 1;
    void validate() const;
  };

  KMeans() = default;
  explicit KMeans(Params p) : params_(p) {}

  /// Fits on X; weight may be empty. With `init_centers` (k x p) the runs start from
  /// those centers (one run).
  KMeans& fit(MatrixView<double> X, std::span<const double> weight = {},
              const RowMatrix<double>* init_centers = nullptr);

  /// Nearest center per row.
  [[nodiscard]] std::vector<std::int32_t> predict(MatrixView<double> X) const;
  /// Euclidean distance from each row to each center (n x k).
  [[nodiscard]] RowMatrix<double> transform(MatrixView<double> X) const;
  /// Weighted sum of squared distances of X to its nearest centers.
  [[nodiscard]] double inertia_of(MatrixView<double> X, std::span<const double> weight = {}) const;

  [[nodiscard]] const Params& params() const { return params_; }
  [[nodiscard]] bool is_fitted() const { return centers_.rows() > 0; }
  [[nodiscard]] const RowMatrix<double>& centers() const { return centers_; }
  [[nodiscard]] const std::vector<std::int32_t>& labels() const { return labels_; }
  [[nodiscard]] double inertia() const { return inertia_; }
  [[nodiscard]] int n_iter() const { return n_iter_; }

  [[nodiscard]] ModelDocument to_document() const;
  static KMeans from_document(const ModelDocument& doc);

 private:
  /// Fitted, X of the fitted width and (unless the caller reads it off its own pass) finite.
  void check_predict_input(std::string_view where, MatrixView<double> X, bool scan_finite = true) const;
  Params params_;
  RowMatrix<double> centers_;
  Eigen::RowVectorXd reference_;  ///< distances are expanded about it (near the training mean)
  std::vector<std::int32_t> labels_;
  double inertia_ = 0;
  int n_iter_ = 0;
};

/// Greedy k-means++ centers (k x p) drawn with `rng_seed` / `stream`.
RowMatrix<double> kmeans_plusplus(MatrixView<double> X, std::span<const double> weight, int k,
                                  std::uint64_t seed, std::uint64_t stream, int n_threads);

/// Silhouette coefficient of each row (Rousseeuw 1987) for labels 0..n_labels-1;
/// a row alone in its cluster scores 0. Needs 2 <= n_labels <= n - 1.
std::vector<double> silhouette_samples(MatrixView<double> X, std::span<const std::int32_t> labels,
                                       int n_labels, int n_threads);

}  // namespace custmine::cluster
