#pragma once

// One blocking TCP connection to a Kafka broker that moves size-prefixed frames
// (../shared/kafka-protocol/README.md 3.1). Plain POSIX sockets with poll() for timeouts:
// the CLI sends one request at a time and waits for its answer, so no event loop is needed.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace caudal::cli {

/// A host and port as given in --brokers or advertised in Metadata.
struct broker_address {
  std::string host;
  std::int32_t port = 0;

  /// "host:port" (IPv6 hosts in brackets).
  [[nodiscard]] std::string to_string() const;
  bool operator==(const broker_address&) const = default;
};

/// Parses a comma-separated list of host:port ("127.0.0.1:9092,[::1]:9093"). A missing port
/// means 9092. Throws a usage error naming the bad entry; an empty list is an error too.
[[nodiscard]] std::vector<broker_address> parse_broker_list(const std::string& list);

/// A connected socket. Not copyable; closed by the destructor. Not thread-safe.
class connection {
 public:
  /// Connects within `timeout_ms`, trying every address the host resolves to. Throws
  /// cli::error "cannot connect to HOST:PORT: REASON" (e.g. "Connection refused").
  connection(const broker_address& address, std::int64_t timeout_ms);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  [[nodiscard]] const broker_address& address() const noexcept { return _address; }

  /// Sends `frame` (size prefix included) completely within `timeout_ms`. Throws cli::error
  /// naming the broker when the peer is gone or the time runs out.
  void send(std::span<const std::byte> frame, std::int64_t timeout_ms);

  /// Receives one frame and returns it without its size prefix. Throws cli::error on a
  /// closed connection, a timeout or a frame over `frame_bytes_max`.
  [[nodiscard]] std::vector<std::byte> receive(std::int64_t timeout_ms,
                                               std::size_t frame_bytes_max);

 private:
  /// Fills `out` completely or throws; `deadline_ns` is on system_clock().steady_ns().
  void read_exact(std::span<std::byte> out, std::int64_t deadline_ns);

  broker_address _address;
  int _fd = -1;
};

}  // namespace caudal::cli
