#pragma once

// The partition logs hosted on this node: one storage::log per partition, in a directory
// named `<topic>-<partition>` under the data directory, holding a `topic_id` file that
// ties it to its topic (a deleted and re-created topic of the same name is a different
// topic). reconcile() brings the logs in line with the metadata; a background thread runs
// retention and the interval flush policy.

#include "base/clock.h"
#include "base/result.h"
#include "cluster/broker_config.h"
#include "cluster/topic_table.h"
#include "storage/flush_pool.h"
#include "storage/log.h"

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace caudal::cluster {

/// One partition hosted here. Shared: a request holding it keeps the log object alive
/// even if the topic is deleted meanwhile (the log is then closed and refuses work).
struct partition {
  std::string topic;
  topic_id id;
  std::int32_t index = 0;
  std::unique_ptr<storage::log> log;

  /// The offset up to which consumers may read: the durable end when every append is
  /// made durable (the single-node commit point), else the log end.
  [[nodiscard]] kafka_offset high_watermark() const;
};

class partition_manager {
 public:
  /// `clk`, `flusher` and `config` must outlive the manager.
  partition_manager(std::filesystem::path data_dir, const broker_config& config, clock& clk,
                    storage::flush_executor& flusher);
  partition_manager(const partition_manager&) = delete;
  partition_manager& operator=(const partition_manager&) = delete;
  /// Stops the housekeeping thread and closes every log.
  ~partition_manager();

  /// Opens or creates the logs of every partition in `table`, applies topic configs, and
  /// closes and deletes the logs of topics no longer in it. Also deletes data left by
  /// deleted topics. Thread-safe; the first error stops it.
  [[nodiscard]] result<void> reconcile(const topic_table& table);

  /// The partition, or nullptr if it is not hosted here. Thread-safe.
  [[nodiscard]] std::shared_ptr<partition> get(std::string_view topic, std::int32_t index) const;

  /// Every hosted partition (metrics, tests).
  [[nodiscard]] std::vector<std::shared_ptr<partition>> all() const;

  /// Starts the housekeeping thread: log ticks every `tick_ms`, retention every
  /// log.retention.check.interval.ms.
  void start(std::int64_t tick_ms = 1000);
  /// Stops housekeeping and closes all logs, flushing them. Idempotent.
  void stop();

 private:
  void housekeeping_loop(std::int64_t tick_ms);
  void remove_dir(const std::filesystem::path& dir, const topic_id& id);

  const std::filesystem::path _data_dir;
  const broker_config& _config;
  clock& _clock;
  storage::flush_executor& _flusher;

  std::mutex _reconcile_mutex;
  mutable std::shared_mutex _map_mutex;
  std::map<std::pair<std::string, std::int32_t>, std::shared_ptr<partition>, std::less<>>
      _partitions;  // guarded by _map_mutex

  std::mutex _housekeeping_mutex;
  std::condition_variable _housekeeping_wake;
  bool _stopping = false;  // guarded by _housekeeping_mutex
  std::thread _housekeeper;
};

}  // namespace caudal::cluster
