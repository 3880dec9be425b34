// LeaveGroup (key 13): one member (v0-2) or a batch of members by member or instance id
// (v3+, KIP-345: what AdminClient removeMembersFromConsumerGroup sends).

#include "protocol/generated/leave_group.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_leave_group(request_context ctx, protocol::reader& body) {
  protocol::leave_group_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  std::vector<group::member_identity> members;
  if (ctx.version < 3) {
    members.push_back({request.member_id, std::nullopt});
  } else {
    for (const auto& m : request.members)
      members.push_back({m.member_id, m.group_instance_id});
  }
  auto [error, results] = coordinator(ctx).leave(request.group_id, members);
  protocol::leave_group_response response;
  response.error_code = group::wire(error);
  if (ctx.version < 3) {
    if (error == group::error::none && !results.empty()) {
      response.error_code = group::wire(results.front());
    }
  } else if (error == group::error::none) {
    for (std::size_t i = 0; i < members.size(); ++i) {
      protocol::leave_group_response::member_response m;
      m.member_id = members[i].member_id;
      m.group_instance_id = members[i].instance_id;
      m.error_code = group::wire(results[i]);
      response.members.push_back(std::move(m));
    }
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
