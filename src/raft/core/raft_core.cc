#include "raft/core/raft_core.h"

#include "base/assert.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace caudal::raft {

raft_core::raft_core(config cfg, const hard_state& persisted, const log_store& store,
                     random_source& random)
    : _config(std::move(cfg)), _store(store), _random(random) {
  CAUDAL_ASSERT(!_config.voters.empty(), "a group needs voters");
  CAUDAL_ASSERT(_config.voters.size() + _config.learners.size() <= 64,
                "vote and read tallies are 64-bit masks: {} members",
                _config.voters.size() + _config.learners.size());
  CAUDAL_ASSERT(_config.heartbeat_interval_ticks > 0, "heartbeat interval {}",
                _config.heartbeat_interval_ticks);
  CAUDAL_ASSERT(_config.heartbeat_interval_ticks < _config.election_timeout_ticks,
                "heartbeat interval {} must be below the election timeout {}",
                _config.heartbeat_interval_ticks, _config.election_timeout_ticks);
  CAUDAL_ASSERT(_config.inflight_max > 0 && _config.append_entries_max > 0,
                "inflight_max {} append_entries_max {}", _config.inflight_max,
                _config.append_entries_max);
  _snapshot = store.latest_snapshot();
  if (_snapshot) {
    // The snapshot carries the membership of the compacted prefix: only the tail is scanned.
    _memberships.emplace_back(_snapshot->index, _snapshot->membership);
    _commit = _snapshot->index;
    _applied = _snapshot->index;
  } else {
    _memberships.emplace_back(log_index(0), raft::membership{_config.voters, _config.learners});
  }
  const log_index last = store.last_index();
  CAUDAL_ASSERT(last >= snapshot_index(), "the log ends at {} before its snapshot {}", last,
                snapshot_index());
  for (log_index first = snapshot_index() + 1; first <= last;) {
    std::vector<entry> batch;
    store.read(first, last, std::size_t{1} << 20, batch);
    for (const entry& e : batch) {
      if (e.kind != entry_kind::membership) continue;
      raft::membership m;
      CAUDAL_ASSERT(decode_membership(e.data, m), "malformed membership entry at {}", e.index);
      _memberships.emplace_back(e.index, std::move(m));
    }
    first = batch.back().index + 1;
  }
  _term = persisted.term;
  _vote = persisted.voted_for;
  _persisted = persisted;
  _unstable_first = last + 1;
  apply_membership();
  reset_election_timer();
}

bool raft_core::mutated([[maybe_unused]] raft::mutation m) const {
#ifdef CAUDAL_RAFT_MUTATIONS
  return _config.mutation == m;
#else
  return false;
#endif
}

std::size_t raft_core::position_of(node_id id) const {
  for (std::size_t i = 0; i < _peers.size(); ++i) {
    if (_peers[i] == id) return i;
  }
  return _peers.size();
}

void raft_core::apply_membership() {
  // Positions move when members come and go: carry progress, votes and read
  // acknowledgements over by node id. A new member starts probing from the log's end.
  const raft::membership& m = membership();
  std::vector<node_id> peers = m.voters;
  peers.insert(peers.end(), m.learners.begin(), m.learners.end());
  CAUDAL_ASSERT(!m.voters.empty(), "a membership without voters");
  CAUDAL_ASSERT(peers.size() <= 64, "vote and read tallies are 64-bit masks: {} members",
                peers.size());
  const auto remap = [&](std::uint64_t mask) {
    std::uint64_t out = 0;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      const std::size_t old = position_of(peers[i]);
      if (old < _peers.size() && ((mask >> old) & 1) != 0) out |= std::uint64_t{1} << i;
    }
    return out;
  };
  std::vector<progress> next(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const std::size_t old = position_of(peers[i]);
    if (old < _progress.size()) {
      next[i] = std::move(_progress[old]);
    } else {
      next[i].next = last_index() + 1;
      next[i].recent_active = true;  // a new member gets a full timeout before check-quorum
    }
  }
  for (pending_read& r : _reads)
    r.acks = remap(r.acks);
  _votes_granted = remap(_votes_granted);
  _votes_rejected = remap(_votes_rejected);
  _peers = std::move(peers);
  _voter_count = m.voters.size();
  _progress = std::move(next);
  _self_position = position_of(_config.self);
}

void raft_core::check_driver() const {
  // The contract of drain(): what it handed out is in the store before the next call.
  CAUDAL_ASSERT(_truncate_from.has_value() || _store.last_index() == _unstable_first - 1,
                "the driver did not persist the last ready: store ends at {}, core at {}",
                _store.last_index(), _unstable_first - 1);
}

// ---------------------------------------------------------------------------------------
// The log view

log_index raft_core::last_index() const {
  return _unstable.empty() ? _unstable_first - 1 : _unstable.back().index;
}

term_id raft_core::term_at(log_index index) const {
  CAUDAL_ASSERT(index >= snapshot_index() && index <= last_index(), "term_at({}) outside [{}, {}]",
                index, snapshot_index(), last_index());
  if (index == snapshot_index()) return _snapshot ? _snapshot->term : term_id(0);
  if (index >= _unstable_first)
    return _unstable[static_cast<std::size_t>(index - _unstable_first)].term;
  return _store.term_at(index);
}

void raft_core::append_entry(entry e) {
  CAUDAL_ASSERT(e.index == last_index() + 1, "append at {} after {}", e.index, last_index());
  CAUDAL_ASSERT(e.term >= term_at(last_index()), "entry term {} below the last term {}", e.term,
                term_at(last_index()));
  if (e.kind == entry_kind::membership) {
    // A membership takes effect when appended, committed or not (thesis §4.1).
    raft::membership m;
    CAUDAL_ASSERT(decode_membership(e.data, m), "malformed membership entry at {}", e.index);
    _memberships.emplace_back(e.index, std::move(m));
    _unstable.push_back(std::move(e));
    apply_membership();
    return;
  }
  _unstable.push_back(std::move(e));
}

void raft_core::truncate_and_append(std::vector<entry>::const_iterator first,
                                    std::vector<entry>::const_iterator last) {
  if (first == last) return;
  const log_index from = first->index;
  CAUDAL_ASSERT(from > _commit, "truncating committed entries: from {} commit {}", from, _commit);
  CAUDAL_ASSERT(from <= last_index() + 1, "gap: append at {} after {}", from, last_index());
  if (from >= _unstable_first) {
    _unstable.resize(static_cast<std::size_t>(from - _unstable_first));
  } else {
    // The conflict lies in the persisted part: the driver truncates before appending.
    _unstable.clear();
    _truncate_from = _truncate_from ? std::min(*_truncate_from, from) : from;
    _unstable_first = from;
  }
  if (_memberships.back().first >= from) {
    // A truncated membership entry takes its membership with it.
    while (_memberships.back().first >= from)
      _memberships.pop_back();
    apply_membership();
  }
  for (auto it = first; it != last; ++it)
    append_entry(*it);
}

void raft_core::read_entries(log_index first, log_index last_inclusive, std::size_t bytes_max,
                             std::vector<entry>& out) const {
  CAUDAL_ASSERT(
      first > snapshot_index() && first <= last_inclusive && last_inclusive <= last_index(),
      "read [{}, {}] outside ({}, {}]", first, last_inclusive, snapshot_index(), last_index());
  const std::size_t size_before = out.size();
  std::size_t bytes = 0;
  if (first < _unstable_first) {
    const log_index stable_last = std::min(last_inclusive, _unstable_first - 1);
    _store.read(first, stable_last, bytes_max, out);
    for (std::size_t i = size_before; i < out.size(); ++i)
      bytes += out[i].data.size();
    if (out.back().index < stable_last || bytes >= bytes_max) return;
    first = stable_last + 1;
  }
  for (log_index i = first; i <= last_inclusive; i = i + 1) {
    const entry& e = _unstable[static_cast<std::size_t>(i - _unstable_first)];
    if (out.size() > size_before && bytes + e.data.size() > bytes_max) break;
    bytes += e.data.size();
    out.push_back(e);
  }
}

log_index raft_core::last_index_with_term_at_most(log_index from, term_id term) const {
  // Fast backtracking: skip a whole run of entries whose term is above `term`. The scan
  // is linear in entries; a term index in the driver's store would make it per-term.
  // Below the snapshot the terms are gone: the caller then sends the snapshot.
  log_index i = std::min(from, last_index());
  if (i < snapshot_index()) return i;
  while (i > snapshot_index() && term_at(i) > term)
    i = i - 1;
  return i;
}

// ---------------------------------------------------------------------------------------
// Roles

void raft_core::reset_election_timer() {
  _election_elapsed = 0;
  _heartbeat_elapsed = 0;
  const auto t = static_cast<std::uint64_t>(_config.election_timeout_ticks);
  _randomized_timeout = static_cast<std::int32_t>(t + _random.uniform(t));
}

void raft_core::become_follower(term_id term, node_id leader, election_timer timer) {
  CAUDAL_ASSERT(term >= _term, "term went back: {} -> {}", _term, term);
  if (term > _term) {
    _term = term;
    _vote = node_none;
  }
  _role = raft::role::follower;
  _leader = leader;
  _transfer_target = node_none;
  _reads.clear();
  _broadcast_append = false;
  _broadcast_heartbeat = false;
  if (timer == election_timer::restart) reset_election_timer();
}

void raft_core::become_pre_candidate() {
  // Pre-vote (thesis §9.6): ask whether we could win before disturbing anyone's term.
  CAUDAL_ASSERT(is_voter(), "a non-voter campaigns");
  _role = raft::role::pre_candidate;
  _leader = node_none;
  _votes_granted = 0;
  _votes_rejected = 0;
  reset_election_timer();
  tally_vote(_config.self, true);
  if (_role != raft::role::pre_candidate) return;
  const log_index last = last_index();
  for (std::size_t i = 0; i < _voter_count; ++i) {
    if (i == _self_position) continue;
    message m;
    m.type = message_type::pre_vote_request;
    m.to = _peers[i];
    m.term = term_id(_term() + 1);
    m.index = last;
    m.log_term = term_at(last);
    send(std::move(m));
  }
}

void raft_core::become_candidate(bool transfer) {
  CAUDAL_ASSERT(is_voter(), "a non-voter campaigns");
  _term = term_id(_term() + 1);
  _vote = _config.self;
  _role = raft::role::candidate;
  _leader = node_none;
  _votes_granted = 0;
  _votes_rejected = 0;
  reset_election_timer();
  tally_vote(_config.self, true);
  if (_role != raft::role::candidate) return;
  const log_index last = last_index();
  for (std::size_t i = 0; i < _voter_count; ++i) {
    if (i == _self_position) continue;
    message m;
    m.type = message_type::vote_request;
    m.to = _peers[i];
    m.term = _term;
    m.index = last;
    m.log_term = term_at(last);
    m.transfer = transfer;
    send(std::move(m));
  }
}

void raft_core::become_leader() {
  _role = raft::role::leader;
  _leader = _config.self;
  _transfer_target = node_none;
  _reads.clear();
  reset_election_timer();
  const log_index last = last_index();
  for (std::size_t i = 0; i < _progress.size(); ++i) {
    progress& pr = _progress[i];
    pr = progress{};
    pr.next = last + 1;
    pr.recent_active = true;  // a fresh leader gets a full timeout before check-quorum
    pr.inflight.reserve(_config.inflight_max);
  }
  _progress[_self_position].match = last;
  // Raft §8: an entry of the new term, so that earlier entries commit (§5.4.2) and read
  // index has a commit point of this term.
  append_entry(entry{_term, last + 1, entry_kind::leader_noop, {}});
  _progress[_self_position].match = last + 1;
  _broadcast_append = true;
  maybe_commit();  // a single-node group commits at once
}

void raft_core::campaign(bool transfer) {
  if (_config.pre_vote && !transfer) {
    become_pre_candidate();
  } else {
    become_candidate(transfer);
  }
}

bool raft_core::in_leader_lease() const {
  // With check-quorum a live leader steps down when it loses its quorum, so while we hear
  // from one we refuse to help unseat it (thesis §4.2.3): a rejoining node cannot disrupt.
  return _config.check_quorum && _leader != node_none &&
         _election_elapsed < _config.election_timeout_ticks;
}

void raft_core::tally_vote(node_id from, bool granted) {
  const std::size_t pos = position_of(from);
  if (pos >= _voter_count) return;
  const std::uint64_t bit = std::uint64_t{1} << pos;
  if (granted) {
    _votes_granted |= bit;
  } else {
    _votes_rejected |= bit;
  }
  if (static_cast<std::size_t>(std::popcount(_votes_granted)) >= quorum()) {
    if (_role == raft::role::pre_candidate) {
      become_candidate(false);
    } else {
      become_leader();
    }
  } else if (static_cast<std::size_t>(std::popcount(_votes_rejected)) >= quorum()) {
    become_follower(_term, node_none, election_timer::restart);
  }
}

// ---------------------------------------------------------------------------------------
// Time

void raft_core::tick() {
  check_driver();
  if (_role == raft::role::leader) {
    ++_heartbeat_elapsed;
    ++_election_elapsed;
    if (_election_elapsed >= _config.election_timeout_ticks) {
      _election_elapsed = 0;
      _transfer_target = node_none;  // a transfer that did not finish in time is abandoned
      if (_config.check_quorum) {
        std::size_t active = 0;
        for (std::size_t i = 0; i < _progress.size(); ++i) {
          if (i < _voter_count && (i == _self_position || _progress[i].recent_active)) ++active;
          _progress[i].recent_active = false;
        }
        if (active < quorum()) {
          // Check-quorum (thesis §6.2): a leader cut off from its majority steps down, so
          // clients stop waiting on it and its lease-holding followers can elect anew.
          become_follower(_term, node_none, election_timer::restart);
          return;
        }
      }
    }
    if (_heartbeat_elapsed >= _config.heartbeat_interval_ticks) {
      _heartbeat_elapsed = 0;
      send_heartbeats(_read_round);
    }
    return;
  }
  ++_election_elapsed;
  if (_election_elapsed < _randomized_timeout) return;
  if (is_voter()) {
    campaign(false);
  } else {
    _election_elapsed = _randomized_timeout;  // learners and outsiders never campaign
  }
}

// ---------------------------------------------------------------------------------------
// Messages

void raft_core::send(message m) {
  m.from = _config.self;
  _outbox.push_back(std::move(m));
}

void raft_core::step(const message& m) {
  check_driver();
  if (m.to != _config.self || m.from == _config.self) return;
  const bool from_leader = m.type == message_type::append_request ||
                           m.type == message_type::heartbeat ||
                           m.type == message_type::install_snapshot;
  if (position_of(m.from) >= _peers.size() && !from_leader) {
    // A removed node's campaigns must not disturb the group. A leader is followed even
    // when our membership does not list it yet (we joined and have not caught up).
    return;
  }

  if (m.term > _term) {
    const bool vote_like =
        m.type == message_type::vote_request || m.type == message_type::pre_vote_request;
    if (vote_like && !m.transfer && in_leader_lease()) return;
    if (m.type == message_type::pre_vote_request) {
      // A pre-vote never moves our term: the sender has not campaigned yet.
    } else if (m.type == message_type::pre_vote_response && !m.reject) {
      // Granted at the term we would campaign in; the tally below handles it.
    } else {
      const bool leader_sent = from_leader || m.type == message_type::timeout_now;
      // Only a leader's message restarts the timeout (handle_append and handle_heartbeat
      // do it again). A vote request of a higher term moves our term but, unless we grant
      // it (handle_vote_request), leaves our timeout running: in a two-node group where
      // only one log can win, the other node's doomed campaigns would otherwise restart
      // the winner's timer every round (seed 42446367558409).
      become_follower(m.term, leader_sent ? m.from : node_none,
                      leader_sent ? election_timer::restart : election_timer::keep);
    }
  } else if (m.term < _term) {
    if (from_leader) {
      // A stale leader learns our term from the reply and steps down. Without this, a
      // leader cut off and healed could keep heartbeating a follower that ignores it.
      message r;
      r.type = message_type::append_response;
      r.to = m.from;
      r.term = _term;
      r.reject = true;
      send(std::move(r));
    } else if (m.type == message_type::pre_vote_request) {
      message r;
      r.type = message_type::pre_vote_response;
      r.to = m.from;
      r.term = _term;
      r.reject = true;
      send(std::move(r));
    }
    return;
  }

  switch (m.type) {
    case message_type::pre_vote_request:
    case message_type::vote_request:
      handle_vote_request(m);
      break;
    case message_type::pre_vote_response:
      if (_role == raft::role::pre_candidate && (m.reject || m.term == term_id(_term() + 1))) {
        tally_vote(m.from, !m.reject);
      }
      break;
    case message_type::vote_response:
      if (_role == raft::role::candidate && m.term == _term) tally_vote(m.from, !m.reject);
      break;
    case message_type::append_request:
      handle_append(m);
      break;
    case message_type::append_response:
      if (_role == raft::role::leader) handle_append_response(m);
      break;
    case message_type::heartbeat:
      handle_heartbeat(m);
      break;
    case message_type::heartbeat_response:
      if (_role == raft::role::leader) handle_heartbeat_response(m);
      break;
    case message_type::timeout_now:
      if (_role != raft::role::leader && is_voter()) campaign(true);
      break;
    case message_type::install_snapshot:
      handle_install_snapshot(m);
      break;
  }
}

void raft_core::handle_vote_request(const message& m) {
  const bool pre = m.type == message_type::pre_vote_request;
  const bool can_vote =
      _vote == m.from || (_vote == node_none && _leader == node_none) || (pre && m.term > _term);
  const log_index last = last_index();
  const term_id last_term = term_at(last);
  // Raft §5.4.1: only a candidate whose log is at least as up-to-date as ours may win.
  const bool up_to_date = m.log_term > last_term || (m.log_term == last_term && m.index >= last);
  message r;
  r.type = pre ? message_type::pre_vote_response : message_type::vote_response;
  r.to = m.from;
  if (can_vote && (up_to_date || mutated(raft::mutation::vote_without_log_check))) {
    r.term = m.term;
    if (!pre) {
      _vote = m.from;
      _election_elapsed = 0;
    }
  } else {
    r.term = _term;
    r.reject = true;
  }
  send(std::move(r));
}

void raft_core::handle_append(const message& m) {
  if (_role != raft::role::follower || _leader != m.from) {
    become_follower(_term, m.from, election_timer::restart);
  }
  _election_elapsed = 0;
  message r;
  r.type = message_type::append_response;
  r.to = m.from;
  r.term = _term;
  if (m.index < _commit) {
    // Everything up to our commit index matches the leader's log already.
    r.index = _commit;
    send(std::move(r));
    return;
  }
  if (m.index <= last_index() && term_at(m.index) == m.log_term) {
    auto first_new = m.entries.begin();
    for (; first_new != m.entries.end(); ++first_new) {
      if (first_new->index > last_index() || term_at(first_new->index) != first_new->term) {
        break;
      }
    }
    truncate_and_append(first_new, m.entries.end());
    // Only what this message proves matches may be acknowledged or committed; entries
    // beyond it may still be another leader's.
    const log_index matched = m.index + static_cast<std::int64_t>(m.entries.size());
    commit_to(std::min(m.commit, matched));
    r.index = matched;
    send(std::move(r));
    return;
  }
  r.reject = true;
  r.index = m.index;
  r.hint_index = last_index_with_term_at_most(m.index, m.log_term);
  r.hint_term = term_at(r.hint_index);
  send(std::move(r));
}

void raft_core::become_probe(progress& pr, log_index next) {
  pr.replicating = false;
  pr.probe_sent = false;
  pr.stalled_heartbeats = 0;
  pr.inflight.clear();
  pr.next = std::max(next, pr.match + 1);
}

void raft_core::handle_append_response(const message& m) {
  const std::size_t pos = position_of(m.from);
  if (pos >= _peers.size()) return;  // removed since
  progress& pr = _progress[pos];
  pr.recent_active = true;
  if (m.reject) {
    if (m.index() == 0 && m.hint_index() == 0 && m.hint_term() == 0) return;  // term reply
    const bool stale = pr.replicating ? m.index <= pr.match : m.index != pr.next - 1;
    if (stale) return;
    // Fast backtracking: jump over the follower's conflicting term in one step.
    log_index next = m.hint_index + 1;
    if (m.hint_term() > 0) next = last_index_with_term_at_most(m.hint_index, m.hint_term) + 1;
    become_probe(pr, std::min(next, m.index));
    send_append(pos);
    return;
  }
  if (m.index > pr.match) {
    pr.match = m.index;
    pr.stalled_heartbeats = 0;
    if (!pr.replicating) {
      pr.replicating = true;
      pr.inflight.clear();
      pr.next = pr.match + 1;
    } else {
      pr.next = std::max(pr.next, pr.match + 1);
    }
    auto acked = std::find_if(pr.inflight.begin(), pr.inflight.end(),
                              [&](log_index i) { return i > m.index; });
    pr.inflight.erase(pr.inflight.begin(), acked);
    maybe_commit();
    if (_role != raft::role::leader) return;
    maybe_send_timeout_now(pos);
  } else if (!pr.replicating) {
    pr.probe_sent = false;
  }
  send_append(pos);
}

void raft_core::handle_heartbeat(const message& m) {
  if (_role != raft::role::follower || _leader != m.from) {
    become_follower(_term, m.from, election_timer::restart);
  }
  _election_elapsed = 0;
  // The leader sends min(its commit, our match), which our log is known to hold.
  commit_to(std::min(m.commit, last_index()));
  message r;
  r.type = message_type::heartbeat_response;
  r.to = m.from;
  r.term = _term;
  r.context = m.context;
  send(std::move(r));
}

void raft_core::handle_heartbeat_response(const message& m) {
  const std::size_t pos = position_of(m.from);
  if (pos >= _peers.size()) return;  // removed since
  progress& pr = _progress[pos];
  pr.recent_active = true;
  pr.probe_sent = false;
  if (pr.match < last_index()) {
    // In-flight AppendEntries may have been lost; with no reply they would never be sent
    // again. Two heartbeat rounds without progress fall back to probing from the match.
    if (pr.replicating && ++pr.stalled_heartbeats >= 2) become_probe(pr, pr.match + 1);
    send_append(pos);
  }
  if (m.context > 0) {
    const std::uint64_t bit = std::uint64_t{1} << pos;
    for (pending_read& r : _reads) {
      if (r.round <= m.context) r.acks |= bit;
    }
    while (!_reads.empty() && static_cast<std::size_t>(
                                  std::popcount(_reads.front().acks & voter_mask())) >= quorum()) {
      _ready_reads.push_back(read_state{_reads.front().request_id, _reads.front().index});
      _reads.pop_front();
    }
  }
}

void raft_core::handle_install_snapshot(const message& m) {
  if (_role != raft::role::follower || _leader != m.from) {
    become_follower(_term, m.from, election_timer::restart);
  }
  _election_elapsed = 0;
  // Malformed input is not a bug: drop it, and the leader sends the snapshot again.
  if (!m.snapshot || m.snapshot->index() < 1 || m.snapshot->membership.voters.empty()) return;
  const raft::snapshot& s = *m.snapshot;
  message r;
  r.type = message_type::append_response;
  r.to = m.from;
  r.term = _term;
  if (s.index <= _commit) {
    // Stale or duplicate: what we committed matches the leader's log already.
    r.index = _commit;
    send(std::move(r));
    return;
  }
  if (s.index <= last_index() &&
      (term_at(s.index) == s.term || mutated(raft::mutation::snapshot_over_conflict))) {
    // Our log holds the snapshot's last entry, hence (log matching) all before it: keep
    // the log, and the entries after it, which may be the leader's too.
    commit_to(s.index);
    r.index = s.index;
    send(std::move(r));
    return;
  }
  // Raft §7: the snapshot replaces the whole log, and the state machine restarts from it.
  _pending_compaction.reset();
  _pending_install = m.snapshot;
  _snapshot = m.snapshot;
  _unstable.clear();
  _truncate_from.reset();
  _unstable_first = s.index + 1;
  _commit = s.index;
  _applied = s.index;
  _memberships.clear();
  _memberships.emplace_back(s.index, s.membership);
  apply_membership();
  r.index = s.index;
  send(std::move(r));
}

void raft_core::send_append(std::size_t position) {
  CAUDAL_ASSERT(_role == raft::role::leader, "send_append as {}", static_cast<int>(_role));
  if (position == _self_position) return;
  progress& pr = _progress[position];
  if (pr.next <= snapshot_index()) {
    // The entry before `next` is compacted: its term, which the follower must match, is
    // gone, and so are the entries it needs.
    send_snapshot(position);
    return;
  }
  const log_index last = last_index();
  const auto send_from = [&](log_index next) {
    message m;
    m.type = message_type::append_request;
    m.to = _peers[position];
    m.term = _term;
    m.index = next - 1;
    m.log_term = term_at(next - 1);
    m.commit = _commit;
    if (next <= last) {
      const log_index until =
          std::min(last, next + static_cast<std::int64_t>(_config.append_entries_max) - 1);
      read_entries(next, until, _config.append_bytes_max, m.entries);
    }
    const log_index sent_last = m.index + static_cast<std::int64_t>(m.entries.size());
    send(std::move(m));
    return sent_last;
  };
  if (pr.replicating) {
    // Pipelining: up to inflight_max batches outstanding, next advanced optimistically.
    while (pr.inflight.size() < _config.inflight_max && pr.next <= last) {
      const log_index sent_last = send_from(pr.next);
      pr.inflight.push_back(sent_last);
      pr.next = sent_last + 1;
    }
    return;
  }
  if (pr.probe_sent) return;
  pr.probe_sent = true;
  send_from(pr.next);
}

void raft_core::send_snapshot(std::size_t position) {
  progress& pr = _progress[position];
  // One snapshot in flight at a time. Its reply moves `match` to the snapshot's index; if
  // it is lost, a heartbeat reply clears probe_sent, the AppendEntries after the snapshot
  // is refused, and the refusal sends the snapshot again.
  if (!pr.replicating && pr.probe_sent) return;
  become_probe(pr, snapshot_index() + 1);
  pr.probe_sent = true;
  message m;
  m.type = message_type::install_snapshot;
  m.to = _peers[position];
  m.term = _term;
  m.index = snapshot_index();
  m.log_term = _snapshot->term;
  m.commit = _commit;
  m.snapshot = _snapshot;
  send(std::move(m));
}

void raft_core::send_heartbeats(std::uint64_t context) {
  for (std::size_t i = 0; i < _peers.size(); ++i) {
    if (i == _self_position) continue;
    message m;
    m.type = message_type::heartbeat;
    m.to = _peers[i];
    m.term = _term;
    m.commit = std::min(_commit, _progress[i].match);
    m.context = context;
    send(std::move(m));
  }
}

void raft_core::maybe_commit() {
  std::uint64_t scratch[64];
  const std::size_t n = _voter_count;  // learners do not count
  for (std::size_t i = 0; i < n; ++i) {
    scratch[i] =
        static_cast<std::uint64_t>(i == _self_position ? last_index()() : _progress[i].match());
  }
  std::sort(scratch, scratch + n, std::greater<>());
  const log_index candidate(static_cast<std::int64_t>(scratch[quorum() - 1]));
  if (candidate <= _commit) return;
  // Raft §5.4.2: counting replicas commits only entries of the current term; earlier
  // ones commit with them (Figure 8 shows why).
  if (term_at(candidate) != _term && !mutated(raft::mutation::commit_old_term_by_count)) {
    return;
  }
  commit_to(candidate);
}

void raft_core::commit_to(log_index index) {
  if (index <= _commit) return;
  CAUDAL_ASSERT(index <= last_index(), "commit {} past the log end {}", index, last_index());
  _commit = index;
  if (_role == raft::role::leader) _broadcast_heartbeat = true;
}

void raft_core::maybe_send_timeout_now(std::size_t position) {
  if (_transfer_target != _peers[position]) return;
  if (_progress[position].match != last_index()) return;
  message m;
  m.type = message_type::timeout_now;
  m.to = _transfer_target;
  m.term = _term;
  send(std::move(m));
}

// ---------------------------------------------------------------------------------------
// Requests

result<log_index> raft_core::propose(std::vector<std::byte> data) {
  check_driver();
  if (_role != raft::role::leader) return errc::not_leader;
  if (_transfer_target != node_none) return errc::transfer_in_progress;
  if (data.size() > _config.entry_bytes_max) return errc::proposal_too_large;
  if (static_cast<std::size_t>(last_index() - _commit) >= _config.uncommitted_max) {
    return errc::queue_full;
  }
  const log_index index = last_index() + 1;
  append_entry(entry{_term, index, entry_kind::normal, std::move(data)});
  _progress[_self_position].match = index;
  _broadcast_append = true;
  maybe_commit();
  return index;
}

result<void> raft_core::read_index(std::uint64_t request_id) {
  check_driver();
  if (_role != raft::role::leader) return errc::not_leader;
  if (_transfer_target != node_none) return errc::transfer_in_progress;
  // Until an entry of this term commits, our commit index may lag the previous leader's
  // (thesis §6.4 step 1).
  if (term_at(_commit) != _term) return errc::leader_not_ready;
  if (_reads.size() >= _config.pending_reads_max) return errc::queue_full;
  if (_voter_count == 1) {
    _ready_reads.push_back(read_state{request_id, _commit});
    return ok();
  }
  ++_read_round;
  _reads.push_back(
      pending_read{request_id, _commit, _read_round, std::uint64_t{1} << _self_position});
  _broadcast_heartbeat = true;
  return ok();
}

result<void> raft_core::transfer_leadership(node_id target) {
  check_driver();
  if (_role != raft::role::leader) return errc::not_leader;
  const std::size_t pos = position_of(target);
  if (pos >= _voter_count) return errc::unknown_node;  // a learner cannot lead
  if (target == _config.self) return ok();
  _transfer_target = target;
  _election_elapsed = 0;  // the transfer has one election timeout to finish
  maybe_send_timeout_now(pos);
  send_append(pos);
  return ok();
}

result<log_index> raft_core::change_membership(change what, node_id node) {
  check_driver();
  if (_role != raft::role::leader) return errc::not_leader;
  if (_transfer_target != node_none) return errc::transfer_in_progress;
  // The fix to single-server changes: a leader that has not committed an entry of its
  // term may hold an uncommitted change of a deposed leader that another node's log
  // lacks; a change on top of it could make two majorities that do not overlap.
  if (term_at(_commit) != _term && !mutated(raft::mutation::change_before_own_commit)) {
    return errc::leader_not_ready;
  }
  // One change at a time: any majority of the old and of the new membership overlap
  // only if they differ by one node.
  if (_memberships.back().first > _commit) return errc::change_in_progress;
  if (static_cast<std::size_t>(last_index() - _commit) >= _config.uncommitted_max) {
    return errc::queue_full;
  }
  raft::membership next = membership();
  const std::size_t pos = position_of(node);
  const bool voter = pos < _voter_count;
  const bool learner = pos >= _voter_count && pos < _peers.size();
  switch (what) {
    case change::add_learner:
      if (voter || learner || node() < 0) return errc::invalid_change;
      next.learners.push_back(node);
      break;
    case change::promote_learner:
      if (!learner) return errc::invalid_change;
      // A learner that votes before it caught up would slow every commit, or with a few
      // such, stop commits altogether.
      if (_progress[pos].match < _commit) return errc::learner_behind;
      std::erase(next.learners, node);
      next.voters.push_back(node);
      break;
    case change::remove_node:
      if ((!voter && !learner) || node == _config.self) return errc::invalid_change;
      std::erase(next.voters, node);
      std::erase(next.learners, node);
      break;
  }
  const log_index index = last_index() + 1;
  append_entry(entry{_term, index, entry_kind::membership, encode_membership(next)});
  _progress[_self_position].match = index;
  _broadcast_append = true;
  maybe_commit();
  return index;
}

result<void> raft_core::compact(log_index index, std::vector<std::byte> state) {
  check_driver();
  if (index > _applied) return errc::not_applied;
  if (state.size() > _config.snapshot_bytes_max) return errc::snapshot_too_large;
  if (index <= snapshot_index()) return ok();
  // Applied entries came out of a ready that also persisted them.
  CAUDAL_ASSERT(index < _unstable_first, "compacting unpersisted entries: {} from {}", index,
                _unstable_first);
  auto s = std::make_shared<raft::snapshot>();
  s->index = index;
  s->term = term_at(index);
  // The membership in effect at `index` becomes the base; later ones stay in the log.
  auto after = std::find_if(_memberships.begin(), _memberships.end(),
                            [&](const auto& m) { return m.first > index; });
  s->membership = std::prev(after)->second;
  s->data = std::move(state);
  _memberships.erase(_memberships.begin(), std::prev(after));
  _memberships.front().first = index;
  _snapshot = s;
  _pending_compaction = std::move(s);
  return ok();
}

// ---------------------------------------------------------------------------------------
// Output

bool raft_core::has_ready() const {
  return !_outbox.empty() || !_unstable.empty() || _truncate_from.has_value() ||
         _pending_compaction != nullptr || _pending_install != nullptr ||
         hard_state{_term, _vote} != _persisted || _commit > _applied || !_ready_reads.empty() ||
         (_role == raft::role::leader && (_broadcast_append || _broadcast_heartbeat));
}

ready raft_core::drain() {
  if (_role == raft::role::leader) {
    // Batching: proposals since the last drain go out together, per follower.
    if (_broadcast_append) {
      for (std::size_t i = 0; i < _peers.size(); ++i)
        send_append(i);
    }
    if (_broadcast_heartbeat) send_heartbeats(_read_round);
  }
  _broadcast_append = false;
  _broadcast_heartbeat = false;

  ready r;
  const hard_state current{_term, _vote};
  if (current != _persisted) {
    r.term_and_vote = current;
    if (mutated(raft::mutation::forget_vote)) r.term_and_vote->voted_for = node_none;
    _persisted = current;
  }
  if (_commit > _applied) {
    const log_index until =
        std::min(_commit, _applied + static_cast<std::int64_t>(_config.apply_entries_max));
    read_entries(_applied + 1, until, ~std::size_t{0}, r.committed);
    _applied = r.committed.back().index;
  }
  r.compacted = std::move(_pending_compaction);
  r.installed = std::move(_pending_install);
  _pending_compaction.reset();
  _pending_install.reset();
  r.truncate_from = _truncate_from;
  _truncate_from.reset();
  _unstable_first = last_index() + 1;
  r.entries = std::move(_unstable);
  _unstable.clear();
  r.messages = std::move(_outbox);
  _outbox.clear();
  r.reads = std::move(_ready_reads);
  _ready_reads.clear();
  return r;
}

}  // namespace caudal::raft
