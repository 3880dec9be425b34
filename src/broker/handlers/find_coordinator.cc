// FindCoordinator (key 10): this node coordinates every group and every transactional id.
// The first lookup of each kind creates its internal topic (`__consumer_offsets`,
// `__transaction_state`), as Kafka does, off the event loop.

#include "protocol/generated/find_coordinator.h"
#include "base/logging.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::find_coordinator_request;
using protocol::find_coordinator_response;

constexpr std::int8_t group_key_type = 0;
constexpr std::int8_t transaction_key_type = 1;

// The coordinator for one key, or the error why there is none.
void locate(const request_context& ctx, std::int8_t key_type, std::int32_t& node, std::string& host,
            std::int32_t& port, std::int16_t& error, std::optional<std::string>& message) {
  node = -1;
  host.clear();
  port = -1;
  message = std::nullopt;
  if (key_type != group_key_type && key_type != transaction_key_type) {
    error = static_cast<std::int16_t>(error_code::invalid_request);
    message = "unknown key type";
    return;
  }
  if (key_type == group_key_type ? !coordinator(ctx).ready() : !txn_coordinator(ctx).ready()) {
    error = static_cast<std::int16_t>(error_code::coordinator_not_available);
    return;
  }
  const auto& self = advertised_for(ctx);
  node = ctx.services->config.node_id();
  host = self.host;
  port = self.port;
  error = 0;
}

void answer(request_context& ctx, const find_coordinator_request& request) {
  find_coordinator_response response;
  if (ctx.version < 4) {
    locate(ctx, ctx.version >= 1 ? request.key_type : group_key_type, response.node_id,
           response.host, response.port, response.error_code, response.error_message);
  } else {
    for (const auto& key : request.coordinator_keys) {
      find_coordinator_response::coordinator c;
      c.key = key;
      locate(ctx, request.key_type, c.node_id, c.host, c.port, c.error_code, c.error_message);
      response.coordinators.push_back(std::move(c));
    }
  }
  send_response(ctx, response);
}

}  // namespace

void handle_find_coordinator(request_context ctx, protocol::reader& body) {
  find_coordinator_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  const std::int8_t key_type = ctx.version >= 1 ? request.key_type : group_key_type;
  const bool ready = key_type == group_key_type         ? coordinator(ctx).ready()
                     : key_type == transaction_key_type ? txn_coordinator(ctx).ready()
                                                        : true;
  if (ready) {
    answer(ctx, request);
    return;
  }
  run_blocking(std::move(ctx), [request = std::move(request), key_type](request_context& c) {
    if (key_type == group_key_type) {
      if (auto r = coordinator(c).ensure_topic(); !r) {
        spdlog::warn("cannot set up {}: {}", group::offsets_topic, r.error().message());
      }
    } else if (auto r = txn_coordinator(c).ensure_topic(); !r) {
      spdlog::warn("cannot set up {}: {}", group::transaction_topic, r.error().message());
    }
    answer(c, request);
  });
}

}  // namespace caudal::broker
