#pragma once

// The one place internal errors become Kafka error codes (STYLE.md, "Error model").

#include "protocol/error_code.h"

#include <system_error>

namespace caudal::broker {

/// The Kafka error code a client should see for an internal error.
[[nodiscard]] protocol::error_code to_kafka_error(std::error_code ec);

/// The wire value of a Kafka error code.
[[nodiscard]] inline std::int16_t wire(protocol::error_code e) {
  return static_cast<std::int16_t>(e);
}

}  // namespace caudal::broker
