#pragma once

// What the client subcommands share: the registry that maps a parsed CLI11 subcommand to
// the function that runs it, the common options (--brokers, -o) and the helpers every
// command uses to reach a topic. Internal to src/cli/.

#include "cli/client.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace caudal::cli {

/// The options every client command takes.
struct common_options {
  std::string brokers;          // --brokers; empty: $CAUDAL_BROKERS, else 127.0.0.1:9092
  std::string output = "text";  // -o text|json

  [[nodiscard]] bool json() const { return output == "json"; }
};

/// Leaf subcommands and the functions that run them. A run function returns the exit
/// status or throws cli::error.
class command_registry {
 public:
  /// Registers leaf subcommand `sub`; `run` is called when the command line selects it.
  void add(CLI::App* sub, std::function<int()> run);

  /// Runs the selected leaf, if any, turning a cli::error into its message and status.
  [[nodiscard]] std::optional<int> run_selected() const;

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> _commands;
};

/// Adds --brokers to `sub`, and -o/--output text|json when `with_output`.
void add_common_options(CLI::App& sub, common_options& options, bool with_output);

/// The bootstrap brokers: --brokers, else $CAUDAL_BROKERS, else 127.0.0.1:9092.
[[nodiscard]] std::vector<broker_address> bootstrap_brokers(const common_options& options);

/// The Metadata entry of `topic` from `md`. Throws cli::error "topic NAME does not exist"
/// (or the Kafka error) when the broker knows no such topic.
[[nodiscard]] const protocol::metadata_response::metadata_response_topic& find_topic(
    const protocol::metadata_response& md, const std::string& topic);

/// Metadata for one topic with every partition's leader known, retrying for a few seconds
/// while leaders are being elected (a topic just created). Throws like find_topic.
[[nodiscard]] protocol::metadata_response topic_metadata(client& c, const std::string& topic,
                                                         auto_create create);

/// Special ListOffsets timestamps.
inline constexpr std::int64_t earliest_timestamp = -2;
inline constexpr std::int64_t latest_timestamp = -1;

/// ListOffsets for `partitions` of topic `t` at `timestamp` (earliest_timestamp,
/// latest_timestamp, or milliseconds: the first offset with a timestamp at or after it, -1
/// when there is none), asking each partition's leader. Throws cli::error on a partition
/// error.
[[nodiscard]] std::map<std::int32_t, std::int64_t> list_offsets(
    client& c, const protocol::metadata_response::metadata_response_topic& t,
    const std::vector<std::int32_t>& partitions, std::int64_t timestamp);

/// The leader of `partition` of `t`; throws cli::error when it has none or does not exist.
[[nodiscard]] node_id leader_of(const protocol::metadata_response::metadata_response_topic& t,
                                std::int32_t partition);

void add_topic_commands(CLI::App& app, command_registry& registry);
void add_produce_command(CLI::App& app, command_registry& registry);
void add_consume_command(CLI::App& app, command_registry& registry);
void add_cluster_commands(CLI::App& app, command_registry& registry);
void add_group_commands(CLI::App& app, command_registry& registry);

}  // namespace caudal::cli
