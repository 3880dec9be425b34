// caudal cluster info|health.

#include "cli/command_registry.h"
#include "cli/error.h"
#include "cli/output.h"
#include "protocol/generated/describe_cluster.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

namespace caudal::cli {
namespace {

struct broker_entry {
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;
};

// What both commands show: Metadata for every topic, and DescribeCluster where the broker
// has it (Kafka 2.8+), which names the cluster and its controller with authority.
struct cluster_view {
  std::optional<std::string> cluster_id;
  std::int32_t controller = -1;
  std::vector<broker_entry> brokers;
  std::size_t topics = 0;
  std::size_t partitions = 0;
  std::vector<std::pair<std::string, std::int32_t>> leaderless;
};

cluster_view view_cluster(const common_options& o) {
  client c(bootstrap_brokers(o));
  const auto md = c.metadata(std::nullopt, auto_create::no);
  cluster_view v;
  v.cluster_id = md.cluster_id;
  v.controller = md.controller_id;
  for (const auto& b : md.brokers)
    v.brokers.push_back({b.node_id, b.host, b.port, b.rack});
  const node_id node = c.any_node();
  if (c.supports(node, protocol::api_key::describe_cluster)) {
    const auto ver = c.version(node, protocol::api_key::describe_cluster);
    const auto dc = c.call<protocol::describe_cluster_response>(
        node, protocol::describe_cluster_request{}, ver);
    if (dc.error_code != 0) {
      throw error("DescribeCluster failed: " + kafka_error_text(dc.error_code, dc.error_message));
    }
    v.cluster_id = dc.cluster_id;
    v.controller = dc.controller_id;
    v.brokers.clear();
    for (const auto& b : dc.brokers)
      v.brokers.push_back({b.broker_id, b.host, b.port, b.rack});
  }
  std::sort(v.brokers.begin(), v.brokers.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  for (const auto& t : md.topics) {
    if (t.error_code != 0) continue;
    ++v.topics;
    for (const auto& p : t.partitions) {
      ++v.partitions;
      if (p.leader_id < 0) v.leaderless.emplace_back(t.name.value_or(""), p.partition_index);
    }
  }
  std::sort(v.leaderless.begin(), v.leaderless.end());
  return v;
}

json leaderless_json(const cluster_view& v) {
  json out = json::array();
  for (const auto& [topic, partition] : v.leaderless) {
    out.push_back({{"topic", topic}, {"partition", partition}});
  }
  return out;
}

int run_info(const common_options& o) {
  const auto v = view_cluster(o);
  if (o.json()) {
    json brokers = json::array();
    for (const auto& b : v.brokers) {
      brokers.push_back({{"node_id", b.node_id},
                         {"host", b.host},
                         {"port", b.port},
                         {"rack", b.rack ? json(*b.rack) : json(nullptr)}});
    }
    print_json({{"cluster_id", v.cluster_id ? json(*v.cluster_id) : json(nullptr)},
                {"controller", v.controller},
                {"brokers", std::move(brokers)},
                {"topics", v.topics},
                {"partitions", v.partitions},
                {"leaderless_partitions", leaderless_json(v)}});
    return 0;
  }
  print_table({{"CLUSTER ID", v.cluster_id.value_or("(none)")},
               {"CONTROLLER", std::to_string(v.controller)},
               {"TOPICS", std::to_string(v.topics)},
               {"PARTITIONS", std::to_string(v.partitions)},
               {"LEADERLESS", std::to_string(v.leaderless.size())}});
  std::printf("\nBROKERS\n");
  std::vector<std::vector<std::string>> rows{{"ID", "HOST", "PORT", "RACK"}};
  for (const auto& b : v.brokers) {
    rows.push_back({std::to_string(b.node_id) + (b.node_id == v.controller ? "*" : ""), b.host,
                    std::to_string(b.port), b.rack.value_or("")});
  }
  print_table(rows);
  return 0;
}

int run_health(const common_options& o) {
  const auto v = view_cluster(o);
  const bool healthy = v.leaderless.empty() && !v.brokers.empty();
  if (o.json()) {
    print_json({{"healthy", healthy},
                {"brokers", v.brokers.size()},
                {"controller", v.controller},
                {"partitions", v.partitions},
                {"leaderless_partitions", leaderless_json(v)}});
  } else if (healthy) {
    std::printf("healthy: %zu broker(s), %zu partition(s), every partition has a leader\n",
                v.brokers.size(), v.partitions);
  } else {
    std::string list;
    for (const auto& [topic, partition] : v.leaderless) {
      list += (list.empty() ? "" : ", ") + topic + "/" + std::to_string(partition);
    }
    std::printf("unhealthy: %zu partition(s) without a leader%s%s\n", v.leaderless.size(),
                list.empty() ? "" : ": ", list.c_str());
  }
  return healthy ? 0 : static_cast<int>(exit_status::failure);
}

}  // namespace

void add_cluster_commands(CLI::App& app, command_registry& registry) {
  auto* cluster = app.add_subcommand("cluster", "Inspect the cluster");
  cluster->require_subcommand(1);
  {
    auto o = std::make_shared<common_options>();
    auto* sub = cluster->add_subcommand(
        "info", "Brokers, controller, cluster id, topic and partition counts");
    add_common_options(*sub, *o, true);
    registry.add(sub, [o] { return run_info(*o); });
  }
  {
    auto o = std::make_shared<common_options>();
    auto* sub = cluster->add_subcommand(
        "health", "Exit 0 when the brokers answer and every partition has a leader, else 1");
    add_common_options(*sub, *o, true);
    registry.add(sub, [o] { return run_health(*o); });
  }
}

}  // namespace caudal::cli
