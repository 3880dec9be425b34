#pragma once

// The records of a record batch v2 of any compression codec (../shared/kafka-protocol/
// README.md 4.3-4.5), and the record-level check the broker makes on produce.
//
// An uncompressed batch is walked in place. A compressed one has its records region (bytes
// 61..end) inflated, bounded by the caller's `decompressed_max`, into a buffer owned by the
// iterator, behind a copy of the header with the codec bits cleared; base/record_reader.h
// walks that. Every read is bounds-checked: malformed input is an error value, never a read
// past the bytes or an assertion.
//
// Produce path (after batch::validate has checked sizes and the CRC):
//
//     if (auto r = protocol::validate_records(batch, decompressed_max); !r) {
//       // r.error(): batch::errc, protocol::compression_errc or protocol::records_errc;
//       // Kafka answers CORRUPT_MESSAGE (INVALID_RECORD for records_errc::bad_offset_delta).
//     }

#include "base/record_batch.h"
#include "base/record_reader.h"
#include "base/result.h"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace caudal::protocol {

/// Why a batch's records were rejected (header problems are batch::errc, decompression
/// problems compression_errc).
enum class records_errc {
  malformed_record = 1,  // a record does not parse, or the records are not recordsCount long
  bad_offset_delta,      // offset deltas are not 0, 1, ..., recordsCount - 1 in order
};
[[nodiscard]] const std::error_category& records_error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(records_errc e) noexcept {
  return {static_cast<int>(e), records_error_category()};
}

/// Iterates the records of one batch, whatever its codec. The record_views it yields point
/// into the caller's batch (uncompressed) or into this object (compressed): they stay valid
/// while both live. Movable (views survive a move), not copyable.
class batch_records {
 public:
  /// Checks the header (size, batchLength, magic, codec, a non-negative recordsCount; not the
  /// CRC) and, for a compressed batch, decompresses its records, failing with
  /// compression_errc::too_large beyond `decompressed_max` bytes. `batch` may extend past the
  /// batch's end (the rest is ignored). Never reads outside `batch`. A compressed batch is
  /// decompressed into `scratch`, whose contents are discarded and whose capacity is reused;
  /// take_buffer() hands it back for the next batch.
  [[nodiscard]] static result<batch_records> open(std::span<const std::byte> batch,
                                                  std::size_t decompressed_max,
                                                  std::vector<std::byte> scratch = {});

  batch_records(batch_records&&) noexcept = default;
  batch_records& operator=(batch_records&&) noexcept = default;
  batch_records(const batch_records&) = delete;
  batch_records& operator=(const batch_records&) = delete;
  ~batch_records() = default;

  /// The next record, nullopt after recordsCount records, or records_errc::malformed_record
  /// when a record does not parse or the bytes hold fewer or more records than recordsCount.
  [[nodiscard]] result<std::optional<batch::record_view>> next();

  /// The size of the records region as it is walked (decompressed when it was compressed).
  [[nodiscard]] std::size_t records_bytes() const noexcept { return _records_bytes; }

  /// Ends the walk and returns the decompression buffer (empty for an uncompressed batch),
  /// so that its capacity can serve the next open().
  [[nodiscard]] std::vector<std::byte> take_buffer() && { return std::move(_buffer); }

 private:
  batch_records(std::vector<std::byte> buffer, std::span<const std::byte> walked)
      : _buffer(std::move(buffer)),
        _reader(walked),
        _records_bytes(walked.size() - batch::header_bytes) {}

  std::vector<std::byte> _buffer;  // header copy + decompressed records; empty if uncompressed
  batch::record_reader _reader;
  std::size_t _records_bytes;
};

/// Calls `f(const batch::record_view&)` for every record of `batch` in order (see
/// batch_records::open for the checks and `decompressed_max`). If `f` returns a result<void>,
/// the first error stops the walk and is returned.
template <class F>
requires std::invocable<F&, const batch::record_view&>
[[nodiscard]] result<void> for_each_record(std::span<const std::byte> batch,
                                           std::size_t decompressed_max, F&& f) {
  auto records = batch_records::open(batch, decompressed_max);
  if (!records) return records.error();
  for (;;) {
    auto r = records->next();
    if (!r) return r.error();
    if (!r->has_value()) return ok();
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const batch::record_view&>,
                                 result<void>>) {
      CAUDAL_TRY(f(**r));
    } else {
      f(**r);
    }
  }
}

/// Kafka's produce-side record check: `batch` is exactly one batch with a valid header
/// (structure only; the CRC is batch::validate's job), recordsCount > 0 and equal to
/// lastOffsetDelta + 1, its records (decompressed within `decompressed_max` bytes) all parse,
/// there are exactly recordsCount of them, and their offset deltas are 0..n-1 in order.
/// Control batches get the same checks and no more. Never reads outside `batch`.
[[nodiscard]] result<void> validate_records(std::span<const std::byte> batch,
                                            std::size_t decompressed_max);

}  // namespace caudal::protocol

template <>
struct std::is_error_code_enum<caudal::protocol::records_errc> : std::true_type {};
