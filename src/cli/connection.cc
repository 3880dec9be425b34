#include "cli/connection.h"

#include "base/clock.h"
#include "cli/error.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace caudal::cli {
namespace {

constexpr std::int32_t default_port = 9092;

std::int64_t now_ns() {
  return system_clock().steady_ns();
}

// Milliseconds left until `deadline_ns`, for poll(): at least 0, at most INT_MAX.
int poll_ms_left(std::int64_t deadline_ns) {
  const std::int64_t left = (deadline_ns - now_ns() + 999'999) / 1'000'000;
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 1'000'000'000));
}

// Waits until `fd` has `events` or the deadline passes; false on timeout.
bool wait_for(int fd, short events, std::int64_t deadline_ns) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, poll_ms_left(deadline_ns));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// One attempt at one resolved address; returns the fd or -1 with `err` set.
int connect_one(const addrinfo& ai, std::int64_t deadline_ns, int& err) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      err = errno;
      ::close(fd);
      return -1;
    }
    if (!wait_for(fd, POLLOUT, deadline_ns)) {
      err = ETIMEDOUT;
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      err = so_error;
      ::close(fd);
      return -1;
    }
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

std::string broker_address::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::vector<broker_address> parse_broker_list(const std::string& list) {
  std::vector<broker_address> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string entry = list.substr(start, comma - start);
    start = comma + 1;
    // Trim blanks so "a:1, b:2" works.
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    if (entry.empty()) {
      if (comma == list.size()) break;
      continue;
    }
    broker_address a;
    std::string port_text;
    if (entry.front() == '[') {  // [v6]:port
      const auto close = entry.find(']');
      if (close == std::string::npos) usage_error("bad broker address '" + entry + "'");
      a.host = entry.substr(1, close - 1);
      if (close + 1 < entry.size()) {
        if (entry[close + 1] != ':') usage_error("bad broker address '" + entry + "'");
        port_text = entry.substr(close + 2);
      }
    } else {
      const auto colon = entry.rfind(':');
      if (colon != std::string::npos && entry.find(':') != colon) {
        a.host = entry;  // a bare IPv6 address
      } else if (colon != std::string::npos) {
        a.host = entry.substr(0, colon);
        port_text = entry.substr(colon + 1);
      } else {
        a.host = entry;
      }
    }
    a.port = default_port;
    if (!port_text.empty() || (entry.back() == ':')) {
      char* end = nullptr;
      errno = 0;
      const long p = std::strtol(port_text.c_str(), &end, 10);
      if (port_text.empty() || *end != '\0' || errno != 0 || p < 1 || p > 65535) {
        usage_error("bad port in broker address '" + entry + "'");
      }
      a.port = static_cast<std::int32_t>(p);
    }
    if (a.host.empty()) usage_error("bad broker address '" + entry + "'");
    out.push_back(std::move(a));
    if (comma == list.size()) break;
  }
  if (out.empty()) usage_error("no broker address given (--brokers host:port,...)");
  return out;
}

connection::connection(const broker_address& address, std::int64_t timeout_ms) : _address(address) {
  const std::int64_t deadline_ns = now_ns() + timeout_ms * 1'000'000;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  const int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    throw error("cannot connect to " + address.to_string() + ": " + ::gai_strerror(rc));
  }
  int err = 0;
  for (const addrinfo* ai = found; ai != nullptr && _fd < 0; ai = ai->ai_next) {
    _fd = connect_one(*ai, deadline_ns, err);
  }
  ::freeaddrinfo(found);
  if (_fd < 0) throw error("cannot connect to " + address.to_string() + ": " + errno_text(err));
}

connection::~connection() {
  if (_fd >= 0) ::close(_fd);
}

void connection::send(std::span<const std::byte> frame, std::int64_t timeout_ms) {
  const std::int64_t deadline_ns = now_ns() + timeout_ms * 1'000'000;
  while (!frame.empty()) {
    const ssize_t n = ::send(_fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    if (n > 0) {
      frame = frame.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(_fd, POLLOUT, deadline_ns)) {
        throw error("timed out sending to " + _address.to_string());
      }
      continue;
    }
    throw error("lost the connection to " + _address.to_string() + ": " + errno_text(errno));
  }
}

void connection::read_exact(std::span<std::byte> out, std::int64_t deadline_ns) {
  while (!out.empty()) {
    const ssize_t n = ::recv(_fd, out.data(), out.size(), 0);
    if (n > 0) {
      out = out.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) throw error("the broker at " + _address.to_string() + " closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(_fd, POLLIN, deadline_ns)) {
        throw error("timed out waiting for " + _address.to_string() + " to answer");
      }
      continue;
    }
    throw error("lost the connection to " + _address.to_string() + ": " + errno_text(errno));
  }
}

std::vector<std::byte> connection::receive(std::int64_t timeout_ms, std::size_t frame_bytes_max) {
  const std::int64_t deadline_ns = now_ns() + timeout_ms * 1'000'000;
  std::byte prefix[4];
  read_exact(prefix, deadline_ns);
  const std::uint32_t size = (std::to_integer<std::uint32_t>(prefix[0]) << 24) |
                             (std::to_integer<std::uint32_t>(prefix[1]) << 16) |
                             (std::to_integer<std::uint32_t>(prefix[2]) << 8) |
                             std::to_integer<std::uint32_t>(prefix[3]);
  if (size > frame_bytes_max) {
    throw error("the broker at " + _address.to_string() + " sent a frame of " +
                std::to_string(size) + " bytes, more than the limit of " +
                std::to_string(frame_bytes_max));
  }
  std::vector<std::byte> frame(size);
  read_exact(frame, deadline_ns);
  return frame;
}

}  // namespace caudal::cli
