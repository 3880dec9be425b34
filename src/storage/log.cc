#include "storage/log.h"

#include "base/logging.h"
#include "base/metrics.h"
#include "base/record_batch.h"
#include "base/record_reader.h"
#include "storage/errc.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <limits>
#include <string>

namespace caudal::storage {
namespace {

// The fsync latency of every log (one series: per-partition ones would cost a lookup
// per flush and say little more).
metrics::histogram& fsync_seconds() {
  static metrics::histogram& h = metrics::global().get_histogram(
      "caudal_storage_fsync_seconds", "Time to fsync one segment file of a partition log.");
  return h;
}

}  // namespace

result<std::vector<std::byte>> read_bytes(const read_result& r) {
  std::vector<std::byte> out(r.range.size);
  auto n = r.seg->data_file().read_at(r.range.position, out);
  if (!n) return n.error();
  if (*n != out.size()) return errc::corrupt;
  return out;
}

result<void> for_each_batch(const log& l, kafka_offset from,
                            const std::function<result<void>(std::span<const std::byte>)>& visit) {
  constexpr std::uint64_t chunk_bytes = 1 << 20;
  const kafka_offset end = l.log_end_offset();
  while (from < end) {
    auto r = l.read(from, chunk_bytes);
    if (!r) return r.error();
    if (r->empty()) break;
    auto bytes = read_bytes(*r);
    if (!bytes) return bytes.error();
    std::span<const std::byte> rest(*bytes);
    while (!rest.empty()) {
      auto size = batch::validate_prefix(rest, rest.size(), batch::count_check::stored);
      if (!size) return size.error();
      CAUDAL_TRY(visit(rest.first(*size)));
      rest = rest.subspan(*size);
    }
    from = r->range.next_offset;
  }
  return ok();
}

log::log(std::filesystem::path dir, const log_config& config, clock& clk, flush_executor& flusher)
    : _dir(std::move(dir)), _clock(clk), _flusher(flusher), _config(config) {}

log::~log() {
  if (!_closed.load()) ignore_error(close(), "destructor: errors were logged by close()");
}

result<std::unique_ptr<log>> log::open(const std::filesystem::path& dir, const log_config& config,
                                       clock& clk, flush_executor& flusher) {
  CAUDAL_ASSERT(config.segment_bytes > 0 && config.segment_bytes <= segment_bytes_max,
                "segment.bytes {} outside (0, {}]", config.segment_bytes, segment_bytes_max);
  std::unique_ptr<log> l(new log(dir, config, clk, flusher));
  if (auto r = l->recover(); !r) {
    // Half-recovered: the destructor must not close() it (no segments, and a checkpoint
    // written now would describe a log that was never loaded).
    l->_closed.store(true);
    return r.error();
  }
  return l;
}

result<void> log::recover() {
  std::error_code ec;
  std::filesystem::create_directories(_dir, ec);
  if (ec) return ec;

  std::vector<kafka_offset> bases;
  for (const auto& entry : std::filesystem::directory_iterator(_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      std::filesystem::remove(entry.path(), ec);  // an interrupted atomic write
      continue;
    }
    if (auto base = parse_segment_file_name(name, ".log")) bases.push_back(*base);
  }
  if (ec) return ec;
  std::sort(bases.begin(), bases.end());

  checkpoint cp;
  if (auto read = read_checkpoint(_dir)) {
    cp = *read;
  } else if (read.error() != std::errc::no_such_file_or_directory) {
    spdlog::warn("log {}: {}; recovering every segment", _dir.string(), read.error().message());
  }

  const std::int64_t now = _clock.wall_ms();
  const log_config cfg = config();
  std::vector<std::shared_ptr<segment>> segments;
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    const bool trusted = last ? cp.recovery_point > bases[i] : bases[i + 1] <= cp.recovery_point;
    auto opened = segment::open(
        _dir, bases[i], trusted ? segment::open_mode::trust_indexes : segment::open_mode::scan,
        cfg.index_interval_bytes, now);
    if (!opened) return opened.error();
    segments.push_back(opened->seg);
    const bool overlaps = !last && opened->seg->next_offset() > bases[i + 1];
    if (opened->truncated || overlaps) {
      if (!last) {
        // Data after a hole cannot be trusted to follow on: drop the later segments.
        spdlog::warn("log {}: segment {} was cut short; deleting {} later segment(s)",
                     _dir.string(), bases[i], bases.size() - i - 1);
        for (std::size_t j = i + 1; j < bases.size(); ++j) {
          for (const char* ext : {".log", ".index", ".timeindex"}) {
            std::filesystem::remove(_dir / segment_file_name(bases[j], ext), ec);
          }
        }
      } else {
        spdlog::warn("log {}: truncated a torn or corrupt tail at offset {}", _dir.string(),
                     opened->seg->next_offset());
      }
      if (!last) break;
    }
  }
  // Remove index files whose segment is gone.
  for (const auto& entry : std::filesystem::directory_iterator(_dir, ec)) {
    const auto path = entry.path();
    if (path.extension() != ".index" && path.extension() != ".timeindex") continue;
    auto data = path;
    data.replace_extension(".log");
    if (!std::filesystem::exists(data)) std::filesystem::remove(path, ec);
  }

  if (segments.empty()) {
    auto seg = segment::create(_dir, cp.log_start, now);
    if (!seg) return seg.error();
    segments.push_back(*seg);
  }
  // Everything found is made durable now: a scanned tail may exist only in the page
  // cache of a process that crashed, and acknowledging it later would be a lie otherwise.
  for (auto& seg : segments) {
    if (seg->synced_bytes() < seg->visible_bytes()) CAUDAL_TRY(seg->sync());
  }
  CAUDAL_TRY(sync_directory(_dir));

  const kafka_offset end = segments.back()->next_offset();
  const kafka_offset start = std::min(std::max(cp.log_start, segments.front()->base_offset()), end);
  {
    std::unique_lock lock(_segments_mutex);
    _segments = std::move(segments);
  }
  _log_start.store(start(), std::memory_order_release);
  _log_end.store(end(), std::memory_order_release);
  _durable_end.store(end(), std::memory_order_release);
  {
    std::lock_guard lock(_flush_mutex);
    _last_flush_ms = now;
  }
  {
    std::lock_guard writer(_writer_mutex);
    CAUDAL_TRY(load_producer_state_locked());
  }
  // From here on the active segment may change, so the next open must scan it.
  std::lock_guard lock(_checkpoint_mutex);
  return write_checkpoint_locked(active()->base_offset(), start);
}

result<void> log::write_checkpoint_locked(kafka_offset recovery_point, kafka_offset log_start) {
  CAUDAL_TRY(write_checkpoint(_dir, checkpoint{recovery_point, log_start}));
  _recovery_point = recovery_point;
  return ok();
}

std::shared_ptr<segment> log::active() const {
  std::shared_lock lock(_segments_mutex);
  return _segments.back();
}

std::vector<std::shared_ptr<segment>> log::snapshot() const {
  std::shared_lock lock(_segments_mutex);
  return _segments;
}

std::shared_ptr<segment> log::segment_for(kafka_offset offset) const {
  std::shared_lock lock(_segments_mutex);
  auto it = std::upper_bound(
      _segments.begin(), _segments.end(), offset,
      [](kafka_offset o, const std::shared_ptr<segment>& s) { return o < s->base_offset(); });
  if (it == _segments.begin()) return _segments.front();
  return *std::prev(it);
}

void log::set_config(const log_config& config) {
  CAUDAL_ASSERT(config.segment_bytes > 0 && config.segment_bytes <= segment_bytes_max,
                "segment.bytes {} outside (0, {}]", config.segment_bytes, segment_bytes_max);
  std::lock_guard writer(_writer_mutex);
  std::lock_guard lock(_config_mutex);
  _config = config;
}

log_config log::config() const {
  std::lock_guard lock(_config_mutex);
  return _config;
}

void log::fail(std::error_code ec) {
  std::vector<waiter> failed;
  {
    std::lock_guard lock(_flush_mutex);
    if (!_failed.load()) {
      _failure = ec;
      _failed.store(true, std::memory_order_release);
      spdlog::error("log {} failed: {}; it refuses further writes", _dir.string(), ec.message());
    }
    failed.swap(_waiters);
  }
  for (auto& w : failed)
    w.done(ec);
}

result<append_result> log::append(std::span<std::byte> batch, batch_check check) {
  std::lock_guard writer(_writer_mutex);
  if (_closed.load(std::memory_order_acquire)) return errc::closed;
  if (_failed.load(std::memory_order_acquire)) return errc::log_failed;
  const log_config cfg = config();
  if (batch.size() > static_cast<std::size_t>(cfg.max_message_bytes)) return errc::batch_too_large;
  if (check == batch_check::full) {
    CAUDAL_TRY(batch::validate(batch, static_cast<std::size_t>(cfg.max_message_bytes),
                               batch::count_check::fresh));
  } else {
    // Still never write bytes that are not one whole batch.
    if (batch.size() < batch::header_bytes) return batch::errc::truncated;
    const batch::header_view h(batch);
    if (h.size_bytes() != batch.size()) return batch::errc::trailing_bytes;
    if (h.magic() != batch::magic_v2) return batch::errc::bad_magic;
  }
  const batch::header_view h(batch);
  auto earlier = _producers.check(h);
  if (!earlier) return earlier.error();
  if (*earlier) {
    const producer_batch& b = **earlier;
    return append_result{b.base_offset, b.last_offset, b.max_timestamp, true};
  }
  const kafka_offset base = log_end_offset();
  const kafka_offset last = base + h.last_offset_delta();

  auto seg = active();
  const bool full =
      seg->visible_bytes() + batch.size() > static_cast<std::uint64_t>(cfg.segment_bytes);
  const bool old = _clock.wall_ms() - seg->created_ms() >= cfg.segment_ms;
  const bool offsets_overflow =
      last - seg->base_offset() > std::numeric_limits<std::int32_t>::max();
  if (!seg->empty() && (full || old || offsets_overflow)) {
    if (auto r = roll_locked(); !r) {
      fail(r.error());
      return r.error();
    }
    seg = active();
  }
  batch::set_base_offset(batch, base);
  if (auto r = seg->append(batch, base, last, h.max_timestamp(), cfg.index_interval_bytes); !r) {
    fail(r.error());
    return r.error();
  }
  _log_end.store((last + 1)(), std::memory_order_release);
  update_producers_locked(batch, base, last);
  if (cfg.flush == flush_policy::interval) {
    std::lock_guard lock(_flush_mutex);
    _unflushed_appends += h.records_count();
    if (_unflushed_appends >= cfg.flush_messages) request_flush_locked();
  }
  return append_result{base, last, h.max_timestamp()};
}

result<void> log::roll() {
  std::lock_guard writer(_writer_mutex);
  if (_closed.load()) return errc::closed;
  return roll_locked();
}

result<void> log::roll_locked() {
  auto current = active();
  if (current->empty()) return ok();
  // The rolled segment's indexes go to disk now; its data is synced by the flusher, which
  // then moves the recovery point past it.
  CAUDAL_TRY(current->write_indexes());
  auto next = segment::create(_dir, log_end_offset(), _clock.wall_ms());
  if (!next) return next.error();
  CAUDAL_TRY(sync_directory(_dir));
  {
    std::unique_lock lock(_segments_mutex);
    _segments.push_back(*next);
  }
  // A snapshot per segment bounds what the next open replays to one segment.
  return snapshot_producers_locked();
}

result<void> log::snapshot_producers_locked() {
  _producers.prune_aborted(log_start_offset());
  publish_transactions_locked();
  CAUDAL_TRY(write_producer_snapshot(_dir, log_end_offset(), _producers));
  auto offsets = list_producer_snapshots(_dir);
  if (!offsets) return offsets.error();
  // Older snapshots serve when a crash loses the batches below a newer one (a rolled
  // segment is synced after its snapshot is written).
  constexpr std::size_t kept = 3;
  for (std::size_t i = 0; i + kept < offsets->size(); ++i) {
    remove_producer_snapshot(_dir, (*offsets)[i]);
  }
  return ok();
}

result<void> log::load_producer_state_locked() {
  _producers.clear();
  const kafka_offset end = log_end_offset();
  auto offsets = list_producer_snapshots(_dir);
  if (!offsets) return offsets.error();
  kafka_offset from = log_start_offset();
  for (auto it = offsets->rbegin(); it != offsets->rend(); ++it) {
    if (*it > end) {
      remove_producer_snapshot(_dir, *it);  // it describes batches the log no longer has
      continue;
    }
    auto loaded = read_producer_snapshot(_dir, *it);
    if (!loaded) {
      spdlog::warn("log {}: producer snapshot {}: {}; trying an older one", _dir.string(), *it,
                   loaded.error().message());
      remove_producer_snapshot(_dir, *it);
      continue;
    }
    _producers = std::move(*loaded);
    from = std::max(*it, log_start_offset());
    break;
  }
  // Replay the batches after the snapshot.
  CAUDAL_TRY(for_each_batch(*this, from, [this](std::span<const std::byte> b) -> result<void> {
    const batch::header_view h(b);
    update_producers_locked(b, h.base_offset(), h.last_offset());
    return ok();
  }));
  publish_transactions_locked();
  return ok();
}

void log::update_producers_locked(std::span<const std::byte> batch, kafka_offset base,
                                  kafka_offset last) {
  const batch::header_view h(batch);
  if (h.producer_id() < 0) return;
  const std::size_t aborted = _producers.aborted().size();
  _producers.update(h, base, last, h.is_control() ? batch::control_type(batch).value_or(-1) : -1);
  if (!h.is_transactional()) return;
  const auto unstable = _producers.first_unstable_offset();
  _first_unstable.store(unstable ? (*unstable)() : -1, std::memory_order_release);
  // Aborts are rare; only they copy the list readers see.
  if (aborted != _producers.aborted().size()) publish_transactions_locked();
}

void log::publish_transactions_locked() {
  const auto unstable = _producers.first_unstable_offset();
  _first_unstable.store(unstable ? (*unstable)() : -1, std::memory_order_release);
  auto view = std::make_shared<const std::vector<aborted_txn>>(_producers.aborted());
  std::lock_guard lock(_aborted_mutex);
  _aborted = std::move(view);
}

std::vector<aborted_txn> log::aborted_transactions(kafka_offset from, kafka_offset to) const {
  std::shared_ptr<const std::vector<aborted_txn>> all;
  {
    std::lock_guard lock(_aborted_mutex);
    all = _aborted;
  }
  std::vector<aborted_txn> out;
  if (!all) return out;
  // In marker order: skip those that ended before `from`.
  auto it =
      std::lower_bound(all->begin(), all->end(), from,
                       [](const aborted_txn& a, kafka_offset o) { return a.last_offset < o; });
  for (; it != all->end(); ++it) {
    if (it->first_offset < to) out.push_back(*it);
  }
  return out;
}

std::size_t log::expire_producers(std::int64_t expiration_ms) {
  std::lock_guard writer(_writer_mutex);
  return _producers.expire(_clock.wall_ms(), expiration_ms);
}

std::optional<producer_entry> log::producer(std::int64_t producer_id) const {
  std::lock_guard writer(_writer_mutex);
  const producer_entry* e = _producers.find(producer_id);
  return e ? std::optional(*e) : std::nullopt;
}

std::size_t log::producer_count() const {
  std::lock_guard writer(_writer_mutex);
  return _producers.size();
}

void log::request_flush_locked() {
  if (_flush_running) {
    _flush_again = true;
    return;
  }
  _flush_running = true;
  _flusher.submit([this] { run_flush(); });
}

void log::run_flush() {
  for (;;) {
    const std::uint64_t truncations = _truncations.load(std::memory_order_acquire);
    const kafka_offset target = log_end_offset();
    {
      std::lock_guard lock(_flush_mutex);
      _unflushed_appends = 0;
      _flush_again = false;
    }
    const auto segments = snapshot();
    std::error_code error;
    for (const auto& seg : segments) {
      if (seg->synced_bytes() >= seg->visible_bytes()) continue;
      const std::int64_t sync_start_ns = _clock.steady_ns();
      auto r = seg->sync();
      fsync_seconds().observe(static_cast<double>(_clock.steady_ns() - sync_start_ns) / 1e9);
      if (!r) {
        error = r.error();
        break;
      }
    }
    if (!error) {
      // Every segment before the active one is durable with its indexes: the next open
      // may trust them.
      std::lock_guard lock(_checkpoint_mutex);
      const kafka_offset active_base = segments.back()->base_offset();
      if (_recovery_point < active_base && !_closed.load()) {
        if (auto r = write_checkpoint_locked(active_base, log_start_offset()); !r)
          error = r.error();
      }
    }
    std::vector<waiter> ready;
    bool again = false;
    {
      std::lock_guard lock(_flush_mutex);
      if (error) {
        if (!_failed.load()) {
          _failure = error;
          _failed.store(true, std::memory_order_release);
          spdlog::error("log {}: fsync failed: {}", _dir.string(), error.message());
        }
        ready.swap(_waiters);
      } else {
        if (truncations == _truncations.load(std::memory_order_acquire) &&
            target() > _durable_end.load(std::memory_order_acquire)) {
          _durable_end.store(target(), std::memory_order_release);
        }
        const kafka_offset durable = durable_end_offset();
        // Stable: waiters complete in the order they were added, so one that is waited
        // on (wait_durable) runs after every callback registered before it.
        auto split =
            std::stable_partition(_waiters.begin(), _waiters.end(),
                                  [durable](const waiter& w) { return w.offset >= durable; });
        std::move(split, _waiters.end(), std::back_inserter(ready));
        _waiters.erase(split, _waiters.end());
        _last_flush_ms = _clock.wall_ms();
        again = _flush_again || (!_waiters.empty() && log_end_offset() > durable);
      }
      if (!again) {
        _flush_running = false;
        _flush_idle.notify_all();
      }
    }
    // `this` may be destroyed once _flush_running is false: only locals from here on.
    for (auto& w : ready)
      w.done(error);
    if (!again) return;
  }
}

void log::when_durable(kafka_offset offset, durable_callback done) {
  std::error_code error;
  {
    std::lock_guard lock(_flush_mutex);
    if (_failed.load(std::memory_order_acquire)) {
      error = _failure;
    } else if (offset < durable_end_offset()) {
      // Already durable.
    } else if (_closed.load(std::memory_order_acquire)) {
      error = errc::closed;
    } else {
      _waiters.push_back({offset, std::move(done)});
      request_flush_locked();
      return;
    }
  }
  done(error);
}

result<void> log::wait_durable(kafka_offset offset) {
  std::promise<std::error_code> promise;
  auto future = promise.get_future();
  when_durable(offset, [&promise](std::error_code ec) { promise.set_value(ec); });
  if (auto ec = future.get()) return ec;
  return ok();
}

result<void> log::flush() {
  const kafka_offset end = log_end_offset();
  if (end <= durable_end_offset()) return ok();
  return wait_durable(end - 1);
}

void log::tick() {
  const log_config cfg = config();
  const std::int64_t now = _clock.wall_ms();
  if (cfg.flush == flush_policy::interval) {
    std::lock_guard lock(_flush_mutex);
    if (_unflushed_appends > 0 && now - _last_flush_ms >= cfg.flush_ms && !_closed.load()) {
      request_flush_locked();
    }
  }
  auto seg = active();
  if (!seg->empty() && now - seg->created_ms() >= cfg.segment_ms) {
    std::lock_guard writer(_writer_mutex);
    if (_closed.load() || _failed.load()) return;
    if (active() == seg) {
      if (auto r = roll_locked(); !r) fail(r.error());
    }
  }
}

result<void> log::close() {
  {
    std::unique_lock lock(_flush_mutex);
    if (_closed.exchange(true)) return errc::closed;
    _flush_idle.wait(lock, [this] { return !_flush_running; });
  }
  std::lock_guard writer(_writer_mutex);
  const auto segments = snapshot();
  std::error_code error;
  if (_failed.load()) error = _failure;
  for (const auto& seg : segments) {
    if (error) break;
    if (auto r = seg->sync(); !r) error = r.error();
  }
  if (!error) {
    if (auto r = segments.back()->write_indexes(); !r) error = r.error();
  }
  if (!error) {
    if (auto r = snapshot_producers_locked(); !r) error = r.error();
  }
  if (!error) {
    // A clean close: everything is durable and indexed, so the next open scans nothing.
    std::lock_guard lock(_checkpoint_mutex);
    if (auto r = write_checkpoint_locked(log_end_offset(), log_start_offset()); !r) {
      error = r.error();
    }
  }
  std::vector<waiter> rest;
  {
    std::lock_guard lock(_flush_mutex);
    if (!error) _durable_end.store(log_end_offset()(), std::memory_order_release);
    rest.swap(_waiters);
  }
  for (auto& w : rest)
    w.done(error ? error : std::error_code{});
  if (error) return error;
  return ok();
}

result<read_result> log::read(kafka_offset offset, std::uint64_t bytes_max,
                              kafka_offset limit) const {
  const kafka_offset start = log_start_offset();
  const kafka_offset end = log_end_offset();
  if (offset < start || offset > end) return errc::offset_out_of_range;
  auto seg = segment_for(offset);
  for (;;) {
    auto range = seg->read(offset, bytes_max, limit);
    if (!range) return range.error();
    if (range->size > 0 || range->next_offset >= limit) return read_result{seg, *range};
    // Nothing at or after `offset` here (the end of the log, or a gap at a segment's
    // end): look in the next segment.
    std::shared_lock lock(_segments_mutex);
    auto it = std::find(_segments.begin(), _segments.end(), seg);
    if (it == _segments.end() || std::next(it) == _segments.end()) {
      return read_result{seg, *range};
    }
    seg = *std::next(it);
  }
}

result<std::optional<read_result>> log::find_timestamp(std::int64_t timestamp) const {
  const kafka_offset start = log_start_offset();
  for (const auto& seg : snapshot()) {
    if (seg->next_offset() <= start || seg->max_timestamp() < timestamp) continue;
    auto found = seg->find_timestamp(timestamp, start);
    if (!found) return found.error();
    if (*found) {
      const auto& loc = **found;
      return std::optional<read_result>(read_result{
          seg, file_range{loc.position, loc.size, loc.base_offset, loc.last_offset + 1}});
    }
  }
  return std::optional<read_result>{};
}

void log::remove_segments_locked(std::size_t from, std::size_t to) {
  if (from >= to) return;
  std::vector<std::shared_ptr<segment>> removed;
  {
    std::unique_lock lock(_segments_mutex);
    CAUDAL_ASSERT(to <= _segments.size() && to - from < _segments.size(),
                  "removing segments [{}, {}) of {} would leave none", from, to, _segments.size());
    const auto first = _segments.begin() + static_cast<std::ptrdiff_t>(from);
    const auto last = _segments.begin() + static_cast<std::ptrdiff_t>(to);
    removed.assign(first, last);
    _segments.erase(first, last);
  }
  for (const auto& seg : removed) {
    if (auto r = seg->remove_files(); !r) {
      spdlog::warn("log {}: cannot delete segment {}: {}", _dir.string(), seg->base_offset(),
                   r.error().message());
    }
  }
  ignore_error(sync_directory(_dir), "deleted segments come back at worst, below log start");
}

result<void> log::truncate_prefix(kafka_offset offset) {
  std::lock_guard writer(_writer_mutex);
  if (_closed.load()) return errc::closed;
  if (offset <= log_start_offset()) return ok();
  if (offset > log_end_offset()) return errc::offset_out_of_range;
  {
    // Durable before any segment goes, so a crash cannot bring back records below it.
    std::lock_guard lock(_checkpoint_mutex);
    CAUDAL_TRY(write_checkpoint_locked(_recovery_point, offset));
  }
  _log_start.store(offset(), std::memory_order_release);
  if (offset == log_end_offset()) CAUDAL_TRY(roll_locked());
  const auto segments = snapshot();
  std::size_t count = 0;
  while (count + 1 < segments.size() && segments[count + 1]->base_offset() <= offset)
    ++count;
  remove_segments_locked(0, count);
  return ok();
}

result<kafka_offset> log::truncate_suffix(kafka_offset offset) {
  std::lock_guard writer(_writer_mutex);
  if (_closed.load()) return errc::closed;
  const kafka_offset end = log_end_offset();
  if (offset >= end) return end;
  if (offset < log_start_offset()) return errc::offset_out_of_range;
  _truncations.fetch_add(1, std::memory_order_acq_rel);
  const auto segments = snapshot();
  std::size_t keep = 0;  // index of the last segment with base <= offset
  while (keep + 1 < segments.size() && segments[keep + 1]->base_offset() <= offset)
    ++keep;
  {
    // The kept segment changes, so the next open must scan it.
    std::lock_guard lock(_checkpoint_mutex);
    if (_recovery_point > segments[keep]->base_offset()) {
      CAUDAL_TRY(write_checkpoint_locked(segments[keep]->base_offset(), log_start_offset()));
    }
  }
  remove_segments_locked(keep + 1, segments.size());
  auto new_end = segments[keep]->truncate_to(offset);
  if (!new_end) {
    fail(new_end.error());
    return new_end.error();
  }
  _log_end.store((*new_end)(), std::memory_order_release);
  if (*new_end < log_start_offset()) {
    // The batch holding the log start went too. Nothing is left below the new end, so
    // the log start comes down to it (as Kafka's truncateFullyAndStartAt), durably, or
    // the next open would hide the offsets appended from here on.
    _log_start.store((*new_end)(), std::memory_order_release);
    std::lock_guard lock(_checkpoint_mutex);
    CAUDAL_TRY(write_checkpoint_locked(_recovery_point, *new_end));
  }
  std::vector<waiter> cut;
  {
    std::lock_guard lock(_flush_mutex);
    if (_durable_end.load() > (*new_end)()) _durable_end.store((*new_end)());
    auto split = std::partition(_waiters.begin(), _waiters.end(),
                                [&](const waiter& w) { return w.offset < *new_end; });
    std::move(split, _waiters.end(), std::back_inserter(cut));
    _waiters.erase(split, _waiters.end());
  }
  for (auto& w : cut)
    w.done(make_error_code(errc::offset_out_of_range));
  // The producers' last batches may be gone: rebuild their state from what is left.
  CAUDAL_TRY(load_producer_state_locked());
  return *new_end;
}

result<std::size_t> log::apply_retention() {
  std::lock_guard writer(_writer_mutex);
  if (_closed.load()) return errc::closed;
  const log_config cfg = config();
  const std::int64_t now = _clock.wall_ms();
  auto segments = snapshot();
  std::uint64_t total = 0;
  for (const auto& s : segments)
    total += s->visible_bytes();
  std::size_t remove = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto seg = segments[i];  // a copy: a roll below replaces `segments`
    const bool is_active = i + 1 == segments.size();
    const std::int64_t age_from =
        seg->max_timestamp() >= 0 ? seg->max_timestamp() : seg->created_ms();
    const bool expired =
        cfg.retention_ms >= 0 && !seg->empty() && now - age_from > cfg.retention_ms;
    const bool oversize =
        cfg.retention_bytes >= 0 && !is_active &&
        total - seg->visible_bytes() >= static_cast<std::uint64_t>(cfg.retention_bytes);
    if (!expired && !oversize) break;
    if (is_active) {
      CAUDAL_TRY(roll_locked());  // so the expired data can go, as Kafka does
      segments = snapshot();
    }
    total -= seg->visible_bytes();
    ++remove;
  }
  if (remove == 0) return std::size_t{0};
  const kafka_offset new_start = std::max(log_start_offset(), segments[remove]->base_offset());
  {
    std::lock_guard lock(_checkpoint_mutex);
    CAUDAL_TRY(write_checkpoint_locked(_recovery_point, new_start));
  }
  _log_start.store(new_start(), std::memory_order_release);
  remove_segments_locked(0, remove);
  return remove;
}

std::uint64_t log::size_bytes() const {
  std::uint64_t total = 0;
  for (const auto& s : snapshot())
    total += s->visible_bytes();
  return total;
}

std::size_t log::segment_count() const {
  std::shared_lock lock(_segments_mutex);
  return _segments.size();
}

std::vector<kafka_offset> log::segment_bases() const {
  std::vector<kafka_offset> out;
  for (const auto& s : snapshot())
    out.push_back(s->base_offset());
  return out;
}

}  // namespace caudal::storage
