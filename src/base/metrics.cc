#include "base/metrics.h"

#include "base/assert.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace caudal::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) return false;
  }
  return true;
}

void check_labels(const label_set& labels) {
  for (const auto& [name, value] : labels) {
    CAUDAL_ASSERT(valid_label_name(name) && name != "le", "bad label name '{}'", name);
  }
}

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void write_labels(std::string& out, const label_set& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape(value, true);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void write_header(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(help, false), name, type);
}

void write_sample(std::string& out, std::string_view name, const label_set& labels, double value,
                  std::string_view le = {}) {
  out += name;
  write_labels(out, labels, le);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void write_histogram(std::string& out, std::string_view name, const label_set& labels,
                     const histogram& h) {
  const auto counts = h.bucket_counts();
  const auto bounds = h.bounds();
  const std::string bucket = fmt::format("{}_bucket", name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
    write_sample(out, bucket, labels, static_cast<double>(cumulative), le);
  }
  write_sample(out, fmt::format("{}_sum", name), labels, h.sum());
  write_sample(out, fmt::format("{}_count", name), labels, static_cast<double>(cumulative));
}

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
  return valid_name(name, true);
}

bool valid_label_name(std::string_view name) noexcept {
  return valid_name(name, false);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

histogram::histogram(std::span<const double> bounds)
    : _bounds(bounds.begin(), bounds.end()),
      _counts(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  CAUDAL_ASSERT(!_bounds.empty(), "a histogram needs at least one bucket");
  for (std::size_t i = 0; i < _bounds.size(); ++i) {
    CAUDAL_ASSERT(std::isfinite(_bounds[i]), "bucket bound {} is not finite", i);
    CAUDAL_ASSERT(i == 0 || _bounds[i - 1] < _bounds[i], "bucket bounds must ascend");
  }
}

void histogram::observe(double value) noexcept {
  // Buckets are upper bounds, inclusive ("le"): the first bound >= value.
  const auto it = std::lower_bound(_bounds.begin(), _bounds.end(), value);
  const auto index = static_cast<std::size_t>(it - _bounds.begin());
  _counts[index].fetch_add(1, std::memory_order_relaxed);
  _sum.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(_bounds.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = _counts[i].load(std::memory_order_relaxed);
  }
  return out;
}

void scrape::gauge(std::string_view name, std::string_view help, label_set labels, double value) {
  add(name, help, "gauge", std::move(labels), value);
}

void scrape::counter(std::string_view name, std::string_view help, label_set labels, double value) {
  add(name, help, "counter", std::move(labels), value);
}

void scrape::add(std::string_view name, std::string_view help, std::string_view type,
                 label_set labels, double value) {
  CAUDAL_ASSERT(valid_metric_name(name), "bad metric name '{}'", name);
  check_labels(labels);
  auto it = _families.find(name);
  if (it == _families.end()) {
    it = _families.emplace(std::string(name), family{std::string(help), std::string(type), {}})
             .first;
  }
  CAUDAL_ASSERT(it->second.type == type, "metric {} reported as {} and {}", name, it->second.type,
                type);
  it->second.samples.push_back(sample{std::move(labels), value});
}

registry::family& registry::family_for(std::string_view name, std::string_view help,
                                       std::string_view type) {
  CAUDAL_ASSERT(valid_metric_name(name), "bad metric name '{}'", name);
  auto it = _families.find(name);
  if (it == _families.end()) {
    it = _families.emplace(std::string(name), family{std::string(help), std::string(type), {}, {}})
             .first;
  }
  CAUDAL_ASSERT(it->second.type == type, "metric {} registered as {} and {}", name, it->second.type,
                type);
  return it->second;
}

counter& registry::get_counter(std::string_view name, std::string_view help,
                               const label_set& labels) {
  check_labels(labels);
  std::lock_guard lock(_mutex);
  auto& f = family_for(name, help, "counter");
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help,
                                   const label_set& labels, std::span<const double> bounds) {
  check_labels(labels);
  std::lock_guard lock(_mutex);
  auto& f = family_for(name, help, "histogram");
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<histogram>(bounds);
  CAUDAL_ASSERT(
      std::equal(bounds.begin(), bounds.end(), slot->bounds().begin(), slot->bounds().end()),
      "histogram {} used with other bounds", name);
  return *slot;
}

std::uint64_t registry::add_collector(collector c) {
  std::lock_guard lock(_collector_mutex);
  const std::uint64_t id = _next_collector++;
  _collectors.emplace(id, std::move(c));
  return id;
}

void registry::remove_collector(std::uint64_t id) {
  std::lock_guard lock(_collector_mutex);
  _collectors.erase(id);
}

std::string registry::render() const {
  scrape gathered;
  {
    std::lock_guard lock(_collector_mutex);
    for (const auto& [id, c] : _collectors)
      c(gathered);
  }
  std::lock_guard lock(_mutex);

  // Registered families and scraped ones, merged in name order; a name is one family.
  std::map<std::string_view, int> names;
  for (const auto& [name, f] : _families)
    names[name] |= 1;
  for (const auto& [name, f] : gathered._families)
    names[name] |= 2;

  std::string out;
  for (const auto& [name, where] : names) {
    if (where & 1) {
      const auto& f = _families.find(name)->second;
      if (f.counters.empty() && f.histograms.empty() && !(where & 2)) continue;
      write_header(out, name, f.help, f.type);
      for (const auto& [labels, c] : f.counters) {
        write_sample(out, name, labels, static_cast<double>(c->value()));
      }
      for (const auto& [labels, h] : f.histograms)
        write_histogram(out, name, labels, *h);
    }
    if (where & 2) {
      const auto& f = gathered._families.find(name)->second;
      if (!(where & 1)) write_header(out, name, f.help, f.type);
      for (const auto& s : f.samples)
        write_sample(out, name, s.labels, s.value);
    }
  }
  return out;
}

registry& global() {
  static registry* r = new registry();  // never destroyed: used until the process exits
  return *r;
}

}  // namespace caudal::metrics
