// Tree bindings: the native DecisionTree and RandomForest behind custmine.tree / custmine.ensemble.
#include "common.hpp"
#include "custmine/tree/cart.hpp"
#include "custmine/tree/gbdt.hpp"

namespace custmine::bind {
namespace {

using tree::DecisionTree;
using tree::GradientBoosting;
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
  m = root.def_submodule("tree", "CART decision trees, random forests and histogram gradient boosting");

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

  py::class_<GradientBoosting>(m, "GradientBoosting")
      .def(py::init([](const std::string& loss, double variance_power, double learning_rate, int max_iter,
                       Index max_leaf_nodes, int max_depth, Index min_samples_leaf, double min_sum_hessian,
                       double l2_regularization, int max_bins, Index subsample_for_bins, double cat_smooth,
                       int max_cat_threshold, std::vector<int> monotonic_cst, std::vector<bool> categorical,
                       int n_iter_no_change, double tol, std::uint64_t random_state, int n_threads) {
             tree::GBDTParams p;
             p.loss = tree::parse_gb_loss(loss);
             p.variance_power = variance_power;
             p.learning_rate = learning_rate;
             p.max_iter = max_iter;
             p.max_leaf_nodes = max_leaf_nodes;
             p.max_depth = max_depth;
             p.min_samples_leaf = min_samples_leaf;
             p.min_sum_hessian = min_sum_hessian;
             p.l2_regularization = l2_regularization;
             p.max_bins = max_bins;
             p.subsample_for_bins = subsample_for_bins;
             p.cat_smooth = cat_smooth;
             p.max_cat_threshold = max_cat_threshold;
             p.monotonic_cst = std::move(monotonic_cst);
             for (bool c : categorical) p.categorical.push_back(c ? 1 : 0);
             p.n_iter_no_change = n_iter_no_change;
             p.tol = tol;
             p.random_state = random_state;
             p.n_threads = n_threads;
             p.validate();
             return GradientBoosting(p);
           }),
           py::arg("loss"), py::arg("variance_power"), py::arg("learning_rate"), py::arg("max_iter"),
           py::arg("max_leaf_nodes"), py::arg("max_depth"), py::arg("min_samples_leaf"), py::arg("min_sum_hessian"),
           py::arg("l2_regularization"), py::arg("max_bins"), py::arg("subsample_for_bins"), py::arg("cat_smooth"),
           py::arg("max_cat_threshold"), py::arg("monotonic_cst"), py::arg("categorical"),
           py::arg("n_iter_no_change"), py::arg("tol"), py::arg("random_state"), py::arg("n_threads"))
      .def("fit", [](GradientBoosting& g, const Array<double>& X, const Array<double>& y, const Array<double>& w,
                     int n_classes, const Array<double>& X_val, const Array<double>& y_val, const Array<double>& w_val) {
            auto map = matrix(X, "GradientBoosting.fit");
            auto vmap = matrix(X_val, "GradientBoosting.fit");
            auto ys = span1d(y, "GradientBoosting.fit", "y");
            auto ws = span1d(w, "GradientBoosting.fit", "sample_weight");
            auto yv = span1d(y_val, "GradientBoosting.fit", "y_val");
            auto wv = span1d(w_val, "GradientBoosting.fit", "sample_weight_val");
            py::gil_scoped_release nogil;
            g.fit(map, ys, ws, n_classes, vmap, yv, wv);
          }, py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("n_classes"), py::arg("X_val"),
          py::arg("y_val"), py::arg("sample_weight_val"))
      .def("raw_predict", [](const GradientBoosting& g, const Array<double>& X, int n_threads, int n_iter) {
            auto map = matrix(X, "GradientBoosting.predict");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = g.raw_predict(map, n_threads, n_iter);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("n_iter") = -1)
      .def("contributions", [](const GradientBoosting& g, const Array<double>& X, int n_threads) {
            auto map = matrix(X, "GradientBoosting.predict_contributions");
            RowMatrix<double> out;
            {
              py::gil_scoped_release nogil;
              out = g.contributions(map, n_threads);
            }
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("importances", [](const GradientBoosting& g, bool gain) { return vec(g.importances(gain)); }, py::arg("gain"))
      .def_property_readonly("n_iter", &GradientBoosting::n_iter)
      .def_property_readonly("n_trees", &GradientBoosting::n_trees)
      .def_property_readonly("n_classes", &GradientBoosting::n_classes)
      .def_property_readonly("n_trees_per_iteration", &GradientBoosting::n_trees_per_iteration)
      .def_property_readonly("baseline", [](const GradientBoosting& g) { return vec(g.baseline()); })
      .def_property_readonly("train_score", [](const GradientBoosting& g) { return vec(g.train_score()); })
      .def_property_readonly("validation_score", [](const GradientBoosting& g) { return vec(g.validation_score()); })
      .def("n_leaves", &GradientBoosting::n_leaves, py::arg("t"))
      .def("bin_edges", [](const GradientBoosting& g, Index j) {
            require(j >= 0 && j < g.n_features(), "GradientBoosting.bin_edges", "feature index out of range");
            const auto& m = g.bin_mappers()[j];
            return vec(m.categorical ? m.cats : m.edges);
          }, py::arg("j"))
      .def("tree", [](const GradientBoosting& g, Index t) {
            auto v = g.tree(t);
            py::dict d;
            d["feature"] = vec(v.feature);
            d["children_left"] = vec(v.left);
            d["children_right"] = vec(v.right);
            d["threshold"] = vec(v.threshold);
            d["value"] = vec(v.value);
            d["gain"] = vec(v.gain);
            d["count"] = vec(v.count);
            std::vector<std::uint8_t> ml(v.missing_left.begin(), v.missing_left.end());
            d["missing_left"] = vec(ml);
            py::list cl;
            for (const auto& c : v.cat_left) cl.append(vec(c));
            d["categories_left"] = cl;
            return d;
          }, py::arg("t"))
      .def("to_json", [](const GradientBoosting& g) { return to_json(g.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return GradientBoosting::from_document(from_json(text, "GradientBoosting"));
          }, py::arg("text"));
}
