// The `caudal` command: one binary for the broker and its tools.

#include "base/logging.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

int run_serve(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}", data_dir, ec.message());
    return 1;
  }
  spdlog::info("caudal {}: data directory {}", CAUDAL_VERSION, data_dir);
  spdlog::warn(
      "the Kafka listener is not built yet (issue #3): this build has the storage engine "
      "only, so there is nothing to serve; exiting");
  return 0;
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

  auto* serve = app.add_subcommand("serve", "Run a broker (data in ./caudal-data by default)");
  std::string data_dir = "caudal-data";
  serve->add_option("--data-dir", data_dir, "Directory that holds the partition logs")
      ->capture_default_str();

  auto* version = app.add_subcommand("version", "Print the version and exit");

  CLI11_PARSE(app, argc, argv);
  if (!caudal::init_logging(log_level)) {
    std::fprintf(stderr, "caudal: unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  if (*version) {
    std::printf("caudal %s\n", CAUDAL_VERSION);
    return 0;
  }
  if (*serve) return run_serve(data_dir);
  return 0;
}
