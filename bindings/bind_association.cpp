// Association bindings: transactions, frequent itemsets, rules and the recommender.
// Itemsets come back as frozensets of the caller's labels, built here with the C API
// (one PySet_Add per item) so that a million itemsets do not go through Python code.
#include <Python.h>

#include "common.hpp"
#include "custmine/association/recommend.hpp"
#include "custmine/association/transactions.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::bind {

namespace {
using namespace custmine::association;

/// True when every label is a str, int, float, bool, bytes or None: a container of such
/// labels cannot be part of a reference cycle.
bool atomic_labels(const py::list& labels) {
  for (const auto& h : labels) {
    PyObject* o = h.ptr();
    if (!(PyUnicode_CheckExact(o) || PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyBool_Check(o) ||
          PyBytes_CheckExact(o) || o == Py_None))
      return false;
  }
  return true;
}

// Itemsets of atomic labels are taken off the garbage collector's lists: a million
// frozensets otherwise get traversed by every full collection while they are being made
// (mushroom at 10 %: 1.25 s with, 0.41 s without), for containers that cannot hold a cycle.
py::list frozensets(std::span<const Index> off, std::span<const std::int32_t> items, const py::list& labels) {
  const Index n = static_cast<Index>(off.size()) - 1;
  const auto n_labels = static_cast<std::int32_t>(labels.size());
  const bool untrack = atomic_labels(labels);
  py::list out(n);
  for (Index s = 0; s < n; ++s) {
    PyObject* fs = PyFrozenSet_New(nullptr);
    if (!fs) throw py::error_already_set();
    for (Index q = off[s]; q < off[s + 1]; ++q) {
      const std::int32_t i = items[q];
      if (i < 0 || i >= n_labels) {
        Py_DECREF(fs);
        fail("association", "internal error: item code outside the labels");
      }
      if (PySet_Add(fs, PyList_GET_ITEM(labels.ptr(), i)) != 0) {
        Py_DECREF(fs);
        throw py::error_already_set();
      }
    }
    if (untrack) PyObject_GC_UnTrack(fs);
    PyList_SET_ITEM(out.ptr(), s, fs);  // steals the reference
  }
  return out;
}

// Tuples instead of frozensets: no hashing and about a third of the memory per itemset, for
// outputs of millions of itemsets (items in the order the miner reports them).
py::list tuples(std::span<const Index> off, std::span<const std::int32_t> items, const py::list& labels) {
  const Index n = static_cast<Index>(off.size()) - 1;
  const auto n_labels = static_cast<std::int32_t>(labels.size());
  const bool untrack = atomic_labels(labels);
  py::list out(n);
  for (Index s = 0; s < n; ++s) {
    PyObject* t = PyTuple_New(off[s + 1] - off[s]);
    if (!t) throw py::error_already_set();
    for (Index q = off[s]; q < off[s + 1]; ++q) {
      const std::int32_t i = items[q];
      if (i < 0 || i >= n_labels) {
        Py_DECREF(t);
        fail("association", "internal error: item code outside the labels");
      }
      PyObject* label = PyList_GET_ITEM(labels.ptr(), i);
      Py_INCREF(label);
      PyTuple_SET_ITEM(t, q - off[s], label);  // steals the new reference
    }
    if (untrack) PyObject_GC_UnTrack(t);
    PyList_SET_ITEM(out.ptr(), s, t);
  }
  return out;
}

template <class T>
py::array_t<T> np(const std::vector<T>& v) {
  return to_numpy(v);
}

// Rules as item codes (the Python side wraps them in ItemsetArray columns).
py::dict rules_dict(const Rules& r) {
  py::dict d;
  d["antecedent_offsets"] = np(r.ante_off);
  d["antecedent_items"] = np(r.ante);
  d["consequent_offsets"] = np(r.cons_off);
  d["consequent_items"] = np(r.cons);
  d["antecedent support"] = np(r.antecedent_support);
  d["consequent support"] = np(r.consequent_support);
  d["support"] = np(r.support);
  d["confidence"] = np(r.confidence);
  d["lift"] = np(r.lift);
  d["representativity"] = np(r.representativity);
  d["leverage"] = np(r.leverage);
  d["conviction"] = np(r.conviction);
  d["zhangs_metric"] = np(r.zhangs_metric);
  d["jaccard"] = np(r.jaccard);
  d["certainty"] = np(r.certainty);
  d["kulczynski"] = np(r.kulczynski);
  d["all_confidence"] = np(r.all_confidence);
  d["count"] = np(r.count);
  return d;
}

Transactions csr_copy(const Array<std::int64_t>& offsets, const Array<std::int64_t>& items, std::int64_t n_items) {
  auto o = span1d(offsets, "transactions", "offsets");
  auto i = span1d(items, "transactions", "items");
  py::gil_scoped_release nogil;
  return transactions_from_csr(o, i, n_items);
}
}  // namespace

}  // namespace custmine::bind

CUSTMINE_BIND_FAMILY(association) {
  using namespace custmine;
  using namespace custmine::bind;
  using namespace custmine::association;
  py::module_ root = m;
  m = root.def_submodule("association", "Frequent itemsets, association rules and rule-based recommendations");

  py::class_<Transactions>(m, "Transactions")
      .def_property_readonly("n_transactions", &Transactions::size)
      .def_property_readonly("n_items", [](const Transactions& t) { return t.n_items; })
      .def_property_readonly("offsets", [](const Transactions& t) { return np(t.offsets); })
      .def_property_readonly("items", [](const Transactions& t) { return np(t.items); })
      .def("item_counts", [](const Transactions& t) { return np(item_counts(t)); });

  m.def("transactions_from_pairs", [](const Array<std::int64_t>& tr, const Array<std::int64_t>& it,
                                      std::int64_t n_tr, std::int64_t n_items) {
        auto a = span1d(tr, "transactions_from_pairs", "transaction");
        auto b = span1d(it, "transactions_from_pairs", "item");
        py::gil_scoped_release nogil;
        return transactions_from_pairs(a, b, n_tr, n_items);
      }, py::arg("transaction"), py::arg("item"), py::arg("n_transactions"), py::arg("n_items"));
  m.def("transactions_from_csr", &csr_copy, py::arg("offsets"), py::arg("items"), py::arg("n_items"));

  m.def("read_fimi", [](const std::string& path) {
        FimiTransactions f;
        {
          py::gil_scoped_release nogil;
          f = read_fimi(path);
        }
        return py::make_tuple(std::move(f.transactions), np(f.item_ids));
      }, py::arg("path"));
  m.def("read_baskets", [](const std::string& path, const std::string& sep) {
        if (sep.size() != 1) fail("read_baskets", "sep must be a single character, got '", sep, "'");
        LabeledTransactions f;
        {
          py::gil_scoped_release nogil;
          f = read_baskets(path, sep[0]);
        }
        return py::make_tuple(std::move(f.transactions), f.labels);
      }, py::arg("path"), py::arg("sep") = ",");

  m.def("min_count_from_support", &min_count_from_support, py::arg("min_support"), py::arg("n_transactions"));

  m.def("frequent_itemsets", [](const Transactions& t, std::int64_t min_count, const std::string& algorithm,
                                const std::string& kind, int min_len, int max_len, int n_threads,
                                std::int64_t max_itemsets, const py::object& labels, bool as_tuples) {
        constexpr std::string_view w = "frequent_itemsets";
        MiningParams p;
        p.min_count = min_count;
        p.algorithm = parse_algorithm(algorithm, w);
        p.kind = parse_kind(kind, w);
        p.min_len = min_len;
        p.max_len = max_len;
        p.n_threads = n_threads;
        p.max_itemsets = max_itemsets;
        Itemsets s;
        {
          py::gil_scoped_release nogil;
          s = frequent_itemsets(t, p);
        }
        py::dict d;
        d["count"] = np(s.counts);
        d["offsets"] = np(s.offsets);
        d["items"] = np(s.items);
        d["n_transactions"] = s.n_transactions;
        if (!labels.is_none())
          d["itemsets"] = as_tuples ? tuples(s.offsets, s.items, labels.cast<py::list>())
                                    : frozensets(s.offsets, s.items, labels.cast<py::list>());
        return d;
      },
      py::arg("transactions"), py::arg("min_count"), py::arg("algorithm") = "fpgrowth", py::arg("kind") = "all",
      py::arg("min_len") = 1, py::arg("max_len") = 0, py::arg("n_threads") = 1, py::arg("max_itemsets") = 0,
      py::arg("labels") = py::none(), py::arg("as_tuples") = false);

  // Builds the frozensets of custmine.association.ItemsetArray when it is read as
  // Python objects; offsets and items come from the array, already checked by its constructor.
  m.def("itemsets_to_objects", [](const Array<std::int64_t>& offsets, const Array<std::int32_t>& items,
                                  const py::list& labels) {
        constexpr std::string_view w = "itemsets_to_objects";
        auto o = span1d(offsets, w, "offsets");
        auto i = span1d(items, w, "items");
        if (o.empty() || o.front() != 0 || o.back() != static_cast<Index>(i.size()))
          fail(w, "offsets must start at 0 and end at the number of items");
        for (std::size_t s = 1; s < o.size(); ++s)
          if (o[s] < o[s - 1]) fail(w, "offsets must not decrease");
        return frozensets(o, i, labels);
      },
      py::arg("offsets"), py::arg("items"), py::arg("labels"));

  m.def("count_itemsets", [](const Transactions& t, const Array<std::int64_t>& offsets,
                             const Array<std::int32_t>& items, int n_threads) {
        constexpr std::string_view w = "count_itemsets";
        auto o = span1d(offsets, w, "offsets");
        auto i = span1d(items, w, "items");
        std::vector<Index> c;
        {
          py::gil_scoped_release nogil;
          c = count_itemsets(t, o, i, n_threads);
        }
        return np(c);
      },
      py::arg("transactions"), py::arg("offsets"), py::arg("items"), py::arg("n_threads") = 1);

  m.def("association_rules", [](const Array<std::int64_t>& offsets, const Array<std::int32_t>& items,
                                const Array<double>& weight, double total, std::int64_t n_transactions,
                                const std::string& metric, double min_threshold, int min_len, int max_len,
                                bool multi_consequent, bool prune_redundant,
                                std::optional<Array<std::uint8_t>> appearance, std::int64_t max_rules, int n_threads) {
        constexpr std::string_view w = "association_rules";
        RuleParams p;
        p.metric = parse_measure(metric, w);
        p.min_threshold = min_threshold;
        p.min_len = min_len;
        p.max_len = max_len;
        p.multi_consequent = multi_consequent;
        p.prune_redundant = prune_redundant;
        p.max_rules = max_rules;
        p.n_threads = n_threads;
        if (appearance) {
          auto a = span1d(*appearance, w, "appearance");
          p.appearance.assign(a.begin(), a.end());
        }
        auto o = span1d(offsets, w, "offsets");
        auto i = span1d(items, w, "items");
        auto wt = span1d(weight, w, "support");
        std::vector<Index> off(o.begin(), o.end());
        ItemsetTable t{off, i, wt, total, n_transactions};
        Rules r;
        {
          py::gil_scoped_release nogil;
          r = association_rules(t, p);
        }
        return rules_dict(r);
      },
      py::arg("offsets"), py::arg("items"), py::arg("weight"), py::arg("total"), py::arg("n_transactions"),
      py::arg("metric"), py::arg("min_threshold"), py::arg("min_len"), py::arg("max_len"),
      py::arg("multi_consequent"), py::arg("prune_redundant"), py::arg("appearance"), py::arg("max_rules"),
      py::arg("n_threads"));

  py::class_<RuleRecommender>(m, "RuleRecommender")
      .def(py::init<>())
      .def("fit", [](RuleRecommender& r, const Transactions& t, std::int64_t min_count, double min_confidence,
                     const std::string& metric, int max_len, const std::string& algorithm, int n_threads,
                     std::int64_t max_itemsets) {
            constexpr std::string_view w = "CrossSellRecommender";
            RecommenderParams p;
            p.min_count = min_count;
            p.min_confidence = min_confidence;
            p.metric = parse_measure(metric, w);
            p.max_len = max_len;
            p.algorithm = parse_algorithm(algorithm, w);
            p.n_threads = n_threads;
            p.max_itemsets = max_itemsets;
            py::gil_scoped_release nogil;
            r.fit(t, p);
          },
          py::arg("transactions"), py::arg("min_count"), py::arg("min_confidence"), py::arg("metric"),
          py::arg("max_len"), py::arg("algorithm"), py::arg("n_threads"), py::arg("max_itemsets"))
      .def("set_prices", [](RuleRecommender& r, const Array<double>& prices) {
            auto s = span1d(prices, "CrossSellRecommender", "prices");
            r.set_prices(std::vector<double>(s.begin(), s.end()));
          }, py::arg("prices"))
      .def_property_readonly("n_items", &RuleRecommender::n_items)
      .def_property_readonly("has_prices", [](const RuleRecommender& r) { return !r.prices().empty(); })
      .def("rules", [](const RuleRecommender& r) { return rules_dict(r.rules()); })
      .def("recommend_many", [](const RuleRecommender& r, const Transactions& baskets, int k, bool upsell,
                                int n_threads) {
            std::vector<std::vector<Recommendation>> recs;
            {
              py::gil_scoped_release nogil;
              recs = r.recommend_many(baskets, k, upsell, n_threads);
            }
            std::vector<Index> basket, rule;
            std::vector<std::int32_t> item, rank;
            std::vector<double> score;
            for (std::size_t b = 0; b < recs.size(); ++b)
              for (std::size_t q = 0; q < recs[b].size(); ++q) {
                basket.push_back(static_cast<Index>(b));
                rank.push_back(static_cast<std::int32_t>(q + 1));
                item.push_back(recs[b][q].item);
                score.push_back(recs[b][q].score);
                rule.push_back(recs[b][q].rule);
              }
            py::dict d;
            d["basket"] = np(basket);
            d["rank"] = np(rank);
            d["item"] = np(item);
            d["score"] = np(score);
            d["rule"] = np(rule);
            return d;
          },
          py::arg("baskets"), py::arg("k"), py::arg("upsell"), py::arg("n_threads"))
      .def("score", [](const RuleRecommender& r, const Transactions& holdout, int k, int n_threads) {
            HitRate h;
            {
              py::gil_scoped_release nogil;
              h = r.score(holdout, k, n_threads);
            }
            py::dict d;
            d["hit_rate"] = h.hit_rate;
            d["coverage"] = h.coverage;
            d["cases"] = h.cases;
            d["hits"] = h.hits;
            return d;
          }, py::arg("holdout"), py::arg("k"), py::arg("n_threads"))
      .def("to_json", [](const RuleRecommender& r) { return to_json(r.to_document()); })
      .def_static("from_json", [](const std::string& text) {
            return RuleRecommender::from_document(from_json(text, "CrossSellRecommender"));
          }, py::arg("text"));
}
