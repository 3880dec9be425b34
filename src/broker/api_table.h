#pragma once

// The APIs this broker serves and the versions it advertises in ApiVersions. Advertised
// ranges are a contract (README of ../shared/kafka-protocol, section 8): an API is listed
// only when its handler exists, and every listed version is served.

#include "broker/request_context.h"
#include "protocol/codec.h"

#include <cstdint>
#include <span>

namespace caudal::broker {

using handler_fn = void (*)(request_context ctx, protocol::reader& body);

struct api_entry {
  protocol::api_key key;
  std::int16_t version_min;
  std::int16_t version_max;
  handler_fn handler;
};

/// Every served API, in key order.
[[nodiscard]] std::span<const api_entry> served_apis();

/// The entry for `key`, or nullptr when the API is not served.
[[nodiscard]] const api_entry* find_served_api(std::int16_t key);

}  // namespace caudal::broker
