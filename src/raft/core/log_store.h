#pragma once

// The durable part of a Raft log as the core sees it: read-only. The core never writes
// storage itself; it hands entries to persist out through raft_core::drain(), and the
// driver (or the simulator) writes and syncs them before it calls the core again.

#include "raft/core/types.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace caudal::raft {

/// Read access to the persisted log. Implemented over storage::log by the driver (an entry
/// is a record batch; docs/raft.md, "Entries and batches") and in memory by the simulator.
/// Runs on the group's event loop; must not block (the driver keeps recent entries and
/// terms in memory).
///
/// With a snapshot (latest_snapshot() not null) the log starts after it: entries up to its
/// index are gone, last_index() is at least its index, term_at(its index) is its term and
/// read() starts above it. The driver replaces the snapshot and drops entries as `ready`
/// says (raft_core.h); the snapshot and the log tail must be durable together, so a
/// crash leaves either the old snapshot and log or the new snapshot and a tail after it.
class log_store {
 public:
  log_store() = default;
  log_store(const log_store&) = delete;
  log_store& operator=(const log_store&) = delete;
  virtual ~log_store() = default;

  /// The index of the last persisted entry; the snapshot's index (0 without one) when no
  /// entry follows it.
  [[nodiscard]] virtual log_index last_index() const = 0;
  /// The term of the entry at `index`; the snapshot's term at its index, term 0 at 0.
  /// Requires: snapshot index <= index <= last_index().
  [[nodiscard]] virtual term_id term_at(log_index index) const = 0;
  /// Appends to `out` the entries from `first` on, stopping before `last_inclusive` + 1 or
  /// once `bytes_max` data bytes are reached, but always at least one entry.
  /// Requires: snapshot index < first <= last_inclusive <= last_index().
  virtual void read(log_index first, log_index last_inclusive, std::size_t bytes_max,
                    std::vector<entry>& out) const = 0;
  /// The snapshot the log starts after, or null when it starts at index 1. A store that
  /// never compacts keeps this default. Called when the core starts, and when it sends a
  /// follower the snapshot; the data may be loaded on demand.
  [[nodiscard]] virtual std::shared_ptr<const snapshot> latest_snapshot() const { return nullptr; }
};

}  // namespace caudal::raft
