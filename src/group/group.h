#pragma once

// One consumer group's membership state machine: Kafka's classic group protocol (KIP-62,
// KIP-345 static membership, KIP-394 member id required), without I/O. Time enters as
// `now_ms` arguments and through tick(); delayed answers (JoinGroup waits for the other
// members, SyncGroup waits for the leader's assignment) are callbacks queued on an outbox
// that the owner runs after releasing its lock (take_completions()). Not thread-safe: the
// owner (group_coordinator) guards each group with its own mutex.
//
// States (Kafka's GroupState):
//   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
//   CompletingRebalance --leader's sync--> Stable --join with new metadata, leave,
//   session expiry--> PreparingRebalance; PreparingRebalance --nobody rejoined--> Empty;
//   Empty --delete / offsets expired--> Dead.
// Invariants: a member awaiting a join answer exists only in PreparingRebalance; a member
// awaiting a sync answer only in CompletingRebalance; the leader is a member or unset.

#include "base/random.h"
#include "group/errors.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace caudal::group {

/// Kafka's group states, in the names ListGroups and DescribeGroups report.
enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };

/// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" or "Dead".
[[nodiscard]] std::string_view state_name(group_state s);

/// The broker-wide limits a group enforces (group.* broker configs).
struct group_limits {
  std::int64_t initial_rebalance_delay_ms = 3000;
  std::int32_t session_timeout_ms_min = 6000;
  std::int32_t session_timeout_ms_max = 1800000;
  std::size_t members_max = 1000;
};

/// One protocol a member supports (for consumers: an assignor name and its subscription).
struct member_protocol {
  std::string name;
  std::vector<std::byte> metadata;
  friend bool operator==(const member_protocol&, const member_protocol&) = default;
};

/// A JoinGroup, already decoded. `require_known_member_id` is true from JoinGroup v4 on.
struct join_request {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<member_protocol> protocols;
  bool require_known_member_id = false;
};

/// One member as the leader sees it in its JoinGroup answer.
struct join_member {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::vector<std::byte> metadata;
};

/// A JoinGroup answer. `members` is filled for the leader only.
struct join_result {
  error err = error::none;
  std::int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_member> members;
};
using join_callback = std::function<void(join_result)>;

/// A SyncGroup, already decoded. `assignments` is the leader's (empty from followers).
struct sync_request {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::vector<std::byte>>> assignments;
};

/// A SyncGroup answer: this member's assignment.
struct sync_result {
  error err = error::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::byte> assignment;
};
using sync_callback = std::function<void(sync_result)>;

/// A member named in a LeaveGroup: by member id, by instance id, or both.
struct member_identity {
  std::string member_id;
  std::optional<std::string> instance_id;
};

/// A member as DescribeGroups and the group record show it.
struct member_description {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::vector<std::byte> metadata;  // for the selected protocol; empty when none
  std::vector<std::byte> assignment;
};

/// What the group record stores and DescribeGroups reports.
struct group_description {
  std::string group_id;
  group_state state = group_state::dead;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::optional<std::string> leader;
  std::int32_t generation = 0;
  std::int64_t state_timestamp_ms = -1;
  std::vector<member_description> members;
};

class group {
 public:
  /// A new group in state Empty (generation 0). `seed` drives its member ids.
  group(std::string id, group_limits limits, std::uint64_t seed, std::int64_t now_ms);
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  /// Restores a group read back from its record (broker start): Empty if it has no
  /// members, else Stable, each member's session restarting at `now_ms`.
  void restore(const group_description& d, std::int64_t now_ms);

  /// JoinGroup. `done` is called (through the outbox) once the answer is known: at once
  /// for errors, MEMBER_ID_REQUIRED and unchanged followers, else when the rebalance
  /// completes.
  void join(join_request r, std::int64_t now_ms, join_callback done);
  /// SyncGroup. The leader's call in CompletingRebalance completes everyone's; a follower's
  /// waits for it. In Stable, answers the member's current assignment.
  void sync(sync_request r, std::int64_t now_ms, sync_callback done);
  /// Heartbeat: checks the member and generation and restarts its session timer.
  [[nodiscard]] error heartbeat(const std::string& member_id,
                                const std::optional<std::string>& instance_id,
                                std::int32_t generation, std::int64_t now_ms);
  /// LeaveGroup: one result per member, in order.
  [[nodiscard]] std::vector<error> leave(const std::vector<member_identity>& members,
                                         std::int64_t now_ms);
  /// The check an OffsetCommit passes before it is written (and a heartbeat if it passes).
  /// Generation < 0 with an empty group is an admin or manual commit and is accepted.
  [[nodiscard]] error validate_commit(const std::string& member_id,
                                      const std::optional<std::string>& instance_id,
                                      std::int32_t generation, std::int64_t now_ms);
  /// Runs the timers: session expiry, pending member expiry, the end of the (initial)
  /// rebalance delay.
  void tick(std::int64_t now_ms);
  /// Moves an Empty group to Dead (deleted, or its offsets expired). Requires: Empty.
  void mark_dead(std::int64_t now_ms);

  /// Callbacks made ready by the calls above, to run without the owner's lock held.
  [[nodiscard]] std::vector<std::function<void()>> take_completions();
  /// True once after a change the group record must store (a sync, an emptied group).
  [[nodiscard]] bool take_store_request();

  [[nodiscard]] const std::string& id() const { return _id; }
  [[nodiscard]] group_state state() const { return _state; }
  [[nodiscard]] std::int32_t generation() const { return _generation; }
  [[nodiscard]] const std::optional<std::string>& protocol_type() const { return _protocol_type; }
  [[nodiscard]] const std::optional<std::string>& protocol_name() const { return _protocol_name; }
  [[nodiscard]] std::size_t member_count() const { return _members.size(); }
  [[nodiscard]] bool has_member(const std::string& member_id) const {
    return _members.contains(member_id);
  }
  /// When the group entered its current state (offset retention of empty groups).
  [[nodiscard]] std::int64_t state_timestamp_ms() const { return _state_timestamp_ms; }
  /// The whole group, for DescribeGroups and the group record.
  [[nodiscard]] group_description describe() const;

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<member_protocol> protocols;
    std::vector<std::byte> assignment;
    join_callback awaiting_join;  // set while a JoinGroup waits
    sync_callback awaiting_sync;  // set while a SyncGroup waits
    std::int64_t session_deadline_ms = 0;
    std::uint64_t join_order = 0;  // the leader falls to the earliest joined member
  };

  void set_state(group_state s, std::int64_t now_ms);
  [[nodiscard]] std::string new_member_id(const std::string& client_id);
  [[nodiscard]] bool supports(const std::string& type,
                              const std::vector<member_protocol>& protocols) const;
  [[nodiscard]] std::string select_protocol() const;
  [[nodiscard]] bool is_fenced(const std::string& member_id,
                               const std::optional<std::string>& instance_id) const;
  [[nodiscard]] join_result current_join_result(const member& m, bool with_members) const;

  void add_member_and_rebalance(join_request& r, const std::string& member_id, std::int64_t now_ms,
                                join_callback done);
  void update_member_and_rebalance(member& m, join_request& r, std::int64_t now_ms,
                                   join_callback done);
  void replace_static_member(join_request& r, const std::string& old_id, std::int64_t now_ms,
                             join_callback done);
  void remove_member_and_update(const std::string& member_id, std::int64_t now_ms);
  void prepare_rebalance(std::int64_t now_ms);
  void maybe_prepare_rebalance(std::int64_t now_ms);
  void maybe_complete_join(std::int64_t now_ms);
  void complete_join(std::int64_t now_ms);
  void fail_pending_syncs(error e);
  void complete_join_callback(member& m, join_result r);
  void complete_sync_callback(member& m, sync_result r);

  const std::string _id;
  const group_limits _limits;
  random_source _rng;
  group_state _state = group_state::empty;
  std::int64_t _state_timestamp_ms;
  std::int32_t _generation = 0;
  std::optional<std::string> _protocol_type;
  std::optional<std::string> _protocol_name;
  std::optional<std::string> _leader;
  std::map<std::string, member> _members;
  std::map<std::string, std::int64_t> _pending_members;  // member id -> join deadline
  std::map<std::string, std::string> _static_members;    // instance id -> member id
  std::uint64_t _join_counter = 0;
  // PreparingRebalance: when the join phase ends at the latest; in the initial delay
  // (from Empty), how much of the rebalance timeout is left to extend it by.
  std::int64_t _join_deadline_ms = 0;
  bool _initial_delay = false;
  bool _new_member_added = false;
  std::int64_t _initial_delay_remaining_ms = 0;
  bool _store_requested = false;
  std::vector<std::function<void()>> _outbox;
};

}  // namespace caudal::group
