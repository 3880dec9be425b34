// DescribeCluster (key 60, v0-1): this broker, the cluster id and the controller (this
// node). Only the broker endpoint type is served, as on a Kafka broker listener.

#include "protocol/generated/describe_cluster.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/respond.h"

#include <fmt/format.h>

#include <limits>

namespace caudal::broker {
namespace {

using protocol::describe_cluster_request;
using protocol::describe_cluster_response;
using protocol::error_code;

constexpr std::int8_t endpoint_type_brokers = 1;
constexpr std::int8_t endpoint_type_controllers = 2;

}  // namespace

void handle_describe_cluster(request_context ctx, protocol::reader& body) {
  describe_cluster_request request;
  if (!request.decode(body, ctx.version)) {
    ctx.responder.close();
    return;
  }
  describe_cluster_response response;
  // Kafka's AuthHelper: an unknown type before a mismatched one; v0 cannot name a type,
  // so its errors would be INVALID_REQUEST.
  if (request.endpoint_type != endpoint_type_brokers) {
    const bool controllers = request.endpoint_type == endpoint_type_controllers;
    response.error_code = wire(ctx.version == 0 ? error_code::invalid_request
                               : controllers    ? error_code::mismatched_endpoint_type
                                                : error_code::unsupported_endpoint_type);
    response.error_message =
        controllers
            ? std::string(
                  "The request was sent to an endpoint of type BROKER, but we "
                  "wanted an endpoint of type CONTROLLER")
            : fmt::format("Unsupported endpoint type {}", static_cast<int>(request.endpoint_type));
    send_response(ctx, response);
    return;
  }
  const broker_services& services = *ctx.services;
  const cluster::listener& self = advertised_for(ctx);
  response.endpoint_type = endpoint_type_brokers;
  response.cluster_id = services.metadata.cluster_id();
  response.controller_id = services.config.node_id();
  describe_cluster_response::describe_cluster_broker broker;
  broker.broker_id = services.config.node_id();
  broker.host = self.host;
  broker.port = self.port;
  broker.rack = std::nullopt;
  response.brokers.push_back(std::move(broker));
  // No authorizer yet, so authorized operations are never computed.
  response.cluster_authorized_operations = std::numeric_limits<std::int32_t>::min();
  send_response(ctx, response);
}

}  // namespace caudal::broker
