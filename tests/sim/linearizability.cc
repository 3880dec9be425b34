#include "linearizability.h"

#include "base/assert.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

namespace caudal::sim {
namespace {

// One call or return event in a doubly linked list ordered by time; linearizing an
// operation "lifts" its call and return out of the list, backtracking puts them back.
struct event {
  std::size_t op;
  bool is_call;
  std::size_t prev;
  std::size_t next;
  std::size_t match;  // call: its return event, or npos
};
constexpr std::size_t npos = static_cast<std::size_t>(-1);

}  // namespace

linearizability_result check_register(std::span<const register_op> history, std::int64_t initial,
                                      std::size_t states_max) {
  linearizability_result result;
  struct stamp {
    std::uint64_t time;
    std::size_t op;
    bool is_call;
  };
  std::vector<stamp> stamps;
  std::size_t finite = 0;
  for (std::size_t i = 0; i < history.size(); ++i) {
    CAUDAL_ASSERT(history[i].invoke < history[i].complete, "op {} returns before its call", i);
    stamps.push_back({history[i].invoke, i, true});
    if (history[i].complete != no_completion) {
      stamps.push_back({history[i].complete, i, false});
      ++finite;
    }
  }
  std::sort(stamps.begin(), stamps.end(),
            [](const stamp& a, const stamp& b) { return a.time < b.time; });
  // Node 0 is the head sentinel.
  std::vector<event> events(stamps.size() + 1);
  events[0] = {npos, false, npos, stamps.empty() ? npos : 1, npos};
  std::vector<std::size_t> call_of(history.size(), npos);
  for (std::size_t k = 0; k < stamps.size(); ++k) {
    const std::size_t n = k + 1;
    events[n] = {stamps[k].op, stamps[k].is_call, n - 1, n + 1 < events.size() ? n + 1 : npos,
                 npos};
    if (stamps[k].is_call) {
      call_of[stamps[k].op] = n;
    } else {
      events[call_of[stamps[k].op]].match = n;
    }
  }
  const auto unlink = [&](std::size_t n) {
    events[events[n].prev].next = events[n].next;
    if (events[n].next != npos) events[events[n].next].prev = events[n].prev;
  };
  const auto relink = [&](std::size_t n) {
    events[events[n].prev].next = n;
    if (events[n].next != npos) events[events[n].next].prev = n;
  };
  const auto lift = [&](std::size_t call) {
    unlink(call);
    if (events[call].match != npos) unlink(events[call].match);
  };
  const auto unlift = [&](std::size_t call) {
    if (events[call].match != npos) relink(events[call].match);
    relink(call);
  };

  std::vector<std::uint64_t> linearized((history.size() + 63) / 64, 0);
  std::unordered_set<std::string> seen;
  const auto key = [&](std::int64_t value) {
    std::string k(linearized.size() * 8 + 8, '\0');
    std::memcpy(k.data(), linearized.data(), linearized.size() * 8);
    std::memcpy(k.data() + linearized.size() * 8, &value, 8);
    return k;
  };
  struct frame {
    std::size_t call;
    std::int64_t state;
  };
  std::vector<frame> stack;
  std::int64_t state = initial;
  std::size_t finite_done = 0;
  std::size_t at = events[0].next;
  while (true) {
    if (finite_done == finite) {
      result.states = seen.size();
      return result;
    }
    bool backtrack = false;
    if (at == npos || !events[at].is_call) {
      backtrack = true;
    } else {
      const register_op& op = history[events[at].op];
      const bool legal = op.op == register_op::kind::write || op.value == state;
      const std::int64_t next_state = op.op == register_op::kind::write ? op.value : state;
      bool fresh = false;
      if (legal) {
        const std::size_t i = events[at].op;
        linearized[i / 64] |= std::uint64_t{1} << (i % 64);
        fresh = seen.insert(key(next_state)).second;
        if (!fresh) linearized[i / 64] &= ~(std::uint64_t{1} << (i % 64));
      }
      if (fresh) {
        if (seen.size() > states_max) {
          result.gave_up = true;
          result.states = seen.size();
          return result;
        }
        stack.push_back({at, state});
        state = next_state;
        if (op.complete != no_completion) ++finite_done;
        lift(at);
        at = events[0].next;
      } else {
        at = events[at].next;
      }
    }
    if (backtrack) {
      if (stack.empty()) {
        result.linearizable = false;
        result.states = seen.size();
        return result;
      }
      const frame f = stack.back();
      stack.pop_back();
      const std::size_t i = events[f.call].op;
      linearized[i / 64] &= ~(std::uint64_t{1} << (i % 64));
      if (history[i].complete != no_completion) --finite_done;
      state = f.state;
      unlift(f.call);
      at = events[f.call].next;
    }
  }
}

}  // namespace caudal::sim
