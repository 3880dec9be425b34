#pragma once

// The idempotent-producer state of one partition: for each producer id, its epoch and the
// sequence ranges and offsets of its last few batches. That is enough to recognise a
// retried batch (answered with its original offsets, not written again), to refuse a gap
// in a producer's sequence and to fence a producer whose epoch is older than one already
// seen. It is derived from the batches in the log alone (their producer id, epoch and base
// sequence header fields), so the log rebuilds it on open from a snapshot file plus the
// batches after it. Snapshot format: docs/formats/producer-snapshot.md.
//
// Not thread-safe: the log owns one and uses it under its writer lock.

#include "base/named_type.h"
#include "base/record_batch.h"
#include "base/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace caudal::storage {

/// Batches remembered per producer: a producer has at most five requests in flight
/// (max.in.flight.requests.per.connection with idempotence), so a retry is always of one
/// of its last five batches.
inline constexpr std::size_t producer_batches_kept = 5;

/// Where one of a producer's batches went.
struct producer_batch {
  std::int32_t first_sequence = 0;
  std::int32_t last_sequence = 0;
  kafka_offset base_offset;
  kafka_offset last_offset;
  std::int64_t max_timestamp = -1;
};

/// What is known of one producer id in this partition.
struct producer_entry {
  std::int16_t epoch = -1;
  std::array<producer_batch, producer_batches_kept> batches{};  // oldest first
  std::uint8_t batch_count = 0;
  std::int64_t last_timestamp = -1;  // max timestamp of its latest batch (expiry)
  std::int32_t coordinator_epoch = -1;
  kafka_offset txn_first_offset{-1};  // first offset of its open transaction, -1 if none

  [[nodiscard]] std::span<const producer_batch> recent() const {
    return {batches.data(), batch_count};
  }
};

/// A transaction that ended with an abort marker: read_committed consumers skip the
/// producer's batches from `first_offset` to the marker at `last_offset`.
struct aborted_txn {
  std::int64_t producer_id = -1;
  kafka_offset first_offset;
  kafka_offset last_offset;

  bool operator==(const aborted_txn&) const = default;
};

/// The sequence number after `sequence` + `delta`: sequences wrap from INT32_MAX to 0.
[[nodiscard]] std::int32_t add_sequence(std::int32_t sequence, std::int32_t delta);

class producer_state {
 public:
  /// Checks a batch a producer sent before it is appended. Returns the earlier batch when
  /// this one is a retry of it (same epoch and sequence range), nullopt when the batch may
  /// be appended. Batches without a producer id always pass. Errors:
  /// errc::invalid_producer_epoch (an epoch older than the producer's current one),
  /// errc::out_of_order_sequence (not the next sequence, or a new epoch not starting at 0),
  /// errc::invalid_sequence (a producer id with a negative epoch or sequence).
  [[nodiscard]] result<std::optional<producer_batch>> check(const batch::header_view& h) const;

  /// Records an appended batch (also used when replaying the log). Control batches only
  /// move the epoch and close the producer's open transaction; `marker` is the control
  /// record's type (batch::control_abort or control_commit). An abort that closes an open
  /// transaction is added to aborted().
  void update(const batch::header_view& h, kafka_offset base, kafka_offset last,
              std::int16_t marker = -1);

  /// The first offset of the oldest open transaction, nullopt if none is open: the last
  /// stable offset is the smaller of this and the high watermark.
  [[nodiscard]] std::optional<kafka_offset> first_unstable_offset() const;
  /// Aborted transactions in marker order.
  [[nodiscard]] const std::vector<aborted_txn>& aborted() const { return _aborted; }
  /// Forgets aborted transactions whose marker lies below `log_start` (their data is gone).
  void prune_aborted(kafka_offset log_start);

  /// Forgets producers whose latest batch is older than `expiration_ms` before `now_ms`
  /// and that have no open transaction (producer.id.expiration.ms). Returns how many.
  std::size_t expire(std::int64_t now_ms, std::int64_t expiration_ms);

  [[nodiscard]] const producer_entry* find(std::int64_t producer_id) const;
  [[nodiscard]] std::size_t size() const { return _producers.size(); }
  void clear() {
    _producers.clear();
    _ongoing.clear();
    _aborted.clear();
  }

  /// The snapshot file's contents (docs/formats/producer-snapshot.md).
  [[nodiscard]] std::vector<std::byte> serialize() const;
  /// Reads a snapshot back. Errors: errc::corrupt for a torn, foreign or damaged file.
  [[nodiscard]] static result<producer_state> parse(std::span<const std::byte> bytes);

 private:
  std::unordered_map<std::int64_t, producer_entry> _producers;
  std::map<kafka_offset, std::int64_t> _ongoing;  // open transactions: first offset -> id
  std::vector<aborted_txn> _aborted;
};

// Snapshot files: `<offset in 20 digits>.snapshot` in the log's directory, each holding the
// state after every batch below that offset.

/// The offsets of the snapshot files in `dir`, ascending.
[[nodiscard]] result<std::vector<kafka_offset>> list_producer_snapshots(
    const std::filesystem::path& dir);
/// Writes the snapshot for `offset` atomically (temporary file, fsync, rename, dir fsync).
[[nodiscard]] result<void> write_producer_snapshot(const std::filesystem::path& dir,
                                                   kafka_offset offset, const producer_state& s);
/// Reads the snapshot for `offset`; errc::corrupt if it is damaged.
[[nodiscard]] result<producer_state> read_producer_snapshot(const std::filesystem::path& dir,
                                                            kafka_offset offset);
/// Deletes the snapshot for `offset` (no error if it is already gone).
void remove_producer_snapshot(const std::filesystem::path& dir, kafka_offset offset);

}  // namespace caudal::storage
