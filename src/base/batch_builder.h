#pragma once

// Builds an uncompressed record batch v2 from records: what the broker needs to write its
// own records (internal topics, control batches) and what tests use to make real batches.
// The output is exactly what a Kafka producer would send: base offset 0, offset deltas
// 0..n-1, CRC set.

#include "base/record_batch.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace caudal::batch {

/// One record header: a key (never null) and a value (may be null).
struct record_header {
  std::span<const std::byte> key;
  std::optional<std::span<const std::byte>> value;
};

/// Accumulates records and produces one batch. Not reusable after finish().
class builder {
 public:
  /// Producer identity and attributes of the batch; the defaults are a plain producer.
  struct options {
    std::int16_t attributes = 0;  // compression must stay 0: this builder does not compress
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t leader_epoch = -1;
  };

  builder() : builder(options{}) {}
  explicit builder(options opts);

  /// Appends a record. A null key or value is written as length -1.
  void add(std::optional<std::span<const std::byte>> key,
           std::optional<std::span<const std::byte>> value, std::int64_t timestamp_ms,
           std::span<const record_header> headers = {});

  [[nodiscard]] std::int32_t records() const { return _count; }

  /// The finished batch. Requires: at least one record was added.
  [[nodiscard]] std::vector<std::byte> finish();

 private:
  void put_varint(std::int64_t v);
  void put_bytes(std::optional<std::span<const std::byte>> b);

  options _options;
  std::vector<std::byte> _records;  // the records region
  std::vector<std::byte> _scratch;  // one record while it is encoded
  std::int32_t _count = 0;
  std::int64_t _base_timestamp = 0;
  std::int64_t _max_timestamp = -1;
};

/// Options for a batch of an idempotent producer: its id, epoch and first sequence.
[[nodiscard]] inline builder::options producer_options(std::int64_t id, std::int16_t epoch,
                                                       std::int32_t sequence) {
  builder::options opts;
  opts.producer_id = id;
  opts.producer_epoch = epoch;
  opts.base_sequence = sequence;
  return opts;
}

}  // namespace caudal::batch
