// ApiVersions (key 18): what this broker serves. ../shared/kafka-protocol/README.md 3.8.

#include "protocol/generated/api_versions.h"
#include "broker/api_table.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

#include <regex>

namespace caudal::broker {
namespace {

// Kafka's check on ClientSoftwareName / ClientSoftwareVersion (v3+).
bool valid_software_field(const std::string& s) {
  static const std::regex pattern("[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?");
  return std::regex_match(s, pattern);
}

}  // namespace

void handle_api_versions(request_context ctx, protocol::reader& body) {
  const api_entry* self =
      find_served_api(static_cast<std::int16_t>(protocol::api_key::api_versions));
  protocol::api_versions_response response;
  if (ctx.version > self->version_max || ctx.version < self->version_min) {
    // The body is not parsed; answer in the v0 layout with our own range (README 3.8).
    response.error_code = wire(protocol::error_code::unsupported_version);
    protocol::api_versions_response::api_version v;
    v.api_key = static_cast<std::int16_t>(protocol::api_key::api_versions);
    v.min_version = self->version_min;
    v.max_version = self->version_max;
    response.api_keys.push_back(v);
    ctx.version = 0;
    send_response(ctx, response);
    return;
  }
  protocol::api_versions_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  if (ctx.version >= 3 && (!valid_software_field(request.client_software_name) ||
                           !valid_software_field(request.client_software_version))) {
    response.error_code = wire(protocol::error_code::invalid_request);
    send_response(ctx, response);
    return;
  }
  for (const auto& e : served_apis()) {
    protocol::api_versions_response::api_version v;
    v.api_key = static_cast<std::int16_t>(e.key);
    v.min_version = e.version_min;
    v.max_version = e.version_max;
    response.api_keys.push_back(v);
  }
  send_response(ctx, response);
}

}  // namespace caudal::broker
