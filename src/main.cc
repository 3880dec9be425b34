// The `caudal` command: one binary for the broker and its tools.

#include "base/logging.h"
#include "base/properties.h"
#include "cli/commands.h"
#include "cluster/broker_config.h"
#include "serve.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Reads the properties file (if any) and applies command-line overrides on top.
// Throws config_error with the file name or the offending key.
caudal::properties load_properties(const std::string& file, const std::vector<std::string>& sets) {
  caudal::properties values;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw caudal::cluster::config_error("cannot read config file " + file);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = caudal::parse_properties(text.str());
    if (parsed.index() == 1) {
      const auto& err = std::get<1>(parsed);
      throw caudal::cluster::config_error(file + ":" + std::to_string(err.line) + ": " +
                                          err.message);
    }
    values = std::get<0>(std::move(parsed));
  }
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw caudal::cluster::config_error("--set takes key=value, got '" + s + "'");
    }
    values[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Caudal: a durable, Raft-replicated event-streaming platform that speaks the Kafka "
      "wire protocol.\nEvery Kafka client works with it unchanged."};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  auto* serve = app.add_subcommand(
      "serve",
      "Run a broker. With no options: a single node on 127.0.0.1:9092, data in ./caudal-data.\n"
      "Configuration uses Kafka's server.properties keys (node.id, listeners, log.dirs, ...);\n"
      "flags override the file.");
  std::string config_file;
  std::vector<std::string> sets;
  std::string data_dir;
  std::string listeners;
  std::string node_id;
  serve->add_option("--config", config_file, "A Kafka-style properties file")
      ->check(CLI::ExistingFile);
  serve->add_option("--set", sets, "Override one config key: --set num.partitions=3 (repeatable)");
  serve->add_option("--data-dir", data_dir, "Shorthand for --set log.dirs=DIR");
  serve->add_option("--listeners", listeners, "Shorthand for --set listeners=...");
  serve->add_option("--node-id", node_id, "Shorthand for --set node.id=N");

  auto* version = app.add_subcommand("version", "Print the version and exit");
  // topic, produce, consume, group, cluster: Kafka clients of any broker (src/cli/).
  const caudal::cli::commands client_commands(app);

  CLI11_PARSE(app, argc, argv);
  if (!caudal::init_logging(log_level)) {
    std::fprintf(stderr, "caudal: unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  if (*version) {
    std::printf("caudal %s\n", CAUDAL_VERSION);
    return 0;
  }
  if (const auto status = client_commands.run()) return *status;
  if (*serve) {
    if (!data_dir.empty()) sets.push_back("log.dirs=" + data_dir);
    if (!listeners.empty()) sets.push_back("listeners=" + listeners);
    if (!node_id.empty()) sets.push_back("node.id=" + node_id);
    try {
      return caudal::serve(load_properties(config_file, sets));
    } catch (const caudal::cluster::config_error& e) {
      std::fprintf(stderr, "caudal serve: configuration error: %s\n", e.what());
      return 2;
    }
  }
  return 0;
}
