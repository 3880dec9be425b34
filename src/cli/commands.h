#pragma once

// The client subcommands of `caudal` (issue 6): topic, produce, consume, group and cluster.
// Each is a Kafka client like any other (client.h); main.cc adds them to its CLI11 app:
//
//     caudal::cli::commands client_commands(app);   // before parsing
//     CLI11_PARSE(app, argc, argv);
//     if (auto status = client_commands.run()) return *status;

#include <memory>
#include <optional>

namespace CLI {
class App;
}  // namespace CLI

namespace caudal::cli {

/// Owns the options of the client subcommands added to an app. Lifetime: outlives the
/// parse of `app` and the call to run().
class commands {
 public:
  /// Adds the subcommands and their options to `app`.
  explicit commands(CLI::App& app);
  commands(const commands&) = delete;
  commands& operator=(const commands&) = delete;
  ~commands();

  /// If the parsed command line selected one of these subcommands, runs it and returns the
  /// exit status (failures are reported on stderr as "caudal: ..."); otherwise nullopt.
  [[nodiscard]] std::optional<int> run() const;

 private:
  struct state;
  std::unique_ptr<state> _state;
};

}  // namespace caudal::cli
