// Goal: the admin APIs (CreateTopics, DeleteTopics, DeleteRecords, DescribeConfigs,
// AlterConfigs, CreatePartitions, IncrementalAlterConfigs, DescribeCluster) answer as Kafka
// does: every behaviour and error code the broker promises, at the oldest and newest served
// version of each API, and a malformed body closes the connection instead of crashing.
// Method: a whole broker in a temp directory (test_harness.h), driven through
// broker::handle() with wire-encoded requests; the results are checked on the decoded
// responses and on the metadata and partition logs behind them.

#include "broker/errors.h"
#include "broker/test_harness.h"
#include "cluster/topic_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace caudal::broker {
namespace {

using protocol::error_code;
using testing::broker_harness;

// ---------------------------------------------------------------- request builders

protocol::create_topics_request::creatable_topic new_topic(std::string name,
                                                           std::int32_t partitions = 1,
                                                           std::int16_t replication = 1) {
  protocol::create_topics_request::creatable_topic t;
  t.name = std::move(name);
  t.num_partitions = partitions;
  t.replication_factor = replication;
  return t;
}

protocol::create_topics_request create(
    std::vector<protocol::create_topics_request::creatable_topic> topics,
    bool validate_only = false) {
  protocol::create_topics_request r;
  r.topics = std::move(topics);
  r.validate_only = validate_only;
  return r;
}

protocol::create_partitions_request grow(std::string name, std::int32_t count,
                                         bool validate_only = false) {
  protocol::create_partitions_request r;
  protocol::create_partitions_request::create_partitions_topic t;
  t.name = std::move(name);
  t.count = count;
  t.assignments = std::nullopt;
  r.topics.push_back(std::move(t));
  r.validate_only = validate_only;
  return r;
}

protocol::describe_configs_request describe(
    std::int8_t type, std::string name,
    std::optional<std::vector<std::string>> keys = std::nullopt) {
  protocol::describe_configs_request r;
  protocol::describe_configs_request::describe_configs_resource res;
  res.resource_type = type;
  res.resource_name = std::move(name);
  res.configuration_keys = std::move(keys);
  r.resources.push_back(std::move(res));
  return r;
}

protocol::alter_configs_request alter(std::int8_t type, std::string name,
                                      std::vector<std::pair<std::string, std::string>> configs,
                                      bool validate_only = false) {
  protocol::alter_configs_request r;
  protocol::alter_configs_request::alter_configs_resource res;
  res.resource_type = type;
  res.resource_name = std::move(name);
  for (auto& [k, v] : configs)
    res.configs.push_back({k, v});
  r.resources.push_back(std::move(res));
  r.validate_only = validate_only;
  return r;
}

struct op {
  std::string name;
  std::int8_t operation;
  std::optional<std::string> value;
};

protocol::incremental_alter_configs_request incremental(std::int8_t type, std::string name,
                                                        std::vector<op> ops,
                                                        bool validate_only = false) {
  protocol::incremental_alter_configs_request r;
  protocol::incremental_alter_configs_request::alter_configs_resource res;
  res.resource_type = type;
  res.resource_name = std::move(name);
  for (auto& o : ops)
    res.configs.push_back({o.name, o.operation, o.value});
  r.resources.push_back(std::move(res));
  r.validate_only = validate_only;
  return r;
}

protocol::delete_records_request delete_records(
    std::string topic, std::vector<std::pair<std::int32_t, std::int64_t>> parts) {
  protocol::delete_records_request r;
  protocol::delete_records_request::delete_records_topic t;
  t.name = std::move(topic);
  for (auto [p, o] : parts)
    t.partitions.push_back({p, o});
  r.topics.push_back(std::move(t));
  return r;
}

constexpr std::int8_t topic_type = 2;
constexpr std::int8_t broker_type = 4;
constexpr std::int8_t set_op = 0, delete_op = 1, append_op = 2, subtract_op = 3;

template <class Configs>
const auto* find_config(const Configs& configs, std::string_view name) {
  auto it =
      std::find_if(configs.begin(), configs.end(), [&](const auto& c) { return c.name == name; });
  return it == configs.end() ? nullptr : &*it;
}

// ---------------------------------------------------------------- served table

TEST(admin_api_versions, lists_every_admin_api_with_its_range) {
  broker_harness h;
  protocol::api_versions_request request;
  request.client_software_name = "caudal-test";
  request.client_software_version = "1.0";
  auto r = h.call(3, request);
  ASSERT_EQ(r.error_code, 0);
  const std::vector<std::tuple<int, int, int>> expected{{19, 0, 7}, {20, 0, 6}, {21, 0, 2},
                                                        {32, 0, 4}, {33, 0, 2}, {37, 0, 3},
                                                        {44, 0, 1}, {60, 0, 1}};
  for (auto [key, min, max] : expected) {
    auto it = std::find_if(r.api_keys.begin(), r.api_keys.end(),
                           [key = key](const auto& k) { return k.api_key == key; });
    ASSERT_NE(it, r.api_keys.end()) << key;
    EXPECT_EQ(it->min_version, min) << key;
    EXPECT_EQ(it->max_version, max) << key;
  }
  EXPECT_TRUE(std::is_sorted(r.api_keys.begin(), r.api_keys.end(),
                             [](const auto& a, const auto& b) { return a.api_key < b.api_key; }));
}

TEST(admin_bad_input, malformed_bodies_close_the_connection) {
  broker_harness h;
  const std::vector<std::pair<std::int16_t, std::int16_t>> apis{
      {19, 0}, {19, 7}, {20, 0}, {20, 6}, {21, 0}, {21, 2}, {32, 0}, {32, 4},
      {33, 0}, {33, 2}, {37, 0}, {37, 3}, {44, 0}, {44, 1}, {60, 0}, {60, 1}};
  const std::vector<std::byte> lying_count{std::byte{0x7f}, std::byte{0xff}, std::byte{0xff},
                                           std::byte{0xff}};
  for (auto [key, version] : apis) {
    EXPECT_EQ(h.exchange_body(key, version, {}).kind, net::completion_kind::close)
        << key << " v" << version;
    EXPECT_EQ(h.exchange_body(key, version, lying_count).kind, net::completion_kind::close)
        << key << " v" << version;
  }
  // The broker still answers afterwards.
  EXPECT_EQ(h.call(0, protocol::describe_cluster_request{}).error_code, 0);
}

TEST(admin_bad_input, versions_beyond_the_served_range_close_the_connection) {
  broker_harness h;
  protocol::writer w;
  w.write_int32(0);
  EXPECT_EQ(h.exchange_body(19, 8, w.bytes()).kind, net::completion_kind::close);
  EXPECT_EQ(h.exchange_body(60, 2, w.bytes()).kind, net::completion_kind::close);
}

// ---------------------------------------------------------------- CreateTopics

TEST(create_topics, v0_creates_topics_and_their_logs) {
  broker_harness h;
  auto r = h.call(0, create({new_topic("orders", 3), new_topic("audit", 1)}));
  ASSERT_EQ(r.topics.size(), 2u);
  for (const auto& t : r.topics)
    EXPECT_EQ(t.error_code, 0) << t.name;
  const auto* meta = h.metadata().topics()->find("orders");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->partitions, 3);
  for (int p = 0; p < 3; ++p)
    EXPECT_NE(h.partitions().get("orders", p), nullptr) << p;
  EXPECT_EQ(h.partitions().get("orders", 3), nullptr);
  EXPECT_NE(h.partitions().get("audit", 0), nullptr);
}

TEST(create_topics, v7_defaults_configs_and_topic_id) {
  broker_harness h(properties{{"num.partitions", "4"}, {"log.retention.ms", "5000"}});
  auto t = new_topic("events", -1, -1);
  t.configs.push_back({"segment.bytes", "1048576"});
  auto r = h.call(7, create({t}));
  ASSERT_EQ(r.topics.size(), 1u);
  const auto& out = r.topics[0];
  EXPECT_EQ(out.error_code, 0);
  EXPECT_EQ(out.error_message, std::nullopt);
  EXPECT_EQ(out.num_partitions, 4);
  EXPECT_EQ(out.replication_factor, 1);
  const auto* meta = h.metadata().topics()->find("events");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->partitions, 4);
  EXPECT_EQ(out.topic_id, to_wire(meta->id));
  EXPECT_FALSE(out.topic_id.is_zero());
  ASSERT_TRUE(out.configs.has_value());
  const auto* seg = find_config(*out.configs, "segment.bytes");
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(seg->value, "1048576");
  EXPECT_EQ(seg->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
  EXPECT_FALSE(seg->read_only);
  EXPECT_FALSE(seg->is_sensitive);
  const auto* retention = find_config(*out.configs, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "5000");
  EXPECT_EQ(retention->config_source, 4);  // STATIC_BROKER_CONFIG
  const auto* max_bytes = find_config(*out.configs, "max.message.bytes");
  ASSERT_NE(max_bytes, nullptr);
  EXPECT_EQ(max_bytes->value, "1048588");
  EXPECT_EQ(max_bytes->config_source, 5);  // DEFAULT_CONFIG
  // The log uses the topic's setting.
  auto p = h.partitions().get("events", 3);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->log->config().segment_bytes, 1048576);
}

TEST(create_topics, manual_assignments_on_this_node) {
  broker_harness h;
  auto t = new_topic("placed", -1, -1);
  t.assignments.push_back({0, {0}});
  t.assignments.push_back({1, {0}});
  auto r = h.call(4, create({t}));
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].error_code, 0) << r.topics[0].error_message.value_or("");
  EXPECT_EQ(h.metadata().topics()->find("placed")->partitions, 2);
  EXPECT_NE(h.partitions().get("placed", 1), nullptr);
}

TEST(create_topics, bad_assignments) {
  broker_harness h;
  auto mixed = new_topic("mixed", 2, -1);
  mixed.assignments.push_back({0, {0}});
  auto mixed_rf = new_topic("mixed-rf", -1, 1);
  mixed_rf.assignments.push_back({0, {0}});
  auto elsewhere = new_topic("elsewhere", -1, -1);
  elsewhere.assignments.push_back({0, {5}});
  auto twice = new_topic("twice", -1, -1);
  twice.assignments.push_back({0, {0, 0}});
  auto empty = new_topic("empty", -1, -1);
  empty.assignments.push_back({0, {}});
  auto gap = new_topic("gap", -1, -1);
  gap.assignments.push_back({0, {0}});
  gap.assignments.push_back({2, {0}});
  auto repeated = new_topic("repeated", -1, -1);
  repeated.assignments.push_back({0, {0}});
  repeated.assignments.push_back({0, {0}});
  auto r = h.call(1, create({mixed, mixed_rf, elsewhere, twice, empty, gap, repeated}));
  ASSERT_EQ(r.topics.size(), 7u);
  EXPECT_EQ(r.topics[0].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(r.topics[0].error_message,
            "A manual partition assignment was specified, but numPartitions was not set to -1.");
  EXPECT_EQ(r.topics[1].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(r.topics[2].error_code, wire(error_code::invalid_replica_assignment));
  EXPECT_EQ(r.topics[2].error_message,
            "The manual partition assignment includes broker 5, but no such broker is "
            "registered.");
  for (std::size_t i = 3; i < 7; ++i)
    EXPECT_EQ(r.topics[i].error_code, wire(error_code::invalid_replica_assignment)) << i;
  EXPECT_TRUE(h.metadata().topics()->topics().empty());
}

TEST(create_topics, duplicate_names_are_invalid_requests) {
  broker_harness h;
  auto r = h.call(2, create({new_topic("dup"), new_topic("fine"), new_topic("dup")}));
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].name, "dup");
  EXPECT_EQ(r.topics[0].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(r.topics[0].error_message, "Duplicate topic name.");
  EXPECT_EQ(r.topics[1].name, "fine");
  EXPECT_EQ(r.topics[1].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("dup"), nullptr);
}

TEST(create_topics, invalid_configs) {
  broker_harness h;
  auto unknown = new_topic("a");
  unknown.configs.push_back({"no.such.key", "1"});
  auto malformed = new_topic("b");
  malformed.configs.push_back({"retention.ms", "soon"});
  auto compact = new_topic("c");
  compact.configs.push_back({"cleanup.policy", "compact"});
  auto null_value = new_topic("d");
  null_value.configs.push_back({"retention.ms", std::nullopt});
  auto r = h.call(7, create({unknown, malformed, compact, null_value}));
  ASSERT_EQ(r.topics.size(), 4u);
  for (const auto& t : r.topics) {
    EXPECT_EQ(t.error_code, wire(error_code::invalid_config)) << t.name;
    EXPECT_EQ(t.num_partitions, -1);
    EXPECT_EQ(t.replication_factor, -1);
    EXPECT_TRUE(t.topic_id.is_zero());
  }
  EXPECT_EQ(r.topics[0].error_message, *cluster::check_topic_config("no.such.key", "1"));
  EXPECT_EQ(r.topics[1].error_message, *cluster::check_topic_config("retention.ms", "soon"));
  EXPECT_EQ(r.topics[2].error_message, *cluster::check_topic_config("cleanup.policy", "compact"));
  EXPECT_EQ(r.topics[3].error_message, "Null value not supported for topic configs: retention.ms");
  EXPECT_TRUE(h.metadata().topics()->topics().empty());
}

TEST(create_topics, other_errors_with_kafka_codes_and_messages) {
  broker_harness h;
  h.create_topic("exists");
  h.create_topic("ex_ists");
  auto r = h.call(5, create({new_topic("exists"), new_topic("bad/name"), new_topic("zero", 0),
                             new_topic("negative", -2), new_topic("three", 1, 3),
                             new_topic("zero-rf", 1, 0), new_topic("ex.ists")}));
  ASSERT_EQ(r.topics.size(), 7u);
  EXPECT_EQ(r.topics[0].error_code, wire(error_code::topic_already_exists));
  EXPECT_EQ(r.topics[0].error_message, "Topic 'exists' already exists.");
  EXPECT_EQ(r.topics[1].error_code, wire(error_code::invalid_topic_exception));
  EXPECT_EQ(r.topics[1].error_message, *cluster::check_topic_name("bad/name"));
  EXPECT_EQ(r.topics[2].error_code, wire(error_code::invalid_partitions));
  EXPECT_EQ(r.topics[3].error_code, wire(error_code::invalid_partitions));
  EXPECT_EQ(r.topics[4].error_code, wire(error_code::invalid_replication_factor));
  EXPECT_NE(r.topics[4].error_message->find("replication factor of 3"), std::string::npos);
  EXPECT_EQ(r.topics[5].error_code, wire(error_code::invalid_replication_factor));
  EXPECT_EQ(r.topics[6].error_code, wire(error_code::invalid_topic_exception));  // collides
}

TEST(create_topics, v0_has_no_error_message_but_the_code) {
  broker_harness h;
  h.create_topic("exists");
  auto r = h.call(0, create({new_topic("exists")}));
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].error_code, wire(error_code::topic_already_exists));
}

TEST(create_topics, validate_only_creates_nothing) {
  broker_harness h;
  auto t = new_topic("dry", 2);
  t.configs.push_back({"retention.ms", "1000"});
  auto r = h.call(5, create({t, new_topic("bad", 1, 2)}, /*validate_only=*/true));
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].error_code, 0);
  EXPECT_EQ(r.topics[0].num_partitions, 2);
  EXPECT_EQ(r.topics[0].replication_factor, 1);
  ASSERT_TRUE(r.topics[0].configs);
  EXPECT_EQ(find_config(*r.topics[0].configs, "retention.ms")->value, "1000");
  EXPECT_EQ(r.topics[1].error_code, wire(error_code::invalid_replication_factor));
  EXPECT_TRUE(h.metadata().topics()->topics().empty());
  EXPECT_EQ(h.partitions().get("dry", 0), nullptr);
  // v7 leaves the id unset: nothing was created.
  auto v7 = h.call(7, create({new_topic("dry")}, true));
  EXPECT_EQ(v7.topics[0].error_code, 0);
  EXPECT_TRUE(v7.topics[0].topic_id.is_zero());
}

// ---------------------------------------------------------------- DeleteTopics

TEST(delete_topics, v0_by_name_removes_topic_and_logs) {
  broker_harness h;
  h.create_topic("gone", 2);
  protocol::delete_topics_request req;
  req.topic_names = {"gone", "never"};
  auto r = h.call(0, req);
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_EQ(r.responses[0].name, "gone");
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[1].error_code, wire(error_code::unknown_topic_or_partition));
  EXPECT_EQ(h.metadata().topics()->find("gone"), nullptr);
  EXPECT_EQ(h.partitions().get("gone", 0), nullptr);
}

TEST(delete_topics, v5_messages) {
  broker_harness h;
  protocol::delete_topics_request req;
  req.topic_names = {"never"};
  auto r = h.call(5, req);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, wire(error_code::unknown_topic_or_partition));
  EXPECT_EQ(r.responses[0].error_message, "This server does not host this topic-partition.");
}

TEST(delete_topics, v6_by_name_or_id) {
  broker_harness h;
  const auto by_id = h.create_topic("by-id");
  const auto by_name = h.create_topic("by-name");
  h.create_topic("both");
  protocol::delete_topics_request req;
  req.topics.push_back({std::nullopt, to_wire(by_id.id)});
  req.topics.push_back({"by-name", {}});
  req.topics.push_back({std::nullopt, protocol::uuid{1, 2}});
  req.topics.push_back({"both", to_wire(by_id.id)});
  req.topics.push_back({"nope", {}});
  auto r = h.call(6, req);
  ASSERT_EQ(r.responses.size(), 5u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[0].name, "by-id");
  EXPECT_EQ(r.responses[0].topic_id, to_wire(by_id.id));
  EXPECT_EQ(r.responses[0].error_message, std::nullopt);
  EXPECT_EQ(r.responses[1].error_code, 0);
  EXPECT_EQ(r.responses[1].topic_id, to_wire(by_name.id));
  EXPECT_EQ(r.responses[2].error_code, wire(error_code::unknown_topic_id));
  EXPECT_EQ(r.responses[2].name, std::nullopt);
  EXPECT_EQ(r.responses[3].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(r.responses[4].error_code, wire(error_code::unknown_topic_or_partition));
  EXPECT_EQ(h.metadata().topics()->find("by-id"), nullptr);
  EXPECT_EQ(h.metadata().topics()->find("by-name"), nullptr);
  EXPECT_NE(h.metadata().topics()->find("both"), nullptr);
}

TEST(delete_topics, duplicates_are_invalid_requests) {
  broker_harness h;
  h.create_topic("twice");
  protocol::delete_topics_request req;
  req.topic_names = {"twice", "twice"};
  auto r = h.call(4, req);
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_EQ(r.responses[0].error_code, wire(error_code::invalid_request));
  EXPECT_NE(h.metadata().topics()->find("twice"), nullptr);
}

TEST(delete_topics, disabled_by_config) {
  broker_harness h(properties{{"delete.topic.enable", "false"}});
  h.create_topic("kept");
  protocol::delete_topics_request req;
  req.topics.push_back({"kept", {}});
  auto r = h.call(6, req);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, wire(error_code::topic_deletion_disabled));
  EXPECT_EQ(r.responses[0].error_message, "Topic deletion is disabled.");
  EXPECT_NE(h.metadata().topics()->find("kept"), nullptr);
}

// ---------------------------------------------------------------- CreatePartitions

TEST(create_partitions, v0_adds_partitions_and_logs) {
  broker_harness h;
  h.create_topic("growing", 1);
  auto r = h.call(0, grow("growing", 3));
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, 0);
  EXPECT_EQ(r.results[0].error_message, std::nullopt);
  EXPECT_EQ(h.metadata().topics()->find("growing")->partitions, 3);
  EXPECT_NE(h.partitions().get("growing", 2), nullptr);
}

TEST(create_partitions, v3_count_must_increase) {
  broker_harness h;
  h.create_topic("t", 3);
  auto same = h.call(3, grow("t", 3));
  EXPECT_EQ(same.results[0].error_code, wire(error_code::invalid_partitions));
  EXPECT_EQ(same.results[0].error_message, "Topic already has 3 partition(s).");
  auto fewer = h.call(3, grow("t", 2));
  EXPECT_EQ(fewer.results[0].error_code, wire(error_code::invalid_partitions));
  EXPECT_EQ(fewer.results[0].error_message,
            "The topic t currently has 3 partition(s); 2 would not be an increase.");
  auto unknown = h.call(3, grow("missing", 2));
  EXPECT_EQ(unknown.results[0].error_code, wire(error_code::unknown_topic_or_partition));
  EXPECT_EQ(h.metadata().topics()->find("t")->partitions, 3);
}

TEST(create_partitions, validate_only_changes_nothing) {
  broker_harness h;
  h.create_topic("t", 1);
  auto r = h.call(1, grow("t", 5, /*validate_only=*/true));
  EXPECT_EQ(r.results[0].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("t")->partitions, 1);
  EXPECT_EQ(h.partitions().get("t", 1), nullptr);
}

TEST(create_partitions, assignments) {
  broker_harness h;
  h.create_topic("t", 1);
  auto with = [](std::int32_t count, std::vector<std::vector<std::int32_t>> placement) {
    auto r = grow("t", count);
    r.topics[0].assignments.emplace();
    for (auto& ids : placement)
      r.topics[0].assignments->push_back({ids});
    return r;
  };
  auto too_few = h.call(2, with(3, {{0}}));
  EXPECT_EQ(too_few.results[0].error_code, wire(error_code::invalid_replica_assignment));
  EXPECT_EQ(too_few.results[0].error_message,
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.");
  auto elsewhere = h.call(2, with(2, {{4}}));
  EXPECT_EQ(elsewhere.results[0].error_code, wire(error_code::invalid_replica_assignment));
  auto twice = h.call(2, with(2, {{0, 0}}));
  EXPECT_EQ(twice.results[0].error_code, wire(error_code::invalid_replica_assignment));
  auto empty = h.call(2, with(2, {{}}));
  EXPECT_EQ(empty.results[0].error_code, wire(error_code::invalid_replica_assignment));
  EXPECT_EQ(h.metadata().topics()->find("t")->partitions, 1);
  auto good = h.call(3, with(3, {{0}, {0}}));
  EXPECT_EQ(good.results[0].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("t")->partitions, 3);
}

TEST(create_partitions, duplicates_are_invalid_requests) {
  broker_harness h;
  h.create_topic("t", 1);
  auto r = grow("t", 2);
  r.topics.push_back(r.topics[0]);
  auto out = h.call(0, r);
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(out.results[1].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(h.metadata().topics()->find("t")->partitions, 1);
}

// ---------------------------------------------------------------- DescribeCluster

TEST(describe_cluster, v0_and_v1_describe_this_broker) {
  broker_harness h(properties{{"node.id", "3"},
                              {"listeners", "PLAINTEXT://127.0.0.1:19092"},
                              {"advertised.listeners", "PLAINTEXT://broker.example:29092"}});
  for (std::int16_t v : {0, 1}) {
    auto r = h.call(v, protocol::describe_cluster_request{});
    EXPECT_EQ(r.error_code, 0);
    EXPECT_EQ(r.error_message, std::nullopt);
    EXPECT_EQ(r.cluster_id, h.metadata().cluster_id());
    EXPECT_EQ(r.controller_id, 3);
    ASSERT_EQ(r.brokers.size(), 1u);
    EXPECT_EQ(r.brokers[0].broker_id, 3);
    EXPECT_EQ(r.brokers[0].host, "broker.example");
    EXPECT_EQ(r.brokers[0].port, 29092);
    EXPECT_EQ(r.brokers[0].rack, std::nullopt);
    EXPECT_EQ(r.endpoint_type, 1);
    EXPECT_EQ(r.cluster_authorized_operations, std::numeric_limits<std::int32_t>::min());
  }
  protocol::describe_cluster_request with_ops;
  with_ops.include_cluster_authorized_operations = true;
  EXPECT_EQ(h.call(1, with_ops).cluster_authorized_operations,
            std::numeric_limits<std::int32_t>::min());
}

TEST(describe_cluster, v1_endpoint_types_other_than_brokers) {
  broker_harness h;
  protocol::describe_cluster_request controllers;
  controllers.endpoint_type = 2;
  auto r = h.call(1, controllers);
  EXPECT_EQ(r.error_code, wire(error_code::mismatched_endpoint_type));
  EXPECT_EQ(r.error_message,
            "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of "
            "type CONTROLLER");
  EXPECT_TRUE(r.brokers.empty());
  protocol::describe_cluster_request unknown;
  unknown.endpoint_type = 7;
  auto u = h.call(1, unknown);
  EXPECT_EQ(u.error_code, wire(error_code::unsupported_endpoint_type));
  EXPECT_EQ(u.error_message, "Unsupported endpoint type 7");
}

// ---------------------------------------------------------------- DescribeConfigs

TEST(describe_configs, v0_topic_with_is_default) {
  broker_harness h;
  h.create_topic("t", 1, {{"retention.ms", "1000"}});
  auto r = h.call(0, describe(topic_type, "t"));
  ASSERT_EQ(r.results.size(), 1u);
  const auto& res = r.results[0];
  EXPECT_EQ(res.error_code, 0);
  EXPECT_EQ(res.error_message, std::nullopt);
  EXPECT_EQ(res.resource_type, topic_type);
  EXPECT_EQ(res.resource_name, "t");
  EXPECT_EQ(res.configs.size(), cluster::topic_config_definitions().size());
  const auto* retention = find_config(res.configs, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_FALSE(retention->is_default);
  EXPECT_FALSE(retention->read_only);
  const auto* segment = find_config(res.configs, "segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->value, "1073741824");
  EXPECT_TRUE(segment->is_default);
}

TEST(describe_configs, v1_sources_and_synonyms) {
  broker_harness h(properties{{"log.retention.ms", "7000"}, {"message.max.bytes", "2000"}});
  h.create_topic("t", 1, {{"retention.ms", "1000"}});
  auto req = describe(
      topic_type, "t",
      std::vector<std::string>{"retention.ms", "max.message.bytes", "segment.ms", "flush.ms"});
  req.include_synonyms = true;
  auto r = h.call(1, req);
  ASSERT_EQ(r.results.size(), 1u);
  const auto& configs = r.results[0].configs;
  ASSERT_EQ(configs.size(), 4u);

  const auto* retention = find_config(configs, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->config_source, 1);
  ASSERT_EQ(retention->synonyms.size(), 3u);
  EXPECT_EQ(retention->synonyms[0].name, "retention.ms");
  EXPECT_EQ(retention->synonyms[0].value, "1000");
  EXPECT_EQ(retention->synonyms[0].source, 1);
  EXPECT_EQ(retention->synonyms[1].name, "log.retention.ms");
  EXPECT_EQ(retention->synonyms[1].value, "7000");
  EXPECT_EQ(retention->synonyms[1].source, 4);
  EXPECT_EQ(retention->synonyms[2].name, "log.retention.hours");
  EXPECT_EQ(retention->synonyms[2].value, "168");
  EXPECT_EQ(retention->synonyms[2].source, 5);

  const auto* max_bytes = find_config(configs, "max.message.bytes");
  ASSERT_NE(max_bytes, nullptr);
  EXPECT_EQ(max_bytes->value, "2000");
  EXPECT_EQ(max_bytes->config_source, 4);
  ASSERT_EQ(max_bytes->synonyms.size(), 2u);
  EXPECT_EQ(max_bytes->synonyms[0].name, "message.max.bytes");
  EXPECT_EQ(max_bytes->synonyms[0].source, 4);
  EXPECT_EQ(max_bytes->synonyms[1].value, "1048588");
  EXPECT_EQ(max_bytes->synonyms[1].source, 5);

  const auto* roll = find_config(configs, "segment.ms");
  ASSERT_NE(roll, nullptr);
  EXPECT_EQ(roll->config_source, 5);
  ASSERT_EQ(roll->synonyms.size(), 1u);
  EXPECT_EQ(roll->synonyms[0].name, "log.roll.hours");

  const auto* flush = find_config(configs, "flush.ms");
  ASSERT_NE(flush, nullptr);
  ASSERT_EQ(flush->synonyms.size(), 1u);
  EXPECT_EQ(flush->synonyms[0].name, "flush.ms");
  EXPECT_EQ(flush->synonyms[0].value, flush->value);
  EXPECT_EQ(flush->synonyms[0].source, 5);

  // Without include_synonyms, none.
  req.include_synonyms = false;
  const auto plain = h.call(2, req);
  for (const auto& c : plain.results[0].configs)
    EXPECT_TRUE(c.synonyms.empty()) << c.name;
}

TEST(describe_configs, v4_types_and_documentation) {
  broker_harness h;
  h.create_topic("t");
  auto req = describe(topic_type, "t", std::vector<std::string>{});  // empty: every key
  req.include_documentation = true;
  auto r = h.call(4, req);
  ASSERT_EQ(r.results.size(), 1u);
  const auto& configs = r.results[0].configs;
  EXPECT_EQ(configs.size(), cluster::topic_config_definitions().size());
  EXPECT_EQ(find_config(configs, "cleanup.policy")->config_type, 7);          // LIST
  EXPECT_EQ(find_config(configs, "message.timestamp.type")->config_type, 2);  // STRING
  EXPECT_EQ(find_config(configs, "segment.bytes")->config_type, 3);           // INT
  EXPECT_EQ(find_config(configs, "retention.ms")->config_type, 5);            // LONG
  for (const auto& c : configs) {
    ASSERT_TRUE(c.documentation) << c.name;
    EXPECT_FALSE(c.documentation->empty()) << c.name;
  }
  req.include_documentation = false;
  const auto plain = h.call(4, req);
  for (const auto& c : plain.results[0].configs)
    EXPECT_EQ(c.documentation, std::nullopt) << c.name;
}

TEST(describe_configs, broker_resource) {
  broker_harness h(properties{{"node.id", "2"}, {"num.partitions", "6"}});
  auto req = describe(broker_type, "2");
  req.include_synonyms = true;
  auto r = h.call(4, req);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, 0);
  const auto& configs = r.results[0].configs;
  EXPECT_EQ(configs.size(), cluster::broker_config::definitions().size());
  const auto* partitions = find_config(configs, "num.partitions");
  ASSERT_NE(partitions, nullptr);
  EXPECT_EQ(partitions->value, "6");
  EXPECT_EQ(partitions->config_source, 4);
  EXPECT_TRUE(partitions->read_only);
  EXPECT_FALSE(partitions->is_sensitive);
  EXPECT_EQ(partitions->config_type, 3);
  ASSERT_EQ(partitions->synonyms.size(), 2u);
  EXPECT_EQ(partitions->synonyms[0].value, "6");
  EXPECT_EQ(partitions->synonyms[0].source, 4);
  EXPECT_EQ(partitions->synonyms[1].value, "1");
  EXPECT_EQ(partitions->synonyms[1].source, 5);
  const auto* auto_create = find_config(configs, "auto.create.topics.enable");
  ASSERT_NE(auto_create, nullptr);
  EXPECT_EQ(auto_create->config_source, 5);
  EXPECT_EQ(auto_create->config_type, 1);  // BOOLEAN
  ASSERT_EQ(auto_create->synonyms.size(), 1u);

  auto v0 = h.call(0, describe(broker_type, "2", std::vector<std::string>{"num.partitions"}));
  ASSERT_EQ(v0.results[0].configs.size(), 1u);
  EXPECT_FALSE(v0.results[0].configs[0].is_default);

  // The cluster-wide dynamic defaults: Caudal has none.
  auto defaults = h.call(1, describe(broker_type, ""));
  EXPECT_EQ(defaults.results[0].error_code, 0);
  EXPECT_TRUE(defaults.results[0].configs.empty());
}

TEST(describe_configs, resource_errors) {
  broker_harness h;
  protocol::describe_configs_request req;
  for (auto [type, name] :
       std::vector<std::pair<std::int8_t, std::string>>{{topic_type, "missing"},
                                                        {broker_type, "1"},
                                                        {broker_type, "zero"},
                                                        {8, "0"},
                                                        {1, "x"},
                                                        {topic_type, "bad name"}}) {
    protocol::describe_configs_request::describe_configs_resource res;
    res.resource_type = type;
    res.resource_name = name;
    res.configuration_keys = std::nullopt;
    req.resources.push_back(res);
  }
  for (std::int16_t v : {0, 4}) {
    auto r = h.call(v, req);
    ASSERT_EQ(r.results.size(), 6u);
    EXPECT_EQ(r.results[0].error_code, wire(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.results[0].error_message, "The topic 'missing' does not exist.");
    EXPECT_EQ(r.results[1].error_code, wire(error_code::invalid_request));
    EXPECT_EQ(r.results[1].error_message,
              "Unexpected broker id, expected 0 or empty string, but received 1");
    EXPECT_EQ(r.results[2].error_code, wire(error_code::invalid_request));
    EXPECT_EQ(r.results[2].error_message, "Broker id must be an integer, but it is: zero");
    EXPECT_EQ(r.results[3].error_code, wire(error_code::invalid_request));
    EXPECT_EQ(r.results[4].error_code, wire(error_code::invalid_request));
    EXPECT_EQ(r.results[5].error_code, wire(error_code::invalid_topic_exception));
    for (const auto& res : r.results)
      EXPECT_TRUE(res.configs.empty());
  }
}

// ---------------------------------------------------------------- AlterConfigs

TEST(alter_configs, v0_replaces_every_topic_config) {
  broker_harness h;
  h.create_topic("t", 1, {{"retention.ms", "1000"}, {"segment.bytes", "2000000"}});
  auto r = h.call(0, alter(topic_type, "t", {{"max.message.bytes", "4096"}}));
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[0].error_message, std::nullopt);
  EXPECT_EQ(r.responses[0].resource_type, topic_type);
  EXPECT_EQ(r.responses[0].resource_name, "t");
  const properties expected{{"max.message.bytes", "4096"}};
  EXPECT_EQ(h.metadata().topics()->find("t")->configs, expected);
  // The log picked up the change.
  auto p = h.partitions().get("t", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->log->config().max_message_bytes, 4096);
  EXPECT_EQ(p->log->config().segment_bytes, 1073741824);
}

TEST(alter_configs, v2_errors_and_validate_only) {
  broker_harness h;
  h.create_topic("t", 1, {{"retention.ms", "1000"}});
  const properties before{{"retention.ms", "1000"}};

  auto bad = h.call(2, alter(topic_type, "t", {{"retention.ms", "soon"}}));
  EXPECT_EQ(bad.responses[0].error_code, wire(error_code::invalid_config));
  EXPECT_EQ(bad.responses[0].error_message, *cluster::check_topic_config("retention.ms", "soon"));
  auto compact = h.call(2, alter(topic_type, "t", {{"cleanup.policy", "compact"}}));
  EXPECT_EQ(compact.responses[0].error_code, wire(error_code::invalid_config));
  auto unknown = h.call(2, alter(topic_type, "nope", {{"retention.ms", "5"}}));
  EXPECT_EQ(unknown.responses[0].error_code, wire(error_code::unknown_topic_or_partition));
  auto dry = h.call(2, alter(topic_type, "t", {{"retention.ms", "5"}}, /*validate_only=*/true));
  EXPECT_EQ(dry.responses[0].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("t")->configs, before);

  auto broker = h.call(2, alter(broker_type, "0", {{"num.partitions", "3"}}));
  EXPECT_EQ(broker.responses[0].error_code, wire(error_code::invalid_config));
  EXPECT_EQ(broker.responses[0].error_message,
            "Cannot update these configs dynamically: Set(num.partitions)");
  auto other_broker = h.call(2, alter(broker_type, "9", {{"num.partitions", "3"}}));
  EXPECT_EQ(other_broker.responses[0].error_code, wire(error_code::invalid_request));
  auto logger = h.call(1, alter(8, "0", {{"kafka", "DEBUG"}}));
  EXPECT_EQ(logger.responses[0].error_code, wire(error_code::invalid_request));

  auto dup = alter(topic_type, "t", {{"retention.ms", "5"}});
  dup.resources.push_back(dup.resources[0]);
  auto d = h.call(0, dup);
  ASSERT_EQ(d.responses.size(), 2u);
  EXPECT_EQ(d.responses[0].error_code, wire(error_code::invalid_request));
  EXPECT_EQ(h.metadata().topics()->find("t")->configs, before);
}

TEST(alter_configs, dynamic_broker_configs_take_effect_and_survive_a_restart) {
  broker_harness h;
  h.create_topic("t");
  // Per-broker beats the cluster-wide default, which beats the file and the built-in default.
  auto def = h.call(2, alter(broker_type, "", {{"log.retention.ms", "7200000"}}));
  EXPECT_EQ(def.responses[0].error_code, 0);
  auto own = h.call(2, alter(broker_type, "0", {{"message.max.bytes", "4096"}}));
  EXPECT_EQ(own.responses[0].error_code, 0);
  auto p = h.partitions().get("t", 0);
  EXPECT_EQ(p->log->config().retention_ms, 7200000);
  EXPECT_EQ(p->log->config().max_message_bytes, 4096);
  EXPECT_EQ(h.config().source("message.max.bytes"), cluster::config_source::dynamic_broker);
  EXPECT_EQ(h.config().source("log.retention.ms"), cluster::config_source::dynamic_default_broker);
  auto bad_value = h.call(2, alter(broker_type, "0", {{"message.max.bytes", "huge"}}));
  EXPECT_EQ(bad_value.responses[0].error_code, wire(error_code::invalid_config));
  {
    // Durable: a second store over the same directory replays them (and is closed before
    // the first writes again).
    auto reopened =
        cluster::metadata_store::open(h.data_dir(), 0, system_clock(), h.services().background);
    ASSERT_TRUE(reopened);
    EXPECT_EQ((*reopened)->topics()->broker_configs("0").at("message.max.bytes"), "4096");
    EXPECT_EQ((*reopened)->topics()->broker_configs("").at("log.retention.ms"), "7200000");
  }
  // AlterConfigs replaces the whole set: an empty one removes the per-broker value.
  auto cleared = h.call(2, alter(broker_type, "0", {}));
  EXPECT_EQ(cleared.responses[0].error_code, 0);
  EXPECT_EQ(p->log->config().max_message_bytes, 1048588);
}

// ---------------------------------------------------------------- IncrementalAlterConfigs

TEST(incremental_alter_configs, v0_set_and_delete) {
  broker_harness h;
  h.create_topic("t", 1, {{"retention.ms", "1000"}, {"segment.bytes", "2000000"}});
  auto r = h.call(0, incremental(topic_type, "t",
                                 {{"max.message.bytes", set_op, "4096"},
                                  {"retention.ms", delete_op, std::nullopt}}));
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[0].error_message, std::nullopt);
  const properties expected{{"max.message.bytes", "4096"}, {"segment.bytes", "2000000"}};
  EXPECT_EQ(h.metadata().topics()->find("t")->configs, expected);
  auto p = h.partitions().get("t", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->log->config().max_message_bytes, 4096);
  EXPECT_EQ(p->log->config().segment_bytes, 2000000);
}

TEST(incremental_alter_configs, v1_append_and_subtract_on_lists) {
  broker_harness h;
  h.create_topic("t");
  // cleanup.policy starts from its effective value, "delete"; appending it again is a no-op.
  auto same = h.call(1, incremental(topic_type, "t", {{"cleanup.policy", append_op, "delete"}}));
  EXPECT_EQ(same.responses[0].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("t")->configs.at("cleanup.policy"), "delete");
  auto compact =
      h.call(1, incremental(topic_type, "t", {{"cleanup.policy", append_op, "compact"}}));
  EXPECT_EQ(compact.responses[0].error_code, wire(error_code::invalid_config));
  EXPECT_EQ(compact.responses[0].error_message,
            *cluster::check_topic_config("cleanup.policy", "delete,compact"));
  auto not_list = h.call(1, incremental(topic_type, "t", {{"retention.ms", append_op, "5"}}));
  EXPECT_EQ(not_list.responses[0].error_code, wire(error_code::invalid_config));
  EXPECT_EQ(not_list.responses[0].error_message,
            "Can't APPEND or SUBTRACT to key retention.ms because its type is not LIST.");
  auto not_list_sub =
      h.call(1, incremental(topic_type, "t", {{"segment.bytes", subtract_op, "5"}}));
  EXPECT_EQ(not_list_sub.responses[0].error_code, wire(error_code::invalid_config));
  auto subtract = h.call(1, incremental(topic_type, "t", {{"cleanup.policy", subtract_op, "x"}}));
  EXPECT_EQ(subtract.responses[0].error_code, 0);
  EXPECT_EQ(h.metadata().topics()->find("t")->configs.at("cleanup.policy"), "delete");
}

TEST(incremental_alter_configs, errors_and_validate_only) {
  broker_harness h;
  h.create_topic("t", 1, {{"retention.ms", "1000"}});
  const properties before{{"retention.ms", "1000"}};
  auto check = [&](std::int16_t v, protocol::incremental_alter_configs_request req,
                   error_code expected) {
    auto r = h.call(v, req);
    ASSERT_EQ(r.responses.size(), req.resources.size());
    EXPECT_EQ(r.responses[0].error_code, wire(expected))
        << r.responses[0].error_message.value_or("");
    EXPECT_EQ(h.metadata().topics()->find("t")->configs, before);
  };
  check(0, incremental(topic_type, "t", {{"retention.ms", set_op, "soon"}}),
        error_code::invalid_config);
  check(1, incremental(topic_type, "t", {{"no.such.key", set_op, "1"}}),
        error_code::invalid_config);
  check(1, incremental(topic_type, "t", {{"no.such.key", delete_op, std::nullopt}}),
        error_code::invalid_config);
  check(1, incremental(topic_type, "t", {{"retention.ms", 9, "1"}}), error_code::invalid_request);
  check(1, incremental(topic_type, "t", {{"retention.ms", set_op, std::nullopt}}),
        error_code::invalid_request);
  check(1,
        incremental(topic_type, "t",
                    {{"retention.ms", set_op, "5"}, {"retention.ms", delete_op, std::nullopt}}),
        error_code::invalid_request);
  check(1, incremental(topic_type, "missing", {{"retention.ms", set_op, "5"}}),
        error_code::unknown_topic_or_partition);
  check(1, incremental(topic_type, "t", {{"retention.ms", set_op, "5"}}, /*validate_only=*/true),
        error_code::none);
  check(1, incremental(broker_type, "0", {{"num.partitions", set_op, "5"}}),
        error_code::invalid_config);
  check(1, incremental(broker_type, "", {{"num.partitions", set_op, "5"}}),
        error_code::invalid_config);
  check(1, incremental(8, "0", {{"kafka", set_op, "DEBUG"}}), error_code::invalid_request);
  auto dup = incremental(topic_type, "t", {{"retention.ms", set_op, "5"}});
  dup.resources.push_back(dup.resources[0]);
  check(0, dup, error_code::invalid_request);
}

// ---------------------------------------------------------------- DeleteRecords

TEST(delete_records, v0_moves_the_log_start) {
  broker_harness h;
  h.create_topic("t", 2);
  ASSERT_EQ(h.append_records("t", 0, 10), 10);
  auto r = h.call(0, delete_records("t", {{0, 4}, {1, 0}, {7, 0}}));
  ASSERT_EQ(r.topics.size(), 1u);
  ASSERT_EQ(r.topics[0].partitions.size(), 3u);
  EXPECT_EQ(r.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(r.topics[0].partitions[0].low_watermark, 4);
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_start_offset()(), 4);
  EXPECT_EQ(r.topics[0].partitions[1].error_code, 0);
  EXPECT_EQ(r.topics[0].partitions[1].low_watermark, 0);
  EXPECT_EQ(r.topics[0].partitions[2].error_code, wire(error_code::unknown_topic_or_partition));
  EXPECT_EQ(r.topics[0].partitions[2].low_watermark, -1);
  // Going back below the log start changes nothing.
  auto back = h.call(0, delete_records("t", {{0, 2}}));
  EXPECT_EQ(back.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(back.topics[0].partitions[0].low_watermark, 4);
}

TEST(delete_records, v2_high_watermark_and_out_of_range) {
  broker_harness h;
  h.create_topic("t");
  h.append_records("t", 0, 5);
  auto beyond = h.call(2, delete_records("t", {{0, 6}}));
  EXPECT_EQ(beyond.topics[0].partitions[0].error_code, wire(error_code::offset_out_of_range));
  auto negative = h.call(2, delete_records("t", {{0, -5}}));
  EXPECT_EQ(negative.topics[0].partitions[0].error_code, wire(error_code::offset_out_of_range));
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_start_offset()(), 0);
  auto all = h.call(2, delete_records("t", {{0, -1}}));
  EXPECT_EQ(all.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(all.topics[0].partitions[0].low_watermark, 5);
  EXPECT_EQ(h.partitions().get("t", 0)->log->log_start_offset()(), 5);
  auto unknown = h.call(1, delete_records("missing", {{0, 0}}));
  EXPECT_EQ(unknown.topics[0].partitions[0].error_code,
            wire(error_code::unknown_topic_or_partition));
}

}  // namespace
}  // namespace caudal::broker
