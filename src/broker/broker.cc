#include "broker/broker.h"

#include "base/logging.h"
#include "broker/api_table.h"
#include "broker/handlers/handlers.h"
#include "broker/probe.h"
#include "protocol/header.h"

namespace caudal::broker {

void broker::handle(const net::connection_info& info, std::vector<std::byte> frame,
                    net::responder r) {
  auto bytes = std::make_shared<std::vector<std::byte>>(std::move(frame));
  protocol::reader in(*bytes);
  auto header = protocol::decode_request_header(in);
  if (!header) {
    spdlog::debug("connection {} from {}: bad request header ({}); closing", info.id,
                  info.remote_address, header.error().message());
    r.close();
    return;
  }
  const std::int16_t key = header->header.request_api_key;
  const std::int16_t version = header->header.request_api_version;
  // Metered from here: the latency runs until the slot completes, on whatever thread.
  api_probe& probe = probe_for(key);
  probe.request_bytes.add(bytes->size());
  auto meter = std::make_shared<request_meter>(probe, std::move(r), _services.clk);
  request_context ctx{
      &_services,    std::move(header->header), header->api,         version, std::move(bytes),
      meter->wrap(), info.listener_name,        info.remote_address, meter};
  if (static_cast<protocol::api_key>(key) == protocol::api_key::api_versions) {
    // Answered whatever the version: a too-new one gets the v0-layout error reply.
    handle_api_versions(std::move(ctx), in);
    return;
  }
  const api_entry* entry = find_served_api(key);
  if (entry == nullptr || version < entry->version_min || version > entry->version_max) {
    spdlog::debug("connection {}: api {} v{} is not served; closing", info.id, key, version);
    ctx.responder.close();
    return;
  }
  entry->handler(std::move(ctx), in);
}

}  // namespace caudal::broker
