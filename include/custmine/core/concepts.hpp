// What each kind of model provides, stated as C++20 concepts.
#pragma once

#include <concepts>
#include <string>

#include "custmine/core/matrix.hpp"
#include "custmine/core/serialize.hpp"

namespace custmine {

/// Anything that can be saved and checked for fitted state.
template <class M>
concept Serializable = requires(const M& m, const ModelDocument& d) {
  { m.to_document() } -> std::same_as<ModelDocument>;
  { M::from_document(d) } -> std::same_as<M>;
  { m.is_fitted() } -> std::convertible_to<bool>;
};

/// A model with hyper-parameters checked before fitting.
template <class M>
concept Estimator = Serializable<M> && requires(const M& m) {
  typename M::Params;
  { m.params() } -> std::convertible_to<const typename M::Params&>;
};

template <class M, class T = double>
concept Classifier = Estimator<M> && requires(M& m, const M& cm, MatrixView<T> X, VectorView<T> y) {
  m.fit(X, y);
  { cm.predict_proba(X) } -> std::convertible_to<RowMatrix<T>>;
};

template <class M, class T = double>
concept Regressor = Estimator<M> && requires(M& m, const M& cm, MatrixView<T> X, VectorView<T> y) {
  m.fit(X, y);
  { cm.predict(X) } -> std::convertible_to<Vector<T>>;
};

template <class M, class T = double>
concept OutlierDetector = Estimator<M> && requires(M& m, const M& cm, MatrixView<T> X) {
  m.fit(X);
  { cm.score_samples(X) } -> std::convertible_to<Vector<T>>;
};

template <class M, class T = double>
concept Transformer = Estimator<M> && requires(M& m, const M& cm, MatrixView<T> X) {
  m.fit(X);
  { cm.transform(X) } -> std::convertible_to<RowMatrix<T>>;
};

}  // namespace custmine
