#pragma once

// What every API handler gets: the decoded header, the frame the body views into, the
// responder for the request's slot, and the broker's services.

#include "base/clock.h"
#include "cluster/broker_config.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "net/responder.h"
#include "protocol/codec.h"
#include "protocol/generated/api_table.h"
#include "protocol/generated/request_header.h"
#include "storage/flush_pool.h"

#include <memory>
#include <vector>

namespace caudal::broker {

class fetch_purgatory;
class request_meter;
}  // namespace caudal::broker

namespace caudal::group {
class group_coordinator;
class txn_coordinator;
}  // namespace caudal::group

namespace caudal::broker {

/// The broker's long-lived parts. All members outlive every request.
struct broker_services {
  const cluster::broker_config& config;
  cluster::metadata_store& metadata;
  cluster::partition_manager& partitions;
  clock& clk;
  fetch_purgatory& fetches;
  /// Runs blocking work (metadata changes fsync their log) off the event loops.
  storage::flush_executor& background;
  /// The listeners clients are told about, with the ports actually bound.
  std::vector<cluster::listener> advertised;
  /// The group coordinator (consumer groups, committed offsets); set by the composition
  /// root after construction. The group API handlers require it.
  group::group_coordinator* groups = nullptr;
  /// The transaction coordinator; set by the composition root like `groups`.
  group::txn_coordinator* txns = nullptr;
};

/// One request being answered. Movable, so a handler can hand it to a later completion
/// (a produce waiting for durability, a fetch waiting for data).
struct request_context {
  broker_services* services = nullptr;
  protocol::request_header header;
  const protocol::api_info* api = nullptr;
  std::int16_t version = 0;
  /// The request's bytes; decoded record sets view into them, so they live as long as
  /// the context.
  std::shared_ptr<std::vector<std::byte>> frame;
  net::responder responder;
  /// The name of the listener the request arrived on (for advertised addresses).
  std::string listener_name;
  /// The client's address (DescribeGroups shows it as the member's host).
  std::string remote_address;
  /// The request's metrics (probe.h), or null (handler tests); send_response() marks it
  /// when the response carries a top-level error code.
  std::shared_ptr<request_meter> meter;
};

/// Runs `work(ctx)` on the background executor, for handlers that must block.
template <class Work>
void run_blocking(request_context ctx, Work work) {
  auto shared = std::make_shared<request_context>(std::move(ctx));
  storage::flush_executor& background = shared->services->background;
  background.submit([shared, work = std::move(work)]() mutable { work(*shared); });
}

/// The advertised address for the listener a request came in on (the first one if the
/// name matches none).
[[nodiscard]] const cluster::listener& advertised_for(const request_context& ctx);

}  // namespace caudal::broker
