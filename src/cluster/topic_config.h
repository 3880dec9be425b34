#pragma once

// Per-topic configuration with Kafka's topic config names. A topic stores only the keys
// set on it; every other key takes the broker's default (log.retention.ms for
// retention.ms, and so on), as in Kafka.

#include "base/properties.h"
#include "cluster/broker_config.h"
#include "cluster/config_def.h"
#include "storage/log_config.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace caudal::cluster {

/// One described config entry.
struct config_entry {
  std::string name;
  std::optional<std::string> value;
  config_source source;
  bool read_only = false;
  std::string doc;
};

/// Every topic config key Caudal implements.
[[nodiscard]] std::span<const config_def> topic_config_definitions();

/// Checks one topic config. Returns a message for an unknown key, a malformed value, or a
/// value Caudal does not support yet (cleanup.policy=compact).
[[nodiscard]] std::optional<std::string> check_topic_config(std::string_view name,
                                                            std::string_view value);

/// The effective value of every topic config for a topic with `overrides`.
[[nodiscard]] std::vector<config_entry> describe_topic_config(const properties& overrides,
                                                              const broker_config& broker);

/// The effective value of one topic config key. Requires: a defined key.
[[nodiscard]] std::optional<std::string> topic_config_value(std::string_view name,
                                                            const properties& overrides,
                                                            const broker_config& broker);

/// The storage settings a topic's partition logs use.
[[nodiscard]] storage::log_config to_log_config(const properties& overrides,
                                                const broker_config& broker);

/// Every broker config with its effective value and source, for DescribeConfigs.
[[nodiscard]] std::vector<config_entry> describe_broker_config(const broker_config& broker);

}  // namespace caudal::cluster
