// OffsetCommit (key 8): checks each partition (topic exists, metadata size), has the
// coordinator validate the member and generation and append the offsets, and answers once
// they are durable.

#include "protocol/generated/offset_commit.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {

void handle_offset_commit(request_context ctx, protocol::reader& body) {
  protocol::offset_commit_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  group::group_coordinator& groups = coordinator(ctx);
  const std::int64_t now_ms = ctx.services->clk.wall_ms();
  const auto table = ctx.services->metadata.topics();
  auto response = std::make_shared<protocol::offset_commit_response>();
  // Slots of the partitions that are committed, to fill with the group's answer.
  std::vector<std::pair<std::size_t, std::size_t>> committed;
  std::vector<group::offset_commit> offsets;
  for (const auto& t : request.topics) {
    protocol::offset_commit_response::offset_commit_response_topic out_topic;
    out_topic.name = t.name;
    const cluster::topic_metadata* meta = table->find(t.name);
    for (const auto& p : t.partitions) {
      protocol::offset_commit_response::offset_commit_response_partition out;
      out.partition_index = p.partition_index;
      const std::size_t metadata_bytes = p.committed_metadata ? p.committed_metadata->size() : 0;
      if (meta == nullptr || p.partition_index < 0 || p.partition_index >= meta->partitions) {
        out.error_code = group::wire(group::error::unknown_topic_or_partition);
      } else if (metadata_bytes >
                 static_cast<std::size_t>(groups.config().offset_metadata_bytes_max)) {
        out.error_code = group::wire(group::error::offset_metadata_too_large);
      } else {
        group::offset_commit o;
        o.tp = {t.name, p.partition_index};
        o.value.offset = p.committed_offset;
        o.value.leader_epoch = ctx.version >= 6 ? p.committed_leader_epoch : -1;
        o.value.metadata = p.committed_metadata.value_or("");
        // v1 lets the client stamp the commit; every other version is stamped here.
        o.value.commit_timestamp_ms =
            ctx.version == 1 && p.commit_timestamp >= 0 ? p.commit_timestamp : now_ms;
        offsets.push_back(std::move(o));
        committed.emplace_back(response->topics.size(), out_topic.partitions.size());
      }
      out_topic.partitions.push_back(std::move(out));
    }
    response->topics.push_back(std::move(out_topic));
  }
  // v0 commits outside the group protocol, as generation -1 does.
  const std::int32_t generation = ctx.version >= 1 ? request.generation_id_or_member_epoch : -1;
  const std::string member_id = ctx.version >= 1 ? request.member_id : std::string();
  auto instance = ctx.version >= 7 ? request.group_instance_id : std::nullopt;
  auto shared = share(std::move(ctx));
  groups.commit(request.group_id, member_id, instance, generation, std::move(offsets),
                [shared, response, committed = std::move(committed)](group::error e) {
                  for (const auto& [t, p] : committed) {
                    response->topics[t].partitions[p].error_code = group::wire(e);
                  }
                  send_response(*shared, *response);
                });
}

}  // namespace caudal::broker
