// InitProducerId (key 22, v0-5): gives an idempotent producer a producer id never handed
// out before, at epoch 0. Every call gets a fresh id, also when a producer sends its
// current id and epoch (KIP-360, v3+): without a transactional id there is no state to
// carry over, and a fresh id at epoch 0 is what Kafka answers too. Transactional ids
// belong to the transaction coordinator, which this broker does not run yet:
// COORDINATOR_NOT_AVAILABLE, as FindCoordinator answers for them.

#include "protocol/generated/init_producer_id.h"
#include "base/logging.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

using protocol::error_code;
using protocol::init_producer_id_request;
using protocol::init_producer_id_response;

void handle_init_producer_id(request_context ctx, protocol::reader& body) {
  init_producer_id_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  if (request.transactional_id) {
    init_producer_id_response response;
    response.error_code = wire(error_code::coordinator_not_available);
    send_response(ctx, response);
    return;
  }
  // A new block of ids is taken durably from the metadata log: off the event loop.
  run_blocking(std::move(ctx), [](request_context& c) {
    init_producer_id_response response;
    if (auto id = c.services->metadata.next_producer_id()) {
      response.producer_id = *id;
      response.producer_epoch = 0;
    } else {
      spdlog::error("cannot allocate a producer id: {}", id.error().message());
      response.error_code = wire(error_code::unknown_server_error);
    }
    send_response(c, response);
  });
}

}  // namespace caudal::broker
