#pragma once

// The Raft driver: runs many Raft groups of one node on one event loop thread, with real
// timers, fsync and a TCP transport to the other nodes. It carries out each core's
// `ready` in the order persist, send, apply (raft/core/raft_core.h). No Asio in this
// header (pimpl), so its users compile quickly. Design: src/raft/driver/README.md; wire
// and disk formats: docs/formats/raft-rpc.md.

#include "base/result.h"
#include "raft/core/raft_core.h"
#include "raft/core/types.h"
#include "raft/driver/wire.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace caudal::raft {

/// Where another node's Raft transport listens.
struct peer_address {
  node_id id = node_none;
  std::string host;  // a numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
};

/// Static settings of a node's driver.
struct driver_config {
  node_id self = node_none;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;    // 0: the OS picks; see listen_port()
  std::vector<peer_address> peers;  // the other nodes (self is skipped if listed)
  std::filesystem::path data_dir;   // one subdirectory per group
  std::int32_t tick_ms = 10;        // one core tick; timeouts in raft::config count these
  std::size_t peer_queue_bytes_max = 8U << 20;  // frames waiting per peer; beyond: dropped
  std::int32_t reconnect_ms_min = 20;           // connect backoff starts here and doubles
  std::int32_t reconnect_ms_max = 500;          // up to this
  std::uint64_t seed = 0;                       // election timeout randomness; 0: from the OS
  // Compact a group's log once this many applied entries follow its snapshot (the state
  // machine's snapshot() replaces them); 0: never.
  std::int64_t compact_entries = 0;
};

/// Applies one group's committed entries. Runs on the driver's loop thread, in log order;
/// must not block. A restarted node applies again from index 1 (the log is the state).
class state_machine {
 public:
  state_machine() = default;
  state_machine(const state_machine&) = delete;
  state_machine& operator=(const state_machine&) = delete;
  virtual ~state_machine() = default;

  /// Applies `e`, which every member applies at the same index (leader no-ops and
  /// membership entries included: a state machine skips what it does not interpret).
  virtual void apply(const entry& e) = 0;
  /// The state after every entry applied so far, to compact the log with. Called only
  /// when driver_config::compact_entries is set.
  [[nodiscard]] virtual std::vector<std::byte> snapshot() const = 0;
  /// Replaces the whole state by `data`, a snapshot() taken by a member: the leader's,
  /// sent to a follower that fell behind its compaction, or this node's own at start-up.
  virtual void restore(const std::vector<std::byte>& data) = 0;
};

/// A group's state as its core sees it, for clients looking for the leader and for tests.
struct group_status {
  raft::role role = raft::role::follower;
  term_id term{0};
  node_id leader = node_none;
  log_index commit{0};
  log_index applied{0};
  log_index last{0};
};

/// Completes a proposal: the entry's index once it is committed and applied on this node,
/// or an error (a raft::errc such as not_leader, driver_errc::proposal_lost when another
/// leader's entry took the index, driver_errc::stopped). Runs on the loop thread.
using propose_callback = std::function<void(result<log_index>)>;
/// Completes a linearizable read (read index, thesis §6.4): on success, the index the
/// state machine has applied, which is at least the commit index at the time of the
/// request, and leadership was confirmed by a quorum after the request. Reading the state
/// machine inside the callback (on the loop thread) is then linearizable. Errors: a
/// raft::errc (not_leader, leader_not_ready, queue_full, ...), driver_errc::unknown_group.
using read_callback = std::function<void(result<log_index>)>;
/// Receives a group's status. Runs on the loop thread.
using status_callback = std::function<void(result<group_status>)>;

/// Counters of the transport, for tests and benchmarks.
struct driver_stats {
  std::uint64_t frames_sent = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_dropped = 0;  // peer down or its queue full
  std::uint64_t frames_received = 0;
  std::uint64_t frames_rejected = 0;  // failed to decode; the connection was closed
  std::uint64_t syncs = 0;
  std::uint64_t compactions = 0;          // snapshots this node took of its state machines
  std::uint64_t snapshots_installed = 0;  // leaders' snapshots that replaced a log here
};

/// One node's Raft groups on one event loop thread (no thread per group).
///
/// Lifecycle: construct, add_group() for each group, start(), ..., stop(); the destructor
/// stops. start() and stop() are called from one controlling thread; propose(),
/// read_index() and status() from any thread. Callbacks run on the loop thread and must not block.
class driver {
 public:
  explicit driver(driver_config config);
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;
  ~driver();

  /// Opens the group's log under data_dir/group-<id>/ (recovering a torn tail) and
  /// creates its core with the recovered term and vote. `sm` must outlive the driver.
  /// Requires: before start(); core_config.self == config.self; a new group id.
  [[nodiscard]] result<void> add_group(group_id group, config core_config, state_machine& sm);

  /// Binds the listener and starts the loop thread, the ticks and the connections to the
  /// peers. On an error (port in use) nothing is left running.
  [[nodiscard]] result<void> start();
  /// Closes every connection, stops the loop and joins its thread. Proposals still
  /// pending are dropped without their callback running. Idempotent.
  void stop();

  /// The bound Raft port. Valid after a successful start().
  [[nodiscard]] std::uint16_t listen_port() const;

  /// Proposes `data` to `group`; `done` runs once it is applied here or failed.
  void propose(group_id group, std::vector<std::byte> data, propose_callback done);
  /// Starts a linearizable read of `group`; `done` runs once it may be served here.
  void read_index(group_id group, read_callback done);
  /// Reads `group`'s status on the loop and hands it to `done`.
  void status(group_id group, status_callback done);
  /// The transport counters so far. Any thread.
  [[nodiscard]] driver_stats stats() const;

 private:
  class impl;
  std::unique_ptr<impl> _impl;
};

}  // namespace caudal::raft
