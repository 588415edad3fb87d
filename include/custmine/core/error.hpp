// custmine error hierarchy.
//
// Every error the library raises derives from custmine::Error, which derives from
// std::invalid_argument so that pybind11 (and any C++ caller catching the standard
// hierarchy) sees a ValueError-like error. Messages name the function, the argument
// and the problem: "rfm: amount has 10 rows but customer has 9".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace custmine {

/// Root of every custmine error.
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A parameter or argument is out of range, malformed or inconsistent.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// Arrays whose shapes do not agree (rows, columns, lengths).
class ShapeError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A method that needs a fitted model was called before fit.
class NotFittedError : public Error {
 public:
  using Error::Error;
};

/// A model document could not be read: corrupt, hostile, wrong estimator or version.
class SerializationError : public Error {
 public:
  using Error::Error;
};

/// An iterative fit stopped without converging.
class ConvergenceError : public Error {
 public:
  using Error::Error;
};

/// The caller interrupted a long computation (Ctrl-C in Python).
class Interrupted : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

/// Throw E with a message "<where>: <parts...>".
template <class E = InvalidArgument, class... Args>
[[noreturn]] void fail(std::string_view where, Args&&... parts) {
  throw E(detail::concat(where, ": ", std::forward<Args>(parts)...));
}

/// Throw InvalidArgument unless cond holds.
template <class E = InvalidArgument, class... Args>
void require(bool cond, std::string_view where, Args&&... parts) {
  if (!cond) fail<E>(where, std::forward<Args>(parts)...);
}

}  // namespace custmine
