// Raft commit throughput and latency for 1 KiB entries on three nodes, two ways:
//   inprocess: three raft_cores in one thread with an in-memory network and no fsync (the
//              simulator's setting without faults): what the core itself costs;
//   processes: three raft_node processes over loopback TCP, each syncing its log before
//              it sends, driven by one client pipelining `window` proposals to the leader.
// Latency is from propose to the leader applying the entry (inprocess) or to the client
// reading the commit reply (processes). Prints one human line and one JSON line.
//
// Usage: raft_bench --mode inprocess [--entries N] [--window N] [--bytes N] [--dir DIR]
//        raft_bench --mode processes --node-bin PATH [--seconds S] [--window N]
//                   [--bytes N] [--dir DIR]

#include "base/random.h"
#include "raft/core/raft_core.h"
#include "raft/driver/file_log.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace caudal;
using namespace caudal::raft;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

struct options {
  std::string mode = "inprocess";
  std::string node_bin;
  fs::path dir = "raft-bench-data";
  std::int64_t entries = 20000;  // inprocess
  double seconds = 10;           // processes, after a one-second warm-up
  std::size_t window = 64;       // proposals in flight
  std::size_t bytes = 1024;      // entry size
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "raft_bench: %s\nusage: raft_bench --mode inprocess|processes [--node-bin PATH] "
               "[--entries N] [--seconds S] [--window N] [--bytes N] [--dir DIR]\n",
               why.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string v = argv[++i];
    if (arg == "--mode") {
      o.mode = v;
    } else if (arg == "--node-bin") {
      o.node_bin = v;
    } else if (arg == "--dir") {
      o.dir = v;
    } else if (arg == "--entries") {
      o.entries = std::atoll(v.c_str());
    } else if (arg == "--seconds") {
      o.seconds = std::atof(v.c_str());
    } else if (arg == "--window") {
      o.window = static_cast<std::size_t>(std::atoll(v.c_str()));
    } else if (arg == "--bytes") {
      o.bytes = static_cast<std::size_t>(std::atoll(v.c_str()));
    } else {
      usage("unknown option " + arg);
    }
  }
  if (o.mode != "inprocess" && o.mode != "processes") usage("bad --mode");
  if (o.mode == "processes" && o.node_bin.empty()) usage("processes needs --node-bin");
  if (o.window == 0 || o.bytes == 0 || o.entries <= 0 || o.seconds <= 0) usage("bad numbers");
  return o;
}

struct summary {
  std::uint64_t commits = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
};

void report(const options& o, summary s) {
  std::sort(s.latencies_us.begin(), s.latencies_us.end());
  auto pct = [&](double p) {
    if (s.latencies_us.empty()) return 0.0;
    const auto at = static_cast<std::size_t>(p * static_cast<double>(s.latencies_us.size() - 1));
    return s.latencies_us[at];
  };
  const double rate = static_cast<double>(s.commits) / s.seconds;
  std::printf(
      "%-9s 3 nodes, %zu-byte entries, window %zu: %9.0f commits/s  p50 %8.0f us  "
      "p99 %8.0f us  (%llu commits in %.2f s)\n",
      o.mode.c_str(), o.bytes, o.window, rate, pct(0.50), pct(0.99),
      static_cast<unsigned long long>(s.commits), s.seconds);
  std::printf(
      "{\"bench\":\"raft\",\"mode\":\"%s\",\"nodes\":3,\"entry_bytes\":%zu,\"window\":%zu,"
      "\"commits\":%llu,\"seconds\":%.3f,\"commits_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
      o.mode.c_str(), o.bytes, o.window, static_cast<unsigned long long>(s.commits), s.seconds,
      rate, pct(0.50), pct(0.99));
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------
// inprocess: three cores, messages delivered in FIFO order, logs written but never synced.

struct bench_node {
  std::unique_ptr<file_log> log;
  std::unique_ptr<random_source> random;
  std::unique_ptr<raft_core> core;
};

summary run_inprocess(const options& o) {
  std::vector<bench_node> nodes(3);
  for (int i = 0; i < 3; ++i) {
    auto log = file_log::open(o.dir / fmt::format("node-{}", i + 1));
    if (!log) usage("cannot open log: " + log.error().message());
    auto& n = nodes[static_cast<std::size_t>(i)];
    n.log = std::move(*log);
    n.random = std::make_unique<random_source>(static_cast<std::uint64_t>(i + 1));
    config c;
    c.self = node_id(i + 1);
    c.voters = {node_id(1), node_id(2), node_id(3)};
    c.uncommitted_max = std::max<std::size_t>(c.uncommitted_max, o.window * 2);
    n.core = std::make_unique<raft_core>(c, n.log->recovered_hard_state(), *n.log, *n.random);
  }
  std::deque<message> network;
  std::map<log_index, steady::time_point> proposed;
  summary s;
  bool measuring = false;

  auto pump = [&](bench_node& n) {
    while (n.core->has_ready()) {
      ready r = n.core->drain();
      if (auto w = n.log->write(r.truncate_from, r.entries); !w) usage("log write failed");
      for (auto& m : r.messages)
        network.push_back(std::move(m));
      if (n.core->role() != role::leader) continue;
      for (const entry& e : r.committed) {
        auto it = proposed.find(e.index);
        if (it == proposed.end()) continue;
        if (measuring) {
          ++s.commits;
          s.latencies_us.push_back(
              std::chrono::duration<double, std::micro>(steady::now() - it->second).count());
        }
        proposed.erase(it);
      }
    }
  };
  auto deliver = [&] {
    for (std::size_t k = network.size(); k > 0; --k) {
      message m = std::move(network.front());
      network.pop_front();
      auto& n = nodes[static_cast<std::size_t>(m.to() - 1)];
      n.core->step(m);
      pump(n);
    }
  };
  auto leader = [&]() -> bench_node* {
    for (auto& n : nodes)
      if (n.core->role() == role::leader) return &n;
    return nullptr;
  };

  for (int t = 0; t < 1000 && leader() == nullptr; ++t) {
    for (auto& n : nodes) {
      n.core->tick();
      pump(n);
    }
    for (int hop = 0; hop < 4; ++hop)
      deliver();
  }
  if (leader() == nullptr) usage("no leader elected");

  const std::vector<std::byte> payload(o.bytes, std::byte{'x'});
  const std::int64_t warmup = std::min<std::int64_t>(o.entries / 10, 2000);
  std::int64_t submitted = 0;
  steady::time_point started;
  std::uint64_t hops = 0;
  while (s.commits < static_cast<std::uint64_t>(o.entries)) {
    bench_node* l = leader();
    if (l == nullptr) usage("leadership lost without faults");
    // Warm-up proposals drain before measuring starts, so every measured latency is
    // of a proposal made while measuring.
    const bool warming_done = !measuring && submitted >= warmup;
    if (warming_done && proposed.empty()) {
      measuring = true;
      started = steady::now();
    }
    while (proposed.size() < o.window && (measuring || submitted < warmup)) {
      auto index = l->core->propose(payload);
      if (!index) break;
      proposed.emplace(*index, steady::now());
      ++submitted;
      pump(*l);
    }
    deliver();
    // A tick per ten network hops: heartbeats and timeouts run, but rarely enough that
    // replication, not ticking, is what the loop spends its time on.
    if (++hops % 10 == 0) {
      for (auto& n : nodes) {
        n.core->tick();
        pump(n);
      }
    }
  }
  s.seconds = std::chrono::duration<double>(steady::now() - started).count();
  return s;
}

// ---------------------------------------------------------------------------------------
// processes: three raft_node processes and a pipelining client.

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/// Reads newline-terminated lines from a socket.
class line_reader {
 public:
  explicit line_reader(int fd) : _fd(fd) {}
  bool next(std::string& line) {
    for (;;) {
      const auto nl = _buffer.find('\n', _scan);
      if (nl != std::string::npos) {
        line.assign(_buffer, _scan, nl - _scan);
        _scan = nl + 1;
        if (_scan > 65536) {
          _buffer.erase(0, _scan);
          _scan = 0;
        }
        return true;
      }
      char chunk[65536];
      const ssize_t n = ::recv(_fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      _buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int _fd;
  std::string _buffer;
  std::size_t _scan = 0;
};

bool send_all(int fd, const std::string& s) {
  std::size_t sent = 0;
  while (sent < s.size()) {
    const ssize_t n = ::send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

struct node_process {
  pid_t pid = -1;
  std::uint16_t raft_port = 0;
  std::uint16_t client_port = 0;
};

void start_node(const options& o, int id, const std::string& peers, node_process& p) {
  int out[2];
  if (::pipe(out) != 0) usage("pipe failed");
  const std::string id_arg = std::to_string(id);
  const std::string data = (o.dir / fmt::format("node-{}", id)).string();
  const std::string listen = fmt::format("127.0.0.1:{}", p.raft_port);
  const std::string client = fmt::format("127.0.0.1:{}", p.client_port);
  p.pid = ::fork();
  if (p.pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(o.node_bin.c_str(), o.node_bin.c_str(), "--id", id_arg.c_str(), "--peers",
            peers.c_str(), "--data-dir", data.c_str(), "--listen", listen.c_str(), "--client",
            client.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  // The node prints one line once it listens.
  std::string line;
  char c = 0;
  while (::read(out[0], &c, 1) == 1 && c != '\n')
    line += c;
  ::close(out[0]);
  if (line.rfind("raft_node ready", 0) != 0) usage("node did not start: " + line);
}

summary run_processes(const options& o) {
  std::vector<node_process> nodes(3);
  std::string peers;
  for (int i = 0; i < 3; ++i) {
    nodes[static_cast<std::size_t>(i)].raft_port = free_port();
    nodes[static_cast<std::size_t>(i)].client_port = free_port();
    peers += fmt::format("{}{}=127.0.0.1:{}", i == 0 ? "" : ",", i + 1,
                         nodes[static_cast<std::size_t>(i)].raft_port);
  }
  for (int i = 0; i < 3; ++i)
    start_node(o, i + 1, peers, nodes[static_cast<std::size_t>(i)]);

  // Find the leader through the status command.
  int leader_fd = -1;
  const auto elect_deadline = steady::now() + std::chrono::seconds(20);
  while (leader_fd < 0 && steady::now() < elect_deadline) {
    for (auto& n : nodes) {
      const int fd = connect_to(n.client_port);
      if (fd < 0) continue;
      line_reader r(fd);
      std::string reply;
      if (send_all(fd, "S 0\n") && r.next(reply) && reply.rfind("S leader", 0) == 0) {
        leader_fd = fd;
        break;
      }
      ::close(fd);
    }
    if (leader_fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (leader_fd < 0) usage("no leader elected");

  std::mutex mutex;
  std::condition_variable space;
  std::map<std::uint64_t, steady::time_point> in_flight;
  summary s;
  std::uint64_t errors = 0;
  bool done = false;
  const auto start = steady::now();
  const auto measure_from = start + std::chrono::seconds(1);
  const auto end = measure_from + std::chrono::duration_cast<steady::duration>(
                                      std::chrono::duration<double>(o.seconds));

  std::thread receiver([&] {
    line_reader r(leader_fd);
    std::string line;
    while (r.next(line)) {
      char kind = 0;
      unsigned long long id = 0;
      if (std::sscanf(line.c_str(), "%c %llu", &kind, &id) != 2) continue;
      const auto now = steady::now();
      std::lock_guard lock(mutex);
      auto it = in_flight.find(id);
      if (it == in_flight.end()) continue;
      if (kind == 'C' && it->second >= measure_from && now <= end) {
        ++s.commits;
        s.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(now - it->second).count());
      } else if (kind != 'C') {
        ++errors;
      }
      in_flight.erase(it);
      space.notify_one();
      if (done && in_flight.empty()) return;
    }
  });

  const std::string payload(o.bytes, 'x');
  std::uint64_t next_id = 1;
  for (;;) {
    std::unique_lock lock(mutex);
    space.wait(lock, [&] { return in_flight.size() < o.window; });
    if (steady::now() >= end) {
      done = true;
      break;
    }
    const std::uint64_t id = next_id++;
    in_flight.emplace(id, steady::now());
    lock.unlock();
    if (!send_all(leader_fd, fmt::format("P 0 {} {}\n", id, payload))) usage("leader went away");
  }
  {
    std::unique_lock lock(mutex);
    space.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight.empty(); });
  }
  ::shutdown(leader_fd, SHUT_RDWR);
  receiver.join();
  ::close(leader_fd);
  s.seconds = std::chrono::duration<double>(end - measure_from).count();
  if (errors != 0)
    std::fprintf(stderr, "raft_bench: %llu proposals failed\n",
                 static_cast<unsigned long long>(errors));

  for (auto& n : nodes)
    ::kill(n.pid, SIGTERM);
  for (auto& n : nodes) {
    int status = 0;
    ::waitpid(n.pid, &status, 0);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  fs::remove_all(o.dir);
  fs::create_directories(o.dir);
  const summary s = o.mode == "inprocess" ? run_inprocess(o) : run_processes(o);
  report(o, s);
  fs::remove_all(o.dir);
  return 0;
}
