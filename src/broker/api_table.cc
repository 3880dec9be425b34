#include "broker/api_table.h"

#include "broker/handlers/handlers.h"

#include <algorithm>
#include <array>

namespace caudal::broker {
namespace {

using protocol::api_key;

// Minimums stay at the "probe" versions librdkafka 2.0 checks for features (Produce 0,
// ListOffsets 1, Fetch 4: README section 8.3); Produce v0-2 are listed but refused with
// UNSUPPORTED_VERSION as Kafka 4.x does, because they imply the legacy message formats.
constexpr std::array served{
    api_entry{api_key::produce, 0, 11, handle_produce},
    api_entry{api_key::fetch, 4, 16, handle_fetch},
    api_entry{api_key::list_offsets, 1, 7, handle_list_offsets},
    api_entry{api_key::metadata, 0, 12, handle_metadata},
    api_entry{api_key::offset_commit, 0, 9, handle_offset_commit},
    api_entry{api_key::offset_fetch, 1, 9, handle_offset_fetch},
    api_entry{api_key::find_coordinator, 0, 4, handle_find_coordinator},
    api_entry{api_key::join_group, 0, 9, handle_join_group},
    api_entry{api_key::heartbeat, 0, 4, handle_heartbeat},
    api_entry{api_key::leave_group, 0, 5, handle_leave_group},
    api_entry{api_key::sync_group, 0, 5, handle_sync_group},
    api_entry{api_key::describe_groups, 0, 5, handle_describe_groups},
    api_entry{api_key::list_groups, 0, 5, handle_list_groups},
    api_entry{api_key::api_versions, 0, 4, handle_api_versions},
    api_entry{api_key::create_topics, 0, 7, handle_create_topics},
    api_entry{api_key::delete_topics, 0, 6, handle_delete_topics},
    api_entry{api_key::delete_records, 0, 2, handle_delete_records},
    api_entry{api_key::init_producer_id, 0, 5, handle_init_producer_id},
    api_entry{api_key::add_partitions_to_txn, 0, 5, handle_add_partitions_to_txn},
    api_entry{api_key::add_offsets_to_txn, 0, 3, handle_add_offsets_to_txn},
    api_entry{api_key::end_txn, 0, 3, handle_end_txn},
    api_entry{api_key::txn_offset_commit, 0, 3, handle_txn_offset_commit},
    api_entry{api_key::describe_configs, 0, 4, handle_describe_configs},
    api_entry{api_key::alter_configs, 0, 2, handle_alter_configs},
    api_entry{api_key::create_partitions, 0, 3, handle_create_partitions},
    api_entry{api_key::delete_groups, 0, 2, handle_delete_groups},
    api_entry{api_key::incremental_alter_configs, 0, 1, handle_incremental_alter_configs},
    api_entry{api_key::offset_delete, 0, 0, handle_offset_delete},
    api_entry{api_key::describe_cluster, 0, 1, handle_describe_cluster},
    api_entry{api_key::describe_transactions, 0, 0, handle_describe_transactions},
    api_entry{api_key::list_transactions, 0, 1, handle_list_transactions},
};

}  // namespace

std::span<const api_entry> served_apis() {
  return served;
}

const api_entry* find_served_api(std::int16_t key) {
  auto it = std::find_if(served.begin(), served.end(), [key](const api_entry& e) {
    return static_cast<std::int16_t>(e.key) == key;
  });
  return it == served.end() ? nullptr : &*it;
}

}  // namespace caudal::broker
