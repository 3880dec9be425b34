#include "raft/driver/transport.h"

#include "base/assert.h"
#include "base/logging.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <utility>

namespace caudal::raft::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Frames gathered into one write: enough to batch a burst, few enough that a write's
// buffer array stays small.
constexpr std::size_t frames_per_write_max = 64;
// The first piece of a frame body read at once; later pieces double.
constexpr std::size_t read_chunk_bytes = 64 * 1024;

/// The completion of a counted coroutine: logs an escaped exception (a bug: errors are
/// values here) and counts the coroutine out.
struct task_done {
  std::size_t* running;
  void operator()(const std::exception_ptr& e) const {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("raft: transport task failed: {}", x.what());
      }
    }
    --*running;
  }
};

}  // namespace

/// One peer's outgoing side: its connection, the frame being filled this loop turn and
/// the sealed frames waiting for the socket.
struct transport::peer {
  peer(asio::io_context& io, peer_address a, node_id self)
      : address(std::move(a)), socket(io), wake(io), backoff(io), open_frame(self) {}

  peer_address address;
  tcp::socket socket;
  asio::steady_timer wake;     // the writer sleeps on it; cancel() wakes it
  asio::steady_timer backoff;  // between connect attempts
  bool connected = false;
  frame_builder open_frame;
  bool flush_posted = false;
  std::deque<std::vector<std::byte>> queue;  // sealed frames, oldest first
  std::deque<std::size_t> queue_messages;    // message count of each queued frame
  std::size_t queued_bytes = 0;
};

transport::transport(asio::io_context& io, const driver_config& config, frame_handler on_frame,
                     transport_counters& counters)
    : _io(io), _config(config), _on_frame(std::move(on_frame)), _counters(counters), _acceptor(io) {
  for (const peer_address& a : config.peers) {
    if (a.id == config.self) continue;
    _peers.push_back(std::make_unique<peer>(io, a, config.self));
  }
}

transport::~transport() {
  // The loop ran until every coroutine ended, or was stopped and destroyed them; either
  // way none may touch this object any more. Only the first case can be checked.
  if (_io.stopped() && _running != 0)
    spdlog::debug("raft: transport destroyed with {} coroutines stopped mid-way", _running);
}

result<std::uint16_t> transport::listen() {
  error_code ec;
  const auto address = asio::ip::make_address(_config.listen_host, ec);
  if (ec) return std::error_code(ec);
  const tcp::endpoint where(address, _config.listen_port);
  _acceptor.open(where.protocol(), ec);
  // A restarted node must get its port back while old connections sit in TIME_WAIT.
  if (!ec) _acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) _acceptor.bind(where, ec);
  if (!ec) _acceptor.listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    _acceptor.close(ignored);
    return std::error_code(ec);
  }
  const auto bound = _acceptor.local_endpoint(ec);
  if (ec) return std::error_code(ec);
  return bound.port();
}

void transport::start() {
  ++_running;
  asio::co_spawn(_io, accept_loop(this), task_done{&_running});
  for (auto& p : _peers) {
    ++_running;
    asio::co_spawn(_io, write_loop(this, p.get()), task_done{&_running});
  }
}

void transport::close() {
  _closed = true;
  error_code ignored;
  _acceptor.close(ignored);
  for (auto& p : _peers) {
    p->socket.close(ignored);
    p->wake.cancel();
    p->backoff.cancel();
  }
  for (tcp::socket* s : _inbound)
    s->close(ignored);
}

void transport::send(group_id group, const message& m) {
  auto it = std::find_if(_peers.begin(), _peers.end(),
                         [&](const auto& p) { return p->address.id == m.to; });
  if (_closed || it == _peers.end() || !(*it)->connected) {
    _counters.messages_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  peer& p = **it;
  if (p.open_frame.size_bytes() + encoded_size(m) > frame_bytes_max) seal(p);
  p.open_frame.add(group, m);
  if (!p.flush_posted) {
    // Everything queued for this peer until the loop gets back to this post goes out in
    // one frame: the heartbeats of all groups ticked together share it.
    p.flush_posted = true;
    asio::post(_io, [this, peer_ptr = &p] { flush(*peer_ptr); });
  }
}

void transport::seal(peer& p) {
  const std::size_t count = p.open_frame.message_count();
  if (count == 0) return;
  std::vector<std::byte> bytes = p.open_frame.finish();
  // A frame alone may exceed the bound (a snapshot can be larger than the whole queue);
  // behind others it is dropped like any frame over the bound, and Raft sends it again.
  const bool over =
      p.queued_bytes > 0 && p.queued_bytes + bytes.size() > _config.peer_queue_bytes_max;
  if (!p.connected || over) {
    _counters.messages_dropped.fetch_add(count, std::memory_order_relaxed);
    return;
  }
  p.queued_bytes += bytes.size();
  p.queue.push_back(std::move(bytes));
  p.queue_messages.push_back(count);
  p.wake.cancel();
}

void transport::flush(peer& p) {
  p.flush_posted = false;
  seal(p);
}

asio::awaitable<void> transport::accept_loop(transport* t) {
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await t->_acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (t->_closed || !t->_acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: pause rather than spin on a lasting error.
      spdlog::warn("raft: accept failed: {}", ec.message());
      asio::steady_timer pause(t->_io, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    ++t->_running;
    asio::co_spawn(t->_io, read_loop(t, std::move(socket)), task_done{&t->_running});
  }
}

asio::awaitable<void> transport::read_loop(transport* t, tcp::socket socket) {
  t->_inbound.insert(&socket);
  std::array<std::byte, frame_header_bytes> header{};
  std::vector<std::byte> body;
  for (;;) {
    error_code ec;
    co_await asio::async_read(socket, asio::buffer(header),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    std::uint32_t crc = 0;
    auto size = decode_frame_header(header, crc);
    if (!size) {
      spdlog::warn("raft: closing a peer connection: bad frame header: {}", size.error().message());
      t->_counters.frames_rejected.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    // The buffer grows as bytes arrive, at most doubling, so a lying size prefix costs
    // memory only for what the sender really sent.
    body.clear();
    while (!ec && body.size() < *size) {
      const std::size_t at = body.size();
      const std::size_t want = std::min<std::size_t>(*size - at, std::max(at, read_chunk_bytes));
      body.resize(at + want);
      co_await asio::async_read(socket, asio::buffer(body.data() + at, want),
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) break;
    auto decoded = decode_frame_body(body, crc);
    if (!decoded) {
      // A peer that sends garbage is broken or not a peer: drop the connection, it will
      // reconnect if it is real, and nothing it sent reaches a core.
      spdlog::warn("raft: closing a peer connection: bad frame: {}", decoded.error().message());
      t->_counters.frames_rejected.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    t->_counters.frames_received.fetch_add(1, std::memory_order_relaxed);
    if (t->_closed) break;
    t->_on_frame(std::move(*decoded));
  }
  t->_inbound.erase(&socket);
}

asio::awaitable<void> transport::write_loop(transport* t, peer* p) {
  error_code ec;
  const auto address = asio::ip::make_address(p->address.host, ec);
  if (ec) {
    spdlog::error("raft: peer {} has a bad address {}: {}", p->address.id, p->address.host,
                  ec.message());
    co_return;
  }
  const tcp::endpoint where(address, p->address.port);
  auto backoff = std::chrono::milliseconds(t->_config.reconnect_ms_min);
  const auto backoff_max = std::chrono::milliseconds(t->_config.reconnect_ms_max);
  std::vector<asio::const_buffer> buffers;
  while (!t->_closed) {
    p->socket = tcp::socket(t->_io);
    co_await p->socket.async_connect(where, asio::redirect_error(asio::use_awaitable, ec));
    if (t->_closed) break;
    if (ec) {
      p->backoff.expires_after(backoff);
      co_await p->backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff = std::min(backoff * 2, backoff_max);
      continue;
    }
    spdlog::info("raft: connected to peer {} at {}:{}", p->address.id, p->address.host,
                 p->address.port);
    p->socket.set_option(tcp::no_delay(true), ec);
    backoff = std::chrono::milliseconds(t->_config.reconnect_ms_min);
    p->connected = true;
    while (!t->_closed) {
      if (p->queue.empty()) {
        p->wake.expires_at(asio::steady_timer::time_point::max());
        co_await p->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      const std::size_t n = std::min(p->queue.size(), frames_per_write_max);
      buffers.clear();
      for (std::size_t i = 0; i < n; ++i)
        buffers.push_back(asio::buffer(p->queue[i]));
      co_await asio::async_write(p->socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      for (std::size_t i = 0; i < n; ++i) {
        p->queued_bytes -= p->queue.front().size();
        t->_counters.frames_sent.fetch_add(1, std::memory_order_relaxed);
        t->_counters.messages_sent.fetch_add(p->queue_messages.front(), std::memory_order_relaxed);
        p->queue.pop_front();
        p->queue_messages.pop_front();
      }
    }
    // The peer died or closed: what was queued for it is stale by the time it is back.
    p->connected = false;
    for (std::size_t count : p->queue_messages)
      t->_counters.messages_dropped.fetch_add(count, std::memory_order_relaxed);
    p->queue.clear();
    p->queue_messages.clear();
    p->queued_bytes = 0;
    error_code ignored;
    p->socket.close(ignored);
    if (!t->_closed) spdlog::info("raft: lost peer {}: {}", p->address.id, ec.message());
  }
}

}  // namespace caudal::raft::detail
