#pragma once

// The broker's metrics (base/metrics.h, global registry): requests, errors, latency and
// bytes per API, and produce/fetch volume per topic. Counted per request, per partition
// of a request, never per record.
//
// Metric names:
//   caudal_requests_total{api}                 requests received (after the header decoded)
//   caudal_request_errors_total{api}           requests answered with a top-level error
//                                              code, or by closing the connection
//   caudal_request_latency_seconds{api}        histogram: header decoded -> slot completed
//   caudal_request_bytes_total{api}            request frame bytes (without size prefix)
//   caudal_response_bytes_total{api}           response frame bytes (without size prefix)
//   caudal_produce_records_total{topic}        records appended by Produce
//   caudal_produce_bytes_total{topic}          record batch bytes appended by Produce
//   caudal_fetch_bytes_total{topic}            record bytes sent by Fetch
//   caudal_produce_durable_wait_seconds        histogram: a Produce append -> its durability
//                                              callback (the fsync stage of acks=all)

#include "base/clock.h"
#include "base/metrics.h"
#include "net/responder.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace caudal::broker {

/// The metrics of one API. Lives for the whole process.
struct api_probe {
  metrics::counter& requests;
  metrics::counter& errors;
  metrics::counter& request_bytes;
  metrics::counter& response_bytes;
  metrics::histogram& latency;
};

/// The probe of API `key` ("unknown" for keys Caudal does not know). Lock-free after
/// the first call. Thread-safe.
[[nodiscard]] api_probe& probe_for(std::int16_t key);

/// Measures one request: completing the responder returned by wrap() records the
/// latency, the response size and (for a close, or after note_error) an error, then
/// forwards the completion to the connection's responder.
///
/// Thread safety: completion may happen on any thread, once (the responder guarantees
/// it); note_error() may be called from any thread before completion.
class request_meter final : public net::completion_sink,
                            public std::enable_shared_from_this<request_meter> {
 public:
  /// Meters a request for `probe` that started now (by `clk`, which must outlive the
  /// meter) and completes through `inner`.
  request_meter(api_probe& probe, net::responder inner, const clock& clk);

  /// A responder whose completion goes through this meter (same slot as `inner`).
  [[nodiscard]] net::responder wrap();
  /// Counts this request as an error once it completes.
  void note_error() noexcept { _error.store(true, std::memory_order_relaxed); }

  void complete(std::uint64_t slot, net::completion c) noexcept override;

 private:
  api_probe& _probe;
  net::responder _inner;
  const clock& _clock;
  std::int64_t _start_ns;
  std::atomic<bool> _error{false};
};

/// Records a Produce append of `records` records and `bytes` bytes to `topic`.
void record_produce(std::string_view topic, std::uint64_t records, std::uint64_t bytes);
/// Records `bytes` record bytes sent by a Fetch from `topic`.
void record_fetch(std::string_view topic, std::uint64_t bytes);
/// How long Produce appends waited to become durable, in seconds (one observation each).
[[nodiscard]] metrics::histogram& durable_wait_seconds();

}  // namespace caudal::broker
