#pragma once

// The Kafka request handler: decodes each frame's header, checks the API and version
// against what is served (api_table.h), and hands the request to that API's handler.
// Unknown APIs and unsupported versions close the connection, as Kafka does, except
// ApiVersions, which answers a too-new version in the v0 layout so clients can downgrade.

#include "broker/request_context.h"
#include "net/request_handler.h"

namespace caudal::broker {

class broker final : public net::request_handler {
 public:
  /// `services` must outlive the broker.
  explicit broker(broker_services& services) : _services(services) {}

  void handle(const net::connection_info& info, std::vector<std::byte> frame,
              net::responder r) override;

 private:
  broker_services& _services;
};

}  // namespace caudal::broker
