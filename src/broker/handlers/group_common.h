#pragma once

// What the group handlers share: group::error values on the wire (checked against
// protocol::error_code here, once), the coordinator from the broker's services.

#include "broker/request_context.h"
#include "group/errors.h"
#include "group/group_coordinator.h"
#include "group/txn_coordinator.h"
#include "protocol/error_code.h"

namespace caudal::broker {

#define CAUDAL_SAME_CODE(name)                                             \
  static_assert(static_cast<std::int16_t>(group::error::name) ==           \
                    static_cast<std::int16_t>(protocol::error_code::name), \
                "group::error::" #name " differs from Kafka's code")
CAUDAL_SAME_CODE(none);
CAUDAL_SAME_CODE(unknown_topic_or_partition);
CAUDAL_SAME_CODE(offset_metadata_too_large);
CAUDAL_SAME_CODE(coordinator_load_in_progress);
CAUDAL_SAME_CODE(coordinator_not_available);
CAUDAL_SAME_CODE(not_coordinator);
CAUDAL_SAME_CODE(illegal_generation);
CAUDAL_SAME_CODE(inconsistent_group_protocol);
CAUDAL_SAME_CODE(invalid_group_id);
CAUDAL_SAME_CODE(unknown_member_id);
CAUDAL_SAME_CODE(invalid_session_timeout);
CAUDAL_SAME_CODE(rebalance_in_progress);
CAUDAL_SAME_CODE(kafka_storage_error);
CAUDAL_SAME_CODE(non_empty_group);
CAUDAL_SAME_CODE(group_id_not_found);
CAUDAL_SAME_CODE(member_id_required);
CAUDAL_SAME_CODE(group_max_size_reached);
CAUDAL_SAME_CODE(fenced_instance_id);
CAUDAL_SAME_CODE(group_subscribed_to_topic);
CAUDAL_SAME_CODE(invalid_producer_epoch);
CAUDAL_SAME_CODE(invalid_txn_state);
CAUDAL_SAME_CODE(invalid_producer_id_mapping);
CAUDAL_SAME_CODE(invalid_transaction_timeout);
CAUDAL_SAME_CODE(concurrent_transactions);
CAUDAL_SAME_CODE(operation_not_attempted);
CAUDAL_SAME_CODE(producer_fenced);
#undef CAUDAL_SAME_CODE

/// The group coordinator. Requires: the broker was wired with one (serve, test harness).
[[nodiscard]] inline group::group_coordinator& coordinator(const request_context& ctx) {
  CAUDAL_ASSERT(ctx.services->groups != nullptr, "no group coordinator is wired in");
  return *ctx.services->groups;
}

/// The transaction coordinator. Requires: the broker was wired with one.
[[nodiscard]] inline group::txn_coordinator& txn_coordinator(const request_context& ctx) {
  CAUDAL_ASSERT(ctx.services->txns != nullptr, "no transaction coordinator is wired in");
  return *ctx.services->txns;
}

/// A request context that completions on other threads can hold.
[[nodiscard]] inline std::shared_ptr<request_context> share(request_context ctx) {
  return std::make_shared<request_context>(std::move(ctx));
}

}  // namespace caudal::broker
