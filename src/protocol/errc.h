#pragma once

// Errors of the protocol layer: why a byte sequence is not a valid Kafka message. These are
// internal errors (STYLE.md, "Error model"); broker/ decides what the client sees, usually a
// closed connection or INVALID_REQUEST.

#include <system_error>

namespace caudal::protocol {

enum class errc {
  truncated = 1,        // the input ends inside a value
  bad_varint,           // an unsigned varint longer than its type allows
  negative_length,      // a length or count below -1
  non_nullable_null,    // null (length -1, compact 0) where the field may not be null
  array_too_long,       // an array count larger than the bytes left (each element takes one)
  unknown_api_key,      // an api key Caudal does not implement
  unsupported_version,  // a version outside the API's valid range
};

[[nodiscard]] const std::error_category& error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace caudal::protocol

template <>
struct std::is_error_code_enum<caudal::protocol::errc> : std::true_type {};
