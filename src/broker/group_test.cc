// Goal: the group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups, OffsetDelete) answer
// on the wire as Kafka does, at old and new versions, including their error codes.
// Method: a whole broker in a temp directory (test_harness.h) driven through
// broker::handle(); one member per group, since one harness is one sequential connection
// (multi-member rebalances are covered by group_test and the integration tests).

#include "broker/test_harness.h"
#include "protocol/error_code.h"

#include <gtest/gtest.h>

namespace caudal::broker {
namespace {

using protocol::error_code;
using testing::broker_harness;

constexpr std::int16_t code(error_code e) {
  return static_cast<std::int16_t>(e);
}

class group_handlers_test : public ::testing::Test {
 protected:
  broker_harness h{{{"group.initial.rebalance.delay.ms", "0"},
                    {"group.min.session.timeout.ms", "1000"},
                    {"offsets.topic.num.partitions", "4"}}};

  void find(std::int16_t version = 2) {
    protocol::find_coordinator_request r;
    r.key = "g";
    auto resp = h.call(version, r);
    ASSERT_EQ(resp.error_code, 0);
  }

  protocol::join_group_response join(std::int16_t version, const std::string& group,
                                     const std::string& member_id = "",
                                     std::optional<std::string> instance = std::nullopt) {
    protocol::join_group_request r;
    r.group_id = group;
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 10000;
    r.member_id = member_id;
    r.group_instance_id = std::move(instance);
    r.protocol_type = "consumer";
    r.protocols.push_back({"range", subscription("orders")});
    return h.call(version, r);
  }

  protocol::sync_group_response sync(std::int16_t version, const std::string& group,
                                     const std::string& member, std::int32_t generation,
                                     std::vector<std::byte> assignment) {
    protocol::sync_group_request r;
    r.group_id = group;
    r.member_id = member;
    r.generation_id = generation;
    r.assignments.push_back({member, std::move(assignment)});
    return h.call(version, r);
  }

  protocol::offset_commit_response commit(std::int16_t version, const std::string& group,
                                          std::int64_t offset, std::int32_t generation = -1,
                                          const std::string& member = "",
                                          std::string topic = "orders") {
    protocol::offset_commit_request r;
    r.group_id = group;
    r.generation_id_or_member_epoch = generation;
    r.member_id = member;
    protocol::offset_commit_request::offset_commit_request_topic t;
    t.name = std::move(topic);
    protocol::offset_commit_request::offset_commit_request_partition p;
    p.partition_index = 1;
    p.committed_offset = offset;
    p.committed_metadata = "md";
    t.partitions.push_back(p);
    r.topics.push_back(std::move(t));
    return h.call(version, r);
  }

  std::int64_t fetched(std::int16_t version, const std::string& group) {
    protocol::offset_fetch_request r;
    if (version < 8) {
      r.group_id = group;
      r.topics =
          std::vector<protocol::offset_fetch_request::offset_fetch_request_topic>{{"orders", {1}}};
      auto resp = h.call(version, r);
      EXPECT_EQ(resp.error_code, 0);
      EXPECT_EQ(resp.topics.size(), 1U);
      EXPECT_EQ(resp.topics.at(0).partitions.size(), 1U);
      return resp.topics.at(0).partitions.at(0).committed_offset;
    }
    protocol::offset_fetch_request::offset_fetch_request_group g;
    g.group_id = group;
    g.topics = std::nullopt;  // every committed partition
    r.groups.push_back(std::move(g));
    auto resp = h.call(version, r);
    EXPECT_EQ(resp.groups.size(), 1U);
    if (resp.groups.at(0).topics.empty()) return -1;
    return resp.groups.at(0).topics.at(0).partitions.at(0).committed_offset;
  }

  static std::vector<std::byte> subscription(const std::string& topic) {
    protocol::writer w;
    w.write_int16(0);
    protocol::consumer_protocol_subscription s;
    s.topics.push_back(topic);
    s.encode(w, 0);
    return w.release();
  }
};

TEST_F(group_handlers_test, find_coordinator_creates_the_offsets_topic_and_answers_this_node) {
  EXPECT_EQ(h.metadata().topics()->find("__consumer_offsets"), nullptr);
  protocol::find_coordinator_request r;
  r.key = "g";
  auto v0 = h.call(0, r);
  EXPECT_EQ(v0.error_code, 0);
  EXPECT_EQ(v0.node_id, 0);
  EXPECT_EQ(v0.port, h.config().advertised_listeners().front().port);
  const auto* t = h.metadata().topics()->find("__consumer_offsets");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->internal);
  EXPECT_EQ(t->partitions, 4);
  r.key_type = 1;  // a transactional id: creates __transaction_state, answers this node
  const auto txn = h.call(3, r);
  EXPECT_EQ(txn.error_code, 0);
  EXPECT_EQ(txn.node_id, 0);
  EXPECT_NE(h.metadata().topics()->find("__transaction_state"), nullptr);
  protocol::find_coordinator_request batched;
  batched.coordinator_keys = {"a", "b"};
  auto v4 = h.call(4, batched);
  ASSERT_EQ(v4.coordinators.size(), 2U);
  EXPECT_EQ(v4.coordinators[1].key, "b");
  EXPECT_EQ(v4.coordinators[1].error_code, 0);
  EXPECT_EQ(v4.coordinators[1].node_id, 0);
}

TEST_F(group_handlers_test, group_apis_before_the_topic_exists_say_not_available) {
  h.create_topic("orders", 2);
  EXPECT_EQ(join(5, "g").error_code, code(error_code::coordinator_not_available));
  protocol::heartbeat_request hb;
  hb.group_id = "g";
  EXPECT_EQ(h.call(1, hb).error_code, code(error_code::coordinator_not_available));
  EXPECT_EQ(commit(2, "g", 5).topics[0].partitions[0].error_code,
            code(error_code::coordinator_not_available));
}

TEST_F(group_handlers_test, one_member_lifecycle_at_modern_versions) {
  h.create_topic("orders", 2);
  find();
  auto first = join(5, "g");
  EXPECT_EQ(first.error_code, code(error_code::member_id_required));
  ASSERT_FALSE(first.member_id.empty());
  auto joined = join(7, "g", first.member_id);
  ASSERT_EQ(joined.error_code, 0);
  EXPECT_EQ(joined.generation_id, 1);
  EXPECT_EQ(joined.leader, first.member_id);
  EXPECT_EQ(joined.protocol_type, "consumer");
  EXPECT_EQ(joined.protocol_name, "range");
  ASSERT_EQ(joined.members.size(), 1U);
  EXPECT_EQ(joined.members[0].metadata, subscription("orders"));

  protocol::heartbeat_request hb;
  hb.group_id = "g";
  hb.member_id = first.member_id;
  hb.generation_id = 1;
  EXPECT_EQ(h.call(3, hb).error_code, 0);  // CompletingRebalance accepts heartbeats
  auto synced = sync(5, "g", first.member_id, 1, {std::byte{7}});
  ASSERT_EQ(synced.error_code, 0);
  EXPECT_EQ(synced.assignment, std::vector<std::byte>{std::byte{7}});
  EXPECT_EQ(synced.protocol_name, "range");
  hb.generation_id = 2;
  EXPECT_EQ(h.call(4, hb).error_code, code(error_code::illegal_generation));
  hb.member_id = "nobody";
  EXPECT_EQ(h.call(0, hb).error_code, code(error_code::unknown_member_id));

  auto c = commit(8, "g", 42, 1, first.member_id);
  EXPECT_EQ(c.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(commit(7, "g", 43, 9, first.member_id).topics[0].partitions[0].error_code,
            code(error_code::illegal_generation));
  EXPECT_EQ(commit(7, "g", 43, 1, first.member_id, "missing").topics[0].partitions[0].error_code,
            code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(fetched(1, "g"), 42);
  EXPECT_EQ(fetched(7, "g"), 42);
  EXPECT_EQ(fetched(8, "g"), 42);

  protocol::list_groups_request lg;
  EXPECT_EQ(h.call(0, lg).groups.size(), 1U);
  lg.states_filter = {"stable"};
  auto listed = h.call(4, lg);
  ASSERT_EQ(listed.groups.size(), 1U);
  EXPECT_EQ(listed.groups[0].group_state, "Stable");
  EXPECT_EQ(listed.groups[0].protocol_type, "consumer");
  lg.states_filter = {"Empty"};
  EXPECT_TRUE(h.call(4, lg).groups.empty());

  protocol::describe_groups_request dg;
  dg.groups = {"g", "unknown"};
  auto described = h.call(5, dg);
  ASSERT_EQ(described.groups.size(), 2U);
  EXPECT_EQ(described.groups[0].group_state, "Stable");
  EXPECT_EQ(described.groups[0].protocol_data, "range");
  ASSERT_EQ(described.groups[0].members.size(), 1U);
  EXPECT_EQ(described.groups[0].members[0].client_id, "broker-harness");
  EXPECT_EQ(described.groups[0].members[0].client_host, "/127.0.0.1");
  EXPECT_EQ(described.groups[0].members[0].member_assignment, std::vector<std::byte>{std::byte{7}});
  EXPECT_EQ(described.groups[1].group_state, "Dead");
  EXPECT_EQ(described.groups[1].error_code, 0);

  protocol::delete_groups_request del;
  del.groups_names = {"g", "unknown"};
  auto deleted = h.call(2, del);
  EXPECT_EQ(deleted.results[0].error_code, code(error_code::non_empty_group));
  EXPECT_EQ(deleted.results[1].error_code, code(error_code::group_id_not_found));

  protocol::offset_delete_request od;
  od.group_id = "g";
  od.topics.push_back({"orders", {{1}}});
  auto od_resp = h.call(0, od);
  EXPECT_EQ(od_resp.error_code, 0);
  EXPECT_EQ(od_resp.topics[0].partitions[0].error_code,
            code(error_code::group_subscribed_to_topic));

  protocol::leave_group_request leave;
  leave.group_id = "g";
  leave.members.push_back({first.member_id, std::nullopt, std::nullopt});
  leave.members.push_back({"ghost", std::nullopt, std::nullopt});
  auto left = h.call(5, leave);
  EXPECT_EQ(left.error_code, 0);
  ASSERT_EQ(left.members.size(), 2U);
  EXPECT_EQ(left.members[0].error_code, 0);
  EXPECT_EQ(left.members[1].error_code, code(error_code::unknown_member_id));

  od_resp = h.call(0, od);  // empty now: the offset may go
  EXPECT_EQ(od_resp.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetched(8, "g"), -1);
  deleted = h.call(0, del);
  EXPECT_EQ(deleted.results[0].error_code, 0);
  EXPECT_TRUE(h.call(0, protocol::list_groups_request{}).groups.empty());
}

TEST_F(group_handlers_test, old_versions_as_kafka_python_and_sarama_send_them) {
  h.create_topic("orders", 2);
  find(0);
  // JoinGroup v0/v1 get a member id at once (no KIP-394 round trip).
  auto joined = join(0, "old");
  ASSERT_EQ(joined.error_code, 0);
  EXPECT_FALSE(joined.member_id.empty());
  auto synced = sync(0, "old", joined.member_id, joined.generation_id, {std::byte{1}});
  EXPECT_EQ(synced.error_code, 0);
  EXPECT_EQ(commit(1, "old", 5, joined.generation_id, joined.member_id)
                .topics[0]
                .partitions[0]
                .error_code,
            0);
  EXPECT_EQ(fetched(1, "old"), 5);
  protocol::leave_group_request leave;
  leave.group_id = "old";
  leave.member_id = joined.member_id;
  EXPECT_EQ(h.call(0, leave).error_code, 0);
  EXPECT_EQ(h.call(1, leave).error_code, code(error_code::unknown_member_id));
  // OffsetCommit v0 and generation -1: commits outside the group protocol.
  EXPECT_EQ(commit(0, "manual", 9).topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetched(3, "manual"), 9);
  EXPECT_EQ(commit(2, "nogroup", 9, 3, "m").topics[0].partitions[0].error_code,
            code(error_code::illegal_generation));
}

TEST_F(group_handlers_test, static_member_rejoins_without_a_rebalance) {
  h.create_topic("orders", 2);
  find();
  auto joined = join(5, "s", "", "instance-1");
  ASSERT_EQ(joined.error_code, 0);  // static members skip MEMBER_ID_REQUIRED
  ASSERT_EQ(sync(5, "s", joined.member_id, 1, {std::byte{3}}).error_code, 0);
  auto again = join(5, "s", "", "instance-1");
  ASSERT_EQ(again.error_code, 0);
  EXPECT_EQ(again.generation_id, 1);
  EXPECT_NE(again.member_id, joined.member_id);
  auto synced = sync(5, "s", again.member_id, 1, {});
  EXPECT_EQ(synced.assignment, std::vector<std::byte>{std::byte{3}});
  protocol::heartbeat_request hb;
  hb.group_id = "s";
  hb.member_id = joined.member_id;
  hb.group_instance_id = "instance-1";
  hb.generation_id = 1;
  EXPECT_EQ(h.call(3, hb).error_code, code(error_code::fenced_instance_id));
}

TEST_F(group_handlers_test, join_errors) {
  find();
  protocol::join_group_request r;
  r.group_id = "g";
  r.session_timeout_ms = 10;
  r.rebalance_timeout_ms = 10000;
  r.protocol_type = "consumer";
  r.protocols.push_back({"range", {}});
  EXPECT_EQ(h.call(5, r).error_code, code(error_code::invalid_session_timeout));
  r.session_timeout_ms = 10000;
  r.group_id = "";
  EXPECT_EQ(h.call(5, r).error_code, code(error_code::invalid_group_id));
  r.group_id = "g";
  r.member_id = "unknown";
  EXPECT_EQ(h.call(5, r).error_code, code(error_code::unknown_member_id));
  r.member_id = "";
  r.protocols.clear();
  EXPECT_EQ(h.call(1, r).error_code, code(error_code::inconsistent_group_protocol));
  // A malformed body closes the connection.
  std::vector<std::byte> junk{std::byte{0}, std::byte{5}};
  EXPECT_EQ(h.exchange_body(11, 5, junk).kind, net::completion_kind::close);
}

TEST(transactions, describe_and_list_show_the_coordinator_state) {
  broker_harness h;
  h.create_topic("orders", 2);
  ASSERT_TRUE(h.txns().ensure_topic());
  const auto p = h.txns().init_producer("shop", 30000, -1, -1);
  ASSERT_EQ(h.txns().add_partitions("shop", p.producer_id, p.epoch, {{"orders", 1}})[0],
            group::error::none);

  protocol::describe_transactions_request d;
  d.transactional_ids = {"shop", "nope"};
  const auto described = h.call(0, d);
  ASSERT_EQ(described.transaction_states.size(), 2u);
  const auto& shop = described.transaction_states[0];
  EXPECT_EQ(shop.error_code, 0);
  EXPECT_EQ(shop.transaction_state, "Ongoing");
  EXPECT_EQ(shop.producer_id, p.producer_id);
  EXPECT_EQ(shop.transaction_timeout_ms, 30000);
  ASSERT_EQ(shop.topics.size(), 1u);
  EXPECT_EQ(shop.topics[0].partitions, std::vector<std::int32_t>{1});
  EXPECT_EQ(described.transaction_states[1].error_code,
            code(error_code::transactional_id_not_found));

  // KIP-890's verify-only form checks without adding.
  protocol::add_partitions_to_txn_request v;
  auto& t = v.transactions.emplace_back();
  t.transactional_id = "shop";
  t.producer_id = p.producer_id;
  t.producer_epoch = p.epoch;
  t.verify_only = true;
  t.topics.push_back({"orders", {0, 1}});
  const auto verified = h.call(5, v);
  ASSERT_EQ(verified.results_by_transaction.size(), 1u);
  const auto& results = verified.results_by_transaction[0].topic_results[0].results_by_partition;
  EXPECT_EQ(results[0].partition_error_code, code(error_code::invalid_txn_state));
  EXPECT_EQ(results[1].partition_error_code, 0);
  EXPECT_EQ(h.txns().describe("shop")->partitions.size(), 1u);

  protocol::list_transactions_request l;
  EXPECT_EQ(h.call(1, l).transaction_states.size(), 1u);
  l.state_filters = {"CompleteCommit", "Bogus"};
  const auto listed = h.call(1, l);
  EXPECT_TRUE(listed.transaction_states.empty());
  EXPECT_EQ(listed.unknown_state_filters, std::vector<std::string>{"Bogus"});
}

}  // namespace
}  // namespace caudal::broker
