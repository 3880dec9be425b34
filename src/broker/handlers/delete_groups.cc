// DeleteGroups (key 42): deletes empty groups and their offsets (tombstones, made durable
// before the answer, so off the event loop).

#include "protocol/generated/delete_groups.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_delete_groups(request_context ctx, protocol::reader& body) {
  protocol::delete_groups_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx), [request = std::move(request)](request_context& c) {
    protocol::delete_groups_response response;
    for (const auto& id : request.groups_names) {
      protocol::delete_groups_response::deletable_group_result r;
      r.group_id = id;
      r.error_code = group::wire(coordinator(c).delete_group(id));
      response.results.push_back(std::move(r));
    }
    send_response(c, response);
  });
}

}  // namespace caudal::broker
