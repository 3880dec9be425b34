#pragma once

// Reads the records of an uncompressed record batch v2 (layout: ../shared/kafka-protocol/
// README.md 4.3-4.4). Bounds-checked: a malformed record stops the walk with an error,
// never a read past the batch. Compressed batches are the protocol layer's to inflate.

#include "base/record_batch.h"
#include "base/result.h"

#include <cstdint>
#include <optional>
#include <span>

namespace caudal::batch {

/// One record, viewing bytes inside the batch.
struct record_view {
  std::int64_t timestamp_delta;
  std::int32_t offset_delta;
  std::optional<std::span<const std::byte>> key;    // nullopt: a null key
  std::optional<std::span<const std::byte>> value;  // nullopt: a null value (tombstone)
  std::span<const std::byte> headers;               // the raw header section
  std::int32_t header_count;
};

/// Iterates the records of one batch. Requires: a batch that passed validate().
class record_reader {
 public:
  explicit record_reader(std::span<const std::byte> batch);

  /// The next record, nullopt after the last, or errc::truncated when a record is
  /// malformed or the count does not match the bytes.
  [[nodiscard]] result<std::optional<record_view>> next();

 private:
  std::span<const std::byte> _rest;
  std::int32_t _remaining;
};

/// Control record types (the key of a control batch's record: version i16, type i16).
inline constexpr std::int16_t control_abort = 0;
inline constexpr std::int16_t control_commit = 1;

/// The type of a control batch's marker, nullopt if the batch is no control batch or its
/// record is malformed. Requires: a batch that passed validate().
[[nodiscard]] std::optional<std::int16_t> control_type(std::span<const std::byte> batch);

}  // namespace caudal::batch
