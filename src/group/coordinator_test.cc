// Goal: the group coordinator keeps committed offsets and groups in `__consumer_offsets`
// and gets them back after a restart; retention expires the offsets of empty groups; the
// snapshot keeps the topic bounded without losing a key; records round-trip.
// Method: a real metadata store and partition manager in a temp directory with a manual
// clock; the coordinator is reopened on the same directory to model a broker restart.

#include "group/group_coordinator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <future>

namespace caudal::group {
namespace {

class coordinator_test : public ::testing::Test {
 protected:
  coordinator_test() {
    std::string pattern = (std::filesystem::temp_directory_path() / "caudal-group-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    config = std::make_unique<cluster::broker_config>(
        cluster::broker_config::load({{"log.dirs", dir.string()}}));
    open();
  }
  ~coordinator_test() override {
    close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void open() {
    auto store = cluster::metadata_store::open(dir, 0, clk, pool);
    ASSERT_TRUE(store) << store.error().message();
    metadata = std::move(*store);
    partitions = std::make_unique<cluster::partition_manager>(dir, *config, clk, pool);
    ASSERT_TRUE(partitions->reconcile(*metadata->topics()));
    coordinator_config c = coordinator_config::from(*config);
    c.limits.initial_rebalance_delay_ms = 0;
    c.offsets_partitions = 3;
    c.offsets_retention_ms = 60000;
    c.offsets_retention_check_interval_ms = 1000;
    c.snapshot_records_min = 20;
    coordinator = std::make_unique<group_coordinator>(c, *metadata, *partitions, clk);
    ASSERT_TRUE(coordinator->load());
  }
  void close() {
    coordinator.reset();
    if (partitions) partitions->stop();
    partitions.reset();
    metadata.reset();
  }
  void reopen() {
    close();
    open();
  }

  error commit(const std::string& group_id, std::int64_t offset, std::int32_t partition = 0,
               std::int32_t generation = -1, const std::string& member = "") {
    auto got = std::make_shared<std::promise<error>>();
    committed_offset v;
    v.offset = offset;
    v.metadata = "meta";
    v.commit_timestamp_ms = clk.wall_ms();
    coordinator->commit(group_id, member, std::nullopt, generation,
                        {offset_commit{{"orders", partition}, v}},
                        [got](error e) { got->set_value(e); });
    // Completion comes from a flush thread once the record is durable.
    auto f = got->get_future();
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return error::kafka_storage_error;
    }
    return f.get();
  }

  std::int64_t fetched(const std::string& group_id, std::int32_t partition = 0) {
    auto [e, offsets] =
        coordinator->fetch_offsets(group_id, std::vector<topic_partition>{{"orders", partition}});
    EXPECT_EQ(e, error::none);
    return offsets.at(0).second.offset;
  }

  std::filesystem::path dir;
  manual_clock clk;
  storage::flush_pool pool{1};
  std::unique_ptr<cluster::broker_config> config;
  std::unique_ptr<cluster::metadata_store> metadata;
  std::unique_ptr<cluster::partition_manager> partitions;
  std::unique_ptr<group_coordinator> coordinator;
};

TEST_F(coordinator_test, not_available_until_the_topic_exists) {
  EXPECT_FALSE(coordinator->ready());
  EXPECT_EQ(commit("g", 5), error::coordinator_not_available);
  EXPECT_EQ(coordinator->heartbeat("g", "m", std::nullopt, 1), error::coordinator_not_available);
  ASSERT_TRUE(coordinator->ensure_topic());
  EXPECT_TRUE(coordinator->ready());
  const auto* t = metadata->topics()->find(offsets_topic);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->internal);
  EXPECT_EQ(t->partitions, 3);
}

TEST_F(coordinator_test, offsets_and_groups_survive_a_restart) {
  ASSERT_TRUE(coordinator->ensure_topic());
  EXPECT_EQ(commit("manual", 42, 0), error::none);
  EXPECT_EQ(commit("manual", 7, 1), error::none);
  EXPECT_EQ(fetched("manual"), 42);
  EXPECT_EQ(fetched("nobody"), -1);
  // A group using the protocol, Stable with an assignment.
  join_request r;
  r.client_id = "c";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 10000;
  r.protocol_type = "consumer";
  r.protocols.push_back({"range", {std::byte{1}}});
  std::optional<join_result> joined;
  coordinator->join("live", r, [&](join_result x) { joined = x; });
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->err, error::none);
  sync_request s;
  s.member_id = joined->member_id;
  s.generation = joined->generation;
  s.assignments.push_back({joined->member_id, {std::byte{9}}});
  std::optional<sync_result> synced;
  coordinator->sync("live", s, [&](sync_result x) { synced = x; });
  ASSERT_TRUE(synced);
  EXPECT_EQ(commit("live", 100, 0, joined->generation, joined->member_id), error::none);
  EXPECT_EQ(commit("live", 100, 0, joined->generation + 1, joined->member_id),
            error::illegal_generation);

  reopen();
  EXPECT_TRUE(coordinator->ready());
  EXPECT_EQ(fetched("manual", 0), 42);
  EXPECT_EQ(fetched("manual", 1), 7);
  EXPECT_EQ(fetched("live", 0), 100);
  auto d = coordinator->describe("live");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, group_state::stable);
  EXPECT_EQ(d->generation, 1);
  ASSERT_EQ(d->members.size(), 1U);
  EXPECT_EQ(d->members[0].assignment, std::vector<std::byte>{std::byte{9}});
  // The restored member keeps its generation and heartbeats on.
  EXPECT_EQ(coordinator->heartbeat("live", joined->member_id, std::nullopt, 1), error::none);
  auto groups = coordinator->list_groups();
  EXPECT_EQ(groups.size(), 2U);
}

TEST_F(coordinator_test, delete_group_needs_it_empty_and_is_durable) {
  ASSERT_TRUE(coordinator->ensure_topic());
  EXPECT_EQ(coordinator->delete_group("none"), error::group_id_not_found);
  EXPECT_EQ(commit("g", 1), error::none);
  EXPECT_EQ(coordinator->delete_group("g"), error::none);
  EXPECT_EQ(fetched("g"), -1);
  EXPECT_FALSE(coordinator->describe("g"));
  reopen();
  EXPECT_EQ(fetched("g"), -1);
  EXPECT_EQ(coordinator->delete_group("g"), error::group_id_not_found);

  join_request r;
  r.client_id = "c";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 10000;
  r.protocol_type = "consumer";
  r.protocols.push_back({"range", {}});
  coordinator->join("busy", r, [](join_result) {});
  EXPECT_EQ(coordinator->delete_group("busy"), error::non_empty_group);
}

TEST_F(coordinator_test, offset_delete_and_lag) {
  ASSERT_TRUE(coordinator->ensure_topic());
  EXPECT_EQ(coordinator->delete_offsets("g", {{"orders", 0}}), error::group_id_not_found);
  EXPECT_EQ(commit("g", 3, 0), error::none);
  EXPECT_EQ(commit("g", 4, 1), error::none);
  auto lag = coordinator->lag("g");
  ASSERT_EQ(lag.size(), 2U);
  EXPECT_EQ(lag[0].committed, 3);
  EXPECT_EQ(lag[0].high_watermark, -1);  // topic "orders" is not hosted here
  EXPECT_EQ(coordinator->delete_offsets("g", {{"orders", 0}}), error::none);
  EXPECT_EQ(fetched("g", 0), -1);
  EXPECT_EQ(fetched("g", 1), 4);
  reopen();
  EXPECT_EQ(fetched("g", 0), -1);
  EXPECT_EQ(fetched("g", 1), 4);
}

TEST_F(coordinator_test, retention_expires_offsets_of_empty_groups_only) {
  ASSERT_TRUE(coordinator->ensure_topic());
  EXPECT_EQ(commit("old", 1), error::none);
  clk.advance_ms(50000);
  EXPECT_EQ(commit("young", 2), error::none);
  clk.advance_ms(20000);  // "old" is 70 s old, "young" 20 s: retention is 60 s
  coordinator->tick();
  EXPECT_EQ(fetched("old"), -1);
  EXPECT_FALSE(coordinator->describe("old"));
  EXPECT_EQ(fetched("young"), 2);
  reopen();
  EXPECT_EQ(fetched("old"), -1);
  EXPECT_EQ(fetched("young"), 2);
}

TEST_F(coordinator_test, snapshot_bounds_the_topic_and_keeps_every_key) {
  ASSERT_TRUE(coordinator->ensure_topic());
  const std::int32_t p = coordinator->partition_for("g");
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(commit("g", i, i % 3), error::none);
  EXPECT_EQ(coordinator->partition_records(p), 60);
  coordinator->tick();
  EXPECT_EQ(coordinator->partition_records(p), 3);  // one record per live key
  auto part = partitions->get(offsets_topic, p);
  EXPECT_EQ(part->log->log_end_offset() - part->log->log_start_offset(), 3);
  EXPECT_EQ(fetched("g", 0), 57);
  reopen();
  EXPECT_EQ(fetched("g", 0), 57);
  EXPECT_EQ(fetched("g", 1), 58);
  EXPECT_EQ(fetched("g", 2), 59);
  EXPECT_EQ(coordinator->partition_records(p), 3);
}

TEST_F(coordinator_test, records_round_trip) {
  const offset_key k{"g", "t", 7};
  auto key = decode_key(encode_key(k));
  ASSERT_TRUE(key);
  EXPECT_EQ(std::get<offset_key>(*key), k);
  auto gk = decode_key(encode_key(group_key{"g"}));
  ASSERT_TRUE(gk);
  EXPECT_EQ(std::get<group_key>(*gk).group, "g");
  committed_offset v{5, 2, "md", 123};
  auto value = decode_offset_value(encode_value(v));
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, v);
  EXPECT_FALSE(decode_key(std::vector<std::byte>{std::byte{0}}));
  EXPECT_FALSE(decode_offset_value(std::vector<std::byte>{std::byte{0}, std::byte{3}}));
  EXPECT_FALSE(decode_group_value("g", std::vector<std::byte>{std::byte{0}, std::byte{3}}));
}

TEST_F(coordinator_test, partition_for_is_java_string_hash) {
  ASSERT_TRUE(coordinator->ensure_topic());
  // "g".hashCode() == 103; 103 % 3 == 1. "orders".hashCode() == -1008770331.
  EXPECT_EQ(coordinator->partition_for("g"), 1);
  EXPECT_EQ(coordinator->partition_for("orders"), 1008770331 % 3);
}

}  // namespace
}  // namespace caudal::group
