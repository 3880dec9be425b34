// DescribeGroups (key 15): state, protocol and members of each group. As in Kafka, member
// metadata and assignments are shown only while the group is Stable, and an unknown group
// is reported as Dead without an error.

#include "protocol/generated/describe_groups.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

#include <limits>

namespace caudal::broker {
namespace {

// READ, DELETE and DESCRIBE (Kafka's AclOperation codes 3, 6, 8): what a group allows.
constexpr std::int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8);

}  // namespace

void handle_describe_groups(request_context ctx, protocol::reader& body) {
  protocol::describe_groups_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  group::group_coordinator& groups = coordinator(ctx);
  protocol::describe_groups_response response;
  for (const auto& id : request.groups) {
    protocol::describe_groups_response::described_group out;
    out.group_id = id;
    out.group_state = "Dead";
    out.authorized_operations = ctx.version >= 3 && request.include_authorized_operations
                                    ? group_operations
                                    : std::numeric_limits<std::int32_t>::min();
    if (!groups.ready()) {
      out.error_code = group::wire(group::error::coordinator_not_available);
    } else if (auto d = groups.describe(id)) {
      const bool stable = d->state == group::group_state::stable;
      out.group_state = std::string(group::state_name(d->state));
      out.protocol_type = d->protocol_type.value_or("");
      out.protocol_data = stable ? d->protocol_name.value_or("") : "";
      for (auto& m : d->members) {
        protocol::describe_groups_response::described_group_member x;
        x.member_id = m.member_id;
        x.group_instance_id = m.instance_id;
        x.client_id = m.client_id;
        x.client_host = m.client_host;
        if (stable) {
          x.member_metadata = std::move(m.metadata);
          x.member_assignment = std::move(m.assignment);
        }
        out.members.push_back(std::move(x));
      }
    }
    response.groups.push_back(std::move(out));
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
