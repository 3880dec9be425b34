// Metadata (key 3): brokers, the cluster id and controller, and topics with their
// partitions; creates requested topics that do not exist when auto-creation is on.

#include "protocol/generated/metadata.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::metadata_request;
using protocol::metadata_response;

metadata_response::metadata_response_topic describe_topic(const broker_services& services,
                                                          const cluster::topic_metadata& t) {
  metadata_response::metadata_response_topic out;
  out.name = t.name;
  out.topic_id = to_wire(t.id);
  out.is_internal = t.internal;
  const std::int32_t node = services.config.node_id();
  for (std::int32_t i = 0; i < t.partitions; ++i) {
    metadata_response::metadata_response_partition p;
    p.partition_index = i;
    p.leader_id = node;
    p.leader_epoch = 0;
    p.replica_nodes = {node};
    p.isr_nodes = {node};
    out.partitions.push_back(std::move(p));
  }
  return out;
}

// Builds and sends the response; `errors` holds creation failures by topic name.
void answer(request_context& ctx, const metadata_request& request,
            const std::map<std::string, cluster::op_error>& errors) {
  const broker_services& services = *ctx.services;
  metadata_response response;
  const auto& self = advertised_for(ctx);
  metadata_response::metadata_response_broker broker;
  broker.node_id = services.config.node_id();
  broker.host = self.host;
  broker.port = self.port;
  response.brokers.push_back(std::move(broker));
  response.cluster_id = services.metadata.cluster_id();
  response.controller_id = services.config.node_id();

  const auto table = services.metadata.topics();
  // v0: an empty list means every topic; v1+: null means every topic.
  const bool all_topics = !request.topics || (ctx.version == 0 && request.topics->empty());
  if (all_topics) {
    for (const auto& [name, t] : table->topics()) {
      response.topics.push_back(describe_topic(services, t));
    }
  } else {
    for (const auto& wanted : *request.topics) {
      const cluster::topic_metadata* t = nullptr;
      if (wanted.name) {
        t = table->find(*wanted.name);
      } else if (!wanted.topic_id.is_zero()) {
        t = table->find(from_wire(wanted.topic_id));
      }
      if (t != nullptr) {
        response.topics.push_back(describe_topic(services, *t));
        continue;
      }
      metadata_response::metadata_response_topic missing;
      missing.name = wanted.name;
      missing.topic_id = wanted.topic_id;
      missing.error_code = wire(error_code::unknown_topic_or_partition);
      if (wanted.name) {
        if (auto it = errors.find(*wanted.name); it != errors.end()) {
          missing.error_code = wire(to_kafka_error(make_error_code(it->second.code)));
        } else if (cluster::check_topic_name(*wanted.name)) {
          missing.error_code = wire(error_code::invalid_topic_exception);
        }
      } else {
        missing.error_code = wire(error_code::unknown_topic_id);
      }
      response.topics.push_back(std::move(missing));
    }
  }
  send_response(ctx, response);
}

}  // namespace

void handle_metadata(request_context ctx, protocol::reader& body) {
  metadata_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  // Before v4 there is no flag, and clients expect auto-creation when the broker allows it.
  const bool allow = (ctx.version < 4 || request.allow_auto_topic_creation) &&
                     ctx.services->config.boolean("auto.create.topics.enable");
  std::vector<std::string> to_create;
  if (allow && request.topics && !(ctx.version == 0 && request.topics->empty())) {
    const auto table = ctx.services->metadata.topics();
    for (const auto& t : *request.topics) {
      if (t.name && table->find(*t.name) == nullptr && !cluster::check_topic_name(*t.name)) {
        to_create.push_back(*t.name);
      }
    }
  }
  if (to_create.empty()) {
    answer(ctx, request, {});
    return;
  }
  run_blocking(std::move(ctx), [request = std::move(request),
                                to_create = std::move(to_create)](request_context& c) {
    auto results = auto_create_topics(*c.services, to_create);
    std::map<std::string, cluster::op_error> errors;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i]) errors.emplace(to_create[i], *results[i]);
    }
    answer(c, request, errors);
  });
}

}  // namespace caudal::broker
