// Shared helpers for the per-family binding files. Only bindings/ includes pybind11.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <span>
#include <string>

#include "custmine/core/error.hpp"
#include "custmine/core/matrix.hpp"

namespace custmine::bind {

namespace py = pybind11;

/// A C-contiguous numpy array of T, as numpy hands it (forcecast converts once).
template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

/// Span over a 1-D array; fails with a clear message for other shapes.
template <class T>
std::span<const T> span1d(const Array<T>& a, std::string_view where, std::string_view name) {
  if (a.ndim() != 1) fail<ShapeError>(where, name, " must be 1-dimensional, got ", a.ndim(), " dimensions");
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

/// Copy a std::vector into a new numpy array (results the caller owns).
template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// Each family registers itself from its own bind_<family>.cpp with
//   CUSTMINE_BIND_FAMILY(family) { auto sub = m.def_submodule("family"); ... }
// so that adding a family touches no shared file. module.cpp binds the core first,
// then the families in name order.
using BindFn = void (*)(py::module_);  // by value: a family may rebind it to its submodule
std::vector<std::pair<std::string, BindFn>>& family_registry();
struct RegisterFamily {
  RegisterFamily(const char* name, BindFn fn) { family_registry().emplace_back(name, fn); }
};
void bind_core(py::module_& m);

}  // namespace custmine::bind

#define CUSTMINE_BIND_FAMILY(family)                                                       \
  static void custmine_bind_##family(pybind11::module_ m);                                \
  static const ::custmine::bind::RegisterFamily custmine_register_##family(#family,        \
                                                                  &custmine_bind_##family); \
  static void custmine_bind_##family([[maybe_unused]] pybind11::module_ m)

namespace custmine::bind {

}  // namespace custmine::bind
