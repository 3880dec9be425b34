#include "group/group.h"

#include "base/assert.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace caudal::group {

std::string_view state_name(group_state s) {
  switch (s) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
    case group_state::dead:
      return "Dead";
  }
  return "Dead";
}

group::group(std::string id, group_limits limits, std::uint64_t seed, std::int64_t now_ms)
    : _id(std::move(id)), _limits(limits), _rng(seed), _state_timestamp_ms(now_ms) {}

void group::restore(const group_description& d, std::int64_t now_ms) {
  CAUDAL_ASSERT(_members.empty(), "restore into a group with {} members", _members.size());
  _generation = d.generation;
  _protocol_type = d.protocol_type;
  _protocol_name = d.protocol_name;
  _leader = d.leader;
  _state_timestamp_ms = d.state_timestamp_ms >= 0 ? d.state_timestamp_ms : now_ms;
  for (const auto& m : d.members) {
    member x;
    x.id = m.member_id;
    x.instance_id = m.instance_id;
    x.client_id = m.client_id;
    x.client_host = m.client_host;
    x.session_timeout_ms = m.session_timeout_ms;
    x.rebalance_timeout_ms = m.rebalance_timeout_ms;
    x.protocol_type = d.protocol_type.value_or("");
    if (d.protocol_name) x.protocols.push_back({*d.protocol_name, m.metadata});
    x.assignment = m.assignment;
    x.session_deadline_ms = now_ms + m.session_timeout_ms;
    x.join_order = _join_counter++;
    if (x.instance_id) _static_members[*x.instance_id] = x.id;
    _members.emplace(x.id, std::move(x));
  }
  if (_leader && !_members.contains(*_leader)) _leader.reset();
  _state = _members.empty() ? group_state::empty : group_state::stable;
}

void group::set_state(group_state s, std::int64_t now_ms) {
  if (s != _state) _state_timestamp_ms = now_ms;
  _state = s;
}

std::string group::new_member_id(const std::string& client_id) {
  // Kafka's form: the client id, a dash, a random UUID.
  const std::uint64_t a = _rng.next();
  const std::uint64_t b = _rng.next();
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", client_id, a >> 32,
                     (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffffffffffffULL);
}

bool group::supports(const std::string& type, const std::vector<member_protocol>& protocols) const {
  if (_members.empty()) return !type.empty() && !protocols.empty();
  if (!_protocol_type || *_protocol_type != type) return false;
  for (const auto& p : protocols) {
    const bool everyone = std::all_of(_members.begin(), _members.end(), [&](const auto& kv) {
      const auto& theirs = kv.second.protocols;
      return std::any_of(theirs.begin(), theirs.end(),
                         [&](const member_protocol& q) { return q.name == p.name; });
    });
    if (everyone) return true;
  }
  return false;
}

std::string group::select_protocol() const {
  CAUDAL_ASSERT(!_members.empty(), "protocol selection in group {} without members", _id);
  // Candidates: protocols every member supports, in the first member's preference order.
  const member& first =
      std::min_element(_members.begin(), _members.end(), [](const auto& a, const auto& b) {
        return a.second.join_order < b.second.join_order;
      })->second;
  std::vector<std::string> candidates;
  for (const auto& p : first.protocols) {
    const bool everyone = std::all_of(_members.begin(), _members.end(), [&](const auto& kv) {
      return std::any_of(kv.second.protocols.begin(), kv.second.protocols.end(),
                         [&](const member_protocol& q) { return q.name == p.name; });
    });
    if (everyone) candidates.push_back(p.name);
  }
  CAUDAL_ASSERT(!candidates.empty(), "group {} has no common protocol", _id);
  // Each member votes for the candidate it lists first; the most votes win (Kafka's vote).
  std::map<std::string, int> votes;
  for (const auto& [id, m] : _members) {
    for (const auto& p : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (const auto& c : candidates) {
    if (votes[c] > votes[best]) best = c;
  }
  return best;
}

bool group::is_fenced(const std::string& member_id,
                      const std::optional<std::string>& instance_id) const {
  if (!instance_id) return false;
  auto it = _static_members.find(*instance_id);
  return it != _static_members.end() && it->second != member_id;
}

join_result group::current_join_result(const member& m, bool with_members) const {
  join_result r;
  r.generation = _generation;
  r.protocol_type = _protocol_type;
  r.protocol_name = _protocol_name;
  r.leader = _leader.value_or("");
  r.member_id = m.id;
  if (with_members) {
    for (const auto& [id, x] : _members) {
      join_member jm;
      jm.member_id = id;
      jm.instance_id = x.instance_id;
      for (const auto& p : x.protocols) {
        if (_protocol_name && p.name == *_protocol_name) jm.metadata = p.metadata;
      }
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void group::complete_join_callback(member& m, join_result r) {
  if (!m.awaiting_join) return;
  _outbox.push_back([cb = std::move(m.awaiting_join), r = std::move(r)]() mutable { cb(r); });
  m.awaiting_join = nullptr;
}

void group::complete_sync_callback(member& m, sync_result r) {
  if (!m.awaiting_sync) return;
  _outbox.push_back([cb = std::move(m.awaiting_sync), r = std::move(r)]() mutable { cb(r); });
  m.awaiting_sync = nullptr;
}

void group::join(join_request r, std::int64_t now_ms, join_callback done) {
  auto fail = [&](error e) {
    join_result out;
    out.err = e;
    out.member_id = r.member_id;
    _outbox.push_back([done = std::move(done), out = std::move(out)]() { done(out); });
  };
  if (_state == group_state::dead) return fail(error::coordinator_not_available);
  if (r.session_timeout_ms < _limits.session_timeout_ms_min ||
      r.session_timeout_ms > _limits.session_timeout_ms_max) {
    return fail(error::invalid_session_timeout);
  }
  if (!supports(r.protocol_type, r.protocols)) return fail(error::inconsistent_group_protocol);

  if (r.member_id.empty()) {
    // A new member, or a static member restarting (it does not know its member id).
    if (r.instance_id) {
      if (auto it = _static_members.find(*r.instance_id); it != _static_members.end()) {
        const std::string old_id = it->second;
        return replace_static_member(r, old_id, now_ms, std::move(done));
      }
    }
    if (_members.size() >= _limits.members_max) return fail(error::group_max_size_reached);
    const std::string id = new_member_id(r.client_id);
    if (!r.instance_id && r.require_known_member_id) {
      // KIP-394: hand out the id and let the member come back with it, so a client that
      // never sees this answer does not leave a ghost member behind.
      _pending_members[id] = now_ms + r.session_timeout_ms;
      join_result out;
      out.err = error::member_id_required;
      out.member_id = id;
      _outbox.push_back([done = std::move(done), out = std::move(out)]() { done(out); });
      return;
    }
    return add_member_and_rebalance(r, id, now_ms, std::move(done));
  }

  if (auto p = _pending_members.find(r.member_id); p != _pending_members.end()) {
    _pending_members.erase(p);
    const std::string id = r.member_id;
    return add_member_and_rebalance(r, id, now_ms, std::move(done));
  }
  if (is_fenced(r.member_id, r.instance_id)) return fail(error::fenced_instance_id);
  auto it = _members.find(r.member_id);
  if (it == _members.end() || (r.instance_id && !_static_members.contains(*r.instance_id))) {
    return fail(error::unknown_member_id);
  }
  member& m = it->second;
  switch (_state) {
    case group_state::preparing_rebalance:
      return update_member_and_rebalance(m, r, now_ms, std::move(done));
    case group_state::completing_rebalance:
      // The same metadata again: the member missed its join answer; give it once more.
      if (m.protocols == r.protocols) {
        m.awaiting_join = std::move(done);
        complete_join_callback(m, current_join_result(m, _leader == m.id));
        return;
      }
      return update_member_and_rebalance(m, r, now_ms, std::move(done));
    case group_state::stable:
      // The leader's join always rebalances (it may have seen topic metadata change); a
      // follower's only if its metadata changed (cooperative rebalancing relies on this).
      if (_leader == m.id || m.protocols != r.protocols) {
        return update_member_and_rebalance(m, r, now_ms, std::move(done));
      }
      m.awaiting_join = std::move(done);
      complete_join_callback(m, current_join_result(m, false));
      return;
    case group_state::empty:
    case group_state::dead:
      return fail(error::unknown_member_id);
  }
}

void group::add_member_and_rebalance(join_request& r, const std::string& member_id,
                                     std::int64_t now_ms, join_callback done) {
  if (_members.empty()) _protocol_type = r.protocol_type;
  member m;
  m.id = member_id;
  m.instance_id = r.instance_id;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  m.protocol_type = r.protocol_type;
  m.protocols = std::move(r.protocols);
  m.awaiting_join = std::move(done);
  m.session_deadline_ms = now_ms + r.session_timeout_ms;
  m.join_order = _join_counter++;
  if (m.instance_id) _static_members[*m.instance_id] = member_id;
  _members.emplace(member_id, std::move(m));
  _new_member_added = true;
  if (!_leader) _leader = member_id;
  maybe_prepare_rebalance(now_ms);
  maybe_complete_join(now_ms);
}

void group::update_member_and_rebalance(member& m, join_request& r, std::int64_t now_ms,
                                        join_callback done) {
  m.protocols = std::move(r.protocols);
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  if (m.awaiting_join) {
    // A second join while the first waits: the first gets nothing more (the client
    // abandoned it), so answer it now rather than leak it.
    join_result stale;
    stale.err = error::rebalance_in_progress;
    stale.member_id = m.id;
    complete_join_callback(m, std::move(stale));
  }
  m.awaiting_join = std::move(done);
  m.session_deadline_ms = now_ms + m.session_timeout_ms;
  maybe_prepare_rebalance(now_ms);
  maybe_complete_join(now_ms);
}

void group::replace_static_member(join_request& r, const std::string& old_id, std::int64_t now_ms,
                                  join_callback done) {
  auto node = _members.extract(old_id);
  CAUDAL_ASSERT(!node.empty(), "static member {} of group {} is missing", old_id, _id);
  member& old = node.mapped();
  // Whoever still waits under the old id has been replaced by a newer process.
  join_result fenced_join;
  fenced_join.err = error::fenced_instance_id;
  fenced_join.member_id = old_id;
  complete_join_callback(old, std::move(fenced_join));
  sync_result fenced_sync;
  fenced_sync.err = error::fenced_instance_id;
  complete_sync_callback(old, std::move(fenced_sync));

  const std::optional<std::string> leader_before = _leader;
  const std::string new_id = new_member_id(r.client_id);
  node.key() = new_id;
  member& m = node.mapped();
  m.id = new_id;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  const bool same_protocols = m.protocols == r.protocols;
  m.protocols = std::move(r.protocols);
  m.session_deadline_ms = now_ms + m.session_timeout_ms;
  _members.insert(std::move(node));
  _static_members[*r.instance_id] = new_id;
  if (_leader == old_id) _leader = new_id;
  member& placed = _members.at(new_id);

  switch (_state) {
    case group_state::stable:
      if (same_protocols || select_protocol() == _protocol_name) {
        // KIP-345: no rebalance. The answer names the old leader id, so a restarted
        // leader does not compute an assignment a Stable group would never send out.
        placed.awaiting_join = std::move(done);
        join_result out = current_join_result(placed, false);
        out.leader = leader_before.value_or("");
        complete_join_callback(placed, std::move(out));
        _store_requested = true;
        return;
      }
      placed.awaiting_join = std::move(done);
      prepare_rebalance(now_ms);
      return;
    case group_state::completing_rebalance:
      // The leader may have assigned under the old id: rebalance so the ids agree.
      placed.awaiting_join = std::move(done);
      prepare_rebalance(now_ms);
      return;
    case group_state::preparing_rebalance:
      placed.awaiting_join = std::move(done);
      maybe_complete_join(now_ms);
      return;
    case group_state::empty:
    case group_state::dead:
      CAUDAL_ASSERT(false, "group {} has static members while {}", _id, state_name(_state));
  }
}

void group::maybe_prepare_rebalance(std::int64_t now_ms) {
  if (_state == group_state::stable || _state == group_state::completing_rebalance ||
      _state == group_state::empty) {
    prepare_rebalance(now_ms);
  }
}

void group::fail_pending_syncs(error e) {
  for (auto& [id, m] : _members) {
    sync_result r;
    r.err = e;
    complete_sync_callback(m, std::move(r));
  }
}

void group::prepare_rebalance(std::int64_t now_ms) {
  if (_state == group_state::completing_rebalance) fail_pending_syncs(error::rebalance_in_progress);
  std::int32_t rebalance_timeout_ms = 0;
  for (const auto& [id, m] : _members)
    rebalance_timeout_ms = std::max(rebalance_timeout_ms, m.rebalance_timeout_ms);
  if (_state == group_state::empty) {
    // group.initial.rebalance.delay.ms: wait for more members of a starting group, each
    // newcomer extending the wait by the delay, up to the rebalance timeout.
    _initial_delay = true;
    _new_member_added = false;
    const std::int64_t delay =
        std::min<std::int64_t>(_limits.initial_rebalance_delay_ms, rebalance_timeout_ms);
    _join_deadline_ms = now_ms + delay;
    _initial_delay_remaining_ms = std::max<std::int64_t>(rebalance_timeout_ms - delay, 0);
  } else {
    _initial_delay = false;
    _join_deadline_ms = now_ms + rebalance_timeout_ms;
  }
  set_state(group_state::preparing_rebalance, now_ms);
  if (_initial_delay && _join_deadline_ms <= now_ms) {
    complete_join(now_ms);
  } else {
    maybe_complete_join(now_ms);  // e.g. the last member left: nobody to wait for
  }
}

void group::maybe_complete_join(std::int64_t now_ms) {
  if (_state != group_state::preparing_rebalance || _initial_delay) return;
  const bool all_joined = std::all_of(_members.begin(), _members.end(),
                                      [](const auto& kv) { return bool(kv.second.awaiting_join); });
  if (all_joined && _pending_members.empty()) complete_join(now_ms);
}

void group::complete_join(std::int64_t now_ms) {
  CAUDAL_ASSERT(_state == group_state::preparing_rebalance, "group {} completes a join in {}", _id,
                state_name(_state));
  _initial_delay = false;
  // Dynamic members that did not rejoin in time are gone; static ones keep their place
  // (KIP-345) and get their assignment when they come back.
  for (auto it = _members.begin(); it != _members.end();) {
    if (!it->second.awaiting_join && !it->second.instance_id) {
      if (_leader == it->first) _leader.reset();
      it = _members.erase(it);
    } else {
      ++it;
    }
  }
  ++_generation;
  if (_members.empty()) {
    _protocol_name.reset();
    _leader.reset();
    set_state(group_state::empty, now_ms);
    _store_requested = true;
    return;
  }
  _protocol_name = select_protocol();
  if (!_leader || !_members.contains(*_leader) || !_members.at(*_leader).awaiting_join) {
    // Prefer a member that is waiting for its answer, so the assignment gets made.
    const member* best = nullptr;
    for (const auto& [id, m] : _members) {
      if (m.awaiting_join && (best == nullptr || m.join_order < best->join_order)) best = &m;
    }
    if (best == nullptr) best = &_members.begin()->second;
    _leader = best->id;
  }
  set_state(group_state::completing_rebalance, now_ms);
  for (auto& [id, m] : _members) {
    m.assignment.clear();
    m.session_deadline_ms = now_ms + m.session_timeout_ms;
    complete_join_callback(m, current_join_result(m, _leader == id));
  }
}

void group::sync(sync_request r, std::int64_t now_ms, sync_callback done) {
  auto answer = [&](error e, std::vector<std::byte> assignment = {}) {
    sync_result out;
    out.err = e;
    out.protocol_type = _protocol_type;
    out.protocol_name = _protocol_name;
    out.assignment = std::move(assignment);
    _outbox.push_back([done = std::move(done), out = std::move(out)]() { done(out); });
  };
  if (_state == group_state::dead) return answer(error::coordinator_not_available);
  if (is_fenced(r.member_id, r.instance_id)) return answer(error::fenced_instance_id);
  auto it = _members.find(r.member_id);
  if (it == _members.end()) return answer(error::unknown_member_id);
  if (r.generation != _generation) return answer(error::illegal_generation);
  if ((r.protocol_type && _protocol_type != r.protocol_type) ||
      (r.protocol_name && _protocol_name != r.protocol_name)) {
    return answer(error::inconsistent_group_protocol);
  }
  member& m = it->second;
  switch (_state) {
    case group_state::empty:
    case group_state::dead:
      return answer(error::unknown_member_id);
    case group_state::preparing_rebalance:
      return answer(error::rebalance_in_progress);
    case group_state::stable:
      m.session_deadline_ms = now_ms + m.session_timeout_ms;
      return answer(error::none, m.assignment);
    case group_state::completing_rebalance:
      break;
  }
  m.session_deadline_ms = now_ms + m.session_timeout_ms;
  if (m.awaiting_sync) {
    sync_result stale;
    stale.err = error::rebalance_in_progress;
    complete_sync_callback(m, std::move(stale));
  }
  m.awaiting_sync = std::move(done);
  if (_leader != m.id) return;
  // The leader's assignment: members it left out get an empty one.
  for (auto& [id, x] : _members)
    x.assignment.clear();
  for (auto& [id, bytes] : r.assignments) {
    if (auto x = _members.find(id); x != _members.end()) x->second.assignment = std::move(bytes);
  }
  set_state(group_state::stable, now_ms);
  _store_requested = true;
  for (auto& [id, x] : _members) {
    sync_result out;
    out.protocol_type = _protocol_type;
    out.protocol_name = _protocol_name;
    out.assignment = x.assignment;
    complete_sync_callback(x, std::move(out));
  }
}

error group::heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                       std::int32_t generation, std::int64_t now_ms) {
  if (_state == group_state::dead) return error::coordinator_not_available;
  if (is_fenced(member_id, instance_id)) return error::fenced_instance_id;
  auto it = _members.find(member_id);
  if (it == _members.end()) return error::unknown_member_id;
  if (generation != _generation) return error::illegal_generation;
  switch (_state) {
    case group_state::empty:
    case group_state::dead:
      return error::unknown_member_id;
    case group_state::preparing_rebalance:
      it->second.session_deadline_ms = now_ms + it->second.session_timeout_ms;
      return error::rebalance_in_progress;
    case group_state::completing_rebalance:
    case group_state::stable:
      it->second.session_deadline_ms = now_ms + it->second.session_timeout_ms;
      return error::none;
  }
  return error::none;
}

error group::validate_commit(const std::string& member_id,
                             const std::optional<std::string>& instance_id, std::int32_t generation,
                             std::int64_t now_ms) {
  if (_state == group_state::dead) return error::coordinator_not_available;
  if (is_fenced(member_id, instance_id)) return error::fenced_instance_id;
  if (generation < 0 && _state == group_state::empty) return error::none;
  if (_state == group_state::completing_rebalance) return error::rebalance_in_progress;
  auto it = _members.find(member_id);
  if (it == _members.end()) return error::unknown_member_id;
  if (generation != _generation) return error::illegal_generation;
  it->second.session_deadline_ms = now_ms + it->second.session_timeout_ms;
  return error::none;
}

std::vector<error> group::leave(const std::vector<member_identity>& members, std::int64_t now_ms) {
  std::vector<error> out;
  out.reserve(members.size());
  for (const auto& who : members) {
    if (_state == group_state::dead) {
      out.push_back(error::coordinator_not_available);
      continue;
    }
    std::string id = who.member_id;
    if (id.empty() && who.instance_id) {
      // By instance id alone (AdminClient removeMembersFromConsumerGroup).
      auto s = _static_members.find(*who.instance_id);
      if (s == _static_members.end()) {
        out.push_back(error::unknown_member_id);
        continue;
      }
      id = s->second;
    }
    if (is_fenced(id, who.instance_id)) {
      out.push_back(error::fenced_instance_id);
      continue;
    }
    if (_pending_members.erase(id) > 0) {
      out.push_back(error::none);
      maybe_complete_join(now_ms);
      continue;
    }
    if (!_members.contains(id)) {
      out.push_back(error::unknown_member_id);
      continue;
    }
    remove_member_and_update(id, now_ms);
    out.push_back(error::none);
  }
  return out;
}

void group::remove_member_and_update(const std::string& member_id, std::int64_t now_ms) {
  auto it = _members.find(member_id);
  CAUDAL_ASSERT(it != _members.end(), "removing unknown member {} of group {}", member_id, _id);
  member& m = it->second;
  join_result gone_join;
  gone_join.err = error::unknown_member_id;
  gone_join.member_id = member_id;
  complete_join_callback(m, std::move(gone_join));
  sync_result gone_sync;
  gone_sync.err = error::unknown_member_id;
  complete_sync_callback(m, std::move(gone_sync));
  if (m.instance_id) _static_members.erase(*m.instance_id);
  _members.erase(it);
  if (_leader == member_id) {
    _leader.reset();
    const member* first = nullptr;
    for (const auto& [id, x] : _members) {
      if (first == nullptr || x.join_order < first->join_order) first = &x;
    }
    if (first != nullptr) _leader = first->id;
  }
  switch (_state) {
    case group_state::stable:
    case group_state::completing_rebalance:
      prepare_rebalance(now_ms);
      break;
    case group_state::preparing_rebalance:
      maybe_complete_join(now_ms);
      break;
    case group_state::empty:
    case group_state::dead:
      break;
  }
}

void group::tick(std::int64_t now_ms) {
  if (_state == group_state::dead) return;
  for (auto it = _pending_members.begin(); it != _pending_members.end();) {
    if (it->second <= now_ms) {
      it = _pending_members.erase(it);
      maybe_complete_join(now_ms);
    } else {
      ++it;
    }
  }
  // Members waiting for a join or sync answer are kept alive: the rebalance timeout and
  // the leader's session bound those waits instead (Kafka's shouldKeepAlive).
  std::vector<std::string> expired;
  for (const auto& [id, m] : _members) {
    if (m.session_deadline_ms <= now_ms && !m.awaiting_join && !m.awaiting_sync) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) {
    if (_members.contains(id)) remove_member_and_update(id, now_ms);
  }
  if (_state == group_state::preparing_rebalance && _join_deadline_ms <= now_ms) {
    if (_initial_delay && _new_member_added && _initial_delay_remaining_ms > 0) {
      const std::int64_t delay =
          std::min(_limits.initial_rebalance_delay_ms, _initial_delay_remaining_ms);
      _new_member_added = false;
      _join_deadline_ms = now_ms + delay;
      _initial_delay_remaining_ms = std::max<std::int64_t>(_initial_delay_remaining_ms - delay, 0);
    } else {
      complete_join(now_ms);
    }
  }
}

void group::mark_dead(std::int64_t now_ms) {
  CAUDAL_ASSERT(_state == group_state::empty, "group {} deleted while {}", _id, state_name(_state));
  set_state(group_state::dead, now_ms);
}

std::vector<std::function<void()>> group::take_completions() {
  std::vector<std::function<void()>> out;
  out.swap(_outbox);
  return out;
}

bool group::take_store_request() {
  const bool requested = _store_requested;
  _store_requested = false;
  return requested;
}

group_description group::describe() const {
  group_description d;
  d.group_id = _id;
  d.state = _state;
  d.protocol_type = _protocol_type;
  d.protocol_name = _protocol_name;
  d.leader = _leader;
  d.generation = _generation;
  d.state_timestamp_ms = _state_timestamp_ms;
  for (const auto& [id, m] : _members) {
    member_description md;
    md.member_id = id;
    md.instance_id = m.instance_id;
    md.client_id = m.client_id;
    md.client_host = m.client_host;
    md.session_timeout_ms = m.session_timeout_ms;
    md.rebalance_timeout_ms = m.rebalance_timeout_ms;
    for (const auto& p : m.protocols) {
      if (_protocol_name && p.name == *_protocol_name) md.metadata = p.metadata;
    }
    md.assignment = m.assignment;
    d.members.push_back(std::move(md));
  }
  return d;
}

}  // namespace caudal::group
