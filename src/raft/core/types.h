#pragma once

// The vocabulary of the Raft core: strong types for terms, log indexes and node ids, the
// log entry, the snapshot, the durable term/vote record and the one message type every RPC
// travels in. The driver encodes them (docs/formats/raft-rpc.md); the core never
// serialises anything itself.

#include "base/named_type.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace caudal::raft {

/// A Raft term (Raft §5.1). Stamped into record batches as the partition leader epoch.
using term_id = named_type<std::int64_t, struct term_id_tag>;
/// A position in a Raft log; index 0 is the empty prefix, the first entry is index 1.
/// Today one entry covers one index; docs/raft.md ("Entries and batches") describes how a
/// record batch covering an offset range maps onto it.
using log_index = named_type<std::int64_t, struct log_index_tag>;
/// A member of a Raft group. Ids are small non-negative integers chosen by the cluster.
using node_id = named_type<std::int32_t, struct node_id_tag>;

/// "Nobody": no vote cast, no leader known.
inline constexpr node_id node_none{-1};

/// `i + n` entries later.
constexpr log_index operator+(log_index i, std::int64_t n) noexcept {
  return log_index(i() + n);
}
/// `i - n` entries earlier.
constexpr log_index operator-(log_index i, std::int64_t n) noexcept {
  return log_index(i() - n);
}

/// The number of entries from `b` to `a`.
constexpr std::int64_t operator-(log_index a, log_index b) noexcept {
  return a() - b();
}

/// Why an entry is in the log. A new leader's empty entry (Raft §8) and a membership
/// change are control batches in the partition log, which Kafka clients skip.
enum class entry_kind : std::uint8_t {
  normal,
  leader_noop,
  membership,  // data: encode_membership(); takes effect when appended (thesis §4.1)
};

/// Who belongs to a group. Voters elect and make up quorums; learners receive the log
/// but neither vote nor count, so a new node catches up before it can affect a quorum.
/// A node is in at most one of the two lists.
struct membership {
  std::vector<node_id> voters;
  std::vector<node_id> learners;

  friend bool operator==(const membership&, const membership&) = default;
};

/// The data of an entry_kind::membership entry: a count, then each id (little-endian
/// int32) followed by 1 for a voter or 0 for a learner.
[[nodiscard]] std::vector<std::byte> encode_membership(const membership& m);
/// Parses encode_membership() output; false (and `out` unspecified) if malformed.
[[nodiscard]] bool decode_membership(const std::vector<std::byte>& data, membership& out);

/// One Raft log entry. `data` is opaque to the core (a record batch, a controller
/// command); the state machine interprets it.
struct entry {
  term_id term;
  log_index index;
  entry_kind kind = entry_kind::normal;
  std::vector<std::byte> data;

  friend bool operator==(const entry&, const entry&) = default;
};

/// The state machine after applying every entry up to `index`, which stands in for
/// those entries: the log continues after it. `term` is the entry at `index`'s term (the
/// §5.3 consistency check of the next entry needs it) and `membership` the one in effect
/// there (the log no longer holds its entry). `data` is opaque to the core.
struct snapshot {
  log_index index{0};
  term_id term{0};
  raft::membership membership;
  std::vector<std::byte> data;

  friend bool operator==(const snapshot&, const snapshot&) = default;
};

/// What must survive a crash before the node acts on it (Raft §5.1, Figure 2): the
/// current term and the vote cast in it. Commit index is volatile and recomputed.
struct hard_state {
  term_id term{0};
  node_id voted_for = node_none;

  friend bool operator==(const hard_state&, const hard_state&) = default;
};

/// Every Raft RPC. One flat struct instead of a variant keeps routing and the simulator's
/// fault injection trivial; each field's meaning depends on `type` as noted.
enum class message_type : std::uint8_t {
  pre_vote_request,    // term: the term the sender would campaign in (its term + 1)
  pre_vote_response,   // term: the request's term if granted, else the responder's term
  vote_request,        // log_term/index: the candidate's last entry; transfer set by TimeoutNow
  vote_response,       // reject: vote refused
  append_request,      // log_term/index: the entry before `entries`; commit: leader commit
  append_response,     // index: last matched (accept) or the rejected prev index; hints below
  heartbeat,           // commit: min(leader commit, peer's match); context: read index round
  heartbeat_response,  // context echoed back
  timeout_now,         // leadership transfer: campaign now, skipping pre-vote (Raft §3.10)
  install_snapshot,    // snapshot: the leader's, for a follower whose next entry it compacted;
                       // answered by an append_response matching the snapshot's index
};

/// A message from one member to another; `to` is where the driver delivers it.
struct message {
  message_type type = message_type::heartbeat;
  node_id from = node_none;
  node_id to = node_none;
  term_id term{0};
  term_id log_term{0};
  log_index index{0};
  log_index commit{0};
  std::vector<entry> entries;
  bool reject = false;
  // Fast backtracking (append_response with reject): the largest index at or below the
  // rejected prev index whose term is <= the leader's prev term, and that term.
  log_index hint_index{0};
  term_id hint_term{0};
  std::uint64_t context = 0;  // read index round (heartbeats)
  bool transfer = false;      // vote_request caused by timeout_now: ignore leader leases
  // install_snapshot: shared, since copies of a message (retries, the simulator's
  // duplicates) must not copy the state machine. Bounded by config::snapshot_bytes_max.
  std::shared_ptr<const raft::snapshot> snapshot;
};

}  // namespace caudal::raft
