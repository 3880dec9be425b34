#pragma once

// The interface between the network layer and whatever answers requests (the broker).
// No Asio here: the broker includes this header, and Asio is slow to compile.

#include "net/responder.h"
#include "net/response.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace caudal::net {

/// Who is on the other end of a connection. Fixed for the connection's life.
struct connection_info {
  std::uint64_t id = 0;        // unique within a server, never reused
  std::string listener_name;   // endpoint::name of the listener that accepted it
  std::string remote_address;  // textual IP, e.g. "127.0.0.1" or "::1"
  std::uint16_t remote_port = 0;
  std::string local_address;
  std::uint16_t local_port = 0;
  unsigned loop_index = 0;  // the event loop the connection lives on
};

/// Answers request frames. Implemented by the broker.
///
/// Where it runs: handle() and connection_closed() are called on the event loop thread
/// that owns the connection, so they must not block (no disk I/O, no waiting on a lock
/// held across I/O). Calls for one connection are never concurrent and come in request
/// order; calls for different connections may run concurrently on different loops, so
/// the handler's shared state must be thread-safe.
///
/// Lifetime: the handler must outlive the server's stop(); after stop() returns no call
/// is made any more. Responders may outlive both.
class request_handler {
 public:
  request_handler() = default;
  request_handler(const request_handler&) = delete;
  request_handler& operator=(const request_handler&) = delete;
  virtual ~request_handler() = default;

  /// One request. `frame` is the request's bytes without the 4-byte size prefix (header
  /// and body; possibly empty, possibly garbage: it comes from the network). `info` is
  /// valid only during the call. The handler completes `r` now or later, from any thread;
  /// the responses go out in request order whatever the completion order.
  virtual void handle(const connection_info& info, std::vector<std::byte> frame, responder r) = 0;

  /// The connection closed (any reason). Responders of its pending slots become no-ops.
  virtual void connection_closed(const connection_info& /*info*/) {}
};

}  // namespace caudal::net
