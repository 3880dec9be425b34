#include "cluster/config_def.h"

#include "base/assert.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace caudal::cluster {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool is_allowed(const config_def& def, std::string_view v) {
  if (def.allowed.empty()) return true;
  return std::find(def.allowed.begin(), def.allowed.end(), v) != def.allowed.end();
}

std::string allowed_list(const config_def& def) {
  std::string out;
  for (auto a : def.allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

}  // namespace

std::optional<std::string> check_value(const config_def& def, std::string_view value) {
  switch (def.type) {
    case config_type::boolean: {
      const auto v = lower(trim(value));
      if (v != "true" && v != "false") {
        return fmt::format("invalid value '{}' for {}: expected true or false", value, def.name);
      }
      return std::nullopt;
    }
    case config_type::int32:
    case config_type::int64: {
      const auto v = trim(value);
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      const bool fits =
          def.type == config_type::int64 || (n >= std::numeric_limits<std::int32_t>::min() &&
                                             n <= std::numeric_limits<std::int32_t>::max());
      if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || !fits) {
        return fmt::format("invalid value '{}' for {}: expected an integer", value, def.name);
      }
      if (n < def.min || n > def.max) {
        return fmt::format("invalid value {} for {}: must be in [{}, {}]", n, def.name, def.min,
                           def.max);
      }
      return std::nullopt;
    }
    case config_type::string:
      if (!is_allowed(def, trim(value))) {
        return fmt::format("invalid value '{}' for {}: must be one of {}", value, def.name,
                           allowed_list(def));
      }
      return std::nullopt;
    case config_type::list: {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim(rest.substr(0, comma));
        if (!is_allowed(def, item)) {
          return fmt::format("invalid value '{}' for {}: each item must be one of {}", item,
                             def.name, allowed_list(def));
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::int64_t parse_integer(std::string_view value) {
  const auto v = trim(value);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  CAUDAL_ASSERT(ec == std::errc{} && end == v.data() + v.size(), "unchecked integer '{}'", value);
  return n;
}

bool parse_boolean(std::string_view value) {
  return lower(trim(value)) == "true";
}

const config_def* find_def(std::span<const config_def> table, std::string_view name) {
  for (const auto& d : table) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace caudal::cluster
