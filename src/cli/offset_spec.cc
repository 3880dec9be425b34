#include "cli/offset_spec.h"

#include "cli/error.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace caudal::cli {
namespace {

// A decimal integer spanning all of `text`, or nullopt.
bool parse_int(std::string_view text, std::int64_t& out) {
  const std::string s(text);
  if (s.empty() || (s[0] != '-' && (s[0] < '0' || s[0] > '9'))) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return false;
  out = v;
  return true;
}

}  // namespace

offset_spec parse_offset_spec(std::string_view text, std::string_view flag) {
  if (text == "beginning" || text == "earliest" || text == "start") return {};
  if (text == "end" || text == "latest") return {offset_spec::kind::end, 0};
  std::int64_t v = 0;
  if (!text.empty() && text.front() == '@') {
    if (parse_int(text.substr(1), v) && v >= 0) return {offset_spec::kind::timestamp, v};
  } else if (parse_int(text, v)) {
    if (v >= 0) return {offset_spec::kind::offset, v};
    if (v > INT64_MIN) return {offset_spec::kind::from_end, -v};
  }
  usage_error(std::string(flag) +
              " takes beginning, end, an offset, -N (N before the end) or @TIMESTAMP_MS; got '" +
              std::string(text) + "'");
}

}  // namespace caudal::cli
