// raft_node: one Raft node as a process, for the three-process test and the benchmark
// (not `caudal serve`). It runs N groups through the driver, each replicating a list of
// values, and answers a line protocol on a client port:
//
//   P <group> <id> <value>   propose; later "C <id> <index>" once applied here,
//                            or "E <id> <reason>" (not_leader, proposal_lost, ...)
//   R <group> <id>           linearizable read (read index): "R <id> <applied> <count>",
//                            count being the number of values applied, or "E <id> <reason>"
//   S <group>                "S <role> <term> <leader> <commit> <applied> <last>"
//   D <group>                "D <count> <value>..." every applied value, in log order
//
// Replies to P may come out of order with S/D replies; each carries the client's id.
// SIGTERM or SIGINT stops the node; the tests also SIGKILL it.

#include "base/bytes.h"
#include "base/logging.h"
#include "raft/driver/driver.h"
#include "raft/driver/errc.h"
#include "raft/driver/value_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace caudal;
using namespace caudal::raft;

// "D <count> <value>...": every value `values` applied, in log order.
std::string dump(const value_list& values) {
  const auto all = values.values();
  std::string out = fmt::format("D {}", all.size());
  for (const auto& v : all) {
    out += ' ';
    out += v;
  }
  return out;
}

struct options {
  node_id id = node_none;
  std::vector<peer_address> peers;
  std::string data_dir;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string client_host = "127.0.0.1";
  std::uint16_t client_port = 0;
  int groups = 1;
  int tick_ms = 10;
  int election_ticks = 20;
  int heartbeat_ticks = 3;
  std::int64_t compact_entries = 0;
  std::string log_level = "info";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "raft_node: %s\nusage: raft_node --id N --peers ID=HOST:PORT,... --data-dir DIR "
      "--listen HOST:PORT --client HOST:PORT [--groups N] [--tick-ms MS] "
      "[--election-ticks N] [--heartbeat-ticks N] [--compact-entries N] [--log-level LEVEL]\n",
      why.c_str());
  std::exit(2);
}

bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  const int p = std::atoi(s.substr(colon + 1).c_str());
  if (p < 0 || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string value = argv[++i];
    if (arg == "--id") {
      o.id = node_id(std::atoi(value.c_str()));
    } else if (arg == "--peers") {
      std::stringstream ss(value);
      std::string item;
      while (std::getline(ss, item, ',')) {
        const auto eq = item.find('=');
        peer_address p;
        if (eq == std::string::npos || !split_host_port(item.substr(eq + 1), p.host, p.port))
          usage("bad peer " + item);
        p.id = node_id(std::atoi(item.substr(0, eq).c_str()));
        o.peers.push_back(p);
      }
    } else if (arg == "--data-dir") {
      o.data_dir = value;
    } else if (arg == "--listen") {
      if (!split_host_port(value, o.listen_host, o.listen_port)) usage("bad --listen");
    } else if (arg == "--client") {
      if (!split_host_port(value, o.client_host, o.client_port)) usage("bad --client");
    } else if (arg == "--groups") {
      o.groups = std::atoi(value.c_str());
    } else if (arg == "--tick-ms") {
      o.tick_ms = std::atoi(value.c_str());
    } else if (arg == "--election-ticks") {
      o.election_ticks = std::atoi(value.c_str());
    } else if (arg == "--heartbeat-ticks") {
      o.heartbeat_ticks = std::atoi(value.c_str());
    } else if (arg == "--compact-entries") {
      o.compact_entries = std::atoll(value.c_str());
    } else if (arg == "--log-level") {
      o.log_level = value;
    } else {
      usage("unknown option " + arg);
    }
  }
  if (o.id == node_none || o.peers.empty() || o.data_dir.empty()) usage("missing options");
  if (o.groups < 1 || o.tick_ms < 1 || o.heartbeat_ticks >= o.election_ticks) usage("bad numbers");
  return o;
}

const char* role_name(raft::role r) {
  switch (r) {
    case raft::role::follower:
      return "follower";
    case raft::role::pre_candidate:
      return "pre_candidate";
    case raft::role::candidate:
      return "candidate";
    case raft::role::leader:
      return "leader";
  }
  return "?";
}

std::string error_name(std::error_code ec) {
  if (ec == make_error_code(errc::not_leader)) return "not_leader";
  if (ec == make_error_code(driver_errc::proposal_lost)) return "proposal_lost";
  if (ec == make_error_code(driver_errc::unknown_group)) return "unknown_group";
  std::string s = ec.message();
  for (char& c : s)
    if (c == ' ') c = '_';
  return s;
}

/// One client connection: a reader thread; replies from any thread under `write_mutex`.
struct client_connection {
  explicit client_connection(int f) : fd(f) {}
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;
  ~client_connection() { ::close(fd); }

  void reply(const std::string& line) {
    std::lock_guard lock(write_mutex);
    std::string out = line + "\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client left; the reply has nobody to go to
      sent += static_cast<std::size_t>(n);
    }
  }

  const int fd;
  std::mutex write_mutex;
};

void serve_client(std::shared_ptr<client_connection> c, driver* d,
                  std::vector<std::unique_ptr<value_list>>* stms) {
  std::string buffer;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::recv(c->fd, chunk, sizeof chunk, 0);
    if (n <= 0) return;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      std::istringstream in(line);
      std::string cmd;
      std::uint64_t group = 0;
      in >> cmd >> group;
      if (group >= stms->size()) {
        c->reply("E - unknown_group");
        continue;
      }
      if (cmd == "P") {
        std::string id;
        std::string value;
        in >> id >> value;
        const auto bytes = caudal::as_bytes(std::string_view(value));
        d->propose(group_id(group), {bytes.begin(), bytes.end()}, [c, id](result<log_index> r) {
          if (r) {
            c->reply(fmt::format("C {} {}", id, *r));
          } else {
            c->reply(fmt::format("E {} {}", id, error_name(r.error())));
          }
        });
      } else if (cmd == "R") {
        std::string id;
        in >> id;
        value_list* stm = (*stms)[group].get();
        d->read_index(group_id(group), [c, id, stm](result<log_index> r) {
          if (!r) return c->reply(fmt::format("E {} {}", id, error_name(r.error())));
          // On the loop thread, where the state machine moves: linearizable.
          c->reply(fmt::format("R {} {} {}", id, *r, stm->size()));
        });
      } else if (cmd == "S") {
        d->status(group_id(group), [c](result<group_status> s) {
          if (!s) return c->reply("E - " + error_name(s.error()));
          c->reply(fmt::format("S {} {} {} {} {} {}", role_name(s->role), s->term, s->leader,
                               s->commit, s->applied, s->last));
        });
      } else if (cmd == "D") {
        c->reply(dump(*(*stms)[group]));
      } else {
        c->reply("E - bad_command");
      }
    }
  }
}

int listen_clients(const options& o) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o.client_port);
  if (::inet_pton(AF_INET, o.client_host.c_str(), &a.sin_addr) != 1) usage("bad client host");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    std::fprintf(stderr, "raft_node: cannot listen on the client port %u: %s\n", o.client_port,
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (!init_logging(o.log_level)) usage("bad --log-level");

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  driver_config dc;
  dc.self = o.id;
  dc.listen_host = o.listen_host;
  dc.listen_port = o.listen_port;
  dc.peers = o.peers;
  dc.data_dir = o.data_dir;
  dc.tick_ms = o.tick_ms;
  dc.compact_entries = o.compact_entries;
  driver d(dc);
  std::vector<std::unique_ptr<value_list>> stms;
  for (int g = 0; g < o.groups; ++g) {
    stms.push_back(std::make_unique<value_list>());
    config rc;
    rc.self = o.id;
    for (const auto& p : o.peers)
      rc.voters.push_back(p.id);
    rc.election_timeout_ticks = o.election_ticks;
    rc.heartbeat_interval_ticks = o.heartbeat_ticks;
    if (auto r = d.add_group(group_id(static_cast<std::uint64_t>(g)), rc, *stms.back()); !r) {
      std::fprintf(stderr, "raft_node: group %d: %s\n", g, r.error().message().c_str());
      return 1;
    }
  }
  const int client_fd = listen_clients(o);
  if (auto r = d.start(); !r) {
    std::fprintf(stderr, "raft_node: cannot start: %s\n", r.error().message().c_str());
    return 1;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(client_fd, reinterpret_cast<sockaddr*>(&bound), &len);

  // Client connections are served by detached threads: the process ends by signal and
  // never joins them.
  std::thread([client_fd, &d, &stms] {
    for (;;) {
      const int fd = ::accept(client_fd, nullptr, nullptr);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::thread(serve_client, std::make_shared<client_connection>(fd), &d, &stms).detach();
    }
  }).detach();

  std::printf("raft_node ready id=%d raft_port=%u client_port=%u\n", o.id(), d.listen_port(),
              ntohs(bound.sin_port));
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("raft_node: signal {}: stopping", signal);
  d.stop();
  // Client threads may still hold the driver; leave without running destructors.
  std::fflush(stdout);
  std::_Exit(0);
}
