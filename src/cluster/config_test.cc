// Goal: broker and topic configs behave as Kafka's: defaults, aliases (retention hours /
// minutes / ms), validation errors that name the key, listener parsing, and the mapping of
// topic configs onto the storage engine's settings.

#include "cluster/broker_config.h"
#include "cluster/topic_config.h"

#include <gtest/gtest.h>

namespace caudal::cluster {
namespace {

TEST(broker_config, defaults_are_a_zero_config_broker) {
  auto c = broker_config::load({});
  EXPECT_EQ(c.node_id(), 0);
  ASSERT_EQ(c.listeners().size(), 1u);
  EXPECT_EQ(c.listeners()[0], (listener{"PLAINTEXT", "127.0.0.1", 9092}));
  EXPECT_EQ(c.advertised_listeners(), c.listeners());
  EXPECT_EQ(c.log_dir(), "caudal-data");
  EXPECT_EQ(c.integer("num.partitions"), 1);
  EXPECT_TRUE(c.boolean("auto.create.topics.enable"));
  EXPECT_EQ(c.retention_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(c.integer("socket.request.max.bytes"), 104857600);
  EXPECT_FALSE(c.is_explicit("num.partitions"));
}

TEST(broker_config, unknown_and_malformed_keys_are_named) {
  try {
    (void)broker_config::load({{"zookeeper.connect", "x:2181"}});
    FAIL() << "an unknown key must be refused";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("zookeeper.connect"), std::string::npos);
  }
  try {
    (void)broker_config::load({{"num.partitions", "three"}});
    FAIL();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("num.partitions"), std::string::npos);
  }
  EXPECT_THROW((void)broker_config::load({{"num.partitions", "0"}}), config_error);
  EXPECT_THROW((void)broker_config::load({{"auto.create.topics.enable", "yes"}}), config_error);
  EXPECT_THROW((void)broker_config::load({{"listeners", "127.0.0.1:9092"}}), config_error);
  EXPECT_THROW((void)broker_config::load({{"listeners", "SSL://127.0.0.1:9093"}}), config_error);
  EXPECT_THROW((void)broker_config::load({{"log.dirs", "/a,/b"}}), config_error);
}

TEST(broker_config, retention_aliases_and_listeners) {
  auto c = broker_config::load({{"log.retention.hours", "1"},
                                {"log.retention.minutes", "5"},
                                {"listeners", "PLAINTEXT://[::1]:0"},
                                {"advertised.listeners", "PLAINTEXT://:9092"}});
  EXPECT_EQ(c.retention_ms(), 5 * 60'000);
  EXPECT_EQ(c.listeners()[0], (listener{"PLAINTEXT", "::1", 0}));
  EXPECT_EQ(c.advertised_listeners()[0].host, "127.0.0.1");
  auto ms = broker_config::load({{"log.retention.ms", "-1"}, {"log.retention.minutes", "5"}});
  EXPECT_EQ(ms.retention_ms(), -1);
}

TEST(topic_config, validation) {
  EXPECT_FALSE(check_topic_config("retention.ms", "1000"));
  EXPECT_FALSE(check_topic_config("retention.ms", "-1"));
  EXPECT_TRUE(check_topic_config("retention.ms", "-2"));
  EXPECT_TRUE(check_topic_config("retention.ms", "soon"));
  EXPECT_TRUE(check_topic_config("no.such.config", "1"));
  EXPECT_FALSE(check_topic_config("cleanup.policy", "delete"));
  auto compact = check_topic_config("cleanup.policy", "compact");
  ASSERT_TRUE(compact);
  EXPECT_NE(compact->find("not supported"), std::string::npos);
  EXPECT_TRUE(check_topic_config("message.timestamp.type", "Whenever"));
  EXPECT_FALSE(check_topic_config("message.timestamp.type", "LogAppendTime"));
  EXPECT_TRUE(check_topic_config("min.insync.replicas", "0"));
}

TEST(topic_config, defaults_come_from_the_broker_with_their_source) {
  auto broker = broker_config::load({{"log.segment.bytes", "1048576"}});
  properties overrides{{"retention.ms", "1000"}};
  auto entries = describe_topic_config(overrides, broker);
  auto find = [&](std::string_view name) {
    for (const auto& e : entries) {
      if (e.name == name) return e;
    }
    ADD_FAILURE() << name;
    return config_entry{};
  };
  EXPECT_EQ(find("retention.ms").value, "1000");
  EXPECT_EQ(find("retention.ms").source, config_source::topic);
  EXPECT_EQ(find("segment.bytes").value, "1048576");
  EXPECT_EQ(find("segment.bytes").source, config_source::static_broker);
  EXPECT_EQ(find("max.message.bytes").value, "1048588");
  EXPECT_EQ(find("max.message.bytes").source, config_source::default_value);
  auto lc = to_log_config(overrides, broker);
  EXPECT_EQ(lc.retention_ms, 1000);
  EXPECT_EQ(lc.segment_bytes, 1048576);
  EXPECT_EQ(lc.flush, storage::flush_policy::every_append);
  auto relaxed = to_log_config({{"flush.messages", "1000"}}, broker);
  EXPECT_EQ(relaxed.flush, storage::flush_policy::interval);
  EXPECT_EQ(relaxed.flush_messages, 1000);
}

}  // namespace
}  // namespace caudal::cluster
