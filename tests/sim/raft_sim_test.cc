// Goal: the simulator's fixed seed list passes, runs are deterministic, and the
// linearizability checker accepts and rejects what it should. Method: run seeds through
// run_simulation(); feed the checker hand-made histories. The random sweep and the
// mutation checks are separate ctests running the raft_sim binary (CMakeLists.txt).

#include "raft_sim.h"
#include "linearizability.h"

#include <gtest/gtest.h>

#include <vector>

namespace caudal::sim {
namespace {

// The fixed CI seed list. A seed that once found a bug stays here forever.
constexpr std::uint64_t fixed_seed_first = 1;
constexpr std::uint64_t fixed_seed_last = 300;
// Seeds random sweeps found failing, with what they found.
constexpr std::uint64_t regression_seeds[] = {
    42446367558409,   // 2 nodes, no pre-vote: a refused vote request restarted the timeout
    167945714965523,  // a learner cut off all fault phase: catch-up outlasted a fixed bound
};

// Runs one seed; a failure reports the command that replays it.
sim_result run_expecting_pass(std::uint64_t seed) {
  sim_result r = run_simulation(sim_options{seed});
  EXPECT_TRUE(r.failure.empty()) << "seed " << seed << ": " << r.failure
                                 << "\n  replay: raft_sim --seed " << seed << " --trace";
  return r;
}

TEST(raft_sim, fixed_seeds_pass) {
  std::uint64_t figure8 = 0;
  std::uint64_t change_race = 0;
  std::uint64_t membership_changes = 0;
  for (std::uint64_t seed = fixed_seed_first; seed <= fixed_seed_last; ++seed) {
    const sim_result r = run_expecting_pass(seed);
    if (!r.failure.empty()) return;
    figure8 += r.figure8 ? 1 : 0;
    change_race += r.change_race ? 1 : 0;
    membership_changes += r.membership_changes;
  }
  for (std::uint64_t seed : regression_seeds) {
    if (!run_expecting_pass(seed).failure.empty()) return;
  }
  // About one seed in five belongs to the Figure 8 class, which the
  // commit_old_term_by_count mutation check relies on, one in six to the change race class,
  // which the change_before_own_commit check relies on, and one in three to the membership
  // classes, whose changes must commit.
  EXPECT_GT(figure8, 30u);
  EXPECT_GT(change_race, 30u);
  EXPECT_GT(membership_changes, 100u);
}

TEST(raft_sim, same_seed_same_trace) {
  // Hidden nondeterminism (unordered iteration, real time, addresses) shows as a
  // different trace hash for the same seed.
  for (std::uint64_t seed : {7u, 99u, 1234u}) {
    const sim_result a = run_simulation(sim_options{seed});
    const sim_result b = run_simulation(sim_options{seed});
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.messages, b.messages) << "seed " << seed;
    EXPECT_EQ(a.committed, b.committed) << "seed " << seed;
  }
  EXPECT_NE(run_simulation(sim_options{1}).trace_hash, run_simulation(sim_options{2}).trace_hash);
}

TEST(raft_sim, runs_do_real_work) {
  // A simulator that commits nothing proves nothing: over a few seeds entries commit,
  // leaders change, clients get answers, logs are compacted and followers that fell
  // behind the compaction install the leader's snapshot.
  std::uint64_t committed = 0;
  std::uint64_t operations = 0;
  std::uint64_t elections = 0;
  std::uint64_t compactions = 0;
  std::uint64_t snapshots_installed = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const sim_result r = run_simulation(sim_options{seed});
    committed += r.committed;
    operations += r.operations;
    elections += r.elections;
    compactions += r.compactions;
    snapshots_installed += r.snapshots_installed;
  }
  EXPECT_GT(committed, 500u);
  EXPECT_GT(operations, 500u);
  EXPECT_GT(elections, 40u);
  EXPECT_GT(compactions, 100u);
  EXPECT_GT(snapshots_installed, 20u);
}

using kind = register_op::kind;

TEST(linearizability, accepts_sequential_history) {
  const std::vector<register_op> h = {
      {kind::write, 1, 1, 2}, {kind::read, 1, 3, 4}, {kind::write, 2, 5, 6}, {kind::read, 2, 7, 8}};
  EXPECT_TRUE(check_register(h, 0).linearizable);
}

TEST(linearizability, rejects_stale_read) {
  // The write of 1 returned before the read began, yet the read saw the initial 0.
  const std::vector<register_op> h = {{kind::write, 1, 1, 2}, {kind::read, 0, 3, 4}};
  EXPECT_FALSE(check_register(h, 0).linearizable);
}

TEST(linearizability, accepts_concurrent_orders) {
  // Two overlapping writes; reads after both may see them in either order only if the
  // reads agree with one order.
  const std::vector<register_op> ok = {
      {kind::write, 1, 1, 10}, {kind::write, 2, 2, 9}, {kind::read, 1, 11, 12}};
  EXPECT_TRUE(check_register(ok, 0).linearizable);
  const std::vector<register_op> bad = {{kind::write, 1, 1, 10},
                                        {kind::write, 2, 2, 9},
                                        {kind::read, 1, 11, 12},
                                        {kind::read, 2, 13, 14}};
  EXPECT_FALSE(check_register(bad, 0).linearizable);
}

TEST(linearizability, open_write_may_or_may_not_happen) {
  // A write whose response never came may take effect late, or never.
  const std::vector<register_op> late = {
      {kind::write, 5, 1, no_completion}, {kind::read, 0, 2, 3}, {kind::read, 5, 4, 5}};
  EXPECT_TRUE(check_register(late, 0).linearizable);
  const std::vector<register_op> never = {{kind::write, 5, 1, no_completion},
                                          {kind::read, 0, 2, 3}};
  EXPECT_TRUE(check_register(never, 0).linearizable);
  const std::vector<register_op> undone = {
      {kind::write, 5, 1, no_completion}, {kind::read, 5, 2, 3}, {kind::read, 0, 4, 5}};
  EXPECT_FALSE(check_register(undone, 0).linearizable);
}

}  // namespace
}  // namespace caudal::sim
