#pragma once

// The network server: listeners plus one event loop per core. No Asio here (pimpl), so
// src/main.cc and the broker stay quick to compile.

#include "base/result.h"
#include "net/request_handler.h"
#include "net/server_config.h"

#include <memory>
#include <vector>

namespace caudal::net {

/// Accepts connections on the configured endpoints and moves size-prefixed frames
/// between them and a request_handler. Knows nothing of Kafka.
///
/// Threading: the server owns `loop_count` threads, each running one event loop. The
/// acceptors live on loop 0 and hand connections to the loops round-robin; a connection
/// then lives on its loop for life, and its handler calls run there. start() and stop()
/// are called from one controlling thread (main), never from a loop thread.
///
/// Lifecycle: construct, start(), ..., stop(). The destructor calls stop().
class server {
 public:
  /// `handler` must outlive stop().
  server(server_config config, request_handler& handler);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  /// Binds every endpoint, starts the loop threads and begins accepting. On an error
  /// (a port in use, a bad address) nothing is left running and the error is returned.
  /// Also sets SIGPIPE to be ignored, process-wide: sendfile(2) to a socket the peer has
  /// closed would otherwise kill the process. Requires: called once; the config's limits
  /// are positive (a bad value is a bug of the config parser and asserts).
  [[nodiscard]] result<void> start();

  /// The endpoints as bound, in configuration order. Valid after a successful start().
  [[nodiscard]] const std::vector<bound_endpoint>& bound_endpoints() const;

  /// Graceful shutdown: stops accepting; stops reading requests; lets requests in flight
  /// complete and their responses be written, for up to stop_drain_ms_max; then closes
  /// every connection, waits for every coroutine the server spawned, and joins the loop
  /// threads. Idempotent; a no-op before start().
  void stop();

  /// Connections currently open (for tests and metrics). Any thread.
  [[nodiscard]] std::size_t connection_count() const;

 private:
  class impl;
  std::unique_ptr<impl> _impl;
};

}  // namespace caudal::net
