// The part every anomaly detector shares: decision_function, predict, anomaly_score and
// top_attributes written once on top of a detector's score_samples and explain (CRTP),
// plus the fitted offset and the training feature profile. See common.hpp for the
// score convention.
#pragma once

#include "custmine/anomaly/common.hpp"

namespace custmine::anomaly {

template <class Derived, class T>
class DetectorBase {
 public:
  /// score_samples(X) - offset: negative for outliers.
  [[nodiscard]] Vector<double> decision_function(MatrixView<T> X) const {
    Vector<double> s = self().score_samples(X);
    s.array() -= offset_;
    return s;
  }
  /// +1 inlier / -1 outlier.
  [[nodiscard]] Vector<std::int32_t> predict(MatrixView<T> X) const {
    return labels_from_decision(decision_function(X));
  }
  /// -score_samples(X): higher = more abnormal.
  [[nodiscard]] Vector<double> anomaly_score(MatrixView<T> X) const { return -self().score_samples(X); }
  /// The k features of each row whose contribution most exceeds its training median.
  [[nodiscard]] TopK top_attributes(MatrixView<T> X, int k) const {
    return top_k_features(self().explain(X), profile_.baseline, k);
  }
  [[nodiscard]] double offset() const { return offset_; }
  [[nodiscard]] const FeatureProfile& profile() const { return profile_; }
  [[nodiscard]] Index n_features() const { return n_features_; }

 protected:
  /// Called at the end of fit, once score_samples/explain work: offset and profile.
  void finish_fit(MatrixView<T> X, const Vector<double>& train_scores, const Contamination& c, double auto_offset,
                  int n_threads = 1) {
    offset_ = offset_from_scores(train_scores, c, auto_offset);
    profile_ = feature_ranges<T>(X, n_threads);
    const RowMatrix<T> rows = baseline_rows<T>(X);
    profile_.baseline = column_medians(self().explain(rows));
  }
  void write_common(ModelDocument& doc) const {
    doc.state["n_features"] = n_features_;
    doc.state["offset"] = json_number(offset_);
    doc.state["profile"] = profile_.to_json();
  }
  void read_common(const ModelDocument& doc, std::string_view where) {
    n_features_ = json_size(doc.state, "n_features", 1, std::int64_t{1} << 24, where);
    offset_ = json_double(doc.state, "offset", where);
    profile_ = FeatureProfile::from_json(doc.state, static_cast<std::size_t>(n_features_), where);
  }

  double offset_ = 0.0;
  FeatureProfile profile_;
  Index n_features_ = 0;

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace custmine::anomaly
