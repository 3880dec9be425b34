// SyncGroup (key 14): the leader's assignment goes to every member; a follower's request
// waits for it (perhaps completing on another member's event loop).

#include "protocol/generated/sync_group.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_sync_group(request_context ctx, protocol::reader& body) {
  protocol::sync_group_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  group::sync_request r;
  r.member_id = request.member_id;
  r.instance_id = ctx.version >= 3 ? request.group_instance_id : std::nullopt;
  r.generation = request.generation_id;
  if (ctx.version >= 5) {
    r.protocol_type = request.protocol_type;
    r.protocol_name = request.protocol_name;
  }
  for (auto& a : request.assignments)
    r.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  auto shared = share(std::move(ctx));
  group::group_coordinator& groups = coordinator(*shared);
  groups.sync(request.group_id, std::move(r), [shared](group::sync_result x) {
    protocol::sync_group_response response;
    response.error_code = group::wire(x.err);
    response.protocol_type = x.protocol_type;
    response.protocol_name = x.protocol_name;
    response.assignment = std::move(x.assignment);
    send_response(*shared, response);
  });
}

}  // namespace caudal::broker
