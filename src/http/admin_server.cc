#include "http/admin_server.h"

#include "base/logging.h"
#include "base/metrics.h"
#include "cluster/metadata_store.h"
#include "cluster/partition_manager.h"
#include "group/group.h"
#include "group/group_coordinator.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <thread>

namespace caudal::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

namespace {

// A client that sends nothing for this long is dropped.
constexpr std::chrono::seconds idle_timeout{30};

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

response make_response(const request& req, bhttp::status status, std::string content_type,
                       std::string body) {
  response res{status, req.version()};
  res.set(bhttp::field::server, "caudal");
  res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response json_response(const request& req, const json& body) {
  return make_response(req, bhttp::status::ok, "application/json", body.dump());
}

std::string partition_label(std::int32_t index) {
  return std::to_string(index);
}

// The gauges read at scrape time: connections, every partition's log, every group's lag.
void collect(const admin_sources& sources, metrics::scrape& s) {
  if (sources.connection_count) {
    s.gauge("caudal_connections_open", "Open client connections.", {},
            static_cast<double>(sources.connection_count()));
  }
  for (const auto& p : sources.services.partitions.all()) {
    const metrics::label_set labels{{"topic", p->topic}, {"partition", partition_label(p->index)}};
    s.gauge("caudal_log_size_bytes", "Bytes in a partition's log segments.", labels,
            static_cast<double>(p->log->size_bytes()));
    s.gauge("caudal_log_segments", "Segment files of a partition's log.", labels,
            static_cast<double>(p->log->segment_count()));
    s.gauge("caudal_log_end_offset", "A partition's log end offset.", labels,
            static_cast<double>(p->log->log_end_offset()()));
    s.gauge("caudal_high_watermark", "A partition's high watermark.", labels,
            static_cast<double>(p->high_watermark()()));
  }
  if (group::group_coordinator* groups = sources.services.groups) {
    for (const auto& g : groups->list_groups()) {
      for (const auto& l : groups->lag(g.group_id)) {
        const metrics::label_set labels{{"group", g.group_id},
                                        {"topic", l.tp.topic},
                                        {"partition", partition_label(l.tp.partition)}};
        s.gauge("caudal_group_committed_offset", "A group's committed offset for a partition.",
                labels, static_cast<double>(l.committed));
        if (l.lag >= 0) {
          s.gauge("caudal_group_lag", "High watermark minus a group's committed offset.", labels,
                  static_cast<double>(l.lag));
        }
      }
    }
  }
}

json brokers_json(const admin_sources& sources) {
  const auto& services = sources.services;
  json listeners = json::array();
  for (const auto& l : services.advertised) {
    listeners.push_back({{"name", l.name}, {"host", l.host}, {"port", l.port}});
  }
  return json::array({json{{"node_id", services.config.node_id()},
                           {"cluster_id", services.metadata.cluster_id()},
                           {"listeners", std::move(listeners)}}});
}

json topics_json(const admin_sources& sources) {
  const auto& services = sources.services;
  const auto table = services.metadata.topics();
  json out = json::array();
  for (const auto& [name, meta] : table->topics()) {
    json partitions = json::array();
    for (std::int32_t i = 0; i < meta.partitions; ++i) {
      json entry{{"partition", i}};
      if (auto p = services.partitions.get(name, i)) {
        entry["log_start_offset"] = p->log->log_start_offset()();
        entry["log_end_offset"] = p->log->log_end_offset()();
        entry["high_watermark"] = p->high_watermark()();
        entry["size_bytes"] = p->log->size_bytes();
        entry["segment_count"] = p->log->segment_count();
      }
      partitions.push_back(std::move(entry));
    }
    out.push_back({{"name", name},
                   {"id", meta.id.to_string()},
                   {"internal", meta.internal},
                   {"replication_factor", meta.replication_factor},
                   {"partitions", std::move(partitions)}});
  }
  return out;
}

json groups_json(const admin_sources& sources) {
  json out = json::array();
  group::group_coordinator* groups = sources.services.groups;
  if (groups == nullptr) return out;
  for (const auto& g : groups->list_groups()) {
    json offsets = json::array();
    for (const auto& l : groups->lag(g.group_id)) {
      offsets.push_back({{"topic", l.tp.topic},
                         {"partition", l.tp.partition},
                         {"committed", l.committed},
                         {"high_watermark", l.high_watermark},
                         {"lag", l.lag}});
    }
    out.push_back({{"group_id", g.group_id},
                   {"protocol_type", g.protocol_type},
                   {"state", std::string(group::state_name(g.state))},
                   {"offsets", std::move(offsets)}});
  }
  return out;
}

response handle(const admin_sources& sources, const request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() != bhttp::verb::get) {
    return make_response(req, bhttp::status::method_not_allowed, "text/plain", "GET only\n");
  }
  if (path == "/metrics") {
    return make_response(req, bhttp::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                         metrics::global().render());
  }
  if (path == "/v1/status/ready") return json_response(req, json{{"ready", true}});
  if (path == "/v1/brokers") return json_response(req, brokers_json(sources));
  if (path == "/v1/topics") return json_response(req, topics_json(sources));
  if (path == "/v1/groups") return json_response(req, groups_json(sources));
  return make_response(req, bhttp::status::not_found, "application/json",
                       json{{"error", "not found"}, {"path", std::string(path)}}.dump());
}

// One connection: read a request, answer it, repeat while the client keeps it alive.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, const admin_sources& sources)
      : _stream(std::move(socket)), _sources(sources) {}

  void read() {
    _request = {};
    _stream.expires_after(idle_timeout);
    bhttp::async_read(
        _stream, _buffer, _request,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) {
      close();
      return;
    }
    response res;
    try {
      res = handle(_sources, _request);
    } catch (const std::exception& e) {
      // A bug in a view must not take the broker down: answer 500 and log it.
      spdlog::error("admin {}: {}", std::string(_request.target()), e.what());
      res = make_response(_request, bhttp::status::internal_server_error, "text/plain",
                          "internal error\n");
    }
    auto shared = std::make_shared<response>(std::move(res));
    bhttp::async_write(_stream, *shared,
                       [self = shared_from_this(), shared](beast::error_code wec, std::size_t) {
                         if (wec || !shared->keep_alive()) {
                           self->close();
                           return;
                         }
                         self->read();
                       });
  }

  void close() {
    beast::error_code ignored;
    _stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    _stream.close();
  }

  beast::tcp_stream _stream;
  beast::flat_buffer _buffer;
  request _request;
  const admin_sources& _sources;
};

}  // namespace

std::variant<std::optional<admin_address>, std::string> parse_admin_address(
    std::string_view value) {
  if (value.empty()) return std::optional<admin_address>{};
  const auto colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::string("admin.listener must be host:port, got '") + std::string(value) + "'";
  }
  std::string_view host = value.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = value.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return std::string("admin.listener has a bad port: '") + std::string(value) + "'";
  }
  return std::optional<admin_address>{
      admin_address{std::string(host), static_cast<std::uint16_t>(port)}};
}

struct admin_server::impl {
  impl(admin_address a, admin_sources s) : address(std::move(a)), sources(std::move(s)) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != asio::error::operation_aborted) {
          spdlog::warn("admin listener: accept failed: {}", ec.message());
        }
        if (!acceptor.is_open()) return;
      } else {
        std::make_shared<session>(std::move(socket), sources)->read();
      }
      accept();
    });
  }

  admin_address address;
  admin_address bound;
  admin_sources sources;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::uint64_t collector = 0;
  bool running = false;
};

admin_server::admin_server(admin_address address, admin_sources sources)
    : _impl(std::make_unique<impl>(std::move(address), std::move(sources))) {}

admin_server::~admin_server() {
  stop();
}

result<void> admin_server::start() {
  CAUDAL_ASSERT(!_impl->running, "admin server started twice");
  beast::error_code ec;
  tcp::resolver resolver(_impl->io);
  auto found = resolver.resolve(_impl->address.host, std::to_string(_impl->address.port),
                                tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return std::error_code(ec);
  if (found.empty()) return std::make_error_code(std::errc::address_not_available);
  const tcp::endpoint endpoint = found.begin()->endpoint();
  auto& acceptor = _impl->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return std::error_code(ec);
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return std::error_code(ec);
  }
  if (acceptor.bind(endpoint, ec); ec) {
    acceptor.close();
    return std::error_code(ec);
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    acceptor.close();
    return std::error_code(ec);
  }
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return std::error_code(ec);
  _impl->bound = admin_address{local.address().to_string(), local.port()};
  const admin_sources* sources = &_impl->sources;
  _impl->collector =
      metrics::global().add_collector([sources](metrics::scrape& s) { collect(*sources, s); });
  _impl->accept();
  _impl->running = true;
  _impl->thread = std::thread([this] { _impl->io.run(); });
  return ok();
}

void admin_server::stop() {
  if (!_impl->running) return;
  _impl->running = false;
  metrics::global().remove_collector(_impl->collector);
  asio::post(_impl->io, [this] {
    beast::error_code ignored;
    _impl->acceptor.close(ignored);
  });
  _impl->io.stop();
  _impl->thread.join();
}

const admin_address& admin_server::bound() const {
  return _impl->bound;
}

}  // namespace caudal::http
