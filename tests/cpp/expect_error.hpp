// A check the C++ tests share: a call fails with a given error whose message says what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace custmine::test {

/// Runs f, which must throw E with `needle` in its message (e.g. "row 7, column 2"); any
/// other exception propagates and fails the test.
template <class E, class F>
void expect_error_naming(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error naming \"" << needle << "\"";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace custmine::test
