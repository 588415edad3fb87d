// Errors, interruption and the shared helpers every family uses.
#include <Python.h>

#include "common.hpp"
#include "custmine/core/serialize.hpp"
#include "custmine/core/threading.hpp"

namespace custmine::bind {

namespace {
// Called from native loops with the GIL released: asks Python whether Ctrl-C came.
bool python_interrupt_requested() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();  // translated back to KeyboardInterrupt when the error reaches Python
    return true;
  }
  return false;
}
}  // namespace

void bind_core(py::module_& m) {
  // Base first: pybind11 tries the most recently registered translator first, so the
  // subclasses registered after it win for their own types.
  auto& base = py::register_exception<Error>(m, "CustmineError", PyExc_ValueError);
  auto& invalid = py::register_exception<InvalidArgument>(m, "InvalidArgumentError", base.ptr());
  py::register_exception<ShapeError>(m, "ShapeError", invalid.ptr());
  py::register_exception<SerializationError>(m, "SerializationError", base.ptr());
  py::register_exception<ConvergenceError>(m, "ConvergenceError", base.ptr());
  // NotFittedError maps onto scikit-learn's class so that sklearn tooling recognises it.
  py::object sk_not_fitted = py::module_::import("sklearn.exceptions").attr("NotFittedError");
  m.attr("NotFittedError") = sk_not_fitted;
  static py::handle nf = sk_not_fitted.release();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const NotFittedError& e) {
      PyErr_SetString(nf.ptr(), e.what());
    } catch (const Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    }
  });
  Interrupt::set_callback(&python_interrupt_requested);

  m.def("hardware_threads", &hardware_threads, "Number of hardware threads.");
  m.def("resolve_threads", [](int n) { return resolve_threads(n, "n_jobs"); }, py::arg("n_jobs"),
        "Threads used for n_jobs under joblib's rule (-1 = all cores).");
  m.def("format_version", [] { return kFormatVersion; }, "Model document format version.");
}

}  // namespace custmine::bind
