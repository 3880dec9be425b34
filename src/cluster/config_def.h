#pragma once

// Definitions of configuration keys (broker and topic) in Kafka's style: a name, a type,
// a default as Kafka prints it, and a validator. Values are kept as strings, the way
// Kafka's DescribeConfigs and property files carry them.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace caudal::cluster {

enum class config_type { boolean, int32, int64, string, list };

/// Where an effective config value comes from; values are Kafka's DescribeConfigs
/// ConfigSource codes.
enum class config_source : std::int8_t {
  topic = 1,                   // DYNAMIC_TOPIC_CONFIG
  dynamic_broker = 2,          // DYNAMIC_BROKER_CONFIG: set at run time for this broker
  dynamic_default_broker = 3,  // DYNAMIC_DEFAULT_BROKER_CONFIG: set at run time, cluster-wide
  static_broker = 4,           // STATIC_BROKER_CONFIG: the properties file or a flag
  default_value = 5,           // DEFAULT_CONFIG
};

/// One configuration key.
struct config_def {
  std::string_view name;
  config_type type;
  /// The default as a string; nullopt when the key has no default (null in Kafka).
  std::optional<std::string_view> default_value;
  std::string_view doc;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  /// For strings and lists: the allowed values (each list element must be one); empty
  /// means anything.
  std::span<const std::string_view> allowed = {};
};

/// Checks `value` against the key's type, range and allowed values. Returns a message
/// naming the key when it does not fit.
[[nodiscard]] std::optional<std::string> check_value(const config_def& def, std::string_view value);

/// Parses an integer value that check_value accepted.
[[nodiscard]] std::int64_t parse_integer(std::string_view value);
/// Parses a boolean value that check_value accepted ("true"/"false", any case).
[[nodiscard]] bool parse_boolean(std::string_view value);

/// Finds a definition by name in a table.
[[nodiscard]] const config_def* find_def(std::span<const config_def> table, std::string_view name);

}  // namespace caudal::cluster
