// ListGroups (key 16): every group this node coordinates, filtered by state (v4+) and by
// type (v5+; all of Caudal's groups are "classic").

#include "protocol/generated/list_groups.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

#include <strings.h>
#include <algorithm>

namespace caudal::broker {
namespace {

bool matches(const std::vector<std::string>& filter, std::string_view value) {
  if (filter.empty()) return true;
  return std::any_of(filter.begin(), filter.end(), [&](const std::string& f) {
    return f.size() == value.size() && ::strncasecmp(f.data(), value.data(), f.size()) == 0;
  });
}

}  // namespace

void handle_list_groups(request_context ctx, protocol::reader& body) {
  protocol::list_groups_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  protocol::list_groups_response response;
  for (const auto& g : coordinator(ctx).list_groups()) {
    const std::string_view state = group::state_name(g.state);
    if (ctx.version >= 4 && !matches(request.states_filter, state)) continue;
    if (ctx.version >= 5 && !matches(request.types_filter, "classic")) continue;
    protocol::list_groups_response::listed_group out;
    out.group_id = g.group_id;
    out.protocol_type = g.protocol_type;
    out.group_state = std::string(state);
    out.group_type = "classic";
    response.groups.push_back(std::move(out));
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
