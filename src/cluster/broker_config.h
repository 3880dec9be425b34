#pragma once

// The broker's static configuration: Kafka's server.properties keys that Caudal
// implements, with Kafka's names and defaults except where Caudal's differ on purpose
// (listeners on 127.0.0.1, log.dirs in ./caudal-data, node.id 0, and
// log.flush.interval.messages = 1: every append durable before it is acknowledged, with
// group commit). Unknown keys are errors: a key Caudal would silently ignore is a lie.

#include "base/properties.h"
#include "cluster/config_def.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace caudal::cluster {

/// A start-up configuration error; the message names the key.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One `NAME://host:port` listener. An empty host means every interface.
struct listener {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const listener&, const listener&) = default;
};

/// Parses a comma-separated listener list. Returns the error message if malformed.
[[nodiscard]] std::variant<std::vector<listener>, std::string> parse_listeners(
    std::string_view value);

class broker_config {
 public:
  broker_config() = default;
  broker_config(const broker_config& other);
  broker_config(broker_config&& other) noexcept;
  broker_config& operator=(const broker_config&) = delete;
  broker_config& operator=(broker_config&&) = delete;
  ~broker_config() = default;

  /// Every key the broker accepts.
  [[nodiscard]] static std::span<const config_def> definitions();

  /// Validates `values` (the properties file with command-line overrides applied) and
  /// fills in defaults. Throws config_error naming the first unknown or malformed key.
  [[nodiscard]] static broker_config load(const properties& values);

  /// The effective value of `name` as a string, nullopt if it has none. Requires: a
  /// defined key.
  [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
  /// Whether `name` was set explicitly (file or flag) rather than defaulted.
  [[nodiscard]] bool is_explicit(std::string_view name) const;
  /// Where the effective value of `name` comes from: a dynamic layer, the file, or the
  /// default.
  [[nodiscard]] config_source source(std::string_view name) const;
  /// The value of `name` in one layer only (dynamic_broker, dynamic_default_broker or
  /// static_broker), nullopt when that layer does not set it.
  [[nodiscard]] std::optional<std::string> layer_value(config_source layer,
                                                       std::string_view name) const;

  /// Whether `name` may be changed at run time (AlterConfigs on a BROKER resource), as
  /// Kafka's dynamic broker configs.
  [[nodiscard]] static bool is_dynamic_key(std::string_view name);
  /// Replaces the dynamic layers with what the metadata log holds: the values set for
  /// this broker and the cluster-wide defaults. The layers are state replayed from the
  /// metadata log rather than configuration, hence const; thread-safe.
  void set_dynamic(properties per_broker, properties cluster_default) const;

  [[nodiscard]] std::int32_t node_id() const {
    return static_cast<std::int32_t>(integer("node.id"));
  }
  [[nodiscard]] const std::vector<listener>& listeners() const { return _listeners; }
  /// advertised.listeners, or the listeners where it is unset; an empty or wildcard
  /// host is advertised as 127.0.0.1.
  [[nodiscard]] const std::vector<listener>& advertised_listeners() const { return _advertised; }
  [[nodiscard]] std::string log_dir() const;
  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] bool boolean(std::string_view name) const;
  [[nodiscard]] std::string string(std::string_view name) const;

  /// log.retention.{ms,minutes,hours}, the first that is set, in milliseconds.
  [[nodiscard]] std::int64_t retention_ms() const;
  /// log.roll.{ms,hours} in milliseconds.
  [[nodiscard]] std::int64_t roll_ms() const;

 private:
  struct dynamic_layers {
    properties per_broker;
    properties cluster_default;
  };
  [[nodiscard]] std::shared_ptr<const dynamic_layers> dynamic() const;

  properties _explicit;
  mutable std::mutex _dynamic_mutex;
  mutable std::shared_ptr<const dynamic_layers> _dynamic =
      std::make_shared<const dynamic_layers>();  // guarded by _dynamic_mutex
  std::vector<listener> _listeners;
  std::vector<listener> _advertised;
};

}  // namespace caudal::cluster
