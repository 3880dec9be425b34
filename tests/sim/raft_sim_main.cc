// raft_sim: runs the deterministic Raft simulator from the command line.
//   raft_sim --seed 42 [--trace]        one seed; prints its trace hash (replay a failure)
//   raft_sim --seeds 1:500              a range of seeds
//   raft_sim --sweep 90 | --soak 3600   random seeds until the time is up
//   --mutation NAME (or CAUDAL_RAFT_MUTATION=NAME), mutant binary only: plant a bug
//   --expect-failure                    succeed only if some seed fails (mutation checks)
// Every failure prints the seed and the command that replays it.

#include "base/clock.h"
#include "base/random.h"
#include "raft_sim.h"

#include <fmt/format.h>

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using caudal::sim::sim_options;
using caudal::sim::sim_result;

std::string g_program;
char g_abort_note[512];  // formatted before each seed: a core assertion aborts the process

void on_abort(int) {
  const ssize_t ignored = ::write(2, g_abort_note, std::strlen(g_abort_note));
  (void)ignored;
}

std::string replay_command(const sim_options& o) {
  std::string cmd = fmt::format("{} --seed {}", g_program, o.seed);
  if (o.mutation != caudal::raft::mutation::none) {
    cmd += fmt::format(" --mutation {}", caudal::sim::mutation_name(o.mutation));
  }
  return cmd;
}

sim_result run_one(const sim_options& o) {
  const std::string note = fmt::format("\nraft_sim: aborted in seed {}; replay: {} --trace\n",
                                       o.seed, replay_command(o));
  std::snprintf(g_abort_note, sizeof(g_abort_note), "%s", note.c_str());
  return caudal::sim::run_simulation(o);
}

int usage() {
  fmt::print(stderr,
             "usage: raft_sim (--seed N | --seeds A:B | --sweep SECONDS | --soak SECONDS)\n"
             "                [--start-seed N] [--mutation NAME] [--expect-failure] [--trace]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  g_program = argv[0];
  std::signal(SIGABRT, on_abort);
  sim_options base;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  double seconds = 0;
  bool timed = false;
  bool expect_failure = false;
  bool have_start = false;
  if (const char* env = std::getenv("CAUDAL_RAFT_MUTATION")) {
    if (!caudal::sim::parse_mutation(env, base.mutation)) {
      fmt::print(stderr, "unknown CAUDAL_RAFT_MUTATION {}\n", env);
      return 2;
    }
  }
  bool have_mode = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--seed") {
      first = last = std::stoull(value());
      have_mode = true;
    } else if (arg == "--seeds") {
      const std::string v = value();
      const auto colon = v.find(':');
      if (colon == std::string::npos) return usage();
      first = std::stoull(v.substr(0, colon));
      last = std::stoull(v.substr(colon + 1));
      have_mode = true;
    } else if (arg == "--sweep" || arg == "--soak") {
      seconds = std::stod(value());
      timed = true;
      have_mode = true;
    } else if (arg == "--start-seed") {
      first = std::stoull(value());
      have_start = true;
    } else if (arg == "--mutation") {
      if (!caudal::sim::parse_mutation(value(), base.mutation)) return usage();
    } else if (arg == "--expect-failure") {
      expect_failure = true;
    } else if (arg == "--trace") {
      base.trace = true;
    } else {
      return usage();
    }
  }
  if (!have_mode) return usage();
#ifndef CAUDAL_RAFT_MUTATIONS
  if (base.mutation != caudal::raft::mutation::none) {
    fmt::print(stderr, "mutations need the raft_sim_mutant binary\n");
    return 2;
  }
#endif
  if (timed && !have_start) first = caudal::entropy_seed() >> 16;  // leaves room to count up

  caudal::clock& clk = caudal::system_clock();
  const std::int64_t start_ns = clk.steady_ns();
  const auto elapsed_s = [&] { return static_cast<double>(clk.steady_ns() - start_ns) / 1e9; };
  std::uint64_t runs = 0;
  std::uint64_t gave_up = 0;
  for (std::uint64_t seed = first;; ++seed) {
    if (timed ? elapsed_s() >= seconds : seed > last) break;
    sim_options o = base;
    o.seed = seed;
    const sim_result r = run_one(o);
    ++runs;
    gave_up += r.linearizability_gave_up ? 1 : 0;
    if (!timed && first == last) {
      fmt::print(
          "seed {}{}: {} ticks, {} messages, {} committed, {} ops, {} leaders, {} compactions, "
          "{} snapshots installed, trace {:016x}\n",
          seed,
          r.figure8      ? " (figure 8 class)"
          : r.membership ? fmt::format(" (membership class{}, {} changes)",
                                       r.change_race ? ": change race" : "", r.membership_changes)
                         : std::string(),
          r.ticks, r.messages, r.committed, r.operations, r.elections, r.compactions,
          r.snapshots_installed, r.trace_hash);
    }
    if (!r.failure.empty()) {
      fmt::print("raft_sim: seed {} FAILED{}: {}\n  replay: {} --trace\n", seed,
                 base.mutation != caudal::raft::mutation::none
                     ? fmt::format(" (mutation {})", caudal::sim::mutation_name(base.mutation))
                     : "",
                 r.failure, replay_command(o));
      if (expect_failure) {
        fmt::print("raft_sim: the planted bug was caught after {} seeds\n", runs);
        return 0;
      }
      return 1;
    }
  }
  const double s = elapsed_s();
  fmt::print("raft_sim: {} seeds passed from {} in {:.1f} s ({:.1f} seeds/s){}\n", runs, first, s,
             s > 0 ? static_cast<double>(runs) / s : 0.0,
             gave_up ? fmt::format(", linearizability search gave up on {}", gave_up) : "");
  if (expect_failure) {
    fmt::print("raft_sim: expected a failure (mutation {}) but every seed passed\n",
               caudal::sim::mutation_name(base.mutation));
    return 1;
  }
  return 0;
}
