// CreateTopics (key 19, v0-7): creates topics with their partition counts, replication
// factors, manual assignments and configs, or only validates them (v1+ validate_only).
// Errors carry Kafka's codes and, from v1, its messages; from v5 a created topic's
// effective configs come back, from v7 its id.

#include "protocol/generated/create_topics.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"
#include "cluster/topic_config.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <variant>

namespace caudal::broker {
namespace {

using protocol::create_topics_request;
using protocol::create_topics_response;
using protocol::error_code;
using topic_result = create_topics_response::creatable_topic_result;

struct topic_error {
  error_code code;
  std::string message;
};

// Checks a manual assignment (KRaft's rules): partitions 0..n-1, each placed on a
// non-empty list of distinct registered brokers; this node is the only broker.
std::optional<topic_error> check_assignments(
    const broker_services& services,
    const std::vector<create_topics_request::creatable_replica_assignment>& assignments) {
  const std::int32_t self = services.config.node_id();
  std::set<std::int32_t> indexes;
  for (const auto& a : assignments) {
    if (!indexes.insert(a.partition_index).second) {
      return topic_error{error_code::invalid_replica_assignment,
                         fmt::format("Found multiple manual partition assignments for partition {}",
                                     a.partition_index)};
    }
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
  }
  const auto count = static_cast<std::int32_t>(assignments.size());
  if (!indexes.empty() && (*indexes.begin() != 0 || *indexes.rbegin() != count - 1)) {
    return topic_error{error_code::invalid_replica_assignment,
                       "partitions should be a consecutive 0-based integer sequence"};
  }
  return std::nullopt;
}

// Turns a requested topic into a new_topic (defaults and assignments resolved), or the
// reason it cannot be created. Checks what validate_new_topic() does not.
std::variant<cluster::new_topic, topic_error> resolve(
    const broker_services& services, const create_topics_request::creatable_topic& t) {
  if (auto bad = cluster::check_topic_name(t.name)) {
    return topic_error{error_code::invalid_topic_exception, *bad};
  }
  cluster::new_topic out;
  out.name = t.name;
  if (!t.assignments.empty()) {
    if (t.num_partitions != -1) {
      return topic_error{error_code::invalid_request,
                         "A manual partition assignment was specified, but numPartitions was not "
                         "set to -1."};
    }
    if (t.replication_factor != -1) {
      return topic_error{error_code::invalid_request,
                         "A manual partition assignment was specified, but replicationFactor was "
                         "not set to -1."};
    }
    if (auto bad = check_assignments(services, t.assignments)) return *bad;
    out.partitions = static_cast<std::int32_t>(t.assignments.size());
    out.replication_factor = static_cast<std::int16_t>(t.assignments.front().broker_ids.size());
  } else {
    out.partitions = t.num_partitions == -1
                         ? static_cast<std::int32_t>(services.config.integer("num.partitions"))
                         : t.num_partitions;
    out.replication_factor =
        t.replication_factor == -1
            ? static_cast<std::int16_t>(services.config.integer("default.replication.factor"))
            : t.replication_factor;
  }
  for (const auto& c : t.configs) {
    if (!c.value) {
      return topic_error{error_code::invalid_config,
                         fmt::format("Null value not supported for topic configs: {}", c.name)};
    }
    out.configs[c.name] = *c.value;
  }
  return out;
}

// Fills what v5+ returns for a topic that was (or, validating, would be) created.
void describe_created(const broker_services& services, const cluster::new_topic& t,
                      topic_result& out) {
  out.num_partitions = t.partitions;
  out.replication_factor = t.replication_factor;
  out.configs.emplace();
  for (auto& e : cluster::describe_topic_config(t.configs, services.config)) {
    create_topics_response::creatable_topic_configs c;
    c.name = std::move(e.name);
    c.value = std::move(e.value);
    c.read_only = e.read_only;
    c.config_source = static_cast<std::int8_t>(e.source);
    c.is_sensitive = false;
    out.configs->push_back(std::move(c));
  }
}

// Runs on the background executor: metadata changes fsync.
void create_all(request_context& ctx, const create_topics_request& request) {
  broker_services& services = *ctx.services;
  std::map<std::string, int, std::less<>> occurrences;
  for (const auto& t : request.topics)
    ++occurrences[t.name];

  create_topics_response response;
  std::set<std::string, std::less<>> answered;
  bool created = false;
  for (const auto& t : request.topics) {
    if (!answered.insert(t.name).second) continue;  // a duplicate gets one answer
    topic_result& out = response.topics.emplace_back();
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
    auto resolved = resolve(services, t);
    if (auto* bad = std::get_if<topic_error>(&resolved)) {
      fail(bad->code, std::move(bad->message));
      continue;
    }
    const auto& topic = std::get<cluster::new_topic>(resolved);
    if (request.validate_only) {
      if (auto bad = services.metadata.validate_new_topic(topic)) {
        fail(to_kafka_error(make_error_code(bad->code)), std::move(bad->message));
        continue;
      }
      describe_created(services, topic, out);
      continue;
    }
    auto made = services.metadata.create_topic(topic);
    if (auto* bad = std::get_if<cluster::op_error>(&made)) {
      fail(to_kafka_error(make_error_code(bad->code)), std::move(bad->message));
      continue;
    }
    created = true;
    out.topic_id = to_wire(std::get<cluster::topic_metadata>(made).id);
    describe_created(services, topic, out);
  }
  // The logs exist before the client hears of the topic.
  if (created) reconcile_partitions(services);
  send_response(ctx, response);
}

}  // namespace

void handle_create_topics(request_context ctx, protocol::reader& body) {
  create_topics_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { create_all(c, request); });
}

}  // namespace caudal::broker
