#pragma once

// One segment of a partition log: a data file of whole record batches plus its offset
// and time indexes. On-disk format: docs/formats/segment.md.
//
// Concurrency: one writer (the log, under its writer lock) appends and truncates; any
// number of readers read concurrently. Readers see only bytes below visible_bytes(),
// which the writer publishes after a batch is completely written, so a reader never
// sees half a batch. The indexes are guarded by a shared mutex held only for lookups.

#include "base/named_type.h"
#include "base/result.h"
#include "storage/file.h"
#include "storage/index.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>

namespace caudal::storage {

/// Where a batch lies in a segment's data file.
struct batch_location {
  std::uint64_t position;
  std::uint32_t size;
  kafka_offset base_offset;
  kafka_offset last_offset;
  std::int64_t max_timestamp;
};

/// A contiguous byte range of whole batches in one segment file.
struct file_range {
  std::uint64_t position = 0;
  std::uint64_t size = 0;
  kafka_offset first_offset;  // base offset of the first batch in the range
  kafka_offset next_offset;   // one past the last offset of the last batch in the range
};

/// No limit on the offsets a read may return.
inline constexpr kafka_offset kafka_offset_max{std::numeric_limits<std::int64_t>::max()};

/// The file name of a segment's data file: the base offset in 20 digits plus `.log`.
[[nodiscard]] std::string segment_file_name(kafka_offset base, std::string_view extension);
/// The offset in a name segment_file_name(offset, extension) made; nullopt for any other.
[[nodiscard]] std::optional<kafka_offset> parse_segment_file_name(std::string_view name,
                                                                  std::string_view extension);

class segment {
 public:
  /// Creates an empty segment at `base` in `dir` (files created, directory not synced).
  [[nodiscard]] static result<std::shared_ptr<segment>> create(const std::filesystem::path& dir,
                                                               kafka_offset base,
                                                               std::int64_t created_ms);

  /// Opens an existing segment. With `scan`, every batch is read and validated, the file
  /// is truncated after the last valid batch and the indexes are rebuilt; otherwise the
  /// index files are loaded and, if they fail their checks, rebuilt by a scan anyway.
  enum class open_mode { trust_indexes, scan };
  struct open_result {
    std::shared_ptr<segment> seg;
    bool truncated = false;  // the scan cut invalid bytes off the end
  };
  [[nodiscard]] static result<open_result> open(const std::filesystem::path& dir, kafka_offset base,
                                                open_mode mode, std::int32_t index_interval_bytes,
                                                std::int64_t created_ms);

  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment() = default;

  [[nodiscard]] kafka_offset base_offset() const { return _base; }
  /// One past the last offset in this segment (base_offset() when empty).
  [[nodiscard]] kafka_offset next_offset() const {
    return kafka_offset(_next_offset.load(std::memory_order_acquire));
  }
  /// Bytes of complete batches that readers may read.
  [[nodiscard]] std::uint64_t visible_bytes() const {
    return _visible_bytes.load(std::memory_order_acquire);
  }
  /// The largest batch max timestamp in the segment, -1 when there is none.
  [[nodiscard]] std::int64_t max_timestamp() const {
    return _max_timestamp.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::int64_t created_ms() const { return _created_ms; }
  [[nodiscard]] bool empty() const { return visible_bytes() == 0; }
  [[nodiscard]] const file& data_file() const { return _data; }

  /// Writer only. Appends a validated batch whose offsets were assigned. Requires:
  /// base >= next_offset(). The batch is visible to readers when this returns.
  [[nodiscard]] result<void> append(std::span<const std::byte> batch, kafka_offset base,
                                    kafka_offset last, std::int64_t max_timestamp,
                                    std::int32_t index_interval_bytes);

  /// The first batch whose last offset is >= `target`, or nullopt if none is visible.
  [[nodiscard]] result<std::optional<batch_location>> find(kafka_offset target) const;

  /// Whole batches from the one holding `target`, at most `bytes_max` bytes but always at
  /// least one batch. Empty (size 0) when no visible batch ends at or after `target`.
  /// Only batches whose base offset is below `limit` are included (consumers read up to
  /// the high watermark, which lies on a batch boundary).
  [[nodiscard]] result<file_range> read(kafka_offset target, std::uint64_t bytes_max,
                                        kafka_offset limit = kafka_offset_max) const;

  /// The first batch that ends at or after `from` and whose max timestamp is >=
  /// `timestamp`, or nullopt.
  [[nodiscard]] result<std::optional<batch_location>> find_timestamp(std::int64_t timestamp,
                                                                     kafka_offset from) const;

  /// Writer only. Removes every batch whose last offset is >= `offset`: the batch holding
  /// `offset` goes entirely. Returns the new next_offset().
  [[nodiscard]] result<kafka_offset> truncate_to(kafka_offset offset);

  /// Writes both index files (a full rewrite) and fsyncs them. Writer only, or after the
  /// segment stopped taking appends.
  [[nodiscard]] result<void> write_indexes();

  /// fdatasync of the data file; returns the byte count known durable.
  [[nodiscard]] result<void> sync();
  /// Bytes made durable by sync().
  [[nodiscard]] std::uint64_t synced_bytes() const {
    return _synced_bytes.load(std::memory_order_acquire);
  }

  /// Deletes the segment's files. Open descriptors stay valid for readers that still hold
  /// the segment.
  [[nodiscard]] result<void> remove_files() const;

  /// For tests: copies of the in-memory indexes.
  [[nodiscard]] offset_index offset_index_copy() const;
  [[nodiscard]] time_index time_index_copy() const;

 private:
  segment(std::filesystem::path dir, kafka_offset base, file data, std::int64_t created_ms);

  [[nodiscard]] result<bool> scan_and_rebuild(std::int32_t index_interval_bytes);
  [[nodiscard]] bool load_indexes();
  [[nodiscard]] result<std::optional<batch_location>> scan_from(std::uint64_t position,
                                                                kafka_offset target) const;
  [[nodiscard]] result<std::optional<batch_location>> header_at(std::uint64_t position) const;
  void index_batch(std::uint64_t position, std::uint32_t size, kafka_offset base,
                   std::int64_t max_timestamp, std::int32_t index_interval_bytes);
  [[nodiscard]] std::uint32_t relative(kafka_offset o) const;
  void read_ahead(std::uint64_t from) const;

  const std::filesystem::path _dir;
  const kafka_offset _base;
  file _data;
  const std::int64_t _created_ms;

  mutable std::shared_mutex _index_mutex;
  offset_index _offsets;  // guarded by _index_mutex
  time_index _times;      // guarded by _index_mutex

  // Writer state.
  std::uint64_t _size = 0;
  std::uint64_t _bytes_since_index = 0;
  bool _first_batch_indexed = false;

  std::atomic<std::uint64_t> _visible_bytes{0};
  std::atomic<std::int64_t> _next_offset;
  std::atomic<std::int64_t> _max_timestamp{-1};
  std::atomic<std::uint64_t> _synced_bytes{0};
  // How far read_ahead() has asked the kernel to read; readers race on it harmlessly.
  mutable std::atomic<std::uint64_t> _read_ahead_until{0};
};

}  // namespace caudal::storage
