#pragma once

// The classic group coordinator of this broker: every consumer group's membership state
// (group.h) and committed offsets, the latter kept as records of the internal topic
// `__consumer_offsets` (offsets_records.h), replayed on start.
//
// Threads: handlers call in from any event loop. Each group has its own mutex; each
// `__consumer_offsets` partition has one too; the lock order is group, then partition.
// Callbacks (join/sync answers, commit completions) run after the locks are released, on
// the caller's thread, the timer thread, or a storage flush thread (commits: once the
// record is durable). A timer thread (start()) runs tick(): session expiry, rebalance
// timeouts, offset retention and the snapshot that bounds the topic's size; tests drive
// tick() themselves with a manual clock.
//
// Durability: an OffsetCommit is answered after its records are durable; a group record
// (membership, assignment) is appended without waiting, since losing one only costs a
// rebalance. The in-memory state follows each append at once, so a snapshot written from
// it is never older than the log.
//
// Placement: group id -> partition is Java's String.hashCode (over the UTF-8 bytes),
// absolute value, modulo the partition count. One node coordinates every partition.

#include "base/clock.h"
#include "base/periodic_thread.h"
#include "base/result.h"
#include "cluster/broker_config.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "group/group.h"
#include "group/offsets_records.h"

#include <atomic>
#include <compare>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace caudal::group {

/// The internal topic holding committed offsets and group records.
inline constexpr std::string_view offsets_topic = "__consumer_offsets";

/// The coordinator's settings, from the broker config (group.*, offsets.* keys).
struct coordinator_config {
  group_limits limits;
  std::int32_t offsets_partitions = 10;
  std::int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t offsets_retention_check_interval_ms = 600000;
  std::int32_t offset_metadata_bytes_max = 4096;
  std::int32_t offsets_segment_bytes = 104857600;
  /// A partition is snapshotted (rewritten, old records dropped) once it holds more than
  /// this many records and more than twice its live keys.
  std::int64_t snapshot_records_min = 1000;

  /// Reads the group.* and offsets.* keys of `c`.
  [[nodiscard]] static coordinator_config from(const cluster::broker_config& c);
};

/// A topic partition named in commits and fetches.
struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

/// One offset to commit.
struct offset_commit {
  topic_partition tp;
  committed_offset value;
};

/// A group's committed offset for one partition against that partition's high watermark.
struct partition_lag {
  topic_partition tp;
  std::int64_t committed = -1;
  std::int64_t high_watermark = -1;  // -1 when the partition is not hosted here
  std::int64_t lag = -1;             // high_watermark - committed, -1 when unknown
};

/// A group as ListGroups shows it.
struct group_listing {
  std::string group_id;
  std::string protocol_type;
  group_state state = group_state::empty;
};

class group_coordinator {
 public:
  /// All references must outlive the coordinator.
  group_coordinator(coordinator_config config, cluster::metadata_store& metadata,
                    cluster::partition_manager& partitions, clock& clk);
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;
  /// Stops the timer thread.
  ~group_coordinator();

  /// Replays `__consumer_offsets` if it exists (broker start). Blocks; not thread-safe
  /// with the calls below. Errors: I/O errors reading the log.
  [[nodiscard]] result<void> load();
  /// Creates `__consumer_offsets` if missing (the first FindCoordinator does, as Kafka),
  /// then loads it. Blocks (metadata fsync): call off the event loops. Thread-safe.
  [[nodiscard]] result<void> ensure_topic();
  /// Whether the topic exists and is loaded: group calls fail with
  /// COORDINATOR_NOT_AVAILABLE before.
  [[nodiscard]] bool ready() const { return _ready.load(std::memory_order_acquire); }

  /// Starts the timer thread, which calls tick() every `tick_ms`.
  void start(std::int64_t tick_ms = 100);
  /// Stops the timer thread. Idempotent.
  void stop();
  /// One round of timers at the clock's current time.
  void tick();

  /// The `__consumer_offsets` partition holding `group_id`.
  [[nodiscard]] std::int32_t partition_for(std::string_view group_id) const;
  [[nodiscard]] const coordinator_config& config() const { return _config; }

  /// JoinGroup; `done` runs once (perhaps later, on another thread).
  void join(const std::string& group_id, join_request r, join_callback done);
  /// SyncGroup; `done` runs once (perhaps later, on another thread).
  void sync(const std::string& group_id, sync_request r, sync_callback done);
  [[nodiscard]] error heartbeat(const std::string& group_id, const std::string& member_id,
                                const std::optional<std::string>& instance_id,
                                std::int32_t generation);
  /// LeaveGroup: a group-level error (coordinator not ready), else one error per member.
  [[nodiscard]] std::pair<error, std::vector<error>> leave(
      const std::string& group_id, const std::vector<member_identity>& members);

  using commit_callback = std::function<void(error)>;
  /// OffsetCommit: validates the member and generation, appends the records and calls
  /// `done` once they are durable (or with the error that stopped them). Generation < 0
  /// commits for a group that is not using the group protocol (created if missing).
  void commit(const std::string& group_id, const std::string& member_id,
              const std::optional<std::string>& instance_id, std::int32_t generation,
              std::vector<offset_commit> offsets, commit_callback done);
  /// Commits offsets a transaction carried (TxnOffsetCommit, made visible by its commit):
  /// no member or generation check, which happened when they were sent. Creates the
  /// group if needed; `done` runs once the records are durable.
  void commit_transactional(const std::string& group_id, std::vector<offset_commit> offsets,
                            commit_callback done);
  /// OffsetFetch: the committed offsets of `which` partitions (every committed one when
  /// nullopt). A partition without a commit has offset -1. Unknown groups have none.
  [[nodiscard]] std::pair<error, std::vector<std::pair<topic_partition, committed_offset>>>
  fetch_offsets(const std::string& group_id,
                const std::optional<std::vector<topic_partition>>& which);
  /// ListGroups: every live group.
  [[nodiscard]] std::vector<group_listing> list_groups();
  /// DescribeGroups: the group, or nullopt when it does not exist (reported as Dead).
  [[nodiscard]] std::optional<group_description> describe(const std::string& group_id);
  /// DeleteGroups: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or none after writing tombstones
  /// for the group and its offsets.
  [[nodiscard]] error delete_group(const std::string& group_id);
  /// OffsetDelete: removes the offsets of `partitions` (the caller has checked that no
  /// member is subscribed to them). GROUP_ID_NOT_FOUND for an unknown group.
  [[nodiscard]] error delete_offsets(const std::string& group_id,
                                     const std::vector<topic_partition>& partitions);
  /// Consumer lag of `group_id`: committed offset against high watermark, per partition
  /// it has committed (for the CLI and metrics). Empty for an unknown group.
  [[nodiscard]] std::vector<partition_lag> lag(const std::string& group_id);

  /// Records currently in `__consumer_offsets` partition `p` (tests of the snapshot).
  [[nodiscard]] std::int64_t partition_records(std::int32_t p);

 private:
  struct slot {
    std::mutex mutex;
    std::unique_ptr<group> g;  // guarded by mutex; dead groups are removed from the map
  };
  struct offsets_partition {
    std::mutex mutex;
    std::shared_ptr<cluster::partition> log;  // guarded by mutex
    // Live state, equal to a replay of the log (guarded by mutex).
    std::map<std::string, std::map<topic_partition, committed_offset>> offsets;
    std::map<std::string, std::vector<std::byte>> groups;  // group record values
    std::int64_t records = 0;                              // records since the log start
  };
  struct record {
    std::vector<std::byte> key;
    std::optional<std::vector<std::byte>> value;
  };

  [[nodiscard]] std::int64_t now_ms() const { return _clock.wall_ms(); }
  [[nodiscard]] std::shared_ptr<slot> find_slot(const std::string& group_id, bool create);
  void forget_slot(const std::string& group_id, const std::shared_ptr<slot>& s);
  [[nodiscard]] offsets_partition& partition_of(const std::string& group_id);
  /// Appends `records` as one batch. Requires: p.mutex held. Returns the last offset.
  [[nodiscard]] result<kafka_offset> append(offsets_partition& p,
                                            const std::vector<record>& records);
  /// After an operation on `g` (its slot lock held): writes the group record if asked
  /// and returns the callbacks to run once the lock is released.
  [[nodiscard]] std::vector<std::function<void()>> settle(group& g);
  void store_group(const group& g);
  /// Appends `offsets` of `group_id` and hands `done` to the durability wait. Requires:
  /// the group's slot lock held. Returns the error if nothing was appended.
  [[nodiscard]] error append_offsets(const std::string& group_id,
                                     std::vector<offset_commit>& offsets, commit_callback& done);
  [[nodiscard]] result<void> load_partition(std::int32_t index);
  void expire_offsets(std::int64_t now);
  void maybe_snapshot(offsets_partition& p);

  const coordinator_config _config;
  cluster::metadata_store& _metadata;
  cluster::partition_manager& _partition_manager;
  clock& _clock;

  std::atomic<bool> _ready{false};
  std::mutex _load_mutex;  // serialises load() and ensure_topic()
  std::vector<std::unique_ptr<offsets_partition>> _partitions;  // fixed once _ready
  std::int32_t _partition_count;                                // fixed once _ready

  std::mutex _groups_mutex;
  std::map<std::string, std::shared_ptr<slot>, std::less<>> _groups;  // guarded
  random_source _rng;  // guarded by _groups_mutex (seeds of new groups)

  std::int64_t _last_retention_ms = 0;  // timer thread only
  periodic_thread _timer;
};

}  // namespace caudal::group
