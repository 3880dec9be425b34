// caudal group list|describe|delete|seek.

#include "cli/command_registry.h"
#include "cli/error.h"
#include "cli/group_client.h"
#include "cli/offset_spec.h"
#include "cli/output.h"
#include "protocol/error_code.h"
#include "protocol/generated/delete_groups.h"
#include "protocol/generated/describe_groups.h"
#include "protocol/generated/list_groups.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

namespace caudal::cli {
namespace {

using protocol::error_code;

// ---- list -----------------------------------------------------------------------------------

int run_list(const common_options& o) {
  client c(bootstrap_brokers(o));
  const auto md = c.metadata(std::vector<std::string>{}, auto_create::no);
  // Every broker coordinates some groups: ask them all.
  std::map<std::string, json> groups;
  for (const auto& b : md.brokers) {
    const auto v = c.version(b.node_id, protocol::api_key::list_groups, 0);
    const auto response =
        c.call<protocol::list_groups_response>(b.node_id, protocol::list_groups_request{}, v);
    if (response.error_code != 0) {
      throw error("cannot list the groups of broker " + std::to_string(b.node_id) + ": " +
                  kafka_error_text(response.error_code));
    }
    for (const auto& g : response.groups) {
      groups[g.group_id] = {{"group", g.group_id},
                            {"protocol_type", g.protocol_type},
                            {"state", v >= 4 ? json(g.group_state) : json(nullptr)},
                            {"coordinator", b.node_id}};
    }
  }
  if (o.json()) {
    json out = json::array();
    for (auto& [name, g] : groups)
      out.push_back(std::move(g));
    print_json(out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"GROUP", "TYPE", "STATE", "COORDINATOR"}};
  for (const auto& [name, g] : groups) {
    rows.push_back({name, g["protocol_type"].get<std::string>(),
                    g["state"].is_null() ? "" : g["state"].get<std::string>(),
                    std::to_string(g["coordinator"].get<int>())});
  }
  print_table(rows);
  return 0;
}

// ---- describe -------------------------------------------------------------------------------

struct describe_options {
  common_options common;
  std::vector<std::string> groups;
};

struct group_view {
  std::string group;
  node_id coordinator = -1;
  protocol::describe_groups_response::described_group described;
  std::map<topic_partition, std::int64_t> committed;
  std::map<topic_partition, std::string> owner;  // partition -> member id
};

// DescribeGroups and OffsetFetch for one group; throws when the group does not exist.
group_view view_group(client& c, const std::string& group) {
  group_view v;
  v.group = group;
  v.coordinator = find_coordinator(c, group);
  const auto ver = c.version(v.coordinator, protocol::api_key::describe_groups, 0);
  protocol::describe_groups_request request;
  request.groups = {group};
  auto response = c.call<protocol::describe_groups_response>(v.coordinator, request, ver);
  if (response.groups.size() != 1) throw error("DescribeGroups answered no group");
  v.described = std::move(response.groups[0]);
  const auto code = protocol::to_error_code(v.described.error_code);
  if (code != error_code::none && code != error_code::group_id_not_found) {
    throw error("cannot describe group " + group + ": " + kafka_error_text(v.described.error_code));
  }
  v.committed = fetch_committed(c, v.coordinator, group, std::nullopt);
  if ((code == error_code::group_id_not_found || v.described.group_state == "Dead") &&
      v.committed.empty()) {
    throw error("group " + group + " does not exist");
  }
  if (v.described.protocol_type == "consumer") {
    for (const auto& m : v.described.members) {
      const auto a = decode_assignment(m.member_assignment);
      if (!a) continue;
      for (const auto& [topic, ids] : *a) {
        for (const auto id : ids)
          v.owner[{topic, id}] = m.member_id;
      }
    }
  }
  return v;
}

// The log end offsets of every partition in `partitions`, by topic; partitions of topics
// that no longer exist are left out.
std::map<topic_partition, std::int64_t> log_ends(client& c,
                                                 const std::set<topic_partition>& partitions) {
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  for (const auto& tp : partitions)
    by_topic[tp.topic].push_back(tp.partition);
  std::map<topic_partition, std::int64_t> out;
  if (by_topic.empty()) return out;
  std::vector<std::string> names;
  for (const auto& [t, ids] : by_topic)
    names.push_back(t);
  const auto md = c.metadata(names, auto_create::no);
  for (const auto& t : md.topics) {
    if (t.error_code != 0) continue;
    std::vector<std::int32_t> ids;
    for (const auto id : by_topic[t.name.value_or("")]) {
      const bool exists = std::any_of(t.partitions.begin(), t.partitions.end(), [&](auto& p) {
        return p.partition_index == id && p.leader_id >= 0;
      });
      if (exists) ids.push_back(id);
    }
    for (const auto& [id, end] : list_offsets(c, t, ids, latest_timestamp)) {
      out[{t.name.value_or(""), id}] = end;
    }
  }
  return out;
}

int run_describe(const describe_options& o) {
  client c(bootstrap_brokers(o.common));
  json out = json::array();
  for (const auto& group : o.groups) {
    const auto v = view_group(c, group);
    std::set<topic_partition> partitions;
    for (const auto& [tp, offset] : v.committed)
      partitions.insert(tp);
    for (const auto& [tp, member] : v.owner)
      partitions.insert(tp);
    const auto ends = log_ends(c, partitions);
    json members = json::array();
    for (const auto& m : v.described.members) {
      json assignment = json::array();
      if (v.described.protocol_type == "consumer") {
        if (const auto a = decode_assignment(m.member_assignment)) {
          for (const auto& [topic, ids] : *a) {
            assignment.push_back({{"topic", topic}, {"partitions", ids}});
          }
        }
      }
      members.push_back(
          {{"member_id", m.member_id},
           {"instance_id", m.group_instance_id ? json(*m.group_instance_id) : json(nullptr)},
           {"client_id", m.client_id},
           {"host", m.client_host},
           {"assignment", std::move(assignment)}});
    }
    json offsets = json::array();
    std::int64_t total_lag = 0;
    for (const auto& tp : partitions) {
      const auto committed = v.committed.find(tp);
      const auto end = ends.find(tp);
      json lag = nullptr;
      if (committed != v.committed.end() && end != ends.end()) {
        lag = std::max<std::int64_t>(0, end->second - committed->second);
        total_lag += lag.get<std::int64_t>();
      }
      const auto owner = v.owner.find(tp);
      offsets.push_back(
          {{"topic", tp.topic},
           {"partition", tp.partition},
           {"committed_offset",
            committed != v.committed.end() ? json(committed->second) : json(nullptr)},
           {"log_end_offset", end != ends.end() ? json(end->second) : json(nullptr)},
           {"lag", lag},
           {"member_id", owner != v.owner.end() ? json(owner->second) : json(nullptr)}});
    }
    json g = {{"group", group},
              {"state", v.described.group_state},
              {"protocol_type", v.described.protocol_type},
              {"protocol", v.described.protocol_data},
              {"coordinator", v.coordinator},
              {"members", std::move(members)},
              {"offsets", std::move(offsets)},
              {"total_lag", total_lag}};
    if (o.common.json()) {
      out.push_back(std::move(g));
      continue;
    }
    print_table({{"GROUP", group},
                 {"COORDINATOR", std::to_string(v.coordinator)},
                 {"STATE", v.described.group_state},
                 {"PROTOCOL", v.described.protocol_type + "/" + v.described.protocol_data},
                 {"MEMBERS", std::to_string(v.described.members.size())},
                 {"TOTAL-LAG", std::to_string(total_lag)}});
    std::printf("\n");
    std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITION", "CURRENT-OFFSET",
                                                "LOG-END-OFFSET", "LAG", "MEMBER", "CLIENT-ID",
                                                "HOST"}};
    for (const auto& row : g["offsets"]) {
      auto text = [](const json& j) { return j.is_null() ? std::string("-") : j.dump(); };
      std::string client_id = "-";
      std::string host = "-";
      for (const auto& m : v.described.members) {
        if (!row["member_id"].is_null() && m.member_id == row["member_id"].get<std::string>()) {
          client_id = m.client_id;
          host = m.client_host;
        }
      }
      rows.push_back({row["topic"].get<std::string>(), row["partition"].dump(),
                      text(row["committed_offset"]), text(row["log_end_offset"]), text(row["lag"]),
                      row["member_id"].is_null() ? "-" : row["member_id"].get<std::string>(),
                      client_id, host});
    }
    print_table(rows);
    if (&group != &o.groups.back()) std::printf("\n");
  }
  if (o.common.json()) print_json(out);
  return 0;
}

// ---- delete ---------------------------------------------------------------------------------

struct delete_options {
  common_options common;
  std::vector<std::string> groups;
};

int run_delete(const delete_options& o) {
  client c(bootstrap_brokers(o.common));
  int status = 0;
  json results = json::array();
  for (const auto& group : o.groups) {
    const node_id coordinator = find_coordinator(c, group);
    const auto v = c.version(coordinator, protocol::api_key::delete_groups, 0);
    protocol::delete_groups_request request;
    request.groups_names = {group};
    const auto response = c.call<protocol::delete_groups_response>(coordinator, request, v);
    std::optional<std::string> failure;
    if (response.results.empty()) failure = "no answer from the broker";
    for (const auto& r : response.results) {
      const auto code = protocol::to_error_code(r.error_code);
      if (code == error_code::group_id_not_found) {
        failure = "group does not exist";
      } else if (code == error_code::non_empty_group) {
        failure = "the group has active members (NON_EMPTY_GROUP)";
      } else if (code != error_code::none) {
        failure = kafka_error_text(r.error_code);
      }
    }
    results.push_back({{"group", group}, {"error", failure ? json(*failure) : json(nullptr)}});
    if (failure) {
      status = static_cast<int>(exit_status::failure);
      std::fprintf(stderr, "caudal: cannot delete group %s: %s\n", group.c_str(), failure->c_str());
    } else if (!o.common.json()) {
      std::printf("deleted group %s\n", group.c_str());
    }
  }
  if (o.common.json()) print_json(results);
  return status;
}

// ---- seek -----------------------------------------------------------------------------------

struct seek_options {
  common_options common;
  std::string group;
  std::string to;
  std::vector<std::string> topics;
  bool dry_run = false;
};

int run_seek(const seek_options& o) {
  const auto spec = parse_offset_spec(o.to, "--to");
  client c(bootstrap_brokers(o.common));
  const node_id coordinator = find_coordinator(c, o.group);
  // Only a group without active members may have its offsets moved, as in Kafka's tool.
  const auto dv = c.version(coordinator, protocol::api_key::describe_groups, 0);
  protocol::describe_groups_request describe;
  describe.groups = {o.group};
  const auto described =
      c.call<protocol::describe_groups_response>(coordinator, describe, dv).groups;
  if (!described.empty() && !described[0].members.empty()) {
    throw error("group " + o.group + " has " + std::to_string(described[0].members.size()) +
                " active member(s) (state " + described[0].group_state +
                "); stop them before seeking");
  }
  const auto committed = fetch_committed(c, coordinator, o.group, std::nullopt);
  // Which partitions: every partition of --topic, else those with a committed offset.
  std::set<std::string> topics(o.topics.begin(), o.topics.end());
  if (topics.empty()) {
    for (const auto& [tp, offset] : committed)
      topics.insert(tp.topic);
  }
  if (topics.empty()) {
    throw error("group " + o.group + " has no committed offsets; name the topics with --topic");
  }
  std::map<topic_partition, std::int64_t> targets;
  for (const auto& topic : topics) {
    const auto md = topic_metadata(c, topic, auto_create::no);
    const auto& t = find_topic(md, topic);
    std::vector<std::int32_t> ids;
    for (const auto& p : t.partitions) {
      if (o.topics.empty() && committed.count({topic, p.partition_index}) == 0) continue;
      ids.push_back(p.partition_index);
    }
    using k = offset_spec::kind;
    std::map<std::int32_t, std::int64_t> offsets;
    const auto begin = list_offsets(c, t, ids, earliest_timestamp);
    const auto end = list_offsets(c, t, ids, latest_timestamp);
    for (const auto id : ids) {
      switch (spec.k) {
        case k::beginning:
          offsets[id] = begin.at(id);
          break;
        case k::end:
          offsets[id] = end.at(id);
          break;
        case k::offset:
          offsets[id] = std::clamp(spec.value, begin.at(id), end.at(id));
          break;
        case k::from_end:
          offsets[id] = std::max(begin.at(id), end.at(id) - spec.value);
          break;
        case k::timestamp:
          break;
      }
    }
    if (spec.k == k::timestamp) {
      offsets = list_offsets(c, t, ids, spec.value);
      for (auto& [id, offset] : offsets) {
        if (offset < 0) offset = end.at(id);  // nothing at or after it yet
      }
    }
    for (const auto& [id, offset] : offsets)
      targets[{topic, id}] = offset;
  }
  if (!o.dry_run) commit_offsets(c, coordinator, o.group, -1, "", targets);

  json rows = json::array();
  std::vector<std::vector<std::string>> table{{"TOPIC", "PARTITION", "PREVIOUS", "NEW"}};
  for (const auto& [tp, offset] : targets) {
    const auto old = committed.find(tp);
    const json previous = old != committed.end() ? json(old->second) : json(nullptr);
    rows.push_back({{"topic", tp.topic},
                    {"partition", tp.partition},
                    {"previous_offset", previous},
                    {"new_offset", offset}});
    table.push_back({tp.topic, std::to_string(tp.partition),
                     previous.is_null() ? "-" : previous.dump(), std::to_string(offset)});
  }
  if (o.common.json()) {
    print_json({{"group", o.group}, {"dry_run", o.dry_run}, {"offsets", std::move(rows)}});
  } else {
    print_table(table);
    if (o.dry_run) std::printf("(dry run: nothing committed)\n");
  }
  return 0;
}

}  // namespace

void add_group_commands(CLI::App& app, command_registry& registry) {
  auto* group = app.add_subcommand("group", "List, describe, delete and seek consumer groups");
  group->require_subcommand(1);
  {
    auto o = std::make_shared<common_options>();
    auto* sub = group->add_subcommand("list", "List the consumer groups of every broker");
    sub->alias("ls");
    add_common_options(*sub, *o, true);
    registry.add(sub, [o] { return run_list(*o); });
  }
  {
    auto o = std::make_shared<describe_options>();
    auto* sub = group->add_subcommand(
        "describe", "Show groups' members, their assignments, and committed offsets with lag");
    sub->add_option("groups", o->groups, "The groups")->required();
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_describe(*o); });
  }
  {
    auto o = std::make_shared<delete_options>();
    auto* sub = group->add_subcommand("delete", "Delete groups without active members");
    sub->add_option("groups", o->groups, "The groups")->required();
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_delete(*o); });
  }
  {
    auto o = std::make_shared<seek_options>();
    auto* sub = group->add_subcommand(
        "seek", "Move the committed offsets of a group without active members");
    sub->add_option("group", o->group, "The group")->required();
    sub->add_option("--to", o->to,
                    "beginning, end, an offset, -N (N before the end) or @TIMESTAMP_MS")
        ->required();
    sub->add_option("-t,--topic", o->topics,
                    "Seek every partition of this topic (repeatable; default: the partitions "
                    "with a committed offset)");
    sub->add_flag("--dry-run", o->dry_run, "Show the new offsets without committing them");
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_seek(*o); });
  }
}

}  // namespace caudal::cli
