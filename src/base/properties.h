#pragma once

// Kafka-style `.properties` files (the Java Properties format that server.properties
// uses): `key=value`, `key: value` or `key value` lines, `#` and `!` comments, a
// trailing backslash continues a line, and \t \n \\ \= \: escapes.

#include "base/result.h"

#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace caudal {

/// Parsed key/value pairs, in key order. A later line for the same key wins.
using properties = std::map<std::string, std::string, std::less<>>;

/// A parse failure: the 1-based line and what is wrong.
struct properties_error {
  int line;
  std::string message;
};

/// Parses properties text. Returns the pairs, or the first malformed line.
[[nodiscard]] std::variant<properties, properties_error> parse_properties(std::string_view text);

}  // namespace caudal
