// caudal produce TOPIC: one record per input line, batched per partition, sent to the
// partition leaders.
//
// Batching: each partition has one open batch. All open batches are sent together, one
// Produce request per leader holding one batch per partition (what Produce v3+ requires),
// when a batch fills up (batch_bytes_max or batch_records_max), when the open batches pass
// request_bytes_max, when the input pauses for --linger-ms, and at the end of the input.
// Requests go out one at a time, so records of a partition keep their input order.

#include "base/batch_builder.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/record_batch.h"
#include "cli/command_registry.h"
#include "cli/error.h"
#include "cli/output.h"
#include "cli/partitioner.h"
#include "cli/record_format.h"
#include "protocol/compression.h"
#include "protocol/generated/api_versions.h"
#include "protocol/generated/produce.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

namespace caudal::cli {
namespace {

constexpr std::size_t batch_bytes_max = 512 * 1024;  // well under max.message.bytes (1 MiB)
constexpr std::int32_t batch_records_max = 10'000;
constexpr std::size_t request_bytes_max = 8 * 1024 * 1024;
constexpr std::size_t read_chunk_bytes = 64 * 1024;
constexpr std::int32_t produce_timeout_ms = 30'000;
constexpr std::int64_t progress_interval_ns = 2'000'000'000;

struct produce_options {
  common_options common;
  std::string topic;
  std::string file;
  std::string format = "%v";
  std::optional<std::string> key;
  std::int32_t partition = -1;
  std::string compression = "none";
  std::string acks = "all";
  std::int32_t linger_ms = 10;
  bool quiet = false;
};

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// Reads lines from a file descriptor, telling "no full line yet" apart from the end.
class line_reader {
 public:
  enum class status { line, idle, end };

  explicit line_reader(int fd) : _fd(fd) {}

  // The next line (without "\n") in `out`; idle when none arrives within `wait_ms` (-1:
  // wait as long as it takes); end when the input is exhausted. A last line without a
  // newline still counts as a line.
  status next(std::string& out, int wait_ms) {
    for (;;) {
      const auto nl = _buffer.find('\n', _position);
      if (nl != std::string::npos) {
        out.assign(_buffer, _position, nl - _position);
        _position = nl + 1;
        return status::line;
      }
      if (_eof) {
        if (_position == _buffer.size()) return status::end;
        out.assign(_buffer, _position);
        _position = _buffer.size();
        return status::line;
      }
      _buffer.erase(0, _position);
      _position = 0;
      pollfd p{_fd, POLLIN, 0};
      const int n = ::poll(&p, 1, wait_ms);
      if (n == 0) return status::idle;
      if (n < 0) {
        if (errno == EINTR) continue;
        throw error(std::string("cannot read the input: ") + std::strerror(errno));
      }
      const auto old = _buffer.size();
      _buffer.resize(old + read_chunk_bytes);
      const ssize_t got = ::read(_fd, _buffer.data() + old, read_chunk_bytes);
      if (got < 0) {
        _buffer.resize(old);
        if (errno == EINTR || errno == EAGAIN) continue;
        throw error(std::string("cannot read the input: ") + std::strerror(errno));
      }
      _buffer.resize(old + static_cast<std::size_t>(got));
      if (got == 0) _eof = true;
    }
  }

 private:
  int _fd;
  std::string _buffer;
  std::size_t _position = 0;
  bool _eof = false;
};

// Rewrites an uncompressed batch from batch::builder as a compressed one: the records
// region (bytes 61..end) compressed, the codec in the attributes, length and CRC redone.
std::vector<std::byte> compress_batch(const std::vector<std::byte>& plain,
                                      protocol::compression_codec codec) {
  auto packed = protocol::compress(codec, std::span(plain).subspan(batch::header_bytes));
  if (!packed) throw error("cannot compress a batch: " + packed.error().message());
  std::vector<std::byte> out(batch::header_bytes + packed->size());
  std::memcpy(out.data(), plain.data(), batch::header_bytes);
  std::memcpy(out.data() + batch::header_bytes, packed->data(), packed->size());
  const auto attributes = static_cast<std::int16_t>(
      load_be<std::int16_t>(out.data() + batch::attributes_pos) | static_cast<std::int16_t>(codec));
  store_be<std::int16_t>(out.data() + batch::attributes_pos, attributes);
  store_be<std::int32_t>(out.data() + batch::batch_length_pos,
                         static_cast<std::int32_t>(out.size() - batch::log_overhead));
  store_be<std::uint32_t>(out.data() + batch::crc_pos, batch::compute_crc(out));
  return out;
}

protocol::compression_codec parse_codec(const std::string& name) {
  for (const auto codec : {protocol::compression_codec::none, protocol::compression_codec::gzip,
                           protocol::compression_codec::snappy, protocol::compression_codec::lz4,
                           protocol::compression_codec::zstd}) {
    if (name == protocol::compression_codec_name(codec)) return codec;
  }
  usage_error("--compression takes none, gzip, snappy, lz4 or zstd; got '" + name + "'");
}

std::int16_t parse_acks(const std::string& text) {
  if (text == "all" || text == "-1") return -1;
  if (text == "0") return 0;
  if (text == "1") return 1;
  usage_error("--acks takes 0, 1 or all; got '" + text + "'");
}

// Per-partition results for the summary.
struct partition_summary {
  std::int64_t records = 0;
  std::optional<std::int64_t> first_offset;
  std::optional<std::int64_t> last_offset;
};

class producer {
 public:
  producer(const produce_options& o, client& c, protocol::metadata_response md)
      : _o(o),
        _c(c),
        _md(std::move(md)),
        _topic(&find_topic(_md, o.topic)),
        _partitions(static_cast<std::int32_t>(_topic->partitions.size())),
        _sticky(_partitions),
        _codec(parse_codec(o.compression)),
        _acks(parse_acks(o.acks)),
        _start_ns(system_clock().steady_ns()),
        _last_progress_ns(_start_ns) {
    if (o.partition >= _partitions) {
      usage_error("topic " + o.topic + " has no partition " + std::to_string(o.partition) +
                  " (it has " + std::to_string(_partitions) + ")");
    }
  }

  // Adds one record, sending what is open first if a batch fills up.
  void add(const produced_record& r) {
    std::int32_t p = r.partition.value_or(_o.partition);
    const auto& key = _o.key ? _o.key : r.key;
    if (p < 0) p = key ? partition_for_key(bytes_of(*key), _partitions) : _sticky.current();
    if (p >= _partitions) {
      usage_error("topic " + _o.topic + " has no partition " + std::to_string(p) + " (it has " +
                  std::to_string(_partitions) + ")");
    }
    auto& b = _open[p];
    if (!b.builder) b.builder.emplace();
    std::vector<batch::record_header> headers;
    for (const auto& h : r.headers) {
      headers.push_back(
          {bytes_of(h.key), h.value ? std::optional(bytes_of(*h.value)) : std::nullopt});
    }
    const auto timestamp = r.timestamp_ms.value_or(system_clock().wall_ms());
    std::optional<std::span<const std::byte>> k;
    if (key) k = bytes_of(*key);
    std::optional<std::span<const std::byte>> v;
    if (r.value) v = bytes_of(*r.value);
    b.builder->add(k, v, timestamp, headers);
    std::size_t size = (key ? key->size() : 0) + (r.value ? r.value->size() : 0) + 16;
    for (const auto& h : r.headers)
      size += h.key.size() + h.value.value_or("").size() + 4;
    b.bytes += size;
    _open_bytes += size;
    _payload_bytes += (key ? key->size() : 0) + (r.value ? r.value->size() : 0);
    ++_records;
    if (b.bytes >= batch_bytes_max || b.builder->records() >= batch_records_max ||
        _open_bytes >= request_bytes_max) {
      flush();
    }
  }

  [[nodiscard]] bool has_open() const { return !_open.empty(); }

  // Sends every open batch: one request per leader.
  void flush() {
    if (_open.empty()) return;
    std::map<node_id, std::vector<std::pair<std::int32_t, std::vector<std::byte>>>> by_leader;
    std::map<std::int32_t, std::int32_t> counts;
    for (auto& [p, b] : _open) {
      counts[p] = b.builder->records();
      auto bytes = b.builder->finish();
      if (_codec != protocol::compression_codec::none) bytes = compress_batch(bytes, _codec);
      by_leader[leader_of(*_topic, p)].emplace_back(p, std::move(bytes));
      _sticky.batch_done(p);
    }
    _open.clear();
    _open_bytes = 0;
    for (auto& [leader, batches] : by_leader)
      send(leader, batches, counts);
    progress(false);
  }

  // After acks=0, one round trip on each leader connection: the broker answers requests of
  // a connection in order, so the answer means the records were taken in.
  void drain() {
    for (const auto leader : _silent_leaders) {
      const auto v = _c.version(leader, protocol::api_key::api_versions);
      static_cast<void>(
          _c.call<protocol::api_versions_response>(leader, protocol::api_versions_request{}, v));
    }
  }

  // Progress on stderr every progress_interval_ns, and a summary at the end of a long run.
  void progress(bool final) {
    if (_o.quiet) return;
    const auto now = system_clock().steady_ns();
    if (!final && now - _last_progress_ns < progress_interval_ns) return;
    if (final && now - _start_ns < progress_interval_ns) return;
    _last_progress_ns = now;
    const double seconds = static_cast<double>(now - _start_ns) / 1e9;
    std::fprintf(stderr,
                 "caudal: %s %lld records, %.1f MiB in %.1f s (%.0f records/s, %.1f MiB/s)\n",
                 final ? "produced" : "producing", static_cast<long long>(_records),
                 static_cast<double>(_payload_bytes) / 1048576.0, seconds,
                 static_cast<double>(_records) / seconds,
                 static_cast<double>(_payload_bytes) / 1048576.0 / seconds);
  }

  void print_summary() const {
    if (!_o.common.json()) return;
    json parts = json::array();
    for (const auto& [p, s] : _summary) {
      parts.push_back({{"partition", p},
                       {"records", s.records},
                       {"first_offset", s.first_offset ? json(*s.first_offset) : json(nullptr)},
                       {"last_offset", s.last_offset ? json(*s.last_offset) : json(nullptr)}});
    }
    print_json({{"topic", _o.topic},
                {"records", _records},
                {"bytes", _payload_bytes},
                {"partitions", std::move(parts)}});
  }

 private:
  struct open_batch {
    std::optional<batch::builder> builder;
    std::size_t bytes = 0;
  };

  void send(node_id leader,
            const std::vector<std::pair<std::int32_t, std::vector<std::byte>>>& batches,
            const std::map<std::int32_t, std::int32_t>& counts) {
    // v3 is the first version that carries record batches v2 (magic 2).
    const auto v = _c.version(leader, protocol::api_key::produce, 3);
    protocol::produce_request request;
    request.acks = _acks;
    request.timeout_ms = produce_timeout_ms;
    protocol::produce_request::topic_produce_data topic;
    topic.name = _o.topic;
    for (const auto& [p, bytes] : batches) {
      protocol::produce_request::partition_produce_data d;
      d.index = p;
      d.records = protocol::record_set(std::span<const std::byte>(bytes));
      topic.partition_data.push_back(std::move(d));
    }
    request.topic_data.push_back(std::move(topic));
    if (_acks == 0) {
      _c.send_only(leader, request, v);
      _silent_leaders.insert(leader);
      for (const auto& [p, bytes] : batches)
        _summary[p].records += counts.at(p);
      return;
    }
    const auto response = _c.call<protocol::produce_response>(leader, request, v);
    for (const auto& t : response.responses) {
      for (const auto& r : t.partition_responses) {
        if (r.error_code != 0) {
          std::string detail;
          for (const auto& e : r.record_errors) {
            if (e.batch_index_error_message) detail += "; " + *e.batch_index_error_message;
          }
          throw error("cannot produce to " + _o.topic + "/" + std::to_string(r.index) + ": " +
                      kafka_error_text(r.error_code, r.error_message) + detail);
        }
        auto& s = _summary[r.index];
        const auto it = counts.find(r.index);
        const std::int32_t n = it == counts.end() ? 0 : it->second;
        s.records += n;
        if (r.base_offset >= 0) {
          if (!s.first_offset) s.first_offset = r.base_offset;
          s.last_offset = r.base_offset + n - 1;
        }
      }
    }
  }

  const produce_options& _o;
  client& _c;
  protocol::metadata_response _md;
  const protocol::metadata_response::metadata_response_topic* _topic;
  std::int32_t _partitions;
  sticky_partitioner _sticky;
  protocol::compression_codec _codec;
  std::int16_t _acks;
  std::map<std::int32_t, open_batch> _open;
  std::size_t _open_bytes = 0;
  std::set<node_id> _silent_leaders;
  std::map<std::int32_t, partition_summary> _summary;
  std::int64_t _records = 0;
  std::int64_t _payload_bytes = 0;
  std::int64_t _start_ns;
  std::int64_t _last_progress_ns;
};

int run_produce(const produce_options& o) {
  const auto format = record_format::parse(o.format, record_format::direction::input);
  const auto fields = format.fields();
  if (o.key && std::find(fields.begin(), fields.end(), format_field::key) != fields.end()) {
    usage_error("--key and a format with %k both give the key; use one");
  }
  static_cast<void>(parse_codec(o.compression));
  static_cast<void>(parse_acks(o.acks));
  int fd = STDIN_FILENO;
  if (!o.file.empty()) {
    fd = ::open(o.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) usage_error("cannot open " + o.file + ": " + std::strerror(errno));
  }
  struct fd_closer {
    int fd;
    ~fd_closer() {
      if (fd != STDIN_FILENO) ::close(fd);
    }
  } closer{fd};

  client c(bootstrap_brokers(o.common));
  // Like every Kafka producer, ask for the topic to be created if the broker allows it.
  producer p(o, c, topic_metadata(c, o.topic, auto_create::yes));
  line_reader input(fd);
  std::string line;
  std::int64_t line_no = 0;
  for (;;) {
    const auto s = input.next(line, p.has_open() ? o.linger_ms : -1);
    if (s == line_reader::status::end) break;
    if (s == line_reader::status::idle) {
      p.flush();
      continue;
    }
    ++line_no;
    produced_record r;
    try {
      r = format.parse_line(line);
    } catch (const error& e) {
      p.flush();  // what came before stays produced
      throw error("line " + std::to_string(line_no) + ": " + e.what(), e.status());
    }
    p.add(r);
  }
  p.flush();
  p.drain();
  p.progress(true);
  p.print_summary();
  return 0;
}

}  // namespace

void add_produce_command(CLI::App& app, command_registry& registry) {
  auto o = std::make_shared<produce_options>();
  auto* sub = app.add_subcommand(
      "produce",
      "Produce one record per line of stdin (or --file). Keys go to partitions as the Java\n"
      "client puts them (murmur2); records without a key fill one partition's batch after\n"
      "another.");
  sub->add_option("topic", o->topic, "The topic")->required();
  sub->add_option("-f,--file", o->file, "Read lines from this file instead of stdin");
  sub->add_option("--format", o->format,
                  "How a line splits into a record: %k key, %v value, %h headers (k=v,k=v),\n"
                  "%t timestamp ms, %p partition, %% a percent sign; e.g. '%k %v'")
      ->capture_default_str();
  sub->add_option("-k,--key", o->key, "The key of every record");
  sub->add_option("-p,--partition", o->partition,
                  "Send every record to this partition (default: by key)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("-z,--compression", o->compression, "none, gzip, snappy, lz4 or zstd")
      ->capture_default_str();
  sub->add_option("-a,--acks", o->acks,
                  "0 (no answer), 1 (the leader has it) or all (every in-sync replica has it)")
      ->capture_default_str();
  sub->add_option("--linger-ms", o->linger_ms,
                  "How long a pause in the input may last before open batches are sent")
      ->capture_default_str()
      ->check(CLI::Range(0, 60'000));
  sub->add_flag("-q,--quiet", o->quiet, "No progress on stderr");
  add_common_options(*sub, o->common, true);
  registry.add(sub, [o] { return run_produce(*o); });
}

}  // namespace caudal::cli
