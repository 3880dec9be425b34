// OffsetFetch (key 9): committed offsets of one group (v0-7) or of several (v8+); a null
// topic list (v2+) asks for every committed partition. No transactions exist, so
// require_stable (v7+) never has pending offsets to wait for.

#include "protocol/generated/offset_fetch.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

#include <map>

namespace caudal::broker {
namespace {

using protocol::offset_fetch_response;

// Topics in request order (or name order for "all"), each with its partitions.
template <class Topic, class Partition>
std::vector<Topic> fetch(group::group_coordinator& groups, const std::string& group_id,
                         const std::optional<std::vector<group::topic_partition>>& which,
                         group::error& error) {
  auto [e, offsets] = groups.fetch_offsets(group_id, which);
  error = e;
  std::vector<Topic> out;
  std::map<std::string, std::size_t> index;
  for (auto& [tp, v] : offsets) {
    auto [it, added] = index.emplace(tp.topic, out.size());
    if (added) {
      Topic t;
      t.name = tp.topic;
      out.push_back(std::move(t));
    }
    Partition p;
    p.partition_index = tp.partition;
    p.committed_offset = v.offset;
    p.committed_leader_epoch = v.leader_epoch;
    p.metadata = v.metadata;
    out[it->second].partitions.push_back(std::move(p));
  }
  return out;
}

template <class Topics>
std::optional<std::vector<group::topic_partition>> wanted(const std::optional<Topics>& topics) {
  if (!topics) return std::nullopt;
  std::vector<group::topic_partition> out;
  for (const auto& t : *topics) {
    for (auto p : t.partition_indexes)
      out.push_back({t.name, p});
  }
  return out;
}

}  // namespace

void handle_offset_fetch(request_context ctx, protocol::reader& body) {
  protocol::offset_fetch_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  group::group_coordinator& groups = coordinator(ctx);
  offset_fetch_response response;
  if (ctx.version < 8) {
    group::error e = group::error::none;
    response.topics = fetch<offset_fetch_response::offset_fetch_response_topic,
                            offset_fetch_response::offset_fetch_response_partition>(
        groups, request.group_id, wanted(request.topics), e);
    response.error_code = group::wire(e);
    if (e != group::error::none) {
      response.topics.clear();
      if (ctx.version < 2) {
        // No top-level error before v2: every partition carries it.
        for (const auto& t : request.topics.value_or(decltype(request.topics)::value_type{})) {
          offset_fetch_response::offset_fetch_response_topic out;
          out.name = t.name;
          for (auto p : t.partition_indexes) {
            offset_fetch_response::offset_fetch_response_partition x;
            x.partition_index = p;
            x.committed_offset = -1;
            x.error_code = group::wire(e);
            out.partitions.push_back(std::move(x));
          }
          response.topics.push_back(std::move(out));
        }
      }
    }
  } else {
    for (const auto& g : request.groups) {
      offset_fetch_response::offset_fetch_response_group out;
      out.group_id = g.group_id;
      group::error e = group::error::none;
      out.topics = fetch<offset_fetch_response::offset_fetch_response_topics,
                         offset_fetch_response::offset_fetch_response_partitions>(
          groups, g.group_id, wanted(g.topics), e);
      out.error_code = group::wire(e);
      if (e != group::error::none) out.topics.clear();
      response.groups.push_back(std::move(out));
    }
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
