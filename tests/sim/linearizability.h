#pragma once

// A linearizability checker for a single read/write register (Wing & Gong's search with
// Lowe's memoisation, as in Knossos and Porcupine). The simulator records its clients'
// operations and asks whether some total order, consistent with real time, explains every
// value read.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace caudal::sim {

/// An operation whose response never came (its client timed out or its server died):
/// it may have taken effect at any point after its invocation, or never.
inline constexpr std::uint64_t no_completion = std::numeric_limits<std::uint64_t>::max();

/// One client operation on the register. Times are event sequence numbers: unique and
/// totally ordered, so "a returned before b was invoked" is `a.complete < b.invoke`.
struct register_op {
  enum class kind : std::uint8_t { write, read };
  kind op = kind::write;
  std::int64_t value = 0;  // the value written, or the value the read returned
  std::uint64_t invoke = 0;
  std::uint64_t complete = no_completion;  // reads always complete (unfinished ones are dropped)
};

/// The verdict, with how much of the search space it took.
struct linearizability_result {
  bool linearizable = true;
  bool gave_up = false;  // the search hit `states_max`: no verdict either way
  std::size_t states = 0;
};

/// Searches for a linearization of `history` starting from `initial`. Explores at most
/// `states_max` distinct (linearized set, value) states before giving up.
[[nodiscard]] linearizability_result check_register(std::span<const register_op> history,
                                                    std::int64_t initial,
                                                    std::size_t states_max = 1 << 20);

}  // namespace caudal::sim
