#include "group/txn_coordinator.h"

#include "base/batch_builder.h"
#include "base/logging.h"
#include "base/record_reader.h"

#include <nlohmann/json.hpp>

#include <future>
#include <limits>

namespace caudal::group {
namespace {

using json = nlohmann::json;

std::string_view state_names[] = {"Empty",        "Ongoing",        "PrepareCommit",
                                  "PrepareAbort", "CompleteCommit", "CompleteAbort"};

json to_json(const txn_metadata& m) {
  json partitions = json::array();
  for (const auto& tp : m.partitions)
    partitions.push_back({tp.topic, tp.partition});
  json offsets = json::object();
  for (const auto& [group, list] : m.offsets) {
    json entries = json::array();
    for (const auto& o : list) {
      entries.push_back(
          {o.tp.topic, o.tp.partition, o.value.offset, o.value.leader_epoch, o.value.metadata});
    }
    offsets[group] = std::move(entries);
  }
  return {{"producer_id", m.producer_id}, {"epoch", m.epoch},
          {"timeout_ms", m.timeout_ms},   {"state", static_cast<int>(m.state)},
          {"partitions", partitions},     {"offsets", offsets},
          {"start_ms", m.start_ms},       {"update_ms", m.update_ms}};
}

txn_metadata from_json(const json& j) {
  txn_metadata m;
  m.producer_id = j.at("producer_id").get<std::int64_t>();
  m.epoch = j.at("epoch").get<std::int16_t>();
  m.timeout_ms = j.at("timeout_ms").get<std::int32_t>();
  const int state = j.at("state").get<int>();
  if (state < 0 || state > static_cast<int>(txn_state::complete_abort)) {
    throw json::other_error::create(501, "bad transaction state", nullptr);
  }
  m.state = static_cast<txn_state>(state);
  for (const auto& tp : j.at("partitions"))
    m.partitions.insert({tp.at(0).get<std::string>(), tp.at(1).get<std::int32_t>()});
  for (const auto& [group, entries] : j.at("offsets").items()) {
    auto& list = m.offsets[group];
    for (const auto& e : entries) {
      offset_commit o;
      o.tp = {e.at(0).get<std::string>(), e.at(1).get<std::int32_t>()};
      o.value.offset = e.at(2).get<std::int64_t>();
      o.value.leader_epoch = e.at(3).get<std::int32_t>();
      o.value.metadata = e.at(4).get<std::string>();
      list.push_back(std::move(o));
    }
  }
  m.start_ms = j.at("start_ms").get<std::int64_t>();
  m.update_ms = j.at("update_ms").get<std::int64_t>();
  return m;
}

bool ending(txn_state s) {
  return s == txn_state::prepare_commit || s == txn_state::prepare_abort;
}

}  // namespace

std::string_view to_string(txn_state s) {
  return state_names[static_cast<std::size_t>(s)];
}

txn_config txn_config::from(const cluster::broker_config& c) {
  txn_config out;
  out.max_timeout_ms = c.integer("transaction.max.timeout.ms");
  out.abort_check_interval_ms =
      c.integer("transaction.abort.timed.out.transaction.cleanup.interval.ms");
  out.id_expiration_ms = c.integer("transactional.id.expiration.ms");
  return out;
}

txn_coordinator::txn_coordinator(txn_config config, cluster::metadata_store& metadata,
                                 cluster::partition_manager& partitions, group_coordinator& groups,
                                 clock& clk)
    : _config(config), _metadata(metadata), _partitions(partitions), _groups(groups), _clock(clk) {}

txn_coordinator::~txn_coordinator() {
  stop();
}

result<void> txn_coordinator::ensure_topic() {
  if (ready()) return {};
  {
    std::lock_guard load_lock(_load_mutex);
    if (_metadata.topics()->find(transaction_topic) == nullptr) {
      cluster::new_topic t;
      t.name = std::string(transaction_topic);
      t.partitions = 1;
      t.replication_factor = 1;
      t.internal = true;
      t.configs = {{"retention.ms", "-1"}, {"retention.bytes", "-1"}};
      auto made = _metadata.create_topic(t);
      if (auto* bad = std::get_if<cluster::op_error>(&made)) {
        if (bad->code != cluster::errc::topic_already_exists) {
          spdlog::error("cannot create {}: {}", transaction_topic, bad->message);
          return make_error_code(bad->code);
        }
      }
    }
    if (auto r = _partitions.reconcile(*_metadata.topics()); !r) return r;
  }
  return load();
}

result<void> txn_coordinator::load() {
  std::lock_guard load_lock(_load_mutex);
  if (ready()) return {};
  if (_metadata.topics()->find(transaction_topic) == nullptr) return {};
  std::lock_guard lock(_mutex);
  _log = _partitions.get(transaction_topic, 0);
  if (!_log) return make_error_code(cluster::errc::unknown_topic);
  const storage::log& log = *_log->log;
  CAUDAL_TRY(storage::for_each_batch(
      log, log.log_start_offset(), [this](std::span<const std::byte> b) -> result<void> {
        batch::record_reader reader(b);
        for (;;) {
          auto rec = reader.next();
          if (!rec) return rec.error();
          if (!*rec) return ok();
          if (!(*rec)->key) continue;
          const std::string id(reinterpret_cast<const char*>((*rec)->key->data()),
                               (*rec)->key->size());
          if (!(*rec)->value) {
            _txns.erase(id);
            continue;
          }
          try {
            const auto& v = *(*rec)->value;
            _txns[id] = from_json(
                json::parse(std::string_view(reinterpret_cast<const char*>(v.data()), v.size())));
          } catch (const json::exception& e) {
            spdlog::error("{}: bad record for {}: {}", transaction_topic, id, e.what());
            return make_error_code(cluster::errc::corrupt_metadata);
          }
        }
      }));
  for (const auto& [id, m] : _txns)
    publish(m);
  // Ends that a stop interrupted are completed now: their markers may be missing.
  for (auto& [id, m] : _txns) {
    if (ending(m.state)) {
      if (auto e = finish(id, m, m.state == txn_state::prepare_commit); e != error::none) {
        spdlog::error("cannot complete the transaction of {}", id);
      }
    }
  }
  spdlog::info("{}: {} transactional id(s) loaded", transaction_topic, _txns.size());
  _ready.store(true, std::memory_order_release);
  return {};
}

void txn_coordinator::start(std::int64_t tick_ms) {
  _timer.start(std::min(tick_ms, _config.abort_check_interval_ms), [this] { tick(); });
}

void txn_coordinator::stop() {
  _timer.stop();
}

void txn_coordinator::tick() {
  if (!ready()) return;
  std::lock_guard lock(_mutex);
  const std::int64_t now = _clock.wall_ms();
  for (auto& [id, m] : _txns) {
    if (m.state != txn_state::ongoing || now - m.start_ms <= m.timeout_ms) continue;
    spdlog::info("aborting the transaction of {}: open for more than {} ms", id, m.timeout_ms);
    // The bumped epoch fences the producer: its late writes and its EndTxn are refused.
    m.epoch = static_cast<std::int16_t>(m.epoch + 1);
    m.state = txn_state::prepare_abort;
    if (!persist(id, m)) continue;
    (void)finish(id, m, false);
  }
  for (auto it = _txns.begin(); it != _txns.end();) {
    const txn_metadata& m = it->second;
    const bool idle = m.state == txn_state::empty || m.state == txn_state::complete_commit ||
                      m.state == txn_state::complete_abort;
    if (!idle || now - m.update_ms <= _config.id_expiration_ms) {
      ++it;
      continue;
    }
    // A tombstone: the next InitProducerId of the id starts afresh with a new producer id.
    batch::builder b;
    b.add(as_bytes(it->first), std::nullopt, now);
    auto bytes = b.finish();
    auto appended = _log->log->append(bytes);
    if (!appended || !_log->log->wait_durable(appended->last_offset)) break;
    spdlog::info("transactional id {} expired", it->first);
    {
      std::unique_lock vlock(_verify_mutex);
      _verify.erase(m.producer_id);
    }
    it = _txns.erase(it);
  }
}

result<void> txn_coordinator::persist(const std::string& txn_id, const txn_metadata& m) {
  if (!_log) return make_error_code(cluster::errc::unknown_topic);
  const std::string value = to_json(m).dump();
  batch::builder b;
  b.add(as_bytes(txn_id), as_bytes(value), _clock.wall_ms());
  auto bytes = b.finish();
  auto appended = _log->log->append(bytes);
  if (!appended) return appended.error();
  CAUDAL_TRY(_log->log->wait_durable(appended->last_offset));
  publish(m);
  return {};
}

void txn_coordinator::publish(const txn_metadata& m) {
  verify_entry e{m.epoch, m.state == txn_state::ongoing, {}};
  if (e.ongoing) e.partitions = m.partitions;
  std::unique_lock lock(_verify_mutex);
  _verify[m.producer_id] = std::move(e);
}

result<void> txn_coordinator::write_marker(const topic_partition& tp, std::int64_t id,
                                           std::int16_t epoch, bool commit) {
  auto p = _partitions.get(tp.topic, tp.partition);
  if (!p) return {};  // deleted meanwhile: nothing to mark
  auto opts = batch::producer_options(id, epoch, -1);
  opts.attributes = batch::transactional_bit | batch::control_bit;
  batch::builder b(opts);
  // Key: version 0, type; value: version 0, coordinator epoch 0.
  const std::array<std::byte, 4> key{std::byte{0}, std::byte{0}, std::byte{0},
                                     std::byte{commit ? std::uint8_t{1} : std::uint8_t{0}}};
  const std::array<std::byte, 6> value{};
  b.add(std::span<const std::byte>(key), std::span<const std::byte>(value), _clock.wall_ms());
  auto bytes = b.finish();
  auto appended = p->log->append(bytes);
  if (!appended) return appended.error();
  CAUDAL_TRY(p->log->wait_durable(appended->last_offset));
  if (_on_marker) _on_marker(*p);
  return {};
}

error txn_coordinator::finish(const std::string& txn_id, txn_metadata& m, bool commit) {
  for (const auto& tp : m.partitions) {
    if (auto r = write_marker(tp, m.producer_id, m.epoch, commit); !r) {
      spdlog::error("marker of {} on {}-{}: {}", txn_id, tp.topic, tp.partition,
                    r.error().message());
      return error::kafka_storage_error;
    }
  }
  if (commit) {
    for (auto& [group, offsets] : m.offsets) {
      std::promise<error> done;
      _groups.commit_transactional(group, offsets, [&done](error e) { done.set_value(e); });
      if (auto e = done.get_future().get(); e != error::none) return e;
    }
  }
  m.state = commit ? txn_state::complete_commit : txn_state::complete_abort;
  m.partitions.clear();
  m.offsets.clear();
  m.update_ms = _clock.wall_ms();
  if (!persist(txn_id, m)) return error::kafka_storage_error;
  return error::none;
}

producer_grant txn_coordinator::init_producer(const std::string& txn_id, std::int32_t timeout_ms,
                                              std::int64_t expected_id,
                                              std::int16_t expected_epoch) {
  if (!ready()) return {error::coordinator_not_available};
  if (timeout_ms <= 0 || timeout_ms > _config.max_timeout_ms) {
    return {error::invalid_transaction_timeout};
  }
  std::lock_guard lock(_mutex);
  auto found = _txns.find(txn_id);
  txn_metadata m;
  if (found == _txns.end()) {
    auto id = _metadata.next_producer_id();
    if (!id) return {error::kafka_storage_error};
    m.producer_id = *id;
    m.epoch = 0;
  } else {
    m = found->second;
    if (expected_id >= 0 && (expected_id != m.producer_id || expected_epoch != m.epoch)) {
      return {error::producer_fenced};
    }
    if (ending(m.state)) return {error::concurrent_transactions};
    if (m.state == txn_state::ongoing) {
      // The previous producer's transaction is aborted at a bumped epoch, which fences it.
      m.epoch = static_cast<std::int16_t>(m.epoch + 1);
      m.state = txn_state::prepare_abort;
      if (!persist(txn_id, m)) return {error::kafka_storage_error};
      if (auto e = finish(txn_id, m, false); e != error::none) return {e};
    }
    if (m.epoch >= std::numeric_limits<std::int16_t>::max() - 1) {
      auto id = _metadata.next_producer_id();
      if (!id) return {error::kafka_storage_error};
      m.producer_id = *id;
      m.epoch = 0;
    } else {
      m.epoch = static_cast<std::int16_t>(m.epoch + 1);
    }
  }
  m.timeout_ms = timeout_ms;
  m.state = txn_state::empty;
  m.partitions.clear();
  m.offsets.clear();
  m.start_ms = -1;
  m.update_ms = _clock.wall_ms();
  if (!persist(txn_id, m)) return {error::kafka_storage_error};
  _txns[txn_id] = m;
  return {error::none, m.producer_id, m.epoch};
}

error txn_coordinator::check_producer(const std::string& txn_id, std::int64_t id,
                                      std::int16_t epoch, txn_metadata*& out) {
  if (!ready()) return error::coordinator_not_available;
  auto found = _txns.find(txn_id);
  if (found == _txns.end() || found->second.producer_id != id) {
    return error::invalid_producer_id_mapping;
  }
  if (found->second.epoch != epoch) return error::producer_fenced;
  out = &found->second;
  return error::none;
}

std::vector<error> txn_coordinator::add_partitions(const std::string& txn_id, std::int64_t id,
                                                   std::int16_t epoch,
                                                   const std::vector<topic_partition>& partitions) {
  std::lock_guard lock(_mutex);
  txn_metadata* m = nullptr;
  error e = check_producer(txn_id, id, epoch, m);
  if (e == error::none && ending(m->state)) e = error::concurrent_transactions;
  if (e != error::none) return std::vector<error>(partitions.size(), e);
  std::vector<error> out(partitions.size(), error::none);
  bool unknown = false;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    if (!_partitions.get(partitions[i].topic, partitions[i].partition)) {
      out[i] = error::unknown_topic_or_partition;
      unknown = true;
    }
  }
  if (unknown) {
    for (auto& o : out) {
      if (o == error::none) o = error::operation_not_attempted;
    }
    return out;
  }
  txn_metadata next = *m;
  if (next.state != txn_state::ongoing) {
    next.state = txn_state::ongoing;
    next.start_ms = _clock.wall_ms();
  }
  next.partitions.insert(partitions.begin(), partitions.end());
  next.update_ms = _clock.wall_ms();
  // Durable before the producer may write there: the coordinator must know every
  // partition it will have to mark.
  if (!persist(txn_id, next))
    return std::vector<error>(partitions.size(), error::kafka_storage_error);
  *m = std::move(next);
  return out;
}

error txn_coordinator::add_offsets(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                                   const std::string& group_id) {
  std::lock_guard lock(_mutex);
  txn_metadata* m = nullptr;
  if (auto e = check_producer(txn_id, id, epoch, m); e != error::none) return e;
  if (ending(m->state)) return error::concurrent_transactions;
  txn_metadata next = *m;
  if (next.state != txn_state::ongoing) {
    next.state = txn_state::ongoing;
    next.start_ms = _clock.wall_ms();
  }
  next.offsets.try_emplace(group_id);
  next.update_ms = _clock.wall_ms();
  if (!persist(txn_id, next)) return error::kafka_storage_error;
  *m = std::move(next);
  return error::none;
}

error txn_coordinator::commit_offsets(const std::string& txn_id, std::int64_t id,
                                      std::int16_t epoch, const std::string& group_id,
                                      std::vector<offset_commit> offsets) {
  std::lock_guard lock(_mutex);
  txn_metadata* m = nullptr;
  if (auto e = check_producer(txn_id, id, epoch, m); e != error::none) return e;
  if (m->state != txn_state::ongoing || !m->offsets.contains(group_id)) {
    return error::invalid_txn_state;
  }
  txn_metadata next = *m;
  auto& list = next.offsets[group_id];
  for (auto& o : offsets) {
    auto same = std::find_if(list.begin(), list.end(), [&](const auto& x) { return x.tp == o.tp; });
    if (same != list.end()) {
      *same = std::move(o);
    } else {
      list.push_back(std::move(o));
    }
  }
  next.update_ms = _clock.wall_ms();
  if (!persist(txn_id, next)) return error::kafka_storage_error;
  *m = std::move(next);
  return error::none;
}

error txn_coordinator::end(const std::string& txn_id, std::int64_t id, std::int16_t epoch,
                           bool commit) {
  std::lock_guard lock(_mutex);
  txn_metadata* m = nullptr;
  if (auto e = check_producer(txn_id, id, epoch, m); e != error::none) return e;
  switch (m->state) {
    case txn_state::complete_commit:
      return commit ? error::none : error::invalid_txn_state;  // a retry of the commit
    case txn_state::complete_abort:
      return commit ? error::invalid_txn_state : error::none;
    case txn_state::prepare_commit:
    case txn_state::prepare_abort:
      return error::concurrent_transactions;
    case txn_state::empty:
      return error::invalid_txn_state;
    case txn_state::ongoing:
      break;
  }
  m->state = commit ? txn_state::prepare_commit : txn_state::prepare_abort;
  m->update_ms = _clock.wall_ms();
  if (!persist(txn_id, *m)) return error::kafka_storage_error;
  return finish(txn_id, *m, commit);
}

error txn_coordinator::verify(std::int64_t id, std::int16_t epoch, const topic_partition& tp) {
  std::shared_lock lock(_verify_mutex);
  auto found = _verify.find(id);
  if (found == _verify.end()) return error::invalid_producer_id_mapping;
  const verify_entry& m = found->second;
  if (epoch < m.epoch) return error::invalid_producer_epoch;
  if (epoch != m.epoch || !m.ongoing || !m.partitions.contains(tp)) {
    return error::invalid_txn_state;
  }
  return error::none;
}

std::optional<txn_metadata> txn_coordinator::describe(const std::string& txn_id) {
  std::lock_guard lock(_mutex);
  auto found = _txns.find(txn_id);
  if (found == _txns.end()) return std::nullopt;
  return found->second;
}

std::vector<std::pair<std::string, txn_metadata>> txn_coordinator::list() {
  std::lock_guard lock(_mutex);
  return {_txns.begin(), _txns.end()};
}

}  // namespace caudal::group
