// The transaction APIs a transactional producer sends to its coordinator:
// AddPartitionsToTxn (key 24, v0-3 the client form, v4-5 the batched and verify-only
// form of KIP-890), AddOffsetsToTxn (25, v0-3),
// EndTxn (26, v0-3) and TxnOffsetCommit (28, v0-3); and the admin ones,
// DescribeTransactions (65, v0) and ListTransactions (66, v0-1). Each calls the
// transaction coordinator (group/txn_coordinator.h), which fsyncs its log or waits for
// one: off the event loop.

#include "base/logging.h"
#include "broker/errors.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "protocol/generated/add_offsets_to_txn.h"
#include "protocol/generated/add_partitions_to_txn.h"
#include "protocol/generated/describe_transactions.h"
#include "protocol/generated/end_txn.h"
#include "protocol/generated/list_transactions.h"
#include "protocol/generated/txn_offset_commit.h"

#include <set>

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

namespace {

using partition_results =
    std::vector<protocol::add_partitions_to_txn_response::add_partitions_to_txn_topic_result>;

// Adds (or with `verify_only` checks) the partitions of one transaction; per-topic results.
partition_results add_or_verify(
    request_context& c, const std::string& txn_id, std::int64_t producer_id, std::int16_t epoch,
    bool verify_only,
    const std::vector<protocol::add_partitions_to_txn_request::add_partitions_to_txn_topic>&
        topics) {
  std::vector<group::topic_partition> wanted;
  for (const auto& t : topics) {
    for (std::int32_t p : t.partitions)
      wanted.push_back({t.name, p});
  }
  std::vector<group::error> errors;
  if (verify_only) {
    for (const auto& tp : wanted)
      errors.push_back(txn_coordinator(c).verify(producer_id, epoch, tp));
  } else {
    errors = txn_coordinator(c).add_partitions(txn_id, producer_id, epoch, wanted);
  }
  partition_results out;
  std::size_t i = 0;
  for (const auto& t : topics) {
    auto& topic = out.emplace_back();
    topic.name = t.name;
    for (std::int32_t p : t.partitions)
      topic.results_by_partition.push_back({p, group::wire(errors[i++])});
  }
  return out;
}

}  // namespace

void handle_add_partitions_to_txn(request_context ctx, protocol::reader& body) {
  using protocol::add_partitions_to_txn_request;
  decode_then_block<add_partitions_to_txn_request>(
      std::move(ctx), body, [](request_context& c, const add_partitions_to_txn_request& r) {
        protocol::add_partitions_to_txn_response response;
        if (c.version < 4) {
          // The client form: one transaction, partitions added.
          response.results_by_topic_v3_and_below =
              add_or_verify(c, r.v3_and_below_transactional_id, r.v3_and_below_producer_id,
                            r.v3_and_below_producer_epoch, false, r.v3_and_below_topics);
        } else {
          // The broker form (KIP-890): batched, and verify_only asks whether partitions are
          // in the transaction without adding them.
          for (const auto& t : r.transactions) {
            auto& out = response.results_by_transaction.emplace_back();
            out.transactional_id = t.transactional_id;
            out.topic_results = add_or_verify(c, t.transactional_id, t.producer_id,
                                              t.producer_epoch, t.verify_only, t.topics);
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

void handle_describe_transactions(request_context ctx, protocol::reader& body) {
  using protocol::describe_transactions_request;
  decode_then_block<describe_transactions_request>(
      std::move(ctx), body, [](request_context& c, const describe_transactions_request& r) {
        protocol::describe_transactions_response response;
        for (const auto& id : r.transactional_ids) {
          auto& out = response.transaction_states.emplace_back();
          out.transactional_id = id;
          if (!txn_coordinator(c).ready()) {
            out.error_code = wire(protocol::error_code::coordinator_not_available);
            continue;
          }
          const auto m = txn_coordinator(c).describe(id);
          if (!m) {
            out.error_code = wire(protocol::error_code::transactional_id_not_found);
            continue;
          }
          out.transaction_state = std::string(group::to_string(m->state));
          out.transaction_timeout_ms = m->timeout_ms;
          out.transaction_start_time_ms = m->start_ms;
          out.producer_id = m->producer_id;
          out.producer_epoch = m->epoch;
          for (const auto& tp : m->partitions) {
            if (out.topics.empty() || out.topics.back().topic != tp.topic) {
              out.topics.push_back({tp.topic, {}});
            }
            out.topics.back().partitions.push_back(tp.partition);
          }
        }
        send_response(c, response);
      });
}

void handle_list_transactions(request_context ctx, protocol::reader& body) {
  using protocol::list_transactions_request;
  decode_then_block<list_transactions_request>(
      std::move(ctx), body, [](request_context& c, const list_transactions_request& r) {
        protocol::list_transactions_response response;
        std::set<std::string> states;
        for (const auto& s : r.state_filters) {
          bool known = false;
          for (int i = 0; i <= static_cast<int>(group::txn_state::complete_abort); ++i) {
            known = known || group::to_string(static_cast<group::txn_state>(i)) == s;
          }
          if (known) {
            states.insert(s);
          } else {
            response.unknown_state_filters.push_back(s);
          }
        }
        const std::set<std::int64_t> ids(r.producer_id_filters.begin(),
                                         r.producer_id_filters.end());
        const std::int64_t now = c.services->clk.wall_ms();
        for (const auto& [id, m] : txn_coordinator(c).list()) {
          const std::string state(group::to_string(m.state));
          if (!r.state_filters.empty() && !states.contains(state)) continue;
          if (!ids.empty() && !ids.contains(m.producer_id)) continue;
          // v1: only transactions running for longer than the duration.
          if (r.duration_filter >= 0 &&
              (m.state != group::txn_state::ongoing || now - m.start_ms <= r.duration_filter)) {
            continue;
          }
          response.transaction_states.push_back({id, m.producer_id, state});
        }
        send_response(c, response);
      });
}

}  // namespace caudal::broker
