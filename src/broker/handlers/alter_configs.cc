// AlterConfigs (key 33, v0-2): replaces the whole set of configs on a topic with the given
// entries (non-incremental, as in Kafka: keys left out go back to their defaults; a null
// value is left out too), after checking each. validate_only checks without changing.
// Broker configs are static in Caudal, so changing one is refused.

#include "protocol/generated/alter_configs.h"
#include "broker/config_resource.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"
#include "cluster/topic_config.h"

#include <map>

namespace caudal::broker {
namespace {

using protocol::alter_configs_request;
using protocol::alter_configs_response;
using protocol::error_code;

// Checks a topic resource and builds its new configs.
std::variant<properties, resource_error> new_topic_configs(
    const broker_services& services, const alter_configs_request::alter_configs_resource& r,
    cluster::topic_id& id) {
  const auto table = services.metadata.topics();
  const cluster::topic_metadata* t = table->find(r.resource_name);
  if (t == nullptr) return unknown_topic(r.resource_name);
  id = t->id;
  properties out;
  for (const auto& c : r.configs) {
    if (!c.value) continue;
    if (auto bad = cluster::check_topic_config(c.name, *c.value)) {
      return resource_error{error_code::invalid_config, *bad};
    }
    out[c.name] = *c.value;
  }
  return out;
}

// Runs on the background executor: metadata changes fsync.
void alter_all(request_context& ctx, const alter_configs_request& request) {
  broker_services& services = *ctx.services;
  std::map<std::pair<std::int8_t, std::string>, int> occurrences;
  for (const auto& r : request.resources)
    ++occurrences[{r.resource_type, r.resource_name}];

  alter_configs_response response;
  bool changed = false;
  for (const auto& r : request.resources) {
    auto& out = response.responses.emplace_back();
    out.resource_type = r.resource_type;
    out.resource_name = r.resource_name;
    out.error_message = std::nullopt;
    const auto fail = [&out](const resource_error& e) {
      out.error_code = wire(e.code);
      out.error_message = e.message;
    };
    if (occurrences[{r.resource_type, r.resource_name}] > 1) {
      fail({error_code::invalid_request, "Duplicate resource."});
      continue;
    }
    switch (static_cast<config_resource_type>(r.resource_type)) {
      case config_resource_type::topic: {
        cluster::topic_id id;
        auto configs = new_topic_configs(services, r, id);
        if (auto* bad = std::get_if<resource_error>(&configs)) {
          fail(*bad);
          break;
        }
        if (request.validate_only) break;
        if (auto bad = services.metadata.set_topic_configs(id, std::get<properties>(configs))) {
          fail({to_kafka_error(make_error_code(bad->code)), bad->message});
          break;
        }
        changed = true;
        break;
      }
      case config_resource_type::broker: {
        if (auto bad = check_broker_resource(services, r.resource_name)) {
          fail(*bad);
          break;
        }
        // The whole set of run-time broker configs of this resource is replaced, as
        // Kafka's (non-incremental) AlterConfigs does.
        properties configs;
        std::optional<std::string> bad;
        for (const auto& c : r.configs) {
          if (!c.value) continue;
          bad = check_dynamic_broker_config(c.name, *c.value);
          if (bad) break;
          configs[c.name] = *c.value;
        }
        if (bad) {
          fail({error_code::invalid_config, *bad});
          break;
        }
        if (request.validate_only) break;
        if (auto err = services.metadata.set_broker_configs(r.resource_name, configs)) {
          fail({to_kafka_error(make_error_code(err->code)), err->message});
          break;
        }
        changed = true;
        break;
      }
      case config_resource_type::broker_logger:
      default:
        fail(unsupported_resource_type(r.resource_type));
        break;
    }
  }
  // Logs pick up the new settings (partition_manager::reconcile calls log::set_config).
  if (changed) reconcile_partitions(services);
  send_response(ctx, response);
}

}  // namespace

void handle_alter_configs(request_context ctx, protocol::reader& body) {
  alter_configs_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { alter_all(c, request); });
}

}  // namespace caudal::broker
