#pragma once

// The Kafka record batch v2 ("magic 2") header: its layout, a read-only view, structural
// validation and the two fields the broker patches (base offset, leader epoch). Shared by
// protocol/ (which decodes records) and storage/ (which stores batches as they came).
// Layout: ../shared/kafka-protocol/README.md section 4 and docs/formats/segment.md.

#include "base/bytes.h"
#include "base/named_type.h"
#include "base/result.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace caudal::batch {

// Byte positions of the header fields (all big-endian).
inline constexpr std::size_t base_offset_pos = 0;
inline constexpr std::size_t batch_length_pos = 8;
inline constexpr std::size_t leader_epoch_pos = 12;
inline constexpr std::size_t magic_pos = 16;
inline constexpr std::size_t crc_pos = 17;
inline constexpr std::size_t attributes_pos = 21;
inline constexpr std::size_t last_offset_delta_pos = 23;
inline constexpr std::size_t base_timestamp_pos = 27;
inline constexpr std::size_t max_timestamp_pos = 35;
inline constexpr std::size_t producer_id_pos = 43;
inline constexpr std::size_t producer_epoch_pos = 51;
inline constexpr std::size_t base_sequence_pos = 53;
inline constexpr std::size_t records_count_pos = 57;
inline constexpr std::size_t header_bytes = 61;
static_assert(header_bytes == records_count_pos + 4);

/// Bytes before batchLength's coverage starts: baseOffset (8) + batchLength (4).
inline constexpr std::size_t log_overhead = 12;
/// The CRC covers from the attributes to the end of the batch.
inline constexpr std::size_t crc_start = attributes_pos;
inline constexpr std::int8_t magic_v2 = 2;

// Attribute bits.
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t timestamp_type_bit = 0x08;
inline constexpr std::int16_t transactional_bit = 0x10;
inline constexpr std::int16_t control_bit = 0x20;
inline constexpr std::int16_t delete_horizon_bit = 0x40;
inline constexpr std::int16_t compression_max = 4;  // zstd

/// Why a batch was rejected. Every value means the bytes are not a valid batch.
enum class errc {
  truncated = 1,     // fewer bytes than the header or than batchLength says
  bad_length,        // batchLength below the header size or above the limit
  bad_magic,         // magic is not 2
  bad_crc,           // CRC-32C does not match
  bad_record_count,  // records count not positive or inconsistent with lastOffsetDelta
  bad_compression,   // compression codec 5-7
  trailing_bytes,    // more bytes than one batch where exactly one was expected
};
[[nodiscard]] const std::error_category& error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// How strict the record-count check is.
enum class count_check {
  /// A batch fresh from a producer: recordsCount > 0 and lastOffsetDelta + 1 == count.
  fresh,
  /// A batch already in a log: compaction may have removed records, so
  /// 0 <= recordsCount <= lastOffsetDelta + 1.
  stored,
};

/// A read-only view of a batch header. Requires: the span holds at least header_bytes
/// (validate() or a size check establishes that before a view is made).
class header_view {
 public:
  explicit header_view(std::span<const std::byte> bytes) : _p(bytes.data()) {
    CAUDAL_ASSERT(bytes.size() >= header_bytes, "batch header view over {} bytes", bytes.size());
  }

  [[nodiscard]] kafka_offset base_offset() const { return kafka_offset(load_be<std::int64_t>(_p)); }
  [[nodiscard]] std::int32_t batch_length() const {
    return load_be<std::int32_t>(_p + batch_length_pos);
  }
  /// The whole batch's size in bytes: batchLength + log_overhead.
  [[nodiscard]] std::size_t size_bytes() const {
    return static_cast<std::size_t>(batch_length()) + log_overhead;
  }
  [[nodiscard]] std::int32_t leader_epoch() const {
    return load_be<std::int32_t>(_p + leader_epoch_pos);
  }
  [[nodiscard]] std::int8_t magic() const { return static_cast<std::int8_t>(_p[magic_pos]); }
  [[nodiscard]] std::uint32_t crc() const { return load_be<std::uint32_t>(_p + crc_pos); }
  [[nodiscard]] std::int16_t attributes() const {
    return load_be<std::int16_t>(_p + attributes_pos);
  }
  [[nodiscard]] int compression() const { return attributes() & compression_mask; }
  [[nodiscard]] bool is_log_append_time() const { return (attributes() & timestamp_type_bit) != 0; }
  [[nodiscard]] bool is_transactional() const { return (attributes() & transactional_bit) != 0; }
  [[nodiscard]] bool is_control() const { return (attributes() & control_bit) != 0; }
  [[nodiscard]] std::int32_t last_offset_delta() const {
    return load_be<std::int32_t>(_p + last_offset_delta_pos);
  }
  /// The offset of the batch's last record: base offset + lastOffsetDelta.
  [[nodiscard]] kafka_offset last_offset() const { return base_offset() + last_offset_delta(); }
  [[nodiscard]] std::int64_t base_timestamp() const {
    return load_be<std::int64_t>(_p + base_timestamp_pos);
  }
  [[nodiscard]] std::int64_t max_timestamp() const {
    return load_be<std::int64_t>(_p + max_timestamp_pos);
  }
  [[nodiscard]] std::int64_t producer_id() const {
    return load_be<std::int64_t>(_p + producer_id_pos);
  }
  [[nodiscard]] std::int16_t producer_epoch() const {
    return load_be<std::int16_t>(_p + producer_epoch_pos);
  }
  [[nodiscard]] std::int32_t base_sequence() const {
    return load_be<std::int32_t>(_p + base_sequence_pos);
  }
  [[nodiscard]] std::int32_t records_count() const {
    return load_be<std::int32_t>(_p + records_count_pos);
  }

 private:
  const std::byte* _p;
};

/// Checks that `bytes` starts with a structurally valid v2 batch no larger than
/// `size_max` bytes: length, magic, compression codec, record counts, CRC. On success
/// returns the batch's total size (which may be less than bytes.size()). Never reads
/// outside `bytes`.
[[nodiscard]] result<std::size_t> validate_prefix(std::span<const std::byte> bytes,
                                                  std::size_t size_max, count_check check);

/// Like validate_prefix, and also requires the batch to span all of `bytes`.
[[nodiscard]] result<void> validate(std::span<const std::byte> bytes, std::size_t size_max,
                                    count_check check);

/// The CRC-32C the header should carry for `bytes` (from attributes to the end).
/// Requires: bytes.size() >= header_bytes.
[[nodiscard]] std::uint32_t compute_crc(std::span<const std::byte> bytes);

/// Overwrites the base offset. It lies outside the CRC, so the CRC stays valid.
inline void set_base_offset(std::span<std::byte> bytes, kafka_offset offset) {
  CAUDAL_ASSERT(bytes.size() >= header_bytes, "batch of {} bytes", bytes.size());
  store_be<std::int64_t>(bytes.data() + base_offset_pos, offset());
}

/// Overwrites the partition leader epoch, also outside the CRC.
inline void set_leader_epoch(std::span<std::byte> bytes, std::int32_t epoch) {
  CAUDAL_ASSERT(bytes.size() >= header_bytes, "batch of {} bytes", bytes.size());
  store_be<std::int32_t>(bytes.data() + leader_epoch_pos, epoch);
}

}  // namespace caudal::batch

template <>
struct std::is_error_code_enum<caudal::batch::errc> : std::true_type {};
