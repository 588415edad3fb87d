// Boost.JSON compiled into libcustmine (no separate runtime library needed) and the
// validating readers for model documents.
#include <boost/json/src.hpp>

#include <fstream>
#include <sstream>

#include "custmine/core/serialize.hpp"

namespace custmine {

namespace {
constexpr std::string_view kWhere = "model document";
constexpr std::size_t kMaxDocumentBytes = std::size_t{1} << 31;  // 2 GiB

std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

double as_double(const json::value& v, std::string_view where, std::string_view key) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  // Non-finite numbers are stored as strings because JSON has no literal for them.
  if (v.is_string()) {
    const auto& s = v.get_string();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  fail<SerializationError>(where, "field '", key, "' must be a number, found ", describe(v));
}

std::int64_t as_int(const json::value& v, std::string_view where, std::string_view key) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  fail<SerializationError>(where, "field '", key, "' must be an integer, found ", describe(v));
}
}  // namespace

std::string to_json(const ModelDocument& doc) {
  json::object o;
  o["format_version"] = doc.format_version;
  o["estimator"] = doc.estimator;
  o["params"] = doc.params;
  o["state"] = doc.state;
  return json::serialize(o);
}

ModelDocument from_json(std::string_view text, std::string_view expected_estimator) {
  if (text.size() > kMaxDocumentBytes)
    fail<SerializationError>(kWhere, "document is larger than 2 GiB");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) fail<SerializationError>(kWhere, "not valid JSON (", ec.message(), ")");
  if (!v.is_object()) fail<SerializationError>(kWhere, "top level must be an object, found ", describe(v));
  const auto& o = v.get_object();
  ModelDocument doc;
  doc.format_version = json_int(o, "format_version", kWhere);
  if (doc.format_version < 1 || doc.format_version > kFormatVersion)
    fail<SerializationError>(kWhere, "format_version ", doc.format_version,
                             " is not supported (this build reads 1..", kFormatVersion, ")");
  doc.estimator = json_string(o, "estimator", kWhere);
  if (!expected_estimator.empty() && doc.estimator != expected_estimator)
    fail<SerializationError>(kWhere, "holds a '", doc.estimator, "' model, expected '",
                             expected_estimator, "'");
  doc.params = json_object(o, "params", kWhere);
  doc.state = json_object(o, "state", kWhere);
  return doc;
}

void save_document(const ModelDocument& doc, const std::string& path) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail<SerializationError>("save", "cannot open '", path, "' for writing");
  f << to_json(doc);
  if (!f) fail<SerializationError>("save", "writing '", path, "' failed");
}

ModelDocument load_document(const std::string& path, std::string_view expected_estimator) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail<SerializationError>("load", "cannot open '", path, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return from_json(ss.str(), expected_estimator);
}

const json::value& json_field(const json::object& o, std::string_view key, std::string_view where) {
  auto it = o.find(key);
  if (it == o.end()) fail<SerializationError>(where, "missing field '", key, "'");
  return it->value();
}

double json_double(const json::object& o, std::string_view key, std::string_view where) {
  return as_double(json_field(o, key, where), where, key);
}

std::int64_t json_int(const json::object& o, std::string_view key, std::string_view where) {
  return as_int(json_field(o, key, where), where, key);
}

bool json_bool(const json::object& o, std::string_view key, std::string_view where) {
  const auto& v = json_field(o, key, where);
  if (!v.is_bool()) fail<SerializationError>(where, "field '", key, "' must be a boolean, found ", describe(v));
  return v.get_bool();
}

std::string json_string(const json::object& o, std::string_view key, std::string_view where) {
  const auto& v = json_field(o, key, where);
  if (!v.is_string()) fail<SerializationError>(where, "field '", key, "' must be a string, found ", describe(v));
  return std::string(v.get_string());
}

const json::object& json_object(const json::object& o, std::string_view key, std::string_view where) {
  const auto& v = json_field(o, key, where);
  if (!v.is_object()) fail<SerializationError>(where, "field '", key, "' must be an object, found ", describe(v));
  return v.get_object();
}

namespace {
const json::array& json_arr(const json::object& o, std::string_view key, std::string_view where) {
  const auto& v = json_field(o, key, where);
  if (!v.is_array()) fail<SerializationError>(where, "field '", key, "' must be an array, found ", describe(v));
  return v.get_array();
}
}  // namespace

std::vector<double> json_doubles(const json::object& o, std::string_view key, std::string_view where) {
  const auto& a = json_arr(o, key, where);
  std::vector<double> out;
  out.reserve(a.size());
  for (const auto& v : a) out.push_back(as_double(v, where, key));
  return out;
}

std::vector<std::int64_t> json_ints(const json::object& o, std::string_view key, std::string_view where) {
  const auto& a = json_arr(o, key, where);
  std::vector<std::int64_t> out;
  out.reserve(a.size());
  for (const auto& v : a) out.push_back(as_int(v, where, key));
  return out;
}

std::vector<std::string> json_strings(const json::object& o, std::string_view key, std::string_view where) {
  const auto& a = json_arr(o, key, where);
  std::vector<std::string> out;
  out.reserve(a.size());
  for (const auto& v : a) {
    if (!v.is_string()) fail<SerializationError>(where, "field '", key, "' must hold strings, found ", describe(v));
    out.emplace_back(v.get_string());
  }
  return out;
}

}  // namespace custmine
