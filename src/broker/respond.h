#pragma once

// Encodes a response (header + body) for a request and completes its slot.

#include "broker/probe.h"
#include "broker/request_context.h"
#include "protocol/header.h"

#include <span>

namespace caudal::broker {

/// Turns a writer's output into a net::response. External chunk `id` i becomes
/// `externals[i]` (a file range sent with sendfile).
[[nodiscard]] net::response to_net_response(protocol::writer& w,
                                            std::span<const net::file_range> externals);

/// Encodes `body` at the request's version behind the right response header and sends it.
template <class Response>
void send_response(request_context& ctx, const Response& body,
                   std::span<const net::file_range> externals = {}) {
  protocol::writer w;
  protocol::encode_response_header(w, *ctx.api, ctx.version, ctx.header.correlation_id);
  body.encode(w, ctx.version);
  if constexpr (requires { body.error_code != 0; }) {
    if (body.error_code != 0 && ctx.meter) ctx.meter->note_error();
  }
  ctx.responder.send(to_net_response(w, externals));
}

}  // namespace caudal::broker
