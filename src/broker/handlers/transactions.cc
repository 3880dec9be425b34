// The transaction APIs a transactional producer sends to its coordinator:
// AddPartitionsToTxn (key 24, v0-3: the client form), AddOffsetsToTxn (25, v0-3),
// EndTxn (26, v0-3) and TxnOffsetCommit (28, v0-3). Each calls the transaction
// coordinator (group/txn_coordinator.h), which fsyncs its log: off the event loop.

#include "base/logging.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "protocol/generated/add_offsets_to_txn.h"
#include "protocol/generated/add_partitions_to_txn.h"
#include "protocol/generated/end_txn.h"
#include "protocol/generated/txn_offset_commit.h"

namespace caudal::broker {
namespace {

// Decodes the request and runs `work(ctx, request)` off the event loop.
template <class Request, class Work>
void decode_then_block(request_context ctx, protocol::reader& body, Work work) {
  Request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request), work](request_context& c) { work(c, request); });
}

}  // namespace

void handle_add_partitions_to_txn(request_context ctx, protocol::reader& body) {
  using protocol::add_partitions_to_txn_request;
  using protocol::add_partitions_to_txn_response;
  decode_then_block<add_partitions_to_txn_request>(
      std::move(ctx), body, [](request_context& c, const add_partitions_to_txn_request& r) {
        std::vector<group::topic_partition> wanted;
        for (const auto& t : r.v3_and_below_topics) {
          for (std::int32_t p : t.partitions)
            wanted.push_back({t.name, p});
        }
        const auto errors = txn_coordinator(c).add_partitions(
            r.v3_and_below_transactional_id, r.v3_and_below_producer_id,
            r.v3_and_below_producer_epoch, wanted);
        add_partitions_to_txn_response response;
        std::size_t i = 0;
        for (const auto& t : r.v3_and_below_topics) {
          auto& out = response.results_by_topic_v3_and_below.emplace_back();
          out.name = t.name;
          for (std::int32_t p : t.partitions) {
            out.results_by_partition.push_back({p, group::wire(errors[i++])});
          }
        }
        send_response(c, response);
      });
}

void handle_add_offsets_to_txn(request_context ctx, protocol::reader& body) {
  using protocol::add_offsets_to_txn_request;
  decode_then_block<add_offsets_to_txn_request>(
      std::move(ctx), body, [](request_context& c, const add_offsets_to_txn_request& r) {
        protocol::add_offsets_to_txn_response response;
        response.error_code = group::wire(txn_coordinator(c).add_offsets(
            r.transactional_id, r.producer_id, r.producer_epoch, r.group_id));
        send_response(c, response);
      });
}

void handle_end_txn(request_context ctx, protocol::reader& body) {
  using protocol::end_txn_request;
  decode_then_block<end_txn_request>(
      std::move(ctx), body, [](request_context& c, const end_txn_request& r) {
        protocol::end_txn_response response;
        response.error_code = group::wire(txn_coordinator(c).end(r.transactional_id, r.producer_id,
                                                                 r.producer_epoch, r.committed));
        send_response(c, response);
      });
}

void handle_txn_offset_commit(request_context ctx, protocol::reader& body) {
  using protocol::txn_offset_commit_request;
  decode_then_block<txn_offset_commit_request>(
      std::move(ctx), body, [](request_context& c, const txn_offset_commit_request& r) {
        std::vector<group::offset_commit> offsets;
        const std::int64_t now = c.services->clk.wall_ms();
        for (const auto& t : r.topics) {
          for (const auto& p : t.partitions) {
            group::offset_commit o;
            o.tp = {t.name, p.partition_index};
            o.value.offset = p.committed_offset;
            o.value.leader_epoch = p.committed_leader_epoch;
            o.value.metadata = p.committed_metadata.value_or("");
            o.value.commit_timestamp_ms = now;
            offsets.push_back(std::move(o));
          }
        }
        const auto e = txn_coordinator(c).commit_offsets(r.transactional_id, r.producer_id,
                                                         r.producer_epoch, r.group_id, offsets);
        protocol::txn_offset_commit_response response;
        for (const auto& t : r.topics) {
          auto& out = response.topics.emplace_back();
          out.name = t.name;
          for (const auto& p : t.partitions)
            out.partitions.push_back({p.partition_index, group::wire(e)});
        }
        send_response(c, response);
      });
}

}  // namespace caudal::broker
