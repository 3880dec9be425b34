#include "cli/group_client.h"

#include "base/clock.h"
#include "cli/error.h"
#include "protocol/error_code.h"
#include "protocol/generated/consumer_protocol_assignment.h"
#include "protocol/generated/consumer_protocol_subscription.h"
#include "protocol/generated/find_coordinator.h"
#include "protocol/generated/heartbeat.h"
#include "protocol/generated/join_group.h"
#include "protocol/generated/leave_group.h"
#include "protocol/generated/offset_commit.h"
#include "protocol/generated/offset_fetch.h"
#include "protocol/generated/sync_group.h"

#include <poll.h>

#include <algorithm>
#include <set>

namespace caudal::cli {
namespace {

using protocol::error_code;

constexpr std::int64_t coordinator_wait_ns_max = 30'000'000'000;
constexpr int join_attempts_max = 20;

error_code code_of(std::int16_t raw) {
  return protocol::to_error_code(raw);
}

// Errors after which asking again (maybe after finding the coordinator again) can succeed.
bool coordinator_retriable(error_code e) {
  return e == error_code::coordinator_not_available ||
         e == error_code::coordinator_load_in_progress || e == error_code::not_coordinator;
}

// A short pause between retries (poll() with no descriptors; see topic_metadata).
void pause_ms(int ms) {
  ::poll(nullptr, 0, ms);
}

// Consumer protocol messages are a version (int16) followed by the body at that version.
template <class Message>
std::vector<std::byte> encode_versioned(const Message& m, std::int16_t version) {
  protocol::writer w;
  w.write_int16(version);
  m.encode(w, version);
  return w.release();
}

template <class Message>
std::optional<Message> decode_versioned(std::span<const std::byte> bytes) {
  protocol::reader r(bytes);
  std::int16_t version = 0;
  if (!r.read_int16(version) || version < 0) return std::nullopt;
  // A newer version starts with the fields of the newest one we know (Kafka's rule).
  Message m;
  if (!m.decode(r, std::min(version, Message::version_max))) return std::nullopt;
  return m;
}

}  // namespace

node_id find_coordinator(client& c, const std::string& group) {
  const std::int64_t deadline_ns = system_clock().steady_ns() + coordinator_wait_ns_max;
  for (;;) {
    const node_id node = c.any_node();
    const auto v = c.version(node, protocol::api_key::find_coordinator, 0);
    protocol::find_coordinator_request request;
    request.key_type = 0;  // a group
    if (v >= 4) {
      request.coordinator_keys = {group};
    } else {
      request.key = group;
    }
    const auto response = c.call<protocol::find_coordinator_response>(node, request, v);
    std::int16_t code = response.error_code;
    std::optional<std::string> message = response.error_message;
    node_id id = response.node_id;
    broker_address address{response.host, response.port};
    if (v >= 4) {
      if (response.coordinators.empty()) throw error("FindCoordinator answered nothing");
      const auto& k = response.coordinators[0];
      code = k.error_code;
      message = k.error_message;
      id = k.node_id;
      address = {k.host, k.port};
    }
    if (code == 0) {
      c.add_broker(id, address);
      return id;
    }
    if (!coordinator_retriable(code_of(code)) || system_clock().steady_ns() > deadline_ns) {
      throw error("cannot find the coordinator of group " + group + ": " +
                  kafka_error_text(code, message));
    }
    pause_ms(200);
  }
}

std::map<topic_partition, std::int64_t> fetch_committed(
    client& c, node_id coordinator, const std::string& group,
    const std::optional<std::vector<topic_partition>>& partitions) {
  // v2 is the first version where a null topic list means "every partition".
  const auto v = c.version(coordinator, protocol::api_key::offset_fetch, partitions ? 1 : 2);
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  if (partitions) {
    for (const auto& tp : *partitions)
      by_topic[tp.topic].push_back(tp.partition);
  }
  protocol::offset_fetch_request request;
  if (v >= 8) {
    protocol::offset_fetch_request::offset_fetch_request_group g;
    g.group_id = group;
    if (partitions) {
      g.topics.emplace();
      for (const auto& [topic, ids] : by_topic)
        g.topics->push_back({topic, ids});
    } else {
      g.topics.reset();
    }
    request.groups.push_back(std::move(g));
  } else {
    request.group_id = group;
    if (partitions) {
      request.topics.emplace();
      for (const auto& [topic, ids] : by_topic)
        request.topics->push_back({topic, ids});
    } else {
      request.topics.reset();
    }
  }
  const auto response = c.call<protocol::offset_fetch_response>(coordinator, request, v);
  std::map<topic_partition, std::int64_t> out;
  auto take = [&](const std::string& topic, std::int32_t partition, std::int64_t offset,
                  std::int16_t code) {
    if (code != 0) {
      throw error("cannot fetch the offsets of group " + group + " for " + topic + "/" +
                  std::to_string(partition) + ": " + kafka_error_text(code));
    }
    if (offset >= 0) out[{topic, partition}] = offset;
  };
  std::int16_t group_code = v >= 2 ? response.error_code : std::int16_t{0};
  if (v >= 8) {
    for (const auto& g : response.groups) {
      group_code = g.error_code;
      for (const auto& t : g.topics) {
        for (const auto& p : t.partitions) {
          take(t.name, p.partition_index, p.committed_offset, p.error_code);
        }
      }
    }
  } else {
    for (const auto& t : response.topics) {
      for (const auto& p : t.partitions) {
        take(t.name, p.partition_index, p.committed_offset, p.error_code);
      }
    }
  }
  if (group_code != 0 && code_of(group_code) != error_code::group_id_not_found) {
    throw error("cannot fetch the offsets of group " + group + ": " + kafka_error_text(group_code));
  }
  return out;
}

void commit_offsets(client& c, node_id coordinator, const std::string& group,
                    std::int32_t generation, const std::string& member_id,
                    const std::map<topic_partition, std::int64_t>& offsets) {
  if (offsets.empty()) return;
  // v1 is the first version that carries the generation and member id.
  const auto v = c.version(coordinator, protocol::api_key::offset_commit, 1);
  protocol::offset_commit_request request;
  request.group_id = group;
  request.generation_id_or_member_epoch = generation;
  request.member_id = member_id;
  for (const auto& [tp, offset] : offsets) {
    if (request.topics.empty() || request.topics.back().name != tp.topic) {
      request.topics.push_back({tp.topic, {}});
    }
    protocol::offset_commit_request::offset_commit_request_partition p;
    p.partition_index = tp.partition;
    p.committed_offset = offset;
    p.committed_metadata = "";
    request.topics.back().partitions.push_back(p);
  }
  const auto response = c.call<protocol::offset_commit_response>(coordinator, request, v);
  for (const auto& t : response.topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code == 0) continue;
      throw error("cannot commit the offset of group " + group + " for " + t.name + "/" +
                  std::to_string(p.partition_index) + ": " + kafka_error_text(p.error_code));
    }
  }
}

std::vector<std::byte> encode_subscription(const std::vector<std::string>& topics) {
  protocol::consumer_protocol_subscription s;
  s.topics = topics;
  s.user_data.reset();
  return encode_versioned(s, 0);
}

std::optional<std::vector<std::string>> decode_subscription(std::span<const std::byte> bytes) {
  auto s = decode_versioned<protocol::consumer_protocol_subscription>(bytes);
  if (!s) return std::nullopt;
  return std::move(s->topics);
}

std::vector<std::byte> encode_assignment(
    const std::map<std::string, std::vector<std::int32_t>>& partitions) {
  protocol::consumer_protocol_assignment a;
  for (const auto& [topic, ids] : partitions)
    a.assigned_partitions.push_back({topic, ids});
  a.user_data.reset();
  return encode_versioned(a, 0);
}

std::optional<std::map<std::string, std::vector<std::int32_t>>> decode_assignment(
    std::span<const std::byte> bytes) {
  std::map<std::string, std::vector<std::int32_t>> out;
  if (bytes.empty()) return out;
  auto a = decode_versioned<protocol::consumer_protocol_assignment>(bytes);
  if (!a) return std::nullopt;
  for (const auto& tp : a->assigned_partitions) {
    auto& ids = out[tp.topic];
    ids.insert(ids.end(), tp.partitions.begin(), tp.partitions.end());
  }
  return out;
}

std::map<std::string, std::map<std::string, std::vector<std::int32_t>>> assign_range(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partition_counts) {
  std::map<std::string, std::map<std::string, std::vector<std::int32_t>>> out;
  std::map<std::string, std::vector<std::string>> members_of;  // topic -> members, id order
  for (const auto& [member, topics] : subscriptions) {
    out[member];
    for (const auto& t : std::set<std::string>(topics.begin(), topics.end())) {
      members_of[t].push_back(member);
    }
  }
  for (const auto& [topic, members] : members_of) {
    const auto it = partition_counts.find(topic);
    if (it == partition_counts.end() || it->second <= 0) continue;
    const auto n = static_cast<std::int32_t>(members.size());
    const std::int32_t each = it->second / n;
    const std::int32_t extra = it->second % n;
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t start = each * i + std::min(i, extra);
      const std::int32_t length = each + (i < extra ? 1 : 0);
      if (length == 0) continue;
      auto& ids = out[members[static_cast<std::size_t>(i)]][topic];
      for (std::int32_t p = start; p < start + length; ++p)
        ids.push_back(p);
    }
  }
  return out;
}

group_member::group_member(client& c, std::string group, std::string topic)
    : _c(c), _group(std::move(group)), _topic(std::move(topic)) {}

std::vector<std::int32_t> group_member::join() {
  for (int attempt = 0; attempt < join_attempts_max; ++attempt) {
    if (_coordinator < 0) _coordinator = find_coordinator(_c, _group);
    const auto v = _c.version(_coordinator, protocol::api_key::join_group, 0);
    protocol::join_group_request request;
    request.group_id = _group;
    request.session_timeout_ms = session_timeout_ms;
    request.rebalance_timeout_ms = rebalance_timeout_ms;
    request.member_id = _member_id;
    request.protocol_type = "consumer";
    request.protocols.push_back({_protocol, encode_subscription({_topic})});
    const auto joined = _c.call_framed<protocol::join_group_response>(_coordinator, request, v,
                                                                      rebalance_timeout_ms)
                            .body;
    const auto code = code_of(joined.error_code);
    if (code == error_code::member_id_required) {  // KIP-394: join again with this id
      _member_id = joined.member_id;
      continue;
    }
    if (code == error_code::unknown_member_id || code == error_code::illegal_generation) {
      _member_id.clear();
      continue;
    }
    if (coordinator_retriable(code)) {
      _coordinator = -1;
      pause_ms(200);
      continue;
    }
    if (code == error_code::rebalance_in_progress) continue;
    if (code != error_code::none) {
      throw error("cannot join group " + _group + ": " + kafka_error_text(joined.error_code));
    }
    _member_id = joined.member_id;
    _generation = joined.generation_id;

    protocol::sync_group_request sync;
    sync.group_id = _group;
    sync.generation_id = _generation;
    sync.member_id = _member_id;
    sync.protocol_type = "consumer";
    sync.protocol_name = joined.protocol_name.value_or(_protocol);
    if (joined.leader == _member_id) {
      // This member computes everyone's assignment with the range assignor.
      std::map<std::string, std::vector<std::string>> subscriptions;
      std::set<std::string> topics;
      for (const auto& m : joined.members) {
        auto s = decode_subscription(m.metadata);
        if (!s)
          throw error("member " + m.member_id + " of group " + _group +
                      " sent a subscription that does not parse");
        topics.insert(s->begin(), s->end());
        subscriptions[m.member_id] = std::move(*s);
      }
      const auto md =
          _c.metadata(std::vector<std::string>(topics.begin(), topics.end()), auto_create::no);
      std::map<std::string, std::int32_t> counts;
      for (const auto& t : md.topics) {
        if (t.error_code == 0) {
          counts[t.name.value_or("")] = static_cast<std::int32_t>(t.partitions.size());
        }
      }
      for (const auto& [member, assignment] : assign_range(subscriptions, counts)) {
        sync.assignments.push_back({member, encode_assignment(assignment)});
      }
    }
    const auto sv = _c.version(_coordinator, protocol::api_key::sync_group, 0);
    const auto synced =
        _c.call_framed<protocol::sync_group_response>(_coordinator, sync, sv, rebalance_timeout_ms)
            .body;
    const auto sync_code = code_of(synced.error_code);
    if (sync_code == error_code::rebalance_in_progress) continue;
    if (sync_code == error_code::unknown_member_id || sync_code == error_code::illegal_generation) {
      _member_id.clear();
      continue;
    }
    if (coordinator_retriable(sync_code)) {
      _coordinator = -1;
      continue;
    }
    if (sync_code != error_code::none) {
      throw error("cannot join group " + _group + ": " + kafka_error_text(synced.error_code));
    }
    const auto assignment = decode_assignment(synced.assignment);
    if (!assignment) throw error("the assignment of group " + _group + " does not parse");
    _last_heartbeat_ns = system_clock().steady_ns();
    const auto it = assignment->find(_topic);
    if (it == assignment->end()) return {};
    auto ids = it->second;
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  throw error("cannot join group " + _group + ": the group kept rebalancing");
}

bool group_member::heartbeat_due() const {
  return system_clock().steady_ns() - _last_heartbeat_ns >= heartbeat_interval_ms * 1'000'000;
}

bool group_member::heartbeat() {
  const auto v = _c.version(_coordinator, protocol::api_key::heartbeat, 0);
  protocol::heartbeat_request request;
  request.group_id = _group;
  request.generation_id = _generation;
  request.member_id = _member_id;
  const auto response = _c.call<protocol::heartbeat_response>(_coordinator, request, v);
  _last_heartbeat_ns = system_clock().steady_ns();
  const auto code = code_of(response.error_code);
  if (code == error_code::none) return true;
  if (code == error_code::rebalance_in_progress) return false;
  if (code == error_code::unknown_member_id || code == error_code::illegal_generation ||
      code == error_code::fenced_instance_id) {
    _member_id.clear();
    return false;
  }
  if (coordinator_retriable(code)) {
    _coordinator = -1;
    return false;
  }
  throw error("heartbeat to group " + _group + " failed: " + kafka_error_text(response.error_code));
}

void group_member::commit(const std::map<std::int32_t, std::int64_t>& next_offsets) {
  if (_coordinator < 0 || _member_id.empty()) return;
  std::map<topic_partition, std::int64_t> offsets;
  for (const auto& [p, offset] : next_offsets)
    offsets[{_topic, p}] = offset;
  commit_offsets(_c, _coordinator, _group, _generation, _member_id, offsets);
}

std::map<std::int32_t, std::int64_t> group_member::committed(
    const std::vector<std::int32_t>& partitions) {
  std::vector<topic_partition> tps;
  for (const auto p : partitions)
    tps.push_back({_topic, p});
  std::map<std::int32_t, std::int64_t> out;
  if (tps.empty()) return out;
  if (_coordinator < 0) _coordinator = find_coordinator(_c, _group);
  for (const auto& [tp, offset] : fetch_committed(_c, _coordinator, _group, tps)) {
    out[tp.partition] = offset;
  }
  return out;
}

void group_member::leave() {
  if (_coordinator < 0 || _member_id.empty()) return;
  try {
    const auto v = _c.version(_coordinator, protocol::api_key::leave_group, 0);
    protocol::leave_group_request request;
    request.group_id = _group;
    if (v >= 3) {
      request.members.push_back({_member_id, std::nullopt, std::nullopt});
    } else {
      request.member_id = _member_id;
    }
    static_cast<void>(_c.call<protocol::leave_group_response>(_coordinator, request, v));
  } catch (const error&) {
    // The session timeout removes the member anyway.
  }
  _member_id.clear();
}

}  // namespace caudal::cli
