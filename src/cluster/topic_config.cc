#include "cluster/topic_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>

namespace caudal::cluster {
namespace {

constexpr std::int64_t long_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int_max = std::numeric_limits<std::int32_t>::max();
constexpr std::array<std::string_view, 2> cleanup_items{"delete", "compact"};
constexpr std::array<std::string_view, 2> timestamp_types{"CreateTime", "LogAppendTime"};
constexpr std::array<std::string_view, 1> compression_types{"producer"};

// Defaults come from the broker (see broker_key), so default_value is left empty here.
const std::array topic_defs{
    config_def{"cleanup.policy", config_type::list, std::nullopt,
               "delete: old segments are deleted by retention (compact is not implemented yet)", 0,
               0, cleanup_items},
    config_def{"compression.type", config_type::string, std::nullopt,
               "producer: batches are stored as the producer compressed them", 0, 0,
               compression_types},
    config_def{"retention.ms", config_type::int64, std::nullopt,
               "How long a segment is kept after its newest record; -1 keeps forever", -1,
               long_max},
    config_def{"retention.bytes", config_type::int64, std::nullopt,
               "Size a partition may reach before old segments are deleted; -1: no limit", -1,
               long_max},
    config_def{"segment.bytes", config_type::int32, std::nullopt, "Size of a segment file", 14,
               int_max},
    config_def{"segment.ms", config_type::int64, std::nullopt,
               "Age after which a segment is rolled even if not full", 1, long_max},
    config_def{"max.message.bytes", config_type::int32, std::nullopt,
               "Largest record batch the topic accepts", 0, int_max},
    config_def{"message.timestamp.type", config_type::string, std::nullopt,
               "CreateTime keeps the producer's timestamps; LogAppendTime sets the broker's", 0, 0,
               timestamp_types},
    config_def{"message.timestamp.before.max.ms", config_type::int64, std::nullopt,
               "How far in the past a CreateTime timestamp may be", 0, long_max},
    config_def{"message.timestamp.after.max.ms", config_type::int64, std::nullopt,
               "How far in the future a CreateTime timestamp may be", 0, long_max},
    config_def{"min.insync.replicas", config_type::int32, std::nullopt,
               "Replicas that must acknowledge an acks=all produce", 1, int_max},
    config_def{"flush.messages", config_type::int64, std::nullopt,
               "Messages between flushes; 1 makes every append durable before it is "
               "acknowledged (group-committed)",
               1, long_max},
    config_def{"flush.ms", config_type::int64, std::nullopt,
               "Milliseconds between flushes when flush.messages > 1", 0, long_max},
    config_def{"index.interval.bytes", config_type::int32, std::nullopt,
               "Bytes between offset index entries", 0, int_max},
};

// The broker key whose value is a topic key's default, or nullptr when it is computed.
const char* broker_key(std::string_view topic_key) {
  if (topic_key == "cleanup.policy") return "log.cleanup.policy";
  if (topic_key == "compression.type") return "compression.type";
  if (topic_key == "retention.bytes") return "log.retention.bytes";
  if (topic_key == "segment.bytes") return "log.segment.bytes";
  if (topic_key == "max.message.bytes") return "message.max.bytes";
  if (topic_key == "message.timestamp.type") return "log.message.timestamp.type";
  if (topic_key == "message.timestamp.before.max.ms") return "log.message.timestamp.before.max.ms";
  if (topic_key == "message.timestamp.after.max.ms") return "log.message.timestamp.after.max.ms";
  if (topic_key == "min.insync.replicas") return "min.insync.replicas";
  if (topic_key == "flush.messages") return "log.flush.interval.messages";
  if (topic_key == "index.interval.bytes") return "log.index.interval.bytes";
  return nullptr;  // retention.ms, segment.ms, flush.ms
}

struct default_value {
  std::string value;
  config_source source;
};

default_value broker_default(std::string_view key, const broker_config& broker) {
  if (const char* b = broker_key(key)) return {*broker.value(b), broker.source(b)};
  // The most specific of several broker keys decides the source.
  const auto strongest = [&](std::initializer_list<std::string_view> keys) {
    auto best = config_source::default_value;
    for (auto k : keys)
      best = std::min(best, broker.source(k));
    return best;
  };
  if (key == "retention.ms") {
    return {std::to_string(broker.retention_ms()),
            strongest({"log.retention.ms", "log.retention.minutes", "log.retention.hours"})};
  }
  if (key == "segment.ms") {
    return {std::to_string(broker.roll_ms()), strongest({"log.roll.ms", "log.roll.hours"})};
  }
  CAUDAL_ASSERT(key == "flush.ms", "no default for topic config {}", key);
  if (auto ms = broker.value("log.flush.interval.ms")) {
    return {*ms, broker.source("log.flush.interval.ms")};
  }
  return {std::to_string(long_max), config_source::default_value};
}

}  // namespace

std::span<const config_def> topic_config_definitions() {
  return topic_defs;
}

std::optional<std::string> check_topic_config(std::string_view name, std::string_view value) {
  const config_def* def = find_def(topic_defs, name);
  if (def == nullptr) return fmt::format("Unknown topic config name: {}", name);
  if (auto err = check_value(*def, value)) return err;
  if (name == "cleanup.policy" && value.find("compact") != std::string_view::npos) {
    return std::string(
        "cleanup.policy=compact is not supported yet: log compaction is not "
        "implemented in this version of Caudal");
  }
  return std::nullopt;
}

std::optional<std::string> topic_config_value(std::string_view name, const properties& overrides,
                                              const broker_config& broker) {
  if (auto it = overrides.find(name); it != overrides.end()) return it->second;
  return broker_default(name, broker).value;
}

std::vector<config_entry> describe_topic_config(const properties& overrides,
                                                const broker_config& broker) {
  std::vector<config_entry> out;
  for (const auto& def : topic_defs) {
    if (auto it = overrides.find(def.name); it != overrides.end()) {
      out.push_back(
          {std::string(def.name), it->second, config_source::topic, false, std::string(def.doc)});
    } else {
      auto d = broker_default(def.name, broker);
      out.push_back({std::string(def.name), d.value, d.source, false, std::string(def.doc)});
    }
  }
  return out;
}

storage::log_config to_log_config(const properties& overrides, const broker_config& broker) {
  auto get = [&](std::string_view key) {
    return parse_integer(*topic_config_value(key, overrides, broker));
  };
  storage::log_config c;
  c.segment_bytes = get("segment.bytes");
  c.segment_ms = get("segment.ms");
  c.retention_ms = get("retention.ms");
  c.retention_bytes = get("retention.bytes");
  c.max_message_bytes = static_cast<std::int32_t>(get("max.message.bytes"));
  c.index_interval_bytes = static_cast<std::int32_t>(get("index.interval.bytes"));
  c.flush_messages = get("flush.messages");
  c.flush_ms = get("flush.ms");
  c.flush =
      c.flush_messages <= 1 ? storage::flush_policy::every_append : storage::flush_policy::interval;
  return c;
}

std::vector<config_entry> describe_broker_config(const broker_config& broker) {
  std::vector<config_entry> out;
  for (const auto& def : broker_config::definitions()) {
    out.push_back({std::string(def.name), broker.value(def.name), broker.source(def.name),
                   !broker_config::is_dynamic_key(def.name), std::string(def.doc)});
  }
  return out;
}

}  // namespace caudal::cluster
