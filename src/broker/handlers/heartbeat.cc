// Heartbeat (key 12): keeps a member's session alive and tells it when to rejoin.

#include "protocol/generated/heartbeat.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_heartbeat(request_context ctx, protocol::reader& body) {
  protocol::heartbeat_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  protocol::heartbeat_response response;
  response.error_code = group::wire(coordinator(ctx).heartbeat(
      request.group_id, request.member_id,
      ctx.version >= 3 ? request.group_instance_id : std::nullopt, request.generation_id));
  send_response(ctx, response);
}

}  // namespace caudal::broker
