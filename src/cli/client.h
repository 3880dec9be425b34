#pragma once

// A small synchronous Kafka client: the CLI's only way to talk to brokers. It bootstraps
// from --brokers, negotiates each API's version with ApiVersions (the highest both sides
// support), learns the other brokers from Metadata and sends one request at a time with
// increasing correlation ids. It speaks the wire protocol only, so it works against any
// Kafka-compatible broker.
//
//     client c(parse_broker_list("127.0.0.1:9092"));
//     auto md = c.metadata(std::vector<std::string>{"orders"}, auto_create::no);
//     const auto node = md.topics[0].partitions[0].leader_id;
//     const auto v = c.version(node, protocol::api_key::list_offsets, 1);
//     auto resp = c.call<protocol::list_offsets_response>(node, request, v);
//
// Failures (a broker down, a malformed answer, no common version) throw cli::error with a
// message fit for the user. Kafka error codes inside responses are the caller's to check.

#include "cli/connection.h"
#include "protocol/codec.h"
#include "protocol/generated/api_table.h"
#include "protocol/generated/metadata.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caudal::cli {

/// A broker's node id as Metadata names it; the bootstrap brokers, before Metadata has
/// named them, get -1, -2, ... as Kafka's clients do.
using node_id = std::int32_t;

/// Whether a Metadata request may create the topics it names (auto.create.topics.enable).
enum class auto_create { no, yes };

/// Limits and names of a client.
struct client_options {
  std::string client_id = "caudal-cli";
  std::int64_t connect_timeout_ms = 10'000;
  /// How long a broker may take to answer, on top of any wait the request asks for.
  std::int64_t request_timeout_ms = 30'000;
  /// The largest response frame accepted.
  std::size_t response_bytes_max = 256 * 1024 * 1024;
};

/// "NAME: message" for a Kafka error code: "TOPIC_ALREADY_EXISTS: Topic 'a' already exists."
/// The message is left out when null or empty.
[[nodiscard]] std::string kafka_error_text(std::int16_t code,
                                           const std::optional<std::string>& message = {});

/// The synchronous client. Connections open on first use and stay open until destruction.
/// Not thread-safe.
class client {
 public:
  explicit client(std::vector<broker_address> bootstrap, client_options options = {});
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client();

  /// A broker that answers: the first bootstrap broker that accepts a connection (or any
  /// connected broker). Throws cli::error listing why each bootstrap broker failed.
  [[nodiscard]] node_id any_node();

  /// The cluster's controller if a Metadata answer named one, else any_node().
  [[nodiscard]] node_id controller_node();

  /// Metadata for `topics` (nullopt: every topic) from any broker; records the brokers'
  /// addresses and the controller for later calls.
  [[nodiscard]] protocol::metadata_response metadata(
      const std::optional<std::vector<std::string>>& topics, auto_create create);

  /// Records the address of broker `node` (a coordinator FindCoordinator named) unless one
  /// is known already.
  void add_broker(node_id node, const broker_address& address);

  /// The highest version of `api` that this client and broker `node` both support, and at
  /// least `version_min`. Throws cli::error when there is none.
  [[nodiscard]] std::int16_t version(node_id node, protocol::api_key api,
                                     std::int16_t version_min = 0);

  /// Whether broker `node` serves `api` at `version_min` or above.
  [[nodiscard]] bool supports(node_id node, protocol::api_key api, std::int16_t version_min = 0);

  /// A decoded response with the frame it came from: its record_set fields view the frame,
  /// so the two live together. Moving keeps the views valid (a moved vector keeps its buffer).
  template <class Response>
  struct framed {
    std::vector<std::byte> frame;
    Response body;
  };

  /// Sends `request` at `version` to `node` and decodes the answer, keeping its frame (for
  /// responses with records: Fetch). `wait_ms` is time the broker may hold the request on
  /// purpose (a long-polling Fetch), added to the timeout.
  template <class Response, class Request>
  [[nodiscard]] framed<Response> call_framed(node_id node, const Request& request,
                                             std::int16_t version, std::int64_t wait_ms = 0) {
    protocol::writer body;
    request.encode(body, version);
    auto f = exchange(node, Request::api, version, body, wait_ms, expect::answer);
    framed<Response> out;
    out.frame = std::move(f.bytes);
    protocol::reader r(std::span<const std::byte>(out.frame).subspan(f.body_position));
    if (!out.body.decode(r, version)) malformed(node, Request::api, version);
    return out;
  }

  /// Like call_framed for responses without records, which own all their fields.
  template <class Response, class Request>
  [[nodiscard]] Response call(node_id node, const Request& request, std::int16_t version) {
    return std::move(call_framed<Response>(node, request, version).body);
  }

  /// Sends `request` without waiting for an answer (Produce with acks=0).
  template <class Request>
  void send_only(node_id node, const Request& request, std::int16_t version) {
    protocol::writer body;
    request.encode(body, version);
    ignore_frame(exchange(node, Request::api, version, body, 0, expect::nothing));
  }

 private:
  enum class expect { answer, nothing };
  struct response_frame {
    std::vector<std::byte> bytes;
    std::size_t body_position = 0;
  };
  struct peer;

  /// The connected peer for `node`, connecting and negotiating versions first if needed.
  peer& connected(node_id node);
  void negotiate(node_id node, peer& p);
  [[nodiscard]] response_frame exchange(node_id node, protocol::api_key api, std::int16_t version,
                                        const protocol::writer& body, std::int64_t wait_ms,
                                        expect e);
  static void ignore_frame(const response_frame& /*unused*/) {}
  [[noreturn]] void malformed(node_id node, protocol::api_key api, std::int16_t version) const;
  [[nodiscard]] std::string describe(node_id node) const;

  std::vector<broker_address> _bootstrap;
  client_options _options;
  std::map<node_id, std::unique_ptr<peer>> _peers;
  std::optional<node_id> _controller;
};

}  // namespace caudal::cli
