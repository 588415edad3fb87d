// Cluster bindings: KMeans, k-means++ seeding and silhouette.
#include "common.hpp"
#include "custmine/cluster/kmeans.hpp"

namespace custmine::bind {
namespace {
Eigen::Map<const RowMatrix<double>> as_matrix2(const Array<double>& X, std::string_view where) {
  if (X.ndim() != 2) fail<ShapeError>(where, "X must be 2-dimensional, got ", X.ndim(), " dimensions");
  return {X.data(), X.shape(0), X.shape(1)};
}
}  // namespace
}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(cluster) {
  using namespace custmine;
  using namespace custmine::bind;
  using cluster::KMeans;
  m = m.def_submodule("cluster", "K-means segmentation");

  py::class_<KMeans>(m, "KMeans")
      .def(py::init([](int k, const std::string& init, int n_init, int max_iter, double tol, const std::string& algo,
                       std::uint64_t seed, int n_threads) {
             KMeans::Params p;
             p.n_clusters = k;
             if (init == "k-means++") p.init = cluster::KMeansInit::KMeansPlusPlus;
             else if (init == "random") p.init = cluster::KMeansInit::Random;
             else fail("KMeans", "init must be 'k-means++', 'random' or an array of centers, got '", init, "'");
             p.n_init = n_init;
             p.max_iter = max_iter;
             p.tol = tol;
             if (algo == "lloyd") p.algorithm = cluster::KMeansAlgorithm::Lloyd;
             else if (algo == "elkan") p.algorithm = cluster::KMeansAlgorithm::Elkan;
             else if (algo == "hamerly") p.algorithm = cluster::KMeansAlgorithm::Hamerly;
             else fail("KMeans", "algorithm must be 'lloyd', 'elkan' or 'hamerly', got '", algo, "'");
             p.seed = seed;
             p.n_threads = n_threads;
             p.validate();
             return KMeans(p);
           }),
           py::arg("n_clusters"), py::arg("init"), py::arg("n_init"), py::arg("max_iter"), py::arg("tol"),
           py::arg("algorithm"), py::arg("seed"), py::arg("n_threads"))
      .def("fit", [](KMeans& self, const Array<double>& X, std::optional<Array<double>> w,
                     std::optional<Array<double>> init) {
            auto map = as_matrix2(X, "KMeans::fit");
            std::span<const double> ws;
            if (w) ws = span1d(*w, "KMeans::fit", "sample_weight");
            RowMatrix<double> C;
            if (init) C = as_matrix2(*init, "KMeans::fit");
            py::gil_scoped_release nogil;
            self.fit(map, ws, init ? &C : nullptr);
          }, py::arg("X"), py::arg("sample_weight") = py::none(), py::arg("init") = py::none())
      .def("predict", [](const KMeans& self, const Array<double>& X) {
            auto map = as_matrix2(X, "KMeans::predict");
            std::vector<std::int32_t> out;
            {
              py::gil_scoped_release nogil;
              out = self.predict(map);
            }
            return to_numpy(out);
          }, py::arg("X"))
      .def("transform", [](const KMeans& self, const Array<double>& X) {
            auto map = as_matrix2(X, "KMeans::transform");
            py::gil_scoped_release nogil;
            return self.transform(map);
          }, py::arg("X"))
      .def("inertia_of", [](const KMeans& self, const Array<double>& X, std::optional<Array<double>> w) {
            auto map = as_matrix2(X, "KMeans::score");
            std::span<const double> ws;
            if (w) ws = span1d(*w, "KMeans::score", "sample_weight");
            py::gil_scoped_release nogil;
            return self.inertia_of(map, ws);
          }, py::arg("X"), py::arg("sample_weight") = py::none())
      .def_property_readonly("centers", &KMeans::centers)
      .def_property_readonly("labels", [](const KMeans& s) { return to_numpy(s.labels()); })
      .def_property_readonly("inertia", &KMeans::inertia)
      .def_property_readonly("n_iter", &KMeans::n_iter)
      .def("to_json", [](const KMeans& s) { return to_json(s.to_document()); })
      .def_static("from_json", [](const std::string& text) { return KMeans::from_document(from_json(text, "KMeans")); },
                  py::arg("text"));

  m.def("kmeans_plusplus", [](const Array<double>& X, std::optional<Array<double>> w, int k, std::uint64_t seed,
                              int n_threads) {
        auto map = as_matrix2(X, "kmeans_plusplus");
        std::span<const double> ws;
        if (w) ws = span1d(*w, "kmeans_plusplus", "sample_weight");
        py::gil_scoped_release nogil;
        return cluster::kmeans_plusplus(map, ws, k, seed, 0, n_threads);
      }, py::arg("X"), py::arg("sample_weight"), py::arg("n_clusters"), py::arg("seed"), py::arg("n_threads") = 1);

  m.def("silhouette_samples", [](const Array<double>& X, const Array<std::int32_t>& labels, int n_labels,
                                 int n_threads) {
        auto map = as_matrix2(X, "silhouette_score");
        auto ls = span1d(labels, "silhouette_score", "labels");
        std::vector<double> s;
        {
          py::gil_scoped_release nogil;
          s = cluster::silhouette_samples(map, ls, n_labels, n_threads);
        }
        return to_numpy(s);
      }, py::arg("X"), py::arg("labels"), py::arg("n_labels"), py::arg("n_threads") = 1);
}
