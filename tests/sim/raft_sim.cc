// The deterministic Raft simulator. Goal: find any schedule of delays, drops, duplicates,
// partitions, crashes (with torn writes), clock drift and client operations under which
// the Raft core breaks a safety invariant, loses liveness once faults stop, or gives a
// non-linearizable history. Method: N raft_cores in one thread, one random_source for
// every choice, invariants checked after every ready is carried out (docs/raft.md).

#include "raft_sim.h"

#include "base/assert.h"
#include "base/random.h"
#include "linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace caudal::sim {

using raft::entry;
using raft::log_index;
using raft::message;
using raft::node_id;
using raft::term_id;

const char* mutation_name(raft::mutation m) {
  switch (m) {
    case raft::mutation::none:
      return "none";
    case raft::mutation::vote_without_log_check:
      return "vote_without_log_check";
    case raft::mutation::commit_old_term_by_count:
      return "commit_old_term_by_count";
    case raft::mutation::forget_vote:
      return "forget_vote";
    case raft::mutation::change_before_own_commit:
      return "change_before_own_commit";
    case raft::mutation::snapshot_over_conflict:
      return "snapshot_over_conflict";
  }
  return "?";
}

bool parse_mutation(const std::string& name, raft::mutation& out) {
  for (auto m :
       {raft::mutation::none, raft::mutation::vote_without_log_check,
        raft::mutation::commit_old_term_by_count, raft::mutation::forget_vote,
        raft::mutation::change_before_own_commit, raft::mutation::snapshot_over_conflict}) {
    if (name == mutation_name(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

namespace {

// Seeds drawn into the Figure 8 class (draw_figure8()), per mille.
constexpr std::uint64_t figure8_seeds_per_mille = 200;
// Of the other seeds, those drawn into the membership class (change_membership_step()).
constexpr std::uint64_t membership_seeds_per_mille = 250;
// Of the seeds in neither class, those drawn into the change race class (draw_change_race()).
constexpr std::uint64_t change_race_seeds_per_mille = 300;

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t combine(std::uint64_t h, std::uint64_t x) {
  return mix(h ^ mix(x + 0x9E3779B97F4A7C15ull));
}

std::uint64_t entry_hash(const entry& e) {
  std::uint64_t h =
      combine(static_cast<std::uint64_t>(e.term()), static_cast<std::uint64_t>(e.kind));
  for (std::size_t i = 0; i < e.data.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, e.data.data() + i, std::min<std::size_t>(8, e.data.size() - i));
    h = combine(h, word);
  }
  return combine(h, e.data.size());
}

// A client write as entry data: client id, operation sequence number, value written.
struct write_op {
  std::uint32_t client;
  std::uint32_t seq;
  std::int64_t value;
};
std::vector<std::byte> encode(const write_op& w) {
  std::vector<std::byte> out(sizeof(write_op));
  std::memcpy(out.data(), &w, sizeof(write_op));
  return out;
}
// The register as snapshot data: its value.
std::vector<std::byte> encode_register(std::int64_t value) {
  std::vector<std::byte> out(sizeof(value));
  std::memcpy(out.data(), &value, sizeof(value));
  return out;
}
std::optional<std::int64_t> decode_register(const std::vector<std::byte>& data) {
  std::int64_t value = 0;
  if (data.size() != sizeof(value)) return {};
  std::memcpy(&value, data.data(), sizeof(value));
  return value;
}

std::optional<write_op> decode(const entry& e) {
  if (e.kind != raft::entry_kind::normal || e.data.size() != sizeof(write_op)) return {};
  write_op w;
  std::memcpy(&w, e.data.data(), sizeof(write_op));
  return w;
}

/// A node's disk. Every ready is synced before its messages go out, so what is here is
/// durable; a crash in the middle of persisting a ready keeps only part of it (torn).
/// The log starts after the snapshot, if any. prefix[i] hashes entries 1..i, which makes
/// log matching checks O(1); it is kept below the snapshot too (an installed snapshot
/// takes the hashes of the committed prefix it stands for), for the checker's sake.
class sim_disk final : public raft::log_store {
 public:
  [[nodiscard]] log_index last_index() const override {
    return first_index() + static_cast<std::int64_t>(_entries.size()) - 1;
  }
  [[nodiscard]] term_id term_at(log_index index) const override {
    CAUDAL_ASSERT(index >= snapshot_index() && index <= last_index(),
                  "term_at({}) outside [{}, {}]", index, snapshot_index(), last_index());
    if (index == snapshot_index()) return _snapshot ? _snapshot->term : term_id(0);
    return at(index).term;
  }
  void read(log_index first, log_index last_inclusive, std::size_t bytes_max,
            std::vector<entry>& out) const override {
    CAUDAL_ASSERT(
        first > snapshot_index() && first <= last_inclusive && last_inclusive <= last_index(),
        "read [{}, {}] outside ({}, {}]", first, last_inclusive, snapshot_index(), last_index());
    std::size_t bytes = 0;
    for (log_index i = first; i <= last_inclusive; i = i + 1) {
      const entry& e = at(i);
      if (i > first && bytes + e.data.size() > bytes_max) break;
      bytes += e.data.size();
      out.push_back(e);
    }
  }
  [[nodiscard]] std::shared_ptr<const raft::snapshot> latest_snapshot() const override {
    return _snapshot;
  }

  void truncate(log_index from) {
    if (from > last_index()) return;
    CAUDAL_ASSERT(from > snapshot_index(), "truncating into the snapshot: {} <= {}", from,
                  snapshot_index());
    _entries.resize(static_cast<std::size_t>(from - first_index()));
    _prefix.resize(static_cast<std::size_t>(from()));
    while (memberships.back().first >= from)
      memberships.pop_back();
  }
  void append(const entry& e) {
    CAUDAL_ASSERT(e.index == last_index() + 1, "disk append {} after {}", e.index, last_index());
    _prefix.push_back(combine(_prefix.back(), entry_hash(e)));
    _entries.push_back(e);
    if (e.kind == raft::entry_kind::membership) {
      raft::membership m;
      CAUDAL_ASSERT(raft::decode_membership(e.data, m), "bad membership at {}", e.index);
      memberships.emplace_back(e.index, std::move(m));
    }
  }
  /// The state machine's compaction: the entries up to the snapshot's index go.
  void compact(std::shared_ptr<const raft::snapshot> s) {
    CAUDAL_ASSERT(s->index > snapshot_index() && s->index <= last_index(),
                  "compaction to {} outside ({}, {}]", s->index, snapshot_index(), last_index());
    _entries.erase(_entries.begin(), _entries.begin() + (s->index - snapshot_index()));
    while (memberships.size() > 1 && memberships[1].first <= s->index)
      memberships.erase(memberships.begin());
    memberships.front() = {s->index, s->membership};
    _snapshot = std::move(s);
  }
  /// A snapshot from the leader replaces the log; `prefixes` hashes the committed
  /// entries 1..its index (prefixes[i - 1] for entry i).
  void install(std::shared_ptr<const raft::snapshot> s,
               const std::vector<std::uint64_t>& prefixes) {
    _entries.clear();
    _prefix.assign(1, 0);
    _prefix.insert(_prefix.end(), prefixes.begin(), prefixes.begin() + s->index());
    memberships.assign(1, {s->index, s->membership});
    _snapshot = std::move(s);
  }
  [[nodiscard]] log_index snapshot_index() const {
    return _snapshot ? _snapshot->index : log_index(0);
  }
  /// The membership this disk's log puts in effect (the core's, were it running).
  [[nodiscard]] const raft::membership& membership() const { return memberships.back().second; }
  [[nodiscard]] std::uint64_t prefix(log_index i) const {
    return _prefix[static_cast<std::size_t>(i())];
  }
  /// Requires: snapshot_index() < i <= last_index().
  [[nodiscard]] const entry& at(log_index i) const {
    CAUDAL_ASSERT(i > snapshot_index() && i <= last_index(), "entry {} outside ({}, {}]", i,
                  snapshot_index(), last_index());
    return _entries[static_cast<std::size_t>(i - first_index())];
  }

  raft::hard_state state;
  // Membership entries by index; first the bootstrap one at index 0, or the snapshot's.
  std::vector<std::pair<log_index, raft::membership>> memberships;

 private:
  [[nodiscard]] log_index first_index() const { return snapshot_index() + 1; }

  std::shared_ptr<const raft::snapshot> _snapshot;
  std::vector<entry> _entries;  // from first_index() on
  std::vector<std::uint64_t> _prefix{0};
};

struct node_state {
  node_id id;
  bool up = false;
  std::uint64_t incarnation = 0;
  sim_disk disk;
  std::unique_ptr<random_source> random;
  std::unique_ptr<raft::raft_core> core;
  std::int64_t value = 0;  // the register: the state machine
  log_index applied{0};
  log_index commit_seen{0};
  term_id completeness_checked{-1};
  std::uint64_t restart_at = 0;  // a quick restart scheduled by a targeted crash; 0: none
  std::uint64_t drift_skip_per_mille = 0;
  std::uint64_t drift_extra_per_mille = 0;
  bool decommissioned = false;  // removed from the group by a committed change: down for good
};

bool has(const std::vector<node_id>& ids, node_id id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
bool is_member(const raft::membership& m, node_id id) {
  return has(m.voters, id) || has(m.learners, id);
}

struct in_flight {
  std::uint64_t deliver_at;
  std::uint64_t order;  // random tie-break: equal delivery times arrive in random order
  message m;
};

struct committed_entry {
  term_id term;
  std::uint64_t prefix;
  std::uint64_t hash;
  term_id commit_term;       // the term of the leader that first committed it
  std::int64_t value_after;  // the register once entries up to this one are applied
};

struct client_state {
  enum class phase : std::uint8_t { idle, writing, reading };
  std::uint32_t id = 0;
  phase state = phase::idle;
  std::uint32_t seq = 0;
  std::size_t op = 0;  // index into the history
  std::size_t node = 0;
  std::uint64_t incarnation = 0;
  std::uint64_t deadline = 0;
  std::uint64_t read_id = 0;
  std::optional<log_index> read_index;
  std::uint64_t next_attempt = 0;
};

class simulation {
 public:
  explicit simulation(const sim_options& options) : _options(options), _random(options.seed) {
    draw_parameters();
  }

  sim_result run() {
    for (std::size_t i = 0; i < _nodes.size(); ++i)
      restart(i);
    for (std::uint64_t t = 0; t < _fault_ticks && _result.failure.empty(); ++t)
      step_tick();
    if (_result.failure.empty()) liveness();
    if (_result.failure.empty()) check_history();
    _result.ticks = _now;
    _result.trace_hash = _trace;
    _result.committed = static_cast<std::uint64_t>(_committed.size());
    _result.elections = _leaders.size();
    _result.figure8 = _figure8;
    _result.membership = _membership_class;
    _result.change_race = _change_race;
    return _result;
  }

 private:
  // ---- Parameters -----------------------------------------------------------------------
  void draw_parameters() {
    // The seed class comes from a stream of its own, so that adding a class leaves the
    // schedules of the other seeds exactly as they were.
    random_source class_random(mix(_options.seed ^ 0xF16'0008ull));
    _figure8 = class_random.chance(figure8_seeds_per_mille, 1000);
    static constexpr std::size_t sizes[] = {3, 3, 5, 4, 1, 3, 5, 2};
    std::size_t n = sizes[_random.uniform(std::size(sizes))];
    if (_figure8) n = class_random.chance(1, 4) ? 3 : 5;
    _membership_class = !_figure8 && class_random.chance(membership_seeds_per_mille, 1000);
    std::size_t voters = n;
    if (_membership_class) {
      n = class_random.chance(1, 2) ? 4 : 5;
      voters = 3;
    }
    _change_race =
        !_figure8 && !_membership_class && class_random.chance(change_race_seeds_per_mille, 1000);
    if (_change_race) {
      // Four voters and a learner: promoting the learner and removing a voter are both
      // possible at once, so two leaders in a row can start different changes.
      _membership_class = true;
      n = 5;
      voters = 4;
    }
    _config.election_timeout_ticks = static_cast<std::int32_t>(_random.range(8, 14));
    _config.heartbeat_interval_ticks = static_cast<std::int32_t>(_random.range(1, 3));
    _config.pre_vote = !_random.chance(1, 5);
    _config.check_quorum = !_random.chance(1, 5);
    _config.inflight_max = static_cast<std::size_t>(_random.range(1, 4));
    _config.append_entries_max = static_cast<std::size_t>(_random.range(1, 8));
    _config.apply_entries_max = static_cast<std::size_t>(_random.range(1, 16));
    _config.uncommitted_max = static_cast<std::size_t>(_random.range(4, 64));
    _config.mutation = _options.mutation;
    for (std::size_t i = 0; i < voters; ++i)
      _config.voters.push_back(node_id(static_cast<std::int32_t>(i)));
    if (_change_race) _config.learners.push_back(node_id(static_cast<std::int32_t>(voters)));
    _committed_membership = raft::membership{_config.voters, _config.learners};
    _nodes = std::vector<node_state>(n);  // never resized: cores hold references to disks
    for (std::size_t i = 0; i < n; ++i) {
      _nodes[i].id = node_id(static_cast<std::int32_t>(i));
      _nodes[i].disk.memberships.emplace_back(log_index(0), _committed_membership);
      if (_random.chance(1, 3)) {
        _nodes[i].drift_skip_per_mille = _random.uniform(100);
        _nodes[i].drift_extra_per_mille = _random.uniform(100);
      }
    }
    _cut.assign(n * n, false);
    const auto et = static_cast<std::int64_t>(_config.election_timeout_ticks);
    _fault_ticks = static_cast<std::uint64_t>(_random.range(150, 500));
    _delay_max = static_cast<std::uint64_t>(_random.range(1, et / 2));
    _long_delay_per_mille = _random.uniform(20);
    _drop_per_mille = _random.chance(1, 4) ? 0 : _random.uniform(200);
    _duplicate_per_mille = _random.uniform(80);
    _crash_per_mille = _random.chance(1, 5) ? 0 : _random.uniform(25);
    _restart_per_mille = static_cast<std::uint64_t>(_random.range(20, 150));
    _torn_per_mille = _random.uniform(30);
    _partition_per_mille = _random.uniform(25);
    _transfer_per_mille = _random.uniform(15);
    _crash_after_vote_per_mille = _random.chance(1, 2) ? 0 : _random.uniform(300);
    _crash_after_commit_per_mille = _random.chance(1, 2) ? 0 : _random.uniform(100);
    _crash_before_send_per_mille = _random.chance(1, 2) ? 0 : _random.uniform(100);
    _clients.resize(static_cast<std::size_t>(_random.range(1, 3)));
    for (std::size_t c = 0; c < _clients.size(); ++c) {
      _clients[c].id = static_cast<std::uint32_t>(c + 1);
    }
    if (_figure8) draw_figure8(class_random);
    if (_membership_class) {
      _membership_per_mille = static_cast<std::uint64_t>(class_random.range(20, 80));
    }
    if (_change_race) draw_change_race(class_random);
    // Compaction is routine, not a fault: it goes on in the liveness phase, so a follower
    // that fell behind needs the leader's snapshot. A quarter of the seeds never compact.
    _compact_per_mille =
        _random.chance(1, 4) ? 0 : static_cast<std::uint64_t>(_random.range(5, 60));
    trace(
        "params figure8={} membership={} race={} n={} et={} hb={} prevote={} cq={} inflight={} "
        "batch={} faults={} delay<={} drop={} dup={} crash={} torn={} part={} compact={}",
        _figure8, _membership_class, _change_race, n, _config.election_timeout_ticks,
        _config.heartbeat_interval_ticks, _config.pre_vote, _config.check_quorum,
        _config.inflight_max, _config.append_entries_max, _fault_ticks, _delay_max, _drop_per_mille,
        _duplicate_per_mille, _crash_per_mille, _torn_per_mille, _partition_per_mille,
        _compact_per_mille);
  }

  // The Figure 8 class (Raft §5.4.2): a leader's entry reaches only a minority, a later
  // leader writes a different entry at the same index, and a third leader, which holds
  // the first entry, replicates it to a majority before its own no-op gets there. Only
  // then can counting replicas of an old-term entry commit something a fourth leader
  // overwrites. So: one entry per AppendEntries (the old entry travels without the
  // no-op), leaders that crash right after appending (their entry stays on their disk
  // alone) and come back quickly, and new leaders cut off from everyone before their
  // no-op spreads.
  void draw_figure8(random_source& r) {
    _config.append_entries_max = 1;
    _config.inflight_max = static_cast<std::size_t>(r.range(1, 2));
    _crash_before_send_per_mille = static_cast<std::uint64_t>(r.range(150, 400));
    _isolate_leader_per_mille = static_cast<std::uint64_t>(r.range(100, 400));
    _restart_per_mille = static_cast<std::uint64_t>(r.range(100, 250));
  }

  // The change race class: the single-server change bug (raft-dev, 2015) needs a leader
  // whose change reaches only itself, then a next leader that starts a different change
  // before it commits an entry of its term and commits it on the new majority; the first
  // leader's membership then still gives it a majority that lacks the committed change.
  // So: every new leader asks for a change at once (a correct core refuses until its
  // no-op commits), leaders crash right after appending and come back quickly, and new
  // leaders are cut off before their entries spread, as in the Figure 8 class.
  void draw_change_race(random_source& r) {
    _crash_before_send_per_mille = static_cast<std::uint64_t>(r.range(150, 400));
    _isolate_leader_per_mille = static_cast<std::uint64_t>(r.range(100, 400));
    _restart_per_mille = static_cast<std::uint64_t>(r.range(100, 250));
  }

  // ---- Tracing and failure ---------------------------------------------------------------
  template <class... Args>
  void trace(fmt::format_string<Args...> format, Args&&... args) {
    const std::string line = fmt::format(format, std::forward<Args>(args)...);
    for (char c : line)
      _trace = combine(_trace, static_cast<std::uint64_t>(c));
    if (_options.trace) fmt::print("[{:6}] {}\n", _now, line);
  }
  void hash_event(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
    _trace = combine(combine(combine(_trace, a), b), c);
  }
  template <class... Args>
  void fail(fmt::format_string<Args...> format, Args&&... args) {
    if (!_result.failure.empty()) return;
    _result.failure =
        fmt::format("tick {}: {}", _now, fmt::format(format, std::forward<Args>(args)...));
    if (_options.trace) {
      fmt::print("FAILURE {}\n", _result.failure);
      for (const node_state& n : _nodes) {
        std::string terms;
        if (n.disk.snapshot_index()() > 0)
          terms = fmt::format("snapshot {}:", n.disk.snapshot_index());
        for (log_index k = n.disk.snapshot_index() + 1; k <= n.disk.last_index(); k = k + 1)
          terms += fmt::format("{}{}", terms.empty() ? "" : " ", n.disk.term_at(k));
        std::string voters;
        for (node_id v : n.disk.membership().voters)
          voters += fmt::format(" n{}", v);
        std::string kinds;
        for (const auto& [at, m] : n.disk.memberships)
          kinds += fmt::format(" {}:{}v{}l", at, m.voters.size(), m.learners.size());
        fmt::print("  n{}{}: term {} role {} commit {} voters{} memberships{} log terms [{}]\n",
                   n.id, n.up ? "" : (n.decommissioned ? " (decommissioned)" : " (down)"),
                   n.up ? n.core->term()() : -1, n.up ? static_cast<int>(n.core->role()) : -1,
                   n.up ? n.core->commit_index()() : -1, voters, kinds, terms);
      }
    }
  }
  [[nodiscard]] bool failed() const { return !_result.failure.empty(); }
  // The voters of the latest committed membership: every committed entry is on a
  // majority of them (single-server changes keep that true across each change).
  [[nodiscard]] std::size_t quorum() const { return _committed_membership.voters.size() / 2 + 1; }

  // ---- Nodes -----------------------------------------------------------------------------
  void restart(std::size_t i) {
    node_state& n = _nodes[i];
    CAUDAL_ASSERT(!n.up, "restarting a running node {}", i);
    CAUDAL_ASSERT(!n.decommissioned, "restarting decommissioned node {}", i);
    n.up = true;
    ++n.incarnation;
    n.random = std::make_unique<random_source>(_random.next());
    raft::config cfg = _config;
    cfg.self = n.id;
    n.core = std::make_unique<raft::raft_core>(cfg, n.disk.state, n.disk, *n.random);
    // The state machine restarts from the snapshot, as the core does.
    const auto snap = n.disk.latest_snapshot();
    n.value = snap ? decode_register(snap->data).value_or(0) : 0;
    n.applied = snap ? snap->index : log_index(0);
    n.commit_seen = log_index(0);
    n.completeness_checked = term_id(-1);
    trace("restart n{} term={} vote={} last={}", i, n.disk.state.term, n.disk.state.voted_for,
          n.disk.last_index());
  }

  void crash(std::size_t i) {
    node_state& n = _nodes[i];
    n.up = false;
    n.core.reset();
    n.random.reset();
    if (_change_on_election == i) _change_on_election.reset();
    trace("crash n{}", i);
  }

  // Carries out every ready of node i: persist, send, apply; then checks invariants.
  void process(std::size_t i) {
    node_state& n = _nodes[i];
    while (n.up && !failed() && n.core->has_ready()) {
      raft::ready r = n.core->drain();
      if (_faults && _random.chance(_torn_per_mille, 1000) &&
          (r.term_and_vote || !r.entries.empty() || r.compacted || r.installed)) {
        persist_torn(i, r);
        return;
      }
      if (!persist_snapshot(i, r)) return;
      if (r.truncate_from) n.disk.truncate(*r.truncate_from);
      for (const entry& e : r.entries) {
        n.disk.append(e);
        check_log_matching(i, e.index);
      }
      if (r.term_and_vote) n.disk.state = *r.term_and_vote;
      const log_index commit_before = n.commit_seen;
      check_node(i);
      const bool leader_committed =
          n.core->role() == raft::role::leader && n.core->commit_index() > commit_before;
      const bool leader_appended = n.core->role() == raft::role::leader && !r.entries.empty();
      if (_faults && !failed() &&
          ((leader_appended && _random.chance(_crash_before_send_per_mille, 1000)) ||
           (leader_committed && _random.chance(_crash_after_commit_per_mille, 1000)))) {
        // Targeted crashes after the fsync, before the network: a leader that appended
        // entries and died leaves a log that diverges from the next leader's (the raw
        // material of Raft's Figure 8); a leader that just committed takes the commit and
        // the follow-up AppendEntries with it, so only the invariants remember it.
        crash(i);
        n.restart_at =
            _now + 1 + _random.uniform(static_cast<std::uint64_t>(_config.election_timeout_ticks));
        return;
      }
      bool granted_vote = false;
      for (const message& m : r.messages) {
        granted_vote = granted_vote || (m.type == raft::message_type::vote_response && !m.reject);
      }
      for (message& m : r.messages)
        send(std::move(m));
      if (r.installed) restore(i, *r.installed);
      for (const entry& e : r.committed)
        apply(i, e);
      for (const raft::read_state& rs : r.reads) {
        for (client_state& c : _clients) {
          if (c.state == client_state::phase::reading && c.read_id == rs.request_id &&
              c.node == i && c.incarnation == n.incarnation) {
            c.read_index = rs.index;
          }
        }
      }
      if (_change_on_election == i) {
        // After the ready that made it leader is carried out, as a driver would.
        _change_on_election.reset();
        request_change(i);
      }
      // A targeted crash just after granting a vote: was the vote durable?
      if (_faults && granted_vote && _random.chance(_crash_after_vote_per_mille, 1000)) {
        crash(i);
        n.restart_at =
            _now + 1 + _random.uniform(static_cast<std::uint64_t>(_config.election_timeout_ticks));
        return;
      }
    }
  }

  // A crash while the ready was being written: the log keeps a prefix of the writes (the
  // last one torn, so dropped by recovery), the term/vote file is old or new.
  void persist_torn(std::size_t i, const raft::ready& r) {
    node_state& n = _nodes[i];
    const bool snapshot = r.compacted || r.installed;
    std::size_t writes = r.entries.size() + (r.truncate_from ? 1 : 0) + (snapshot ? 1 : 0);
    std::size_t kept = static_cast<std::size_t>(_random.uniform(writes + 1));
    // The snapshot is written (and renamed into place) before the log changes after it.
    if (snapshot && kept > 0) {
      if (!persist_snapshot(i, r)) return;
      --kept;
    }
    if (r.truncate_from && kept > 0) {
      n.disk.truncate(*r.truncate_from);
      --kept;
    }
    for (std::size_t k = 0; k < kept && k < r.entries.size(); ++k) {
      n.disk.append(r.entries[k]);
      check_log_matching(i, r.entries[k].index);
    }
    if (r.term_and_vote && _random.chance(1, 2)) n.disk.state = *r.term_and_vote;
    trace("torn write n{}", i);
    crash(i);
  }

  // Stores the ready's snapshot, if any, on node i's disk; false after a failure.
  bool persist_snapshot(std::size_t i, const raft::ready& r) {
    node_state& n = _nodes[i];
    CAUDAL_ASSERT(!(r.compacted && r.installed), "n{}: a ready both compacts and installs", i);
    if (r.compacted) {
      n.disk.compact(r.compacted);
      ++_result.compactions;
      trace("compact n{} to {}", i, r.compacted->index);
    }
    if (r.installed) {
      const auto count = static_cast<std::size_t>(r.installed->index());
      if (count > _committed.size()) {
        fail("n{} installs a snapshot to {} beyond the known commit {}", i, count,
             _committed.size());
        return false;
      }
      std::vector<std::uint64_t> prefixes(count);
      for (std::size_t k = 0; k < count; ++k)
        prefixes[k] = _committed[k].prefix;
      n.disk.install(r.installed, prefixes);
      ++_result.snapshots_installed;
      trace("install n{} snapshot {}", i, r.installed->index);
    }
    return true;
  }

  // State machine safety for snapshots: the one installed holds what applying the
  // committed entries up to its index gives.
  void restore(std::size_t i, const raft::snapshot& s) {
    node_state& n = _nodes[i];
    const auto value = decode_register(s.data);
    const auto slot = static_cast<std::size_t>(s.index() - 1);
    if (!value || slot >= _committed.size() || _committed[slot].value_after != *value) {
      fail("state machine safety: n{} restores a snapshot at {} that differs from the log", i,
           s.index);
      return;
    }
    if (s.index <= n.applied) {
      fail("n{} restores a snapshot at {} at or below its applied {}", i, s.index, n.applied);
      return;
    }
    n.value = *value;
    n.applied = s.index;
    hash_event(8, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(s.index()));
  }

  // The state machine compacts the log up to what it applied (node i is up).
  void compact(std::size_t i) {
    node_state& n = _nodes[i];
    if (n.applied <= n.core->snapshot_index()) return;
    const auto r = n.core->compact(n.applied, encode_register(n.value));
    if (!r) {
      fail("n{} compaction to {} refused: {}", i, n.applied, r.error().message());
      return;
    }
    process(i);
  }

  void apply(std::size_t i, const entry& e) {
    node_state& n = _nodes[i];
    if (e.index != n.applied + 1) {
      fail("n{} applied {} after {}", i, e.index, n.applied);
      return;
    }
    n.applied = e.index;
    // State machine safety: every node applies the same entry at each index.
    const auto slot = static_cast<std::size_t>(e.index() - 1);
    if (slot >= _committed.size()) {
      fail("n{} applied {} beyond the known commit {}", i, e.index, _committed.size());
      return;
    }
    if (_committed[slot].term != e.term || _committed[slot].hash != entry_hash(e)) {
      fail("state machine safety: n{} applied term {} at {}, committed was term {}", i, e.term,
           e.index, _committed[slot].term);
      return;
    }
    hash_event(7, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(e.index()));
    if (auto w = decode(e)) {
      n.value = w->value;
      for (client_state& c : _clients) {
        if (c.state == client_state::phase::writing && c.id == w->client && c.seq == w->seq) {
          _history[c.op].complete = ++_event;
          c.state = client_state::phase::idle;
          trace("client {} write {} ok", c.id, w->value);
        }
      }
    }
  }

  // ---- Invariants ------------------------------------------------------------------------
  void check_log_matching(std::size_t i, log_index index) {
    // Log matching (Raft §5.3): two logs with an entry of the same index and term hold the
    // same entries up to it, over all nodes and all time: one prefix hash per (index, term).
    const node_state& n = _nodes[i];
    const auto key = std::make_pair(index(), n.disk.term_at(index)());
    const auto [it, inserted] = _log_prefixes.emplace(key, n.disk.prefix(index));
    if (!inserted && it->second != n.disk.prefix(index)) {
      fail("log matching: n{} holds a different log up to index {} term {}", i, index,
           n.disk.term_at(index));
    }
  }

  [[nodiscard]] bool holds_committed(const node_state& n, std::size_t count) const {
    if (count == 0) return true;
    const log_index at(static_cast<std::int64_t>(count));
    return n.disk.last_index() >= at && n.disk.prefix(at) == _committed[count - 1].prefix;
  }

  void check_leader_completeness(std::size_t i) {
    // Leader completeness (Raft §5.4): a leader of term T holds every entry committed by a
    // leader of an earlier term.
    const node_state& n = _nodes[i];
    const term_id term = n.core->term();
    std::size_t count = _committed.size();
    while (count > 0 && _committed[count - 1].commit_term >= term)
      --count;
    if (!holds_committed(n, count)) {
      fail("leader completeness: n{} leads term {} without committed entry {}", i, term, count);
    }
  }

  void check_node(std::size_t i) {
    node_state& n = _nodes[i];
    raft::raft_core& core = *n.core;
    // Commit index monotonic within an incarnation (it restarts from 0 after a crash).
    if (core.commit_index() < n.commit_seen) {
      fail("n{} commit index went back {} -> {}", i, n.commit_seen, core.commit_index());
      return;
    }
    if (core.commit_index() != n.commit_seen && _options.trace) {
      trace("commit n{} {} as {} of term {}", i, core.commit_index(), static_cast<int>(core.role()),
            core.term());
    }
    n.commit_seen = core.commit_index();
    if (core.role() == raft::role::leader) {
      // Election safety (Raft §5.2): at most one leader per term.
      const auto [it, inserted] = _leaders.emplace(core.term()(), i);
      if (!inserted && it->second != i) {
        fail("election safety: n{} and n{} both lead term {}", it->second, i, core.term());
        return;
      }
      if (inserted) {
        trace("leader n{} term {}", i, core.term());
        if ((_figure8 || _change_race) && _faults &&
            _random.chance(_isolate_leader_per_mille, 1000)) {
          isolate(i);
        }
        if (_change_race && _faults) _change_on_election = i;
      }
      if (n.completeness_checked != core.term()) {
        n.completeness_checked = core.term();
        check_leader_completeness(i);
      }
    }
    const auto commit = static_cast<std::size_t>(core.commit_index()());
    if (commit > 0 && commit <= _committed.size() && !holds_committed(n, commit)) {
      fail("committed entry changed: n{} commits a different log up to {}", i, commit);
      return;
    }
    if (commit > _committed.size()) {
      if (!holds_committed(n, _committed.size())) {
        fail("committed entry lost: n{} commits {} over a different prefix", i, commit);
        return;
      }
      for (std::size_t k = _committed.size() + 1; k <= commit; ++k) {
        const log_index at(static_cast<std::int64_t>(k));
        if (at <= n.disk.snapshot_index()) {
          fail("n{} commits {} through a snapshot of entries never committed", i, at);
          return;
        }
        const std::int64_t before = _committed.empty() ? 0 : _committed.back().value_after;
        const auto write = decode(n.disk.at(at));
        _committed.push_back(committed_entry{n.disk.term_at(at), n.disk.prefix(at),
                                             entry_hash(n.disk.at(at)), core.term(),
                                             write ? write->value : before});
        if (n.disk.at(at).kind == raft::entry_kind::membership) committed_membership(n.disk, at);
      }
      for (std::size_t j = 0; j < _nodes.size(); ++j) {
        const node_state& other = _nodes[j];
        if (other.up && other.core->role() == raft::role::leader &&
            other.core->term() > core.term() && !holds_committed(other, commit)) {
          fail("leader completeness: n{} leads term {} without entry {} committed in {}", j,
               other.core->term(), commit, core.term());
          return;
        }
      }
    }
    // Durability: a committed entry is on a majority of disks (an acks=all write is never
    // lost whatever crashes next).
    if (!_committed.empty()) {
      // Every majority of the committed membership's voters includes a disk holding the
      // entry, so no election in it can pass the entry by. With a fixed membership that is "on a
      // majority"; while a change is appended but not committed, its leader counts the new voters
      // already, and single-server changes keep this overlap (docs/raft.md).
      std::size_t holders = 0;
      for (const node_state& other : _nodes) {
        if (has(_committed_membership.voters, other.id)) {
          holders += holds_committed(other, _committed.size());
        }
      }
      const bool majority = holders + quorum() > _committed_membership.voters.size();
      if (!majority) {
        fail("committed entry {} is on {} disks of {} voters: some majority lacks it",
             _committed.size(), holders, _committed_membership.voters.size());
        return;
      }
      check_no_electable_node_lacks_committed();
    }
  }

  // The inductive core of leader completeness (Raft §5.4.3): a node whose disk lacks a
  // committed entry has a log less up-to-date than every node of the majority that
  // committed it, so it can never gather a quorum of votes. Checking this at every step
  // catches a lost commit before any election has to happen.
  void check_no_electable_node_lacks_committed() {
    const auto up_to_date = [](const sim_disk& candidate, const sim_disk& voter) {
      const term_id ct = candidate.term_at(candidate.last_index());
      const term_id vt = voter.term_at(voter.last_index());
      return ct > vt || (ct == vt && candidate.last_index() >= voter.last_index());
    };
    for (std::size_t i = 0; i < _nodes.size(); ++i) {
      const sim_disk& candidate = _nodes[i].disk;
      if (_nodes[i].decommissioned || holds_committed(_nodes[i], _committed.size())) continue;
      // A candidate campaigns among the voters of the membership its own log holds.
      const raft::membership& m = candidate.membership();
      if (!has(m.voters, _nodes[i].id)) continue;
      std::size_t votes = 0;
      for (const node_state& voter : _nodes) {
        if (!voter.decommissioned && has(m.voters, voter.id)) {
          votes += up_to_date(candidate, voter.disk);
        }
      }
      if (votes >= m.voters.size() / 2 + 1) {
        fail("committed entry {} could be lost: n{} lacks it yet {} logs would vote for it",
             _committed.size(), i, votes);
        return;
      }
    }
  }

  // ---- Network ---------------------------------------------------------------------------
  void send(message m) {
    ++_result.messages;
    const std::size_t copies = _faults && _random.chance(_duplicate_per_mille, 1000) ? 2 : 1;
    for (std::size_t k = 0; k < copies; ++k) {
      std::uint64_t delay = 1 + _random.uniform(_delay_max);
      if (_faults && _random.chance(_long_delay_per_mille, 1000)) {
        delay += _random.uniform(static_cast<std::uint64_t>(4 * _config.election_timeout_ticks));
      }
      _network.push_back(
          in_flight{_now + delay, _random.next(), k + 1 < copies ? m : std::move(m)});
    }
  }

  void deliver_due() {
    std::vector<in_flight> due;
    auto split = std::partition(_network.begin(), _network.end(),
                                [&](const in_flight& f) { return f.deliver_at > _now; });
    due.assign(std::make_move_iterator(split), std::make_move_iterator(_network.end()));
    _network.erase(split, _network.end());
    std::sort(due.begin(), due.end(), [](const in_flight& a, const in_flight& b) {
      return a.deliver_at != b.deliver_at ? a.deliver_at < b.deliver_at : a.order < b.order;
    });
    for (in_flight& f : due) {
      if (failed()) return;
      const auto from = static_cast<std::size_t>(f.m.from());
      const auto to = static_cast<std::size_t>(f.m.to());
      node_state& n = _nodes[to];
      const bool dropped = !n.up || _cut[from * _nodes.size() + to] ||
                           (_faults && _random.chance(_drop_per_mille, 1000));
      hash_event(static_cast<std::uint64_t>(f.m.type) + (dropped ? 100 : 0), from * 64 + to,
                 static_cast<std::uint64_t>(f.m.term() * 1000003 + f.m.index()));
      if (dropped) continue;
      n.core->step(f.m);
      process(to);
    }
  }

  // ---- Faults ----------------------------------------------------------------------------
  // A membership entry committed: nodes of the previous committed membership left out of
  // this one are removed for good. An operator shuts them down, or they would keep their
  // old membership and could elect each other (thesis §4.2.2); decommissioning happens at
  // the next tick, outside the processing of any ready.
  void committed_membership(const sim_disk& disk, log_index at) {
    raft::membership next;
    CAUDAL_ASSERT(raft::decode_membership(disk.at(at).data, next), "bad membership at {}", at);
    for (const node_state& n : _nodes) {
      if (is_member(_committed_membership, n.id) && !is_member(next, n.id)) {
        _to_decommission.push_back(static_cast<std::size_t>(n.id()));
      }
    }
    _committed_membership = std::move(next);
    ++_result.membership_changes;
    trace("membership committed at {}: {} voters, {} learners", at,
          _committed_membership.voters.size(), _committed_membership.learners.size());
  }

  void decommission_removed() {
    for (std::size_t i : _to_decommission) {
      if (_nodes[i].up) crash(i);
      _nodes[i].decommissioned = true;
      trace("decommission n{}", i);
    }
    _to_decommission.clear();
  }

  // An operator changing the membership through the leader, one server at a time: add an
  // outsider as a learner, promote a learner (refused until it caught up), or remove a
  // voter other than the leader while more than three vote.
  void change_membership_step() {
    for (std::size_t i = 0; i < _nodes.size(); ++i) {
      if (!_nodes[i].up || _nodes[i].core->role() != raft::role::leader) continue;
      request_change(i);
      process(i);
      return;
    }
  }

  // Asks leader i for one change. The membership class promotes learners first; the
  // change race class picks any valid change, so that successive leaders differ.
  void request_change(std::size_t i) {
    node_state& l = _nodes[i];
    const raft::membership& m = l.core->membership();
    using change = raft::raft_core::change;
    std::vector<std::pair<change, node_id>> ops;
    for (node_id learner : m.learners)
      ops.emplace_back(change::promote_learner, learner);
    if (m.voters.size() > 3) {
      for (node_id v : m.voters) {
        if (v != l.id) ops.emplace_back(change::remove_node, v);
      }
    }
    for (const node_state& n : _nodes) {
      if (!n.decommissioned && !is_member(m, n.id)) {
        ops.emplace_back(change::add_learner, n.id);
        break;
      }
    }
    if (ops.empty()) return;
    std::pair<change, node_id> op;
    if (_change_race) {
      op = ops[_random.uniform(ops.size())];
    } else if (!m.learners.empty()) {
      op = ops.front();
    } else if (m.voters.size() > 3 && _random.chance(1, 2)) {
      // Remove (while more than three vote) or add, evenly.
      const node_id v = m.voters[_random.uniform(m.voters.size())];
      if (v == l.id) return;
      op = {change::remove_node, v};
    } else if (ops.back().first == change::add_learner) {
      op = ops.back();
    } else {
      return;
    }
    const auto r = l.core->change_membership(op.first, op.second);
    trace("membership n{}: change {} n{}: {}", i, static_cast<int>(op.first), op.second,
          r ? "appended" : r.error().message());
  }

  // Cuts node i off from everyone in both directions, until a heal: a new leader isolated
  // this way keeps its no-op to itself (the Figure 8 class).
  void isolate(std::size_t i) {
    const std::size_t n = _nodes.size();
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      _cut[i * n + j] = true;
      _cut[j * n + i] = true;
    }
    const auto et = static_cast<std::int64_t>(_config.election_timeout_ticks);
    _heal_at = _now + static_cast<std::uint64_t>(_random.range(et, 3 * et));
    trace("isolate n{}", i);
  }

  void inject_faults() {
    const std::size_t n = _nodes.size();
    if (_membership_class && _random.chance(_membership_per_mille, 1000)) {
      change_membership_step();
    }
    if (_heal_at != 0 && _now >= _heal_at) {
      _heal_at = 0;
      std::fill(_cut.begin(), _cut.end(), false);
      trace("heal");
    }
    if (_random.chance(_crash_per_mille, 1000)) {
      const auto i = static_cast<std::size_t>(_random.uniform(n));
      if (_nodes[i].up) crash(i);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (_nodes[i].decommissioned) continue;
      const bool scheduled = _nodes[i].restart_at != 0 && _now >= _nodes[i].restart_at;
      if (!_nodes[i].up && (scheduled || _random.chance(_restart_per_mille, 1000))) {
        _nodes[i].restart_at = 0;
        restart(i);
        process(i);
      }
    }
    if (_random.chance(_partition_per_mille, 1000)) {
      const std::uint64_t kind = _random.uniform(10);
      if (kind < 4) {
        std::fill(_cut.begin(), _cut.end(), false);
        trace("heal");
      } else if (kind < 7) {
        // A symmetric partition: a random side against the rest.
        std::vector<bool> side(n);
        for (std::size_t i = 0; i < n; ++i)
          side[i] = _random.chance(1, 2);
        for (std::size_t a = 0; a < n; ++a) {
          for (std::size_t b = 0; b < n; ++b)
            _cut[a * n + b] = side[a] != side[b];
        }
        trace("partition");
      } else {
        // An asymmetric cut: a can no longer reach b, b still reaches a.
        const auto a = static_cast<std::size_t>(_random.uniform(n));
        const auto b = static_cast<std::size_t>(_random.uniform(n));
        _cut[a * n + b] = true;
        trace("cut n{} -> n{}", a, b);
      }
    }
    if (_random.chance(_transfer_per_mille, 1000)) {
      for (std::size_t i = 0; i < n; ++i) {
        if (_nodes[i].up && _nodes[i].core->role() == raft::role::leader) {
          const node_id target(static_cast<std::int32_t>(_random.uniform(n)));
          ignore_error(_nodes[i].core->transfer_leadership(target), "the sim tries anyway");
          trace("transfer n{} -> n{}", i, target);
          process(i);
          break;
        }
      }
    }
  }

  void heal() {
    // Faults stop: no partitions, crashes, drops, long delays or drift, and what the fault
    // phase left in flight is gone (a message delayed past the heal, such as a stale
    // TimeoutNow, is a fault too). Delays stay well under the heartbeat interval.
    _faults = false;
    std::fill(_cut.begin(), _cut.end(), false);
    _network.clear();
    _delay_max = std::min<std::uint64_t>(_delay_max, 2);
    for (node_state& n : _nodes) {
      n.drift_skip_per_mille = 0;
      n.drift_extra_per_mille = 0;
    }
    for (std::size_t i = 0; i < _nodes.size(); ++i) {
      if (_nodes[i].decommissioned) continue;
      if (!_nodes[i].up) restart(i);
      process(i);
    }
    trace("faults stop");
  }

  // ---- Time ------------------------------------------------------------------------------
  void step_tick() {
    ++_now;
    hash_event(1, _now);
    if (!_to_decommission.empty()) decommission_removed();
    if (_faults) inject_faults();
    for (std::size_t i = 0; i < _nodes.size() && !failed(); ++i) {
      node_state& n = _nodes[i];
      if (!n.up) continue;
      int ticks = 1;
      if (_random.chance(n.drift_skip_per_mille, 1000)) ticks = 0;
      if (_random.chance(n.drift_extra_per_mille, 1000)) ticks = 2;
      for (int k = 0; k < ticks && n.up; ++k) {
        n.core->tick();
        process(i);
      }
      if (n.up && !failed() && _random.chance(_compact_per_mille, 1000)) compact(i);
    }
    if (!failed()) deliver_due();
    if (!failed()) run_clients();
  }

  // ---- Clients ---------------------------------------------------------------------------
  [[nodiscard]] std::optional<std::size_t> find_leader_via(std::size_t i) const {
    const node_state& n = _nodes[i];
    if (!n.up) return {};
    if (n.core->role() == raft::role::leader) return i;
    const node_id hint = n.core->leader();
    if (hint == raft::node_none) return {};
    const auto h = static_cast<std::size_t>(hint());
    if (_nodes[h].up && _nodes[h].core->role() == raft::role::leader) return h;
    return {};
  }

  void run_clients() {
    const auto timeout = static_cast<std::uint64_t>(8 * _config.election_timeout_ticks);
    for (client_state& c : _clients) {
      switch (c.state) {
        case client_state::phase::writing:
          if (_now > c.deadline) {
            // Unknown outcome: it may still commit. The history keeps it open-ended.
            trace("client {} write timed out", c.id);
            c.state = client_state::phase::idle;
          }
          break;
        case client_state::phase::reading: {
          const node_state& n = _nodes[c.node];
          if (!n.up || n.incarnation != c.incarnation || _now > c.deadline) {
            _history[c.op].complete = 0;  // dropped: a read without a response has no effect
            c.state = client_state::phase::idle;
            trace("client {} read dropped", c.id);
          } else if (c.read_index && n.applied >= *c.read_index) {
            _history[c.op].value = n.value;
            _history[c.op].complete = ++_event;
            c.state = client_state::phase::idle;
            trace("client {} read {} at {}", c.id, n.value, *c.read_index);
          }
          break;
        }
        case client_state::phase::idle:
          if (_clients_stopped || _now < c.next_attempt || !_random.chance(1, 3)) break;
          start_operation(c, timeout);
          break;
      }
    }
  }

  void start_operation(client_state& c, std::uint64_t timeout) {
    const auto via = static_cast<std::size_t>(_random.uniform(_nodes.size()));
    const auto leader = find_leader_via(via);
    if (!leader) {
      c.next_attempt = _now + 3;
      return;
    }
    node_state& n = _nodes[*leader];
    c.node = *leader;
    c.incarnation = n.incarnation;
    c.deadline = _now + timeout;
    c.op = _history.size();
    if (_random.chance(3, 5)) {
      const std::int64_t value = ++_last_value;
      ++c.seq;
      _history.push_back({register_op::kind::write, value, ++_event, no_completion});
      auto r = n.core->propose(encode(write_op{c.id, c.seq, value}));
      if (!r) {
        _history.pop_back();
        c.next_attempt = _now + 2;
        return;
      }
      c.state = client_state::phase::writing;
      trace("client {} write {} at n{} index {}", c.id, value, *leader, *r);
    } else {
      c.read_id = ++_last_read_id;
      c.read_index.reset();
      _history.push_back({register_op::kind::read, 0, ++_event, no_completion});
      auto r = n.core->read_index(c.read_id);
      if (!r) {
        _history.pop_back();
        c.next_attempt = _now + 2;
        return;
      }
      c.state = client_state::phase::reading;
      trace("client {} read at n{}", c.id, *leader);
    }
    process(*leader);
  }

  // ---- Phases ----------------------------------------------------------------------------
  [[nodiscard]] std::optional<std::size_t> stable_leader() const {
    for (std::size_t i = 0; i < _nodes.size(); ++i) {
      const node_state& l = _nodes[i];
      if (!l.up || l.core->role() != raft::role::leader) continue;
      if (l.core->term_at(l.core->commit_index()) != l.core->term()) continue;
      bool all = true;
      for (const node_state& n : _nodes) {
        if (!is_member(l.core->membership(), n.id)) continue;
        all = all && n.up && n.core->term() == l.core->term() && n.core->leader() == l.id;
      }
      if (all) return i;
    }
    return {};
  }

  void liveness() {
    heal();
    const auto et = static_cast<std::uint64_t>(_config.election_timeout_ticks);
    // Pre-vote and leases can cost a few rounds: a leader within 30 election timeouts.
    const std::uint64_t elect_by = _now + 30 * et;
    // A stable leader must stay stable for two election timeouts before clients count:
    // a leadership transfer asked for during the fault phase may still complete (and lose
    // an uncommitted write, correctly) until the leader abandons it after one timeout.
    std::uint64_t settled_at = 0;
    while (!failed()) {
      if (stable_leader()) {
        if (settled_at == 0) settled_at = _now + 2 * et;
        if (_now >= settled_at) break;
      }
      if (_now >= elect_by) {
        fail("liveness: no stable leader {} ticks after faults stopped", 30 * et);
        return;
      }
      step_tick();
    }
    if (failed()) return;
    const std::uint64_t first_event = _event;
    const std::uint64_t stable_at = _now;
    const std::uint64_t stop_clients = _now + 10 * et;
    std::uint64_t done_by = 0;
    // Clients keep going for a while; every operation they start must finish.
    for (client_state& c : _clients)
      c.next_attempt = 0;
    while (!failed()) {
      if (_now >= stop_clients && !_clients_stopped) {
        _clients_stopped = true;
        done_by = _now + 10 * et + catch_up_ticks();
      }
      if (_clients_stopped && converged()) break;
      if (_clients_stopped && _now >= done_by) {
        fail("liveness: not converged {} ticks after a stable leader", _now - stable_at);
        return;
      }
      step_tick();
    }
    if (failed()) return;
    for (const register_op& op : _history) {
      if (op.invoke > first_event && (op.complete == no_completion || op.complete == 0)) {
        fail("liveness: {} {} invoked after the leader was stable never completed",
             op.op == register_op::kind::write ? "write" : "read", op.value);
        return;
      }
    }
  }

  // How long the members may take to apply what the leader holds, beyond a fixed margin.
  // A node the fault phase cut off can start the liveness phase hundreds of entries behind,
  // and without faults replication still guarantees only one batch per round trip (a
  // reordered AppendEntries sends a follower back to probing). A stuck follower still
  // fails; a slow one that keeps that pace does not.
  [[nodiscard]] std::uint64_t catch_up_ticks() const {
    const auto l = stable_leader();
    if (!l) return 0;
    const raft::raft_core& leader = *_nodes[*l].core;
    std::int64_t behind = 0;
    for (const node_state& n : _nodes) {
      if (is_member(leader.membership(), n.id)) {
        behind = std::max(behind, leader.last_index() - n.applied);
      }
    }
    const std::uint64_t batches =
        (static_cast<std::uint64_t>(behind) + _config.append_entries_max - 1) /
        _config.append_entries_max;
    return batches * 2 * _delay_max;
  }

  [[nodiscard]] bool converged() const {
    for (const client_state& c : _clients) {
      if (c.state != client_state::phase::idle) return false;
    }
    const auto l = stable_leader();
    if (!l) return false;
    const log_index last = _nodes[*l].core->last_index();
    for (const node_state& n : _nodes) {
      if (!is_member(_nodes[*l].core->membership(), n.id)) continue;
      if (n.core->commit_index() != last || n.applied != last) return false;
    }
    return true;
  }

  void check_history() {
    std::vector<register_op> ops;
    for (const register_op& op : _history) {
      if (op.complete != 0) ops.push_back(op);
    }
    _result.operations = ops.size();
    const auto verdict = check_register(ops, 0);
    _result.linearizability_gave_up = verdict.gave_up;
    if (!verdict.linearizable) fail("the client history is not linearizable ({} ops)", ops.size());
  }

  const sim_options _options;
  random_source _random;
  sim_result _result;
  raft::config _config;
  std::vector<node_state> _nodes;
  std::vector<in_flight> _network;
  std::vector<bool> _cut;  // _cut[a * n + b]: a cannot reach b
  std::vector<client_state> _clients;
  std::vector<register_op> _history;
  std::vector<committed_entry> _committed;  // index i at [i - 1]
  std::map<std::pair<std::int64_t, std::int64_t>, std::uint64_t> _log_prefixes;  // (index, term)
  std::map<std::int64_t, std::size_t> _leaders;                                  // term -> node
  std::uint64_t _now = 0;
  std::uint64_t _event = 0;
  std::uint64_t _trace = 0;
  std::int64_t _last_value = 0;
  std::uint64_t _last_read_id = 0;
  bool _faults = true;
  bool _clients_stopped = false;

  std::uint64_t _fault_ticks = 0;
  std::uint64_t _delay_max = 1;
  std::uint64_t _long_delay_per_mille = 0;
  std::uint64_t _drop_per_mille = 0;
  std::uint64_t _duplicate_per_mille = 0;
  std::uint64_t _crash_per_mille = 0;
  std::uint64_t _restart_per_mille = 0;
  std::uint64_t _torn_per_mille = 0;
  std::uint64_t _partition_per_mille = 0;
  std::uint64_t _transfer_per_mille = 0;
  std::uint64_t _crash_after_vote_per_mille = 0;
  std::uint64_t _crash_after_commit_per_mille = 0;
  std::uint64_t _crash_before_send_per_mille = 0;
  std::uint64_t _compact_per_mille = 0;  // per node and tick
  bool _figure8 = false;                 // the seed class of draw_figure8()
  bool _membership_class = false;        // the seed class of change_membership_step()
  bool _change_race = false;             // ... of draw_change_race(); also a membership seed
  std::optional<std::size_t> _change_on_election;  // a new leader to ask for a change
  std::uint64_t _membership_per_mille = 0;
  raft::membership _committed_membership;  // the latest in the committed prefix
  std::vector<std::size_t> _to_decommission;
  std::uint64_t _isolate_leader_per_mille = 0;
  std::uint64_t _heal_at = 0;  // when an isolation ends; 0: none
};

}  // namespace

sim_result run_simulation(const sim_options& options) {
  simulation s(options);
  return s.run();
}

}  // namespace caudal::sim
