#include "net/responder.h"

#include "base/assert.h"
#include "base/logging.h"

#include <utility>

namespace caudal::net {

/// Shared by all copies of one responder. Its destructor is the "dropped without
/// completion" path: the last copy going away completes the slot with close().
struct responder::state {
  state(std::shared_ptr<completion_sink> s, std::uint64_t n) : sink(std::move(s)), slot(n) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    if (!done.load(std::memory_order_acquire)) {
      spdlog::warn("net: request slot {} was dropped without a response; closing the connection",
                   slot);
      sink->complete(slot, completion{completion_kind::close, {}});
    }
  }

  std::shared_ptr<completion_sink> sink;
  std::uint64_t slot;
  std::atomic<bool> done{false};
};

responder::responder(std::shared_ptr<completion_sink> sink, std::uint64_t slot) {
  CAUDAL_ASSERT(sink != nullptr, "a responder needs a sink (slot {})", slot);
  _state = std::make_shared<state>(std::move(sink), slot);
}

void responder::send(response r) const {
  CAUDAL_ASSERT(r.size_bytes() <= response::size_bytes_max,
                "response of {} bytes does not fit a frame", r.size_bytes());
  complete(completion{completion_kind::response, std::move(r)});
}

void responder::send_nothing() const {
  complete(completion{completion_kind::nothing, {}});
}

void responder::close() const {
  complete(completion{completion_kind::close, {}});
}

bool responder::completed() const noexcept {
  return _state != nullptr && _state->done.load(std::memory_order_acquire);
}

std::uint64_t responder::slot() const noexcept {
  return _state == nullptr ? 0 : _state->slot;
}

void responder::complete(completion c) const {
  CAUDAL_ASSERT(_state != nullptr, "completing a moved-from responder");
  const bool was_done = _state->done.exchange(true, std::memory_order_acq_rel);
  CAUDAL_ASSERT(!was_done, "request slot {} completed twice", _state->slot);
  _state->sink->complete(_state->slot, std::move(c));
}

}  // namespace caudal::net
