#pragma once

// Per-log settings. Names and defaults follow Kafka's topic configs (segment.bytes,
// segment.ms, retention.ms, retention.bytes, max.message.bytes, index.interval.bytes,
// flush.messages, flush.ms) except the flush policy, whose default is Caudal's: every
// append is durable before it is acknowledged (DESIGN.md, "Durable by default").

#include <cstdint>

namespace caudal::storage {

/// When appended data is made durable (fdatasync).
enum class flush_policy {
  /// Every append can be waited on until it is durable; fsyncs are group-committed, so
  /// appends that arrive while one fsync runs share the next.
  every_append,
  /// Kafka-style relaxation: flush when flush_messages appends are unflushed or
  /// flush_ms has passed since the last flush (checked by log::tick()).
  interval,
};

struct log_config {
  std::int64_t segment_bytes = 1LL << 30;              // segment.bytes, 1 GiB
  std::int64_t segment_ms = 7LL * 24 * 3600 * 1000;    // segment.ms, 7 days
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // retention.ms; -1 keeps forever
  std::int64_t retention_bytes = -1;                   // retention.bytes; -1 means no limit
  std::int32_t max_message_bytes = 1048588;            // max.message.bytes: largest batch
  std::int32_t index_interval_bytes = 4096;            // index.interval.bytes
  flush_policy flush = flush_policy::every_append;
  std::int64_t flush_messages = 1LL << 62;  // flush.messages (interval policy)
  std::int64_t flush_ms = 1LL << 62;        // flush.ms (interval policy)
};

/// Positions within a segment are 32-bit in the index, so a segment stays below 2 GiB.
inline constexpr std::int64_t segment_bytes_max = (1LL << 31) - 1;

}  // namespace caudal::storage
