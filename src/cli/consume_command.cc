// caudal consume TOPIC: fetch records from the partition leaders and print them, following
// the log by default (long-polling Fetch) or stopping at the end with --exit.
//
// Without -g the command assigns itself the partitions and keeps its offsets in memory, as
// kcat does without -G. With -g GROUP it is a member of the group (group_client.h): it reads
// the partitions the group gives it, starts at the group's committed offsets (else at
// --from), heartbeats between fetches, commits its position every few seconds and at the
// end, and leaves the group on exit (SIGINT and SIGTERM included).

#include "base/clock.h"
#include "base/record_batch.h"
#include "base/record_reader.h"
#include "cli/command_registry.h"
#include "cli/error.h"
#include "cli/group_client.h"
#include "cli/offset_spec.h"
#include "cli/output.h"
#include "cli/record_format.h"
#include "protocol/batch_records.h"
#include "protocol/error_code.h"
#include "protocol/generated/fetch.h"

#include <poll.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <map>

namespace caudal::cli {
namespace {

constexpr std::int32_t fetch_bytes_max = 64 * 1024 * 1024;
constexpr std::int32_t partition_fetch_bytes_start = 1024 * 1024;
constexpr std::size_t decompressed_bytes_max = 256 * 1024 * 1024;
constexpr int metadata_refreshes_max = 20;
constexpr std::int64_t commit_interval_ns = 5'000'000'000;

// Set by SIGINT/SIGTERM while a group member runs, so that it commits and leaves.
volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int /*signal*/) {
  stop_requested = 1;
}

struct consume_options {
  common_options common;
  std::string topic;
  std::string from = "beginning";
  std::vector<std::int32_t> partitions;
  std::int64_t count = -1;
  bool exit_at_end = false;
  std::string format = "%v";
  std::int32_t fetch_wait_ms = 1000;
  std::string group;
};

struct partition_state {
  std::int64_t next = 0;
  std::int64_t high_watermark = -1;
  std::int32_t fetch_bytes = partition_fetch_bytes_start;
  bool done = false;
};

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The headers of a record: count pairs of (varint length, key) (varint length or -1, value).
std::vector<header_text> parse_headers(std::span<const std::byte> raw, std::int32_t count) {
  std::vector<header_text> out;
  protocol::reader r(raw);
  for (std::int32_t i = 0; i < count; ++i) {
    std::int32_t key_length = 0;
    if (!r.read_varint(key_length) || key_length < 0 ||
        static_cast<std::size_t>(key_length) > r.remaining()) {
      throw error("a record has malformed headers");
    }
    header_text h;
    h.key = text_of(r.rest().first(static_cast<std::size_t>(key_length)));
    static_cast<void>(r.skip(static_cast<std::size_t>(key_length)));
    std::int32_t value_length = 0;
    if (!r.read_varint(value_length) ||
        (value_length >= 0 && static_cast<std::size_t>(value_length) > r.remaining())) {
      throw error("a record has malformed headers");
    }
    if (value_length >= 0) {
      h.value = text_of(r.rest().first(static_cast<std::size_t>(value_length)));
      static_cast<void>(r.skip(static_cast<std::size_t>(value_length)));
    }
    out.push_back(std::move(h));
  }
  return out;
}

class consumer {
 public:
  consumer(const consume_options& o, client& c)
      : _o(o),
        _c(c),
        _output(record_format::parse(o.format, record_format::direction::output)),
        _spec(parse_offset_spec(o.from)),
        _md(topic_metadata(c, o.topic, auto_create::no)) {
    if (!o.group.empty()) {
      _member.emplace(c, o.group, o.topic);
      assign(_member->join());
      return;
    }
    std::vector<std::int32_t> ids = o.partitions;
    if (ids.empty()) {
      for (const auto& p : find_topic(_md, o.topic).partitions)
        ids.push_back(p.partition_index);
    }
    assign(ids);
  }

  // Commits the position and leaves the group (a group member only).
  void close() {
    if (!_member) return;
    commit();
    _member->leave();
  }

  // Fetches and prints until -n records, or (--exit) the end of every partition, or (a
  // group member) SIGINT/SIGTERM.
  void run() {
    int refreshes = 0;
    while (!finished()) {
      if (_member && !tend_group()) continue;
      if (stop_requested != 0) return;
      std::map<node_id, std::vector<std::int32_t>> by_leader;
      const auto& t = find_topic(_md, _o.topic);
      for (const auto& [id, s] : _partitions) {
        if (!s.done) by_leader[leader_of(t, id)].push_back(id);
      }
      if (by_leader.empty()) {  // a member with no partitions: wait for a rebalance
        ::poll(nullptr, 0, 200);
        continue;
      }
      bool stale = false;
      for (const auto& [leader, ids] : by_leader) {
        if (!fetch(leader, ids)) stale = true;
        std::fflush(stdout);
        if (finished()) return;
      }
      if (stale) {
        if (++refreshes > metadata_refreshes_max) {
          throw error("the leaders of topic " + _o.topic + " keep moving; giving up");
        }
        _md = topic_metadata(_c, _o.topic, auto_create::no);
      } else {
        refreshes = 0;
      }
    }
  }

 private:
  // Chooses where each of `ids` starts: the group's committed offset if there is one, else
  // --from. Throws for a partition the topic does not have.
  void assign(std::vector<std::int32_t> ids) {
    const auto& t = find_topic(_md, _o.topic);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const auto id : ids)
      static_cast<void>(leader_of(t, id));  // throws for a bad id
    std::map<std::int32_t, std::int64_t> committed;
    if (_member) committed = _member->committed(ids);
    std::vector<std::int32_t> rest;
    for (const auto id : ids) {
      if (committed.count(id) == 0) rest.push_back(id);
    }
    using k = offset_spec::kind;
    std::map<std::int32_t, std::int64_t> starts;
    if (!rest.empty()) {
      if (_spec.k == k::beginning) starts = list_offsets(_c, t, rest, earliest_timestamp);
      if (_spec.k == k::end) starts = list_offsets(_c, t, rest, latest_timestamp);
      if (_spec.k == k::from_end) {
        const auto begin = list_offsets(_c, t, rest, earliest_timestamp);
        starts = list_offsets(_c, t, rest, latest_timestamp);
        for (auto& [p, offset] : starts)
          offset = std::max(begin.at(p), offset - _spec.value);
      }
      if (_spec.k == k::timestamp) {
        starts = list_offsets(_c, t, rest, _spec.value);
        const auto ends = list_offsets(_c, t, rest, latest_timestamp);
        for (auto& [p, offset] : starts) {
          if (offset < 0) offset = ends.at(p);  // nothing at or after it yet
        }
      }
      if (_spec.k == k::offset) {
        for (const auto id : rest)
          starts[id] = _spec.value;
      }
    }
    _partitions.clear();
    for (const auto id : ids) {
      const auto c = committed.find(id);
      _partitions[id].next = c != committed.end() ? c->second : starts.at(id);
    }
    _last_commit_ns = system_clock().steady_ns();
  }

  // Heartbeats and commits when due; after a rebalance, commits what was read and joins
  // again. False when the partitions changed (the caller starts its loop over).
  bool tend_group() {
    if (_member->heartbeat_due() && !_member->heartbeat()) {
      try {
        commit();
      } catch (const error&) {
        // The group moved on; the next owner starts from the last commit.
      }
      _md = topic_metadata(_c, _o.topic, auto_create::no);
      assign(_member->join());
      return false;
    }
    if (system_clock().steady_ns() - _last_commit_ns >= commit_interval_ns) commit();
    return true;
  }

  void commit() {
    std::map<std::int32_t, std::int64_t> positions;
    for (const auto& [id, s] : _partitions)
      positions[id] = s.next;
    _member->commit(positions);
    _last_commit_ns = system_clock().steady_ns();
  }

  [[nodiscard]] bool finished() const {
    if (stop_requested != 0) return true;
    if (_o.count >= 0 && _printed >= _o.count) return true;
    return std::all_of(_partitions.begin(), _partitions.end(),
                       [](const auto& e) { return e.second.done; });
  }

  // One Fetch to `leader` for `ids`; false when the metadata is stale (a leader moved).
  bool fetch(node_id leader, const std::vector<std::int32_t>& ids) {
    const auto v = _c.version(leader, protocol::api_key::fetch, 4);
    const auto& t = find_topic(_md, _o.topic);
    // v13 names topics by id only.
    const bool by_id = v >= 13;
    protocol::fetch_request request;
    request.replica_id = -1;
    // With --exit there is nothing to wait for: an offset below the high watermark has data.
    request.max_wait_ms = _o.exit_at_end ? 0 : _o.fetch_wait_ms;
    request.min_bytes = 1;
    request.max_bytes = fetch_bytes_max;
    request.isolation_level = 0;
    request.session_id = 0;
    request.session_epoch = -1;
    protocol::fetch_request::fetch_topic topic;
    topic.topic = _o.topic;
    topic.topic_id = t.topic_id;
    for (const auto id : ids) {
      protocol::fetch_request::fetch_partition p;
      p.partition = id;
      p.fetch_offset = _partitions[id].next;
      p.partition_max_bytes = _partitions[id].fetch_bytes;
      topic.partitions.push_back(p);
    }
    request.topics.push_back(std::move(topic));
    const auto answer =
        _c.call_framed<protocol::fetch_response>(leader, request, v, request.max_wait_ms);
    const auto& response = answer.body;
    if (response.error_code != 0) {
      throw error("fetch from topic " + _o.topic +
                  " failed: " + kafka_error_text(response.error_code));
    }
    bool fresh = true;
    for (const auto& rt : response.responses) {
      if (by_id ? !(rt.topic_id == t.topic_id) : rt.topic != _o.topic) continue;
      for (const auto& rp : rt.partitions) {
        const auto it = _partitions.find(rp.partition_index);
        if (it == _partitions.end()) continue;
        if (!take(it->first, it->second, rp)) fresh = false;
        if (finished()) return true;
      }
    }
    return fresh;
  }

  // Handles one partition's answer; false when the leader moved.
  bool take(std::int32_t id, partition_state& s,
            const protocol::fetch_response::partition_data& rp) {
    using protocol::error_code;
    const auto code = protocol::to_error_code(rp.error_code);
    if (code == error_code::not_leader_or_follower || code == error_code::leader_not_available ||
        code == error_code::fenced_leader_epoch || code == error_code::unknown_leader_epoch) {
      return false;
    }
    if (code == error_code::offset_out_of_range) {
      throw error("offset " + std::to_string(s.next) + " is out of range for " + _o.topic + "/" +
                  std::to_string(id) + " (log start " + std::to_string(rp.log_start_offset) +
                  ", high watermark " + std::to_string(rp.high_watermark) + ")");
    }
    if (code == error_code::unknown_topic_or_partition || code == error_code::unknown_topic_id) {
      throw error("topic " + _o.topic + " (partition " + std::to_string(id) + ") no longer exists");
    }
    if (code != error_code::none) {
      throw error("fetch from " + _o.topic + "/" + std::to_string(id) +
                  " failed: " + kafka_error_text(rp.error_code));
    }
    s.high_watermark = rp.high_watermark;
    bool whole_batch = false;
    if (rp.records && !rp.records->is_external()) {
      auto data = rp.records->bytes();
      while (data.size() >= batch::header_bytes) {
        const auto size = batch::header_view(data).size_bytes();
        if (size < batch::header_bytes || size > data.size()) break;  // a partial batch at the end
        print_batch(id, s, data.first(size));
        whole_batch = true;
        data = data.subspan(size);
        if (finished()) return true;
      }
      // A batch larger than the partition limit: ask for more next time (a broker that
      // follows KIP-74 sends it whole anyway).
      if (!whole_batch && !data.empty())
        s.fetch_bytes = std::min(s.fetch_bytes * 2, fetch_bytes_max);
    }
    if (_o.exit_at_end && s.next >= s.high_watermark) s.done = true;
    return true;
  }

  void print_batch(std::int32_t id, partition_state& s, std::span<const std::byte> bytes) {
    const batch::header_view h(bytes);
    if (h.magic() != batch::magic_v2) {
      throw error("a batch of " + _o.topic + "/" + std::to_string(id) + " has magic " +
                  std::to_string(h.magic()) + "; only record batches v2 are supported");
    }
    const std::int64_t base = h.base_offset()();
    const std::int64_t last = h.last_offset()();
    if (!h.is_control()) {
      auto records = protocol::batch_records::open(bytes, decompressed_bytes_max);
      if (!records) {
        throw error("cannot read a batch of " + _o.topic + "/" + std::to_string(id) + ": " +
                    records.error().message());
      }
      for (;;) {
        auto r = records->next();
        if (!r) {
          throw error("cannot read a record of " + _o.topic + "/" + std::to_string(id) + ": " +
                      r.error().message());
        }
        if (!r->has_value()) break;
        const auto& rv = **r;
        const std::int64_t offset = base + rv.offset_delta;
        if (offset < s.next) continue;  // before the fetch offset, in a compressed batch
        consumed_record out;
        out.topic = _o.topic;
        out.partition = id;
        out.offset = offset;
        out.timestamp_ms =
            h.is_log_append_time() ? h.max_timestamp() : h.base_timestamp() + rv.timestamp_delta;
        if (rv.key) out.key = text_of(*rv.key);
        if (rv.value) out.value = text_of(*rv.value);
        out.headers = parse_headers(rv.headers, rv.header_count);
        std::string line = _o.common.json() ? record_json(out) : _output.format(out);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        s.next = offset + 1;
        ++_printed;
        if (_o.count >= 0 && _printed >= _o.count) return;
      }
    }
    s.next = std::max(s.next, last + 1);
  }

  const consume_options& _o;
  client& _c;
  record_format _output;
  offset_spec _spec;
  protocol::metadata_response _md;
  std::optional<group_member> _member;
  std::int64_t _last_commit_ns = 0;
  std::map<std::int32_t, partition_state> _partitions;
  std::int64_t _printed = 0;
};

int run_consume(const consume_options& o) {
  static_cast<void>(record_format::parse(o.format, record_format::direction::output));
  static_cast<void>(parse_offset_spec(o.from));
  if (!o.group.empty() && !o.partitions.empty()) {
    usage_error("-g and -p do not go together: the group assigns the partitions");
  }
  client c(bootstrap_brokers(o.common));
  if (!o.group.empty()) {
    struct sigaction sa {};
    sa.sa_handler = request_stop;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
  }
  consumer reader(o, c);
  reader.run();
  reader.close();
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_consume_command(CLI::App& app, command_registry& registry) {
  auto o = std::make_shared<consume_options>();
  auto* sub = app.add_subcommand(
      "consume",
      "Print a topic's records, one per line; follow new ones until interrupted, or stop at\n"
      "the end with --exit. With -g GROUP, as a member of a consumer group.");
  sub->add_option("topic", o->topic, "The topic")->required();
  sub->add_option("--from", o->from,
                  "Where to start: beginning, end, an offset, -N (N records before the end) or\n"
                  "@TIMESTAMP_MS (the first record at or after that time)")
      ->capture_default_str();
  sub->add_option("-p,--partition", o->partitions, "Only these partitions (repeatable)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("-n,--num", o->count, "Stop after this many records")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("-e,--exit", o->exit_at_end, "Stop at the end of every partition");
  sub->add_option("--format", o->format,
                  "How a record prints: %k key, %v value, %h headers, %t timestamp ms,\n"
                  "%p partition, %o offset, %T topic, %% a percent sign; e.g. '%p:%o %k=%v'")
      ->capture_default_str();
  sub->add_option("--fetch-wait-ms", o->fetch_wait_ms,
                  "How long a Fetch may wait at the end of the log for new records")
      ->capture_default_str()
      ->check(CLI::Range(0, 60'000));
  sub->add_option("-g,--group", o->group,
                  "Consume as a member of this consumer group: the group assigns the\n"
                  "partitions, and the position is committed (--from applies where the group\n"
                  "has no committed offset)");
  add_common_options(*sub, o->common, true);
  registry.add(sub, [o] { return run_consume(*o); });
}

}  // namespace caudal::cli
