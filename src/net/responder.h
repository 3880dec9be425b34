#pragma once

// The handle through which a request handler completes one request slot. No Asio here.

#include "net/response.h"

#include <atomic>
#include <cstdint>
#include <memory>

namespace caudal::net {

/// How a request slot was completed.
enum class completion_kind : std::uint8_t {
  response,  // write `body` as one frame
  nothing,   // write nothing; the slot just completes (Kafka produce with acks=0)
  close,     // close the connection once the earlier slots are written
};

/// The outcome of one request slot, delivered to a completion_sink.
struct completion {
  completion_kind kind = completion_kind::close;
  response body;  // only for completion_kind::response
};

/// Receives slot completions. The connection implements it; tests of handlers can
/// implement it to observe what a handler answered without any socket.
///
/// Thread safety: complete() is called from any thread, at most once per slot.
class completion_sink {
 public:
  completion_sink() = default;
  completion_sink(const completion_sink&) = delete;
  completion_sink& operator=(const completion_sink&) = delete;
  virtual ~completion_sink() = default;

  /// Completes slot `slot`. Must not block and must not throw. If the connection is gone
  /// it does nothing.
  virtual void complete(std::uint64_t slot, completion c) noexcept = 0;
};

/// A small handle that completes exactly one request slot: send(), send_nothing() or
/// close(), once.
///
/// Copyable and movable: copies share one completion, so exactly one copy completes it;
/// completing twice is a bug and asserts. Any thread may complete it, at any later time;
/// if the connection died meanwhile, completing does nothing (the response is dropped,
/// releasing any file keepalive).
///
/// Dropped without completion: when the last copy is destroyed without having
/// completed, the slot is completed with close(). A forgotten responder thus never hangs
/// the connection; it closes it, after the earlier responses, which a client sees as a
/// broken connection and retries. (An assertion was rejected: a broker bug that loses
/// one request should not take down the process.) The drop is logged at warn level.
class responder {
 public:
  /// A responder for slot `slot` of `sink`. Requires: sink != nullptr. The connection
  /// makes these; tests of handlers may too.
  responder(std::shared_ptr<completion_sink> sink, std::uint64_t slot);

  responder(const responder&) = default;
  responder& operator=(const responder&) = default;
  responder(responder&&) noexcept = default;
  responder& operator=(responder&&) noexcept = default;
  ~responder() = default;

  /// Writes `r` as this slot's response frame (net adds the size prefix).
  /// Requires: not completed yet; r.size_bytes() <= response::size_bytes_max.
  void send(response r) const;
  /// Completes the slot without writing anything (produce with acks=0).
  void send_nothing() const;
  /// Closes the connection after the responses of earlier slots are written; later
  /// slots are dropped. For a request the broker cannot answer (unknown API key).
  void close() const;

  /// True once any copy completed the slot.
  [[nodiscard]] bool completed() const noexcept;
  /// The slot number: 0 for the first request of a connection, then 1, 2, ...
  [[nodiscard]] std::uint64_t slot() const noexcept;

 private:
  struct state;
  void complete(completion c) const;

  std::shared_ptr<state> _state;  // null only after a move
};

}  // namespace caudal::net
