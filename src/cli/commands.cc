#include "cli/commands.h"

#include "base/clock.h"
#include "cli/command_registry.h"
#include "cli/error.h"
#include "protocol/error_code.h"
#include "protocol/generated/list_offsets.h"

#include <poll.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

namespace caudal::cli {

struct commands::state {
  command_registry registry;
};

commands::commands(CLI::App& app) : _state(std::make_unique<state>()) {
  add_topic_commands(app, _state->registry);
  add_produce_command(app, _state->registry);
  add_consume_command(app, _state->registry);
  add_cluster_commands(app, _state->registry);
  add_group_commands(app, _state->registry);
}

commands::~commands() = default;

std::optional<int> commands::run() const {
  return _state->registry.run_selected();
}

void command_registry::add(CLI::App* sub, std::function<int()> run) {
  _commands.emplace_back(sub, std::move(run));
}

std::optional<int> command_registry::run_selected() const {
  for (const auto& [sub, run] : _commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "caudal: %s\n", e.what());
      return static_cast<int>(e.status());
    }
  }
  return std::nullopt;
}

void add_common_options(CLI::App& sub, common_options& options, bool with_output) {
  sub.add_option("--brokers", options.brokers,
                 "Brokers to bootstrap from, host:port[,host:port...] (default: $CAUDAL_BROKERS, "
                 "else 127.0.0.1:9092)");
  if (with_output) {
    sub.add_option("-o,--output", options.output, "Output format: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
  }
}

std::vector<broker_address> bootstrap_brokers(const common_options& options) {
  if (!options.brokers.empty()) return parse_broker_list(options.brokers);
  if (const char* env = std::getenv("CAUDAL_BROKERS"); env != nullptr && *env != '\0') {
    return parse_broker_list(env);
  }
  return parse_broker_list("127.0.0.1:9092");
}

const protocol::metadata_response::metadata_response_topic& find_topic(
    const protocol::metadata_response& md, const std::string& topic) {
  for (const auto& t : md.topics) {
    if (t.name != topic) continue;
    const auto code = protocol::to_error_code(t.error_code);
    if (code == protocol::error_code::unknown_topic_or_partition) {
      throw error("topic " + topic + " does not exist");
    }
    if (code != protocol::error_code::none) {
      throw error("topic " + topic + ": " + kafka_error_text(t.error_code));
    }
    return t;
  }
  throw error("topic " + topic + " does not exist");
}

protocol::metadata_response topic_metadata(client& c, const std::string& topic,
                                           auto_create create) {
  // A topic just created (or auto-created by this very request) may answer
  // LEADER_NOT_AVAILABLE until its partitions have leaders.
  constexpr std::int64_t wait_ns_max = 10'000'000'000;
  const std::int64_t deadline_ns = system_clock().steady_ns() + wait_ns_max;
  for (;;) {
    auto md = c.metadata(std::vector<std::string>{topic}, create);
    bool ready = false;
    bool retriable = false;
    for (const auto& t : md.topics) {
      if (t.name != topic) continue;
      const auto code = protocol::to_error_code(t.error_code);
      retriable = code == protocol::error_code::leader_not_available;
      ready = code == protocol::error_code::none && !t.partitions.empty();
      for (const auto& p : t.partitions) {
        if (p.leader_id < 0) ready = false;
      }
      if (code == protocol::error_code::none && !ready) retriable = true;
    }
    if (ready || !retriable || system_clock().steady_ns() > deadline_ns) {
      static_cast<void>(find_topic(md, topic));  // throws for an unknown topic
      return md;
    }
    // The CLI's one wait: a short pause between Metadata retries (poll() with no descriptors;
    // this process is never simulated, so it does not need the clock abstraction).
    ::poll(nullptr, 0, 100);
  }
}

node_id leader_of(const protocol::metadata_response::metadata_response_topic& t,
                  std::int32_t partition) {
  for (const auto& p : t.partitions) {
    if (p.partition_index != partition) continue;
    if (p.leader_id < 0) {
      throw error("partition " + std::to_string(partition) + " of topic " + t.name.value_or("") +
                  " has no leader" +
                  (p.error_code != 0 ? " (" + kafka_error_text(p.error_code) + ")" : ""));
    }
    return p.leader_id;
  }
  throw error("topic " + t.name.value_or("") + " has no partition " + std::to_string(partition) +
              " (it has " + std::to_string(t.partitions.size()) + ")");
}

std::map<std::int32_t, std::int64_t> list_offsets(
    client& c, const protocol::metadata_response::metadata_response_topic& t,
    const std::vector<std::int32_t>& partitions, std::int64_t timestamp) {
  const std::string name = t.name.value_or("");
  std::map<node_id, std::vector<std::int32_t>> by_leader;
  for (const auto p : partitions)
    by_leader[leader_of(t, p)].push_back(p);
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& [leader, ids] : by_leader) {
    // v1 is the first version with a single offset per partition.
    const auto v = c.version(leader, protocol::api_key::list_offsets, 1);
    protocol::list_offsets_request request;
    request.replica_id = -1;
    protocol::list_offsets_request::list_offsets_topic topic;
    topic.name = name;
    for (const auto p : ids) {
      protocol::list_offsets_request::list_offsets_partition part;
      part.partition_index = p;
      part.timestamp = timestamp;
      topic.partitions.push_back(part);
    }
    request.topics.push_back(std::move(topic));
    const auto response = c.call<protocol::list_offsets_response>(leader, request, v);
    for (const auto& rt : response.topics) {
      for (const auto& rp : rt.partitions) {
        if (rp.error_code != 0) {
          throw error("cannot list offsets of " + name + "/" + std::to_string(rp.partition_index) +
                      ": " + kafka_error_text(rp.error_code));
        }
        out[rp.partition_index] = rp.offset;
      }
    }
  }
  for (const auto p : partitions) {
    if (out.count(p) == 0) {
      throw error("the broker did not answer ListOffsets for " + name + "/" + std::to_string(p));
    }
  }
  return out;
}

}  // namespace caudal::cli
