// Locating ../shared/data from the C++ tests; GTEST_SKIP with a reason when absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace custmine::test {

inline std::filesystem::path shared_data_dir() {
  if (const char* env = std::getenv("CUSTMINE_SHARED_DATA")) return env;
  return CUSTMINE_SHARED_DATA;
}

}  // namespace custmine::test

/// Sets `var` to the path of ../shared/data/<rel>, or skips the test when it is absent.
#define CUSTMINE_SHARED_FILE(var, rel)                                                        \
  const std::filesystem::path var = ::custmine::test::shared_data_dir() / (rel);              \
  if (!std::filesystem::exists(var))                                                         \
    GTEST_SKIP() << "real data not available: " << var.string() << " is absent (../shared/data)"
