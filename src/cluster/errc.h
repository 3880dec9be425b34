#pragma once

// Errors of cluster metadata operations; broker/ maps them to Kafka error codes.

#include <string>
#include <system_error>

namespace caudal::cluster {

enum class errc {
  topic_already_exists = 1,
  unknown_topic,
  invalid_topic,
  invalid_partitions,
  invalid_replication_factor,
  invalid_config,
  topic_deletion_disabled,
  corrupt_metadata,
};

[[nodiscard]] const std::error_category& error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A failed metadata operation: the error and a message for the client, in Kafka's words.
struct op_error {
  errc code;
  std::string message;
};

}  // namespace caudal::cluster

template <>
struct std::is_error_code_enum<caudal::cluster::errc> : std::true_type {};
