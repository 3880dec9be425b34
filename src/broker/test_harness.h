#pragma once

// A harness for testing broker handlers without sockets: a whole single-node broker (temp
// data directory, broker_config, metadata_store, partition_manager, fetch_purgatory, flush
// pools, broker_services and the `broker` request handler) driven through the same entry
// point the network layer uses, broker::handle(), with a fake completion sink standing in
// for the connection. Requests are encoded and responses decoded with the generated codecs,
// so a test exercises the real wire format, headers included. Test-only, header-only.
//
// Typical use:
//
//     caudal::broker::testing::broker_harness h({{"num.partitions", "3"}});
//     protocol::create_topics_request req;
//     req.topics.push_back({.name = "orders", .num_partitions = -1, .replication_factor = -1});
//     auto resp = h.call(7, req);  // protocol::create_topics_response, decoded at v7
//     EXPECT_EQ(resp.topics[0].error_code, 0);
//
// call(version, request) picks the response type from the request type, writes request
// header v1 or v2 as the API's version requires, hands the frame to broker::handle() as
// request slot n of one fake connection, waits (bounded) for the slot's completion, joins
// the response's chunks (reading file ranges with pread, as sendfile would send them),
// checks the response header's correlation id, and decodes the body, which must be
// consumed exactly. Any failure (no response, connection closed, bad decode, timeout)
// throws harness_error, which GoogleTest reports as a test failure.
//
// For tests of bad input, acks=0 or closes, exchange() and exchange_frame() return the raw
// completion (kind + bytes) instead.
//
// Clock: the harness takes a clock (the real one by default). Long-polling fetches park in
// the fetch purgatory until their deadline on that clock, so with a manual_clock a test
// must advance it (or use min_bytes that the data satisfies).
//
// Threads: handlers may complete on the background pool; the harness only waits. One
// harness is one connection: calls are sequential and slots numbered 0, 1, 2, ...

#include "base/batch_builder.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "broker/broker.h"
#include "broker/fetch_purgatory.h"
#include "broker/topic_helpers.h"
#include "cluster/broker_config.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "group/group_coordinator.h"
#include "group/txn_coordinator.h"
#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "storage/flush_pool.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace caudal::broker::testing {

/// A harness call failed: the message says how (a test failure, not a broker crash).
class harness_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The response type of a generated request type: response_for<metadata_request>::type is
/// metadata_response.
template <class Request>
struct response_for;

#define CAUDAL_HARNESS_PAIR(name)                 \
  template <>                                     \
  struct response_for<protocol::name##_request> { \
    using type = protocol::name##_response;       \
  };
CAUDAL_HARNESS_PAIR(produce)
CAUDAL_HARNESS_PAIR(fetch)
CAUDAL_HARNESS_PAIR(list_offsets)
CAUDAL_HARNESS_PAIR(metadata)
CAUDAL_HARNESS_PAIR(offset_commit)
CAUDAL_HARNESS_PAIR(offset_fetch)
CAUDAL_HARNESS_PAIR(find_coordinator)
CAUDAL_HARNESS_PAIR(join_group)
CAUDAL_HARNESS_PAIR(heartbeat)
CAUDAL_HARNESS_PAIR(leave_group)
CAUDAL_HARNESS_PAIR(sync_group)
CAUDAL_HARNESS_PAIR(describe_groups)
CAUDAL_HARNESS_PAIR(list_groups)
CAUDAL_HARNESS_PAIR(sasl_handshake)
CAUDAL_HARNESS_PAIR(api_versions)
CAUDAL_HARNESS_PAIR(create_topics)
CAUDAL_HARNESS_PAIR(delete_topics)
CAUDAL_HARNESS_PAIR(delete_records)
CAUDAL_HARNESS_PAIR(init_producer_id)
CAUDAL_HARNESS_PAIR(offset_for_leader_epoch)
CAUDAL_HARNESS_PAIR(add_partitions_to_txn)
CAUDAL_HARNESS_PAIR(add_offsets_to_txn)
CAUDAL_HARNESS_PAIR(end_txn)
CAUDAL_HARNESS_PAIR(write_txn_markers)
CAUDAL_HARNESS_PAIR(txn_offset_commit)
CAUDAL_HARNESS_PAIR(describe_configs)
CAUDAL_HARNESS_PAIR(alter_configs)
CAUDAL_HARNESS_PAIR(sasl_authenticate)
CAUDAL_HARNESS_PAIR(create_partitions)
CAUDAL_HARNESS_PAIR(delete_groups)
CAUDAL_HARNESS_PAIR(incremental_alter_configs)
CAUDAL_HARNESS_PAIR(offset_delete)
CAUDAL_HARNESS_PAIR(describe_cluster)
CAUDAL_HARNESS_PAIR(describe_producers)
CAUDAL_HARNESS_PAIR(describe_transactions)
CAUDAL_HARNESS_PAIR(list_transactions)
#undef CAUDAL_HARNESS_PAIR

/// What a request slot was completed with. `bytes` is the response frame without its size
/// prefix (response header + body), file ranges already read in; empty unless
/// kind == completion_kind::response.
struct raw_reply {
  net::completion_kind kind = net::completion_kind::close;
  std::vector<std::byte> bytes;
};

/// Stands in for a connection: records each slot's completion and lets a test wait for it.
class fake_completion_sink final : public net::completion_sink {
 public:
  void complete(std::uint64_t slot, net::completion c) noexcept override {
    std::lock_guard lock(_mutex);
    _done.emplace(slot, std::move(c));
    _wake.notify_all();
  }

  /// The completion of `slot`, or nullopt if none arrives within `timeout`.
  [[nodiscard]] std::optional<net::completion> wait(std::uint64_t slot,
                                                    std::chrono::milliseconds timeout) {
    std::unique_lock lock(_mutex);
    if (!_wake.wait_for(lock, timeout, [&] { return _done.contains(slot); })) return std::nullopt;
    auto node = _done.extract(slot);
    return std::move(node.mapped());
  }

 private:
  std::mutex _mutex;
  std::condition_variable _wake;
  std::map<std::uint64_t, net::completion> _done;  // guarded by _mutex
};

/// Joins a response's chunks into bytes, reading file ranges with pread.
[[nodiscard]] inline std::vector<std::byte> flatten(const net::response& r) {
  std::vector<std::byte> out;
  out.reserve(r.size_bytes());
  for (const auto& c : r.chunks()) {
    if (const auto* owned = std::get_if<std::vector<std::byte>>(&c)) {
      out.insert(out.end(), owned->begin(), owned->end());
      continue;
    }
    const auto& range = std::get<net::file_range>(c);
    const std::size_t at = out.size();
    out.resize(at + range.length);
    std::size_t done = 0;
    while (done < range.length) {
      const ssize_t n = ::pread(range.fd, out.data() + at + done, range.length - done,
                                static_cast<off_t>(range.offset + done));
      if (n <= 0) {
        throw harness_error(fmt::format("file range fd {} offset {} length {}: short read",
                                        range.fd, range.offset, range.length));
      }
      done += static_cast<std::size_t>(n);
    }
  }
  return out;
}

/// A single-node broker in a temporary directory, answering requests through
/// broker::handle(). Not copyable; one harness is one client connection.
class broker_harness {
 public:
  /// Starts a broker whose config is `overrides` (Kafka property names) with log.dirs set
  /// to a fresh temporary directory, which the destructor removes.
  explicit broker_harness(const properties& overrides = {}, clock& clk = system_clock())
      : _clock(clk) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "caudal-broker-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw harness_error("mkdtemp failed");
    _dir = pattern;
    properties values = overrides;
    values["log.dirs"] = _dir.string();
    _config = std::make_unique<cluster::broker_config>(cluster::broker_config::load(values));
    _flushers = std::make_unique<storage::flush_pool>(2);
    _background = std::make_unique<storage::flush_pool>(1);
    auto store = cluster::metadata_store::open(_dir, _config->node_id(), _clock, *_flushers);
    if (!store) throw harness_error("metadata_store::open: " + store.error().message());
    _metadata = std::move(*store);
    _partitions = std::make_unique<cluster::partition_manager>(_dir, *_config, _clock, *_flushers);
    if (auto r = _partitions->reconcile(*_metadata->topics()); !r) {
      throw harness_error("reconcile: " + r.error().message());
    }
    _fetches = std::make_unique<fetch_purgatory>(_clock);
    _fetches->start();
    _groups = std::make_unique<group::group_coordinator>(group::coordinator_config::from(*_config),
                                                         *_metadata, *_partitions, _clock);
    if (auto r = _groups->load(); !r) throw harness_error("groups load: " + r.error().message());
    _txns = std::make_unique<group::txn_coordinator>(group::txn_config::from(*_config), *_metadata,
                                                     *_partitions, *_groups, _clock);
    _txns->on_marker([this](const cluster::partition& p) { _fetches->notify(&p); });
    if (auto r = _txns->load(); !r) throw harness_error("txns load: " + r.error().message());
    _services = std::make_unique<broker_services>(
        broker_services{*_config, *_metadata, *_partitions, _clock, *_fetches, *_background,
                        _config->advertised_listeners()});
    _services->groups = _groups.get();
    _services->txns = _txns.get();
    _broker = std::make_unique<broker>(*_services);
  }

  broker_harness(const broker_harness&) = delete;
  broker_harness& operator=(const broker_harness&) = delete;

  ~broker_harness() {
    _fetches->stop();
    _background.reset();  // runs queued handler work while the services still exist
    _broker.reset();
    _txns.reset();
    _groups.reset();
    _partitions->stop();
    _partitions.reset();
    _metadata.reset();
    _flushers.reset();
    std::error_code ec;
    std::filesystem::remove_all(_dir, ec);
  }

  [[nodiscard]] const std::filesystem::path& data_dir() const { return _dir; }
  [[nodiscard]] const cluster::broker_config& config() const { return *_config; }
  [[nodiscard]] cluster::metadata_store& metadata() { return *_metadata; }
  [[nodiscard]] cluster::partition_manager& partitions() { return *_partitions; }
  [[nodiscard]] broker_services& services() { return *_services; }
  [[nodiscard]] broker& handler() { return *_broker; }
  /// The group coordinator. Its timers do not run on their own: tests call tick() (after
  /// advancing a manual clock) or start() it.
  [[nodiscard]] group::group_coordinator& groups() { return *_groups; }
  [[nodiscard]] group::txn_coordinator& txns() { return *_txns; }

  /// The listener name requests arrive on (for advertised addresses).
  std::string listener_name = "PLAINTEXT";
  /// The client id written in request headers.
  std::optional<std::string> client_id = "broker-harness";
  /// How long a call waits for the handler to complete its slot.
  std::chrono::milliseconds timeout{10'000};

  /// Sends `request` at `version` and returns the decoded response. Throws harness_error
  /// if the slot is not answered with a well-formed response of that version.
  template <class Request>
  typename response_for<Request>::type call(std::int16_t version, const Request& request) {
    using response_type = typename response_for<Request>::type;
    const std::int32_t correlation_id = _next_correlation_id;
    raw_reply reply = exchange(version, request);
    if (reply.kind != net::completion_kind::response) {
      throw harness_error(
          fmt::format("api {} v{}: no response ({})", static_cast<int>(Request::api), version,
                      reply.kind == net::completion_kind::close ? "connection closed"
                                                                : "completed without one"));
    }
    const protocol::api_info* api = protocol::find_api(static_cast<std::int16_t>(Request::api));
    protocol::reader in(reply.bytes);
    protocol::response_header header;
    if (auto r = header.decode(in, protocol::response_header_version(*api, version)); !r) {
      throw harness_error("response header: " + r.error().message());
    }
    if (header.correlation_id != correlation_id) {
      throw harness_error(
          fmt::format("correlation id {} != {}", header.correlation_id, correlation_id));
    }
    response_type response;
    if (auto r = response.decode(in, version); !r) {
      throw harness_error(fmt::format("api {} v{} response body: {}",
                                      static_cast<int>(Request::api), version,
                                      r.error().message()));
    }
    if (in.remaining() != 0) {
      throw harness_error(fmt::format("api {} v{} response: {} trailing byte(s)",
                                      static_cast<int>(Request::api), version, in.remaining()));
    }
    // Decoded record sets view into the reply's bytes: keep them alive with the harness.
    _replies.push_back(std::move(reply.bytes));
    return response;
  }

  /// Sends `request` at `version` behind the right request header and returns the raw
  /// completion.
  template <class Request>
  raw_reply exchange(std::int16_t version, const Request& request) {
    protocol::writer body;
    request.encode(body, version);
    return exchange_body(static_cast<std::int16_t>(Request::api), version, body.bytes());
  }

  /// Sends `body` (any bytes) behind a well-formed request header for `api_key`/`version`.
  /// Requires: the api key is one protocol/ knows (find_api), else use exchange_frame().
  raw_reply exchange_body(std::int16_t api_key, std::int16_t version,
                          std::span<const std::byte> body) {
    const protocol::api_info* api = protocol::find_api(api_key);
    if (api == nullptr) throw harness_error(fmt::format("api key {} is unknown", api_key));
    protocol::writer w;
    protocol::request_header header;
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = _next_correlation_id;
    header.client_id = client_id;
    header.encode(w, protocol::request_header_version(*api, version));
    w.write_raw(body);
    return exchange_frame(w.release());
  }

  /// Hands `frame` (header and body, no size prefix; any bytes) to broker::handle() as the
  /// next slot and waits for its completion. Throws harness_error on timeout.
  raw_reply exchange_frame(std::vector<std::byte> frame) {
    const std::uint64_t slot = _next_slot++;
    ++_next_correlation_id;
    net::connection_info info;
    info.id = 1;
    info.listener_name = listener_name;
    info.remote_address = "127.0.0.1";
    info.remote_port = 40000;
    info.local_address = "127.0.0.1";
    _broker->handle(info, std::move(frame), net::responder(_sink, slot));
    auto c = _sink->wait(slot, timeout);
    if (!c)
      throw harness_error(fmt::format("slot {} not completed within {} ms", slot, timeout.count()));
    raw_reply out;
    out.kind = c->kind;
    if (c->kind == net::completion_kind::response) out.bytes = flatten(c->body);
    return out;
  }

  /// Creates a topic directly in the metadata (no request) and opens its logs.
  cluster::topic_metadata create_topic(const std::string& name, std::int32_t partitions = 1,
                                       const properties& configs = {}) {
    auto made = _metadata->create_topic({name, partitions, 1, configs});
    if (auto* bad = std::get_if<cluster::op_error>(&made)) {
      throw harness_error("create_topic " + name + ": " + bad->message);
    }
    reconcile_partitions(*_services);
    return std::get<cluster::topic_metadata>(made);
  }

  /// Appends `count` one-record batches ("value-<i>") to a partition and waits until they
  /// are durable; returns the offset after the last one.
  std::int64_t append_records(const std::string& topic, std::int32_t partition, int count) {
    auto p = _partitions->get(topic, partition);
    if (!p) throw harness_error(fmt::format("no partition {}-{}", topic, partition));
    for (int i = 0; i < count; ++i) {
      batch::builder b;
      const std::string value = fmt::format("value-{}", i);
      b.add(std::nullopt, caudal::as_bytes(value), _clock.wall_ms());
      auto bytes = b.finish();
      auto appended = p->log->append(bytes);
      if (!appended) throw harness_error("append: " + appended.error().message());
      if (auto d = p->log->wait_durable(appended->last_offset); !d) {
        throw harness_error("wait_durable: " + d.error().message());
      }
    }
    return p->log->log_end_offset()();
  }

 private:
  clock& _clock;
  std::filesystem::path _dir;
  std::unique_ptr<cluster::broker_config> _config;
  std::unique_ptr<storage::flush_pool> _flushers;
  std::unique_ptr<storage::flush_pool> _background;
  std::unique_ptr<cluster::metadata_store> _metadata;
  std::unique_ptr<cluster::partition_manager> _partitions;
  std::unique_ptr<fetch_purgatory> _fetches;
  std::unique_ptr<group::group_coordinator> _groups;
  std::unique_ptr<group::txn_coordinator> _txns;
  std::unique_ptr<broker_services> _services;
  std::unique_ptr<broker> _broker;
  std::deque<std::vector<std::byte>> _replies;  // bytes that returned responses view into
  std::shared_ptr<fake_completion_sink> _sink = std::make_shared<fake_completion_sink>();
  std::uint64_t _next_slot = 0;
  std::int32_t _next_correlation_id = 1;
};

}  // namespace caudal::broker::testing
