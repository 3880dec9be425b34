#include "broker/probe.h"

#include "protocol/generated/api_table.h"

#include <deque>
#include <string>
#include <vector>

namespace caudal::broker {

namespace {

api_probe make_probe(std::string_view name) {
  auto& r = metrics::global();
  const metrics::label_set labels{{"api", std::string(name)}};
  return api_probe{
      r.get_counter("caudal_requests_total", "Requests received, per API.", labels),
      r.get_counter("caudal_request_errors_total",
                    "Requests answered with a top-level error code or a closed connection.",
                    labels),
      r.get_counter("caudal_request_bytes_total", "Request frame bytes received, per API.", labels),
      r.get_counter("caudal_response_bytes_total", "Response frame bytes sent, per API.", labels),
      r.get_histogram("caudal_request_latency_seconds",
                      "Time from a request's arrival to its response, per API.", labels),
  };
}

struct probe_table {
  std::deque<api_probe> storage;   // stable addresses
  std::vector<api_probe*> by_key;  // index = API key; unknown keys -> the "unknown" probe
  api_probe* unknown = nullptr;

  probe_table() {
    unknown = &storage.emplace_back(make_probe("unknown"));
    for (const auto& api : protocol::all_apis()) {
      const auto key = static_cast<std::size_t>(api.key);
      if (by_key.size() <= key) by_key.resize(key + 1, unknown);
      by_key[key] = &storage.emplace_back(make_probe(api.name));
    }
  }
};

}  // namespace

api_probe& probe_for(std::int16_t key) {
  static probe_table table;  // thread-safe initialisation; never changes afterwards
  if (key < 0 || static_cast<std::size_t>(key) >= table.by_key.size()) return *table.unknown;
  return *table.by_key[static_cast<std::size_t>(key)];
}

request_meter::request_meter(api_probe& probe, net::responder inner, const clock& clk)
    : _probe(probe), _inner(std::move(inner)), _clock(clk), _start_ns(clk.steady_ns()) {
  _probe.requests.add();
}

net::responder request_meter::wrap() {
  return net::responder(shared_from_this(), _inner.slot());
}

void request_meter::complete(std::uint64_t /*slot*/, net::completion c) noexcept {
  _probe.latency.observe(static_cast<double>(_clock.steady_ns() - _start_ns) / 1e9);
  switch (c.kind) {
    case net::completion_kind::response:
      _probe.response_bytes.add(c.body.size_bytes());
      if (_error.load(std::memory_order_relaxed)) _probe.errors.add();
      _inner.send(std::move(c.body));
      break;
    case net::completion_kind::nothing:
      _inner.send_nothing();
      break;
    case net::completion_kind::close:
      _probe.errors.add();
      _inner.close();
      break;
  }
}

void record_produce(std::string_view topic, std::uint64_t records, std::uint64_t bytes) {
  auto& r = metrics::global();
  const metrics::label_set labels{{"topic", std::string(topic)}};
  r.get_counter("caudal_produce_records_total", "Records appended by Produce, per topic.", labels)
      .add(records);
  r.get_counter("caudal_produce_bytes_total", "Record batch bytes appended by Produce, per topic.",
                labels)
      .add(bytes);
}

void record_fetch(std::string_view topic, std::uint64_t bytes) {
  metrics::global()
      .get_counter("caudal_fetch_bytes_total", "Record bytes sent by Fetch, per topic.",
                   {{"topic", std::string(topic)}})
      .add(bytes);
}

metrics::histogram& durable_wait_seconds() {
  static metrics::histogram& h = metrics::global().get_histogram(
      "caudal_produce_durable_wait_seconds",
      "Time from a Produce append to its durability callback (acks=all waits this long).");
  return h;
}

}  // namespace caudal::broker
