// Goal: topic metadata is durable (it survives a reopen), validation gives Kafka's errors
// and messages, and the partition manager keeps partition logs in line with it: created
// with the topic, deleted with it, and a re-created namesake gets fresh, empty logs.

#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"

#include "base/batch_builder.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace caudal::cluster {
namespace {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "caudal-meta-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

class metadata_test : public ::testing::Test {
 protected:
  std::unique_ptr<metadata_store> open() {
    auto s = metadata_store::open(dir.path, 0, clk, pool);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }
  temp_dir dir;
  manual_clock clk;
  storage::flush_pool pool{1};
  broker_config config = broker_config::load({});
};

TEST_F(metadata_test, topics_survive_reopen) {
  std::string cluster_id;
  topic_id id;
  {
    auto s = open();
    cluster_id = s->cluster_id();
    EXPECT_EQ(cluster_id.size(), 22u);
    auto made = s->create_topic({"orders", 6, 1, {{"retention.ms", "1000"}}});
    ASSERT_EQ(made.index(), 0u);
    id = std::get<0>(made).id;
    ASSERT_EQ(s->create_topic({"gone", 1, 1, {}}).index(), 0u);
    ASSERT_EQ(s->create_topic({"tmp", 1, 1, {}}).index(), 0u);
    EXPECT_FALSE(s->delete_topic(s->topics()->find("tmp")->id));
    EXPECT_FALSE(s->create_partitions(id, 8));
    EXPECT_FALSE(s->set_topic_configs(id, {{"retention.ms", "2000"}}));
  }
  auto s = open();
  EXPECT_EQ(s->cluster_id(), cluster_id);
  auto t = s->topics();
  ASSERT_NE(t->find("orders"), nullptr);
  EXPECT_EQ(t->find("orders")->id, id);
  EXPECT_EQ(t->find("orders")->partitions, 8);
  EXPECT_EQ(t->find("orders")->configs.at("retention.ms"), "2000");
  EXPECT_NE(t->find("gone"), nullptr);
  EXPECT_EQ(t->find("tmp"), nullptr);
  EXPECT_EQ(t->topics().size(), 2u);
}

TEST_F(metadata_test, producer_ids_are_never_handed_out_twice_across_restarts) {
  std::int64_t last = -1;
  {
    auto s = open();
    for (int i = 0; i < 3; ++i) {
      auto id = s->next_producer_id();
      ASSERT_TRUE(id);
      EXPECT_EQ(*id, last + 1);
      last = *id;
    }
  }
  // The rest of the first block is abandoned: the next id comes from a new block.
  auto s = open();
  auto id = s->next_producer_id();
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, metadata_store::producer_id_block);
  EXPECT_EQ(s->topics()->next_producer_id(), 2 * metadata_store::producer_id_block);
}

TEST_F(metadata_test, validation_errors_match_kafka) {
  auto s = open();
  ASSERT_EQ(s->create_topic({"a.b", 1, 1, {}}).index(), 0u);
  auto code = [&](new_topic t) {
    auto r = s->create_topic(t);
    return r.index() == 1 ? std::get<1>(r).code : errc{};
  };
  EXPECT_EQ(code({"a.b", 1, 1, {}}), errc::topic_already_exists);
  EXPECT_EQ(code({"a_b", 1, 1, {}}), errc::invalid_topic) << "collides with a.b";
  EXPECT_EQ(code({"bad name", 1, 1, {}}), errc::invalid_topic);
  EXPECT_EQ(code({std::string(250, 'x'), 1, 1, {}}), errc::invalid_topic);
  EXPECT_EQ(code({"..", 1, 1, {}}), errc::invalid_topic);
  EXPECT_EQ(code({"p", 0, 1, {}}), errc::invalid_partitions);
  EXPECT_EQ(code({"r", 1, 3, {}}), errc::invalid_replication_factor);
  EXPECT_EQ(code({"c", 1, 1, {{"cleanup.policy", "compact"}}}), errc::invalid_config);
  EXPECT_EQ(code({"u", 1, 1, {{"what.is.this", "1"}}}), errc::invalid_config);
  const auto id = s->topics()->find("a.b")->id;
  ASSERT_TRUE(s->create_partitions(id, 1));
  EXPECT_EQ(s->create_partitions(id, 1)->code, errc::invalid_partitions);
}

TEST_F(metadata_test, partition_logs_follow_the_metadata) {
  auto s = open();
  partition_manager pm(dir.path, config, clk, pool);
  auto made = s->create_topic({"events", 2, 1, {}});
  ASSERT_EQ(made.index(), 0u);
  ASSERT_TRUE(pm.reconcile(*s->topics()));
  auto p0 = pm.get("events", 0);
  ASSERT_NE(p0, nullptr);
  EXPECT_EQ(pm.get("events", 2), nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir.path / "events-1"));
  batch::builder b;
  b.add(std::nullopt, as_bytes("hello"), 1);
  auto bytes = b.finish();
  ASSERT_TRUE(p0->log->append(bytes));
  ASSERT_TRUE(p0->log->flush());
  EXPECT_EQ(p0->high_watermark(), kafka_offset(1));

  ASSERT_FALSE(s->delete_topic(std::get<0>(made).id));
  ASSERT_TRUE(pm.reconcile(*s->topics()));
  EXPECT_EQ(pm.get("events", 0), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.path / "events-0"));
  auto again = s->create_topic({"events", 1, 1, {}});
  ASSERT_EQ(again.index(), 0u);
  ASSERT_TRUE(pm.reconcile(*s->topics()));
  ASSERT_NE(pm.get("events", 0), nullptr);
  EXPECT_EQ(pm.get("events", 0)->log->log_end_offset(), kafka_offset(0)) << "a fresh topic";
}

TEST_F(metadata_test, a_crash_after_the_record_but_before_the_logs_heals_on_start) {
  {
    auto s = open();
    ASSERT_EQ(s->create_topic({"half", 3, 1, {}}).index(), 0u);
    // "Crash": the partition logs were never created.
  }
  auto s = open();
  partition_manager pm(dir.path, config, clk, pool);
  ASSERT_TRUE(pm.reconcile(*s->topics()));
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(pm.get("half", i), nullptr);
}

}  // namespace
}  // namespace caudal::cluster
