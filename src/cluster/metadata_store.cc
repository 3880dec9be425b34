#include "cluster/metadata_store.h"

#include "base/batch_builder.h"
#include "base/logging.h"
#include "base/record_reader.h"
#include "cluster/topic_config.h"
#include "storage/file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>

namespace caudal::cluster {
namespace {

using json = nlohmann::json;

constexpr const char* metadata_dir_name = "__cluster_metadata-0";
constexpr const char* meta_properties_name = "meta.properties";

// Reads or creates meta.properties: the cluster id, fixed for the data directory's life.
result<std::string> load_cluster_id(const std::filesystem::path& data_dir, std::int32_t node_id) {
  const auto path = data_dir / meta_properties_name;
  auto bytes = storage::read_whole_file(path);
  if (bytes) {
    const std::string text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    auto parsed = parse_properties(text);
    if (parsed.index() != 0) return errc::corrupt_metadata;
    const auto& p = std::get<0>(parsed);
    auto id = p.find("cluster.id");
    auto node = p.find("node.id");
    if (id == p.end() || node == p.end()) return errc::corrupt_metadata;
    if (node->second != std::to_string(node_id)) {
      spdlog::error("{} belongs to node.id {}, but this broker is node.id {}", path.string(),
                    node->second, node_id);
      return errc::corrupt_metadata;
    }
    return id->second;
  }
  if (bytes.error() != std::errc::no_such_file_or_directory) return bytes.error();
  random_source rng(entropy_seed());
  const std::string id = topic_id::random(rng).to_string();
  const std::string text =
      fmt::format("#Caudal broker metadata\nversion=1\ncluster.id={}\nnode.id={}\n", id, node_id);
  CAUDAL_TRY(storage::write_file_atomic(path, caudal::as_bytes(text)));
  return id;
}

json configs_json(const properties& configs) {
  json out = json::object();
  for (const auto& [k, v] : configs)
    out[k] = v;
  return out;
}

properties configs_from(const json& j) {
  properties out;
  for (const auto& [k, v] : j.items())
    out[k] = v.get<std::string>();
  return out;
}

// Applies one record to `table`; false if the record makes no sense (a corrupt log).
bool apply_record(topic_table& table, const json& r) {
  const std::string type = r.at("type").get<std::string>();
  if (type == "broker_configs") {
    table.set_broker_configs(r.at("resource").get<std::string>(), configs_from(r.at("configs")));
    return true;
  }
  if (type == "producer_ids") {
    const auto next = r.at("next").get<std::int64_t>();
    if (next <= table.next_producer_id()) return false;
    table.set_next_producer_id(next);
    return true;
  }
  if (type == "topic") {
    topic_metadata t;
    t.name = r.at("name").get<std::string>();
    t.id = topic_id::parse(r.at("id").get<std::string>());
    t.partitions = r.at("partitions").get<std::int32_t>();
    t.replication_factor = r.at("replication_factor").get<std::int16_t>();
    t.configs = configs_from(r.at("configs"));
    t.internal = r.value("internal", false);
    if (t.id.is_zero() || table.find(t.name) || table.find(t.id)) return false;
    table.add(std::move(t));
    return true;
  }
  const topic_id id = topic_id::parse(r.at("id").get<std::string>());
  const topic_metadata* t = table.find(id);
  if (t == nullptr) return false;
  if (type == "delete_topic") {
    table.remove(id);
  } else if (type == "partitions") {
    const auto n = r.at("partitions").get<std::int32_t>();
    if (n <= t->partitions) return false;
    table.set_partitions(id, n);
  } else if (type == "configs") {
    table.set_configs(id, configs_from(r.at("configs")));
  } else {
    return false;
  }
  return true;
}

}  // namespace

metadata_store::metadata_store(std::unique_ptr<storage::log> log, std::string cluster_id,
                               std::uint64_t seed)
    : _log(std::move(log)),
      _cluster_id(std::move(cluster_id)),
      _rng(seed),
      _topics(std::make_shared<topic_table>()) {}

metadata_store::~metadata_store() {
  if (auto r = _log->close(); !r) spdlog::warn("closing the metadata log: {}", r.error().message());
}

result<std::unique_ptr<metadata_store>> metadata_store::open(const std::filesystem::path& data_dir,
                                                             std::int32_t node_id, clock& clk,
                                                             storage::flush_executor& flusher) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return ec;
  auto cluster_id = load_cluster_id(data_dir, node_id);
  if (!cluster_id) return cluster_id.error();
  storage::log_config config;
  config.segment_bytes = 64 << 20;
  config.retention_ms = -1;
  auto log = storage::log::open(data_dir / metadata_dir_name, config, clk, flusher);
  if (!log) return log.error();
  std::unique_ptr<metadata_store> store(
      new metadata_store(std::move(*log), std::move(*cluster_id), entropy_seed()));
  CAUDAL_TRY(store->replay());
  return store;
}

result<void> metadata_store::replay() {
  topic_table table;
  CAUDAL_TRY(storage::for_each_batch(
      *_log, _log->log_start_offset(), [&table](std::span<const std::byte> b) -> result<void> {
        batch::record_reader reader(b);
        for (;;) {
          auto rec = reader.next();
          if (!rec) return rec.error();
          if (!*rec) return ok();
          if (!(*rec)->value) return errc::corrupt_metadata;
          const auto& v = *(*rec)->value;
          try {
            auto j =
                json::parse(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
            if (!apply_record(table, j)) return errc::corrupt_metadata;
          } catch (const json::exception& e) {
            spdlog::error("metadata log: {}", e.what());
            return errc::corrupt_metadata;
          }
        }
      }));
  spdlog::info("metadata: {} topic(s) loaded", table.topics().size());
  publish(std::move(table));
  return ok();
}

std::shared_ptr<const topic_table> metadata_store::topics() const {
  std::lock_guard lock(_snapshot_mutex);
  return _topics;
}

void metadata_store::publish(topic_table next) {
  auto ptr = std::make_shared<const topic_table>(std::move(next));
  std::lock_guard lock(_snapshot_mutex);
  _topics = std::move(ptr);
}

std::optional<op_error> metadata_store::commit(const std::string& record_json) {
  batch::builder b;
  b.add(std::nullopt, as_bytes(record_json), 0);
  auto bytes = b.finish();
  auto appended = _log->append(bytes);
  if (!appended) {
    return op_error{errc::corrupt_metadata,
                    "cannot write the metadata log: " + appended.error().message()};
  }
  if (auto d = _log->wait_durable(appended->last_offset); !d) {
    return op_error{errc::corrupt_metadata, "cannot sync the metadata log: " + d.error().message()};
  }
  return std::nullopt;
}

std::optional<op_error> metadata_store::validate_new_topic(const new_topic& t) const {
  if (auto bad = check_topic_name(t.name)) return op_error{errc::invalid_topic, *bad};
  const auto table = topics();
  if (table->find(t.name)) {
    return op_error{errc::topic_already_exists, fmt::format("Topic '{}' already exists.", t.name)};
  }
  for (const auto& [name, _] : table->topics()) {
    if (names_collide(name, t.name)) {
      return op_error{errc::invalid_topic,
                      fmt::format("Topic '{}' collides with existing topic: {}", t.name, name)};
    }
  }
  if (t.partitions <= 0) {
    return op_error{errc::invalid_partitions, "Number of partitions must be larger than 0."};
  }
  if (t.replication_factor <= 0) {
    return op_error{errc::invalid_replication_factor, "Replication factor must be larger than 0."};
  }
  if (t.replication_factor > 1) {
    return op_error{errc::invalid_replication_factor,
                    fmt::format("Unable to replicate the partition {} time(s): The target "
                                "replication factor of {} cannot be reached because only 1 "
                                "broker(s) are registered.",
                                t.replication_factor, t.replication_factor)};
  }
  for (const auto& [k, v] : t.configs) {
    if (auto bad = check_topic_config(k, v)) return op_error{errc::invalid_config, *bad};
  }
  return std::nullopt;
}

std::variant<topic_metadata, op_error> metadata_store::create_topic(const new_topic& t) {
  std::lock_guard lock(_write_mutex);
  if (auto bad = validate_new_topic(t)) return *bad;
  topic_metadata meta{
      t.name, topic_id::random(_rng), t.partitions, t.replication_factor, t.configs, t.internal};
  const json record = {{"type", "topic"},
                       {"name", meta.name},
                       {"id", meta.id.to_string()},
                       {"partitions", meta.partitions},
                       {"replication_factor", meta.replication_factor},
                       {"configs", configs_json(meta.configs)},
                       {"internal", meta.internal}};
  if (auto err = commit(record.dump())) return *err;
  topic_table next = *topics();
  next.add(meta);
  publish(std::move(next));
  spdlog::info("created topic {} ({} partition(s), id {})", meta.name, meta.partitions,
               meta.id.to_string());
  return meta;
}

std::optional<op_error> metadata_store::delete_topic(const topic_id& id) {
  std::lock_guard lock(_write_mutex);
  const auto table = topics();
  const topic_metadata* t = table->find(id);
  if (t == nullptr)
    return op_error{errc::unknown_topic, "This server does not host this topic ID."};
  const json record = {{"type", "delete_topic"}, {"id", id.to_string()}};
  if (auto err = commit(record.dump())) return err;
  spdlog::info("deleted topic {}", t->name);
  topic_table next = *table;
  next.remove(id);
  publish(std::move(next));
  return std::nullopt;
}

std::optional<op_error> metadata_store::create_partitions(const topic_id& id, std::int32_t total) {
  std::lock_guard lock(_write_mutex);
  const auto table = topics();
  const topic_metadata* t = table->find(id);
  if (t == nullptr) return op_error{errc::unknown_topic, "This server does not host this topic."};
  if (total <= t->partitions) {
    return op_error{errc::invalid_partitions,
                    fmt::format("Topic currently has {} partitions, which is higher than the "
                                "requested {}.",
                                t->partitions, total)};
  }
  const json record = {{"type", "partitions"}, {"id", id.to_string()}, {"partitions", total}};
  if (auto err = commit(record.dump())) return err;
  topic_table next = *table;
  next.set_partitions(id, total);
  publish(std::move(next));
  return std::nullopt;
}

std::optional<op_error> metadata_store::set_broker_configs(std::string resource,
                                                           properties configs) {
  std::lock_guard lock(_write_mutex);
  const json record = {
      {"type", "broker_configs"}, {"resource", resource}, {"configs", configs_json(configs)}};
  if (auto err = commit(record.dump())) return err;
  topic_table next = *topics();
  next.set_broker_configs(std::move(resource), std::move(configs));
  publish(std::move(next));
  return std::nullopt;
}

result<std::int64_t> metadata_store::allocate_producer_ids(std::int64_t count) {
  CAUDAL_ASSERT(count > 0, "allocating {} producer ids", count);
  std::lock_guard lock(_write_mutex);
  const auto table = topics();
  const std::int64_t first = table->next_producer_id();
  if (first > std::numeric_limits<std::int64_t>::max() - count) return errc::corrupt_metadata;
  const json record = {{"type", "producer_ids"}, {"next", first + count}};
  if (auto err = commit(record.dump())) return make_error_code(err->code);
  topic_table next = *table;
  next.set_next_producer_id(first + count);
  publish(std::move(next));
  return first;
}

result<std::int64_t> metadata_store::next_producer_id() {
  std::lock_guard lock(_producer_id_mutex);
  if (_producer_id_next == _producer_id_end) {
    auto first = allocate_producer_ids(producer_id_block);
    if (!first) return first.error();
    _producer_id_next = *first;
    _producer_id_end = *first + producer_id_block;
  }
  return _producer_id_next++;
}

std::optional<op_error> metadata_store::set_topic_configs(const topic_id& id, properties configs) {
  std::lock_guard lock(_write_mutex);
  const auto table = topics();
  if (table->find(id) == nullptr) {
    return op_error{errc::unknown_topic, "This server does not host this topic."};
  }
  const json record = {
      {"type", "configs"}, {"id", id.to_string()}, {"configs", configs_json(configs)}};
  if (auto err = commit(record.dump())) return err;
  topic_table next = *table;
  next.set_configs(id, std::move(configs));
  publish(std::move(next));
  return std::nullopt;
}

}  // namespace caudal::cluster
