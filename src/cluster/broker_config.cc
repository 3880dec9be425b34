#include "cluster/broker_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace caudal::cluster {
namespace {

constexpr std::int64_t long_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int_max = std::numeric_limits<std::int32_t>::max();

constexpr std::array<std::string_view, 2> timestamp_types{"CreateTime", "LogAppendTime"};
constexpr std::array<std::string_view, 1> compression_types{"producer"};
constexpr std::array<std::string_view, 2> cleanup_items{"delete", "compact"};

const std::array definitions_table{
    config_def{"node.id", config_type::int32, "0", "This broker's id in the cluster", 0, int_max},
    config_def{"listeners", config_type::string, "PLAINTEXT://127.0.0.1:9092",
               "Comma-separated NAME://host:port addresses to listen on (port 0 picks a free one)"},
    config_def{"advertised.listeners", config_type::string, std::nullopt,
               "Addresses clients are told to connect to; defaults to listeners"},
    config_def{"admin.listener", config_type::string, "127.0.0.1:9644",
               "host:port of the HTTP admin listener (/metrics, /v1/...); port 0 picks a free "
               "one, an empty value disables it"},
    config_def{"log.dirs", config_type::string, std::nullopt,
               "The directory holding the partition logs (one directory); overrides log.dir"},
    config_def{"log.dir", config_type::string, "caudal-data",
               "The directory holding the partition logs"},
    config_def{"num.partitions", config_type::int32, "1",
               "Partitions of an auto-created topic, and of CreateTopics asking for -1", 1,
               int_max},
    config_def{"default.replication.factor", config_type::int32, "1",
               "Replication factor of auto-created topics", 1, 1},
    config_def{"auto.create.topics.enable", config_type::boolean, "true",
               "Create a topic when a client asks for its metadata or produces to it"},
    config_def{"delete.topic.enable", config_type::boolean, "true", "Allow DeleteTopics"},
    config_def{"log.retention.hours", config_type::int32, "168",
               "Retention in hours (lowest priority of the three retention keys)", -1, int_max},
    config_def{"log.retention.minutes", config_type::int32, std::nullopt,
               "Retention in minutes; overrides log.retention.hours", -1, int_max},
    config_def{"log.retention.ms", config_type::int64, std::nullopt,
               "Retention in milliseconds; overrides minutes and hours; -1 keeps forever", -1,
               long_max},
    config_def{"log.retention.bytes", config_type::int64, "-1",
               "Size a partition may reach before old segments are deleted; -1 means no limit", -1,
               long_max},
    config_def{"log.retention.check.interval.ms", config_type::int64, "300000",
               "How often retention runs", 1, long_max},
    config_def{"log.segment.bytes", config_type::int32, "1073741824", "Size of a segment file", 14,
               int_max},
    config_def{"log.roll.hours", config_type::int32, "168",
               "Age after which a segment is rolled even if not full", 1, int_max},
    config_def{"log.roll.ms", config_type::int64, std::nullopt,
               "Age in milliseconds after which a segment is rolled; overrides log.roll.hours", 1,
               long_max},
    config_def{"log.index.interval.bytes", config_type::int32, "4096",
               "Bytes between offset index entries", 0, int_max},
    config_def{"log.flush.interval.messages", config_type::int64, "1",
               "Messages appended before a flush; 1 (Caudal's default) makes every append "
               "durable before it is acknowledged, with group commit",
               1, long_max},
    config_def{"log.flush.interval.ms", config_type::int64, std::nullopt,
               "Milliseconds between flushes when log.flush.interval.messages > 1", 0, long_max},
    config_def{"log.cleanup.policy", config_type::list, "delete",
               "Default cleanup policy of topics (compaction is not implemented yet)", 0, 0,
               cleanup_items},
    config_def{"log.message.timestamp.type", config_type::string, "CreateTime",
               "Whether record timestamps are the producer's or the broker's append time", 0, 0,
               timestamp_types},
    config_def{"log.message.timestamp.before.max.ms", config_type::int64, "9223372036854775807",
               "How far in the past a CreateTime timestamp may be before the batch is rejected", 0,
               long_max},
    config_def{"log.message.timestamp.after.max.ms", config_type::int64, "9223372036854775807",
               "How far in the future a CreateTime timestamp may be before the batch is rejected",
               0, long_max},
    config_def{"message.max.bytes", config_type::int32, "1048588",
               "Largest record batch a topic accepts", 0, int_max},
    config_def{"min.insync.replicas", config_type::int32, "1",
               "Replicas that must acknowledge an acks=all produce", 1, int_max},
    config_def{"compression.type", config_type::string, "producer",
               "Compression of stored batches: producer keeps what the producer sent", 0, 0,
               compression_types},
    config_def{"socket.request.max.bytes", config_type::int32, "104857600", "Largest request frame",
               1, int_max},
    config_def{"connections.max.idle.ms", config_type::int64, "600000",
               "Idle connections are closed after this long", 1, long_max},
    config_def{"num.network.threads", config_type::int32, "0",
               "Event loops serving connections; 0 means one per core", 0, 1024},
    config_def{"queued.max.requests.per.connection", config_type::int32, "16",
               "Requests read ahead on one connection before reading pauses", 1, 1024},
    config_def{"group.initial.rebalance.delay.ms", config_type::int32, "3000",
               "How long a new group waits for more members before its first rebalance", 0,
               int_max},
    config_def{"group.min.session.timeout.ms", config_type::int32, "6000",
               "Smallest session timeout a group member may ask for", 0, int_max},
    config_def{"group.max.session.timeout.ms", config_type::int32, "1800000",
               "Largest session timeout a group member may ask for", 0, int_max},
    config_def{"group.max.size", config_type::int32, "2147483647",
               "Most members a consumer group may have", 1, int_max},
    config_def{"offsets.topic.num.partitions", config_type::int32, "10",
               "Partitions of __consumer_offsets when it is created (Kafka's default is 50; "
               "10 keeps a single node's file count low)",
               1, 1000},
    config_def{"offsets.topic.replication.factor", config_type::int32, "1",
               "Replication factor of __consumer_offsets", 1, 1},
    config_def{"offsets.topic.segment.bytes", config_type::int32, "104857600",
               "Segment size of __consumer_offsets", 14, int_max},
    config_def{"offsets.retention.minutes", config_type::int32, "10080",
               "How long the offsets of a group that has become empty are kept", 1, int_max},
    config_def{"offsets.retention.check.interval.ms", config_type::int64, "600000",
               "How often expired offsets are removed", 1, long_max},
    config_def{"offset.metadata.max.bytes", config_type::int32, "4096",
               "Largest metadata string an offset commit may carry", 0, int_max},
    config_def{"transactional.id.expiration.ms", config_type::int32, "604800000",
               "How long a transactional id without an open transaction is remembered", 1, int_max},
    config_def{"transaction.max.timeout.ms", config_type::int32, "900000",
               "Longest transaction timeout a producer may ask for", 1, int_max},
    config_def{"transaction.abort.timed.out.transaction.cleanup.interval.ms", config_type::int32,
               "10000", "How often transactions open past their timeout are aborted", 1, int_max},
    config_def{"producer.id.expiration.ms", config_type::int32, "86400000",
               "How long a partition remembers an idempotent producer after its last batch", 1,
               int_max},
    config_def{"producer.id.expiration.check.interval.ms", config_type::int32, "600000",
               "How often partitions forget expired idempotent producers", 1, int_max},
};

// Keys holding listener lists are checked by parse_listeners.
bool is_listener_key(std::string_view name) {
  return name == "listeners" || name == "advertised.listeners";
}

}  // namespace

std::variant<std::vector<listener>, std::string> parse_listeners(std::string_view value) {
  std::vector<listener> out;
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    const auto scheme = item.find("://");
    if (scheme == std::string_view::npos || scheme == 0) {
      return fmt::format("listener '{}' is not NAME://host:port", item);
    }
    listener l;
    l.name = std::string(item.substr(0, scheme));
    std::string_view hostport = item.substr(scheme + 3);
    std::string_view port_text;
    if (!hostport.empty() && hostport.front() == '[') {
      const auto close = hostport.find(']');
      if (close == std::string_view::npos || close + 1 >= hostport.size() ||
          hostport[close + 1] != ':') {
        return fmt::format("listener '{}' has a malformed IPv6 address", item);
      }
      l.host = std::string(hostport.substr(1, close - 1));
      port_text = hostport.substr(close + 2);
    } else {
      const auto colon = hostport.rfind(':');
      if (colon == std::string_view::npos) return fmt::format("listener '{}' has no port", item);
      l.host = std::string(hostport.substr(0, colon));
      port_text = hostport.substr(colon + 1);
    }
    int port = -1;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 0 ||
        port > 65535) {
      return fmt::format("listener '{}' has an invalid port", item);
    }
    l.port = static_cast<std::uint16_t>(port);
    if (l.name != "PLAINTEXT") {
      return fmt::format("listener '{}': only PLAINTEXT listeners are supported so far", item);
    }
    for (const auto& other : out) {
      if (other.name == l.name) return fmt::format("listener name {} is used twice", l.name);
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) return std::string("no listener given");
  return out;
}

std::span<const config_def> broker_config::definitions() {
  return definitions_table;
}

broker_config broker_config::load(const properties& values) {
  broker_config c;
  for (const auto& [key, value] : values) {
    const config_def* def = find_def(definitions_table, key);
    if (def == nullptr) throw config_error(fmt::format("unknown configuration key '{}'", key));
    if (!is_listener_key(key)) {
      if (auto err = check_value(*def, value)) throw config_error(*err);
    }
    c._explicit[key] = value;
  }
  // One directory per broker so far: JBOD is not supported, and saying so beats silently
  // using the first.
  if (auto dirs = c.value("log.dirs"); dirs && dirs->find(',') != std::string::npos) {
    throw config_error("log.dirs: only one directory is supported so far");
  }
  auto listeners = parse_listeners(c.string("listeners"));
  if (listeners.index() == 1) throw config_error("listeners: " + std::get<1>(listeners));
  c._listeners = std::get<0>(std::move(listeners));
  if (auto adv = c.value("advertised.listeners")) {
    auto parsed = parse_listeners(*adv);
    if (parsed.index() == 1) throw config_error("advertised.listeners: " + std::get<1>(parsed));
    c._advertised = std::get<0>(std::move(parsed));
  } else {
    c._advertised = c._listeners;
  }
  for (auto& l : c._advertised) {
    if (l.host.empty() || l.host == "0.0.0.0" || l.host == "::") l.host = "127.0.0.1";
  }
  return c;
}

broker_config::broker_config(const broker_config& other)
    : _explicit(other._explicit),
      _dynamic(other.dynamic()),
      _listeners(other._listeners),
      _advertised(other._advertised) {}

broker_config::broker_config(broker_config&& other) noexcept
    : _explicit(std::move(other._explicit)),
      _dynamic(other.dynamic()),
      _listeners(std::move(other._listeners)),
      _advertised(std::move(other._advertised)) {}

std::shared_ptr<const broker_config::dynamic_layers> broker_config::dynamic() const {
  std::lock_guard lock(_dynamic_mutex);
  return _dynamic;
}

void broker_config::set_dynamic(properties per_broker, properties cluster_default) const {
  auto next = std::make_shared<const dynamic_layers>(
      dynamic_layers{std::move(per_broker), std::move(cluster_default)});
  std::lock_guard lock(_dynamic_mutex);
  _dynamic = std::move(next);
}

bool broker_config::is_dynamic_key(std::string_view name) {
  // Kafka's dynamically updatable log and message configs (DynamicLogConfig); the rest of
  // the broker's keys need a restart.
  static constexpr std::array<std::string_view, 14> dynamic_keys{
      "log.retention.ms",
      "log.retention.bytes",
      "log.segment.bytes",
      "log.roll.ms",
      "log.index.interval.bytes",
      "log.flush.interval.messages",
      "log.flush.interval.ms",
      "log.cleanup.policy",
      "log.message.timestamp.type",
      "log.message.timestamp.before.max.ms",
      "log.message.timestamp.after.max.ms",
      "message.max.bytes",
      "compression.type",
      "min.insync.replicas",
  };
  return std::find(dynamic_keys.begin(), dynamic_keys.end(), name) != dynamic_keys.end();
}

std::optional<std::string> broker_config::layer_value(config_source layer,
                                                      std::string_view name) const {
  const properties* values = nullptr;
  const auto layers = dynamic();
  switch (layer) {
    case config_source::dynamic_broker:
      values = &layers->per_broker;
      break;
    case config_source::dynamic_default_broker:
      values = &layers->cluster_default;
      break;
    case config_source::static_broker:
      values = &_explicit;
      break;
    default:
      return std::nullopt;
  }
  if (auto it = values->find(name); it != values->end()) return it->second;
  return std::nullopt;
}

config_source broker_config::source(std::string_view name) const {
  const auto layers = dynamic();
  if (layers->per_broker.contains(name)) return config_source::dynamic_broker;
  if (layers->cluster_default.contains(name)) return config_source::dynamic_default_broker;
  if (_explicit.contains(name)) return config_source::static_broker;
  return config_source::default_value;
}

std::optional<std::string> broker_config::value(std::string_view name) const {
  const config_def* def = find_def(definitions_table, name);
  CAUDAL_ASSERT(def != nullptr, "undefined broker config key {}", name);
  const auto layers = dynamic();
  if (auto it = layers->per_broker.find(name); it != layers->per_broker.end()) return it->second;
  if (auto it = layers->cluster_default.find(name); it != layers->cluster_default.end()) {
    return it->second;
  }
  if (auto it = _explicit.find(name); it != _explicit.end()) return it->second;
  if (def->default_value) return std::string(*def->default_value);
  return std::nullopt;
}

bool broker_config::is_explicit(std::string_view name) const {
  return _explicit.find(name) != _explicit.end();
}

std::int64_t broker_config::integer(std::string_view name) const {
  auto v = value(name);
  CAUDAL_ASSERT(v.has_value(), "broker config {} has no value", name);
  return parse_integer(*v);
}

bool broker_config::boolean(std::string_view name) const {
  auto v = value(name);
  CAUDAL_ASSERT(v.has_value(), "broker config {} has no value", name);
  return parse_boolean(*v);
}

std::string broker_config::string(std::string_view name) const {
  auto v = value(name);
  CAUDAL_ASSERT(v.has_value(), "broker config {} has no value", name);
  return *v;
}

std::string broker_config::log_dir() const {
  if (auto dirs = value("log.dirs")) return *dirs;
  return string("log.dir");
}

std::int64_t broker_config::retention_ms() const {
  if (auto ms = value("log.retention.ms")) return parse_integer(*ms);  // dynamic layers too
  if (auto minutes = value("log.retention.minutes")) {
    const auto m = parse_integer(*minutes);
    return m < 0 ? -1 : m * 60'000;
  }
  const auto h = integer("log.retention.hours");
  return h < 0 ? -1 : h * 3'600'000;
}

std::int64_t broker_config::roll_ms() const {
  if (auto ms = value("log.roll.ms")) return parse_integer(*ms);
  return integer("log.roll.hours") * 3'600'000;
}

}  // namespace caudal::cluster
