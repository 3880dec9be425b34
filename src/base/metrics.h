#pragma once

// A small metrics registry: counters and fixed-bucket histograms with labels, plus
// gauges computed at scrape time, rendered in the Prometheus text exposition format
// (version 0.0.4: "# HELP", "# TYPE", then `name{label="value"} number` lines).
//
// Cost model: looking a metric up by name and labels takes a mutex and a map search, so
// callers look up once (at construction, or once per request or batch) and keep the
// reference; updating a counter or histogram is a relaxed atomic add, never a lock.
// Nothing here is meant to run per record.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caudal::metrics {

/// Label names and values of one time series, in the order given (rendered in that
/// order). Names must match [a-zA-Z_][a-zA-Z0-9_]*; values are any UTF-8 (escaped).
using label_set = std::vector<std::pair<std::string, std::string>>;

/// Latency buckets in seconds, 0.1 ms to 10 s (upper bounds; +Inf is implied). Fine below
/// 2.5 ms, where a durable produce and a fsync land on a quiet machine.
inline constexpr std::array<double, 19> latency_seconds_bounds{
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,    0.5,   1.0,    2.5,   5.0,    10.0};

/// A monotonically increasing count. Thread-safe and lock-free.
class counter {
 public:
  counter() = default;
  counter(const counter&) = delete;
  counter& operator=(const counter&) = delete;

  /// Adds `n`.
  void add(std::uint64_t n = 1) noexcept { _value.fetch_add(n, std::memory_order_relaxed); }
  /// The current count.
  [[nodiscard]] std::uint64_t value() const noexcept {
    return _value.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> _value{0};
};

/// Observations counted into fixed buckets (upper bounds, ascending), with their sum.
/// Thread-safe and lock-free: observe() is a bucket search and two atomic adds.
///
/// A concurrent render may see an observation in its bucket but not yet in the sum; the
/// rendered _count is always the sum of the rendered buckets, so "+Inf == _count" holds.
class histogram {
 public:
  /// Requires: `bounds` non-empty, strictly ascending and finite.
  explicit histogram(std::span<const double> bounds);
  histogram(const histogram&) = delete;
  histogram& operator=(const histogram&) = delete;

  /// Records one observation of `value`.
  void observe(double value) noexcept;

  /// The upper bounds, without +Inf.
  [[nodiscard]] std::span<const double> bounds() const noexcept { return _bounds; }
  /// Observations per bucket (not cumulative); the last one is the +Inf bucket.
  [[nodiscard]] std::vector<std::uint64_t> bucket_counts() const;
  /// The sum of all observations.
  [[nodiscard]] double sum() const noexcept { return _sum.load(std::memory_order_relaxed); }

 private:
  std::vector<double> _bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> _counts;  // _bounds.size() + 1
  std::atomic<double> _sum{0.0};
};

/// What a collector reports at scrape time: gauges (and counters kept elsewhere, such as
/// a value read from another subsystem). Not thread-safe; used by one render.
class scrape {
 public:
  /// Reports gauge `name{labels} = value`. Requires: a valid metric name; all reports of
  /// one name use the same `help` and kind.
  void gauge(std::string_view name, std::string_view help, label_set labels, double value);
  /// Reports counter `name{labels} = value` (a count kept outside the registry).
  void counter(std::string_view name, std::string_view help, label_set labels, double value);

 private:
  friend class registry;
  struct sample {
    label_set labels;
    double value = 0;
  };
  struct family {
    std::string help;
    std::string type;
    std::vector<sample> samples;
  };
  void add(std::string_view name, std::string_view help, std::string_view type, label_set labels,
           double value);
  std::map<std::string, family, std::less<>> _families;
};

/// A collector: called at every render, on the rendering thread, to report gauges. It
/// may take other locks but must not call the registry it is registered with.
using collector = std::function<void(scrape&)>;

/// The set of metrics of a process (or of one test). Thread-safe.
///
/// Metrics live as long as the registry; the references returned stay valid.
class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The counter `name{labels}`, created at zero on first use. Requires: a valid name
  /// (ending in "_total" by convention), not registered as another kind; every call
  /// with one name passes the same `help`.
  counter& get_counter(std::string_view name, std::string_view help, const label_set& labels = {});
  /// The histogram `name{labels}`, created empty on first use with `bounds`. Requires as
  /// get_counter; every series of one name has the same bounds.
  histogram& get_histogram(std::string_view name, std::string_view help,
                           const label_set& labels = {},
                           std::span<const double> bounds = latency_seconds_bounds);

  /// Adds a collector run at every render. Returns an id for remove_collector().
  std::uint64_t add_collector(collector c);
  /// Removes a collector; once this returns it is not running and will not run again.
  void remove_collector(std::uint64_t id);

  /// Every metric in the Prometheus text format, families sorted by name.
  [[nodiscard]] std::string render() const;

 private:
  struct family {
    std::string help;
    std::string type;  // "counter" or "histogram"
    std::map<label_set, std::unique_ptr<counter>> counters;
    std::map<label_set, std::unique_ptr<histogram>> histograms;
  };
  family& family_for(std::string_view name, std::string_view help, std::string_view type);

  // Two locks, never held together: collectors read other subsystems (taking their
  // locks), which may themselves be registering a metric meanwhile.
  mutable std::mutex _mutex;  // guards _families
  std::map<std::string, family, std::less<>> _families;
  mutable std::mutex _collector_mutex;  // guards _collectors; held while they run
  std::map<std::uint64_t, collector> _collectors;
  std::uint64_t _next_collector = 1;
};

/// The process-wide registry that the broker's layers record into and /metrics renders.
[[nodiscard]] registry& global();

/// True if `name` is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
[[nodiscard]] bool valid_metric_name(std::string_view name) noexcept;
/// True if `name` is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*.
[[nodiscard]] bool valid_label_name(std::string_view name) noexcept;
/// A sample value as Prometheus writes it: "+Inf", "-Inf", "NaN", or the shortest
/// decimal that reads back as `v`.
[[nodiscard]] std::string format_value(double v);

}  // namespace caudal::metrics
