// Boost.JSON compiled into libcustmine (no separate runtime library needed) and the
// validating readers for model documents.
#include <boost/json/src.hpp>

#include <charconv>
#include <fstream>
#include <sstream>

#include "custmine/core/serialize.hpp"

namespace custmine {

namespace {
constexpr std::string_view kWhere = "model document";
constexpr std::size_t kMaxDocumentBytes = std::size_t{1} << 31;  // 2 GiB

// Boost.JSON 1.81 parses doubles approximately (off by an ulp at times), which would
// change a model's thresholds on a save/load round trip. This handler builds the same
// value tree as json::parser but reads every floating-point literal exactly with
// std::from_chars.
struct ExactNumberHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  json::value_stack st;
  std::string number;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    double exact = d;
    const char* first = number.data();
    const char* last = first + number.size();
    auto [ptr, ec] = std::from_chars(first, last, exact);
    if (ec != std::errc() || ptr != last) exact = d;  // out of range: keep Boost's value (inf)
    number.clear();
    st.push_double(exact);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

json::value parse_exact(std::string_view text, json::error_code& ec, const json::parse_options& opts) {
  json::basic_parser<ExactNumberHandler> p(opts);
  p.handler().st.reset();
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = json::error::extra_data;
  if (ec) return nullptr;
  return p.handler().st.release();
}

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
  json::value v = parse_exact(text, ec, opts);
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
