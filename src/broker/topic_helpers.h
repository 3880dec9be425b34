#pragma once

// Small pieces several handlers share: topic ids on the wire, topic creation on demand.

#include "broker/request_context.h"
#include "cluster/types.h"
#include "protocol/codec.h"

#include <optional>
#include <string>
#include <vector>

namespace caudal::broker {

[[nodiscard]] inline protocol::uuid to_wire(const cluster::topic_id& id) {
  return protocol::uuid{id.most, id.least};
}
[[nodiscard]] inline cluster::topic_id from_wire(const protocol::uuid& id) {
  return cluster::topic_id{id.most, id.least};
}

/// Creates each missing topic in `names` with the broker's defaults, then brings the
/// partition logs in line. Blocks (metadata fsync): call from the background executor.
/// Returns, per name, the creation error if one happened (invalid name, ...).
[[nodiscard]] std::vector<std::optional<cluster::op_error>> auto_create_topics(
    broker_services& services, const std::vector<std::string>& names);

/// Brings partition logs in line with the metadata after a change; logs failures.
void reconcile_partitions(broker_services& services);

}  // namespace caudal::broker
