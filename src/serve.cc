#include "serve.h"

#include "base/clock.h"
#include "base/logging.h"
#include "broker/broker.h"
#include "broker/fetch_purgatory.h"
#include "cluster/broker_config.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "group/group_coordinator.h"
#include "group/txn_coordinator.h"
#include "http/admin_server.h"
#include "net/server.h"
#include "net/shutdown_signal.h"
#include "storage/flush_pool.h"

#include <filesystem>
#include <memory>

namespace caudal {

int serve(const properties& values) {
  const auto config = cluster::broker_config::load(values);
  auto admin_address = http::parse_admin_address(config.string("admin.listener"));
  if (admin_address.index() == 1) {
    spdlog::error("{}", std::get<1>(admin_address));
    return 1;
  }
  // Catch signals before anything starts, so an early SIGTERM still shuts down cleanly.
  net::shutdown_signal_waiter signals;
  const std::filesystem::path data_dir = config.log_dir();
  clock& clk = system_clock();
  storage::flush_pool flushers(2);
  storage::flush_pool background(1);

  auto metadata = cluster::metadata_store::open(data_dir, config.node_id(), clk, flushers);
  if (!metadata) {
    spdlog::error("cannot open the metadata in {}: {}", data_dir.string(),
                  metadata.error().message());
    return 1;
  }
  cluster::partition_manager partitions(data_dir, config, clk, flushers);
  if (auto r = partitions.reconcile(*(*metadata)->topics()); !r) {
    spdlog::error("cannot open the partition logs in {}: {}", data_dir.string(),
                  r.error().message());
    return 1;
  }
  partitions.start();
  broker::fetch_purgatory fetches(clk);
  fetches.start();
  group::group_coordinator groups(group::coordinator_config::from(config), **metadata, partitions,
                                  clk);
  if (auto r = groups.load(); !r) {
    spdlog::error("cannot load {}: {}", group::offsets_topic, r.error().message());
    return 1;
  }
  groups.start();
  group::txn_coordinator txns(group::txn_config::from(config), **metadata, partitions, groups, clk);
  txns.on_marker([&fetches](const cluster::partition& p) { fetches.notify(&p); });
  if (auto r = txns.load(); !r) {
    spdlog::error("cannot load {}: {}", group::transaction_topic, r.error().message());
    return 1;
  }
  txns.start();

  net::server_config net_config;
  net_config.endpoints.clear();
  for (const auto& l : config.listeners()) {
    net_config.endpoints.push_back(
        net::endpoint{l.name, l.host.empty() ? "0.0.0.0" : l.host, l.port});
  }
  net_config.loop_count = static_cast<unsigned>(config.integer("num.network.threads"));
  net_config.request_bytes_max =
      static_cast<std::int32_t>(config.integer("socket.request.max.bytes"));
  net_config.requests_in_flight_max =
      static_cast<std::size_t>(config.integer("queued.max.requests.per.connection"));
  net_config.connection_idle_ms_max = config.integer("connections.max.idle.ms");

  broker::broker_services services{
      config, **metadata, partitions, clk, fetches, background, config.advertised_listeners()};
  services.groups = &groups;
  services.txns = &txns;
  broker::broker handler(services);
  net::server server(net_config, handler);
  if (auto r = server.start(); !r) {
    spdlog::error("cannot listen: {}", r.error().message());
    return 1;
  }
  // Port 0 in a listener means "any free port": advertise the one actually bound.
  for (auto& adv : services.advertised) {
    if (adv.port != 0) continue;
    for (const auto& bound : server.bound_endpoints()) {
      if (bound.name == adv.name) adv.port = bound.port;
    }
  }
  for (const auto& bound : server.bound_endpoints()) {
    spdlog::info("caudal {} (node {}, cluster {}) listening on {}://{}:{}, data in {}",
                 CAUDAL_VERSION, config.node_id(), (*metadata)->cluster_id(), bound.name,
                 bound.host, bound.port, data_dir.string());
  }
  // The admin listener is auxiliary: if its port is taken the broker still serves Kafka
  // (several test brokers on one machine share the default port), and says so loudly.
  std::unique_ptr<http::admin_server> admin;
  if (const auto& where = std::get<0>(admin_address)) {
    admin = std::make_unique<http::admin_server>(
        *where, http::admin_sources{services, [&server] { return server.connection_count(); }});
    if (auto r = admin->start(); !r) {
      spdlog::error("admin listener on {}:{} not started: {}", where->host, where->port,
                    r.error().message());
      admin.reset();
    } else {
      spdlog::info("admin listener on http://{}:{}", admin->bound().host, admin->bound().port);
    }
  }

  const int signal = signals.wait();
  spdlog::info("signal {}: shutting down", signal);
  if (admin) admin->stop();  // no more scrapes reading the layers below
  fetches.stop();            // parked fetches answer now with what they have
  server.stop();             // stop accepting, finish in-flight requests
  txns.stop();               // no more transaction timeouts
  groups.stop();             // no more timers: session expiry, retention, snapshots
  partitions.stop();         // flush and close every log
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace caudal
