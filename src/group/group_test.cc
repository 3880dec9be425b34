// Goal: the group state machine (group.h) makes every transition of Kafka's classic group
// protocol and answers every error path the way Kafka's GroupCoordinator does.
// Method: one group driven directly with explicit times (a fake clock in an integer) and
// callbacks that record their answers; after each call the outbox is run, as the
// coordinator does once it drops the group's lock.

#include "group/group.h"

#include <gtest/gtest.h>

#include <memory>

namespace caudal::group {
namespace {

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (char c : s)
    out.push_back(static_cast<std::byte>(c));
  return out;
}

class group_test : public ::testing::Test {
 protected:
  static group_limits limits(std::int64_t initial_delay_ms = 0) {
    group_limits l;
    l.initial_rebalance_delay_ms = initial_delay_ms;
    l.session_timeout_ms_min = 1000;
    l.session_timeout_ms_max = 60000;
    l.members_max = 10;
    return l;
  }

  void make(std::int64_t initial_delay_ms = 0) {
    g = std::make_unique<group>("g", limits(initial_delay_ms), 42, now);
  }

  void run() {
    for (auto& c : g->take_completions())
      c();
  }

  join_request request(std::string member_id = "", std::string protocol = "range",
                       std::string metadata = "m") {
    join_request r;
    r.member_id = std::move(member_id);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 5000;
    r.protocol_type = "consumer";
    r.protocols.push_back({protocol, bytes(metadata)});
    return r;
  }

  // Joins and returns a slot the answer lands in (empty until it arrives).
  std::shared_ptr<std::optional<join_result>> join(join_request r) {
    auto out = std::make_shared<std::optional<join_result>>();
    g->join(std::move(r), now, [out](join_result x) { *out = std::move(x); });
    run();
    return out;
  }

  std::shared_ptr<std::optional<sync_result>> sync(
      const std::string& member, std::int32_t generation,
      std::vector<std::pair<std::string, std::vector<std::byte>>> assignments = {}) {
    sync_request r;
    r.member_id = member;
    r.generation = generation;
    r.assignments = std::move(assignments);
    auto out = std::make_shared<std::optional<sync_result>>();
    g->sync(std::move(r), now, [out](sync_result x) { *out = std::move(x); });
    run();
    return out;
  }

  void tick(std::int64_t advance_ms) {
    now += advance_ms;
    g->tick(now);
    run();
  }

  // One member joined and synced: a Stable group of one. Returns its member id.
  std::string stable_single() {
    auto a = join(request());
    EXPECT_TRUE(a->has_value());
    const std::string id = (*a)->member_id;
    auto s = sync(id, (*a)->generation, {{id, bytes("all")}});
    EXPECT_TRUE(s->has_value());
    EXPECT_EQ(g->state(), group_state::stable);
    return id;
  }

  std::int64_t now = 1'000'000;
  std::unique_ptr<group> g;
};

TEST_F(group_test, first_join_becomes_leader_and_sync_makes_it_stable) {
  make();
  EXPECT_EQ(g->state(), group_state::empty);
  auto a = join(request());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->err, error::none);
  EXPECT_EQ((*a)->generation, 1);
  EXPECT_EQ((*a)->leader, (*a)->member_id);
  EXPECT_EQ((*a)->protocol_name, "range");
  ASSERT_EQ((*a)->members.size(), 1U);
  EXPECT_EQ((*a)->members[0].metadata, bytes("m"));
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  EXPECT_TRUE(g->take_store_request() || true);
  auto s = sync((*a)->member_id, 1, {{(*a)->member_id, bytes("p0")}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->err, error::none);
  EXPECT_EQ((*s)->assignment, bytes("p0"));
  EXPECT_EQ(g->state(), group_state::stable);
  EXPECT_TRUE(g->take_store_request());
}

TEST_F(group_test, member_id_required_then_join_with_the_given_id) {
  make();
  auto r = request();
  r.require_known_member_id = true;
  auto a = join(r);
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->err, error::member_id_required);
  EXPECT_FALSE((*a)->member_id.empty());
  EXPECT_EQ(g->state(), group_state::empty);
  auto again = request((*a)->member_id);
  again.require_known_member_id = true;
  auto b = join(again);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->err, error::none);
  EXPECT_EQ((*b)->member_id, (*a)->member_id);
}

TEST_F(group_test, pending_member_that_never_returns_expires) {
  make();
  const std::string first = stable_single();
  auto r = request();
  r.require_known_member_id = true;
  auto pending = join(r);
  EXPECT_EQ((*pending)->err, error::member_id_required);
  EXPECT_EQ(g->state(), group_state::stable);  // a pending id does not rebalance
  tick(10001);                                 // past the pending member's session: forgotten
  auto late = join(request((*pending)->member_id));
  EXPECT_EQ((*late)->err, error::unknown_member_id);
  (void)first;
}

TEST_F(group_test, initial_delay_gathers_members_into_one_generation) {
  make(3000);
  auto a = join(request());
  EXPECT_FALSE(a->has_value());
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  tick(1000);
  auto b = join(request());
  EXPECT_FALSE(b->has_value());
  tick(2000);  // the first delay ends, but a newcomer extends it by another delay
  EXPECT_FALSE(a->has_value());
  tick(2000);  // rebalance timeout 5000 caps it: 3000 + 2000
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*a)->generation, 1);
  EXPECT_EQ((*b)->generation, 1);
  EXPECT_EQ((*a)->leader, (*a)->member_id);
  EXPECT_EQ((*a)->members.size(), 2U);
  EXPECT_TRUE((*b)->members.empty());
}

TEST_F(group_test, second_member_rebalances_a_stable_group) {
  make();
  const std::string a = stable_single();
  auto b = join(request());
  EXPECT_FALSE(b->has_value());  // waits for the leader to rejoin
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 1, now), error::rebalance_in_progress);
  auto a2 = join(request(a));
  ASSERT_TRUE(a2->has_value());
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*a2)->generation, 2);
  EXPECT_EQ((*a2)->leader, a);
  EXPECT_EQ((*a2)->members.size(), 2U);
  // The follower's sync waits for the leader's.
  auto sb = sync((*b)->member_id, 2);
  EXPECT_FALSE(sb->has_value());
  auto sa = sync(a, 2, {{a, bytes("A")}, {(*b)->member_id, bytes("B")}});
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->assignment, bytes("B"));
  EXPECT_EQ((*sa)->assignment, bytes("A"));
  EXPECT_EQ(g->state(), group_state::stable);
}

TEST_F(group_test, rebalance_timeout_drops_members_that_do_not_rejoin) {
  make();
  const std::string a = stable_single();
  auto b = join(request());
  EXPECT_FALSE(b->has_value());
  tick(4000);
  EXPECT_FALSE(b->has_value());
  tick(1001);  // rebalance timeout 5000: a never rejoined and is removed
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->generation, 2);
  EXPECT_EQ((*b)->leader, (*b)->member_id);
  EXPECT_FALSE(g->has_member(a));
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 2, now), error::unknown_member_id);
}

TEST_F(group_test, session_expiry_removes_a_silent_member_and_rebalances) {
  make();
  const std::string a = stable_single();
  tick(9000);
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 1, now), error::none);
  tick(9000);
  EXPECT_TRUE(g->has_member(a));
  tick(1001);  // 10000 after the last heartbeat
  EXPECT_FALSE(g->has_member(a));
  // The last member gone: PreparingRebalance completes at once into Empty.
  EXPECT_EQ(g->state(), group_state::empty);
  EXPECT_EQ(g->generation(), 2);
}

TEST_F(group_test, leave_rebalances_and_leaving_last_member_empties) {
  make();
  const std::string a = stable_single();
  auto b = join(request());
  auto a2 = join(request(a));
  sync(a, 2, {});
  sync((*b)->member_id, 2);
  EXPECT_EQ(g->state(), group_state::stable);
  auto errs = g->leave({{(*b)->member_id, std::nullopt}, {"nobody", std::nullopt}}, now);
  run();
  EXPECT_EQ(errs, (std::vector<error>{error::none, error::unknown_member_id}));
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  auto a3 = join(request(a));
  ASSERT_TRUE(a3->has_value());
  EXPECT_EQ((*a3)->generation, 3);
  errs = g->leave({{a, std::nullopt}}, now);
  run();
  EXPECT_EQ(g->state(), group_state::empty);
  (void)a2;
}

TEST_F(group_test, errors_of_heartbeat_sync_and_commit) {
  make();
  const std::string a = stable_single();
  EXPECT_EQ(g->heartbeat("x", std::nullopt, 1, now), error::unknown_member_id);
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 7, now), error::illegal_generation);
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 1, now), error::none);
  EXPECT_EQ((*sync("x", 1))->err, error::unknown_member_id);
  EXPECT_EQ((*sync(a, 0))->err, error::illegal_generation);
  EXPECT_EQ((*sync(a, 1))->assignment, bytes("all"));  // Stable: the current assignment
  sync_request wrong;
  wrong.member_id = a;
  wrong.generation = 1;
  wrong.protocol_name = "roundrobin";
  std::optional<sync_result> got;
  g->sync(wrong, now, [&](sync_result r) { got = r; });
  run();
  EXPECT_EQ(got->err, error::inconsistent_group_protocol);
  EXPECT_EQ(g->validate_commit(a, std::nullopt, 1, now), error::none);
  EXPECT_EQ(g->validate_commit(a, std::nullopt, 0, now), error::illegal_generation);
  EXPECT_EQ(g->validate_commit("x", std::nullopt, 1, now), error::unknown_member_id);
  // Generation -1 (admin, manual commits) only into an empty group.
  EXPECT_EQ(g->validate_commit("", std::nullopt, -1, now), error::unknown_member_id);
  // While the leader's assignment is awaited, commits are refused.
  auto b = join(request());
  auto a2 = join(request(a));
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  EXPECT_EQ(g->validate_commit(a, std::nullopt, 2, now), error::rebalance_in_progress);
  EXPECT_EQ(g->heartbeat(a, std::nullopt, 2, now), error::none);
  (void)b;
  (void)a2;
}

TEST_F(group_test, empty_group_accepts_manual_commits_and_refuses_known_members) {
  make();
  EXPECT_EQ(g->validate_commit("", std::nullopt, -1, now), error::none);
  auto r = join(request("ghost"));
  EXPECT_EQ((*r)->err, error::unknown_member_id);
  EXPECT_EQ(g->heartbeat("ghost", std::nullopt, 0, now), error::unknown_member_id);
}

TEST_F(group_test, join_errors_session_timeout_and_protocols) {
  make();
  auto r = request();
  r.session_timeout_ms = 999;
  EXPECT_EQ((*join(r))->err, error::invalid_session_timeout);
  r.session_timeout_ms = 60001;
  EXPECT_EQ((*join(r))->err, error::invalid_session_timeout);
  auto none = request();
  none.protocols.clear();
  EXPECT_EQ((*join(none))->err, error::inconsistent_group_protocol);
  stable_single();
  auto other = request("", "roundrobin");
  EXPECT_EQ((*join(other))->err, error::inconsistent_group_protocol);
  auto type = request();
  type.protocol_type = "connect";
  EXPECT_EQ((*join(type))->err, error::inconsistent_group_protocol);
}

TEST_F(group_test, protocol_selection_takes_the_common_protocol_most_prefer) {
  make();
  auto ra = request();
  ra.protocols = {{"roundrobin", bytes("x")}, {"range", bytes("y")}};
  auto a = join(ra);
  const std::string ida = (*a)->member_id;
  sync(ida, 1, {});
  auto rb = request();
  rb.protocols = {{"range", bytes("z")}, {"sticky", bytes("w")}};
  auto b = join(rb);
  ra.member_id = ida;
  auto a2 = join(ra);
  ASSERT_TRUE(a2->has_value());
  EXPECT_EQ((*a2)->protocol_name, "range");  // the only one both support
  for (const auto& m : (*a2)->members) {
    EXPECT_EQ(m.metadata, m.member_id == ida ? bytes("y") : bytes("z"));
  }
  (void)b;
}

TEST_F(group_test, follower_rejoin_with_same_metadata_in_stable_does_not_rebalance) {
  make();
  const std::string a = stable_single();
  auto b = join(request());
  auto a2 = join(request(a));
  sync(a, 2, {});
  sync((*b)->member_id, 2);
  auto again = join(request((*b)->member_id));
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->generation, 2);
  EXPECT_EQ(g->state(), group_state::stable);
  // Cooperative rebalancing: new metadata (owned partitions changed) rebalances.
  auto changed = join(request((*b)->member_id, "range", "m2"));
  EXPECT_FALSE(changed->has_value());
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  // The leader's rejoin always rebalances.
  auto a3 = join(request(a));
  ASSERT_TRUE(a3->has_value());
  EXPECT_EQ((*a3)->generation, 3);
  (void)a2;
}

TEST_F(group_test, rejoin_in_completing_rebalance_resends_the_answer) {
  make();
  const std::string a = stable_single();
  auto b = join(request());
  auto a2 = join(request(a));
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  auto b2 = join(request((*b)->member_id));
  ASSERT_TRUE(b2->has_value());
  EXPECT_EQ((*b2)->generation, 2);
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  // Different metadata: a new rebalance; the follower's waiting sync is told so.
  auto sb = sync((*b)->member_id, 2);
  EXPECT_FALSE(sb->has_value());
  auto b3 = join(request((*b)->member_id, "range", "new"));
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->err, error::rebalance_in_progress);
  EXPECT_EQ(g->state(), group_state::preparing_rebalance);
  EXPECT_EQ((*sync(a, 2))->err, error::rebalance_in_progress);
  (void)a2;
  (void)b3;
}

TEST_F(group_test, static_member_rejoins_without_rebalance_and_old_id_is_fenced) {
  make();
  auto r = request();
  r.instance_id = "i1";
  auto a = join(r);
  const std::string old_id = (*a)->member_id;
  sync(old_id, 1, {{old_id, bytes("mine")}});
  EXPECT_EQ(g->state(), group_state::stable);
  // The process restarts: it joins with no member id and the same instance id.
  auto again = join(r);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->err, error::none);
  EXPECT_NE((*again)->member_id, old_id);
  EXPECT_EQ((*again)->generation, 1);
  EXPECT_EQ((*again)->leader, old_id);  // not itself: it must not reassign
  EXPECT_EQ(g->state(), group_state::stable);
  auto s = sync((*again)->member_id, 1);
  EXPECT_EQ((*s)->assignment, bytes("mine"));
  // The old process, if still alive, is fenced.
  EXPECT_EQ(g->heartbeat(old_id, std::string("i1"), 1, now), error::fenced_instance_id);
  EXPECT_EQ((*join([&] {
              auto x = request(old_id);
              x.instance_id = "i1";
              return x;
            }()))
                ->err,
            error::fenced_instance_id);
  EXPECT_EQ(g->validate_commit(old_id, std::string("i1"), 1, now), error::fenced_instance_id);
  EXPECT_EQ(g->leave({{old_id, std::string("i1")}}, now),
            std::vector<error>{error::fenced_instance_id});
}

TEST_F(group_test, static_member_stays_through_rebalance_timeout_and_leaves_by_instance) {
  make();
  auto r = request();
  r.instance_id = "i1";
  auto a = join(r);
  const std::string ida = (*a)->member_id;
  sync(ida, 1, {});
  auto b = join(request());
  tick(5001);  // the static member did not rejoin in time but keeps its place
  ASSERT_TRUE(b->has_value());
  EXPECT_TRUE(g->has_member(ida));
  EXPECT_EQ((*b)->generation, 2);
  auto errs = g->leave({{"", std::string("i1")}}, now);
  run();
  EXPECT_EQ(errs, std::vector<error>{error::none});
  EXPECT_FALSE(g->has_member(ida));
  EXPECT_EQ(g->leave({{"", std::string("nope")}}, now),
            std::vector<error>{error::unknown_member_id});
}

TEST_F(group_test, static_rejoin_while_completing_rebalance_rebalances) {
  make();
  auto r = request();
  r.instance_id = "i1";
  auto a = join(r);
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  auto again = join(r);
  // The old join was already answered; the new id waits for the next generation.
  EXPECT_EQ(g->state(), group_state::completing_rebalance);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->generation, 2);
  (void)a;
}

TEST_F(group_test, max_size_and_dead_group) {
  make();
  for (int i = 0; i < 10; ++i)
    join(request());
  EXPECT_EQ((*join(request()))->err, error::group_max_size_reached);
  make();
  g->mark_dead(now);
  EXPECT_EQ((*join(request()))->err, error::coordinator_not_available);
  EXPECT_EQ(g->heartbeat("x", std::nullopt, 0, now), error::coordinator_not_available);
  EXPECT_EQ((*sync("x", 0))->err, error::coordinator_not_available);
}

TEST_F(group_test, describe_and_restore_round_trip) {
  make();
  auto r = request();
  r.instance_id = "i1";
  auto a = join(r);
  const std::string ida = (*a)->member_id;
  sync(ida, 1, {{ida, bytes("asg")}});
  const group_description d = g->describe();
  EXPECT_EQ(d.state, group_state::stable);
  ASSERT_EQ(d.members.size(), 1U);
  EXPECT_EQ(d.members[0].assignment, bytes("asg"));
  EXPECT_EQ(d.members[0].metadata, bytes("m"));
  group restored("g", limits(), 7, now);
  restored.restore(d, now);
  EXPECT_EQ(restored.state(), group_state::stable);
  EXPECT_EQ(restored.generation(), 1);
  EXPECT_EQ(restored.heartbeat(ida, std::string("i1"), 1, now), error::none);
  // Its session restarted at restore: silence expires it.
  restored.tick(now + 10001);
  EXPECT_FALSE(restored.has_member(ida));
  EXPECT_EQ(state_name(group_state::completing_rebalance), "CompletingRebalance");
}

}  // namespace
}  // namespace caudal::group
