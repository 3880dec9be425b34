// A JetStream load tool of our own: Debian ships nats-server but no client, and the issue
// allows no third-party client library, so this speaks the NATS text protocol directly.
// Method: one TCP connection; CONNECT, then create a file-store stream through the
// $JS.API request subject; then PUB each record with a reply subject, so the server acks
// every stored record there, keeping at most --window records unacknowledged (what
// "async acks" means for JetStream clients). A reader thread parses MSG/PING lines and
// counts acks while the writer thread fills the window.

#include "bench/nats_publish.h"

#include "base/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace caudal::bench {
namespace {

constexpr std::string_view ack_subject = "_INBOX.caudalbench.ack";
constexpr std::string_view api_subject = "_INBOX.caudalbench.api";
constexpr std::size_t write_chunk_bytes = 64 * 1024;

double now_s() {
  return static_cast<double>(system_clock().steady_ns()) / 1e9;
}

// The connection: the writer thread publishes, the reader thread answers PINGs, so writes
// go through one mutex.
class nats_connection {
 public:
  explicit nats_connection(int port) {
    _fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (_fd < 0) flags::fail("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      flags::fail(fmt::format("cannot connect to nats-server on 127.0.0.1:{}", port));
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;
  ~nats_connection() { ::close(_fd); }

  void send(std::string_view bytes) {
    std::lock_guard lock(_write_mutex);
    while (!bytes.empty()) {
      const ssize_t n = ::send(_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) flags::fail("nats: write failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads more bytes into the buffer; false at end of stream.
  bool fill() {
    char chunk[64 * 1024];
    const ssize_t n = ::recv(_fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    _in.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  void shutdown_both() { ::shutdown(_fd, SHUT_RDWR); }

  std::string _in;  // unparsed input, owned by whichever thread reads

 private:
  int _fd = -1;
  std::mutex _write_mutex;
};

// One protocol message from the server.
struct server_message {
  std::string op;       // MSG, PING, PONG, INFO, +OK, -ERR
  std::string subject;  // MSG only
  std::string payload;  // MSG payload, or the rest of the line otherwise
};

// Parses the next complete message out of `c._in`, reading as needed; false at EOF.
bool next_message(nats_connection& c, std::size_t& pos, server_message& m) {
  for (;;) {
    const auto eol = c._in.find("\r\n", pos);
    if (eol != std::string::npos) {
      const std::string_view line(c._in.data() + pos, eol - pos);
      const auto space = line.find(' ');
      m.op = std::string(line.substr(0, space));
      if (m.op != "MSG") {
        m.payload = space == std::string_view::npos ? "" : std::string(line.substr(space + 1));
        pos = eol + 2;
        return true;
      }
      // MSG <subject> <sid> [reply-to] <#bytes>
      const auto last = line.rfind(' ');
      const std::size_t len =
          std::strtoull(std::string(line.substr(last + 1)).c_str(), nullptr, 10);
      if (c._in.size() >= eol + 2 + len + 2) {
        const auto subject_end = line.find(' ', space + 1);
        m.subject = std::string(line.substr(space + 1, subject_end - space - 1));
        m.payload = c._in.substr(eol + 2, len);
        pos = eol + 2 + len + 2;
        return true;
      }
    }
    // Keep the buffer small: drop what was parsed before reading more.
    c._in.erase(0, pos);
    pos = 0;
    if (!c.fill()) return false;
  }
}

struct ack_state {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t acked = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  std::string api_reply;
  bool api_replied = false;
  bool closed = false;
};

void read_loop(nats_connection* c, ack_state* acks) {
  std::size_t pos = 0;
  server_message m;
  while (next_message(*c, pos, m)) {
    if (m.op == "PING") {
      c->send("PONG\r\n");
    } else if (m.op == "-ERR") {
      std::fprintf(stderr, "caudal-bench: nats: -ERR %s\n", m.payload.c_str());
    } else if (m.op == "MSG") {
      std::lock_guard lock(acks->mutex);
      if (m.subject == ack_subject) {
        ++acks->acked;
        if (m.payload.find("\"error\"") != std::string::npos) {
          if (acks->errors++ == 0) acks->first_error = m.payload;
        }
      } else if (m.subject == api_subject) {
        acks->api_reply = m.payload;
        acks->api_replied = true;
      }
      acks->changed.notify_all();
    }
  }
  std::lock_guard lock(acks->mutex);
  acks->closed = true;
  acks->changed.notify_all();
}

}  // namespace

int run_nats(flags& f) {
  const int port = static_cast<int>(f.integer("port", 4222));
  const std::string stream = f.text("stream", "bench");
  const auto records = static_cast<std::uint64_t>(f.integer("records", 1'000'000));
  const auto size = static_cast<std::size_t>(f.integer("size", 1024));
  const auto window = static_cast<std::uint64_t>(f.integer("window", 1024));
  const int server_pid = static_cast<int>(f.integer("server-pid", 0));
  f.finish();
  if (window == 0 || records == 0) flags::fail("need --window and --records above 0");

  nats_connection c(port);
  c.send("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":false}\r\n");
  c.send(fmt::format("SUB {} 1\r\nSUB {} 2\r\n", ack_subject, api_subject));
  ack_state acks;
  std::thread reader(read_loop, &c, &acks);

  const std::string data_subject = stream + ".data";
  const std::string config = fmt::format(
      "{{\"name\":\"{}\",\"subjects\":[\"{}\"],\"storage\":\"file\",\"retention\":\"limits\","
      "\"num_replicas\":1}}",
      stream, data_subject);
  c.send(fmt::format("PUB $JS.API.STREAM.CREATE.{} {} {}\r\n{}\r\n", stream, api_subject,
                     config.size(), config));
  {
    std::unique_lock lock(acks.mutex);
    acks.changed.wait_for(lock, std::chrono::seconds(10),
                          [&] { return acks.api_replied || acks.closed; });
    if (!acks.api_replied || (acks.api_reply.find("\"error\"") != std::string::npos &&
                              acks.api_reply.find("already in use") == std::string::npos)) {
      flags::fail(fmt::format("nats: stream create failed: {}", acks.api_reply));
    }
  }

  const auto payload = make_payload(size);
  const std::string header = fmt::format("PUB {} {} {}\r\n", data_subject, ack_subject, size);
  std::string out;
  out.reserve(write_chunk_bytes + header.size() + size + 2);
  const auto before = sample_process(server_pid);
  const double cpu_before = self_cpu_s();
  const double start = now_s();
  std::uint64_t sent = 0;
  while (sent < records) {
    std::uint64_t room = 0;
    {
      std::unique_lock lock(acks.mutex);
      acks.changed.wait(lock, [&] { return sent - acks.acked < window || acks.closed; });
      if (acks.closed) flags::fail("nats: connection closed");
      room = window - (sent - acks.acked);
    }
    out.clear();
    for (; room > 0 && sent < records && out.size() < write_chunk_bytes; --room, ++sent) {
      out += header;
      out.append(payload.data(), payload.size());
      out += "\r\n";
    }
    c.send(out);
  }
  {
    std::unique_lock lock(acks.mutex);
    acks.changed.wait_for(lock, std::chrono::seconds(120),
                          [&] { return acks.acked >= records || acks.closed; });
  }
  const double seconds = now_s() - start;
  const double client_cpu = self_cpu_s() - cpu_before;
  const auto after = sample_process(server_pid);
  c.shutdown_both();
  reader.join();

  const std::uint64_t stored = acks.acked - acks.errors;
  const std::uint64_t bytes = stored * size;
  json_line j;
  j.str("mode", "nats")
      .str("stream", stream)
      .count("records", stored)
      .count("errors", acks.errors)
      .count("size", size)
      .count("window", window)
      .num("seconds", seconds)
      .num("mb_per_s", static_cast<double>(bytes) / 1e6 / seconds)
      .num("records_per_s", static_cast<double>(stored) / seconds)
      .num("client_cpu_s_per_gb", client_cpu / (static_cast<double>(bytes) / 1e9));
  const std::string cost = add_server_cost(j, "server", before, after, bytes);
  j.num("load_1m", load_1m());
  std::printf(
      "nats %s: %llu x %zu B, window %llu: %.1f MB/s, %.0f records/s in %.2f s; %s; "
      "%llu errors%s\n",
      stream.c_str(), static_cast<unsigned long long>(stored), size,
      static_cast<unsigned long long>(window), static_cast<double>(bytes) / 1e6 / seconds,
      static_cast<double>(stored) / seconds, seconds, cost.c_str(),
      static_cast<unsigned long long>(acks.errors),
      acks.errors ? (" (first: " + acks.first_error + ")").c_str() : "");
  std::printf("%s\n", j.done().c_str());
  return stored == records ? 0 : 1;
}

}  // namespace caudal::bench
