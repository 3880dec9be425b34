#pragma once

// The cluster's metadata (topics, their partitions and configs), kept as a durable log of
// metadata records that is replayed into a topic_table on start. Every change is durable
// before it is visible, so a crash never leaves half a topic: either the record is in the
// log and the topic exists, or it is not. On one node this is the controller; with Raft
// (a later issue) the same log becomes the metadata Raft group's log.
// Record format: docs/formats/metadata.md.

#include "base/clock.h"
#include "base/random.h"
#include "base/result.h"
#include "cluster/errc.h"
#include "cluster/topic_table.h"
#include "storage/flush_pool.h"
#include "storage/log.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <variant>

namespace caudal::cluster {

/// A request to create a topic, checked by validate_new_topic().
struct new_topic {
  std::string name;
  std::int32_t partitions = 1;
  std::int16_t replication_factor = 1;
  properties configs;
  bool internal = false;
};

class metadata_store {
 public:
  /// Opens (or creates) the metadata log under `data_dir` and replays it. Also reads or
  /// writes `meta.properties` with the cluster id and this node's id.
  [[nodiscard]] static result<std::unique_ptr<metadata_store>> open(
      const std::filesystem::path& data_dir, std::int32_t node_id, clock& clk,
      storage::flush_executor& flusher);

  metadata_store(const metadata_store&) = delete;
  metadata_store& operator=(const metadata_store&) = delete;
  ~metadata_store();

  /// A consistent snapshot of the topics. Thread-safe.
  [[nodiscard]] std::shared_ptr<const topic_table> topics() const;
  [[nodiscard]] const std::string& cluster_id() const { return _cluster_id; }

  /// Checks a new topic against Kafka's rules and the current topics; the error says why.
  [[nodiscard]] std::optional<op_error> validate_new_topic(const new_topic& t) const;

  /// Creates a topic durably. Thread-safe.
  [[nodiscard]] std::variant<topic_metadata, op_error> create_topic(const new_topic& t);
  /// Deletes a topic durably.
  [[nodiscard]] std::optional<op_error> delete_topic(const topic_id& id);
  /// Raises a topic's partition count to `total`.
  [[nodiscard]] std::optional<op_error> create_partitions(const topic_id& id, std::int32_t total);
  /// Replaces the dynamic broker configs of `resource` (a node id, or "" for the
  /// cluster-wide defaults); validated by the caller.
  [[nodiscard]] std::optional<op_error> set_broker_configs(std::string resource,
                                                           properties configs);
  /// Takes the next `count` producer ids durably, so no restart hands them out again;
  /// returns the first. Thread-safe.
  [[nodiscard]] result<std::int64_t> allocate_producer_ids(std::int64_t count);
  /// A producer id never handed out before, for InitProducerId. Ids come from blocks of
  /// producer_id_block taken with allocate_producer_ids(), so most calls do no I/O; a
  /// restart abandons the rest of the block. Thread-safe; may block on an fsync.
  [[nodiscard]] result<std::int64_t> next_producer_id();
  static constexpr std::int64_t producer_id_block = 1000;
  /// Replaces the configs set on a topic (validated by the caller).
  [[nodiscard]] std::optional<op_error> set_topic_configs(const topic_id& id, properties configs);

 private:
  metadata_store(std::unique_ptr<storage::log> log, std::string cluster_id, std::uint64_t seed);

  [[nodiscard]] result<void> replay();
  [[nodiscard]] std::optional<op_error> commit(const std::string& record_json);
  void publish(topic_table next);

  std::unique_ptr<storage::log> _log;
  const std::string _cluster_id;

  std::mutex _write_mutex;  // serialises changes
  random_source _rng;       // guarded by _write_mutex

  std::mutex _producer_id_mutex;
  std::int64_t _producer_id_next = 0;  // guarded by _producer_id_mutex
  std::int64_t _producer_id_end = 0;   // guarded by _producer_id_mutex; end of the block

  mutable std::mutex _snapshot_mutex;
  std::shared_ptr<const topic_table> _topics;  // guarded by _snapshot_mutex
};

}  // namespace caudal::cluster
