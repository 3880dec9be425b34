// IncrementalAlterConfigs (key 44, v0-1): applies SET, DELETE, APPEND and SUBTRACT
// operations to the configs set on a topic, checks the result, and stores it (or only
// checks it: validate_only). APPEND and SUBTRACT work on list-type keys and start from the
// key's effective value. Broker configs are static in Caudal, so changing one is refused.

#include "protocol/generated/incremental_alter_configs.h"
#include "broker/config_resource.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"
#include "cluster/topic_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::incremental_alter_configs_request;
using protocol::incremental_alter_configs_response;
using alter_resource = incremental_alter_configs_request::alter_configs_resource;

enum class op : std::int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

// Whose configs an operation changes: a topic's overrides, or the broker configs set at
// run time for a BROKER resource.
enum class scope { topic, broker };

// Applies the operations of `r` to `current`; returns the new set or the first error.
std::variant<properties, resource_error> apply(const broker_services& services,
                                               const alter_resource& r, const properties& current,
                                               scope where) {
  const auto defs = where == scope::topic ? cluster::topic_config_definitions()
                                          : cluster::broker_config::definitions();
  std::set<std::string_view> keys;
  for (const auto& c : r.configs) {
    if (!keys.insert(c.name).second) {
      return resource_error{error_code::invalid_request, "Error due to duplicate config keys"};
    }
  }
  properties next = current;
  for (const auto& c : r.configs) {
    const auto kind = static_cast<op>(c.config_operation);
    if (c.config_operation < 0 || c.config_operation > 3) {
      return resource_error{error_code::invalid_request,
                            fmt::format("Unknown alter configs operation type {} for {}",
                                        static_cast<int>(c.config_operation), c.name)};
    }
    const cluster::config_def* def = cluster::find_def(defs, c.name);
    if (def == nullptr) {
      return resource_error{error_code::invalid_config,
                            fmt::format("Unknown {} config name: {}",
                                        where == scope::topic ? "topic" : "broker", c.name)};
    }
    if (where == scope::broker && !cluster::broker_config::is_dynamic_key(c.name)) {
      return resource_error{
          error_code::invalid_config,
          fmt::format("Cannot update these configs dynamically: Set({})", c.name)};
    }
    if (kind == op::remove) {
      next.erase(c.name);
      continue;
    }
    if (!c.value) {
      return resource_error{error_code::invalid_request,
                            fmt::format("Null value not supported for : {}", c.name)};
    }
    if (kind == op::set) {
      next[c.name] = *c.value;
      continue;
    }
    if (def->type != cluster::config_type::list) {
      return resource_error{error_code::invalid_config,
                            fmt::format("Can't APPEND or SUBTRACT to key {} because its type is "
                                        "not LIST.",
                                        c.name)};
    }
    const auto effective = where == scope::topic
                               ? cluster::topic_config_value(c.name, next, services.config)
                               : (next.contains(c.name) ? std::optional(next.at(c.name))
                                                        : services.config.value(c.name));
    auto items = split_list(effective.value_or(""));
    for (auto& v : split_list(*c.value)) {
      const auto at = std::find(items.begin(), items.end(), v);
      if (kind == op::append && at == items.end()) items.push_back(std::move(v));
      if (kind == op::subtract && at != items.end()) items.erase(at);
    }
    next[c.name] = join_list(items);
  }
  for (const auto& [k, v] : next) {
    if (current.contains(k) && current.at(k) == v) continue;  // unchanged
    auto bad = where == scope::topic ? cluster::check_topic_config(k, v)
                                     : check_dynamic_broker_config(k, v);
    if (bad) return resource_error{error_code::invalid_config, *bad};
  }
  return next;
}

// Runs on the background executor: metadata changes fsync.
void alter_all(request_context& ctx, const incremental_alter_configs_request& request) {
  broker_services& services = *ctx.services;
  std::map<std::pair<std::int8_t, std::string>, int> occurrences;
  for (const auto& r : request.resources)
    ++occurrences[{r.resource_type, r.resource_name}];

  incremental_alter_configs_response response;
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
        const auto table = services.metadata.topics();
        const cluster::topic_metadata* t = table->find(r.resource_name);
        if (t == nullptr) {
          fail(unknown_topic(r.resource_name));
          break;
        }
        auto next = apply(services, r, t->configs, scope::topic);
        if (auto* bad = std::get_if<resource_error>(&next)) {
          fail(*bad);
          break;
        }
        if (request.validate_only || std::get<properties>(next) == t->configs) break;
        if (auto bad = services.metadata.set_topic_configs(t->id, std::get<properties>(next))) {
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
        const auto table = services.metadata.topics();
        const properties& current = table->broker_configs(r.resource_name);
        auto next = apply(services, r, current, scope::broker);
        if (auto* bad = std::get_if<resource_error>(&next)) {
          fail(*bad);
          break;
        }
        if (request.validate_only || std::get<properties>(next) == current) break;
        if (auto err =
                services.metadata.set_broker_configs(r.resource_name, std::get<properties>(next))) {
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

void handle_incremental_alter_configs(request_context ctx, protocol::reader& body) {
  incremental_alter_configs_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { alter_all(c, request); });
}

}  // namespace caudal::broker
