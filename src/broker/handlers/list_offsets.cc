// ListOffsets (key 2): the earliest offset, the latest (high watermark), the record with
// the largest timestamp, or the first record at or after a timestamp.

#include "protocol/generated/list_offsets.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "protocol/batch_records.h"

#include <algorithm>

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::list_offsets_request;
using protocol::list_offsets_response;

constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;
constexpr std::int64_t max_timestamp = -3;

struct found_record {
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
};

// Bounds the memory an inflated batch may take while it is searched.
constexpr std::size_t inflated_max = 256 << 20;

// The first record at or after `timestamp` in the batch (compressed ones are inflated), or
// the batch's base offset and max timestamp when its records cannot tell (LogAppendTime
// batches carry one timestamp for all).
found_record first_record_at(std::span<const std::byte> bytes, std::int64_t timestamp) {
  const batch::header_view h(bytes);
  auto records = protocol::batch_records::open(bytes, inflated_max);
  if (records && !h.is_log_append_time()) {
    auto& reader = *records;
    for (;;) {
      auto rec = reader.next();
      if (!rec || !*rec) break;
      const std::int64_t ts = h.base_timestamp() + (*rec)->timestamp_delta;
      if (ts >= timestamp) return {h.base_offset()() + (*rec)->offset_delta, ts};
    }
  }
  return {h.base_offset()(), h.max_timestamp()};
}

// With read_committed (isolation level 1) the visible end is the last stable offset.
found_record lookup(const cluster::partition& p, std::int64_t timestamp, bool committed) {
  const kafka_offset hw =
      committed ? p.log->last_stable_offset(p.high_watermark()) : p.high_watermark();
  if (timestamp == earliest) return {p.log->log_start_offset()(), -1};
  if (timestamp == latest) return {hw(), -1};
  std::int64_t target = timestamp;
  if (timestamp == max_timestamp) {
    // The largest timestamp is found batch by batch from the start; logs that need this
    // often are small, and the time index answers the rest quickly.
    target = -1;
    kafka_offset next = p.log->log_start_offset();
    while (next < hw) {
      auto r = p.log->read(next, 1 << 20, hw);
      if (!r || r->empty()) break;
      auto bytes = storage::read_bytes(*r);
      if (!bytes) break;
      std::span<const std::byte> rest(*bytes);
      while (rest.size() >= batch::header_bytes) {
        const batch::header_view h(rest);
        target = std::max(target, h.max_timestamp());
        rest = rest.subspan(std::min(rest.size(), h.size_bytes()));
      }
      next = r->range.next_offset;
    }
    if (target < 0) return {-1, -1};
  }
  auto found = p.log->find_timestamp(target);
  if (!found || !*found) return {-1, -1};
  if ((*found)->range.first_offset >= hw) return {-1, -1};
  auto bytes = storage::read_bytes(**found);
  if (!bytes) return {-1, -1};
  auto rec = first_record_at(*bytes, target);
  if (rec.offset < p.log->log_start_offset()()) rec.offset = p.log->log_start_offset()();
  return rec;
}

}  // namespace

void handle_list_offsets(request_context ctx, protocol::reader& body) {
  list_offsets_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  broker_services& services = *ctx.services;
  list_offsets_response response;
  for (const auto& topic : request.topics) {
    list_offsets_response::list_offsets_topic_response out_topic;
    out_topic.name = topic.name;
    for (const auto& part : topic.partitions) {
      list_offsets_response::list_offsets_partition_response out;
      out.partition_index = part.partition_index;
      auto p = services.partitions.get(topic.name, part.partition_index);
      if (!p) {
        out.error_code = wire(error_code::unknown_topic_or_partition);
      } else if (part.timestamp < max_timestamp) {
        out.error_code = wire(error_code::invalid_request);
      } else {
        const auto rec = lookup(*p, part.timestamp, request.isolation_level == 1);
        out.offset = rec.offset;
        out.timestamp = rec.timestamp;
        out.leader_epoch = rec.offset >= 0 ? 0 : -1;
      }
      out_topic.partitions.push_back(std::move(out));
    }
    response.topics.push_back(std::move(out_topic));
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
