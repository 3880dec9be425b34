#include "cluster/partition_manager.h"

#include "base/bytes.h"
#include "base/logging.h"
#include "cluster/topic_config.h"
#include "storage/errc.h"
#include "storage/file.h"

#include <fmt/format.h>

#include <chrono>
#include <set>

namespace caudal::cluster {
namespace {

constexpr const char* topic_id_file = "topic_id";

std::string partition_dir_name(std::string_view topic, std::int32_t index) {
  return fmt::format("{}-{}", topic, index);
}

topic_id read_topic_id(const std::filesystem::path& dir) {
  auto bytes = storage::read_whole_file(dir / topic_id_file);
  if (!bytes) return {};
  return topic_id::parse(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
}

}  // namespace

kafka_offset partition::high_watermark() const {
  if (log->config().flush == storage::flush_policy::every_append) return log->durable_end_offset();
  return log->log_end_offset();
}

partition_manager::partition_manager(std::filesystem::path data_dir, const broker_config& config,
                                     clock& clk, storage::flush_executor& flusher)
    : _data_dir(std::move(data_dir)), _config(config), _clock(clk), _flusher(flusher) {}

partition_manager::~partition_manager() {
  stop();
}

void partition_manager::remove_dir(const std::filesystem::path& dir, const topic_id& id) {
  // Renamed first so a crash mid-delete leaves a name that start-up recognises.
  auto doomed = dir;
  doomed += fmt::format(".{}-delete", id.to_string());
  std::error_code ec;
  std::filesystem::rename(dir, doomed, ec);
  if (ec) {
    spdlog::warn("cannot rename {} for deletion: {}", dir.string(), ec.message());
    return;
  }
  ignore_error(storage::sync_directory(_data_dir), "the rename is redone at worst");
  std::filesystem::remove_all(doomed, ec);
  if (ec) spdlog::warn("cannot delete {}: {}", doomed.string(), ec.message());
}

result<void> partition_manager::reconcile(const topic_table& table) {
  std::lock_guard lock(_reconcile_mutex);
  // Dynamic broker configs first: topic defaults (and so every log's settings) follow them.
  _config.set_dynamic(table.broker_configs(std::to_string(_config.node_id())),
                      table.broker_configs(""));
  std::error_code ec;
  std::filesystem::create_directories(_data_dir, ec);
  if (ec) return ec;

  // Data of deleted topics, and deletions a crash interrupted.
  for (const auto& entry : std::filesystem::directory_iterator(_data_dir, ec)) {
    if (!entry.is_directory()) continue;
    const auto name = entry.path().filename().string();
    if (name.ends_with("-delete")) {
      std::filesystem::remove_all(entry.path(), ec);
      continue;
    }
    const topic_id id = read_topic_id(entry.path());
    if (!id.is_zero() && table.was_deleted(id)) {
      bool open_here = false;
      {
        std::shared_lock m(_map_mutex);
        for (const auto& [key, p] : _partitions)
          open_here |= p->id == id;
      }
      if (!open_here) remove_dir(entry.path(), id);
    }
  }

  // Close and delete partitions whose topic is gone.
  std::vector<std::shared_ptr<partition>> gone;
  {
    std::unique_lock m(_map_mutex);
    for (auto it = _partitions.begin(); it != _partitions.end();) {
      const topic_metadata* t = table.find(it->second->id);
      if (t == nullptr || it->second->index >= t->partitions) {
        gone.push_back(it->second);
        it = _partitions.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& p : gone) {
    ignore_error(p->log->close(), "the topic is deleted; its data goes next");
    remove_dir(_data_dir / partition_dir_name(p->topic, p->index), p->id);
  }

  // Open or create the partitions of every topic; keep configs current.
  for (const auto& [name, t] : table.topics()) {
    const storage::log_config log_config = to_log_config(t.configs, _config);
    for (std::int32_t i = 0; i < t.partitions; ++i) {
      if (auto existing = get(name, i)) {
        existing->log->set_config(log_config);
        continue;
      }
      const auto dir = _data_dir / partition_dir_name(name, i);
      const topic_id on_disk = read_topic_id(dir);
      if (!on_disk.is_zero() && on_disk != t.id) remove_dir(dir, on_disk);  // an older namesake
      if (on_disk != t.id) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return ec;
        const std::string id_text = t.id.to_string();
        CAUDAL_TRY(storage::write_file_atomic(dir / topic_id_file, caudal::as_bytes(id_text)));
      }
      auto log = storage::log::open(dir, log_config, _clock, _flusher);
      if (!log) return log.error();
      auto p = std::make_shared<partition>();
      p->topic = name;
      p->id = t.id;
      p->index = i;
      p->log = std::move(*log);
      std::unique_lock m(_map_mutex);
      _partitions[{name, i}] = std::move(p);
    }
  }
  return ok();
}

std::shared_ptr<partition> partition_manager::get(std::string_view topic,
                                                  std::int32_t index) const {
  std::shared_lock m(_map_mutex);
  auto it = _partitions.find(std::pair<std::string, std::int32_t>(std::string(topic), index));
  return it == _partitions.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<partition>> partition_manager::all() const {
  std::shared_lock m(_map_mutex);
  std::vector<std::shared_ptr<partition>> out;
  out.reserve(_partitions.size());
  for (const auto& [key, p] : _partitions)
    out.push_back(p);
  return out;
}

void partition_manager::start(std::int64_t tick_ms) {
  CAUDAL_ASSERT(!_housekeeper.joinable(), "partition manager started twice");
  _housekeeper = std::thread([this, tick_ms] { housekeeping_loop(tick_ms); });
}

void partition_manager::housekeeping_loop(std::int64_t tick_ms) {
  std::int64_t last_retention = _clock.wall_ms();
  std::int64_t last_producer_expiry = last_retention;
  std::unique_lock lock(_housekeeping_mutex);
  while (!_stopping) {
    _housekeeping_wake.wait_for(lock, std::chrono::milliseconds(tick_ms));
    if (_stopping) break;
    lock.unlock();
    const auto partitions = all();
    for (const auto& p : partitions)
      p->log->tick();
    const std::int64_t now = _clock.wall_ms();
    if (now - last_retention >= _config.integer("log.retention.check.interval.ms")) {
      last_retention = now;
      for (const auto& p : partitions) {
        auto removed = p->log->apply_retention();
        if (!removed) {
          spdlog::warn("retention of {}-{}: {}", p->topic, p->index, removed.error().message());
        } else if (*removed > 0) {
          spdlog::info("retention deleted {} segment(s) of {}-{}", *removed, p->topic, p->index);
        }
      }
    }
    if (now - last_producer_expiry >= _config.integer("producer.id.expiration.check.interval.ms")) {
      last_producer_expiry = now;
      const std::int64_t expiration = _config.integer("producer.id.expiration.ms");
      for (const auto& p : partitions)
        p->log->expire_producers(expiration);
    }
    lock.lock();
  }
}

void partition_manager::stop() {
  {
    std::lock_guard lock(_housekeeping_mutex);
    _stopping = true;
  }
  _housekeeping_wake.notify_all();
  if (_housekeeper.joinable()) _housekeeper.join();
  std::vector<std::shared_ptr<partition>> partitions;
  {
    std::unique_lock m(_map_mutex);
    for (auto& [key, p] : _partitions)
      partitions.push_back(p);
    _partitions.clear();
  }
  for (const auto& p : partitions) {
    if (auto r = p->log->close(); !r && r.error() != storage::errc::closed) {
      spdlog::warn("closing {}-{}: {}", p->topic, p->index, r.error().message());
    }
  }
}

}  // namespace caudal::cluster
