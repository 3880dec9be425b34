#pragma once

// Waiting for SIGINT or SIGTERM, for `caudal serve`. No Asio here.

#include <memory>

namespace caudal::net {

/// Catches SIGINT and SIGTERM from construction on, so a signal that arrives while the
/// broker is still starting is not lost (nor kills the process); wait() then returns it.
/// Make one early in main, before starting threads:
///
///   net::shutdown_signal_waiter signals;
///   ... server.start() ...
///   int sig = signals.wait();   // blocks
///   server.stop();
///
/// Only one waiter should exist at a time. The default dispositions come back when it is
/// destroyed.
class shutdown_signal_waiter {
 public:
  shutdown_signal_waiter();
  shutdown_signal_waiter(const shutdown_signal_waiter&) = delete;
  shutdown_signal_waiter& operator=(const shutdown_signal_waiter&) = delete;
  ~shutdown_signal_waiter();

  /// Blocks the calling thread until SIGINT or SIGTERM arrives (or has arrived since
  /// construction) and returns the signal number.
  int wait();

 private:
  struct impl;
  std::unique_ptr<impl> _impl;
};

/// Blocks until SIGINT or SIGTERM and returns the signal number. A signal that arrives
/// before the call is not caught; prefer shutdown_signal_waiter when start-up is long.
int wait_for_shutdown_signal();

}  // namespace caudal::net
