// Produce (key 0): validates each partition's record batch, appends it, and answers by
// acks: 0 nothing, 1 once appended, -1 (all) once durable (DESIGN.md, "Durable by default").

#include "protocol/generated/produce.h"
#include "base/logging.h"
#include "base/record_batch.h"
#include "broker/errors.h"
#include "broker/fetch_purgatory.h"
#include "broker/handlers/group_common.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "cluster/topic_config.h"
#include "protocol/batch_records.h"

#include <atomic>
#include <limits>

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::produce_request;
using protocol::produce_response;

// A produce whose answer waits for durable appends (acks=all).
struct pending_produce {
  explicit pending_produce(request_context c) : ctx(std::move(c)) {}
  request_context ctx;
  produce_response response;
  std::atomic<int> waiting{1};  // one for the handler itself, so it sends last

  void done() {
    if (waiting.fetch_sub(1, std::memory_order_acq_rel) == 1) send_response(ctx, response);
  }
};

// A topic's produce settings, read from its configs once per request rather than once per
// batch: each lookup builds strings, and a request carries many partitions of few topics.
struct produce_limits {
  std::size_t batch_bytes_max = 0;
  std::size_t inflated_bytes_max = 0;
  bool log_append_time = false;
  std::int64_t before_ms_max = 0;
  std::int64_t after_ms_max = 0;
  std::int64_t min_insync_replicas = 1;
};

produce_limits limits_of(const properties& topic_configs, const cluster::broker_config& broker) {
  const auto integer = [&](std::string_view key) {
    return cluster::parse_integer(*cluster::topic_config_value(key, topic_configs, broker));
  };
  produce_limits l;
  l.batch_bytes_max = static_cast<std::size_t>(integer("max.message.bytes"));
  // Records are inflated for checking, bounded by the request size limit.
  l.inflated_bytes_max = static_cast<std::size_t>(broker.integer("socket.request.max.bytes"));
  l.log_append_time = *cluster::topic_config_value("message.timestamp.type", topic_configs,
                                                   broker) == "LogAppendTime";
  l.before_ms_max = integer("message.timestamp.before.max.ms");
  l.after_ms_max = integer("message.timestamp.after.max.ms");
  l.min_insync_replicas = integer("min.insync.replicas");
  return l;
}

// Returns the error for a batch that must not be appended, after patching what the
// broker stamps (LogAppendTime).
error_code check_batch(std::span<std::byte> bytes, std::int16_t version, const produce_limits& l,
                       std::int64_t now_ms, std::int64_t& log_append_time) {
  if (bytes.size() > l.batch_bytes_max) return error_code::message_too_large;
  auto size = batch::validate_prefix(bytes, bytes.size(), batch::count_check::fresh);
  if (!size) return to_kafka_error(size.error());
  if (*size != bytes.size()) return error_code::invalid_record;  // exactly one batch (v3+)
  const batch::header_view h(bytes);
  if (h.is_control()) return error_code::invalid_record;
  if (h.compression() == 4 && version < 7) return error_code::unsupported_compression_type;
  // Records are checked too: a batch whose CRC is right but whose records are garbage is
  // never stored.
  if (auto r = protocol::validate_records(bytes, l.inflated_bytes_max); !r) {
    return r.error() == protocol::records_errc::bad_offset_delta ? error_code::invalid_record
                                                                 : error_code::corrupt_message;
  }
  if (l.log_append_time) {
    // Every record's timestamp reads as maxTimestamp once bit 3 is set (README 4.7).
    store_be<std::int16_t>(bytes.data() + batch::attributes_pos,
                           static_cast<std::int16_t>(h.attributes() | batch::timestamp_type_bit));
    store_be<std::int64_t>(bytes.data() + batch::max_timestamp_pos, now_ms);
    store_be<std::uint32_t>(bytes.data() + batch::crc_pos, batch::compute_crc(bytes));
    log_append_time = now_ms;
  } else {
    const auto before = l.before_ms_max;
    const auto after = l.after_ms_max;
    const auto first = h.base_timestamp();
    const auto last = h.max_timestamp();
    if ((before < std::numeric_limits<std::int64_t>::max() && now_ms - first > before) ||
        (after < std::numeric_limits<std::int64_t>::max() && last - now_ms > after)) {
      return error_code::invalid_timestamp;
    }
  }
  return error_code::none;
}

// A transactional batch is taken only from a request naming a transactional id, and only
// when the coordinator has the partition in the producer's ongoing transaction at this
// epoch (KIP-890): a batch racing its transaction's end is refused, never left open.
error_code check_transaction(const request_context& rc, bool transactional_request,
                             std::span<const std::byte> bytes, const std::string& topic,
                             std::int32_t partition) {
  const batch::header_view h(bytes);
  if (h.is_transactional() != transactional_request) return error_code::invalid_record;
  if (!transactional_request) return error_code::none;
  if (rc.services->txns == nullptr) return error_code::invalid_txn_state;
  return static_cast<error_code>(group::wire(
      rc.services->txns->verify(h.producer_id(), h.producer_epoch(), {topic, partition})));
}

}  // namespace

void handle_produce(request_context ctx, protocol::reader& body) {
  produce_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  auto state = std::make_shared<pending_produce>(std::move(ctx));
  const request_context& rc = state->ctx;
  broker_services& services = *rc.services;
  auto& response = state->response;
  const std::int16_t acks = request.acks;
  const bool acks_valid = acks == -1 || acks == 0 || acks == 1;
  const std::int64_t now_ms = services.clk.wall_ms();

  // Pass 1: the response skeleton, so callbacks can fill their own slots safely.
  response.responses.resize(request.topic_data.size());
  for (std::size_t t = 0; t < request.topic_data.size(); ++t) {
    response.responses[t].name = request.topic_data[t].name;
    response.responses[t].partition_responses.resize(request.topic_data[t].partition_data.size());
  }

  for (std::size_t t = 0; t < request.topic_data.size(); ++t) {
    const auto& topic = request.topic_data[t];
    const auto table = services.metadata.topics();
    const cluster::topic_metadata* meta = table->find(topic.name);
    const produce_limits limits =
        meta ? limits_of(meta->configs, services.config) : produce_limits{};
    for (std::size_t i = 0; i < topic.partition_data.size(); ++i) {
      const auto& data = topic.partition_data[i];
      auto& out = response.responses[t].partition_responses[i];
      out.index = data.index;
      out.base_offset = -1;
      auto set_error = [&out](error_code e) { out.error_code = wire(e); };
      if (rc.version < 3) {
        set_error(error_code::unsupported_version);  // legacy message formats: not served
        continue;
      }
      if (!acks_valid) {
        set_error(error_code::invalid_required_acks);
        continue;
      }
      auto p = meta ? services.partitions.get(topic.name, data.index) : nullptr;
      if (!p) {
        set_error(error_code::unknown_topic_or_partition);
        continue;
      }
      if (acks == -1 && limits.min_insync_replicas > 1) {
        set_error(error_code::not_enough_replicas);  // one replica is all there is
        continue;
      }
      if (!data.records || data.records->size() == 0 || data.records->is_external()) {
        set_error(error_code::corrupt_message);
        continue;
      }
      // The frame is ours: patch the batch where it lies instead of copying it.
      const auto view = data.records->bytes();
      const auto offset = static_cast<std::size_t>(view.data() - rc.frame->data());
      std::span<std::byte> bytes(rc.frame->data() + offset, view.size());
      std::int64_t log_append_time = -1;
      if (auto e = check_batch(bytes, rc.version, limits, now_ms, log_append_time);
          e != error_code::none) {
        set_error(e);
        continue;
      }
      if (auto e = check_transaction(rc, request.transactional_id.has_value(), bytes, topic.name,
                                     data.index);
          e != error_code::none) {
        set_error(e);
        continue;
      }
      // check_batch validated these bytes (CRC included) and re-stamped the CRC it changed.
      auto appended = p->log->append(bytes, storage::batch_check::trusted);
      if (!appended) {
        set_error(to_kafka_error(appended.error()));
        if (out.error_code == wire(error_code::kafka_storage_error)) {
          spdlog::error("produce to {}-{}: {}", topic.name, data.index, appended.error().message());
        }
        continue;
      }
      out.base_offset = appended->base_offset();
      if (!appended->duplicate) {
        record_produce(
            topic.name,
            static_cast<std::uint64_t>(appended->last_offset() - appended->base_offset() + 1),
            bytes.size());
        out.log_append_time_ms = log_append_time;
      }
      out.log_start_offset = p->log->log_start_offset()();
      if (p->log->config().flush != storage::flush_policy::every_append) {
        services.fetches.notify(p.get());  // readable now: the high watermark is the log end
        continue;
      }
      // Every append is waited on, whatever the acks, so the flush (and the high
      // watermark that consumers read up to) follows right away.
      const bool wait = acks == -1;
      if (wait) state->waiting.fetch_add(1, std::memory_order_relaxed);
      fetch_purgatory* fetches = &services.fetches;
      const clock* clk = &services.clk;
      const std::int64_t appended_ns = clk->steady_ns();
      p->log->when_durable(appended->last_offset, [state, wait, fetches, p, &out, clk,
                                                   appended_ns](std::error_code ec) {
        durable_wait_seconds().observe(static_cast<double>(clk->steady_ns() - appended_ns) / 1e9);
        fetches->notify(p.get());
        if (!wait) return;
        if (ec) out.error_code = wire(to_kafka_error(ec));
        state->done();
      });
    }
  }
  if (acks == 0 && acks_valid) {
    // No response at all, even for errors (README 3.2).
    state->ctx.responder.send_nothing();
    return;
  }
  state->done();
}

}  // namespace caudal::broker
