// OffsetDelete (key 47): removes a group's committed offsets for some partitions, except
// those of topics a member of a live consumer group is subscribed to
// (GROUP_SUBSCRIBED_TO_TOPIC). Tombstones are made durable first, so off the event loop.

#include "protocol/generated/offset_delete.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "protocol/generated/consumer_protocol_subscription.h"

#include <set>

namespace caudal::broker {
namespace {

// Topics the members of a consumer group subscribe to, from their subscriptions.
std::set<std::string> subscribed_topics(const group::group_description& d) {
  std::set<std::string> out;
  if (d.state == group::group_state::empty || d.protocol_type != "consumer") return out;
  for (const auto& m : d.members) {
    protocol::reader in(m.metadata);
    std::int16_t version = 0;
    if (!in.read_int16(version)) continue;
    protocol::consumer_protocol_subscription s;
    const auto v =
        std::min<std::int16_t>(version, protocol::consumer_protocol_subscription::version_max);
    if (!s.decode(in, v)) continue;
    out.insert(s.topics.begin(), s.topics.end());
  }
  return out;
}

}  // namespace

void handle_offset_delete(request_context ctx, protocol::reader& body) {
  protocol::offset_delete_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx), [request = std::move(request)](request_context& c) {
    group::group_coordinator& groups = coordinator(c);
    protocol::offset_delete_response response;
    const auto table = c.services->metadata.topics();
    const auto described = groups.describe(request.group_id);
    std::set<std::string> subscribed;
    if (described) subscribed = subscribed_topics(*described);
    std::vector<group::topic_partition> to_delete;
    for (const auto& t : request.topics) {
      protocol::offset_delete_response::offset_delete_response_topic out;
      out.name = t.name;
      const cluster::topic_metadata* meta = table->find(t.name);
      for (const auto& p : t.partitions) {
        protocol::offset_delete_response::offset_delete_response_partition x;
        x.partition_index = p.partition_index;
        if (meta == nullptr || p.partition_index < 0 || p.partition_index >= meta->partitions) {
          x.error_code = group::wire(group::error::unknown_topic_or_partition);
        } else if (subscribed.contains(t.name)) {
          x.error_code = group::wire(group::error::group_subscribed_to_topic);
        } else {
          to_delete.push_back({t.name, p.partition_index});
        }
        out.partitions.push_back(std::move(x));
      }
      response.topics.push_back(std::move(out));
    }
    const group::error e = groups.delete_offsets(request.group_id, to_delete);
    response.error_code = group::wire(e);
    if (e != group::error::none) response.topics.clear();
    send_response(c, response);
  });
}

}  // namespace caudal::broker
