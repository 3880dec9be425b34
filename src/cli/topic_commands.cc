// caudal topic create|list|describe|delete|alter-config|add-partitions.

#include "cli/command_registry.h"
#include "cli/error.h"
#include "cli/output.h"
#include "protocol/error_code.h"
#include "protocol/generated/create_partitions.h"
#include "protocol/generated/create_topics.h"
#include "protocol/generated/delete_topics.h"
#include "protocol/generated/describe_configs.h"
#include "protocol/generated/incremental_alter_configs.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

namespace caudal::cli {
namespace {

using topic_metadata_t = protocol::metadata_response::metadata_response_topic;

constexpr std::int32_t admin_timeout_ms = 30'000;
constexpr std::int8_t resource_type_topic = 2;

// Splits "key=value"; a usage error names the flag when there is no '='.
std::pair<std::string, std::string> split_config(const std::string& item, const char* flag) {
  const auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0) {
    usage_error(std::string(flag) + " takes key=value, got '" + item + "'");
  }
  return {item.substr(0, eq), item.substr(eq + 1)};
}

json error_json(std::int16_t code, const std::optional<std::string>& message) {
  if (code == 0) return nullptr;
  return kafka_error_text(code, message);
}

// ---- create ---------------------------------------------------------------------------------

struct create_options {
  common_options common;
  std::string name;
  std::int32_t partitions = -1;
  std::int32_t replicas = -1;
  std::vector<std::string> configs;
};

int run_create(const create_options& o) {
  protocol::create_topics_request::creatable_topic topic;
  topic.name = o.name;
  topic.num_partitions = o.partitions;
  topic.replication_factor = static_cast<std::int16_t>(o.replicas);
  for (const auto& item : o.configs) {
    auto [key, value] = split_config(item, "--config");
    protocol::create_topics_request::creatable_topic_config c;
    c.name = key;
    c.value = value;
    topic.configs.push_back(std::move(c));
  }
  client c(bootstrap_brokers(o.common));
  static_cast<void>(c.metadata(std::vector<std::string>{}, auto_create::no));  // the controller
  const node_id node = c.controller_node();
  // v4 is the first version where -1 means "the broker's default" for both counts.
  const bool defaults = o.partitions == -1 || o.replicas == -1;
  const auto v = c.version(node, protocol::api_key::create_topics, defaults ? 4 : 0);
  protocol::create_topics_request request;
  request.topics.push_back(std::move(topic));
  request.timeout_ms = admin_timeout_ms;
  const auto response = c.call<protocol::create_topics_response>(node, request, v);
  if (response.topics.size() != 1 || response.topics[0].name != o.name) {
    throw error("the broker did not answer CreateTopics for " + o.name);
  }
  const auto& r = response.topics[0];
  if (r.error_code != 0) {
    throw error("cannot create topic " + o.name + ": " +
                kafka_error_text(r.error_code, r.error_message));
  }
  // Wait for leaders so that a produce right after this command finds them.
  const auto md = topic_metadata(c, o.name, auto_create::no);
  const auto& t = find_topic(md, o.name);
  const auto replicas =
      t.partitions.empty() ? -1 : static_cast<std::int32_t>(t.partitions[0].replica_nodes.size());
  if (o.common.json()) {
    print_json({{"name", o.name},
                {"topic_id", uuid_text(t.topic_id.is_zero() ? r.topic_id : t.topic_id)},
                {"partitions", t.partitions.size()},
                {"replication_factor", replicas}});
  } else {
    std::printf("created topic %s (%zu partitions, replication factor %d)\n", o.name.c_str(),
                t.partitions.size(), replicas);
  }
  return 0;
}

// ---- list -----------------------------------------------------------------------------------

struct list_options {
  common_options common;
  bool internal = false;
};

int run_list(const list_options& o) {
  client c(bootstrap_brokers(o.common));
  auto md = c.metadata(std::nullopt, auto_create::no);
  std::sort(md.topics.begin(), md.topics.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  json topics = json::array();
  std::vector<std::vector<std::string>> rows{{"NAME", "PARTITIONS", "REPLICAS"}};
  for (const auto& t : md.topics) {
    if (t.is_internal && !o.internal) continue;
    const auto replicas =
        t.partitions.empty() ? 0 : static_cast<std::int32_t>(t.partitions[0].replica_nodes.size());
    topics.push_back({{"name", t.name.value_or("")},
                      {"topic_id", uuid_text(t.topic_id)},
                      {"partitions", t.partitions.size()},
                      {"replication_factor", replicas},
                      {"internal", t.is_internal}});
    rows.push_back(
        {t.name.value_or(""), std::to_string(t.partitions.size()), std::to_string(replicas)});
  }
  if (o.common.json()) {
    print_json(topics);
  } else {
    print_table(rows);
  }
  return 0;
}

// ---- describe -------------------------------------------------------------------------------

struct describe_options {
  common_options common;
  std::string name;
};

struct config_entry {
  std::string name;
  std::optional<std::string> value;
  std::string source;
  bool read_only = false;
  bool sensitive = false;
};

std::vector<config_entry> describe_topic_configs(client& c, const std::string& topic) {
  const node_id node = c.any_node();
  const auto v = c.version(node, protocol::api_key::describe_configs, 0);
  protocol::describe_configs_request request;
  protocol::describe_configs_request::describe_configs_resource resource;
  resource.resource_type = resource_type_topic;
  resource.resource_name = topic;
  resource.configuration_keys.reset();  // every key
  request.resources.push_back(std::move(resource));
  const auto response = c.call<protocol::describe_configs_response>(node, request, v);
  std::vector<config_entry> out;
  for (const auto& r : response.results) {
    if (r.error_code != 0) {
      throw error("cannot describe the configs of topic " + topic + ": " +
                  kafka_error_text(r.error_code, r.error_message));
    }
    for (const auto& e : r.configs) {
      config_entry entry;
      entry.name = e.name;
      entry.value = e.value;
      // v0 has only is_default; v1 added the source.
      entry.source = v >= 1 ? config_source_name(e.config_source)
                            : (e.is_default ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG");
      entry.read_only = e.read_only;
      entry.sensitive = e.is_sensitive;
      out.push_back(std::move(entry));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

int run_describe(const describe_options& o) {
  client c(bootstrap_brokers(o.common));
  const auto md = topic_metadata(c, o.name, auto_create::no);
  const auto& t = find_topic(md, o.name);
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> led;  // partitions with a leader, whose offsets can be asked
  for (const auto& p : t.partitions) {
    ids.push_back(p.partition_index);
    if (p.leader_id >= 0) led.push_back(p.partition_index);
  }
  const auto starts = list_offsets(c, t, led, earliest_timestamp);
  const auto ends = list_offsets(c, t, led, latest_timestamp);
  const auto configs = describe_topic_configs(c, o.name);

  auto partitions = t.partitions;
  std::sort(partitions.begin(), partitions.end(),
            [](const auto& a, const auto& b) { return a.partition_index < b.partition_index; });
  const auto replicas =
      partitions.empty() ? 0 : static_cast<std::int32_t>(partitions[0].replica_nodes.size());
  auto offset_or_null = [](const std::map<std::int32_t, std::int64_t>& m, std::int32_t p) {
    const auto it = m.find(p);
    return it == m.end() ? json(nullptr) : json(it->second);
  };
  if (o.common.json()) {
    json parts = json::array();
    for (const auto& p : partitions) {
      parts.push_back({{"partition", p.partition_index},
                       {"leader", p.leader_id},
                       {"leader_epoch", p.leader_epoch},
                       {"replicas", p.replica_nodes},
                       {"isr", p.isr_nodes},
                       {"offline_replicas", p.offline_replicas},
                       {"log_start_offset", offset_or_null(starts, p.partition_index)},
                       {"high_watermark", offset_or_null(ends, p.partition_index)},
                       {"error", error_json(p.error_code, std::nullopt)}});
    }
    json cfgs = json::array();
    for (const auto& e : configs) {
      cfgs.push_back({{"name", e.name},
                      {"value", e.value ? json(*e.value) : json(nullptr)},
                      {"source", e.source},
                      {"read_only", e.read_only},
                      {"sensitive", e.sensitive}});
    }
    print_json({{"name", o.name},
                {"topic_id", uuid_text(t.topic_id)},
                {"internal", t.is_internal},
                {"replication_factor", replicas},
                {"partitions", std::move(parts)},
                {"configs", std::move(cfgs)}});
    return 0;
  }
  print_table({{"NAME", o.name},
               {"TOPIC ID", uuid_text(t.topic_id)},
               {"INTERNAL", t.is_internal ? "true" : "false"},
               {"PARTITIONS", std::to_string(partitions.size())},
               {"REPLICAS", std::to_string(replicas)}});
  std::printf("\nCONFIGS\n");
  std::vector<std::vector<std::string>> rows{{"KEY", "VALUE", "SOURCE"}};
  for (const auto& e : configs) {
    rows.push_back({e.name, e.sensitive ? "(sensitive)" : e.value.value_or("(null)"), e.source});
  }
  print_table(rows);
  std::printf("\nPARTITIONS\n");
  rows = {
      {"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START-OFFSET", "HIGH-WATERMARK"}};
  auto text = [](const std::map<std::int32_t, std::int64_t>& m, std::int32_t p) {
    const auto it = m.find(p);
    return it == m.end() ? std::string("-") : std::to_string(it->second);
  };
  for (const auto& p : partitions) {
    rows.push_back({std::to_string(p.partition_index), std::to_string(p.leader_id),
                    std::to_string(p.leader_epoch), join_ids(p.replica_nodes),
                    join_ids(p.isr_nodes), text(starts, p.partition_index),
                    text(ends, p.partition_index)});
  }
  print_table(rows);
  return 0;
}

// ---- delete ---------------------------------------------------------------------------------

struct delete_options {
  common_options common;
  std::vector<std::string> names;
};

int run_delete(const delete_options& o) {
  client c(bootstrap_brokers(o.common));
  static_cast<void>(c.metadata(std::vector<std::string>{}, auto_create::no));
  const node_id node = c.controller_node();
  const auto v = c.version(node, protocol::api_key::delete_topics, 0);
  protocol::delete_topics_request request;
  request.timeout_ms = admin_timeout_ms;
  for (const auto& name : o.names) {
    if (v >= 6) {
      protocol::delete_topics_request::delete_topic_state s;
      s.name = name;
      request.topics.push_back(std::move(s));
    } else {
      request.topic_names.push_back(name);
    }
  }
  const auto response = c.call<protocol::delete_topics_response>(node, request, v);
  int status = 0;
  json results = json::array();
  for (const auto& name : o.names) {
    const auto it = std::find_if(response.responses.begin(), response.responses.end(),
                                 [&](const auto& r) { return r.name == name; });
    std::optional<std::string> failure;
    if (it == response.responses.end()) {
      failure = "no answer from the broker";
    } else if (it->error_code != 0) {
      failure = protocol::to_error_code(it->error_code) ==
                        protocol::error_code::unknown_topic_or_partition
                    ? std::string("topic does not exist")
                    : kafka_error_text(it->error_code, it->error_message);
    }
    results.push_back({{"name", name}, {"error", failure ? json(*failure) : json(nullptr)}});
    if (failure) {
      status = static_cast<int>(exit_status::failure);
      std::fprintf(stderr, "caudal: cannot delete topic %s: %s\n", name.c_str(), failure->c_str());
    } else if (!o.common.json()) {
      std::printf("deleted topic %s\n", name.c_str());
    }
  }
  if (o.common.json()) print_json(results);
  return status;
}

// ---- alter-config ---------------------------------------------------------------------------

struct alter_options {
  common_options common;
  std::string name;
  std::vector<std::string> sets;
  std::vector<std::string> deletes;
};

int run_alter(const alter_options& o) {
  if (o.sets.empty() && o.deletes.empty()) usage_error("give at least one --set or --delete");
  constexpr std::int8_t op_set = 0;
  constexpr std::int8_t op_delete = 1;
  protocol::incremental_alter_configs_request::alter_configs_resource resource;
  resource.resource_type = resource_type_topic;
  resource.resource_name = o.name;
  for (const auto& item : o.sets) {
    auto [key, value] = split_config(item, "--set");
    resource.configs.push_back({key, op_set, value});
  }
  for (const auto& key : o.deletes)
    resource.configs.push_back({key, op_delete, std::nullopt});
  client c(bootstrap_brokers(o.common));
  static_cast<void>(c.metadata(std::vector<std::string>{}, auto_create::no));
  const node_id node = c.controller_node();
  const auto v = c.version(node, protocol::api_key::incremental_alter_configs, 0);
  protocol::incremental_alter_configs_request request;
  request.resources.push_back(std::move(resource));
  const auto response = c.call<protocol::incremental_alter_configs_response>(node, request, v);
  for (const auto& r : response.responses) {
    if (r.error_code == 0) continue;
    const auto code = protocol::to_error_code(r.error_code);
    if (code == protocol::error_code::unknown_topic_or_partition) {
      throw error("topic " + o.name + " does not exist");
    }
    throw error("cannot alter the configs of topic " + o.name + ": " +
                kafka_error_text(r.error_code, r.error_message));
  }
  if (o.common.json()) {
    json set = json::object();
    for (const auto& item : o.sets) {
      auto [key, value] = split_config(item, "--set");
      set[key] = value;
    }
    print_json({{"name", o.name}, {"set", std::move(set)}, {"deleted", o.deletes}});
  } else {
    std::printf("altered the configs of topic %s\n", o.name.c_str());
  }
  return 0;
}

// ---- add-partitions -------------------------------------------------------------------------

struct add_partitions_options {
  common_options common;
  std::string name;
  std::int32_t total = 0;
};

int run_add_partitions(const add_partitions_options& o) {
  client c(bootstrap_brokers(o.common));
  static_cast<void>(c.metadata(std::vector<std::string>{}, auto_create::no));
  const node_id node = c.controller_node();
  const auto v = c.version(node, protocol::api_key::create_partitions, 0);
  protocol::create_partitions_request request;
  protocol::create_partitions_request::create_partitions_topic topic;
  topic.name = o.name;
  topic.count = o.total;
  topic.assignments.reset();  // the broker places the new partitions
  request.topics.push_back(std::move(topic));
  request.timeout_ms = admin_timeout_ms;
  const auto response = c.call<protocol::create_partitions_response>(node, request, v);
  for (const auto& r : response.results) {
    if (r.error_code == 0) continue;
    const auto code = protocol::to_error_code(r.error_code);
    if (code == protocol::error_code::unknown_topic_or_partition) {
      throw error("topic " + o.name + " does not exist");
    }
    throw error("cannot add partitions to topic " + o.name + ": " +
                kafka_error_text(r.error_code, r.error_message));
  }
  const auto md = topic_metadata(c, o.name, auto_create::no);
  const auto& t = find_topic(md, o.name);
  if (o.common.json()) {
    print_json({{"name", o.name}, {"partitions", t.partitions.size()}});
  } else {
    std::printf("topic %s now has %zu partitions\n", o.name.c_str(), t.partitions.size());
  }
  return 0;
}

}  // namespace

void add_topic_commands(CLI::App& app, command_registry& registry) {
  auto* topic = app.add_subcommand("topic", "Create, list, describe, delete and alter topics");
  topic->require_subcommand(1);

  {
    auto o = std::make_shared<create_options>();
    auto* sub = topic->add_subcommand("create", "Create a topic");
    sub->add_option("name", o->name, "The topic's name")->required();
    sub->add_option("-p,--partitions", o->partitions,
                    "Number of partitions (default: the broker's num.partitions)")
        ->check(CLI::Range(1, 1'000'000));
    sub->add_option("-r,--replicas", o->replicas,
                    "Replication factor (default: the broker's default.replication.factor)")
        ->check(CLI::Range(1, 32767));
    sub->add_option("-c,--config", o->configs, "A topic config key=value (repeatable)");
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_create(*o); });
  }
  {
    auto o = std::make_shared<list_options>();
    auto* sub = topic->add_subcommand("list", "List the topics");
    sub->alias("ls");
    sub->add_flag("-i,--internal", o->internal, "Include internal topics");
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_list(*o); });
  }
  {
    auto o = std::make_shared<describe_options>();
    auto* sub = topic->add_subcommand(
        "describe", "Show a topic's partitions (leaders, offsets) and configs with their source");
    sub->add_option("name", o->name, "The topic's name")->required();
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_describe(*o); });
  }
  {
    auto o = std::make_shared<delete_options>();
    auto* sub = topic->add_subcommand("delete", "Delete topics");
    sub->add_option("names", o->names, "The topics' names")->required();
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_delete(*o); });
  }
  {
    auto o = std::make_shared<alter_options>();
    auto* sub = topic->add_subcommand("alter-config", "Set or delete topic configs");
    sub->add_option("name", o->name, "The topic's name")->required();
    sub->add_option("-s,--set", o->sets, "Set a config: key=value (repeatable)");
    sub->add_option("-d,--delete", o->deletes,
                    "Delete a config, restoring its default: key (repeatable)");
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_alter(*o); });
  }
  {
    auto o = std::make_shared<add_partitions_options>();
    auto* sub = topic->add_subcommand("add-partitions", "Grow a topic to more partitions");
    sub->add_option("name", o->name, "The topic's name")->required();
    sub->add_option("-n,--num", o->total, "The new total number of partitions")
        ->required()
        ->check(CLI::Range(1, 1'000'000));
    add_common_options(*sub, o->common, true);
    registry.add(sub, [o] { return run_add_partitions(*o); });
  }
}

}  // namespace caudal::cli
