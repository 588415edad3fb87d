// FastMCD (Rousseeuw & Van Driessen 1999) and the EllipticEnvelope instantiations.
#include <Eigen/Eigenvalues>
#include <boost/math/distributions/chi_squared.hpp>

#include "custmine/anomaly/mcd_impl.hpp"
#include "custmine/core/random.hpp"

namespace custmine::anomaly {

double chi2_quantile(double p, int d) {
  return boost::math::quantile(boost::math::chi_squared_distribution<double>(d), p);
}

RowMatrix<double> pinv_symmetric(const RowMatrix<double>& A) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(A);
  const Eigen::VectorXd& l = es.eigenvalues();
  const double cut = std::max(l.cwiseAbs().maxCoeff(), 1e-300) * static_cast<double>(A.rows()) * 1e-15;
  Eigen::VectorXd inv(l.size());
  for (Index i = 0; i < l.size(); ++i) inv[i] = l[i] > cut ? 1.0 / l[i] : 0.0;
  return es.eigenvectors() * inv.asDiagonal() * es.eigenvectors().transpose();
}

namespace {

struct Est {
  Vector<double> mu;
  RowMatrix<double> cov;
  RowMatrix<double> prec;
  double log_det = 0;
};

// Mean, biased covariance, log-determinant (-inf when singular) and (pseudo-)inverse.
Est estimate(const RowMatrix<double>& X, const std::vector<Index>& rows) {
  const Index d = X.cols();
  Est e;
  e.mu = Vector<double>::Zero(d);
  for (Index r : rows) e.mu += X.row(r).transpose();
  e.mu /= static_cast<double>(rows.size());
  e.cov = RowMatrix<double>::Zero(d, d);
  for (Index r : rows) {
    const Vector<double> z = X.row(r).transpose() - e.mu;
    e.cov.noalias() += z * z.transpose();
  }
  e.cov /= static_cast<double>(rows.size());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(e.cov);
  const Eigen::VectorXd& l = es.eigenvalues();
  const double cut = std::max(l.cwiseAbs().maxCoeff(), 1e-300) * static_cast<double>(d) * 1e-12;
  Eigen::VectorXd inv(d);
  bool singular = false;
  double ld = 0;
  for (Index i = 0; i < d; ++i) {
    if (l[i] > cut) {
      inv[i] = 1.0 / l[i];
      ld += std::log(l[i]);
    } else {
      inv[i] = 0.0;
      singular = true;
    }
  }
  e.log_det = singular ? -std::numeric_limits<double>::infinity() : ld;
  e.prec = es.eigenvectors() * inv.asDiagonal() * es.eigenvectors().transpose();
  return e;
}

double dist2(const RowMatrix<double>& X, Index r, const Est& e) {
  const Vector<double> z = X.row(r).transpose() - e.mu;
  return z.dot(e.prec * z);
}

// C-steps on `pool` keeping h rows: at most `steps`, or until the determinant stops
// decreasing. Returns the final estimate and its subset.
Est c_steps(const RowMatrix<double>& X, const std::vector<Index>& pool, Est e, Index h, int steps,
            std::vector<Index>* subset_out = nullptr) {
  std::vector<std::pair<double, Index>> dd(pool.size());
  std::vector<Index> subset;
  for (int s = 0; s < steps; ++s) {
    if (e.log_det == -std::numeric_limits<double>::infinity()) break;  // exact fit: cannot improve
    for (std::size_t i = 0; i < pool.size(); ++i) dd[i] = {dist2(X, pool[i], e), pool[i]};
    std::nth_element(dd.begin(), dd.begin() + (h - 1), dd.end());
    subset.resize(static_cast<std::size_t>(h));
    for (Index i = 0; i < h; ++i) subset[i] = dd[i].second;
    std::sort(subset.begin(), subset.end());
    Est next = estimate(X, subset);
    // The first step leaves a (d+1)-start, whose determinant is not comparable; later
    // steps never increase the determinant (the C-step theorem), so equality = converged.
    const bool improved = s == 0 || next.log_det < e.log_det - 1e-12 * std::max(1.0, std::abs(e.log_det));
    if (s == 0 || next.log_det <= e.log_det) e = std::move(next);
    if (!improved) break;
  }
  if (subset_out) *subset_out = std::move(subset);
  return e;
}

// Random (d+1)-subset start, extended with further random rows while singular.
Est random_start(const RowMatrix<double>& X, const std::vector<Index>& pool, Index h, Rng& rng) {
  const Index d = X.cols();
  std::vector<Index> perm = pool;
  const Index m = static_cast<Index>(perm.size());
  Index size = std::min<Index>(d + 1, m);
  for (Index i = 0; i < m && i < h; ++i) std::swap(perm[i], perm[i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(m - i)))]);
  while (true) {
    std::vector<Index> rows(perm.begin(), perm.begin() + size);
    Est e = estimate(X, rows);
    if (e.log_det > -std::numeric_limits<double>::infinity() || size >= std::min(h, m)) return e;
    ++size;
  }
}

void keep_best(std::vector<Est>& v, std::size_t k) {
  std::sort(v.begin(), v.end(), [](const Est& a, const Est& b) { return a.log_det < b.log_det; });
  if (v.size() > k) v.resize(k);
}

}  // namespace

McdRaw fast_mcd(const RowMatrix<double>& X, Index h, std::uint64_t seed, int n_trials) {
  const Index n = X.rows(), d = X.cols();
  Rng rng(seed);
  std::vector<Index> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), Index{0});
  std::vector<Est> best;
  if (n > 600) {
    std::vector<Index> perm = all;
    for (Index i = 0; i < std::min<Index>(n, 1500); ++i)
      std::swap(perm[i], perm[i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - i)))]);
    const Index merged_n = std::min<Index>(n, 1500);
    const Index k = std::clamp<Index>(merged_n / 300, 1, 5);
    const Index sub_n = merged_n / k;
    std::vector<Index> merged(perm.begin(), perm.begin() + k * sub_n);
    std::vector<Est> cands;
    for (Index s = 0; s < k; ++s) {
      Interrupt::check("EllipticEnvelope::fit");
      std::vector<Index> sub(merged.begin() + s * sub_n, merged.begin() + (s + 1) * sub_n);
      const Index h_sub = std::max<Index>(d + 1, static_cast<Index>(std::ceil(static_cast<double>(sub_n) * h / n)));
      std::vector<Est> local;
      for (int t = 0; t < std::max(1, n_trials / static_cast<int>(k)); ++t)
        local.push_back(c_steps(X, sub, random_start(X, sub, h_sub, rng), h_sub, 2));
      keep_best(local, 10);
      for (auto& e : local) cands.push_back(std::move(e));
    }
    const Index h_m = std::max<Index>(d + 1, static_cast<Index>(std::ceil(static_cast<double>(merged.size()) * h / n)));
    for (auto& e : cands) e = c_steps(X, merged, std::move(e), h_m, 2);
    keep_best(cands, 10);
    best = std::move(cands);
  } else {
    for (int t = 0; t < n_trials; ++t) {
      if ((t & 63) == 0) Interrupt::check("EllipticEnvelope::fit");
      best.push_back(c_steps(X, all, random_start(X, all, h, rng), h, 2));
    }
    keep_best(best, 10);
  }
  Est winner;
  winner.log_det = std::numeric_limits<double>::infinity();
  for (auto& e : best) {
    Est f = c_steps(X, all, std::move(e), h, 100);
    if (f.log_det < winner.log_det || winner.mu.size() == 0) winner = std::move(f);
  }
  return {winner.mu, winner.cov, winner.log_det};
}

template class EllipticEnvelope<double>;
template class EllipticEnvelope<float>;

}  // namespace custmine::anomaly
