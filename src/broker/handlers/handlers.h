#pragma once

// One handler per Kafka API. Each decodes its request body from `body` (the reader sits
// just after the request header), does the work, and completes ctx.responder: with a
// response, with nothing (produce acks=0), or by closing the connection when the body is
// malformed. Handlers run on the connection's event loop and must not block on disk
// syncs or waits; reads and appends through the page cache are accepted there.

#include "broker/request_context.h"
#include "protocol/codec.h"

namespace caudal::broker {

void handle_api_versions(request_context ctx, protocol::reader& body);
void handle_metadata(request_context ctx, protocol::reader& body);
void handle_produce(request_context ctx, protocol::reader& body);
void handle_fetch(request_context ctx, protocol::reader& body);
void handle_list_offsets(request_context ctx, protocol::reader& body);
void handle_create_topics(request_context ctx, protocol::reader& body);
void handle_delete_topics(request_context ctx, protocol::reader& body);
void handle_delete_records(request_context ctx, protocol::reader& body);
void handle_describe_configs(request_context ctx, protocol::reader& body);
void handle_alter_configs(request_context ctx, protocol::reader& body);
void handle_create_partitions(request_context ctx, protocol::reader& body);
void handle_incremental_alter_configs(request_context ctx, protocol::reader& body);
void handle_describe_cluster(request_context ctx, protocol::reader& body);
void handle_find_coordinator(request_context ctx, protocol::reader& body);
void handle_join_group(request_context ctx, protocol::reader& body);
void handle_sync_group(request_context ctx, protocol::reader& body);
void handle_heartbeat(request_context ctx, protocol::reader& body);
void handle_leave_group(request_context ctx, protocol::reader& body);
void handle_offset_commit(request_context ctx, protocol::reader& body);
void handle_offset_fetch(request_context ctx, protocol::reader& body);
void handle_list_groups(request_context ctx, protocol::reader& body);
void handle_describe_groups(request_context ctx, protocol::reader& body);
void handle_delete_groups(request_context ctx, protocol::reader& body);
void handle_offset_delete(request_context ctx, protocol::reader& body);
void handle_init_producer_id(request_context ctx, protocol::reader& body);
void handle_add_partitions_to_txn(request_context ctx, protocol::reader& body);
void handle_add_offsets_to_txn(request_context ctx, protocol::reader& body);
void handle_end_txn(request_context ctx, protocol::reader& body);
void handle_txn_offset_commit(request_context ctx, protocol::reader& body);
void handle_describe_transactions(request_context ctx, protocol::reader& body);
void handle_list_transactions(request_context ctx, protocol::reader& body);

}  // namespace caudal::broker
