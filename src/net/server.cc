#include "net/server.h"

#include "base/assert.h"
#include "base/logging.h"
#include "net/connection.h"
#include "net/gate.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace caudal::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

/// One event loop: an io_context run by one thread.
struct event_loop {
  explicit event_loop(unsigned i) : index(i) {}
  const unsigned index;
  asio::io_context context{1};  // one thread runs it
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  detail::loop_connections connections;  // loop thread only
};

void run_loop(event_loop* loop) {
  try {
    loop->context.run();
  } catch (const std::exception& e) {
    // Handlers report errors as values; an exception here is a bug.
    CAUDAL_ASSERT(false, "event loop {} threw: {}", loop->index, e.what());
  }
}

/// The completion of a counted coroutine: logs an escaped exception, leaves the gate.
struct task_done {
  gate* tasks;
  void operator()(const std::exception_ptr& e) const {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("net: server task failed: {}", x.what());
      }
    }
    tasks->leave();
  }
};

}  // namespace

class server::impl {
 public:
  impl(server_config config, request_handler& handler)
      : _config(std::move(config)), _handler(handler) {}
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { stop(); }

  result<void> start();
  void stop();

  server_config _config;
  request_handler& _handler;
  std::vector<bound_endpoint> _bound;
  std::atomic<std::size_t> _open_count{0};

 private:
  enum class phase : std::uint8_t { created, running, stopped };

  static asio::awaitable<void> accept_loop(impl* s, std::size_t index);
  void start_connection(tcp::socket socket, std::size_t acceptor_index, event_loop& loop);
  result<void> bind(const endpoint& e);

  phase _phase = phase::created;
  gate _tasks;
  std::vector<std::unique_ptr<event_loop>> _loops;
  std::vector<std::unique_ptr<tcp::acceptor>> _acceptors;  // on loop 0
  std::size_t _next_loop = 0;                              // loop 0 only
  std::uint64_t _next_connection_id = 1;                   // loop 0 only
};

result<void> server::impl::bind(const endpoint& e) {
  auto& context = _loops.front()->context;
  error_code ec;
  tcp::resolver resolver(context);
  const std::string host = e.host.empty() ? std::string("0.0.0.0") : e.host;
  auto found = resolver.resolve(host, std::to_string(e.port),
                                tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return std::error_code(ec);
  if (found.empty()) return std::make_error_code(std::errc::address_not_available);
  const tcp::endpoint where = found.begin()->endpoint();

  auto acceptor = std::make_unique<tcp::acceptor>(context);
  acceptor->open(where.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  // "::" and "0.0.0.0" are separate listeners, as in Kafka.
  if (!ec && where.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(where, ec);
  if (!ec) acceptor->listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) return std::error_code(ec);
  const tcp::endpoint bound = acceptor->local_endpoint(ec);
  if (ec) return std::error_code(ec);
  _bound.push_back(bound_endpoint{e.name, bound.address().to_string(), bound.port()});
  _acceptors.push_back(std::move(acceptor));
  spdlog::info("net: listening on {}://{}:{}", e.name, _bound.back().host, _bound.back().port);
  return ok();
}

result<void> server::impl::start() {
  CAUDAL_ASSERT(_phase == phase::created, "server started twice");
  CAUDAL_ASSERT(_config.requests_in_flight_max > 0, "requests_in_flight_max must be > 0");
  CAUDAL_ASSERT(_config.request_bytes_max >= 0, "request_bytes_max {} < 0",
                _config.request_bytes_max);
  CAUDAL_ASSERT(_config.read_buffer_bytes >= 4, "read_buffer_bytes {} < 4",
                _config.read_buffer_bytes);
  CAUDAL_ASSERT(!_config.endpoints.empty(), "a server needs at least one endpoint");
  CAUDAL_ASSERT(_config.connection_idle_ms_max > 0, "connection_idle_ms_max {} <= 0",
                _config.connection_idle_ms_max);
  CAUDAL_ASSERT(_config.stop_drain_ms_max >= 0, "stop_drain_ms_max {} < 0",
                _config.stop_drain_ms_max);
  // sendfile(2) raises SIGPIPE on a socket the peer closed; Asio's own writes use
  // MSG_NOSIGNAL, sendfile has no such flag.
  std::signal(SIGPIPE, SIG_IGN);

  const unsigned loop_count = _config.loop_count != 0
                                  ? _config.loop_count
                                  : std::max(1U, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < loop_count; ++i)
    _loops.push_back(std::make_unique<event_loop>(i));
  for (const endpoint& e : _config.endpoints) {
    if (auto r = bind(e); !r) {
      spdlog::error("net: cannot listen on {}://{}:{}: {}", e.name, e.host, e.port,
                    r.error().message());
      _acceptors.clear();
      _bound.clear();
      _loops.clear();
      _phase = phase::stopped;
      return r.error();
    }
  }
  for (auto& loop : _loops) {
    loop->work.emplace(loop->context.get_executor());
    loop->thread = std::thread(run_loop, loop.get());
  }
  for (std::size_t i = 0; i < _acceptors.size(); ++i) {
    _tasks.enter();
    asio::co_spawn(_loops.front()->context, accept_loop(this, i), task_done{&_tasks});
  }
  _phase = phase::running;
  return ok();
}

asio::awaitable<void> server::impl::accept_loop(impl* s, std::size_t index) {
  tcp::acceptor& acceptor = *s->_acceptors[index];
  for (;;) {
    event_loop& target = *s->_loops[s->_next_loop];
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(
        target.context, asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory, or the peer gave up: back off a little rather
      // than spin on an error that persists.
      spdlog::warn("net: accept failed on {}: {}", s->_bound[index].port, ec.message());
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    s->_next_loop = (s->_next_loop + 1) % s->_loops.size();
    s->start_connection(std::move(socket), index, target);
  }
}

void server::impl::start_connection(tcp::socket socket, std::size_t acceptor_index,
                                    event_loop& loop) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // the peer is already gone
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) return;
  connection_info info;
  info.id = _next_connection_id++;
  info.listener_name = _config.endpoints[acceptor_index].name;
  info.remote_address = remote.address().to_string();
  info.remote_port = remote.port();
  info.local_address = local.address().to_string();
  info.local_port = local.port();
  info.loop_index = loop.index;
  const detail::connection_context context{&_config, &_handler, &_tasks, &_open_count};
  auto c = std::make_shared<detail::connection>(std::move(socket), std::move(info), context,
                                                loop.context, loop.connections);
  _tasks.enter();
  asio::co_spawn(loop.context, detail::connection::run(std::move(c)), task_done{&_tasks});
}

void server::impl::stop() {
  if (_phase != phase::running) {
    _phase = phase::stopped;
    return;
  }
  _phase = phase::stopped;
  asio::post(_loops.front()->context, [this] {
    for (auto& acceptor : _acceptors) {
      error_code ignored;
      acceptor->close(ignored);
    }
  });
  for (auto& loop : _loops) {
    asio::post(loop->context, [l = loop.get()] {
      l->connections.draining = true;
      // A copy: draining may close a connection, which erases it from the map.
      auto open = l->connections.open;
      for (auto& [id, weak] : open) {
        if (auto c = weak.lock()) c->begin_drain();
      }
    });
  }
  // Every connection closes within stop_drain_ms_max of its drain; the accept loops end
  // as soon as their acceptor closes.
  _tasks.wait();
  for (auto& loop : _loops)
    loop->work.reset();
  for (auto& loop : _loops)
    loop->thread.join();
  _acceptors.clear();
  CAUDAL_ASSERT(_open_count.load() == 0, "{} connections open after stop", _open_count.load());
}

server::server(server_config config, request_handler& handler)
    : _impl(std::make_unique<impl>(std::move(config), handler)) {}

server::~server() = default;

result<void> server::start() {
  return _impl->start();
}

const std::vector<bound_endpoint>& server::bound_endpoints() const {
  return _impl->_bound;
}

void server::stop() {
  _impl->stop();
}

std::size_t server::connection_count() const {
  return _impl->_open_count.load(std::memory_order_relaxed);
}

}  // namespace caudal::net
