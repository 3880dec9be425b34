#include "group/group_coordinator.h"

#include "base/batch_builder.h"
#include "base/logging.h"
#include "base/record_batch.h"
#include "base/record_reader.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace caudal::group {
namespace {

// Records per batch the coordinator writes (snapshot chunks, tombstone sets).
constexpr std::size_t batch_records_max = 500;

std::error_code not_available() {
  return std::make_error_code(std::errc::resource_unavailable_try_again);
}

}  // namespace

coordinator_config coordinator_config::from(const cluster::broker_config& c) {
  coordinator_config out;
  out.limits.initial_rebalance_delay_ms = c.integer("group.initial.rebalance.delay.ms");
  out.limits.session_timeout_ms_min =
      static_cast<std::int32_t>(c.integer("group.min.session.timeout.ms"));
  out.limits.session_timeout_ms_max =
      static_cast<std::int32_t>(c.integer("group.max.session.timeout.ms"));
  out.limits.members_max = static_cast<std::size_t>(c.integer("group.max.size"));
  out.offsets_partitions = static_cast<std::int32_t>(c.integer("offsets.topic.num.partitions"));
  out.offsets_retention_ms = c.integer("offsets.retention.minutes") * 60 * 1000;
  out.offsets_retention_check_interval_ms = c.integer("offsets.retention.check.interval.ms");
  out.offset_metadata_bytes_max = static_cast<std::int32_t>(c.integer("offset.metadata.max.bytes"));
  out.offsets_segment_bytes = static_cast<std::int32_t>(c.integer("offsets.topic.segment.bytes"));
  return out;
}

group_coordinator::group_coordinator(coordinator_config config, cluster::metadata_store& metadata,
                                     cluster::partition_manager& partitions, clock& clk)
    : _config(config),
      _metadata(metadata),
      _partition_manager(partitions),
      _clock(clk),
      _partition_count(_config.offsets_partitions),
      _rng(static_cast<std::uint64_t>(clk.steady_ns()) ^ 0x6a09e667f3bcc908ULL) {}

group_coordinator::~group_coordinator() {
  stop();
}

std::int32_t group_coordinator::partition_for(std::string_view group_id) const {
  std::int32_t h = 0;
  for (char c : group_id) {
    h = static_cast<std::int32_t>(static_cast<std::uint32_t>(h) * 31U +
                                  static_cast<std::uint32_t>(static_cast<signed char>(c)));
  }
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
  const std::int64_t abs = h == std::numeric_limits<std::int32_t>::min() ? 0 : std::llabs(h);
  return static_cast<std::int32_t>(abs % _partition_count);
}

// ------------------------------------------------------------------------ loading

result<void> group_coordinator::load() {
  std::lock_guard load_lock(_load_mutex);
  if (_ready.load(std::memory_order_acquire)) return {};
  const auto table = _metadata.topics();
  const cluster::topic_metadata* t = table->find(offsets_topic);
  if (t == nullptr) return {};  // created by the first FindCoordinator
  if (t->partitions != _config.offsets_partitions) {
    // The topic's count wins: changing it would move groups between partitions.
    spdlog::warn("{} has {} partitions, offsets.topic.num.partitions says {}: using {}",
                 offsets_topic, t->partitions, _config.offsets_partitions, t->partitions);
  }
  _partition_count = t->partitions;
  _partitions.clear();
  for (std::int32_t i = 0; i < _partition_count; ++i) {
    _partitions.push_back(std::make_unique<offsets_partition>());
  }
  for (std::int32_t i = 0; i < _partition_count; ++i) {
    if (auto r = load_partition(i); !r) return r;
  }
  _ready.store(true, std::memory_order_release);
  return {};
}

result<void> group_coordinator::ensure_topic() {
  if (ready()) return {};
  {
    std::lock_guard load_lock(_load_mutex);
    if (_metadata.topics()->find(offsets_topic) == nullptr) {
      cluster::new_topic t;
      t.name = std::string(offsets_topic);
      t.partitions = _config.offsets_partitions;
      t.replication_factor = 1;
      t.internal = true;
      // Never deleted by time or size: the snapshot bounds it. (Kafka marks it
      // cleanup.policy=compact, which Caudal's logs do not implement yet.)
      t.configs = {{"retention.ms", "-1"},
                   {"retention.bytes", "-1"},
                   {"segment.bytes", std::to_string(_config.offsets_segment_bytes)}};
      auto made = _metadata.create_topic(t);
      if (auto* bad = std::get_if<cluster::op_error>(&made)) {
        if (bad->code != cluster::errc::topic_already_exists) {
          spdlog::error("cannot create {}: {}", offsets_topic, bad->message);
          return not_available();
        }
      }
    }
    if (auto r = _partition_manager.reconcile(*_metadata.topics()); !r) return r;
  }
  return load();
}

result<void> group_coordinator::load_partition(std::int32_t index) {
  offsets_partition& p = *_partitions[static_cast<std::size_t>(index)];
  std::lock_guard lock(p.mutex);
  p.log = _partition_manager.get(offsets_topic, index);
  if (!p.log) return not_available();
  const storage::log& log = *p.log->log;
  auto replayed = storage::for_each_batch(
      log, log.log_start_offset(), [&](std::span<const std::byte> one) -> result<void> {
        const batch::header_view h(one);
        if (h.is_control() || h.compression() != 0) return ok();  // we never write either
        batch::record_reader records(one);
        for (;;) {
          auto next = records.next();
          if (!next) return next.error();
          if (!*next) return ok();
          const auto& rec = **next;
          ++p.records;
          if (!rec.key) continue;
          auto key = decode_key(*rec.key);
          if (!key) {
            spdlog::warn("{}-{}: skipping a record with a malformed key", offsets_topic, index);
            continue;
          }
          if (const auto* ok_key = std::get_if<offset_key>(&*key)) {
            const topic_partition tp{ok_key->topic, ok_key->partition};
            if (!rec.value) {
              auto g = p.offsets.find(ok_key->group);
              if (g != p.offsets.end()) {
                g->second.erase(tp);
                if (g->second.empty()) p.offsets.erase(g);
              }
              continue;
            }
            auto value = decode_offset_value(*rec.value);
            if (!value) continue;
            p.offsets[ok_key->group][tp] = *value;
          } else {
            const auto& gk = std::get<group_key>(*key);
            if (!rec.value) {
              p.groups.erase(gk.group);
            } else {
              p.groups[gk.group].assign(rec.value->begin(), rec.value->end());
            }
          }
        }
      });
  if (!replayed) return replayed.error();
  // Groups come back from their records; groups with offsets but no record (manual
  // commits) come back Empty.
  const std::int64_t now = now_ms();
  std::lock_guard groups_lock(_groups_mutex);
  for (const auto& [id, value] : p.groups) {
    auto d = decode_group_value(id, value);
    if (!d) {
      spdlog::warn("{}-{}: group {} has a malformed record", offsets_topic, index, id);
      continue;
    }
    auto s = std::make_shared<slot>();
    s->g = std::make_unique<group>(id, _config.limits, _rng.next(), now);
    s->g->restore(*d, now);
    _groups[id] = std::move(s);
  }
  for (const auto& [id, offsets] : p.offsets) {
    if (_groups.contains(id)) continue;
    auto s = std::make_shared<slot>();
    s->g = std::make_unique<group>(id, _config.limits, _rng.next(), now);
    _groups[id] = std::move(s);
  }
  return {};
}

// ------------------------------------------------------------------------ plumbing

std::shared_ptr<group_coordinator::slot> group_coordinator::find_slot(const std::string& group_id,
                                                                      bool create) {
  std::lock_guard lock(_groups_mutex);
  if (auto it = _groups.find(group_id); it != _groups.end()) return it->second;
  if (!create) return nullptr;
  auto s = std::make_shared<slot>();
  s->g = std::make_unique<group>(group_id, _config.limits, _rng.next(), now_ms());
  _groups.emplace(group_id, s);
  return s;
}

void group_coordinator::forget_slot(const std::string& group_id, const std::shared_ptr<slot>& s) {
  std::lock_guard lock(_groups_mutex);
  if (auto it = _groups.find(group_id); it != _groups.end() && it->second == s) _groups.erase(it);
}

group_coordinator::offsets_partition& group_coordinator::partition_of(const std::string& group_id) {
  CAUDAL_ASSERT(ready(), "group coordinator used before it is ready");
  return *_partitions[static_cast<std::size_t>(partition_for(group_id))];
}

result<kafka_offset> group_coordinator::append(offsets_partition& p,
                                               const std::vector<record>& records) {
  CAUDAL_ASSERT(!records.empty(), "empty append to {}", offsets_topic);
  if (!p.log) return not_available();
  batch::builder b;
  const std::int64_t now = now_ms();
  for (const auto& r : records) {
    if (r.value) {
      b.add(std::span<const std::byte>(r.key), std::span<const std::byte>(*r.value), now);
    } else {
      b.add(std::span<const std::byte>(r.key), std::nullopt, now);
    }
  }
  auto bytes = b.finish();
  auto appended = p.log->log->append(bytes);
  if (!appended) return appended.error();
  p.records += static_cast<std::int64_t>(records.size());
  return appended->last_offset;
}

void group_coordinator::store_group(const group& g) {
  offsets_partition& p = partition_of(g.id());
  std::lock_guard lock(p.mutex);
  record r;
  r.key = encode_key(group_key{g.id()});
  if (g.state() != group_state::dead) r.value = encode_value(g.describe());
  if (auto a = append(p, {r}); !a) {
    spdlog::warn("cannot store group {}: {}", g.id(), a.error().message());
    return;
  }
  if (r.value) {
    p.groups[g.id()] = *r.value;
  } else {
    p.groups.erase(g.id());
  }
}

std::vector<std::function<void()>> group_coordinator::settle(group& g) {
  if (g.take_store_request()) store_group(g);
  return g.take_completions();
}

namespace {
void run_all(std::vector<std::function<void()>>& callbacks) {
  for (auto& c : callbacks)
    c();
}
}  // namespace

// ------------------------------------------------------------------------ membership

void group_coordinator::join(const std::string& group_id, join_request r, join_callback done) {
  auto fail = [&](error e) {
    join_result out;
    out.err = e;
    out.member_id = r.member_id;
    done(out);
  };
  if (!ready()) return fail(error::coordinator_not_available);
  if (group_id.empty()) return fail(error::invalid_group_id);
  // A known member id for a group that does not exist: the group expired or was deleted.
  auto s = find_slot(group_id, r.member_id.empty());
  if (!s) return fail(error::unknown_member_id);
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(s->mutex);
    s->g->join(std::move(r), now_ms(), std::move(done));
    callbacks = settle(*s->g);
  }
  run_all(callbacks);
}

void group_coordinator::sync(const std::string& group_id, sync_request r, sync_callback done) {
  auto fail = [&](error e) {
    sync_result out;
    out.err = e;
    done(out);
  };
  if (!ready()) return fail(error::coordinator_not_available);
  if (group_id.empty()) return fail(error::invalid_group_id);
  auto s = find_slot(group_id, false);
  if (!s) return fail(error::unknown_member_id);
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(s->mutex);
    s->g->sync(std::move(r), now_ms(), std::move(done));
    callbacks = settle(*s->g);
  }
  run_all(callbacks);
}

error group_coordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                   const std::optional<std::string>& instance_id,
                                   std::int32_t generation) {
  if (!ready()) return error::coordinator_not_available;
  if (group_id.empty()) return error::invalid_group_id;
  auto s = find_slot(group_id, false);
  if (!s) return error::unknown_member_id;
  std::lock_guard lock(s->mutex);
  const error e = s->g->heartbeat(member_id, instance_id, generation, now_ms());
  CAUDAL_ASSERT(s->g->take_completions().empty(), "a heartbeat completed callbacks");
  return e;
}

std::pair<error, std::vector<error>> group_coordinator::leave(
    const std::string& group_id, const std::vector<member_identity>& members) {
  if (!ready()) return {error::coordinator_not_available, {}};
  if (group_id.empty()) return {error::invalid_group_id, {}};
  auto s = find_slot(group_id, false);
  if (!s) return {error::none, std::vector<error>(members.size(), error::unknown_member_id)};
  std::vector<error> out;
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(s->mutex);
    out = s->g->leave(members, now_ms());
    callbacks = settle(*s->g);
  }
  run_all(callbacks);
  return {error::none, std::move(out)};
}

// ------------------------------------------------------------------------ offsets

void group_coordinator::commit(const std::string& group_id, const std::string& member_id,
                               const std::optional<std::string>& instance_id,
                               std::int32_t generation, std::vector<offset_commit> offsets,
                               commit_callback done) {
  if (!ready()) return done(error::coordinator_not_available);
  if (group_id.empty()) return done(error::invalid_group_id);
  auto s = find_slot(group_id, generation < 0);
  // A generation for a group that does not exist: a commit from an old generation.
  if (!s) return done(error::illegal_generation);
  error failed = error::none;
  {
    std::lock_guard lock(s->mutex);
    failed = s->g->validate_commit(member_id, instance_id, generation, now_ms());
    if (failed == error::none && !offsets.empty()) {
      failed = append_offsets(group_id, offsets, done);
    }
  }
  if (failed != error::none || offsets.empty()) done(failed);
}

void group_coordinator::commit_transactional(const std::string& group_id,
                                             std::vector<offset_commit> offsets,
                                             commit_callback done) {
  if (!ready()) return done(error::coordinator_not_available);
  if (group_id.empty() || offsets.empty()) return done(error::none);
  auto s = find_slot(group_id, true);
  error failed = error::none;
  {
    std::lock_guard lock(s->mutex);
    failed = append_offsets(group_id, offsets, done);
  }
  if (failed != error::none) done(failed);
}

error group_coordinator::append_offsets(const std::string& group_id,
                                        std::vector<offset_commit>& offsets,
                                        commit_callback& done) {
  {
    offsets_partition& p = partition_of(group_id);
    std::lock_guard plock(p.mutex);
    std::vector<record> records;
    records.reserve(offsets.size());
    for (const auto& o : offsets) {
      records.push_back(
          {encode_key(offset_key{group_id, o.tp.topic, o.tp.partition}), encode_value(o.value)});
    }
    auto appended = append(p, records);
    if (!appended) {
      spdlog::warn("offset commit of group {}: {}", group_id, appended.error().message());
      return error::kafka_storage_error;
    }
    auto& live = p.offsets[group_id];
    for (auto& o : offsets)
      live[o.tp] = o.value;
    p.log->log->when_durable(*appended, [done = std::move(done)](std::error_code ec) {
      done(ec ? error::kafka_storage_error : error::none);
    });
  }
  return error::none;
}

std::pair<error, std::vector<std::pair<topic_partition, committed_offset>>>
group_coordinator::fetch_offsets(const std::string& group_id,
                                 const std::optional<std::vector<topic_partition>>& which) {
  std::vector<std::pair<topic_partition, committed_offset>> out;
  if (!ready()) return {error::coordinator_not_available, out};
  if (group_id.empty()) return {error::invalid_group_id, out};
  offsets_partition& p = partition_of(group_id);
  std::lock_guard lock(p.mutex);
  const auto g = p.offsets.find(group_id);
  if (!which) {
    if (g != p.offsets.end()) {
      for (const auto& [tp, v] : g->second)
        out.emplace_back(tp, v);
    }
    return {error::none, out};
  }
  for (const auto& tp : *which) {
    committed_offset v;
    if (g != p.offsets.end()) {
      if (auto it = g->second.find(tp); it != g->second.end()) v = it->second;
    }
    out.emplace_back(tp, v);
  }
  return {error::none, out};
}

std::vector<group_listing> group_coordinator::list_groups() {
  std::vector<std::shared_ptr<slot>> slots;
  {
    std::lock_guard lock(_groups_mutex);
    for (const auto& [id, s] : _groups)
      slots.push_back(s);
  }
  std::vector<group_listing> out;
  for (const auto& s : slots) {
    std::lock_guard lock(s->mutex);
    if (s->g->state() == group_state::dead) continue;
    out.push_back({s->g->id(), s->g->protocol_type().value_or(""), s->g->state()});
  }
  return out;
}

std::optional<group_description> group_coordinator::describe(const std::string& group_id) {
  if (!ready()) return std::nullopt;
  auto s = find_slot(group_id, false);
  if (!s) return std::nullopt;
  std::lock_guard lock(s->mutex);
  if (s->g->state() == group_state::dead) return std::nullopt;
  return s->g->describe();
}

error group_coordinator::delete_group(const std::string& group_id) {
  if (!ready()) return error::coordinator_not_available;
  if (group_id.empty()) return error::invalid_group_id;
  auto s = find_slot(group_id, false);
  if (!s) return error::group_id_not_found;
  {
    std::lock_guard lock(s->mutex);
    if (s->g->state() == group_state::dead) return error::group_id_not_found;
    if (s->g->state() != group_state::empty) return error::non_empty_group;
    offsets_partition& p = partition_of(group_id);
    std::lock_guard plock(p.mutex);
    std::vector<record> tombstones;
    if (auto g = p.offsets.find(group_id); g != p.offsets.end()) {
      for (const auto& [tp, v] : g->second) {
        tombstones.push_back({encode_key(offset_key{group_id, tp.topic, tp.partition}), {}});
      }
    }
    tombstones.push_back({encode_key(group_key{group_id}), {}});
    for (std::size_t at = 0; at < tombstones.size(); at += batch_records_max) {
      const std::size_t n = std::min(batch_records_max, tombstones.size() - at);
      std::vector<record> chunk(tombstones.begin() + static_cast<std::ptrdiff_t>(at),
                                tombstones.begin() + static_cast<std::ptrdiff_t>(at + n));
      auto appended = append(p, chunk);
      if (!appended) return error::kafka_storage_error;
      if (auto d = p.log->log->wait_durable(*appended); !d) return error::kafka_storage_error;
    }
    p.offsets.erase(group_id);
    p.groups.erase(group_id);
    s->g->mark_dead(now_ms());
  }
  forget_slot(group_id, s);
  return error::none;
}

error group_coordinator::delete_offsets(const std::string& group_id,
                                        const std::vector<topic_partition>& partitions) {
  if (!ready()) return error::coordinator_not_available;
  if (group_id.empty()) return error::invalid_group_id;
  auto s = find_slot(group_id, false);
  if (!s) return error::group_id_not_found;
  std::lock_guard lock(s->mutex);
  if (s->g->state() == group_state::dead) return error::group_id_not_found;
  offsets_partition& p = partition_of(group_id);
  std::lock_guard plock(p.mutex);
  auto g = p.offsets.find(group_id);
  if (g == p.offsets.end()) return error::none;
  std::vector<record> tombstones;
  for (const auto& tp : partitions) {
    if (g->second.contains(tp)) {
      tombstones.push_back({encode_key(offset_key{group_id, tp.topic, tp.partition}), {}});
    }
  }
  if (tombstones.empty()) return error::none;
  auto appended = append(p, tombstones);
  if (!appended) return error::kafka_storage_error;
  for (const auto& tp : partitions)
    g->second.erase(tp);
  if (g->second.empty()) p.offsets.erase(g);
  if (auto d = p.log->log->wait_durable(*appended); !d) return error::kafka_storage_error;
  return error::none;
}

std::vector<partition_lag> group_coordinator::lag(const std::string& group_id) {
  auto [e, offsets] = fetch_offsets(group_id, std::nullopt);
  std::vector<partition_lag> out;
  if (e != error::none) return out;
  for (const auto& [tp, v] : offsets) {
    partition_lag l;
    l.tp = tp;
    l.committed = v.offset;
    if (auto part = _partition_manager.get(tp.topic, tp.partition)) {
      l.high_watermark = part->high_watermark()();
      if (v.offset >= 0) l.lag = std::max<std::int64_t>(l.high_watermark - v.offset, 0);
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::int64_t group_coordinator::partition_records(std::int32_t index) {
  if (!ready()) return 0;
  offsets_partition& p = *_partitions[static_cast<std::size_t>(index)];
  std::lock_guard lock(p.mutex);
  return p.records;
}

// ------------------------------------------------------------------------ timers

void group_coordinator::tick() {
  if (!ready()) return;
  const std::int64_t now = now_ms();
  std::vector<std::shared_ptr<slot>> slots;
  {
    std::lock_guard lock(_groups_mutex);
    for (const auto& [id, s] : _groups)
      slots.push_back(s);
  }
  for (const auto& s : slots) {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(s->mutex);
      s->g->tick(now);
      callbacks = settle(*s->g);
    }
    run_all(callbacks);
  }
  if (now - _last_retention_ms >= _config.offsets_retention_check_interval_ms) {
    _last_retention_ms = now;
    expire_offsets(now);
  }
  for (auto& p : _partitions)
    maybe_snapshot(*p);
}

void group_coordinator::expire_offsets(std::int64_t now) {
  std::vector<std::pair<std::string, std::shared_ptr<slot>>> slots;
  {
    std::lock_guard lock(_groups_mutex);
    for (const auto& [id, s] : _groups)
      slots.emplace_back(id, s);
  }
  for (const auto& [id, s] : slots) {
    bool dead = false;
    {
      std::lock_guard lock(s->mutex);
      group& g = *s->g;
      if (g.state() != group_state::empty) continue;
      offsets_partition& p = partition_of(id);
      std::lock_guard plock(p.mutex);
      std::vector<record> tombstones;
      auto live = p.offsets.find(id);
      if (live != p.offsets.end()) {
        // A group that used the protocol expires all its offsets once it has been empty
        // for the retention; a standalone one expires each offset by its commit time
        // (Kafka 2.1+, KIP-211).
        const bool group_expired =
            g.protocol_type() && g.state_timestamp_ms() + _config.offsets_retention_ms < now;
        for (auto it = live->second.begin(); it != live->second.end();) {
          const bool expired =
              group_expired ||
              (!g.protocol_type() &&
               it->second.commit_timestamp_ms + _config.offsets_retention_ms < now);
          if (expired) {
            tombstones.push_back(
                {encode_key(offset_key{id, it->first.topic, it->first.partition}), {}});
            it = live->second.erase(it);
          } else {
            ++it;
          }
        }
        if (live->second.empty()) p.offsets.erase(live);
      }
      if (!p.offsets.contains(id)) {
        // Empty with no offsets: the group is gone (Kafka's cleanupGroupMetadata).
        tombstones.push_back({encode_key(group_key{id}), {}});
        p.groups.erase(id);
        g.mark_dead(now);
        dead = true;
      }
      for (std::size_t at = 0; at < tombstones.size(); at += batch_records_max) {
        const std::size_t n = std::min(batch_records_max, tombstones.size() - at);
        std::vector<record> chunk(tombstones.begin() + static_cast<std::ptrdiff_t>(at),
                                  tombstones.begin() + static_cast<std::ptrdiff_t>(at + n));
        if (auto a = append(p, chunk); !a) {
          spdlog::warn("expiring offsets of group {}: {}", id, a.error().message());
        }
      }
    }
    if (dead) forget_slot(id, s);
  }
}

void group_coordinator::maybe_snapshot(offsets_partition& p) {
  std::lock_guard lock(p.mutex);
  if (!p.log) return;
  std::int64_t live = static_cast<std::int64_t>(p.groups.size());
  for (const auto& [id, offsets] : p.offsets)
    live += static_cast<std::int64_t>(offsets.size());
  if (p.records <= std::max(_config.snapshot_records_min, 2 * live)) return;
  storage::log& log = *p.log->log;
  // Roll first, so truncating below the snapshot can drop whole old segments.
  if (auto r = log.roll(); !r) {
    spdlog::warn("snapshot of {}-{}: {}", offsets_topic, p.log->index, r.error().message());
    return;
  }
  const kafka_offset start = log.log_end_offset();
  std::vector<record> all;
  for (const auto& [id, offsets] : p.offsets) {
    for (const auto& [tp, v] : offsets) {
      all.push_back({encode_key(offset_key{id, tp.topic, tp.partition}), encode_value(v)});
    }
  }
  for (const auto& [id, value] : p.groups)
    all.push_back({encode_key(group_key{id}), value});
  const std::int64_t before = p.records;
  for (std::size_t at = 0; at < all.size(); at += batch_records_max) {
    const std::size_t n = std::min(batch_records_max, all.size() - at);
    std::vector<record> chunk(all.begin() + static_cast<std::ptrdiff_t>(at),
                              all.begin() + static_cast<std::ptrdiff_t>(at + n));
    if (auto a = append(p, chunk); !a) {
      spdlog::warn("snapshot of {}-{}: {}", offsets_topic, p.log->index, a.error().message());
      return;  // the old records are still there: nothing is lost
    }
  }
  // The snapshot must be durable before the records it replaces go.
  const kafka_offset end = log.log_end_offset();
  if (end > start) {
    if (auto d = log.wait_durable(end - 1); !d) {
      spdlog::warn("snapshot of {}-{}: {}", offsets_topic, p.log->index, d.error().message());
      return;
    }
  }
  if (auto t = log.truncate_prefix(start); !t) {
    spdlog::warn("snapshot of {}-{}: {}", offsets_topic, p.log->index, t.error().message());
    return;
  }
  p.records = static_cast<std::int64_t>(all.size());
  spdlog::info("snapshot of {}-{}: {} records replaced by {}", offsets_topic, p.log->index, before,
               p.records);
}

void group_coordinator::start(std::int64_t tick_ms) {
  _last_retention_ms = now_ms();
  _timer.start(tick_ms, [this] { tick(); });
}

void group_coordinator::stop() {
  _timer.stop();
}

}  // namespace caudal::group
