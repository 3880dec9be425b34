#pragma once

// Small pieces the load tools share: `--key value` flags, another process's CPU time and
// memory read from /proc (the broker's cost per GB is the figure the issue tracks), this
// process's own CPU time, and the human + JSON result lines every tool prints.

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caudal::bench {

/// Flags of the form `--key value` after the sub-command. Unknown keys are an error at the
/// end (`finish`), so a typo never silently runs the default.
class flags {
 public:
  flags(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a.substr(0, 2) != "--" || i + 1 >= argc) fail(fmt::format("bad argument '{}'", a));
      _values[std::string(a.substr(2))] = argv[++i];
    }
  }

  [[nodiscard]] std::string text(const std::string& key, std::string fallback) {
    _used.push_back(key);
    auto it = _values.find(key);
    return it == _values.end() ? std::move(fallback) : it->second;
  }

  /// An integer with an optional K, M or G suffix (powers of 1024).
  [[nodiscard]] std::int64_t integer(const std::string& key, std::int64_t fallback) {
    const std::string s = text(key, "");
    if (s.empty()) return fallback;
    char* end = nullptr;
    std::int64_t v = std::strtoll(s.c_str(), &end, 10);
    const std::string_view suffix(end);
    if (end == s.c_str()) fail(fmt::format("--{}: '{}' is not a number", key, s));
    if (suffix == "K" || suffix == "k") {
      v <<= 10;
    } else if (suffix == "M" || suffix == "m") {
      v <<= 20;
    } else if (suffix == "G" || suffix == "g") {
      v <<= 30;
    } else if (!suffix.empty()) {
      fail(fmt::format("--{}: bad suffix '{}'", key, suffix));
    }
    return v;
  }

  [[nodiscard]] bool boolean(const std::string& key, bool fallback) {
    const std::string s = text(key, fallback ? "true" : "false");
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    fail(fmt::format("--{}: expected true or false, got '{}'", key, s));
  }

  /// Rejects any flag that no getter asked for.
  void finish() const {
    for (const auto& [key, value] : _values) {
      bool known = false;
      for (const auto& u : _used)
        known = known || u == key;
      if (!known) fail(fmt::format("unknown flag --{}", key));
    }
  }

  [[noreturn]] static void fail(const std::string& why) {
    std::fprintf(stderr, "caudal-bench: %s\n", why.c_str());
    std::exit(2);
  }

 private:
  std::map<std::string, std::string> _values;
  std::vector<std::string> _used;
};

/// One look at a process: CPU seconds used so far (user + system) and its memory.
struct process_sample {
  bool ok = false;
  double cpu_s = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t rss_peak_bytes = 0;  // VmHWM: the high-water mark since it started
};

/// Reads /proc/<pid>/stat and /proc/<pid>/status; `ok` is false if the process is gone
/// or `pid` <= 0 (no process to watch).
[[nodiscard]] inline process_sample sample_process(int pid) {
  process_sample s;
  if (pid <= 0) return s;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return s;
  // The command name may hold spaces; the fields after its closing ')' never do.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(line.substr(close + 1));
  std::vector<std::string> f;
  for (std::string x; fields >> x;)
    f.push_back(x);
  // f[0] is field 3 (state), so utime (field 14) and stime (field 15) are f[11] and f[12].
  if (f.size() < 13) return s;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  while (std::getline(status, line)) {
    const auto kb = [&line] { return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024; };
    if (line.rfind("VmRSS:", 0) == 0) s.rss_bytes = kb();
    if (line.rfind("VmHWM:", 0) == 0) s.rss_peak_bytes = kb();
  }
  s.ok = true;
  return s;
}

/// CPU seconds (user + system) used by this process so far, all threads.
[[nodiscard]] inline double self_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

/// The 1-minute load average, printed beside each result: other builds on the machine
/// disturb the figures, and this says how much.
[[nodiscard]] inline double load_1m() {
  double l[1] = {0};
  return ::getloadavg(l, 1) == 1 ? l[0] : -1;
}

/// Builds one JSON object line by appending fields in order; values are numbers, strings
/// (no escaping needed: they are our own flag values) or null.
class json_line {
 public:
  json_line& num(std::string_view key, double v) {
    add(key, fmt::format("{:.6g}", v));
    return *this;
  }
  json_line& count(std::string_view key, std::uint64_t v) {
    add(key, fmt::format("{}", v));
    return *this;
  }
  json_line& str(std::string_view key, std::string_view v) {
    add(key, fmt::format("\"{}\"", v));
    return *this;
  }
  json_line& null(std::string_view key) {
    add(key, "null");
    return *this;
  }
  [[nodiscard]] std::string done() const { return "{" + _body + "}"; }

 private:
  void add(std::string_view key, std::string_view value) {
    if (!_body.empty()) _body += ",";
    _body += fmt::format("\"{}\":{}", key, value);
  }
  std::string _body;
};

/// Adds the watched server's cost for `bytes` moved between two samples to `j` and
/// returns a human fragment such as "broker 1.23 cpu-s/GB, rss 120 MiB".
inline std::string add_server_cost(json_line& j, std::string_view who, const process_sample& before,
                                   const process_sample& after, std::uint64_t bytes) {
  if (!before.ok || !after.ok) {
    j.null(fmt::format("{}_cpu_s", who)).null(fmt::format("{}_cpu_s_per_gb", who));
    return fmt::format("{} cost not measured", who);
  }
  const double cpu = after.cpu_s - before.cpu_s;
  const double per_gb = bytes == 0 ? 0 : cpu / (static_cast<double>(bytes) / 1e9);
  j.num(fmt::format("{}_cpu_s", who), cpu)
      .num(fmt::format("{}_cpu_s_per_gb", who), per_gb)
      .num(fmt::format("{}_rss_mib", who), static_cast<double>(after.rss_bytes) / (1 << 20))
      .num(fmt::format("{}_rss_peak_mib", who),
           static_cast<double>(after.rss_peak_bytes) / (1 << 20));
  return fmt::format("{} {:.2f} cpu-s/GB, rss {:.0f} MiB", who, per_gb,
                     static_cast<double>(after.rss_bytes) / (1 << 20));
}

/// A fixed payload of `size` bytes that compresses about as well as text would: the same
/// bytes every run, so runs compare.
[[nodiscard]] inline std::vector<char> make_payload(std::size_t size) {
  std::vector<char> p(size);
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    p[i] = static_cast<char>('a' + (x >> 16) % 16);
  }
  return p;
}

}  // namespace caudal::bench
