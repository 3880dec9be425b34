// DeleteRecords (key 21, v0-2): moves each partition's log start offset up to the given
// offset (-1: the high watermark), deleting whole segments below it. The new log start is
// the partition's low watermark in the answer.

#include "protocol/generated/delete_records.h"
#include "base/logging.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

namespace caudal::broker {
namespace {

using protocol::delete_records_request;
using protocol::delete_records_response;
using protocol::error_code;

// Runs on the background executor: truncate_prefix fsyncs a checkpoint.
void delete_all(request_context& ctx, const delete_records_request& request) {
  broker_services& services = *ctx.services;
  delete_records_response response;
  for (const auto& topic : request.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic.name;
    for (const auto& wanted : topic.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = wanted.partition_index;
      out.low_watermark = -1;
      auto p = services.partitions.get(topic.name, wanted.partition_index);
      if (!p) {
        out.error_code = wire(error_code::unknown_topic_or_partition);
        continue;
      }
      const std::int64_t high_watermark = p->high_watermark()();
      const std::int64_t offset = wanted.offset == -1 ? high_watermark : wanted.offset;
      if (offset < 0 || offset > high_watermark) {
        out.error_code = wire(error_code::offset_out_of_range);
        continue;
      }
      if (auto r = p->log->truncate_prefix(kafka_offset(offset)); !r) {
        out.error_code = wire(to_kafka_error(r.error()));
        if (out.error_code == wire(error_code::kafka_storage_error)) {
          spdlog::error("delete records of {}-{} below {}: {}", topic.name, wanted.partition_index,
                        offset, r.error().message());
        }
        continue;
      }
      out.low_watermark = p->log->log_start_offset()();
    }
  }
  send_response(ctx, response);
}

}  // namespace

void handle_delete_records(request_context ctx, protocol::reader& body) {
  delete_records_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  run_blocking(std::move(ctx),
               [request = std::move(request)](request_context& c) { delete_all(c, request); });
}

}  // namespace caudal::broker
