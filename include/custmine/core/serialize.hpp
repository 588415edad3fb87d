// Versioned JSON model documents.
//
// Every fitted model saves to {"format_version", "estimator", "params", "state"} as a
// Boost.JSON document; C++ and Python read the same file and Python pickling goes
// through the same string. Reading validates every field it touches, so a corrupt or
// hostile document raises SerializationError naming the field, never crashes.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "custmine/core/error.hpp"

namespace custmine {

namespace json = boost::json;

/// Current on-disk format. Bump when a change cannot be read by older readers.
inline constexpr std::int64_t kFormatVersion = 1;

struct ModelDocument {
  std::int64_t format_version = kFormatVersion;
  std::string estimator;  ///< e.g. "RFMScorer"
  json::object params;    ///< hyper-parameters as given
  json::object state;     ///< fitted state
};

/// Serialize to compact JSON text.
std::string to_json(const ModelDocument& doc);
/// Parse and check the envelope; `expected_estimator` must match the "estimator" field.
ModelDocument from_json(std::string_view text, std::string_view expected_estimator);

/// Write/read a document file; errors name the path.
void save_document(const ModelDocument& doc, const std::string& path);
ModelDocument load_document(const std::string& path, std::string_view expected_estimator);

// ---- typed, validating readers (the `where` names the field in errors) ----------
const json::value& json_field(const json::object& o, std::string_view key, std::string_view where);
double json_double(const json::object& o, std::string_view key, std::string_view where);
std::int64_t json_int(const json::object& o, std::string_view key, std::string_view where);
bool json_bool(const json::object& o, std::string_view key, std::string_view where);
std::string json_string(const json::object& o, std::string_view key, std::string_view where);
const json::object& json_object(const json::object& o, std::string_view key, std::string_view where);
std::vector<double> json_doubles(const json::object& o, std::string_view key, std::string_view where);
std::vector<std::int64_t> json_ints(const json::object& o, std::string_view key, std::string_view where);
std::vector<std::string> json_strings(const json::object& o, std::string_view key, std::string_view where);

/// A number as JSON; NaN and infinities become the strings "NaN", "Infinity", "-Infinity"
/// (JSON has no literal for them) and json_double reads them back.
inline json::value json_number(double x) {
  if (x != x) return json::value("NaN");
  if (x == std::numeric_limits<double>::infinity()) return json::value("Infinity");
  if (x == -std::numeric_limits<double>::infinity()) return json::value("-Infinity");
  return json::value(x);
}

/// A JSON array from a range of numbers or strings.
template <class Range>
json::array json_array(const Range& r) {
  json::array a;
  a.reserve(std::size(r));
  for (const auto& x : r) a.emplace_back(x);
  return a;
}

}  // namespace custmine
