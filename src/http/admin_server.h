#pragma once

// The HTTP admin listener: Prometheus metrics and a few JSON views of the broker, for
// operators and tests. No Boost here: Beast and Asio stay in admin_server.cc.
//
// Endpoints (GET only; anything else is 404, or 405 for another method):
//   /metrics           every metric of metrics::global() in the Prometheus text format,
//                      plus gauges read at scrape time (see admin_server.cc)
//   /v1/status/ready   200 {"ready":true}
//   /v1/brokers        [{"node_id", "cluster_id", "listeners":[{"name","host","port"}]}]
//   /v1/topics         [{"name","id","internal","partitions":[{"partition","log_start_offset",
//                      "log_end_offset","high_watermark","size_bytes","segment_count"}]}]
//   /v1/groups         [{"group_id","protocol_type","state","offsets":[{"topic","partition",
//                      "committed","high_watermark","lag"}]}]

#include "base/result.h"
#include "broker/request_context.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace caudal::http {

/// Where the admin listener listens.
struct admin_address {
  std::string host;
  std::uint16_t port = 0;  // 0: any free port
};

/// Parses the admin.listener value "host:port" ("[v6]:port" for IPv6). nullopt for an
/// empty value (the listener is disabled); the error message when malformed.
[[nodiscard]] std::variant<std::optional<admin_address>, std::string> parse_admin_address(
    std::string_view value);

/// What the admin server reads. All references must outlive the server.
struct admin_sources {
  broker::broker_services& services;
  /// Open client connections (the network layer's count; http/ may not include net/).
  std::function<std::size_t()> connection_count;
};

/// The admin HTTP server: one thread, one request at a time per connection, a few
/// connections at once (Asio's async accept/read/write on that thread).
///
/// Lifecycle: construct, start() once, stop() (or destroy) once. While started it adds a
/// collector to metrics::global() for the scrape-time gauges; stop() removes it.
/// Thread safety: start() and stop() from one thread; the handlers run on the server's
/// thread and only read thread-safe broker state.
class admin_server {
 public:
  admin_server(admin_address address, admin_sources sources);
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  /// Stops the server if it is running.
  ~admin_server();

  /// Binds and starts serving. Errors: the bind or listen error (address in use, ...).
  [[nodiscard]] result<void> start();
  /// Closes the listener and every connection and joins the thread. Idempotent.
  void stop();
  /// The address actually bound (the port chosen when 0 was asked). Requires: started.
  [[nodiscard]] const admin_address& bound() const;

 private:
  struct impl;
  std::unique_ptr<impl> _impl;
};

}  // namespace caudal::http
