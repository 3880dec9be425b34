// Goal: the network layer's contract over real loopback sockets: framing and its limits,
// pipelining with in-order responses whatever the completion order, the three ways to
// complete a slot, backpressure, idle timeout, sendfile, graceful stop, and responders
// that outlive their connection or the server. Method: a server on 127.0.0.1 port 0
// with a small test protocol (the first byte of a frame says what the handler does)
// and a blocking POSIX client with timeouts, so that no test can hang.

#include "net/request_handler.h"
#include "net/server.h"
#include "net/server_config.h"
#include "net/shutdown_signal.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

// The largest single allocation through operator new since the last reset: shows that a
// lying length prefix allocates nothing near its claim.
namespace {
std::atomic<std::size_t> largest_allocation{0};
}

[[gnu::noinline]] void* operator new(std::size_t size) {
  std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  return operator new(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t /*size*/) noexcept {
  std::free(p);
}

namespace caudal::net {
namespace {

using namespace std::chrono_literals;

std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string to_string(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string be32(std::uint32_t v) {
  const std::uint32_t n = htonl(v);
  return {reinterpret_cast<const char*>(&n), 4};
}

/// `prefix` followed by `n` in decimal. (Not "d" + std::to_string(n): GCC 12 warns
/// falsely about that at -O3, bug 105651.)
std::string label(std::string_view prefix, long n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

std::string frame(std::string_view payload) {
  return be32(static_cast<std::uint32_t>(payload.size())) + std::string(payload);
}

/// The test protocol, by the frame's first byte:
///   'e' echo the frame            'n' send_nothing      'c' close
///   'x' drop the responder        'd' park it: the test completes it later
///   'f' a response with an owned chunk, a file range and another owned chunk
class test_handler final : public request_handler {
 public:
  struct parked {
    std::string frame;
    responder r;
  };

  void handle(const connection_info& info, std::vector<std::byte> frame, responder r) override {
    handled.fetch_add(1);
    {
      std::lock_guard lock(mutex);
      loops.insert(info.loop_index);
    }
    const char kind = frame.empty() ? 'e' : static_cast<char>(frame[0]);
    switch (kind) {
      case 'n':
        r.send_nothing();
        break;
      case 'c':
        r.close();
        break;
      case 'x':
        break;
      case 'd': {
        std::lock_guard lock(mutex);
        waiting.push_back(parked{to_string(frame), std::move(r)});
        parked_max = std::max(parked_max, waiting.size());
        changed.notify_all();
        break;
      }
      case 'f': {
        response body(to_bytes("F"));
        body.append(file_range{file_fd, file_offset, file_length, nullptr});
        body.append(to_bytes("T"));
        r.send(std::move(body));
        break;
      }
      default:
        r.send(response(std::move(frame)));
    }
  }

  void connection_closed(const connection_info& /*info*/) override {
    closed.fetch_add(1);
    std::lock_guard lock(mutex);
    changed.notify_all();
  }

  /// Waits until `n` requests are parked; true if they are.
  bool wait_parked(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return waiting.size() >= n; });
  }
  bool wait_closed(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return closed.load() >= n; });
  }
  std::vector<parked> take() {
    std::lock_guard lock(mutex);
    return std::exchange(waiting, {});
  }

  std::atomic<int> handled{0};
  std::atomic<int> closed{0};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<parked> waiting;
  std::size_t parked_max = 0;
  std::set<unsigned> loops;
  int file_fd = -1;
  std::uint64_t file_offset = 0;
  std::uint32_t file_length = 0;
};

/// A blocking client socket whose reads give up after a timeout.
class client {
 public:
  explicit client(std::uint16_t port, bool v6 = false, int receive_buffer_bytes = 0) {
    _fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(_fd, 0);
    if (receive_buffer_bytes > 0) {
      ::setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(int));
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = -1;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      a.sin6_addr = in6addr_loopback;
      rc = ::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    EXPECT_EQ(rc, 0) << std::strerror(errno);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client() { close(); }

  void close() {
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
  }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << std::strerror(errno);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void shutdown_write() { ::shutdown(_fd, SHUT_WR); }

  /// Reads exactly `n` bytes; nullopt on EOF, error or timeout.
  std::optional<std::string> read_exact(std::size_t n, int timeout_ms = 5000) {
    std::string out(n, '\0');
    std::size_t have = 0;
    while (have < n) {
      pollfd p{_fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      const ssize_t got = ::recv(_fd, out.data() + have, n - have, 0);
      if (got <= 0) return std::nullopt;
      have += static_cast<std::size_t>(got);
    }
    return out;
  }
  /// Reads one frame's payload; nullopt on EOF, error or timeout.
  std::optional<std::string> read_frame(int timeout_ms = 5000) {
    auto prefix = read_exact(4, timeout_ms);
    if (!prefix) return std::nullopt;
    std::uint32_t size = 0;
    std::memcpy(&size, prefix->data(), 4);
    return read_exact(ntohl(size), timeout_ms);
  }
  /// True if the server closed the connection (EOF or reset) within the timeout, with
  /// no bytes before it.
  bool closed_by_peer(int timeout_ms = 5000) {
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char c = 0;
    return ::recv(_fd, &c, 1, 0) <= 0;
  }
  /// True if nothing arrives within `ms`.
  bool quiet_for(int ms) {
    pollfd p{_fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 0;
  }

 private:
  int _fd = -1;
};

server_config small_config() {
  server_config config;
  config.endpoints = {endpoint{"PLAINTEXT", "127.0.0.1", 0}};
  config.loop_count = 2;
  config.stop_drain_ms_max = 2'000;
  return config;
}

class net_test : public ::testing::Test {
 protected:
  void start(server_config config = small_config()) {
    _server = std::make_unique<server>(std::move(config), handler);
    auto started = _server->start();
    ASSERT_TRUE(started.has_value());
    port = _server->bound_endpoints().at(0).port;
    ASSERT_NE(port, 0);
  }
  void TearDown() override {
    if (_server) _server->stop();
    // Responders parked by a test outlive the server harmlessly.
    handler.take();
  }

  test_handler handler;
  std::unique_ptr<server> _server;
  std::uint16_t port = 0;
};

TEST_F(net_test, echoes_small_and_large_frames) {
  start();
  client c(port);
  c.send(frame("ehello"));
  EXPECT_EQ(c.read_frame(), "ehello");
  c.send(frame(""));  // an empty frame is a valid frame
  EXPECT_EQ(c.read_frame(), "");
  std::string big(1 << 20, 'x');
  big[0] = 'e';
  for (std::size_t i = 1; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  std::thread sender([&] { c.send(frame(big)); });
  const auto back = c.read_frame();
  sender.join();
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == big);
}

TEST_F(net_test, pipelined_requests_are_answered_in_order_whatever_the_completion_order) {
  auto config = small_config();
  config.requests_in_flight_max = 128;
  start(config);
  client c(port);
  constexpr int count = 100;
  std::string burst;
  for (int i = 0; i < count; ++i)
    burst += frame(label("d", i));
  c.send(burst);
  ASSERT_TRUE(handler.wait_parked(count));
  auto parked = handler.take();
  // Completed from another thread, newest first: the writer must hold them back.
  std::thread completer([&parked] {
    for (auto it = parked.rbegin(); it != parked.rend(); ++it) {
      it->r.send(response(to_bytes(it->frame)));
    }
  });
  completer.join();
  for (int i = 0; i < count; ++i)
    EXPECT_EQ(c.read_frame(), label("d", i));
}

TEST_F(net_test, send_nothing_slots_are_skipped) {
  start();
  client c(port);
  c.send(frame("e1") + frame("n") + frame("e2") + frame("n") + frame("n") + frame("e3"));
  EXPECT_EQ(c.read_frame(), "e1");
  EXPECT_EQ(c.read_frame(), "e2");
  EXPECT_EQ(c.read_frame(), "e3");
  c.send(frame("e4"));
  EXPECT_EQ(c.read_frame(), "e4");
}

TEST_F(net_test, close_writes_earlier_responses_then_closes) {
  start();
  client c(port);
  c.send(frame("e1") + frame("c") + frame("e2"));
  EXPECT_EQ(c.read_frame(), "e1");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(handler.wait_closed(1));
}

TEST_F(net_test, a_dropped_responder_closes_the_connection) {
  start();
  client c(port);
  c.send(frame("e1") + frame("x"));
  EXPECT_EQ(c.read_frame(), "e1");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(net_test, frames_over_the_size_limit_close_the_connection) {
  auto config = small_config();
  config.request_bytes_max = 1024;
  start(config);
  {
    client c(port);
    c.send(frame(std::string(1024, 'e')));  // exactly at the limit: fine
    EXPECT_EQ(c.read_frame()->size(), 1024U);
    c.send(be32(1025) + "e");
    EXPECT_TRUE(c.closed_by_peer());
  }
  for (std::uint32_t lie : {0x80000000U, 0xFFFFFFFFU, 0x7FFFFFFFU}) {
    client c(port);
    c.send(be32(lie) + "ehello");
    EXPECT_TRUE(c.closed_by_peer()) << lie;
  }
  EXPECT_EQ(handler.handled.load(), 1);
  client after(port);  // the server still serves
  after.send(frame("eok"));
  EXPECT_EQ(after.read_frame(), "eok");
}

TEST_F(net_test, a_lying_length_prefix_allocates_only_what_arrives) {
  auto config = small_config();
  config.request_bytes_max = 0x7FFFFFFF;  // no limit: the 2 GiB claim is "allowed"
  start(config);
  client c(port);
  largest_allocation.store(0);
  c.send(be32(0x7FFFFFFF) + std::string(100'000, 'e'));
  // The server keeps waiting for the rest; give it time to read what was sent.
  EXPECT_TRUE(c.quiet_for(300));
  EXPECT_LT(largest_allocation.load(), std::size_t{1} << 20);
  EXPECT_EQ(handler.handled.load(), 0);
  c.shutdown_write();  // truncated at EOF: just closed
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(net_test, a_truncated_frame_at_eof_closes_without_a_request) {
  start();
  client c(port);
  c.send(frame("e1") + be32(100) + "eabc");
  EXPECT_EQ(c.read_frame(), "e1");
  c.shutdown_write();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(handler.handled.load(), 1);
}

TEST_F(net_test, eof_closes_at_once_even_with_requests_in_flight) {
  start();
  client c(port);
  c.send(frame("d1"));
  ASSERT_TRUE(handler.wait_parked(1));
  c.shutdown_write();  // as Kafka: EOF means the client is gone
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(handler.wait_closed(1));
  handler.take()[0].r.send(response(to_bytes("late")));  // a no-op now
}

TEST_F(net_test, idle_connections_are_closed_but_not_while_a_request_is_in_flight) {
  auto config = small_config();
  config.connection_idle_ms_max = 200;
  start(config);
  client idle(port);
  client busy(port);
  busy.send(frame("d1"));
  ASSERT_TRUE(handler.wait_parked(1));
  EXPECT_TRUE(idle.closed_by_peer(3000));
  // Twice the idle time with a request in flight: still open.
  EXPECT_TRUE(busy.quiet_for(400));
  handler.take()[0].r.send(response(to_bytes("done")));
  EXPECT_EQ(busy.read_frame(), "done");
  EXPECT_TRUE(busy.closed_by_peer(3000));  // idle again, so closed
}

TEST_F(net_test, the_in_flight_bound_applies_backpressure) {
  auto config = small_config();
  config.requests_in_flight_max = 4;
  start(config);
  client c(port);
  constexpr int count = 10;
  std::string burst;
  for (int i = 0; i < count; ++i)
    burst += frame(label("d", i));
  c.send(burst);
  ASSERT_TRUE(handler.wait_parked(4));
  EXPECT_TRUE(c.quiet_for(200));
  EXPECT_EQ(handler.handled.load(), 4);  // reading stopped at the bound
  int answered = 0;
  while (answered < count) {
    ASSERT_TRUE(handler.wait_parked(1));
    auto parked = handler.take();
    for (auto it = parked.rbegin(); it != parked.rend(); ++it) {
      it->r.send(response(to_bytes(it->frame)));
    }
    for (std::size_t i = 0; i < parked.size(); ++i) {
      EXPECT_EQ(c.read_frame(), label("d", answered++));
    }
  }
  EXPECT_EQ(handler.handled.load(), count);
  std::lock_guard lock(handler.mutex);
  EXPECT_LE(handler.parked_max, 4U);
}

TEST_F(net_test, file_ranges_are_sent_byte_exact) {
  char path[] = "/tmp/caudal_net_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  std::string content(12 << 20, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) {
    content[i] = static_cast<char>((i * 2654435761U) >> 13);
  }
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  handler.file_fd = fd;
  handler.file_offset = 1000;
  handler.file_length = 10 << 20;  // more than the socket buffers hold
  start();
  // A small receive window and a late reader make sendfile hit EAGAIN and send in parts.
  client c(port, false, 64 * 1024);
  c.send(frame("f"));
  std::this_thread::sleep_for(200ms);
  const auto back = c.read_frame();
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 2 + handler.file_length);
  EXPECT_EQ(back->front(), 'F');
  EXPECT_EQ(back->back(), 'T');
  EXPECT_TRUE(back->compare(1, handler.file_length, content, 1000, handler.file_length) == 0);
  c.send(frame("eafter"));  // the stream is still in sync
  EXPECT_EQ(c.read_frame(), "eafter");
  _server->stop();
  ::close(fd);
}

TEST_F(net_test, a_file_range_past_the_end_of_its_file_closes_the_connection) {
  char path[] = "/tmp/caudal_net_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  const std::string content(100, 'z');
  ASSERT_EQ(::write(fd, content.data(), content.size()), 100);
  handler.file_fd = fd;
  handler.file_offset = 50;
  handler.file_length = 100;  // 50 bytes short: the frame cannot be completed
  start();
  client c(port);
  c.send(frame("f"));
  EXPECT_FALSE(c.read_frame().has_value());
  EXPECT_TRUE(handler.wait_closed(1));
  client next(port);
  next.send(frame("eok"));
  EXPECT_EQ(next.read_frame(), "eok");
  _server->stop();
  ::close(fd);
}

TEST_F(net_test, stop_waits_for_in_flight_responses) {
  start();
  client c(port);
  c.send(frame("d-slow"));
  ASSERT_TRUE(handler.wait_parked(1));
  auto parked = handler.take();
  std::thread late([&parked, &c] {
    std::this_thread::sleep_for(100ms);
    c.send(frame("enew"));  // stop() is draining: not read any more
    std::this_thread::sleep_for(100ms);
    parked[0].r.send(response(to_bytes("slow answer")));
  });
  _server->stop();  // returns only after the response is written
  late.join();
  EXPECT_EQ(handler.handled.load(), 1);
  EXPECT_EQ(c.read_frame(), "slow answer");
  EXPECT_TRUE(c.closed_by_peer());
  // No longer accepting.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
}

TEST_F(net_test, stop_gives_up_after_the_drain_time) {
  auto config = small_config();
  config.stop_drain_ms_max = 200;
  start(config);
  client c(port);
  c.send(frame("d-never"));
  ASSERT_TRUE(handler.wait_parked(1));
  _server->stop();
  EXPECT_TRUE(c.closed_by_peer());
  // The server is gone; completing its responder is a no-op.
  _server.reset();
  handler.take()[0].r.send(response(to_bytes("too late")));
}

TEST_F(net_test, completing_after_the_connection_closed_is_harmless) {
  start();
  {
    client c(port);
    c.send(frame("d1") + frame("d2"));
    ASSERT_TRUE(handler.wait_parked(2));
  }
  ASSERT_TRUE(handler.wait_closed(1));
  auto parked = handler.take();
  std::thread([&parked] {
    parked[1].r.send(response(to_bytes("x")));
    parked[0].r.close();
  }).join();
  client next(port);
  next.send(frame("estill"));
  EXPECT_EQ(next.read_frame(), "estill");
}

TEST_F(net_test, many_connections_with_completions_from_many_threads_stay_in_order) {
  auto config = small_config();
  config.requests_in_flight_max = 8;  // small, so that backpressure is exercised too
  start(config);
  constexpr int connections = 6;
  constexpr int requests = 300;
  std::atomic<bool> done{false};
  std::vector<std::thread> completers;
  for (int t = 0; t < 3; ++t) {
    completers.emplace_back([this, &done, t] {
      std::mt19937 shuffle(static_cast<unsigned>(t));  // fixed seed: reproducible
      while (!done.load()) {
        if (!handler.wait_parked(1, 20ms)) continue;
        auto parked = handler.take();
        std::shuffle(parked.begin(), parked.end(), shuffle);
        for (auto& p : parked) {
          if (p.frame[1] == 'n') {
            p.r.send_nothing();
          } else {
            p.r.send(response(to_bytes(p.frame)));
          }
        }
      }
    });
  }
  std::vector<std::thread> clients;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < connections; ++i) {
    clients.emplace_back([this, &mismatches, i] {
      client c(port);
      std::string burst;
      for (int r = 0; r < requests; ++r) {
        // Every fifth request is acks=0-like and gets no response.
        burst += frame(label(r % 5 == 0 ? "dn" : "de", i) + label(".", r));
      }
      std::thread sender([&c, &burst] { c.send(burst); });
      for (int r = 0; r < requests; ++r) {
        if (r % 5 == 0) continue;
        if (c.read_frame() != label("de", i) + label(".", r)) ++mismatches;
      }
      sender.join();
    });
  }
  for (auto& t : clients)
    t.join();
  done.store(true);
  for (auto& t : completers)
    t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(handler.handled.load(), connections * requests);
}

TEST_F(net_test, listens_on_several_endpoints_and_spreads_over_loops) {
  auto config = small_config();
  config.endpoints = {endpoint{"A", "127.0.0.1", 0}, endpoint{"B", "::1", 0}};
  start(config);
  ASSERT_EQ(_server->bound_endpoints().size(), 2U);
  EXPECT_EQ(_server->bound_endpoints()[1].host, "::1");
  const std::uint16_t v6_port = _server->bound_endpoints()[1].port;
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<client>(i % 2 == 0 ? port : v6_port, i % 2 == 1));
    clients.back()->send(frame(label("e", i)));
    EXPECT_EQ(clients.back()->read_frame(), label("e", i));
  }
  EXPECT_EQ(_server->connection_count(), 4U);
  std::lock_guard lock(handler.mutex);
  EXPECT_EQ(handler.loops, (std::set<unsigned>{0, 1}));
}

TEST_F(net_test, start_reports_a_port_in_use) {
  start();
  auto config = small_config();
  config.endpoints = {endpoint{"PLAINTEXT", "127.0.0.1", port}};
  server second(config, handler);
  const auto r = second.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), std::errc::address_in_use);
}

TEST(parse_endpoint, accepts_kafka_listener_forms) {
  auto a = parse_endpoint("PLAINTEXT://127.0.0.1:9092");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->name, "PLAINTEXT");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9092);
  auto b = parse_endpoint("[::1]:0");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = parse_endpoint("INTERNAL://:19092");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "INTERNAL");
  EXPECT_EQ(c->host, "");
  for (const char* bad : {"", "127.0.0.1", "::1:9092", "[::1]", "[::1]9092", "h:", "h:65536",
                          "h:9x", "://h:1", "[]:1"}) {
    EXPECT_FALSE(parse_endpoint(bad).has_value()) << bad;
  }
}

TEST(shutdown_signal, returns_a_signal_caught_before_wait) {
  shutdown_signal_waiter waiter;
  ASSERT_EQ(std::raise(SIGTERM), 0);  // caught by the waiter, not fatal
  EXPECT_EQ(waiter.wait(), SIGTERM);
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(waiter.wait(), SIGINT);
}

}  // namespace
}  // namespace caudal::net
