#include "broker/config_resource.h"

#include "cluster/broker_config.h"

#include <fmt/format.h>

#include <charconv>

namespace caudal::broker {

std::int8_t wire_config_type(cluster::config_type type) {
  // BOOLEAN=1, STRING=2, INT=3, SHORT=4, LONG=5, DOUBLE=6, LIST=7 (DescribeConfigsResponse).
  switch (type) {
    case cluster::config_type::boolean:
      return 1;
    case cluster::config_type::string:
      return 2;
    case cluster::config_type::int32:
      return 3;
    case cluster::config_type::int64:
      return 5;
    case cluster::config_type::list:
      return 7;
  }
  return 0;  // UNKNOWN
}

std::optional<resource_error> check_broker_resource(const broker_services& services,
                                                    const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc{} || end != name.data() + name.size()) {
    return resource_error{protocol::error_code::invalid_request,
                          fmt::format("Broker id must be an integer, but it is: {}", name)};
  }
  if (id != services.config.node_id()) {
    return resource_error{
        protocol::error_code::invalid_request,
        fmt::format("Unexpected broker id, expected {} or empty string, but received {}",
                    services.config.node_id(), name)};
  }
  return std::nullopt;
}

resource_error unsupported_resource_type(std::int8_t type) {
  return {protocol::error_code::invalid_request,
          fmt::format("Unsupported resource type: {}", static_cast<int>(type))};
}

resource_error unknown_topic(const std::string& name) {
  return {protocol::error_code::unknown_topic_or_partition,
          fmt::format("The topic '{}' does not exist.", name)};
}

std::optional<std::string> check_dynamic_broker_config(std::string_view name,
                                                       std::string_view value) {
  const cluster::config_def* def = cluster::find_def(cluster::broker_config::definitions(), name);
  if (def == nullptr) return fmt::format("Unknown broker config name: {}", name);
  if (!cluster::broker_config::is_dynamic_key(name)) {
    return fmt::format("Cannot update these configs dynamically: Set({})", name);
  }
  if (auto bad = cluster::check_value(*def, value)) return bad;
  if (name == "log.cleanup.policy" && value.find("compact") != std::string_view::npos) {
    return std::string(
        "log.cleanup.policy=compact is not supported yet: log compaction is not "
        "implemented in this version of Caudal");
  }
  return std::nullopt;
}

}  // namespace caudal::broker
