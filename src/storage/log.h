#pragma once

// A partition's log: an append-only sequence of Kafka record batches v2 stored as the
// producer sent them, in segments (storage/segment.h), with durability, recovery,
// retention and truncation. It knows nothing of Kafka APIs or sockets.
// On-disk format: docs/formats/segment.md (docs/ at the repository root).
//
// Threads: one writer at a time (append, roll, truncate, retention and config changes
// serialise on a writer lock); reads run concurrently from any thread and never block on
// the writer's I/O; flushes run on a flush_executor. Durability completions run on the
// flush executor's thread: callers that own an event loop post back to it.

#include "base/clock.h"
#include "base/named_type.h"
#include "base/result.h"
#include "storage/checkpoint.h"
#include "storage/flush_pool.h"
#include "storage/log_config.h"
#include "storage/producer_state.h"
#include "storage/segment.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <system_error>
#include <vector>

namespace caudal::storage {

/// What append() assigned.
struct append_result {
  kafka_offset base_offset;
  kafka_offset last_offset;
  std::int64_t max_timestamp;
  // A producer's retry of a batch already in the log: nothing was written, the offsets
  // are the earlier batch's (which may not be durable yet).
  bool duplicate = false;
};

/// How much append() checks of a batch.
enum class batch_check : std::uint8_t {
  full,     // sizes, magic, CRC and record counts (batch::validate)
  trusted,  // the caller validated these exact bytes: sizes and magic only, no second CRC
};

/// Whole batches from one segment file, ready for sendfile(2): `range.size` bytes at
/// `range.position` of `fd()`. The segment stays open while this is held, even if
/// retention deletes it meanwhile. An empty range means there is nothing to read yet.
struct read_result {
  std::shared_ptr<const segment> seg;
  file_range range;

  [[nodiscard]] int fd() const { return seg->data_file().fd(); }
  [[nodiscard]] bool empty() const { return range.size == 0; }
};

/// Copies a read result's bytes into memory (for tests, TLS and internal readers).
[[nodiscard]] result<std::vector<std::byte>> read_bytes(const read_result& r);

class log;

/// Calls `visit` with each whole batch from the one holding `from` to the log end, in
/// order, reading 1 MiB at a time: how internal topics and producer state are replayed.
/// Each batch is checked (batch::validate_prefix) first. Stops at the first error, its own
/// or the one `visit` returns.
[[nodiscard]] result<void> for_each_batch(
    const log& l, kafka_offset from,
    const std::function<result<void>(std::span<const std::byte>)>& visit);

/// Called once an offset is durable, or with the error that stopped it from becoming so.
using durable_callback = std::function<void(std::error_code)>;

class log {
 public:
  /// Opens the log in `dir` (created if missing), recovering what a crash left: segments
  /// from the recovery point on are scanned, a torn or corrupt tail is truncated, missing
  /// or inconsistent indexes are rebuilt. `clk` and `flusher` must outlive the log.
  [[nodiscard]] static result<std::unique_ptr<log>> open(const std::filesystem::path& dir,
                                                         const log_config& config, clock& clk,
                                                         flush_executor& flusher);

  log(const log&) = delete;
  log& operator=(const log&) = delete;
  /// Closes the log (see close()) if it is still open.
  ~log();

  /// Waits for running flushes, makes everything durable, writes the indexes and a
  /// checkpoint so the next open() need not scan. Further calls fail with errc::closed.
  [[nodiscard]] result<void> close();

  /// Validates one record batch v2 (sizes, magic, CRC, record counts), assigns it the
  /// next offsets by patching its base offset in place, and writes it. The batch is
  /// readable when this returns; it is durable once when_durable(last_offset) completes.
  /// A batch with a producer id is checked against the producer state first: a retry of
  /// one of the producer's last batches is not written again (append_result::duplicate).
  /// Errors: errc::batch_too_large, a batch::errc for invalid bytes, the producer_state
  /// errors (producer_state::check), I/O errors.
  /// With batch_check::trusted the CRC and record counts are not checked again: the
  /// produce path has just checked them, and a second CRC pass costs ~7% of its CPU.
  [[nodiscard]] result<append_result> append(std::span<std::byte> batch,
                                             batch_check check = batch_check::full);

  /// Calls `done` once every offset <= `offset` is durable, requesting a flush if one is
  /// needed. Group commit: appends that arrive while an fdatasync runs share the next.
  void when_durable(kafka_offset offset, durable_callback done);
  /// Blocks until `offset` is durable. For tests, tools and benchmarks, not event loops.
  [[nodiscard]] result<void> wait_durable(kafka_offset offset);
  /// Makes everything appended so far durable; blocks.
  [[nodiscard]] result<void> flush();
  /// Periodic housekeeping for the interval flush policy (flush.ms) and segment.ms rolls.
  void tick();

  /// Whole batches starting with the one that holds `offset`, at most `bytes_max` bytes
  /// but at least one batch, from one segment. Errors: errc::offset_out_of_range when
  /// `offset` is below the log start or above the log end. At the log end: empty.
  /// Batches whose base offset is at or above `limit` are left out (the high watermark).
  [[nodiscard]] result<read_result> read(kafka_offset offset, std::uint64_t bytes_max,
                                         kafka_offset limit = kafka_offset_max) const;

  /// The first batch whose max timestamp is >= `timestamp` (its records hold the first
  /// record at or after it), at or after the log start; nullopt when there is none.
  [[nodiscard]] result<std::optional<read_result>> find_timestamp(std::int64_t timestamp) const;

  /// Moves the log start offset up to `offset` (DeleteRecords) and deletes segments that
  /// lie wholly below it. Requires: offset <= log end, else errc::offset_out_of_range.
  [[nodiscard]] result<void> truncate_prefix(kafka_offset offset);

  /// Removes every batch holding an offset >= `offset` (a batch holding `offset` goes
  /// entirely) and returns the new log end. Waiters on removed offsets get an error.
  [[nodiscard]] result<kafka_offset> truncate_suffix(kafka_offset offset);

  /// Deletes whole segments older than retention.ms or beyond retention.bytes and moves
  /// the log start offset. Returns the number of segments deleted.
  [[nodiscard]] result<std::size_t> apply_retention();

  /// Forces a new active segment (also happens on its own at segment.bytes/segment.ms).
  [[nodiscard]] result<void> roll();

  /// The last stable offset for a high watermark: below the first offset of every open
  /// transaction, so read_committed consumers never read past an undecided batch.
  [[nodiscard]] kafka_offset last_stable_offset(kafka_offset high_watermark) const {
    const std::int64_t unstable = _first_unstable.load(std::memory_order_acquire);
    return unstable >= 0 ? std::min(high_watermark, kafka_offset(unstable)) : high_watermark;
  }
  /// The aborted transactions whose batches may lie in [from, to): their abort marker is
  /// at or after `from` and their first offset below `to` (Fetch with read_committed).
  [[nodiscard]] std::vector<aborted_txn> aborted_transactions(kafka_offset from,
                                                              kafka_offset to) const;

  /// Forgets idempotent producers idle for longer than `expiration_ms`
  /// (producer.id.expiration.ms). Returns how many went.
  std::size_t expire_producers(std::int64_t expiration_ms);
  /// What the log knows of a producer id (tests, DescribeProducers); nullopt if nothing.
  [[nodiscard]] std::optional<producer_entry> producer(std::int64_t producer_id) const;
  [[nodiscard]] std::size_t producer_count() const;

  /// Replaces the configuration (AlterConfigs); takes effect for the next append.
  void set_config(const log_config& config);
  [[nodiscard]] log_config config() const;

  [[nodiscard]] kafka_offset log_start_offset() const {
    return kafka_offset(_log_start.load(std::memory_order_acquire));
  }
  /// One past the last appended offset.
  [[nodiscard]] kafka_offset log_end_offset() const {
    return kafka_offset(_log_end.load(std::memory_order_acquire));
  }
  /// One past the last durable offset.
  [[nodiscard]] kafka_offset durable_end_offset() const {
    return kafka_offset(_durable_end.load(std::memory_order_acquire));
  }
  [[nodiscard]] std::uint64_t size_bytes() const;
  [[nodiscard]] std::size_t segment_count() const;
  /// Base offsets of the segments, oldest first (tests, metrics).
  [[nodiscard]] std::vector<kafka_offset> segment_bases() const;
  [[nodiscard]] const std::filesystem::path& dir() const { return _dir; }

 private:
  struct waiter {
    kafka_offset offset;
    durable_callback done;
  };

  log(std::filesystem::path dir, const log_config& config, clock& clk, flush_executor& flusher);

  [[nodiscard]] result<void> recover();
  // Rebuilds _producers from the newest usable snapshot at or below the log end plus the
  // batches after it, deleting snapshots above the log end.
  [[nodiscard]] result<void> load_producer_state_locked();
  // Snapshots _producers at the log end and keeps only the newest few snapshots.
  [[nodiscard]] result<void> snapshot_producers_locked();
  // Applies an appended (or replayed) batch to _producers and publishes what readers see.
  void update_producers_locked(std::span<const std::byte> batch, kafka_offset base,
                               kafka_offset last);
  void publish_transactions_locked();
  [[nodiscard]] result<void> roll_locked();
  [[nodiscard]] result<void> write_checkpoint_locked(kafka_offset recovery_point,
                                                     kafka_offset log_start);
  [[nodiscard]] std::shared_ptr<segment> active() const;
  [[nodiscard]] std::vector<std::shared_ptr<segment>> snapshot() const;
  [[nodiscard]] std::shared_ptr<segment> segment_for(kafka_offset offset) const;
  void remove_segments_locked(std::size_t from, std::size_t to);
  void request_flush_locked();  // requires _flush_mutex
  void run_flush();
  void fail(std::error_code ec);

  const std::filesystem::path _dir;
  clock& _clock;
  flush_executor& _flusher;

  mutable std::mutex _writer_mutex;               // serialises all mutation
  producer_state _producers;                      // guarded by _writer_mutex
  std::atomic<std::int64_t> _first_unstable{-1};  // of _producers; -1: no open transaction
  mutable std::mutex _aborted_mutex;
  std::shared_ptr<const std::vector<aborted_txn>> _aborted;  // guarded by _aborted_mutex
  log_config _config;  // written under _writer_mutex and _config_mutex
  mutable std::mutex _config_mutex;

  mutable std::shared_mutex _segments_mutex;
  std::vector<std::shared_ptr<segment>> _segments;  // guarded by _segments_mutex; never empty

  std::atomic<std::int64_t> _log_start{0};
  std::atomic<std::int64_t> _log_end{0};
  std::atomic<std::int64_t> _durable_end{0};
  std::atomic<bool> _failed{false};
  std::atomic<bool> _closed{false};
  std::atomic<std::uint64_t> _truncations{0};  // bumped by truncate_suffix
  std::error_code _failure;                    // set once under _flush_mutex before _failed

  std::mutex _checkpoint_mutex;
  kafka_offset _recovery_point{0};  // guarded by _checkpoint_mutex

  std::mutex _flush_mutex;
  std::condition_variable _flush_idle;
  std::vector<waiter> _waiters;         // guarded by _flush_mutex
  bool _flush_running = false;          // guarded by _flush_mutex
  bool _flush_again = false;            // guarded by _flush_mutex
  std::int64_t _unflushed_appends = 0;  // guarded by _flush_mutex
  std::int64_t _last_flush_ms = 0;      // guarded by _flush_mutex
};

}  // namespace caudal::storage
