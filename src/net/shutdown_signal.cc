#include "net/shutdown_signal.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>

namespace caudal::net {

/// The signal_set installs its handlers when constructed; a signal caught before wait()
/// is queued by Asio and completes the first async_wait at once.
struct shutdown_signal_waiter::impl {
  boost::asio::io_context context{1};
  boost::asio::signal_set signals{context, SIGINT, SIGTERM};
};

shutdown_signal_waiter::shutdown_signal_waiter() : _impl(std::make_unique<impl>()) {}

shutdown_signal_waiter::~shutdown_signal_waiter() = default;

int shutdown_signal_waiter::wait() {
  int caught = 0;
  _impl->signals.async_wait(
      [&caught](const boost::system::error_code& ec, int number) { caught = ec ? 0 : number; });
  _impl->context.restart();
  _impl->context.run();
  return caught;
}

int wait_for_shutdown_signal() {
  shutdown_signal_waiter waiter;
  return waiter.wait();
}

}  // namespace caudal::net
