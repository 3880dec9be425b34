// Goal: three drivers in one process, talking over loopback TCP, elect a leader in each of
// eight groups, commit proposals on every node in the same order, and a node restarted from
// its data directory catches up. Method: real sockets, timers and fsync; the test only
// proposes and polls status, waiting with deadlines.

#include "raft/driver/driver.h"

#include "base/bytes.h"
#include "raft/driver/errc.h"
#include "raft/driver/value_list.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace caudal::raft {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

constexpr int node_count = 3;
constexpr int group_count = 8;

class driver_cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    _dir = fs::temp_directory_path() /
           fmt::format("caudal-raft-driver-{}", ::testing::UnitTest::GetInstance()->random_seed());
    fs::remove_all(_dir);
    for (int i = 0; i < node_count; ++i)
      _peers.push_back(peer_address{node_id(i + 1), "127.0.0.1", free_port()});
    for (int i = 0; i < node_count; ++i)
      start(i);
  }
  void TearDown() override {
    for (auto& d : _drivers)
      d.reset();
    fs::remove_all(_dir);
  }

  void start(int i) {
    driver_config c;
    c.self = node_id(i + 1);
    c.listen_port = _peers[static_cast<std::size_t>(i)].port;
    c.peers = _peers;
    c.data_dir = _dir / fmt::format("node-{}", i + 1);
    c.tick_ms = 10;
    c.compact_entries = _compact_entries;
    auto d = std::make_unique<driver>(c);
    for (int g = 0; g < group_count; ++g) {
      auto& stm = _stms[static_cast<std::size_t>(i)][static_cast<std::size_t>(g)];
      stm = std::make_unique<value_list>();
      config rc;
      rc.self = c.self;
      for (int v = 1; v <= node_count; ++v)
        rc.voters.push_back(node_id(v));
      rc.election_timeout_ticks = 15;
      rc.heartbeat_interval_ticks = _heartbeat_ticks;
      ASSERT_TRUE(d->add_group(group_id(static_cast<std::uint64_t>(g)), rc, *stm));
    }
    auto r = d->start();
    ASSERT_TRUE(r) << r.error().message();
    _drivers[static_cast<std::size_t>(i)] = std::move(d);
  }

  static result<group_status> status_of(driver& d, group_id g) {
    std::promise<result<group_status>> p;
    d.status(g, [&p](result<group_status> s) { p.set_value(std::move(s)); });
    return p.get_future().get();
  }

  /// The node (0-based) that leads `g`, once one does and every live node agrees.
  int wait_for_leader(group_id g) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      int leader = -1;
      bool agreed = true;
      for (int i = 0; i < node_count; ++i) {
        if (!_drivers[static_cast<std::size_t>(i)]) continue;
        auto s = status_of(*_drivers[static_cast<std::size_t>(i)], g);
        if (!s || s->leader == node_none) {
          agreed = false;
          break;
        }
        if (leader == -1) leader = s->leader() - 1;
        agreed = agreed && leader == s->leader() - 1;
      }
      if (agreed && leader >= 0 && _drivers[static_cast<std::size_t>(leader)]) return leader;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "no leader for group " << g();
    return -1;
  }

  result<log_index> propose(int node, group_id g, const std::string& value) {
    std::promise<result<log_index>> p;
    auto b = as_bytes(std::span(value));
    _drivers[static_cast<std::size_t>(node)]->propose(
        g, {b.begin(), b.end()}, [&p](result<log_index> r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    if (f.wait_for(5s) != std::future_status::ready) return driver_errc::stopped;
    return f.get();
  }

  void wait_until_applied_everywhere(group_id g, const std::vector<std::string>& expected) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (int i = 0; i < node_count; ++i) {
      const auto& stm = *_stms[static_cast<std::size_t>(i)][g()];
      while (stm.values() != expected && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
      EXPECT_EQ(stm.values(), expected) << "node " << i + 1 << " group " << g();
    }
  }

  std::int32_t _heartbeat_ticks = 3;
  std::int64_t _compact_entries = 0;
  fs::path _dir;
  std::vector<peer_address> _peers;
  std::array<std::unique_ptr<driver>, node_count> _drivers;
  std::array<std::array<std::unique_ptr<value_list>, group_count>, node_count> _stms;
};

TEST_F(driver_cluster, groups_elect_commit_and_a_restarted_node_catches_up) {
  std::array<std::vector<std::string>, group_count> committed;
  for (int g = 0; g < group_count; ++g) {
    const int leader = wait_for_leader(group_id(static_cast<std::uint64_t>(g)));
    ASSERT_GE(leader, 0);
    for (int k = 0; k < 20; ++k) {
      const std::string v = fmt::format("g{}-v{}", g, k);
      auto r = propose(leader, group_id(static_cast<std::uint64_t>(g)), v);
      ASSERT_TRUE(r) << r.error().message();
      committed[static_cast<std::size_t>(g)].push_back(v);
    }
  }
  for (int g = 0; g < group_count; ++g)
    wait_until_applied_everywhere(group_id(static_cast<std::uint64_t>(g)),
                                  committed[static_cast<std::size_t>(g)]);

  // Stop a follower of group 0, commit without it, bring it back: it must replay its own
  // log from disk and receive what it missed.
  const int leader = wait_for_leader(group_id(0));
  const int follower = (leader + 1) % node_count;
  _drivers[static_cast<std::size_t>(follower)].reset();
  for (int k = 20; k < 30; ++k) {
    const std::string v = fmt::format("g0-v{}", k);
    auto r = propose(leader, group_id(0), v);
    ASSERT_TRUE(r) << r.error().message();
    committed[0].push_back(v);
  }
  start(follower);
  wait_until_applied_everywhere(group_id(0), committed[0]);

  for (auto& d : _drivers) {
    const auto s = d->stats();
    EXPECT_GT(s.frames_sent, 0u);
    EXPECT_GT(s.syncs, 0u);
    EXPECT_EQ(s.frames_rejected, 0u);
  }
}

// Compaction every ten entries, so that a node that was down past a compaction can only
// catch up through the leader's snapshot.
class driver_cluster_compacting : public driver_cluster {
 protected:
  void SetUp() override {
    _compact_entries = 10;
    driver_cluster::SetUp();
  }
};

TEST_F(driver_cluster_compacting, a_node_behind_a_compaction_catches_up_from_a_snapshot) {
  const int leader = wait_for_leader(group_id(0));
  ASSERT_GE(leader, 0);
  std::vector<std::string> committed;
  for (int k = 0; k < 5; ++k) {
    committed.push_back(fmt::format("s{}", k));
    ASSERT_TRUE(propose(leader, group_id(0), committed.back()));
  }
  const int follower = (leader + 1) % node_count;
  _drivers[static_cast<std::size_t>(follower)].reset();
  for (int k = 5; k < 40; ++k) {
    committed.push_back(fmt::format("s{}", k));
    auto r = propose(leader, group_id(0), committed.back());
    ASSERT_TRUE(r) << r.error().message();
  }
  start(follower);
  wait_until_applied_everywhere(group_id(0), committed);
  EXPECT_GE(_drivers[static_cast<std::size_t>(leader)]->stats().compactions, 3u);
  EXPECT_GE(_drivers[static_cast<std::size_t>(follower)]->stats().snapshots_installed, 1u);

  // Restarting a node that compacted restores its state machine from its own snapshot.
  _drivers[static_cast<std::size_t>(leader)].reset();
  start(leader);
  wait_until_applied_everywhere(group_id(0), committed);
}

// Heartbeats every tick, so that every group a node leads heartbeats in the same timer
// callback: each core's heartbeat timer has its own phase, and with a longer interval
// only the groups whose phases agree would share a frame.
class driver_cluster_heartbeat_every_tick : public driver_cluster {
 protected:
  void SetUp() override {
    _heartbeat_ticks = 1;
    driver_cluster::SetUp();
  }
};

// The groups of a node tick in one timer callback, and everything a node sends a peer in
// one loop turn shares a frame: while idle, each frame carries the heartbeats of all the
// groups its sender leads, or the replies to such a frame. Eight groups over three nodes:
// at least two per frame on average, whatever the spread of leaders.
TEST_F(driver_cluster_heartbeat_every_tick, idle_groups_share_frames) {
  for (int g = 0; g < group_count; ++g)
    ASSERT_GE(wait_for_leader(group_id(static_cast<std::uint64_t>(g))), 0);
  std::array<driver_stats, node_count> before;
  for (int i = 0; i < node_count; ++i)
    before[static_cast<std::size_t>(i)] = _drivers[static_cast<std::size_t>(i)]->stats();
  std::this_thread::sleep_for(500ms);
  std::uint64_t frames = 0;
  std::uint64_t messages = 0;
  for (int i = 0; i < node_count; ++i) {
    const auto s = _drivers[static_cast<std::size_t>(i)]->stats();
    frames += s.frames_sent - before[static_cast<std::size_t>(i)].frames_sent;
    messages += s.messages_sent - before[static_cast<std::size_t>(i)].messages_sent;
  }
  std::printf("idle: %llu messages in %llu frames\n", static_cast<unsigned long long>(messages),
              static_cast<unsigned long long>(frames));
  EXPECT_GT(frames, 0u);
  EXPECT_GE(messages, 2 * frames);
}

result<log_index> read_on(driver& d, group_id g) {
  std::promise<result<log_index>> p;
  d.read_index(g, [&p](result<log_index> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  if (f.wait_for(5s) != std::future_status::ready) return driver_errc::stopped;
  return f.get();
}

// A read index on the leader completes once the state machine has applied everything
// committed before the read began; a follower refuses.
TEST_F(driver_cluster, reads_see_every_committed_proposal) {
  const int leader = wait_for_leader(group_id(3));
  ASSERT_GE(leader, 0);
  log_index last{0};
  for (int k = 0; k < 5; ++k) {
    auto r = propose(leader, group_id(3), fmt::format("r{}", k));
    ASSERT_TRUE(r) << r.error().message();
    last = *r;
  }
  auto read = read_on(*_drivers[static_cast<std::size_t>(leader)], group_id(3));
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_GE(*read, last);
  auto refused =
      read_on(*_drivers[static_cast<std::size_t>((leader + 1) % node_count)], group_id(3));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), make_error_code(errc::not_leader));
}

TEST_F(driver_cluster, a_proposal_to_a_follower_fails_with_not_leader) {
  const int leader = wait_for_leader(group_id(1));
  ASSERT_GE(leader, 0);
  auto r = propose((leader + 1) % node_count, group_id(1), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_leader));
  auto unknown = propose(leader, group_id(77), "x");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), make_error_code(driver_errc::unknown_group));
}

}  // namespace
}  // namespace caudal::raft
