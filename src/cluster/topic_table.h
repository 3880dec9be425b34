#pragma once

// The topics of the cluster, rebuilt by applying the metadata log's records in order
// (a `_table` in STYLE.md's vocabulary). Immutable once published: the metadata store
// copies, applies, and swaps, so readers hold a consistent snapshot without locks.

#include "base/properties.h"
#include "cluster/types.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace caudal::cluster {

struct topic_metadata {
  std::string name;
  topic_id id;
  std::int32_t partitions = 0;
  std::int16_t replication_factor = 1;
  properties configs;  // only the keys set on the topic
  bool internal = false;
};

class topic_table {
 public:
  [[nodiscard]] const topic_metadata* find(std::string_view name) const;
  [[nodiscard]] const topic_metadata* find(const topic_id& id) const;
  [[nodiscard]] const std::map<std::string, topic_metadata, std::less<>>& topics() const {
    return _topics;
  }
  /// Ids of topics that were deleted (their leftover partition data may be removed).
  [[nodiscard]] bool was_deleted(const topic_id& id) const { return _deleted.contains(id); }

  /// Broker configs set at run time, by resource name: a node id, or "" for the
  /// cluster-wide defaults. Empty when nothing is set.
  [[nodiscard]] const properties& broker_configs(std::string_view resource) const;
  void set_broker_configs(std::string resource, properties configs);

  /// The first producer id never handed out: ids below it were allocated (in blocks) to
  /// brokers for InitProducerId.
  [[nodiscard]] std::int64_t next_producer_id() const { return _next_producer_id; }
  void set_next_producer_id(std::int64_t next) { _next_producer_id = next; }

  void add(topic_metadata t);
  void remove(const topic_id& id);
  void set_partitions(const topic_id& id, std::int32_t partitions);
  void set_configs(const topic_id& id, properties configs);

 private:
  std::map<std::string, topic_metadata, std::less<>> _topics;
  std::map<topic_id, std::string> _by_id;
  std::map<topic_id, std::string> _deleted;
  std::map<std::string, properties, std::less<>> _broker_configs;
  std::int64_t _next_producer_id = 0;
};

/// Kafka's topic name rules: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
/// Returns the reason when `name` breaks them.
[[nodiscard]] std::optional<std::string> check_topic_name(std::string_view name);

/// Whether two names collide once '.' and '_' are treated as the same (Kafka refuses
/// such pairs because metric names cannot tell them apart).
[[nodiscard]] bool names_collide(std::string_view a, std::string_view b);

}  // namespace caudal::cluster
