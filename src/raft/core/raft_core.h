#pragma once

// The Raft state machine of one group member, with no I/O (STYLE.md, "Deterministic
// simulation"): time arrives through tick(), messages through step(), and everything the
// outside world must do comes out of drain() as a `ready`, to be carried out in the order
// persist, send, apply. The Asio driver and the simulator (tests/sim/) are the two users.
//
// Implements Raft (Ongaro & Ousterhout 2014; Ongaro's thesis for §-references in
// "thesis §"): election with pre-vote (thesis §9.6) and check-quorum (thesis §6.2),
// replication with batching, pipelining and fast backtracking, commit of current-term
// entries only (§5.4.2), leadership transfer (thesis §3.10), read index (thesis §6.4) and
// single-server membership changes with learners (thesis §4.1, with the fix of
// raft-dev "bug in single-server membership changes", 2015), and snapshots: the state
// machine compacts the log up to what it applied, and a follower whose next entry is
// compacted receives the snapshot (Raft §7).
//
// Cost: a group is one object of a few hundred bytes plus its uncommitted entries and
// per-peer progress; no threads, no timers. Many groups share one random_source.

#include "base/random.h"
#include "base/result.h"
#include "raft/core/errc.h"
#include "raft/core/log_store.h"
#include "raft/core/types.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace caudal::raft {

/// Deliberately planted bugs, honoured only by the `caudal_raft_mutant` library that the
/// simulator's mutation tests link (CAUDAL_RAFT_MUTATIONS); the production library
/// compiles the checks away. They prove the simulator can catch each class of bug.
enum class mutation : std::uint8_t {
  none,
  vote_without_log_check,    // grant votes without the §5.4.1 up-to-date check
  commit_old_term_by_count,  // commit any majority-replicated entry, ignoring §5.4.2
  forget_vote,               // hand out hard state without the vote (never persisted)
  change_before_own_commit,  // change membership before an entry of the term commits
  snapshot_over_conflict,    // keep a log whose entry at a snapshot's index has another term
};

/// Static settings of one group member. Timeouts count ticks; the driver picks the tick.
struct config {
  node_id self = node_none;
  // The bootstrap membership; membership entries in the log override it. A node joining
  // a running group starts with the group's bootstrap membership and is not in it.
  std::vector<node_id> voters;
  std::vector<node_id> learners;
  std::int32_t election_timeout_ticks = 10;   // randomised in [this, 2 * this)
  std::int32_t heartbeat_interval_ticks = 2;  // must be < election_timeout_ticks
  bool pre_vote = true;
  bool check_quorum = true;
  std::size_t append_entries_max = 64;             // entries per AppendEntries
  std::size_t append_bytes_max = 1 << 20;          // data bytes per AppendEntries (>= 1 entry)
  std::size_t inflight_max = 4;                    // AppendEntries in flight per follower
  std::size_t uncommitted_max = 4096;              // proposals the leader holds uncommitted
  std::size_t entry_bytes_max = 1 << 20;           // largest proposal
  std::size_t apply_entries_max = 256;             // committed entries handed out per ready
  std::size_t pending_reads_max = 1024;            // read index requests awaiting a quorum
  std::size_t snapshot_bytes_max = 64 << 20;       // state machine data in one snapshot
  raft::mutation mutation = raft::mutation::none;  // ignored outside mutant builds
};

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };

/// A read index request whose leadership round completed: the read `request_id` may be
/// served from the state machine once it has applied `index` (thesis §6.4).
struct read_state {
  std::uint64_t request_id = 0;
  log_index index{0};
};

/// What the core asks of its driver, in this order:
/// 1. persist: store `compacted` or `installed` (at most one is set) as the log's
///    snapshot, then truncate the log from `truncate_from`, append `entries`, write
///    `term_and_vote`, and sync all of it;
/// 2. send `messages` (only after 1 is durable: a vote or an acknowledgement promises it);
/// 3. restore the state machine from `installed` if set, then apply `committed` in order
///    and serve `reads` once their index is applied.
/// The log_store must show the persisted snapshot and entries before the core is called
/// again.
struct ready {
  std::optional<hard_state> term_and_vote;
  /// The state machine's compaction (raft_core::compact): drop the entries up to its
  /// index and keep the ones after it.
  std::shared_ptr<const snapshot> compacted;
  /// A snapshot from the leader: it replaces the whole log (entries after it, if any,
  /// come in `entries`) and the state machine's state. `committed` continues after it.
  std::shared_ptr<const snapshot> installed;
  std::optional<log_index> truncate_from;
  std::vector<entry> entries;
  std::vector<message> messages;
  std::vector<entry> committed;
  std::vector<read_state> reads;
};

/// One member of one Raft group. Not thread-safe: used from the group's event loop only.
/// Lifetime: `store` and `random` must outlive the core.
class raft_core {
 public:
  /// Restarts from what a previous incarnation persisted: `persisted` term and vote, and
  /// the snapshot and log in `store`. Starts as a follower with commit and applied index
  /// at the snapshot's (0 without one): the driver restores the state machine from the
  /// snapshot, and the entries after it are handed out again as the commit index is
  /// relearnt. The membership is the snapshot's, or the bootstrap one, overridden by
  /// membership entries in the log tail (a scan of the tail only). Requires: cfg.voters
  /// not empty; at most 64 members.
  raft_core(config cfg, const hard_state& persisted, const log_store& store, random_source& random);
  raft_core(const raft_core&) = delete;
  raft_core& operator=(const raft_core&) = delete;

  /// One unit of logical time: election and heartbeat timeouts, check-quorum.
  void tick();
  /// Handles a message from a peer. Messages for another node are dropped, and so is
  /// everything from a non-member but AppendEntries and heartbeats (a joining node
  /// follows a leader its membership does not list yet); stale and duplicate messages are
  /// expected and harmless.
  void step(const message& m);
  /// Appends `data` as a new entry. Leader only; returns the entry's index. Errors:
  /// not_leader, transfer_in_progress, proposal_too_large, queue_full.
  [[nodiscard]] result<log_index> propose(std::vector<std::byte> data);
  /// Starts a linearizable read: once a quorum confirms this node is still leader, a
  /// read_state with `request_id` comes out of drain(). Errors: not_leader,
  /// transfer_in_progress, leader_not_ready (no entry of this term committed yet),
  /// queue_full. A leader that steps down drops its pending reads; callers time out.
  [[nodiscard]] result<void> read_index(std::uint64_t request_id);
  /// Hands leadership to `target` once it has caught up (thesis §3.10), refusing
  /// proposals meanwhile; abandoned after one election timeout. Errors: not_leader,
  /// unknown_node.
  [[nodiscard]] result<void> transfer_leadership(node_id target);

  /// The single-server membership changes (thesis §4.1).
  enum class change : std::uint8_t {
    add_learner,      // a new node starts receiving the log; it does not vote
    promote_learner,  // a learner that caught up becomes a voter
    remove_node,      // a voter or learner leaves
  };
  /// Appends a membership entry applying `what` to `node`; it takes effect at once on
  /// every node that appends it, and the next change waits for its commit. Leader only.
  /// The leader must have committed an entry of its own term first: otherwise a change
  /// of an earlier leader it does not know about could still commit, and two changes
  /// could form disjoint majorities. Returns the entry's index. Errors: not_leader,
  /// transfer_in_progress, leader_not_ready, change_in_progress, invalid_change (adding a
  /// member, promoting a non-learner, removing a non-member or the leader itself: transfer
  /// leadership first), learner_behind (its match is below the commit index).
  [[nodiscard]] result<log_index> change_membership(change what, node_id node);

  /// Replaces the log up to `index` by a snapshot holding `state`, the state machine's
  /// data once it applied every entry up to `index`; the driver persists it from the next
  /// ready (`compacted`). Followers that need a compacted entry then get the snapshot.
  /// An `index` at or below the current snapshot does nothing. Errors: not_applied
  /// (`index` above applied_index()), snapshot_too_large (config::snapshot_bytes_max).
  [[nodiscard]] result<void> compact(log_index index, std::vector<std::byte> state);

  /// True when drain() would return something to do.
  [[nodiscard]] bool has_ready() const;
  /// Takes the pending work. The driver must carry it out (see `ready`) before it calls
  /// tick(), step(), propose(), read_index() or transfer_leadership() again.
  [[nodiscard]] ready drain();

  [[nodiscard]] raft::role role() const { return _role; }
  [[nodiscard]] term_id term() const { return _term; }
  [[nodiscard]] node_id self() const { return _config.self; }
  /// The leader of the current term as far as this node knows, or node_none.
  [[nodiscard]] node_id leader() const { return _leader; }
  [[nodiscard]] log_index commit_index() const { return _commit; }
  /// The last index handed out for applying (or restored from a snapshot).
  [[nodiscard]] log_index applied_index() const { return _applied; }
  /// The index the log starts after: the latest snapshot's, 0 without one.
  [[nodiscard]] log_index snapshot_index() const {
    return _snapshot ? _snapshot->index : log_index(0);
  }
  [[nodiscard]] log_index last_index() const;
  /// The membership in effect: the last membership entry in this node's log (committed
  /// or not), else the bootstrap one.
  [[nodiscard]] const raft::membership& membership() const { return _memberships.back().second; }
  /// True when this node votes in the membership in effect.
  [[nodiscard]] bool is_voter() const { return _self_position < _voter_count; }
  /// The term of the entry at `index` in this node's log.
  /// Requires: snapshot_index() <= index <= last_index().
  [[nodiscard]] term_id term_at(log_index index) const;

 private:
  struct progress {
    log_index match{0};
    log_index next{1};
    bool replicating = false;  // pipelining; otherwise probing one message at a time
    bool probe_sent = false;
    bool recent_active = false;           // heard from within this election timeout
    std::int32_t stalled_heartbeats = 0;  // heartbeat replies without progress
    std::vector<log_index> inflight;      // last index of each AppendEntries in flight
  };
  struct pending_read {
    std::uint64_t request_id;
    log_index index;
    std::uint64_t round;
    std::uint64_t acks;  // bit i: voter i confirmed
  };

  [[nodiscard]] bool mutated(raft::mutation m) const;
  [[nodiscard]] std::size_t quorum() const { return _voter_count / 2 + 1; }
  // Positions index _peers: voters first, then learners; _peers.size() if absent.
  [[nodiscard]] std::size_t position_of(node_id id) const;
  [[nodiscard]] std::uint64_t voter_mask() const {
    return _voter_count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << _voter_count) - 1;
  }
  void apply_membership();
  void check_driver() const;

  // Whether stepping down restarts the election timeout. Raft's Figure 2 restarts it only
  // on hearing from a leader, granting a vote or campaigning: a higher term alone must not,
  // or a candidate that cannot win (its log is behind) keeps postponing the one that can.
  enum class election_timer : std::uint8_t { restart, keep };
  void become_follower(term_id term, node_id leader, election_timer timer);
  void become_pre_candidate();
  void become_candidate(bool transfer);
  void become_leader();
  void campaign(bool transfer);
  void reset_election_timer();
  [[nodiscard]] bool in_leader_lease() const;
  void tally_vote(node_id from, bool granted);

  void handle_vote_request(const message& m);
  void handle_append(const message& m);
  void handle_append_response(const message& m);
  void handle_heartbeat(const message& m);
  void handle_heartbeat_response(const message& m);
  void handle_install_snapshot(const message& m);

  void send(message m);
  void send_append(std::size_t position);
  void send_snapshot(std::size_t position);
  void send_heartbeats(std::uint64_t context);
  void become_probe(progress& pr, log_index next);
  void maybe_commit();
  void commit_to(log_index index);
  void maybe_send_timeout_now(std::size_t position);

  // The log view: persisted entries in the store up to _unstable_first - 1, then ours.
  void append_entry(entry e);
  void truncate_and_append(std::vector<entry>::const_iterator first,
                           std::vector<entry>::const_iterator last);
  void read_entries(log_index first, log_index last_inclusive, std::size_t bytes_max,
                    std::vector<entry>& out) const;
  [[nodiscard]] log_index last_index_with_term_at_most(log_index from, term_id term) const;

  config _config;
  const log_store& _store;
  random_source& _random;
  std::size_t _self_position = 0;
  std::vector<node_id> _peers;  // the membership in effect: voters, then learners
  std::size_t _voter_count = 0;
  // Membership entries in the log by index, the bootstrap one at index 0 first.
  std::vector<std::pair<log_index, raft::membership>> _memberships;

  raft::role _role = raft::role::follower;
  term_id _term{0};
  node_id _vote = node_none;
  node_id _leader = node_none;
  hard_state _persisted;  // the last term and vote handed out for persisting

  std::vector<entry> _unstable;  // not yet handed out for persisting
  log_index _unstable_first{1};
  std::optional<log_index> _truncate_from;
  // The latest snapshot, persisted or not; the log starts after it. The pending ones go
  // out with the next ready.
  std::shared_ptr<const snapshot> _snapshot;
  std::shared_ptr<const snapshot> _pending_compaction;
  std::shared_ptr<const snapshot> _pending_install;

  log_index _commit{0};
  log_index _applied{0};

  std::int32_t _election_elapsed = 0;
  std::int32_t _heartbeat_elapsed = 0;
  std::int32_t _randomized_timeout = 0;

  std::vector<progress> _progress;  // per position in _peers; leader only
  std::uint64_t _votes_granted = 0;
  std::uint64_t _votes_rejected = 0;

  node_id _transfer_target = node_none;
  bool _broadcast_append = false;     // leader: new entries to replicate at drain()
  bool _broadcast_heartbeat = false;  // leader: commit moved or a read round started
  std::uint64_t _read_round = 0;
  std::deque<pending_read> _reads;
  std::vector<read_state> _ready_reads;
  std::vector<message> _outbox;
};

}  // namespace caudal::raft
