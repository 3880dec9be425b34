#pragma once

// `caudal serve`: the composition root that wires every layer into a running broker.

#include "base/properties.h"

#include <string>

namespace caudal {

/// Runs a broker with `values` (the properties file with command-line overrides applied)
/// until SIGINT or SIGTERM, then shuts down gracefully. Returns the process exit status.
/// Throws cluster::config_error for a bad configuration.
int serve(const properties& values);

}  // namespace caudal
