#pragma once

// Configuration of the network layer, with Kafka's defaults. No Asio here.

#include "base/result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace caudal::net {

/// An address to listen on. `host` is an IPv4 or IPv6 literal (no brackets) or a name
/// to resolve at start(); empty means all IPv4 interfaces (Kafka's "PLAINTEXT://:9092").
/// Port 0 picks a free port; server::bound_endpoints() reports it.
struct endpoint {
  std::string name = "PLAINTEXT";  // the listener name, passed to handlers
  std::string host = "127.0.0.1";
  std::uint16_t port = 9092;
};

/// Parses "host:port", "[v6]:port" or "NAME://host:port" (Kafka's `listeners` entry:
/// "PLAINTEXT://127.0.0.1:9092", "INTERNAL://[::1]:0", "PLAINTEXT://:9092"). Returns
/// std::errc::invalid_argument for anything else.
[[nodiscard]] result<endpoint> parse_endpoint(std::string_view text);

/// Limits and sizes of a server. Every limit is enforced per connection.
struct server_config {
  std::vector<endpoint> endpoints = {endpoint{}};

  /// Event loop threads; 0 means std::thread::hardware_concurrency() (at least 1).
  unsigned loop_count = 0;

  /// Kafka's socket.request.max.bytes: a request frame claiming more (or a negative
  /// size) closes the connection before anything is allocated for it.
  std::int32_t request_bytes_max = 100 * 1024 * 1024;

  /// Requests read but not yet answered, per connection. At the bound the connection
  /// stops reading the socket until the oldest response is written (backpressure; TCP
  /// flow control then slows the client). 16 lets a client pipeline well (librdkafka
  /// defaults to max.in.flight 1000000 but its brokers answer at socket speed; the Java
  /// client defaults to 5) while bounding the memory one connection can pin to
  /// 16 x request_bytes_max in the worst case.
  std::size_t requests_in_flight_max = 16;

  /// Kafka's connections.max.idle.ms: a connection with no request in flight and no
  /// bytes read or written for this long is closed.
  std::int64_t connection_idle_ms_max = 600'000;

  /// How long stop() lets in-flight requests finish and their responses be written
  /// before closing their connections anyway.
  std::int64_t stop_drain_ms_max = 5'000;

  /// Size of each connection's read buffer, allocated for the connection's life: small
  /// requests are parsed out of it, so pipelined requests cost one read syscall for many
  /// frames; a larger frame is read straight into its own buffer. Kept small because
  /// every idle connection pays it (10,000 connections: 160 MiB).
  std::size_t read_buffer_bytes = 16 * 1024;
};

/// An endpoint as bound: `port` is the real port, also when 0 was asked for.
struct bound_endpoint {
  std::string name;
  std::string host;  // the bound address, textual
  std::uint16_t port = 0;
};

}  // namespace caudal::net
