#pragma once

// Internal to src/net/: one accepted TCP connection. This header includes Asio, so only
// net's own .cc files include it; the public headers stay free of Asio.

#include "net/gate.h"
#include "net/request_handler.h"
#include "net/responder.h"
#include "net/server_config.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace caudal::net::detail {

class connection;
class connection_link;

/// The connections living on one event loop. Loop-thread only.
struct loop_connections {
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> open;
  bool draining = false;  // set by server::stop(); new connections start draining
};

/// What every connection of a server shares. Outlives every connection (the server
/// waits for their coroutines before it dies).
struct connection_context {
  const server_config* config = nullptr;
  request_handler* handler = nullptr;
  gate* tasks = nullptr;                           // counts every coroutine
  std::atomic<std::size_t>* open_count = nullptr;  // connections not yet closed
};

/// One TCP connection: reads size-prefixed frames, hands each to the request handler
/// with a responder for its slot, and writes the responses in request order.
///
/// Three coroutines run per connection, all on its loop: the reader, the writer and a
/// watchdog (idle and drain timeouts). They share the object through shared_ptr and
/// coordinate through `_state` and two timers used as wake-up signals; no locks, since
/// they run on one thread. The only cross-thread entry is the connection_link, through
/// which responders post completions to the loop.
///
/// Invariants: `_slots` holds the slots `_front_slot` .. `_next_slot - 1`, oldest first;
/// its size is at most requests_in_flight_max; once `_state` is closed, the socket is
/// closed, the link is shut and `_slots` is empty.
class connection {
 public:
  enum class state : std::uint8_t {
    open,      // reading requests, writing responses
    draining,  // no more reading; writing the responses of slots in flight, then closing
    closed,
  };

  /// Requires: `socket` belongs to `loop_context`, the loop `loop` describes.
  connection(boost::asio::ip::tcp::socket socket, connection_info info, connection_context context,
             boost::asio::io_context& loop_context, loop_connections& loop);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// The connection's life: registers on its loop, spawns the writer and the watchdog,
  /// then reads until the connection closes or drains. Spawn it on the socket's loop,
  /// counted by context.tasks.
  static boost::asio::awaitable<void> run(std::shared_ptr<connection> c);

  /// Stops reading; the connection closes once the slots in flight are written, or
  /// after stop_drain_ms_max. Loop thread; idempotent.
  void begin_drain();
  /// Closes now, dropping any unwritten responses. Loop thread; idempotent.
  void close(std::string_view reason);
  /// A responder completed `slot`. Loop thread (the link posts here).
  void on_completion(std::uint64_t slot, completion c);

 private:
  struct slot {
    std::optional<completion> done;
  };

  static boost::asio::awaitable<void> read_loop(std::shared_ptr<connection> c);
  static boost::asio::awaitable<void> write_loop(std::shared_ptr<connection> c);
  static boost::asio::awaitable<void> watch_loop(std::shared_ptr<connection> c);
  static boost::asio::awaitable<boost::system::error_code> write_responses(
      std::shared_ptr<connection> c, std::vector<response> batch);
  static boost::asio::awaitable<boost::system::error_code> write_file_range(
      std::shared_ptr<connection> c, file_range range);
  static boost::asio::awaitable<boost::system::error_code> read_some(std::shared_ptr<connection> c,
                                                                     std::byte* data,
                                                                     std::size_t size,
                                                                     std::size_t* read);
  static void spawn(const std::shared_ptr<connection>& c, boost::asio::awaitable<void> task);

  /// Reading ended with `ec` (EOF or an error): closes.
  void on_read_end(boost::system::error_code ec, bool at_frame_boundary);
  /// Debug builds check that loop-owned state is touched on its loop (STYLE.md).
  void assert_on_loop() const {
    CAUDAL_DASSERT(_loop.running_in_this_thread(), "connection {} used off its loop", _info.id);
  }
  [[nodiscard]] bool front_ready() const { return !_slots.empty() && _slots.front().done; }
  void touch();

  boost::asio::io_context::executor_type _loop;  // the loop that owns this connection
  boost::asio::ip::tcp::socket _socket;
  const connection_info _info;
  const connection_context _context;
  loop_connections& _loop_connections;
  std::shared_ptr<connection_link> _link;

  state _state = state::open;
  bool _drain_deadline_armed = false;
  std::int64_t _last_activity_ns = 0;

  std::deque<slot> _slots;
  std::uint64_t _front_slot = 0;  // slot number of _slots.front()
  std::uint64_t _next_slot = 0;   // slot number of the next request read

  // Read buffer: bytes [_read_begin, _read_end) are received but not yet parsed.
  std::vector<std::byte> _read_buffer;
  std::size_t _read_begin = 0;
  std::size_t _read_end = 0;

  boost::asio::steady_timer _reader_wake;         // cancelled when a slot frees or state changes
  boost::asio::steady_timer _writer_wake;         // cancelled when the front slot completes
  boost::asio::steady_timer _watch_timer;         // idle and drain deadlines
  boost::asio::cancellation_signal _read_cancel;  // stops a pending read on drain
};

}  // namespace caudal::net::detail
