#pragma once

// Internal to the driver (included by its .cc files only, never by a public header):
// the TCP transport between the Raft nodes, on the driver's io_context.

#include "base/result.h"
#include "raft/driver/driver.h"
#include "raft/driver/wire.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

namespace caudal::raft::detail {

/// The transport's counters; written on the loop thread, read from any.
struct transport_counters {
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> messages_dropped{0};
  std::atomic<std::uint64_t> frames_received{0};
  std::atomic<std::uint64_t> frames_rejected{0};
};

/// Moves frames of Raft messages between this node and its peers over TCP.
///
/// Each node connects to every peer and sends only on the connections it opened; it
/// receives on the connections it accepted. Messages queued for one peer during one loop
/// turn go out in one frame, whatever their groups (heartbeat coalescing at the frame
/// level). Loss is fine (Raft retries), blocking is not: a peer that is down or whose
/// queue is over peer_queue_bytes_max loses the messages sent to it meanwhile.
///
/// Runs on the io_context's one thread: every member but the constructor and listen()
/// is called there. Lifetime: outlives every coroutine it spawned (close() ends them).
class transport {
 public:
  /// Called with every well-formed frame received, on the loop thread.
  using frame_handler = std::function<void(frame&&)>;

  transport(boost::asio::io_context& io, const driver_config& config, frame_handler on_frame,
            transport_counters& counters);
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  ~transport();

  /// Binds and listens; returns the bound port. Call before start().
  [[nodiscard]] result<std::uint16_t> listen();
  /// Spawns the accept loop and one connect-and-write loop per peer.
  void start();
  /// Queues `m` for its destination `m.to`; dropped if the peer is unknown or down.
  void send(group_id group, const message& m);
  /// Closes the listener and every socket and wakes every loop so that all end.
  void close();

 private:
  struct peer;
  using tcp = boost::asio::ip::tcp;

  static boost::asio::awaitable<void> accept_loop(transport* t);
  static boost::asio::awaitable<void> read_loop(transport* t, tcp::socket socket);
  static boost::asio::awaitable<void> write_loop(transport* t, peer* p);
  void seal(peer& p);
  void flush(peer& p);

  boost::asio::io_context& _io;
  const driver_config& _config;
  frame_handler _on_frame;
  transport_counters& _counters;
  tcp::acceptor _acceptor;
  std::vector<std::unique_ptr<peer>> _peers;
  std::unordered_set<tcp::socket*> _inbound;  // sockets of running read loops
  std::size_t _running = 0;                   // coroutines spawned and not yet finished
  bool _closed = false;
};

}  // namespace caudal::raft::detail
