#pragma once

// The durable part of a Raft log as the core sees it: read-only. The core never writes
// storage itself; it hands entries to persist out through raft_core::drain(), and the
// driver (or the simulator) writes and syncs them before it calls the core again.

#include "raft/core/types.h"

#include <cstddef>
#include <vector>

namespace caudal::raft {

/// Read access to the persisted log. Implemented over storage::log by the driver (an entry
/// is a record batch; docs/raft.md, "Entries and batches") and in memory by the simulator.
/// Runs on the group's event loop; must not block (the driver keeps recent entries and
/// terms in memory).
class log_store {
 public:
  log_store() = default;
  log_store(const log_store&) = delete;
  log_store& operator=(const log_store&) = delete;
  virtual ~log_store() = default;

  /// The index of the last persisted entry, 0 when the log is empty.
  [[nodiscard]] virtual log_index last_index() const = 0;
  /// The term of the entry at `index`; term 0 for index 0.
  /// Requires: 0 <= index <= last_index().
  [[nodiscard]] virtual term_id term_at(log_index index) const = 0;
  /// Appends to `out` the entries from `first` on, stopping before `last_inclusive` + 1 or
  /// once `bytes_max` data bytes are reached, but always at least one entry.
  /// Requires: 1 <= first <= last_inclusive <= last_index().
  virtual void read(log_index first, log_index last_inclusive, std::size_t bytes_max,
                    std::vector<entry>& out) const = 0;
};

}  // namespace caudal::raft
