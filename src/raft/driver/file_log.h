#pragma once

// A group's durable Raft state on local disk: the log in one append-only file of
// checksummed records, and the term/vote record in a file replaced atomically. Formats:
// docs/formats/raft-rpc.md ("On disk"). Not storage::log: see README.md for why and for
// what moving onto record batches takes.

#include "base/result.h"
#include "raft/core/log_store.h"
#include "raft/core/types.h"
#include "storage/file.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace caudal::raft {

/// The bytes in front of the first record of a log file.
inline constexpr std::size_t log_file_header_bytes = 8;
/// The fixed part of a log record: CRC, size, term, index, kind.
inline constexpr std::size_t log_record_fixed_bytes = 25;
/// Compacted records take at least this many bytes before the file is rewritten.
inline constexpr std::uint64_t rewrite_dead_bytes_min = 4U << 20;

/// One group's log, snapshot and hard state. The log after the snapshot is also held in
/// memory, so the log_store reads never block; compaction bounds it. The file keeps the
/// compacted records until they outweigh the rest (and rewrite_dead_bytes_min): then
/// compact() rewrites the file with the live records only.
/// Invariant: the file's records are contiguous and, when the snapshot's index is among
/// them, its record has the snapshot's term; the entries in memory are those after the
/// snapshot.
///
/// Threads: everything but sync() runs on the group's event loop. sync() may run on a
/// worker thread concurrently with write() and the reads: it touches only descriptors.
/// Durability: write() leaves the bytes in the page cache; only after sync() returns
/// may the caller act on them (send an acknowledgement, a vote).
class file_log final : public log_store {
 public:
  /// Opens (or creates) the files in `dir`. A torn or corrupt tail of the log, which a
  /// crash mid-append leaves, is cut off and the cut synced; a damaged hard state file is
  /// an error (errc::corrupt), since it is only ever replaced whole.
  [[nodiscard]] static result<std::unique_ptr<file_log>> open(const std::filesystem::path& dir);

  // log_store: memory reads only, never blocking. Loop thread.
  [[nodiscard]] log_index last_index() const override;
  [[nodiscard]] term_id term_at(log_index index) const override;
  void read(log_index first, log_index last_inclusive, std::size_t bytes_max,
            std::vector<entry>& out) const override;
  [[nodiscard]] std::shared_ptr<const snapshot> latest_snapshot() const override {
    return _snapshot;
  }

  /// The term and vote found by open().
  [[nodiscard]] const hard_state& recovered_hard_state() const { return _recovered; }
  /// The bytes cut off the log's tail by open() (0 after a clean shutdown).
  [[nodiscard]] std::uint64_t torn_bytes() const { return _torn_bytes; }

  /// Removes the entries from `truncate_from` on (if set), then appends `entries`, in the
  /// file and in memory; nothing is synced. Requires: entries continue the log without a
  /// gap. I/O errors are returned; the caller must not go on (the log may be half written).
  [[nodiscard]] result<void> write(std::optional<log_index> truncate_from,
                                   const std::vector<entry>& entries);
  /// Makes `s` the snapshot, durably (blocks on fsync), and drops the entries up to its
  /// index, which the file keeps. Requires: s->index is in the log and above the current
  /// snapshot, with the same term (the state machine's own compaction).
  [[nodiscard]] result<void> compact(std::shared_ptr<const snapshot> s);
  /// Makes `s` the snapshot durably (blocks on fsync), then empties the log: the leader's
  /// snapshot replaces it (Raft §7) and entries continue at s->index + 1. The emptied file
  /// is synced with the next sync(); a crash before leaves the old records, which open()
  /// drops because they do not hold the snapshot's last entry.
  [[nodiscard]] result<void> install(std::shared_ptr<const snapshot> s);
  /// Makes every write() that returned before this call durable, after replacing the hard
  /// state with `term_and_vote` if given (durably too). Blocks on fsync.
  [[nodiscard]] result<void> sync(const std::optional<hard_state>& term_and_vote) const;

 private:
  file_log(std::filesystem::path dir, storage::file log_file);
  [[nodiscard]] result<void> recover();
  [[nodiscard]] std::uint32_t last_crc() const;
  [[nodiscard]] log_index first_index() const;
  [[nodiscard]] result<void> write_snapshot(const snapshot& s) const;
  [[nodiscard]] result<void> reset_file();
  [[nodiscard]] result<void> rewrite_file();

  std::filesystem::path _dir;
  // Replaced (under _file_mutex) only by rewrite_file() on the loop thread, so the loop
  // reads it without the lock; sync() copies it under the lock.
  std::shared_ptr<storage::file> _file;
  mutable std::mutex _file_mutex;
  hard_state _recovered;
  std::uint64_t _torn_bytes = 0;
  std::shared_ptr<const snapshot> _snapshot;
  std::vector<entry> _entries;            // index first_index() + i at [i]
  std::vector<std::uint64_t> _positions;  // file position of each entry's record
  // Each record's CRC. A record's CRC is seeded with its predecessor's, so a stale record
  // left behind a truncation that did not reach the disk cannot pass as the successor
  // of the records written over the truncated ones.
  std::vector<std::uint32_t> _crcs;
  std::uint32_t _base_crc = 0;  // of the record before _entries[0] in the file; 0 if none
  std::uint64_t _end = log_file_header_bytes;
};

}  // namespace caudal::raft
