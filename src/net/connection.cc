#include "net/connection.h"

#include "base/assert.h"
#include "base/clock.h"
#include "base/logging.h"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/sendfile.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <exception>
#include <limits>
#include <mutex>
#include <utility>

namespace caudal::net::detail {

namespace asio = boost::asio;
using boost::system::error_code;

/// The cross-thread door into a connection: responders hold it (as a completion_sink)
/// and may outlive the connection. While the connection lives the link is open and a
/// completion is posted to the connection's loop; once the connection closed (shut()),
/// completions are dropped. The mutex orders complete() against shut(), so nothing is
/// posted to a loop after its connection closed, and a loop outlives its open
/// connections.
class connection_link final : public completion_sink,
                              public std::enable_shared_from_this<connection_link> {
 public:
  connection_link(asio::io_context::executor_type executor, connection* owner)
      : _executor(executor), _owner(owner) {}

  void complete(std::uint64_t slot, completion c) noexcept override {
    std::lock_guard lock(_mutex);
    if (!_open) return;
    asio::post(_executor, [link = shared_from_this(), slot, done = std::move(c)]() mutable {
      // On the loop thread, which alone writes _owner.
      if (link->_owner != nullptr) link->_owner->on_completion(slot, std::move(done));
    });
  }

  /// The connection closed. Loop thread.
  void shut() {
    std::lock_guard lock(_mutex);
    _open = false;
    _owner = nullptr;
  }

 private:
  std::mutex _mutex;
  bool _open = true;  // guarded by _mutex
  asio::io_context::executor_type _executor;
  connection* _owner;  // loop thread only; null once closed
};

namespace {

constexpr std::size_t size_prefix_bytes = 4;
// Bounds on one gathered write of pipelined responses (a larger response goes alone).
constexpr std::uint64_t write_batch_bytes_max = 1 << 20;
constexpr std::size_t write_batch_responses_max = 64;

std::int32_t load_be32(const std::byte* p) {
  const auto u = (static_cast<std::uint32_t>(p[0]) << 24) |
                 (static_cast<std::uint32_t>(p[1]) << 16) |
                 (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
  return static_cast<std::int32_t>(u);
}

std::array<std::byte, 4> store_be32(std::uint32_t v) {
  return {std::byte(v >> 24), std::byte(v >> 16), std::byte(v >> 8), std::byte(v)};
}

std::int64_t now_ns() {
  return caudal::system_clock().steady_ns();
}

/// A timer that never expires: waiting on it lasts until someone cancels it.
void make_signal(asio::steady_timer& t) {
  t.expires_at(asio::steady_timer::time_point::max());
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, connection_info info,
                       connection_context context, asio::io_context& loop_context,
                       loop_connections& loop)
    : _loop(loop_context.get_executor()),
      _socket(std::move(socket)),
      _info(std::move(info)),
      _context(context),
      _loop_connections(loop),
      _read_buffer(context.config->read_buffer_bytes),
      _reader_wake(_socket.get_executor()),
      _writer_wake(_socket.get_executor()),
      _watch_timer(_socket.get_executor()) {
  CAUDAL_ASSERT(_context.config->requests_in_flight_max > 0, "requests_in_flight_max is 0");
  CAUDAL_ASSERT(_read_buffer.size() >= size_prefix_bytes, "read buffer of {} bytes",
                _read_buffer.size());
  make_signal(_reader_wake);
  make_signal(_writer_wake);
  _link = std::make_shared<connection_link>(_loop, this);
}

connection::~connection() {
  CAUDAL_ASSERT(_state == state::closed, "connection {} destroyed while open", _info.id);
}

void connection::spawn(const std::shared_ptr<connection>& c, asio::awaitable<void> task) {
  gate* tasks = c->_context.tasks;
  tasks->enter();
  asio::co_spawn(c->_socket.get_executor(), std::move(task), [tasks](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("net: connection task failed: {}", x.what());
      }
    }
    tasks->leave();
  });
}

asio::awaitable<void> connection::run(std::shared_ptr<connection> c) {
  c->assert_on_loop();
  c->_loop_connections.open.emplace(c->_info.id, c);
  c->_context.open_count->fetch_add(1, std::memory_order_relaxed);
  c->touch();
  error_code ignored;
  c->_socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  // sendfile(2) must not block the loop: with O_NONBLOCK it returns EAGAIN instead.
  c->_socket.native_non_blocking(true, ignored);
  spdlog::debug("net: connection {} from {}:{} on loop {}", c->_info.id, c->_info.remote_address,
                c->_info.remote_port, c->_info.loop_index);
  spawn(c, write_loop(c));
  spawn(c, watch_loop(c));
  if (c->_loop_connections.draining) c->begin_drain();
  co_await read_loop(c);
}

void connection::touch() {
  _last_activity_ns = now_ns();
}

asio::awaitable<error_code> connection::read_some(std::shared_ptr<connection> c, std::byte* data,
                                                  std::size_t size, std::size_t* read) {
  error_code ec;
  *read = co_await c->_socket.async_read_some(
      asio::buffer(data, size),
      asio::bind_cancellation_slot(c->_read_cancel.slot(),
                                   asio::redirect_error(asio::use_awaitable, ec)));
  if (*read > 0) c->touch();
  co_return ec;
}

asio::awaitable<void> connection::read_loop(std::shared_ptr<connection> c) {
  const std::size_t in_flight_max = c->_context.config->requests_in_flight_max;
  const std::int32_t request_bytes_max = c->_context.config->request_bytes_max;
  const std::size_t chunk_bytes = c->_read_buffer.size();
  for (;;) {
    // Backpressure: at the in-flight bound, stop reading until the writer frees a slot.
    while (c->_state == state::open && c->_slots.size() >= in_flight_max) {
      error_code ignored;
      co_await c->_reader_wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (c->_state != state::open) co_return;

    // The size prefix, from the read buffer.
    while (c->_read_end - c->_read_begin < size_prefix_bytes) {
      if (c->_read_begin > 0) {  // keep the unparsed tail at the start of the buffer
        std::copy(c->_read_buffer.begin() + static_cast<std::ptrdiff_t>(c->_read_begin),
                  c->_read_buffer.begin() + static_cast<std::ptrdiff_t>(c->_read_end),
                  c->_read_buffer.begin());
        c->_read_end -= c->_read_begin;
        c->_read_begin = 0;
      }
      std::size_t n = 0;
      const error_code ec = co_await read_some(c, c->_read_buffer.data() + c->_read_end,
                                               c->_read_buffer.size() - c->_read_end, &n);
      c->_read_end += n;
      if (c->_state != state::open) co_return;
      if (ec) {
        c->on_read_end(ec, c->_read_end == c->_read_begin);
        co_return;
      }
    }
    const std::int32_t size = load_be32(c->_read_buffer.data() + c->_read_begin);
    c->_read_begin += size_prefix_bytes;
    if (size < 0 || size > request_bytes_max) {
      // Checked before anything is allocated: a lying prefix costs nothing.
      spdlog::info("net: connection {} from {}: request frame of {} bytes is outside [0, {}]",
                   c->_info.id, c->_info.remote_address, size, request_bytes_max);
      c->close("request frame size out of bounds");
      co_return;
    }

    // The frame: first what the read buffer holds, then straight from the socket. The
    // frame grows as bytes arrive (at most doubling), so its memory stays proportional
    // to the bytes received, never to the size claimed.
    const auto frame_bytes = static_cast<std::size_t>(size);
    const std::size_t buffered = std::min(frame_bytes, c->_read_end - c->_read_begin);
    const auto first = c->_read_buffer.begin() + static_cast<std::ptrdiff_t>(c->_read_begin);
    std::vector<std::byte> frame(first, first + static_cast<std::ptrdiff_t>(buffered));
    c->_read_begin += buffered;
    if (c->_read_begin == c->_read_end) c->_read_begin = c->_read_end = 0;
    while (frame.size() < frame_bytes) {
      const std::size_t have = frame.size();
      const std::size_t target = std::min(frame_bytes, std::max(have * 2, chunk_bytes));
      frame.resize(target);
      std::size_t n = 0;
      const error_code ec = co_await read_some(c, frame.data() + have, target - have, &n);
      frame.resize(have + n);
      if (c->_state != state::open) co_return;
      if (ec) {
        c->on_read_end(ec, false);
        co_return;
      }
    }

    const std::uint64_t slot_number = c->_next_slot++;
    c->_slots.emplace_back();
    try {
      c->_context.handler->handle(c->_info, std::move(frame), responder(c->_link, slot_number));
    } catch (const std::exception& e) {
      spdlog::error("net: request handler threw on connection {}: {}", c->_info.id, e.what());
      c->close("request handler threw");
      co_return;
    }
  }
}

void connection::on_read_end(error_code ec, bool at_frame_boundary) {
  // As Kafka does, EOF closes at once, dropping the responses in flight: clients do
  // not half-close, so EOF means the client is gone, and its long polls and parked
  // requests should let go now rather than when they would have been answered.
  if (ec != asio::error::eof) {
    close(ec.message());
  } else if (at_frame_boundary) {
    close("closed by the peer");
  } else {
    close("truncated frame at end of stream");
  }
}

asio::awaitable<void> connection::write_loop(std::shared_ptr<connection> c) {
  std::vector<response> batch;
  for (;;) {
    while (c->_state != state::closed && !c->front_ready()) {
      if (c->_slots.empty() && c->_state == state::draining) {
        c->close("drained");
        co_return;
      }
      error_code ignored;
      co_await c->_writer_wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (c->_state == state::closed) co_return;

    // Take the completed slots at the front, so that pipelined responses go out in one
    // gathered write. Stop at a close, after a response with a file range, or at the
    // batch bound. The responses move out of the slots: close() may clear the slots
    // while the write is pending.
    batch.clear();
    std::size_t taken = 0;
    std::uint64_t batch_bytes = 0;
    while (taken < c->_slots.size() && c->_slots[taken].done) {
      completion& done = *c->_slots[taken].done;
      if (done.kind == completion_kind::close) {
        if (taken > 0) break;  // write what precedes it first
        c->close("closed by the request handler");
        co_return;
      }
      if (done.kind == completion_kind::response) {
        if (!batch.empty() && batch_bytes + done.body.size_bytes() > write_batch_bytes_max) break;
        batch_bytes += done.body.size_bytes();
        batch.push_back(std::move(done.body));
        const bool has_file = std::any_of(
            batch.back().chunks().begin(), batch.back().chunks().end(),
            [](const chunk& piece) { return std::holds_alternative<file_range>(piece); });
        ++taken;
        if (has_file || batch.size() == write_batch_responses_max) break;
      } else {
        ++taken;  // completion_kind::nothing: no bytes
      }
    }
    if (!batch.empty()) {
      const error_code ec = co_await write_responses(c, std::move(batch));
      if (c->_state == state::closed) co_return;
      if (ec) {
        c->close(ec.message());
        co_return;
      }
    }
    for (std::size_t i = 0; i < taken; ++i)
      c->_slots.pop_front();
    c->_front_slot += taken;
    c->touch();
    c->_reader_wake.cancel();  // slots freed: the reader may continue
  }
}

asio::awaitable<error_code> connection::write_responses(std::shared_ptr<connection> c,
                                                        std::vector<response> batch) {
  std::vector<std::array<std::byte, 4>> prefixes;
  prefixes.reserve(batch.size());  // no reallocation: buffers point into it
  std::vector<asio::const_buffer> pending;
  error_code ec;
  for (const response& body : batch) {
    CAUDAL_ASSERT(body.size_bytes() <= response::size_bytes_max, "response of {} bytes",
                  body.size_bytes());
    prefixes.push_back(store_be32(static_cast<std::uint32_t>(body.size_bytes())));
    pending.emplace_back(prefixes.back().data(), prefixes.back().size());
    for (const chunk& piece : body.chunks()) {
      if (const auto* bytes = std::get_if<std::vector<std::byte>>(&piece)) {
        pending.emplace_back(bytes->data(), bytes->size());
        continue;
      }
      co_await asio::async_write(c->_socket, pending,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
      pending.clear();
      ec = co_await write_file_range(c, std::get<file_range>(piece));
      if (ec) co_return ec;
    }
  }
  if (!pending.empty()) {
    co_await asio::async_write(c->_socket, pending, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

asio::awaitable<error_code> connection::write_file_range(std::shared_ptr<connection> c,
                                                         file_range range) {
  if (range.offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - range.length) {
    co_return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  }
  auto offset = static_cast<off_t>(range.offset);
  std::size_t remaining = range.length;
  while (remaining > 0) {
    if (c->_state == state::closed) co_return asio::error::operation_aborted;
    const ssize_t n = ::sendfile(c->_socket.native_handle(), range.fd, &offset, remaining);
    if (n > 0) {
      remaining -= static_cast<std::size_t>(n);  // sendfile advanced `offset`
      continue;
    }
    if (n == 0) {
      spdlog::error("net: file range of fd {} ends {} bytes early; closing connection {}", range.fd,
                    remaining, c->_info.id);
      co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) {
      co_return error_code(err, boost::system::system_category());
    }
    error_code ec;
    co_await c->_socket.async_wait(asio::ip::tcp::socket::wait_write,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<void> connection::watch_loop(std::shared_ptr<connection> c) {
  const std::int64_t idle_ns_max = c->_context.config->connection_idle_ms_max * 1'000'000;
  const std::int64_t drain_ms_max = c->_context.config->stop_drain_ms_max;
  for (;;) {
    if (c->_state == state::closed) co_return;
    if (c->_state == state::draining) {
      if (!c->_drain_deadline_armed) {
        c->_drain_deadline_armed = true;
        c->_watch_timer.expires_after(std::chrono::milliseconds(drain_ms_max));
      }
      error_code ec;
      co_await c->_watch_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (c->_state == state::closed) co_return;
      if (!ec) {
        c->close("requests still in flight at the end of the drain time");
        co_return;
      }
      continue;
    }
    // Idle: no request in flight and no bytes moved for connection_idle_ms_max.
    const std::int64_t idle_ns = now_ns() - c->_last_activity_ns;
    if (c->_slots.empty() && idle_ns >= idle_ns_max) {
      c->close("idle");
      co_return;
    }
    const std::int64_t wait_ns = c->_slots.empty() ? idle_ns_max - idle_ns : idle_ns_max;
    c->_watch_timer.expires_after(std::chrono::nanoseconds(wait_ns));
    error_code ignored;
    co_await c->_watch_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void connection::begin_drain() {
  assert_on_loop();
  if (_state != state::open) return;
  _state = state::draining;
  _read_cancel.emit(asio::cancellation_type::terminal);
  _reader_wake.cancel();
  _writer_wake.cancel();
  _watch_timer.cancel();
}

void connection::close(std::string_view reason) {
  assert_on_loop();
  if (_state == state::closed) return;
  _state = state::closed;
  spdlog::debug("net: closing connection {} from {}:{}: {}", _info.id, _info.remote_address,
                _info.remote_port, reason);
  _link->shut();
  error_code ignored;
  _socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  _socket.close(ignored);
  _reader_wake.cancel();
  _writer_wake.cancel();
  _watch_timer.cancel();
  _slots.clear();
  _front_slot = _next_slot;
  _loop_connections.open.erase(_info.id);
  _context.open_count->fetch_sub(1, std::memory_order_relaxed);
  _context.handler->connection_closed(_info);
}

void connection::on_completion(std::uint64_t slot_number, completion c) {
  assert_on_loop();
  if (_state == state::closed) return;
  CAUDAL_ASSERT(slot_number >= _front_slot, "slot {} completed after slot {} was written",
                slot_number, _front_slot);
  CAUDAL_ASSERT(slot_number < _next_slot, "slot {} completed but never issued (next {})",
                slot_number, _next_slot);
  auto& s = _slots[static_cast<std::size_t>(slot_number - _front_slot)];
  CAUDAL_ASSERT(!s.done.has_value(), "slot {} completed twice", slot_number);
  s.done = std::move(c);
  if (slot_number == _front_slot) _writer_wake.cancel();
}

}  // namespace caudal::net::detail
