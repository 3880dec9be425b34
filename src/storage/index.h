#pragma once

// The sparse offset and time indexes of a segment. Both are kept in memory and written
// to their files when the segment is rolled or the log is closed; the active segment's
// indexes are rebuilt by recovery after a crash. On-disk format: docs/formats/segment.md.

#include "base/named_type.h"
#include "base/result.h"
#include "storage/file.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace caudal::storage {

/// One offset index entry: the batch whose base offset is `segment base + relative_offset`
/// starts at byte `position` of the data file.
struct offset_entry {
  std::uint32_t relative_offset;
  std::uint32_t position;
  friend bool operator==(const offset_entry&, const offset_entry&) = default;
};

/// One time index entry: every batch up to and including the batch with base offset
/// `segment base + relative_offset` has a max timestamp <= `timestamp`, and `timestamp`
/// is that running maximum.
struct time_entry {
  std::int64_t timestamp;
  std::uint32_t relative_offset;
  friend bool operator==(const time_entry&, const time_entry&) = default;
};

inline constexpr std::size_t offset_entry_bytes = 8;
inline constexpr std::size_t time_entry_bytes = 12;

/// Sparse map from offsets to file positions. Entries strictly increase in both fields.
/// Not synchronised: the owning segment guards it.
class offset_index {
 public:
  /// Appends an entry. Requires: both fields above the last entry's.
  void append(offset_entry e);
  /// The entry with the largest relative offset <= `relative`, if any.
  [[nodiscard]] std::optional<offset_entry> floor(std::uint32_t relative) const;
  /// Drops every entry whose position is >= `position`.
  void truncate_to_position(std::uint32_t position);
  /// Drops every entry whose relative offset is >= `relative`.
  void truncate_to_offset(std::uint32_t relative);
  void clear() { _entries.clear(); }
  [[nodiscard]] const std::vector<offset_entry>& entries() const { return _entries; }

  /// Serialises all entries (big-endian pairs).
  [[nodiscard]] std::vector<std::byte> encode() const;
  /// Parses and checks an index file's bytes against a data file of `data_bytes` bytes:
  /// whole entries, strictly increasing, positions inside the data. nullopt if not.
  [[nodiscard]] static std::optional<offset_index> decode(std::span<const std::byte> bytes,
                                                          std::uint64_t data_bytes);

 private:
  std::vector<offset_entry> _entries;
};

/// Sparse map from timestamps to offsets; timestamps strictly increase.
class time_index {
 public:
  /// Appends an entry if its timestamp is above the last entry's; otherwise replaces
  /// nothing and returns false.
  bool append(time_entry e);
  /// The last entry whose timestamp is < `timestamp`: every batch up to and including it
  /// is older than `timestamp`, so a search may start after it.
  [[nodiscard]] std::optional<time_entry> last_before(std::int64_t timestamp) const;
  /// Drops every entry whose relative offset is >= `relative`.
  void truncate_to_offset(std::uint32_t relative);
  void clear() { _entries.clear(); }
  [[nodiscard]] const std::vector<time_entry>& entries() const { return _entries; }
  [[nodiscard]] std::optional<time_entry> last() const {
    if (_entries.empty()) return std::nullopt;
    return _entries.back();
  }

  [[nodiscard]] std::vector<std::byte> encode() const;
  /// Parses an index file's bytes: whole entries, strictly increasing in both fields,
  /// offsets below `relative_end` (one past the segment's last relative offset).
  [[nodiscard]] static std::optional<time_index> decode(std::span<const std::byte> bytes,
                                                        std::uint64_t relative_end);

 private:
  std::vector<time_entry> _entries;
};

}  // namespace caudal::storage
