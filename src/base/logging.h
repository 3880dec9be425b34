#pragma once

// Logging through spdlog: one line per event, never per record on the hot path.
// Modules log through the default logger; `init_logging` sets the level and format.

#include <spdlog/spdlog.h>

#include <string_view>

namespace caudal {

/// Configures the default logger to write to stderr at `level` ("trace", "debug",
/// "info", "warn", "error", "off"). Returns false for an unknown level name.
[[nodiscard]] bool init_logging(std::string_view level);

}  // namespace caudal
