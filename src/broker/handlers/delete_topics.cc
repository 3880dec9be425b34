// DeleteTopics (key 20, v0-6): deletes topics by name (v0-5 topic_names, v6 topics) or by
// id (v6), durably, then removes their partition logs. Refused for every topic when
// delete.topic.enable is false.

#include "protocol/generated/delete_topics.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"

#include <map>
#include <set>

namespace caudal::broker {
namespace {

using protocol::delete_topics_request;
using protocol::delete_topics_response;
using protocol::error_code;
using topic_result = delete_topics_response::deletable_topic_result;

// One topic to delete, as the request named it.
struct wanted_topic {
  std::optional<std::string> name;
  protocol::uuid id;
};

std::vector<wanted_topic> wanted(const delete_topics_request& request, std::int16_t version) {
  std::vector<wanted_topic> out;
  if (version >= 6) {
    for (const auto& t : request.topics)
      out.push_back({t.name, t.topic_id});
  } else {
    for (const auto& name : request.topic_names)
      out.push_back({name, {}});
  }
  return out;
}

// Runs on the background executor: metadata changes fsync.
void delete_all(request_context& ctx, const delete_topics_request& request) {
  broker_services& services = *ctx.services;
  const auto topics = wanted(request, ctx.version);
  std::map<std::string, int, std::less<>> names;
  std::map<std::pair<std::uint64_t, std::uint64_t>, int> ids;
  for (const auto& t : topics) {
    if (t.name.has_value() == !t.id.is_zero()) continue;  // refused below either way
    if (t.name) ++names[*t.name];
    if (!t.id.is_zero()) ++ids[{t.id.most, t.id.least}];
  }
  const bool enabled = services.config.boolean("delete.topic.enable");

  delete_topics_response response;
  bool deleted = false;
  for (const auto& t : topics) {
    topic_result& out = response.responses.emplace_back();
    out.name = t.name;
    out.topic_id = t.id;
    out.error_message = std::nullopt;
    const auto fail = [&out](error_code code, std::string message) {
      out.error_code = wire(code);
      out.error_message = std::move(message);
    };
    if (!enabled) {
      fail(error_code::topic_deletion_disabled, "Topic deletion is disabled.");
      continue;
    }
    if (t.name && !t.id.is_zero()) {
      fail(error_code::invalid_request, "You may not specify both topic name and topic id.");
      continue;
    }
    if (!t.name && t.id.is_zero()) {
      fail(error_code::invalid_request, "Neither topic name nor id were specified.");
      continue;
    }
    if ((t.name && names[*t.name] > 1) || (!t.id.is_zero() && ids[{t.id.most, t.id.least}] > 1)) {
      fail(error_code::invalid_request, t.name ? "Duplicate topic name." : "Duplicate topic id.");
      continue;
    }
    const auto table = services.metadata.topics();
    const cluster::topic_metadata* meta =
        t.name ? table->find(*t.name) : table->find(from_wire(t.id));
    if (meta == nullptr) {
      if (t.name) {
        fail(error_code::unknown_topic_or_partition,
             "This server does not host this topic-partition.");
      } else {
        fail(error_code::unknown_topic_id, "This server does not host this topic ID.");
      }
      continue;
    }
    out.name = meta->name;
    out.topic_id = to_wire(meta->id);
    if (auto bad = services.metadata.delete_topic(meta->id)) {
      fail(to_kafka_error(make_error_code(bad->code)), std::move(bad->message));
      continue;
    }
    deleted = true;
  }
  if (deleted) reconcile_partitions(services);
  send_response(ctx, response);
}

}  // namespace

void handle_delete_topics(request_context ctx, protocol::reader& body) {
  delete_topics_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { delete_all(c, request); });
}

}  // namespace caudal::broker
