#pragma once

// The transaction coordinator of this broker: each transactional.id's producer id and
// epoch, its transaction's state, the partitions it wrote to and the offsets it carries
// for consumer groups, kept as JSON records in the internal topic `__transaction_state`
// (docs/formats/transaction_state.md) and replayed on start.
//
// Strict from the start (KIP-890 part 1): a partition accepts a transactional batch only
// when the coordinator has that partition in the producer's ongoing transaction at that
// epoch (verify()), so a batch racing its transaction's end is refused, never left
// dangling. Ending a transaction writes a commit or abort marker to every partition of it
// and makes each durable before the transaction is complete; a transaction left open past
// its timeout is aborted with the producer's epoch bumped, which fences it.
//
// Offsets sent with a transaction (TxnOffsetCommit) are kept in the coordinator's record
// until the commit, then committed to the group coordinator: on one node this makes them
// durable with the transaction and visible exactly when it commits.
//
// Threads: every operation takes one mutex and may block on fsyncs: call off the event
// loops. A timer thread (start()) aborts timed-out transactions.

#include "base/clock.h"
#include "base/periodic_thread.h"
#include "base/result.h"
#include "cluster/broker_config.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "group/errors.h"
#include "group/group_coordinator.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace caudal::group {

/// The internal topic holding transaction state.
inline constexpr std::string_view transaction_topic = "__transaction_state";

/// The coordinator's settings (transaction.* broker keys).
struct txn_config {
  std::int64_t max_timeout_ms = 900000;          // transaction.max.timeout.ms
  std::int64_t abort_check_interval_ms = 10000;  // transaction.abort.timed.out...interval.ms
  std::int64_t id_expiration_ms = 604800000;     // transactional.id.expiration.ms
  /// Reads the transaction.* keys of `c`.
  [[nodiscard]] static txn_config from(const cluster::broker_config& c);
};

/// Kafka's transaction states (TransactionState), as DescribeTransactions names them.
enum class txn_state : std::uint8_t {
  empty,
  ongoing,
  prepare_commit,
  prepare_abort,
  complete_commit,
  complete_abort,
};
[[nodiscard]] std::string_view to_string(txn_state s);

/// One transactional.id.
struct txn_metadata {
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  std::int32_t timeout_ms = 60000;
  txn_state state = txn_state::empty;
  std::set<topic_partition> partitions;
  std::map<std::string, std::vector<offset_commit>> offsets;  // by group
  std::int64_t start_ms = -1;                                 // when the ongoing transaction began
  std::int64_t update_ms = -1;                                // last change
};

/// What InitProducerId answers.
struct producer_grant {
  error err = error::none;
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
};

class txn_coordinator {
 public:
  /// All references must outlive the coordinator.
  txn_coordinator(txn_config config, cluster::metadata_store& metadata,
                  cluster::partition_manager& partitions, group_coordinator& groups, clock& clk);
  txn_coordinator(const txn_coordinator&) = delete;
  txn_coordinator& operator=(const txn_coordinator&) = delete;
  ~txn_coordinator();

  /// Called after a marker is durable on a partition (wakes read_committed fetches).
  void on_marker(std::function<void(const cluster::partition&)> hook) {
    _on_marker = std::move(hook);
  }

  /// Replays `__transaction_state` if it exists and completes transactions that were
  /// being committed or aborted when the broker stopped. Blocks.
  [[nodiscard]] result<void> load();
  /// Creates the topic if missing, then loads it. Blocks. Thread-safe.
  [[nodiscard]] result<void> ensure_topic();
  [[nodiscard]] bool ready() const { return _ready.load(std::memory_order_acquire); }
  /// Starts the timer thread (timeouts every abort_check_interval_ms, or `tick_ms`).
  void start(std::int64_t tick_ms = 1000);
  void stop();
  /// Aborts every transaction open longer than its timeout, and forgets transactional
  /// ids without an open transaction that were idle for transactional.id.expiration.ms.
  void tick();

  /// InitProducerId with a transactional.id: a new producer id at epoch 0, or the same id
  /// with the epoch bumped (fencing the previous producer), aborting its open transaction
  /// first. `expected_id`/`expected_epoch` (-1 when absent) must match the current ones
  /// (KIP-360). Errors: invalid_transaction_timeout, producer_fenced, concurrent_transactions.
  [[nodiscard]] producer_grant init_producer(const std::string& txn_id, std::int32_t timeout_ms,
                                             std::int64_t expected_id, std::int16_t expected_epoch);
  /// AddPartitionsToTxn: one error per partition (unknown partitions fail, the others are
  /// then not attempted), or the same error for all.
  [[nodiscard]] std::vector<error> add_partitions(const std::string& txn_id, std::int64_t id,
                                                  std::int16_t epoch,
                                                  const std::vector<topic_partition>& partitions);
  /// AddOffsetsToTxn: the transaction will carry offsets for `group_id`.
  [[nodiscard]] error add_offsets(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                                  const std::string& group_id);
  /// TxnOffsetCommit: offsets that become committed when the transaction commits.
  [[nodiscard]] error commit_offsets(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                                     const std::string& group_id,
                                     std::vector<offset_commit> offsets);
  /// EndTxn: writes the markers and completes the transaction. A retry of the end that
  /// already happened succeeds. Errors: invalid_producer_id_mapping, producer_fenced,
  /// invalid_txn_state, kafka_storage_error.
  [[nodiscard]] error end(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                          bool commit);
  /// Whether producer `id` at `epoch` may write a transactional batch to `tp` now. Never
  /// waits for an fsync: produce requests call it on the event loops.
  /// Errors: invalid_producer_epoch (older epoch), invalid_txn_state.
  [[nodiscard]] error verify(std::int64_t id, std::int16_t epoch, const topic_partition& tp);

  /// DescribeTransactions / ListTransactions.
  [[nodiscard]] std::optional<txn_metadata> describe(const std::string& txn_id);
  [[nodiscard]] std::vector<std::pair<std::string, txn_metadata>> list();

 private:
  [[nodiscard]] error check_producer(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                                     txn_metadata*& out);
  [[nodiscard]] result<void> persist(const std::string& txn_id, const txn_metadata& m);
  // Writes the markers (and commits the offsets), then the complete state. Requires _mutex.
  [[nodiscard]] error finish(const std::string& txn_id, txn_metadata& m, bool commit);
  [[nodiscard]] result<void> write_marker(const topic_partition& tp, std::int64_t id,
                                          std::int16_t epoch, bool commit);

  const txn_config _config;
  cluster::metadata_store& _metadata;
  cluster::partition_manager& _partitions;
  group_coordinator& _groups;
  clock& _clock;
  std::function<void(const cluster::partition&)> _on_marker;

  std::mutex _load_mutex;
  std::atomic<bool> _ready{false};
  std::mutex _mutex;
  std::map<std::string, txn_metadata, std::less<>> _txns;  // guarded by _mutex
  std::shared_ptr<cluster::partition> _log;                // guarded by _mutex

  // What verify() needs, per producer id, as last made durable: kept apart from _mutex,
  // which is held across fsyncs, because produce requests check it on the event loops.
  struct verify_entry {
    std::int16_t epoch = -1;
    bool ongoing = false;
    std::set<topic_partition> partitions;
  };
  void publish(const txn_metadata& m);
  mutable std::shared_mutex _verify_mutex;
  std::map<std::int64_t, verify_entry> _verify;  // guarded by _verify_mutex

  periodic_thread _timer;
};

}  // namespace caudal::group
