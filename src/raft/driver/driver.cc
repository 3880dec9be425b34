#include "raft/driver/driver.h"

#include "base/assert.h"
#include "base/logging.h"
#include "base/random.h"
#include "raft/driver/errc.h"
#include "raft/driver/file_log.h"
#include "raft/driver/transport.h"
#include "storage/flush_pool.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

namespace caudal::raft {

namespace asio = boost::asio;

namespace {

// How far the tick schedule may fall behind before missed ticks are skipped.
constexpr int ticks_behind_max = 5;

/// The send and apply parts of one ready, held until the sync that covers its persist
/// part has returned (`sync_seq`).
struct held_output {
  std::uint64_t sync_seq = 0;
  std::vector<message> messages;
  std::vector<entry> committed;
  std::vector<read_state> reads;
  std::shared_ptr<const snapshot> installed;  // restore the state machine from it first
};

struct pending_proposal {
  term_id term;
  propose_callback done;
};

/// One group's core, log and the outputs waiting on its fsync. Loop thread only, except
/// `log->sync()` on the sync pool.
struct group_state {
  group_id id;
  std::unique_ptr<file_log> log;
  std::unique_ptr<random_source> random;
  std::unique_ptr<raft_core> core;
  state_machine* sm = nullptr;

  // Every ready that wrote something takes the next write sequence number; a sync job
  // covers everything written up to the number it was started with. Outputs are
  // released strictly in order, each once its sequence number is synced.
  std::uint64_t written_seq = 0;
  std::uint64_t synced_seq = 0;
  bool sync_running = false;
  std::optional<hard_state> unsynced_hard_state;
  std::deque<held_output> held;

  std::map<log_index, pending_proposal> proposals;  // by index; resolved when applied

  // Read index (thesis §6.4): requests the core is confirming with a heartbeat round, by
  // request id, then confirmed ones waiting for the state machine to reach their index.
  std::uint64_t next_read_id = 1;
  std::unordered_map<std::uint64_t, read_callback> reads_confirming;
  std::deque<std::pair<log_index, read_callback>> reads_confirmed;
  log_index applied{0};  // the last entry handed to the state machine
};

}  // namespace

class driver::impl {
 public:
  explicit impl(driver_config config)
      : _config(std::move(config)),
        _random(_config.seed != 0 ? _config.seed : entropy_seed()),
        _transport(
            _io, _config, [this](frame&& f) { on_frame(std::move(f)); }, _counters),
        _tick_timer(_io) {}
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { stop(); }

  result<void> add_group(group_id id, config core_config, state_machine& sm);
  result<void> start();
  void stop();
  void propose(group_id id, std::vector<std::byte> data, propose_callback done);
  void read_index(group_id id, read_callback done);
  void status(group_id id, status_callback done);
  driver_stats stats() const;

  std::uint16_t _port = 0;

 private:
  void run();
  void schedule_tick();
  void on_tick();
  void on_frame(frame&& f);
  group_state* find(group_id id);
  void assert_on_loop() const {
    CAUDAL_DASSERT(std::this_thread::get_id() == _loop_thread,
                   "raft driver state touched off its loop thread");
  }
  void pump(group_state& g);
  void drain_all(group_state& g);
  // Compacts the log when compact_entries applied entries follow the snapshot; true if
  // the core then has a ready to carry out.
  bool maybe_compact(group_state& g);
  void fail_proposals_through(group_state& g, log_index last, driver_errc why);
  void release(group_state& g);
  void maybe_sync(group_state& g);
  void on_synced(group_state& g, std::uint64_t seq, std::error_code ec);
  void apply(group_state& g, const entry& e);
  void serve_reads(group_state& g);
  // Fails the proposals waiting at `first` or later: their entries were cut off the log.
  void fail_proposals_from(group_state& g, log_index first);

  driver_config _config;
  random_source _random;  // seeds each group's own source, so groups stay independent
  asio::io_context _io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> _work;
  detail::transport_counters _counters;
  std::atomic<std::uint64_t> _syncs{0};
  std::atomic<std::uint64_t> _compactions{0};
  std::atomic<std::uint64_t> _installs{0};
  detail::transport _transport;
  asio::steady_timer _tick_timer;
  asio::steady_timer::time_point _next_tick;
  std::unordered_map<group_id, std::unique_ptr<group_state>> _groups;
  bool _started = false;
  bool _stopping = false;  // loop thread: set by the posted shutdown
  std::thread _thread;
  std::thread::id _loop_thread;  // written by run() before the loop runs anything
  // Declared last so it is destroyed first: its destructor runs the sync jobs still
  // queued, which use the groups' logs above.
  std::unique_ptr<storage::flush_pool> _sync_pool;
};

result<void> driver::impl::add_group(group_id id, config core_config, state_machine& sm) {
  CAUDAL_ASSERT(!_started, "add_group({}) after start()", id);
  CAUDAL_ASSERT(core_config.self == _config.self, "group {} is for node {}, the driver is {}", id,
                core_config.self, _config.self);
  CAUDAL_ASSERT(!_groups.contains(id), "group {} added twice", id);
  auto log = file_log::open(_config.data_dir / fmt::format("group-{}", id()));
  if (!log) return log.error();
  auto g = std::make_unique<group_state>();
  g->id = id;
  g->log = std::move(*log);
  g->random = std::make_unique<random_source>(_random.next());
  g->sm = &sm;
  if (auto snap = g->log->latest_snapshot()) {
    // The core starts with its applied index at the snapshot; the state machine too.
    sm.restore(snap->data);
    g->applied = snap->index;
  }
  CAUDAL_ASSERT(core_config.snapshot_bytes_max + (1U << 20) <= frame_bytes_max,
                "snapshots of {} bytes would not fit a frame", core_config.snapshot_bytes_max);
  g->core = std::make_unique<raft_core>(std::move(core_config), g->log->recovered_hard_state(),
                                        *g->log, *g->random);
  spdlog::info("raft: group {} opened: term {}, vote {}, last index {}, {} torn bytes cut", id,
               g->log->recovered_hard_state().term, g->log->recovered_hard_state().voted_for,
               g->log->last_index(), g->log->torn_bytes());
  _groups.emplace(id, std::move(g));
  return ok();
}

result<void> driver::impl::start() {
  CAUDAL_ASSERT(!_started, "driver started twice");
  CAUDAL_ASSERT(_config.tick_ms > 0, "tick_ms {} <= 0", _config.tick_ms);
  auto port = _transport.listen();
  if (!port) return port.error();
  _port = *port;
  _started = true;
  _sync_pool = std::make_unique<storage::flush_pool>(1);
  _work.emplace(_io.get_executor());
  _transport.start();
  asio::post(_io, [this] {
    // "Now" as Asio's timer clock reads it; base/clock.h has no steady time point.
    _tick_timer.expires_after(std::chrono::milliseconds(0));
    _next_tick = _tick_timer.expiry();
    schedule_tick();
  });
  _thread = std::thread([this] { run(); });
  return ok();
}

void driver::impl::run() {
  _loop_thread = std::this_thread::get_id();
  try {
    _io.run();
  } catch (const std::exception& e) {
    // Every error here is a value; an escaped exception is a bug.
    CAUDAL_ASSERT(false, "raft driver loop threw: {}", e.what());
  }
}

void driver::impl::stop() {
  if (!_started || !_thread.joinable()) return;
  asio::post(_io, [this] {
    _stopping = true;
    _tick_timer.cancel();
    _transport.close();
  });
  _work.reset();
  // Every coroutine ends once its socket or timer is closed, and then run() returns. A
  // sync job finishing meanwhile posts to the loop; after run() returns such a post is
  // simply never run.
  _thread.join();
  _sync_pool.reset();
}

void driver::impl::schedule_tick() {
  // Ticks keep to a fixed schedule (not "period after the last one ran"), so a slow
  // turn of the loop does not stretch every timeout. After a long stall (a stopped
  // process, an overloaded machine) the missed ticks are skipped rather than fired in a
  // burst, which would expire every election timeout before a single message is read.
  const auto period = std::chrono::milliseconds(_config.tick_ms);
  _next_tick += period;
  _tick_timer.expires_after(std::chrono::milliseconds(0));
  const auto now = _tick_timer.expiry();
  if (now - _next_tick > ticks_behind_max * period) _next_tick = now;
  _tick_timer.expires_at(_next_tick);
  _tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || _stopping) return;
    on_tick();
    schedule_tick();
  });
}

void driver::impl::on_tick() {
  for (auto& [id, g] : _groups) {
    g->core->tick();
    pump(*g);
  }
}

void driver::impl::on_frame(frame&& f) {
  if (_stopping) return;
  for (addressed_message& m : f.messages) {
    group_state* g = find(m.group);
    if (g == nullptr) continue;  // a group this node does not run (yet): Raft retries
    g->core->step(m.msg);
    pump(*g);
  }
}

group_state* driver::impl::find(group_id id) {
  auto it = _groups.find(id);
  return it == _groups.end() ? nullptr : it->second.get();
}

void driver::impl::pump(group_state& g) {
  assert_on_loop();
  do {
    drain_all(g);
    release(g);
    maybe_sync(g);
  } while (maybe_compact(g));
  if (g.core->role() != role::leader && !g.reads_confirming.empty()) {
    // A leader that steps down drops its pending read rounds; nothing else would ever
    // complete them.
    auto lost = std::exchange(g.reads_confirming, {});
    for (auto& [id, done] : lost)
      done(errc::not_leader);
  }
}

void driver::impl::drain_all(group_state& g) {
  while (g.core->has_ready()) {
    ready r = g.core->drain();
    // Snapshots first (ready's order): both are written and synced at once, on the loop.
    // They are rare, and a sync job writing them could race a later one's file changes.
    if (r.compacted) {
      if (auto c = g.log->compact(r.compacted); !c) {
        CAUDAL_ASSERT(false, "raft: group {}: writing a snapshot failed: {}", g.id,
                      c.error().message());
      }
      _compactions.fetch_add(1, std::memory_order_relaxed);
    }
    if (r.installed) {
      if (auto i = g.log->install(r.installed); !i) {
        CAUDAL_ASSERT(false, "raft: group {}: installing a snapshot failed: {}", g.id,
                      i.error().message());
      }
      _installs.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("raft: group {}: installed the leader's snapshot at {} (term {})", g.id,
                   r.installed->index, r.installed->term);
      fail_proposals_through(g, r.installed->index, driver_errc::outcome_unknown);
    }
    // Persist: written now, so the core sees its log in the store on its next call; made
    // durable by a sync job, which the outputs below wait for.
    const bool writes =
        r.term_and_vote || r.truncate_from || !r.entries.empty() || r.installed != nullptr;
    if (auto w = g.log->write(r.truncate_from, r.entries); !w) {
      // A failed write leaves the log in an unknown state; going on could acknowledge
      // what is not on disk. Crash and let recovery cut the tail.
      CAUDAL_ASSERT(false, "raft: group {}: log write failed: {}", g.id, w.error().message());
    }
    if (r.term_and_vote) g.unsynced_hard_state = r.term_and_vote;
    if (r.truncate_from) fail_proposals_from(g, *r.truncate_from);
    if (writes) ++g.written_seq;
    if (!r.messages.empty() || !r.committed.empty() || !r.reads.empty() || r.installed) {
      g.held.push_back(held_output{g.written_seq, std::move(r.messages), std::move(r.committed),
                                   std::move(r.reads), std::move(r.installed)});
    }
  }
}

bool driver::impl::maybe_compact(group_state& g) {
  if (_config.compact_entries <= 0 || _stopping) return false;
  if (g.applied - g.core->snapshot_index() < _config.compact_entries) return false;
  if (auto r = g.core->compact(g.applied, g.sm->snapshot()); !r) {
    spdlog::warn("raft: group {}: cannot compact to {}: {}", g.id, g.applied, r.error().message());
    return false;
  }
  return true;
}

void driver::impl::release(group_state& g) {
  while (!g.held.empty() && g.held.front().sync_seq <= g.synced_seq) {
    held_output out = std::move(g.held.front());
    g.held.pop_front();
    if (_stopping) continue;
    for (const message& m : out.messages)
      _transport.send(g.id, m);
    if (out.installed) {
      g.sm->restore(out.installed->data);
      g.applied = out.installed->index;
    }
    for (const entry& e : out.committed)
      apply(g, e);
    for (const read_state& rs : out.reads) {
      auto it = g.reads_confirming.find(rs.request_id);
      if (it == g.reads_confirming.end()) continue;
      g.reads_confirmed.emplace_back(rs.index, std::move(it->second));
      g.reads_confirming.erase(it);
    }
    serve_reads(g);
  }
}

void driver::impl::serve_reads(group_state& g) {
  // The core hands out read states in request order with non-decreasing indexes. A
  // confirmed read stays valid if this node steps down meanwhile: it was leader when the
  // read began, and the state machine only moves forward.
  while (!g.reads_confirmed.empty() && g.reads_confirmed.front().first <= g.applied) {
    read_callback done = std::move(g.reads_confirmed.front().second);
    g.reads_confirmed.pop_front();
    done(g.applied);
  }
}

void driver::impl::apply(group_state& g, const entry& e) {
  g.sm->apply(e);
  g.applied = e.index;
  while (!g.proposals.empty() && g.proposals.begin()->first <= e.index) {
    auto node = g.proposals.extract(g.proposals.begin());
    pending_proposal& p = node.mapped();
    if (node.key() == e.index && p.term == e.term) {
      p.done(e.index);
    } else {
      p.done(driver_errc::proposal_lost);
    }
  }
}

void driver::impl::fail_proposals_through(group_state& g, log_index last, driver_errc why) {
  std::vector<propose_callback> failed;
  while (!g.proposals.empty() && g.proposals.begin()->first <= last) {
    failed.push_back(std::move(g.proposals.begin()->second.done));
    g.proposals.erase(g.proposals.begin());
  }
  for (auto& done : failed)
    done(why);
}

void driver::impl::fail_proposals_from(group_state& g, log_index first) {
  // Completed outside the loop over the map: a callback may propose again.
  std::vector<propose_callback> lost;
  for (auto it = g.proposals.lower_bound(first); it != g.proposals.end();) {
    lost.push_back(std::move(it->second.done));
    it = g.proposals.erase(it);
  }
  for (auto& done : lost)
    done(driver_errc::proposal_lost);
}

void driver::impl::maybe_sync(group_state& g) {
  if (g.sync_running || g.written_seq == g.synced_seq || _stopping) return;
  g.sync_running = true;
  const std::uint64_t seq = g.written_seq;
  std::optional<hard_state> hs = std::exchange(g.unsynced_hard_state, std::nullopt);
  _sync_pool->submit([this, gp = &g, seq, hs] {
    // Runs on the sync thread: only the descriptors of the group's log are touched.
    auto r = gp->log->sync(hs);
    _syncs.fetch_add(1, std::memory_order_relaxed);
    const std::error_code ec = r ? std::error_code() : r.error();
    asio::post(_io, [this, gp, seq, ec] { on_synced(*gp, seq, ec); });
  });
}

void driver::impl::on_synced(group_state& g, std::uint64_t seq, std::error_code ec) {
  assert_on_loop();
  // After a failed fsync the kernel may have dropped the dirty pages; retrying could
  // "succeed" without the data (fsyncgate). The only safe answer is to crash.
  CAUDAL_ASSERT(!ec, "raft: group {}: fsync failed: {}", g.id, ec.message());
  g.sync_running = false;
  g.synced_seq = seq;
  pump(g);
}

void driver::impl::propose(group_id id, std::vector<std::byte> data, propose_callback done) {
  asio::post(_io, [this, id, data = std::move(data), done = std::move(done)]() mutable {
    group_state* g = find(id);
    if (g == nullptr) return done(driver_errc::unknown_group);
    if (_stopping) return done(driver_errc::stopped);
    auto index = g->core->propose(std::move(data));
    if (!index) return done(index.error());
    // An older proposal still waiting at this index lost it when the log was cut back.
    fail_proposals_from(*g, *index);
    g->proposals.emplace(*index, pending_proposal{g->core->term(), std::move(done)});
    pump(*g);
  });
}

void driver::impl::read_index(group_id id, read_callback done) {
  asio::post(_io, [this, id, done = std::move(done)]() mutable {
    group_state* g = find(id);
    if (g == nullptr) return done(driver_errc::unknown_group);
    if (_stopping) return done(driver_errc::stopped);
    const std::uint64_t request = g->next_read_id++;
    if (auto r = g->core->read_index(request); !r) return done(r.error());
    g->reads_confirming.emplace(request, std::move(done));
    pump(*g);
  });
}

void driver::impl::status(group_id id, status_callback done) {
  asio::post(_io, [this, id, done = std::move(done)] {
    group_state* g = find(id);
    if (g == nullptr) return done(driver_errc::unknown_group);
    const raft_core& c = *g->core;
    done(group_status{c.role(), c.term(), c.leader(), c.commit_index(), c.applied_index(),
                      c.last_index()});
  });
}

driver_stats driver::impl::stats() const {
  driver_stats s;
  s.frames_sent = _counters.frames_sent.load(std::memory_order_relaxed);
  s.messages_sent = _counters.messages_sent.load(std::memory_order_relaxed);
  s.messages_dropped = _counters.messages_dropped.load(std::memory_order_relaxed);
  s.frames_received = _counters.frames_received.load(std::memory_order_relaxed);
  s.frames_rejected = _counters.frames_rejected.load(std::memory_order_relaxed);
  s.syncs = _syncs.load(std::memory_order_relaxed);
  s.compactions = _compactions.load(std::memory_order_relaxed);
  s.snapshots_installed = _installs.load(std::memory_order_relaxed);
  return s;
}

driver::driver(driver_config config) : _impl(std::make_unique<impl>(std::move(config))) {}
driver::~driver() = default;

result<void> driver::add_group(group_id group, config core_config, state_machine& sm) {
  return _impl->add_group(group, std::move(core_config), sm);
}
result<void> driver::start() {
  return _impl->start();
}
void driver::stop() {
  _impl->stop();
}
std::uint16_t driver::listen_port() const {
  return _impl->_port;
}
void driver::propose(group_id group, std::vector<std::byte> data, propose_callback done) {
  _impl->propose(group, std::move(data), std::move(done));
}
void driver::read_index(group_id group, read_callback done) {
  _impl->read_index(group, std::move(done));
}
void driver::status(group_id group, status_callback done) {
  _impl->status(group, std::move(done));
}
driver_stats driver::stats() const {
  return _impl->stats();
}

}  // namespace caudal::raft
