// DescribeConfigs (key 32, v0-4): the effective configs of topics and of this broker, with
// Kafka's sources (v1+), synonyms (v1+ include_synonyms), types and documentation (v3+).
// A topic config's synonyms are, in precedence order: the value set on the topic, the
// broker keys that supply its default when set in the properties file, then the built-in
// default (Kafka's LogConfig.TopicConfigSynonyms).

#include "protocol/generated/describe_configs.h"
#include "broker/config_resource.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "cluster/topic_config.h"

#include <array>
#include <utility>

namespace caudal::broker {
namespace {

using protocol::describe_configs_request;
using protocol::describe_configs_response;
using protocol::error_code;
using config_result = describe_configs_response::describe_configs_resource_result;
using synonym = describe_configs_response::describe_configs_synonym;

// The broker keys that give each topic key its default, highest precedence first. This
// mirrors the mapping in cluster/topic_config.cc, which keeps it private.
struct topic_synonyms {
  std::string_view topic_key;
  std::array<std::string_view, 3> broker_keys;
};
constexpr std::array topic_synonym_table{
    topic_synonyms{"cleanup.policy", {"log.cleanup.policy"}},
    topic_synonyms{"compression.type", {"compression.type"}},
    topic_synonyms{"retention.ms",
                   {"log.retention.ms", "log.retention.minutes", "log.retention.hours"}},
    topic_synonyms{"retention.bytes", {"log.retention.bytes"}},
    topic_synonyms{"segment.bytes", {"log.segment.bytes"}},
    topic_synonyms{"segment.ms", {"log.roll.ms", "log.roll.hours"}},
    topic_synonyms{"max.message.bytes", {"message.max.bytes"}},
    topic_synonyms{"message.timestamp.type", {"log.message.timestamp.type"}},
    topic_synonyms{"message.timestamp.before.max.ms", {"log.message.timestamp.before.max.ms"}},
    topic_synonyms{"message.timestamp.after.max.ms", {"log.message.timestamp.after.max.ms"}},
    topic_synonyms{"min.insync.replicas", {"min.insync.replicas"}},
    topic_synonyms{"flush.messages", {"log.flush.interval.messages"}},
    topic_synonyms{"flush.ms", {"log.flush.interval.ms"}},
    topic_synonyms{"index.interval.bytes", {"log.index.interval.bytes"}},
};

std::span<const std::string_view> broker_keys_for(std::string_view topic_key) {
  for (const auto& s : topic_synonym_table) {
    if (s.topic_key != topic_key) continue;
    std::size_t n = 0;
    while (n < s.broker_keys.size() && !s.broker_keys[n].empty())
      ++n;
    return {s.broker_keys.data(), n};
  }
  return {};
}

// A broker with nothing set: the source of built-in defaults.
const cluster::broker_config& default_broker() {
  static const cluster::broker_config config = cluster::broker_config::load({});
  return config;
}

std::optional<std::string> broker_default(std::string_view key) {
  const cluster::config_def* def = cluster::find_def(cluster::broker_config::definitions(), key);
  if (def == nullptr || !def->default_value) return std::nullopt;
  return std::string(*def->default_value);
}

std::vector<synonym> topic_key_synonyms(const cluster::broker_config& broker,
                                        const properties& overrides, std::string_view key) {
  std::vector<synonym> out;
  if (auto it = overrides.find(key); it != overrides.end()) {
    out.push_back(
        {std::string(key), it->second, static_cast<std::int8_t>(cluster::config_source::topic)});
  }
  const auto broker_keys = broker_keys_for(key);
  for (const auto layer :
       {cluster::config_source::dynamic_broker, cluster::config_source::dynamic_default_broker,
        cluster::config_source::static_broker}) {
    for (const auto b : broker_keys) {
      if (auto v = broker.layer_value(layer, b)) {
        out.push_back({std::string(b), std::move(v), static_cast<std::int8_t>(layer)});
      }
    }
  }
  for (const auto b : broker_keys) {
    if (auto d = broker_default(b)) {
      out.push_back(
          {std::string(b), *d, static_cast<std::int8_t>(cluster::config_source::default_value)});
      return out;
    }
  }
  // No broker key has a default (flush.ms): the topic key's own built-in default.
  out.push_back({std::string(key), cluster::topic_config_value(key, {}, default_broker()),
                 static_cast<std::int8_t>(cluster::config_source::default_value)});
  return out;
}

std::vector<synonym> broker_key_synonyms(const cluster::broker_config& broker,
                                         std::string_view key) {
  std::vector<synonym> out;
  for (const auto layer :
       {cluster::config_source::dynamic_broker, cluster::config_source::dynamic_default_broker,
        cluster::config_source::static_broker}) {
    if (auto v = broker.layer_value(layer, key)) {
      out.push_back({std::string(key), std::move(v), static_cast<std::int8_t>(layer)});
    }
  }
  if (auto d = broker_default(key)) {
    out.push_back(
        {std::string(key), *d, static_cast<std::int8_t>(cluster::config_source::default_value)});
  }
  return out;
}

bool wanted(const describe_configs_request::describe_configs_resource& resource,
            std::string_view key) {
  // Null, and (as in Kafka) an empty list, mean every key.
  if (!resource.configuration_keys || resource.configuration_keys->empty()) return true;
  for (const auto& k : *resource.configuration_keys) {
    if (k == key) return true;
  }
  return false;
}

config_result to_result(cluster::config_entry&& e, std::span<const cluster::config_def> defs,
                        bool include_documentation) {
  config_result out;
  const cluster::config_def* def = cluster::find_def(defs, e.name);
  out.config_type = def ? wire_config_type(def->type) : 0;
  out.name = std::move(e.name);
  out.value = std::move(e.value);
  out.read_only = e.read_only;
  out.is_default = e.source == cluster::config_source::default_value;
  out.config_source = static_cast<std::int8_t>(e.source);
  out.is_sensitive = false;
  out.documentation =
      include_documentation ? std::optional<std::string>(std::move(e.doc)) : std::nullopt;
  return out;
}

describe_configs_response::describe_configs_result describe(
    const request_context& ctx, const describe_configs_request& request,
    const describe_configs_request::describe_configs_resource& resource) {
  const broker_services& services = *ctx.services;
  const bool synonyms = ctx.version >= 1 && request.include_synonyms;
  const bool documentation = ctx.version >= 3 && request.include_documentation;
  describe_configs_response::describe_configs_result out;
  out.resource_type = resource.resource_type;
  out.resource_name = resource.resource_name;
  out.error_message = std::nullopt;
  const auto fail = [&out](const resource_error& e) {
    out.error_code = wire(e.code);
    out.error_message = e.message;
  };
  switch (static_cast<config_resource_type>(resource.resource_type)) {
    case config_resource_type::topic: {
      if (auto bad = cluster::check_topic_name(resource.resource_name)) {
        fail({error_code::invalid_topic_exception, *bad});
        return out;
      }
      const auto table = services.metadata.topics();
      const cluster::topic_metadata* t = table->find(resource.resource_name);
      if (t == nullptr) {
        fail(unknown_topic(resource.resource_name));
        return out;
      }
      for (auto& e : cluster::describe_topic_config(t->configs, services.config)) {
        if (!wanted(resource, e.name)) continue;
        std::vector<synonym> list;
        if (synonyms) list = topic_key_synonyms(services.config, t->configs, e.name);
        out.configs.push_back(
            to_result(std::move(e), cluster::topic_config_definitions(), documentation));
        out.configs.back().synonyms = std::move(list);
      }
      return out;
    }
    case config_resource_type::broker: {
      if (auto bad = check_broker_resource(services, resource.resource_name)) {
        fail(*bad);
        return out;
      }
      // An empty name asks for the cluster-wide dynamic defaults: only the keys set there,
      // as Kafka answers.
      if (resource.resource_name.empty()) {
        for (const auto& [name, value] : services.metadata.topics()->broker_configs("")) {
          if (!wanted(resource, name)) continue;
          cluster::config_entry e{name, value, cluster::config_source::dynamic_default_broker,
                                  false, ""};
          if (const auto* def = cluster::find_def(cluster::broker_config::definitions(), name)) {
            e.doc = std::string(def->doc);
          }
          out.configs.push_back(
              to_result(std::move(e), cluster::broker_config::definitions(), documentation));
        }
        return out;
      }
      for (auto& e : cluster::describe_broker_config(services.config)) {
        if (!wanted(resource, e.name)) continue;
        std::vector<synonym> list;
        if (synonyms) list = broker_key_synonyms(services.config, e.name);
        out.configs.push_back(
            to_result(std::move(e), cluster::broker_config::definitions(), documentation));
        out.configs.back().synonyms = std::move(list);
      }
      return out;
    }
    case config_resource_type::broker_logger:
    default:
      fail(unsupported_resource_type(resource.resource_type));
      return out;
  }
}

}  // namespace

void handle_describe_configs(request_context ctx, protocol::reader& body) {
  describe_configs_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  describe_configs_response response;
  for (const auto& resource : request.resources)
    response.results.push_back(describe(ctx, request, resource));
  send_response(ctx, response);
}

}  // namespace caudal::broker
