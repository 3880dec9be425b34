// Fetch (key 1): whole record batches from each partition up to its high watermark (its
// last stable offset for read_committed consumers, with the aborted transactions among
// them), sent from the segment files with sendfile. A fetch that finds fewer than min_bytes waits
// in the purgatory until data arrives or max_wait_ms passes (long polling).

#include "protocol/generated/fetch.h"
#include "broker/errors.h"
#include "broker/fetch_purgatory.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"
#include "broker/topic_helpers.h"

#include <algorithm>
#include <atomic>

namespace caudal::broker {
namespace {

using protocol::error_code;
using protocol::fetch_request;
using protocol::fetch_response;

class fetch_operation final : public delayed_operation {
 public:
  fetch_operation(request_context ctx, fetch_request request)
      : _ctx(std::move(ctx)), _request(std::move(request)) {}

  // Builds the response; sends it and returns true when it has enough bytes, an error,
  // or `force`.
  bool try_complete(bool force) override {
    if (_done.load(std::memory_order_acquire)) return true;
    fetch_response response;
    std::vector<net::file_range> externals;
    bool any_error = false;
    std::vector<std::uint64_t> topic_bytes;  // per _request.topics entry
    const std::uint64_t bytes = build(response, externals, any_error, topic_bytes);
    const bool enough = bytes >= static_cast<std::uint64_t>(std::max(_request.min_bytes, 0));
    if (!(force || enough || any_error || _request.max_wait_ms <= 0)) return false;
    if (_done.exchange(true, std::memory_order_acq_rel)) return true;
    for (std::size_t t = 0; t < topic_bytes.size(); ++t) {
      if (topic_bytes[t] > 0) record_fetch(_request.topics[t].topic, topic_bytes[t]);
    }
    send_response(_ctx, response, externals);
    return true;
  }

  // The partitions this fetch reads (purgatory keys).
  std::vector<const void*> keys() const {
    std::vector<const void*> out;
    for (const auto& p : _partitions)
      out.push_back(p.get());
    return out;
  }

  void resolve() {
    broker_services& services = *_ctx.services;
    const auto table = services.metadata.topics();
    for (auto& topic : _request.topics) {
      if (_ctx.version >= 13) {
        const cluster::topic_metadata* t = table->find(from_wire(topic.topic_id));
        topic.topic = t ? t->name : std::string();
      }
      for (const auto& part : topic.partitions) {
        if (topic.topic.empty()) continue;
        if (auto p = services.partitions.get(topic.topic, part.partition)) _partitions.push_back(p);
      }
    }
  }

 private:
  std::uint64_t build(fetch_response& response, std::vector<net::file_range>& externals,
                      bool& any_error, std::vector<std::uint64_t>& topic_bytes) {
    topic_bytes.assign(_request.topics.size(), 0);
    broker_services& services = *_ctx.services;
    std::uint64_t total = 0;
    const auto response_max = static_cast<std::uint64_t>(std::max(_request.max_bytes, 0));
    bool first_data = true;
    response.session_id = 0;  // no incremental fetch sessions: every fetch is a full one
    if (_request.session_id != 0 || _request.session_epoch > 0) {
      response.error_code =
          wire(_request.session_id != 0 ? error_code::fetch_session_id_not_found
                                        : error_code::invalid_fetch_session_epoch);
      any_error = true;
      return 0;
    }
    for (const auto& topic : _request.topics) {
      fetch_response::fetchable_topic_response out_topic;
      out_topic.topic = topic.topic;
      out_topic.topic_id = topic.topic_id;
      for (const auto& part : topic.partitions) {
        fetch_response::partition_data pd;
        pd.partition_index = part.partition;
        pd.records = protocol::record_set{};  // never null (README 8.2)
        auto p =
            topic.topic.empty() ? nullptr : services.partitions.get(topic.topic, part.partition);
        if (!p) {
          pd.error_code = wire(_ctx.version >= 13 && topic.topic.empty()
                                   ? error_code::unknown_topic_id
                                   : error_code::unknown_topic_or_partition);
          any_error = true;
          out_topic.partitions.push_back(std::move(pd));
          continue;
        }
        const kafka_offset hw = p->high_watermark();
        const kafka_offset lso = p->log->last_stable_offset(hw);
        const kafka_offset start = p->log->log_start_offset();
        pd.high_watermark = hw();
        pd.last_stable_offset = lso();
        pd.log_start_offset = start();
        // read_committed consumers read up to the last stable offset only, and are told
        // which transactions in what they read were aborted.
        const bool committed = _request.isolation_level == 1;
        const kafka_offset end = committed ? lso : hw;
        if (!committed) pd.aborted_transactions = std::nullopt;
        const kafka_offset offset(part.fetch_offset);
        if (offset < start || offset > p->log->log_end_offset()) {
          pd.error_code = wire(error_code::offset_out_of_range);
          any_error = true;
        } else if (offset < end) {
          const auto partition_max =
              static_cast<std::uint64_t>(std::max(part.partition_max_bytes, 0));
          const std::uint64_t room = response_max > total ? response_max - total : 0;
          const std::uint64_t limit = std::min(partition_max, room);
          // The first batch of the first partition with data goes out even if it is
          // larger than the limits, so a consumer can always make progress.
          if (first_data || limit > 0) {
            auto r = p->log->read(offset, std::max<std::uint64_t>(limit, 1), end);
            if (!r) {
              pd.error_code = wire(to_kafka_error(r.error()));
              any_error = true;
            } else if (!r->empty() && (first_data || r->range.size <= limit)) {
              const auto id = static_cast<std::uint64_t>(externals.size());
              const auto size = static_cast<std::uint32_t>(r->range.size);
              externals.push_back(net::file_range{r->fd(), r->range.position, size, r->seg});
              pd.records = protocol::record_set(protocol::external_chunk{id, size});
              total += size;
              if (committed) {
                for (const auto& a : p->log->aborted_transactions(offset, r->range.next_offset)) {
                  pd.aborted_transactions->push_back({a.producer_id, a.first_offset()});
                }
              }
              topic_bytes[static_cast<std::size_t>(&topic - _request.topics.data())] += size;
              first_data = false;
            }
          }
        }
        out_topic.partitions.push_back(std::move(pd));
      }
      response.responses.push_back(std::move(out_topic));
    }
    return total;
  }

  request_context _ctx;
  fetch_request _request;
  std::vector<std::shared_ptr<cluster::partition>> _partitions;
  std::atomic<bool> _done{false};
};

}  // namespace

void handle_fetch(request_context ctx, protocol::reader& body) {
  fetch_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  broker_services& services = *ctx.services;
  const std::int64_t deadline =
      services.clk.steady_ns() +
      static_cast<std::int64_t>(std::max(request.max_wait_ms, 0)) * 1'000'000;
  auto op = std::make_shared<fetch_operation>(std::move(ctx), std::move(request));
  op->resolve();
  if (op->try_complete(false)) return;
  services.fetches.park(op, deadline, op->keys());
}

}  // namespace caudal::broker
