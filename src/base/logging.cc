#include "base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace caudal {

bool init_logging(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to `off`; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::drop("caudal");
  auto logger = spdlog::stderr_color_mt("caudal");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
  return true;
}

}  // namespace caudal
