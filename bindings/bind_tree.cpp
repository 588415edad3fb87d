// Tree bindings: the native DecisionTree and RandomForest behind custmine.tree / custmine.ensemble.
#include "common.hpp"
#include "custmine/tree/cart.hpp"

namespace custmine::bind {
namespace {

using tree::DecisionTree;
using tree::RandomForest;
using tree::TreeParams;

Eigen::Map<const RowMatrix<double>> matrix(const Array<double>& X, std::string_view where) {
  if (X.ndim() != 2) fail<ShapeError>(where, "X must be 2-dimensional, got ", X.ndim(), " dimensions");
  return {X.data(), X.shape(0), X.shape(1)};
}

TreeParams make_params(const std::string& criterion, int max_depth, Index min_samples_split, Index min_samples_leaf,
                       double min_weight_fraction_leaf, double min_impurity_decrease, Index max_leaf_nodes, double ccp_alpha, int max_features,
                       std::uint64_t random_state, int max_bins = 0) {
  TreeParams p;
  p.criterion = tree::parse_criterion(criterion);
  p.max_depth = max_depth;
  p.min_samples_split = min_samples_split;
  p.min_samples_leaf = min_samples_leaf;
  p.min_weight_fraction_leaf = min_weight_fraction_leaf;
  p.min_impurity_decrease = min_impurity_decrease;
  p.max_leaf_nodes = max_leaf_nodes;
  p.ccp_alpha = ccp_alpha;
  p.max_features = max_features;
  p.random_state = random_state;
  p.max_bins = max_bins;
  p.validate();
  return p;
}

template <class T>
py::array_t<T> vec(const std::vector<T>& v) {
  return to_numpy(v);
}

}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(tree) {
  using namespace custmine;
  using namespace custmine::bind;
  py::module_ root = m;
  m = root.def_submodule("tree", "CART decision trees and random forests");

  py::class_<DecisionTree>(m, "DecisionTree")
      .def(py::init([](const std::string& criterion, int max_depth, Index min_samples_split, Index min_samples_leaf,
                       double min_weight_fraction_leaf, double min_impurity_decrease, Index max_leaf_nodes, double ccp_alpha, int max_features,
                       std::uint64_t random_state, int max_bins) {
             return DecisionTree(make_params(criterion, max_depth, min_samples_split, min_samples_leaf, min_weight_fraction_leaf,
                                             min_impurity_decrease, max_leaf_nodes, ccp_alpha, max_features,
                                             random_state, max_bins));
           }),
           py::arg("criterion"), py::arg("max_depth"), py::arg("min_samples_split"), py::arg("min_samples_leaf"),
           py::arg("min_weight_fraction_leaf"), py::arg("min_impurity_decrease"), py::arg("max_leaf_nodes"), py::arg("ccp_alpha"),
           py::arg("max_features"), py::arg("random_state"), py::arg("max_bins") = 0)
      .def("fit", [](DecisionTree& t, const Array<double>& X, const Array<double>& y, const Array<double>& w,
                     int n_classes) {
            auto map = matrix(X, "DecisionTree.fit");
            auto ys = span1d(y, "DecisionTree.fit", "y");
            auto ws = span1d(w, "DecisionTree.fit", "sample_weight");
            py::gil_scoped_release nogil;
            t.fit(map, ys, ws, n_classes);
          }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("n_classes"))
      .def("predict_values", [](const DecisionTree& t, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "DecisionTree.predict");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = t.predict_values(map, n_threads);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("apply", [](const DecisionTree& t, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "DecisionTree.apply");
            std::vector<std::int32_t> out;
            {
              py::gil_scoped_release nogil;
              out = t.apply(map, n_threads);
            }
            return vec(out);
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("contributions", [](const DecisionTree& t, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "DecisionTree.predict_contributions");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = t.contributions(map, n_threads);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("raw_importances", [](const DecisionTree& t) { return vec(t.raw_importances()); })
      .def("pruning_path", [](const DecisionTree& t) {
            std::vector<double> a, i;
            t.pruning_path(a, i);
            return py::make_tuple(vec(a), vec(i));
          })
      .def_property_readonly("n_leaves", &DecisionTree::n_leaves)
      .def_property_readonly("depth", &DecisionTree::depth)
      .def_property_readonly("n_classes", &DecisionTree::n_classes)
      .def("arrays", [](const DecisionTree& t) {
            py::dict d;
            d["feature"] = vec(t.feature());
            d["threshold"] = vec(t.threshold());
            d["children_left"] = vec(t.left());
            d["children_right"] = vec(t.right());
            d["impurity"] = vec(t.impurity());
            d["n_node_samples"] = vec(t.n_node_samples());
            d["weighted_n_node_samples"] = vec(t.weighted_n_node_samples());
            auto v = vec(t.value());
            d["value"] = v.reshape({static_cast<py::ssize_t>(t.n_nodes()), static_cast<py::ssize_t>(t.n_outputs())});
            return d;
          })
      .def("to_json", [](const DecisionTree& t) { return to_json(t.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return DecisionTree::from_document(from_json(text, "DecisionTree"));
          }, py::arg("text"));

  py::class_<RandomForest>(m, "RandomForest")
      .def(py::init([](const std::string& criterion, int max_depth, Index min_samples_split, Index min_samples_leaf,
                       double min_weight_fraction_leaf, double min_impurity_decrease, Index max_leaf_nodes, double ccp_alpha, int max_features,
                       std::uint64_t random_state, int n_estimators, bool bootstrap, Index max_samples,
                       bool oob_score, int n_threads, int max_bins) {
             tree::ForestParams p;
             p.tree = make_params(criterion, max_depth, min_samples_split, min_samples_leaf, min_weight_fraction_leaf, min_impurity_decrease,
                                  max_leaf_nodes, ccp_alpha, max_features, random_state, max_bins);
             p.n_estimators = n_estimators;
             p.bootstrap = bootstrap;
             p.max_samples = max_samples;
             p.oob_score = oob_score;
             p.n_threads = n_threads;
             p.validate();
             return RandomForest(p);
           }),
           py::arg("criterion"), py::arg("max_depth"), py::arg("min_samples_split"), py::arg("min_samples_leaf"),
           py::arg("min_weight_fraction_leaf"), py::arg("min_impurity_decrease"), py::arg("max_leaf_nodes"), py::arg("ccp_alpha"),
           py::arg("max_features"), py::arg("random_state"), py::arg("n_estimators"), py::arg("bootstrap"),
           py::arg("max_samples"), py::arg("oob_score"), py::arg("n_threads"), py::arg("max_bins") = 0)
      .def("fit", [](RandomForest& f, const Array<double>& X, const Array<double>& y, const Array<double>& w,
                     int n_classes) {
            auto map = matrix(X, "RandomForest.fit");
            auto ys = span1d(y, "RandomForest.fit", "y");
            auto ws = span1d(w, "RandomForest.fit", "sample_weight");
            py::gil_scoped_release nogil;
            f.fit(map, ys, ws, n_classes);
          }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("n_classes"))
      .def("predict_values", [](const RandomForest& f, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "RandomForest.predict");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = f.predict_values(map, n_threads);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("contributions", [](const RandomForest& f, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "RandomForest.predict_contributions");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = f.contributions(map, n_threads);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("feature_importances", [](const RandomForest& f) { return vec(f.feature_importances()); })
      .def("oob_values", [](const RandomForest& f) { return RowMatrix<double>(f.oob_values()); })
      .def_property_readonly("n_trees", [](const RandomForest& f) { return f.trees().size(); })
      .def("tree", [](const RandomForest& f, std::size_t i) {
            require(i < f.trees().size(), "RandomForest.tree", "index out of range");
            return f.trees()[i];
          }, py::arg("i"))
      .def("to_json", [](const RandomForest& f) { return to_json(f.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return RandomForest::from_document(from_json(text, "RandomForest"));
          }, py::arg("text"));
}
