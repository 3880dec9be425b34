// InitProducerId (key 22, v0-5): gives an idempotent producer a producer id never handed
// out before, at epoch 0. Every call gets a fresh id, also when a producer sends its
// current id and epoch (KIP-360, v3+): without a transactional id there is no state to
// carry over, and a fresh id at epoch 0 is what Kafka answers too. With a transactional
// id the transaction coordinator answers: the id's producer id with its epoch bumped,
// which fences the previous producer and aborts its open transaction.

#include "protocol/generated/init_producer_id.h"
#include "base/logging.h"
#include "broker/errors.h"
#include "broker/handlers/group_common.h"
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
    run_blocking(std::move(ctx), [request = std::move(request)](request_context& c) {
      const auto grant = txn_coordinator(c).init_producer(
          *request.transactional_id, request.transaction_timeout_ms, request.producer_id,
          request.producer_epoch);
      init_producer_id_response response;
      response.error_code = group::wire(grant.err);
      response.producer_id = grant.producer_id;
      response.producer_epoch = grant.epoch;
      send_response(c, response);
    });
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
