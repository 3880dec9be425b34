#include "base/properties.h"

#include <vector>

namespace caudal {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  return s;
}

// True when the line ends in an odd number of backslashes: a continuation.
bool continues(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\')
    ++n;
  return n % 2 == 1;
}

std::variant<std::string, std::string> unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) break;
    switch (s[i]) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u':
        return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                      "\\u escapes are not supported");
      default:
        out.push_back(s[i]);
        break;
    }
  }
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(out));
}

}  // namespace

std::variant<properties, properties_error> parse_properties(std::string_view text) {
  properties out;
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    std::string_view first = trim_left(lines[i]);
    if (first.empty() || first.front() == '#' || first.front() == '!') continue;
    std::string logical;
    std::string_view part = first;
    while (continues(part) && i + 1 < lines.size()) {
      logical.append(part.substr(0, part.size() - 1));
      part = trim_left(lines[++i]);
    }
    logical.append(part);
    // The key ends at the first unescaped '=', ':' or whitespace.
    std::size_t k = 0;
    while (k < logical.size()) {
      const char c = logical[k];
      if (c == '\\') {
        k += 2;
        continue;
      }
      if (c == '=' || c == ':' || is_space(c)) break;
      ++k;
    }
    k = std::min(k, logical.size());
    std::string_view key_raw(logical.data(), k);
    std::string_view rest = trim_left(std::string_view(logical).substr(k));
    if (!rest.empty() && (rest.front() == '=' || rest.front() == ':'))
      rest = trim_left(rest.substr(1));
    auto key = unescape(key_raw);
    auto value = unescape(rest);
    if (key.index() == 1) return properties_error{line_no, std::get<1>(key)};
    if (value.index() == 1) return properties_error{line_no, std::get<1>(value)};
    if (std::get<0>(key).empty()) return properties_error{line_no, "a line with no key"};
    // Trailing whitespace in values is kept by Java; Kafka trims it. Trim like Kafka.
    std::string v = std::get<0>(std::move(value));
    while (!v.empty() && is_space(v.back()))
      v.pop_back();
    out[std::get<0>(std::move(key))] = std::move(v);
  }
  return out;
}

}  // namespace caudal
