#pragma once

// The records of the internal topic `__consumer_offsets`, in Kafka's own key and value
// layouts so that Kafka tooling can read them: offset commit key v1 / value v3, group
// metadata key v2 / value v3. A null value is a tombstone (offset or group deleted).
// Format: docs/formats/consumer_offsets.md.

#include "base/result.h"
#include "group/group.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace caudal::group {

/// A committed offset as stored and as OffsetFetch reports it.
struct committed_offset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp_ms = -1;
  friend bool operator==(const committed_offset&, const committed_offset&) = default;
};

/// The key of an offset record: group, topic, partition.
struct offset_key {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  friend bool operator==(const offset_key&, const offset_key&) = default;
};

/// The key of a group metadata record.
struct group_key {
  std::string group;
  friend bool operator==(const group_key&, const group_key&) = default;
};

using record_key = std::variant<offset_key, group_key>;

[[nodiscard]] std::vector<std::byte> encode_key(const offset_key& k);
[[nodiscard]] std::vector<std::byte> encode_key(const group_key& k);
[[nodiscard]] std::vector<std::byte> encode_value(const committed_offset& v);
/// The group's record value (state, generation, protocol, leader, members with their
/// subscription and assignment).
[[nodiscard]] std::vector<std::byte> encode_value(const group_description& g);

/// Decodes a key; errc::truncated (or unsupported version) for bytes that are not one.
[[nodiscard]] result<record_key> decode_key(std::span<const std::byte> bytes);
/// Decodes an offset value (versions 0-3).
[[nodiscard]] result<committed_offset> decode_offset_value(std::span<const std::byte> bytes);
/// Decodes a group value (versions 0-3) for group `group_id`.
[[nodiscard]] result<group_description> decode_group_value(const std::string& group_id,
                                                           std::span<const std::byte> bytes);

}  // namespace caudal::group
