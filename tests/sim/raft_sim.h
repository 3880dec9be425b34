#pragma once

// The deterministic Raft simulator (docs/raft.md, "Simulation"). One seed fixes every
// choice: cluster size, timeouts, fault rates, every delay, drop, crash and client
// operation. A run is a fault phase, then a liveness phase with faults stopped; invariants
// are checked after every step and the clients' history for linearizability at the end.

#include "raft/core/raft_core.h"

#include <cstdint>
#include <string>

namespace caudal::sim {

/// What to run. Everything not here is drawn from the seed.
struct sim_options {
  std::uint64_t seed = 0;
  raft::mutation mutation = raft::mutation::none;  // only honoured by the mutant binary
  bool trace = false;                              // print every event to stdout
};

/// How a run went. `failure` is empty when every check passed.
struct sim_result {
  std::string failure;
  std::uint64_t trace_hash = 0;  // over every event, in order: equal runs, equal hashes
  std::uint64_t ticks = 0;
  std::uint64_t messages = 0;
  std::uint64_t committed = 0;   // highest commit index reached
  std::uint64_t operations = 0;  // client operations in the checked history
  std::uint64_t elections = 0;   // distinct (term, leader) pairs seen
  bool linearizability_gave_up = false;
  bool figure8 = false;      // the seed was drawn into the Figure 8 class (docs/raft.md)
  bool membership = false;   // ... into the membership class: nodes join and leave
  bool change_race = false;  // ... into its change race subclass (docs/raft.md)
  std::uint64_t membership_changes = 0;   // membership entries committed
  std::uint64_t compactions = 0;          // snapshots the state machines took
  std::uint64_t snapshots_installed = 0;  // snapshots followers took from a leader
};

/// Runs one seed to completion. Never aborts on an invariant violation (it returns it),
/// but a CAUDAL_ASSERT inside the core aborts the process as in production.
[[nodiscard]] sim_result run_simulation(const sim_options& options);

/// The name of a mutation as accepted by --mutation and CAUDAL_RAFT_MUTATION.
[[nodiscard]] const char* mutation_name(raft::mutation m);
/// Parses a mutation name; false when unknown.
[[nodiscard]] bool parse_mutation(const std::string& name, raft::mutation& out);

}  // namespace caudal::sim
