// The metrics registry renders the Prometheus text format: these tests render, parse the
// text back by the format's rules, and check the values and the histogram invariants.

#include "base/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace caudal::metrics {
namespace {

struct parsed_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct parsed {
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> helps;
  std::vector<parsed_sample> samples;
};

// A strict reader of the text format: every line is "# HELP", "# TYPE" or a sample
// `name{label="value",...} number`; fails the test on anything else.
parsed parse(const std::string& text) {
  parsed out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto space = rest.find(' ');
      EXPECT_NE(space, std::string::npos) << line;
      const auto name = rest.substr(0, space);
      EXPECT_TRUE(valid_metric_name(name)) << line;
      (line[2] == 'H' ? out.helps : out.types)[name] = rest.substr(space + 1);
      continue;
    }
    parsed_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = line.substr(0, i);
    EXPECT_TRUE(valid_metric_name(s.name)) << line;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        EXPECT_NE(eq, std::string::npos) << line;
        const auto label = line.substr(i, eq - i);
        EXPECT_TRUE(valid_label_name(label)) << line;
        EXPECT_EQ(line[eq + 1], '"') << line;
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        s.labels[label] = value;
        ++i;  // the closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    EXPECT_EQ(line[i], ' ') << line;
    const auto number = line.substr(i + 1);
    s.value = number == "+Inf" ? HUGE_VAL : std::stod(number);
    out.samples.push_back(std::move(s));
  }
  return out;
}

const parsed_sample* find(const parsed& p, const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  for (const auto& s : p.samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

TEST(metrics, counters_render_with_labels_and_escaping) {
  registry r;
  r.get_counter("caudal_requests_total", "Requests.", {{"api", "Produce"}}).add(3);
  r.get_counter("caudal_requests_total", "Requests.", {{"api", "Fetch"}}).add();
  r.get_counter("weird_total", "Help with \\ and\nnewline.", {{"v", "a\"b\\c\nd"}}).add(7);
  const auto p = parse(r.render());
  EXPECT_EQ(p.types.at("caudal_requests_total"), "counter");
  EXPECT_EQ(p.helps.at("caudal_requests_total"), "Requests.");
  ASSERT_NE(find(p, "caudal_requests_total", {{"api", "Produce"}}), nullptr);
  EXPECT_EQ(find(p, "caudal_requests_total", {{"api", "Produce"}})->value, 3);
  EXPECT_EQ(find(p, "caudal_requests_total", {{"api", "Fetch"}})->value, 1);
  ASSERT_NE(find(p, "weird_total", {{"v", "a\"b\\c\nd"}}), nullptr);
  EXPECT_EQ(find(p, "weird_total", {{"v", "a\"b\\c\nd"}})->value, 7);
}

TEST(metrics, same_series_is_one_counter) {
  registry r;
  auto& a = r.get_counter("x_total", "X.", {{"k", "v"}});
  auto& b = r.get_counter("x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(metrics, histogram_buckets_are_cumulative_and_end_with_count) {
  registry r;
  const std::array<double, 3> bounds{0.1, 1.0, 10.0};
  auto& h = r.get_histogram("lat_seconds", "Latency.", {{"api", "Fetch"}}, bounds);
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0})
    h.observe(v);
  const auto p = parse(r.render());
  EXPECT_EQ(p.types.at("lat_seconds"), "histogram");
  const std::vector<std::pair<std::string, double>> expected{
      {"0.1", 2}, {"1", 3}, {"10", 4}, {"+Inf", 6}};
  for (const auto& [le, n] : expected) {
    const auto* s = find(p, "lat_seconds_bucket", {{"api", "Fetch"}, {"le", le}});
    ASSERT_NE(s, nullptr) << le;
    EXPECT_EQ(s->value, n) << le;
  }
  EXPECT_EQ(find(p, "lat_seconds_count", {{"api", "Fetch"}})->value, 6);
  EXPECT_DOUBLE_EQ(find(p, "lat_seconds_sum", {{"api", "Fetch"}})->value, 52.65);
}

TEST(metrics, collectors_report_gauges_until_removed) {
  registry r;
  const auto id = r.add_collector([](scrape& s) {
    s.gauge("caudal_connections_open", "Open connections.", {}, 4);
    s.gauge("caudal_log_size_bytes", "Log size.", {{"topic", "t"}, {"partition", "0"}}, 1024);
  });
  auto p = parse(r.render());
  EXPECT_EQ(p.types.at("caudal_connections_open"), "gauge");
  EXPECT_EQ(find(p, "caudal_connections_open", {})->value, 4);
  EXPECT_EQ(find(p, "caudal_log_size_bytes", {{"topic", "t"}, {"partition", "0"}})->value, 1024);
  r.remove_collector(id);
  p = parse(r.render());
  EXPECT_EQ(p.types.count("caudal_connections_open"), 0u);
}

TEST(metrics, concurrent_updates_are_all_counted) {
  registry r;
  auto& c = r.get_counter("c_total", "C.");
  auto& h = r.get_histogram("h_seconds", "H.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.add();
        h.observe(0.001);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  const auto p = parse(r.render());
  EXPECT_EQ(find(p, "c_total", {})->value, 40000);
  EXPECT_EQ(find(p, "h_seconds_count", {})->value, 40000);
  EXPECT_EQ(find(p, "h_seconds_bucket", {{"le", "+Inf"}})->value, 40000);
}

TEST(metrics, names_are_checked) {
  EXPECT_TRUE(valid_metric_name("caudal:x_total"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_TRUE(valid_label_name("_api"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_EQ(format_value(HUGE_VAL), "+Inf");
  EXPECT_EQ(format_value(0.0005), "0.0005");
}

}  // namespace
}  // namespace caudal::metrics
