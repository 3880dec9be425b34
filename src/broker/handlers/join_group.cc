// JoinGroup (key 11): hands the member to the group state machine; the answer comes when
// the rebalance completes (perhaps on the coordinator's timer thread).

#include "protocol/generated/join_group.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_join_group(request_context ctx, protocol::reader& body) {
  protocol::join_group_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  group::join_request r;
  r.member_id = request.member_id;
  r.instance_id = ctx.version >= 5 ? request.group_instance_id : std::nullopt;
  r.client_id = ctx.header.client_id.value_or("");
  r.client_host = "/" + ctx.remote_address;
  r.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout served as both.
  r.rebalance_timeout_ms =
      ctx.version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  r.protocol_type = request.protocol_type;
  for (auto& p : request.protocols)
    r.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  r.require_known_member_id = ctx.version >= 4;
  auto shared = share(std::move(ctx));
  group::group_coordinator& groups = coordinator(*shared);
  groups.join(request.group_id, std::move(r), [shared](group::join_result x) {
    protocol::join_group_response response;
    response.error_code = group::wire(x.err);
    response.generation_id = x.generation;
    response.protocol_type = x.protocol_type;
    response.protocol_name = x.protocol_name;
    // Before v7 the name is not nullable: an error answer carries "".
    if (shared->version < 7 && !response.protocol_name) response.protocol_name = "";
    response.leader = x.leader;
    response.member_id = x.member_id;
    for (auto& m : x.members) {
      protocol::join_group_response::join_group_response_member out;
      out.member_id = std::move(m.member_id);
      out.group_instance_id = std::move(m.instance_id);
      out.metadata = std::move(m.metadata);
      response.members.push_back(std::move(out));
    }
    send_response(*shared, response);
  });
}

}  // namespace caudal::broker
