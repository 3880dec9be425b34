#pragma once

// What the config APIs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs) and
// CreateTopics share: Kafka's config resource types, the wire codes of config types, and
// the check that a config resource names a topic or this broker.

#include "broker/request_context.h"
#include "cluster/config_def.h"
#include "protocol/error_code.h"

#include <cstdint>
#include <optional>
#include <string>

namespace caudal::broker {

/// Kafka's ConfigResource.Type codes.
enum class config_resource_type : std::int8_t {
  topic = 2,
  broker = 4,
  broker_logger = 8,
};

/// Kafka's DescribeConfigs ConfigType codes (v3+).
[[nodiscard]] std::int8_t wire_config_type(cluster::config_type type);

/// A resource-level error: the code and Kafka's message for it.
struct resource_error {
  protocol::error_code code;
  std::string message;
};

/// Checks that a BROKER resource name is this node's id or empty, as Kafka does.
[[nodiscard]] std::optional<resource_error> check_broker_resource(const broker_services& services,
                                                                  const std::string& name);

/// The error Kafka gives for a resource type it does not serve here.
[[nodiscard]] resource_error unsupported_resource_type(std::int8_t type);

/// Checks a broker config set at run time: a known key, dynamically updatable, with a
/// valid value. Returns Kafka's message when it is not.
[[nodiscard]] std::optional<std::string> check_dynamic_broker_config(std::string_view name,
                                                                     std::string_view value);

/// The error for a topic that does not exist.
[[nodiscard]] resource_error unknown_topic(const std::string& name);

}  // namespace caudal::broker
