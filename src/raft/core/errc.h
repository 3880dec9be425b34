#pragma once

// Errors the Raft core returns to its callers (proposals, reads, transfers). broker/ maps
// not_leader and the rest to Kafka error codes at the edge.

#include <system_error>

namespace caudal::raft {

enum class errc {
  not_leader = 1,        // only the leader accepts proposals and reads; ask leader()
  transfer_in_progress,  // the leader is handing over and refuses new work
  leader_not_ready,      // a new leader has not yet committed an entry of its term
  proposal_too_large,    // a proposal above config::entry_bytes_max
  unknown_node,          // the node is not a member of this group
  queue_full,            // uncommitted proposals or pending reads hit their _max
  change_in_progress,    // a membership change is appended but not committed yet
  learner_behind,        // a learner to promote has not caught up with the commit index
  invalid_change,        // not a single-server change of a member that allows it
  not_applied,           // compaction past what was handed out for applying
  snapshot_too_large,    // a snapshot above config::snapshot_bytes_max
};

[[nodiscard]] const std::error_category& error_category() noexcept;
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace caudal::raft

template <>
struct std::is_error_code_enum<caudal::raft::errc> : std::true_type {};
