#pragma once

// The JetStream publisher of caudal-bench (`caudal-bench nats`).

#include "bench/bench_util.h"

namespace caudal::bench {

/// Creates a file-backed JetStream stream on a local nats-server and publishes records to
/// it with asynchronous acks (at most --window unacknowledged), speaking the NATS text
/// protocol over one socket. Prints a human and a JSON line; returns the exit code.
[[nodiscard]] int run_nats(flags& f);

}  // namespace caudal::bench
