// CreatePartitions (key 37, v0-3): raises a topic's partition count, optionally with a
// placement for each new partition, or only validates it (validate_only). Messages follow
// Kafka's KRaft controller.

#include "protocol/generated/create_partitions.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"

#include <fmt/format.h>

#include <map>
#include <set>

namespace caudal::broker {
namespace {

using protocol::create_partitions_request;
using protocol::create_partitions_response;
using protocol::error_code;
using topic_result = create_partitions_response::create_partitions_topic_result;

struct topic_error {
  error_code code;
  std::string message;
};

// Checks a request against the topic as it is now.
std::optional<topic_error> check(const broker_services& services,
                                 const create_partitions_request::create_partitions_topic& t,
                                 const cluster::topic_metadata& meta) {
  if (t.count == meta.partitions) {
    return topic_error{error_code::invalid_partitions,
                       fmt::format("Topic already has {} partition(s).", meta.partitions)};
  }
  if (t.count < meta.partitions) {
    return topic_error{error_code::invalid_partitions,
                       fmt::format("The topic {} currently has {} partition(s); {} would not be "
                                   "an increase.",
                                   meta.name, meta.partitions, t.count)};
  }
  if (!t.assignments) return std::nullopt;
  const std::int64_t added = static_cast<std::int64_t>(t.count) - meta.partitions;
  if (static_cast<std::int64_t>(t.assignments->size()) != added) {
    return topic_error{error_code::invalid_replica_assignment,
                       fmt::format("Attempted to add {} additional partition(s), but only {} "
                                   "assignment(s) were specified.",
                                   added, t.assignments->size())};
  }
  const std::int32_t self = services.config.node_id();
  for (const auto& a : *t.assignments) {
    if (a.broker_ids.empty()) {
      return topic_error{error_code::invalid_replica_assignment,
                         "The manual partition assignment includes an empty replica list."};
    }
    std::set<std::int32_t> replicas;
    for (const std::int32_t b : a.broker_ids) {
      if (b != self) {
        return topic_error{error_code::invalid_replica_assignment,
                           fmt::format("The manual partition assignment includes broker {}, but "
                                       "no such broker is registered.",
                                       b)};
      }
      if (!replicas.insert(b).second) {
        return topic_error{error_code::invalid_replica_assignment,
                           fmt::format("The manual partition assignment includes the broker {} "
                                       "more than once.",
                                       b)};
      }
    }
    if (static_cast<std::int64_t>(a.broker_ids.size()) != meta.replication_factor) {
      return topic_error{
          error_code::invalid_replica_assignment,
          fmt::format("The manual partition assignment includes a partition with {} replica(s), "
                      "but this is not consistent with previous partitions, which have {} "
                      "replica(s).",
                      a.broker_ids.size(), meta.replication_factor)};
    }
  }
  return std::nullopt;
}

// Runs on the background executor: metadata changes fsync.
void create_all(request_context& ctx, const create_partitions_request& request) {
  broker_services& services = *ctx.services;
  std::map<std::string, int, std::less<>> occurrences;
  for (const auto& t : request.topics)
    ++occurrences[t.name];

  create_partitions_response response;
  bool changed = false;
  for (const auto& t : request.topics) {
    topic_result& out = response.results.emplace_back();
    out.name = t.name;
    out.error_message = std::nullopt;
    const auto fail = [&out](error_code code, std::string message) {
      out.error_code = wire(code);
      out.error_message = std::move(message);
    };
    if (occurrences[t.name] > 1) {
      fail(error_code::invalid_request, "Duplicate topic name.");
      continue;
    }
    const auto table = services.metadata.topics();
    const cluster::topic_metadata* meta = table->find(t.name);
    if (meta == nullptr) {
      fail(error_code::unknown_topic_or_partition,
           "This server does not host this topic-partition.");
      continue;
    }
    if (auto bad = check(services, t, *meta)) {
      fail(bad->code, std::move(bad->message));
      continue;
    }
    if (request.validate_only) continue;
    if (auto bad = services.metadata.create_partitions(meta->id, t.count)) {
      fail(to_kafka_error(make_error_code(bad->code)), std::move(bad->message));
      continue;
    }
    changed = true;
  }
  if (changed) reconcile_partitions(services);
  send_response(ctx, response);
}

}  // namespace

void handle_create_partitions(request_context ctx, protocol::reader& body) {
  create_partitions_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { create_all(c, request); });
}

}  // namespace caudal::broker
