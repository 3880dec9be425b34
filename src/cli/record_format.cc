#include "cli/record_format.h"

#include "base/assert.h"
#include "cli/error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <utility>

namespace caudal::cli {
namespace {

bool allowed(format_field f, record_format::direction d) {
  if (d == record_format::direction::output) return true;
  return f != format_field::offset && f != format_field::topic;
}

std::string headers_text(const std::vector<header_text>& headers) {
  std::string out;
  for (const auto& h : headers) {
    if (!out.empty()) out += ',';
    out += h.key;
    if (h.value) out += '=' + *h.value;
  }
  return out;
}

std::vector<header_text> parse_headers(std::string_view text) {
  std::vector<header_text> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.push_back({std::string(item), std::nullopt});
    } else {
      out.push_back({std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))});
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

template <class Int>
Int parse_number(std::string_view text, const char* what) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < std::numeric_limits<Int>::min() ||
      v > std::numeric_limits<Int>::max()) {
    usage_error(std::string("the ") + what + " '" + s + "' is not a number");
  }
  return static_cast<Int>(v);
}

}  // namespace

record_format record_format::parse(std::string_view spec, direction d) {
  std::vector<token> tokens;
  auto literal = [&tokens]() -> std::string& {
    if (tokens.empty() || tokens.back().field) tokens.push_back({std::nullopt, {}});
    return tokens.back().literal;
  };
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (c == '\\' && i + 1 < spec.size()) {
      const char e = spec[++i];
      switch (e) {
        case 't':
          literal() += '\t';
          break;
        case 'n':
          literal() += '\n';
          break;
        case 'r':
          literal() += '\r';
          break;
        case '\\':
          literal() += '\\';
          break;
        default:
          literal() += '\\';
          literal() += e;
      }
      continue;
    }
    if (c != '%') {
      literal() += c;
      continue;
    }
    if (i + 1 == spec.size()) usage_error("format '" + std::string(spec) + "' ends with %");
    const char letter = spec[++i];
    if (letter == '%') {
      literal() += '%';
      continue;
    }
    std::optional<format_field> f;
    for (const auto candidate :
         {format_field::key, format_field::value, format_field::headers, format_field::timestamp,
          format_field::partition, format_field::offset, format_field::topic}) {
      if (static_cast<char>(candidate) == letter) f = candidate;
    }
    if (!f || !allowed(*f, d)) {
      usage_error(std::string("format '") + std::string(spec) + "': %" + letter + " is not " +
                  (f ? "allowed in input formats" : "a field (use %k %v %h %t %p %o %T %%)"));
    }
    if (d == direction::input && !tokens.empty() && tokens.back().field) {
      usage_error("format '" + std::string(spec) + "': fields %" +
                  static_cast<char>(*tokens.back().field) + " and %" + letter +
                  " need text between them to tell where one ends");
    }
    tokens.push_back({f, {}});
  }
  return record_format(std::move(tokens), d);
}

std::vector<format_field> record_format::fields() const {
  std::vector<format_field> out;
  for (const auto& t : _tokens) {
    if (t.field) out.push_back(*t.field);
  }
  return out;
}

std::string record_format::format(const consumed_record& record) const {
  CAUDAL_ASSERT(_d == direction::output, "format() on an input format");
  std::string out;
  for (const auto& t : _tokens) {
    if (!t.field) {
      out += t.literal;
      continue;
    }
    switch (*t.field) {
      case format_field::key:
        out += record.key.value_or("");
        break;
      case format_field::value:
        out += record.value.value_or("");
        break;
      case format_field::headers:
        out += headers_text(record.headers);
        break;
      case format_field::timestamp:
        out += std::to_string(record.timestamp_ms);
        break;
      case format_field::partition:
        out += std::to_string(record.partition);
        break;
      case format_field::offset:
        out += std::to_string(record.offset);
        break;
      case format_field::topic:
        out += record.topic;
        break;
    }
  }
  return out;
}

produced_record record_format::parse_line(std::string_view line) const {
  CAUDAL_ASSERT(_d == direction::input, "parse_line() on an output format");
  produced_record out;
  std::string_view rest = line;
  for (std::size_t i = 0; i < _tokens.size(); ++i) {
    const auto& t = _tokens[i];
    if (!t.field) {
      if (rest.substr(0, t.literal.size()) != t.literal) {
        usage_error("the line '" + std::string(line) + "' does not match the format (expected '" +
                    t.literal + "')");
      }
      rest.remove_prefix(t.literal.size());
      continue;
    }
    std::string_view text = rest;
    if (i + 1 < _tokens.size()) {  // a literal follows: the field ends where it starts
      const auto end = rest.find(_tokens[i + 1].literal);
      if (end == std::string_view::npos) {
        usage_error("the line '" + std::string(line) + "' does not match the format (expected '" +
                    _tokens[i + 1].literal + "')");
      }
      text = rest.substr(0, end);
    }
    rest.remove_prefix(text.size());
    switch (*t.field) {
      case format_field::key:
        out.key = std::string(text);
        break;
      case format_field::value:
        out.value = std::string(text);
        break;
      case format_field::headers:
        out.headers = parse_headers(text);
        break;
      case format_field::timestamp:
        out.timestamp_ms = parse_number<std::int64_t>(text, "timestamp");
        break;
      case format_field::partition:
        out.partition = parse_number<std::int32_t>(text, "partition");
        break;
      case format_field::offset:
      case format_field::topic:
        CAUDAL_ASSERT(false, "an input format holds %{}", static_cast<char>(*t.field));
    }
  }
  return out;
}

std::string record_json(const consumed_record& record) {
  nlohmann::ordered_json j;
  j["topic"] = record.topic;
  j["partition"] = record.partition;
  j["offset"] = record.offset;
  j["timestamp"] = record.timestamp_ms;
  j["key"] = record.key ? nlohmann::ordered_json(*record.key) : nlohmann::ordered_json(nullptr);
  j["value"] =
      record.value ? nlohmann::ordered_json(*record.value) : nlohmann::ordered_json(nullptr);
  auto headers = nlohmann::ordered_json::array();
  for (const auto& h : record.headers) {
    headers.push_back(
        {{"key", h.key},
         {"value", h.value ? nlohmann::ordered_json(*h.value) : nlohmann::ordered_json(nullptr)}});
  }
  j["headers"] = std::move(headers);
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace caudal::cli
