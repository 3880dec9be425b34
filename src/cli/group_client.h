#pragma once

// The consumer-group side of the client: a group's coordinator, its committed offsets, the
// consumer protocol's subscription and assignment bytes, Kafka's range assignor, and
// `group_member`, which keeps `caudal consume -g` in a group (JoinGroup, SyncGroup,
// Heartbeat, OffsetCommit, LeaveGroup) as the Java consumer does with the classic protocol.

#include "cli/client.h"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace caudal::cli {

/// One partition of one topic.
struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

/// The coordinator of consumer group `group` (FindCoordinator), retrying while the broker
/// is still loading the group's state. Throws cli::error on any other Kafka error.
[[nodiscard]] node_id find_coordinator(client& c, const std::string& group);

/// The committed offsets of `group` (OffsetFetch) for `partitions`, or for every partition
/// with one when nullopt. Partitions without a committed offset are left out.
[[nodiscard]] std::map<topic_partition, std::int64_t> fetch_committed(
    client& c, node_id coordinator, const std::string& group,
    const std::optional<std::vector<topic_partition>>& partitions);

/// Commits `offsets` for `group` (OffsetCommit) as `member_id` of `generation`; generation -1
/// and an empty member id commit for a group without active members (an admin reset).
/// Throws cli::error naming the first partition that failed.
void commit_offsets(client& c, node_id coordinator, const std::string& group,
                    std::int32_t generation, const std::string& member_id,
                    const std::map<topic_partition, std::int64_t>& offsets);

/// ConsumerProtocolSubscription bytes (version 0, as the Java consumer's range assignor
/// writes) for `topics`.
[[nodiscard]] std::vector<std::byte> encode_subscription(const std::vector<std::string>& topics);

/// The topics of ConsumerProtocolSubscription bytes, or nullopt when they do not parse.
[[nodiscard]] std::optional<std::vector<std::string>> decode_subscription(
    std::span<const std::byte> bytes);

/// ConsumerProtocolAssignment bytes (version 0) for partitions by topic.
[[nodiscard]] std::vector<std::byte> encode_assignment(
    const std::map<std::string, std::vector<std::int32_t>>& partitions);

/// The partitions by topic of ConsumerProtocolAssignment bytes (empty bytes: nothing), or
/// nullopt when they do not parse.
[[nodiscard]] std::optional<std::map<std::string, std::vector<std::int32_t>>> decode_assignment(
    std::span<const std::byte> bytes);

/// Kafka's RangeAssignor: for each topic, the members subscribed to it, in member id order,
/// take contiguous ranges of its partitions; the first (partitions % members) take one more.
/// `subscriptions` maps member id to topics, `partition_counts` topic to partitions (topics
/// missing there get nothing). Every member gets an entry, maybe empty.
[[nodiscard]] std::map<std::string, std::map<std::string, std::vector<std::int32_t>>> assign_range(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partition_counts);

/// One consumer's membership in a group, subscribed to one topic. Not thread-safe; the
/// caller heartbeats between fetches (heartbeat_due() says when).
class group_member {
 public:
  /// Requires: `c` outlives the member.
  group_member(client& c, std::string group, std::string topic);

  /// Joins the group (again, after a rebalance) and returns this member's partitions of the
  /// topic. Throws cli::error when the coordinator refuses.
  [[nodiscard]] std::vector<std::int32_t> join();

  /// Whether a heartbeat is due (every heartbeat_interval_ms).
  [[nodiscard]] bool heartbeat_due() const;

  /// Sends a heartbeat; false when the group is rebalancing and the member must commit and
  /// join() again.
  [[nodiscard]] bool heartbeat();

  /// Commits the next offsets to read, per partition of the topic, in this generation.
  void commit(const std::map<std::int32_t, std::int64_t>& next_offsets);

  /// The committed offsets of the topic's `partitions`.
  [[nodiscard]] std::map<std::int32_t, std::int64_t> committed(
      const std::vector<std::int32_t>& partitions);

  /// Leaves the group so that the others rebalance at once. Errors are ignored: the
  /// session timeout removes the member anyway.
  void leave();

  /// How long the broker may wait in JoinGroup for the others to join.
  static constexpr std::int32_t rebalance_timeout_ms = 30'000;
  static constexpr std::int32_t session_timeout_ms = 10'000;
  static constexpr std::int64_t heartbeat_interval_ms = 2'000;

 private:
  client& _c;
  std::string _group;
  std::string _topic;
  node_id _coordinator = -1;
  std::string _member_id;
  std::int32_t _generation = -1;
  std::string _protocol = "range";
  std::int64_t _last_heartbeat_ns = 0;
};

}  // namespace caudal::cli
