#pragma once

// The errors the group coordinator answers with. Their values are Kafka's error codes, so
// broker/ puts them on the wire as they are (a static_assert there checks each value
// against protocol::error_code); group/ may not include protocol/ (DESIGN.md, "Layers").

#include <cstdint>

namespace caudal::group {

/// A Kafka error code the coordinator produces (names and values as Kafka's Errors).
enum class error : std::int16_t {
  none = 0,
  unknown_topic_or_partition = 3,
  offset_metadata_too_large = 12,
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  invalid_producer_epoch = 47,
  invalid_txn_state = 48,
  invalid_producer_id_mapping = 49,
  invalid_transaction_timeout = 50,
  concurrent_transactions = 51,
  operation_not_attempted = 55,
  kafka_storage_error = 56,
  non_empty_group = 68,
  group_id_not_found = 69,
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  group_subscribed_to_topic = 86,
  producer_fenced = 90,
};

/// The wire value of `e`.
[[nodiscard]] constexpr std::int16_t wire(error e) {
  return static_cast<std::int16_t>(e);
}

}  // namespace caudal::group
