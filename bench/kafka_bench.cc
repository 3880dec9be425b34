// caudal-bench: a load generator on librdkafka for any Kafka-protocol broker, plus a
// JetStream publisher (nats_publish.cc) so peers are driven by a tool of ours too.
//
//   caudal-bench produce  records at full speed from N producers; MB/s and records/s
//   caudal-bench consume  a topic from its beginning, alone (assign) or as a group
//   caudal-bench e2e      records at a fixed rate; send -> receive latency percentiles
//   caudal-bench nats     JetStream publish with async acks (see nats_publish.cc)
//
// Every run prints one human line and one JSON line. With --broker-pid the broker's CPU
// seconds (utime + stime from /proc) before and after give its cost per GB moved, the
// figure that decides how fast a 2-core machine can go (issue #7). Flags are `--key value`;
// run with no arguments for the list.

#include "base/clock.h"
#include "bench/bench_util.h"
#include "bench/nats_publish.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace caudal::bench {
namespace {

constexpr int admin_timeout_ms = 15000;
constexpr int flush_timeout_ms = 120000;
constexpr std::uint64_t reread_max = 100000;

[[noreturn]] void usage() {
  std::fprintf(
      stderr, "%s",
      "usage: caudal-bench produce|consume|e2e|nats [--key value]...\n"
      " common:  --brokers 127.0.0.1:9092 --topic bench --broker-pid PID\n"
      " produce: --records N --size B --acks 0|1|all --linger-ms N --batch-size B\n"
      "          --compression none|gzip|snappy|lz4|zstd --idempotence true|false\n"
      "          --partitions P (creates the topic) --producers K\n"
      " consume: --records N (0: until every partition's end) --group G --fetch-wait-ms 500\n"
      " e2e:     --rate R --seconds S --warmup-seconds W --size B --acks A\n"
      "          --linger-ms N --partitions P --fetch-wait-ms 500\n"
      " nats:    --port P --stream S --records N --size B --window W --server-pid PID\n"
      "sizes and counts take a K, M or G suffix\n");
  std::exit(2);
}

double now_s() {
  return static_cast<double>(system_clock().steady_ns()) / 1e9;
}

using conf_ptr = std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)>;
using handle_ptr = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    flags::fail(fmt::format("config {}={}: {}", key, value, err));
  }
}

handle_ptr make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // takes `conf` on success
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    flags::fail(fmt::format("rd_kafka_new: {}", err));
  }
  return handle_ptr(rk, &rd_kafka_destroy);
}

// Creates `topic` with `partitions` partitions through CreateTopics; an existing topic is
// fine (the caller chose the name). Returns false with a message on any other error.
bool create_topic(const std::string& brokers, const std::string& topic, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", brokers);
  auto rk = make_client(RD_KAFKA_PRODUCER, conf);
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
  if (!nt) flags::fail(fmt::format("NewTopic: {}", err));
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* opts =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, admin_timeout_ms, err, sizeof err);
  rd_kafka_CreateTopics(rk.get(), &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, admin_timeout_ms + 5000);
  bool ok = false;
  if (!ev) {
    std::fprintf(stderr, "caudal-bench: CreateTopics timed out\n");
  } else if (rd_kafka_event_error(ev)) {
    std::fprintf(stderr, "caudal-bench: CreateTopics: %s\n", rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    ok = n == 1;
    for (size_t i = 0; i < n; ++i) {
      const auto code = rd_kafka_topic_result_error(res[i]);
      if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        std::fprintf(stderr, "caudal-bench: create %s: %s\n", topic.c_str(),
                     rd_kafka_err2str(code));
        ok = false;
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  return ok;
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, admin_timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      n = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  return n;
}

// Delivery outcome counters shared by one producer's callback and the thread that reads
// them after flush.
struct delivery_counts {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<int> first_error{0};
  // e2e only: send -> acknowledgement times, from the send time each record carries as its
  // opaque. Delivery reports run on the thread that polls the producer, so no lock.
  std::vector<std::int64_t>* ack_ns = nullptr;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* c = static_cast<delivery_counts*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    c->ok.fetch_add(1, std::memory_order_relaxed);
    if (c->ack_ns && m->_private) {
      c->ack_ns->push_back(system_clock().steady_ns() -
                           reinterpret_cast<std::intptr_t>(m->_private));
    }
  } else {
    c->failed.fetch_add(1, std::memory_order_relaxed);
    int none = 0;
    c->first_error.compare_exchange_strong(none, static_cast<int>(m->err));
  }
}

struct producer_settings {
  std::string brokers;
  std::string acks = "1";
  std::int64_t linger_ms = 5;
  std::int64_t batch_size = 1 << 20;
  std::string compression = "none";
  bool idempotence = false;
};

rd_kafka_conf_t* producer_conf(const producer_settings& s, delivery_counts* counts) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", s.brokers);
  // TCP_NODELAY, as the Java client always sets it: with Nagle on (librdkafka's default) a
  // small request waits for the previous one's ACK, which cost e2e 0.14-0.41 ms at p50 in
  // three alternating pairs (bench/RESULTS.md).
  set(conf, "socket.nagle.disable", "true");
  set(conf, "acks", s.acks);
  set(conf, "linger.ms", std::to_string(s.linger_ms));
  set(conf, "batch.size", std::to_string(s.batch_size));
  set(conf, "compression.codec", s.compression);
  set(conf, "enable.idempotence", s.idempotence ? "true" : "false");
  // Enough queue that the producer is never the one waiting for buffer space.
  set(conf, "queue.buffering.max.messages", "2000000");
  set(conf, "queue.buffering.max.kbytes", "1048576");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, counts);
  return conf;
}

// Sends one record with idempotence on, to a topic of its own so that the measured topic
// holds only measured records. The broker may not serve InitProducerId yet; then the run
// goes on without idempotence and says so instead of failing.
bool idempotence_accepted(producer_settings s) {
  const std::string topic = "caudal-bench-probe";
  if (!create_topic(s.brokers, topic, 1)) return false;
  delivery_counts counts;
  s.idempotence = true;
  s.acks = "all";  // librdkafka refuses idempotence with any other acks
  auto rk = make_client(RD_KAFKA_PRODUCER, producer_conf(s, &counts));
  char probe[] = "idempotence probe";
  rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_VALUE(probe, sizeof probe - 1), RD_KAFKA_V_END);
  rd_kafka_flush(rk.get(), 10000);
  const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk.get(), nullptr, 0);
  return fatal == RD_KAFKA_RESP_ERR_NO_ERROR && counts.ok.load() == 1;
}

struct produce_result {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  int first_error = 0;
};

void produce_loop(const producer_settings& s, const std::string& topic, std::uint64_t records,
                  std::vector<char> payload, produce_result* out) {
  delivery_counts counts;
  auto rk = make_client(RD_KAFKA_PRODUCER, producer_conf(s, &counts));
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  for (std::uint64_t i = 0; i < records;) {
    // No copy: the payload outlives every message, so librdkafka may point at it.
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload.data(), payload.size(), nullptr, 0,
                         nullptr) == 0) {
      ++i;
      if (i % 1024 == 0) rd_kafka_poll(rk.get(), 0);
    } else if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk.get(), 1);
    } else {
      flags::fail(fmt::format("produce: {}", rd_kafka_err2str(rd_kafka_last_error())));
    }
  }
  rd_kafka_flush(rk.get(), flush_timeout_ms);
  rd_kafka_topic_destroy(rkt);
  out->ok = counts.ok.load();
  out->failed = counts.failed.load() + (records - counts.ok.load() - counts.failed.load());
  out->first_error = counts.first_error.load();
}

int run_produce(flags& f) {
  producer_settings s;
  s.brokers = f.text("brokers", "127.0.0.1:9092");
  const std::string topic = f.text("topic", "bench");
  const auto records = static_cast<std::uint64_t>(f.integer("records", 1'000'000));
  const auto size = static_cast<std::size_t>(f.integer("size", 1024));
  s.acks = f.text("acks", "1");
  s.linger_ms = f.integer("linger-ms", 5);
  s.batch_size = f.integer("batch-size", 1 << 20);
  s.compression = f.text("compression", "none");
  const bool idempotence = f.boolean("idempotence", false);
  const int partitions = static_cast<int>(f.integer("partitions", 6));
  const int producers = static_cast<int>(f.integer("producers", 1));
  const int broker_pid = static_cast<int>(f.integer("broker-pid", 0));
  f.finish();
  if (producers < 1 || records == 0) flags::fail("need at least one producer and one record");
  if (partitions > 0 && !create_topic(s.brokers, topic, partitions)) return 1;

  std::string idempotence_state = idempotence ? "on" : "off";
  if (idempotence) {
    s.idempotence = idempotence_accepted(s);
    if (!s.idempotence) {
      idempotence_state = "refused";
      std::fprintf(stderr, "caudal-bench: the broker refused idempotence; producing without\n");
    } else if (s.acks != "all" && s.acks != "-1") {
      std::fprintf(stderr, "caudal-bench: idempotence needs acks=all; using it\n");
      s.acks = "all";
    }
  }

  const auto payload = make_payload(size);
  std::vector<produce_result> results(static_cast<std::size_t>(producers));
  const auto broker_before = sample_process(broker_pid);
  const double cpu_before = self_cpu_s();
  const double start = now_s();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    const std::uint64_t share =
        records / static_cast<std::uint64_t>(producers) +
        (static_cast<std::uint64_t>(p) < records % static_cast<std::uint64_t>(producers) ? 1 : 0);
    threads.emplace_back(produce_loop, s, topic, share, payload,
                         &results[static_cast<std::size_t>(p)]);
  }
  for (auto& t : threads)
    t.join();
  const double seconds = now_s() - start;
  const double client_cpu = self_cpu_s() - cpu_before;
  const auto broker_after = sample_process(broker_pid);

  produce_result total;
  for (const auto& r : results) {
    total.ok += r.ok;
    total.failed += r.failed;
    if (!total.first_error) total.first_error = r.first_error;
  }
  const std::uint64_t bytes = total.ok * size;
  json_line j;
  j.str("mode", "produce")
      .str("topic", topic)
      .count("records", total.ok)
      .count("failed", total.failed)
      .count("size", size)
      .str("acks", s.acks)
      .count("linger_ms", static_cast<std::uint64_t>(s.linger_ms))
      .count("batch_size", static_cast<std::uint64_t>(s.batch_size))
      .str("compression", s.compression)
      .str("idempotence", idempotence_state)
      .count("partitions", static_cast<std::uint64_t>(partitions))
      .count("producers", static_cast<std::uint64_t>(producers))
      .num("seconds", seconds)
      .num("mb_per_s", static_cast<double>(bytes) / 1e6 / seconds)
      .num("records_per_s", static_cast<double>(total.ok) / seconds)
      .num("client_cpu_s_per_gb", client_cpu / (static_cast<double>(bytes) / 1e9));
  const std::string cost = add_server_cost(j, "broker", broker_before, broker_after, bytes);
  j.num("load_1m", load_1m());
  std::printf(
      "produce %s: %llu x %zu B, acks=%s, linger %lld ms, %d producer(s): %.1f MB/s, "
      "%.0f records/s in %.2f s; %s; %llu failed%s\n",
      topic.c_str(), static_cast<unsigned long long>(total.ok), size, s.acks.c_str(),
      static_cast<long long>(s.linger_ms), producers, static_cast<double>(bytes) / 1e6 / seconds,
      static_cast<double>(total.ok) / seconds, seconds, cost.c_str(),
      static_cast<unsigned long long>(total.failed),
      total.first_error
          ? fmt::format(" (first: {})",
                        rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(total.first_error)))
                .c_str()
          : "");
  std::printf("%s\n", j.done().c_str());
  return total.failed == 0 ? 0 : 1;
}

rd_kafka_conf_t* consumer_conf(const std::string& brokers, const std::string& group,
                               std::int64_t fetch_wait_ms) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", brokers);
  set(conf, "socket.nagle.disable", "true");  // as the producer's
  // How long the broker may hold a Fetch that finds no data: a latency run that shows
  // this figure as a floor has found a waiting Fetch the broker did not wake.
  set(conf, "fetch.wait.max.ms", std::to_string(fetch_wait_ms));
  // librdkafka wants a group id even for assign(); a throwaway one commits nothing.
  set(conf, "group.id", group.empty() ? "caudal-bench-assign" : group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.partition.eof", "true");
  return conf;
}

// Assigns every partition of `topic` from offset 0 (no group protocol involved).
int assign_all(rd_kafka_t* rk, const std::string& topic) {
  const int n = partition_count(rk, topic);
  if (n <= 0) flags::fail(fmt::format("topic {} has no partitions", topic));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return n;
}

int run_consume(flags& f) {
  const std::string brokers = f.text("brokers", "127.0.0.1:9092");
  const std::string topic = f.text("topic", "bench");
  const auto expected = static_cast<std::uint64_t>(f.integer("records", 0));
  const std::string group = f.text("group", "");
  const std::int64_t fetch_wait_ms = f.integer("fetch-wait-ms", 500);
  const int broker_pid = static_cast<int>(f.integer("broker-pid", 0));
  const double timeout_s = static_cast<double>(f.integer("timeout-seconds", 300));
  f.finish();

  auto rk = make_client(RD_KAFKA_CONSUMER, consumer_conf(brokers, group, fetch_wait_ms));
  rd_kafka_poll_set_consumer(rk.get());
  int partitions = 0;
  if (group.empty()) {
    partitions = assign_all(rk.get(), topic);
  } else {
    partitions = partition_count(rk.get(), topic);
    rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk.get(), sub);
    rd_kafka_topic_partition_list_destroy(sub);
  }

  // The clock starts at the first record: a group's join takes seconds that say nothing
  // about fetch speed. The broker's CPU is sampled at the same moment.
  process_sample broker_before;
  double cpu_before = 0;
  double start = 0;
  const double give_up = now_s() + timeout_s;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::vector<bool> at_end(static_cast<std::size_t>(std::max(partitions, 1)), false);
  int ends = 0;
  // A record below one already seen is a re-read (an offset reset sends the consumer
  // back): counted apart, so a broker that loops never passes for a fast one.
  std::vector<std::int64_t> next_offset(at_end.size(), 0);
  std::uint64_t reread = 0;
  while (now_s() < give_up) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const auto p = static_cast<std::size_t>(m->partition);
      if (p < at_end.size() && !at_end[p]) {
        at_end[p] = true;
        ++ends;
      }
    } else if (m->err) {
      std::fprintf(stderr, "caudal-bench: consume: %s\n", rd_kafka_message_errstr(m));
    } else {
      if (records == 0) {
        broker_before = sample_process(broker_pid);
        cpu_before = self_cpu_s();
        start = now_s();
      }
      const auto p = static_cast<std::size_t>(m->partition);
      if (p < next_offset.size() && m->offset < next_offset[p]) {
        rd_kafka_message_destroy(m);
        if (++reread >= reread_max) break;  // the broker keeps sending us back: give up
        continue;
      }
      if (p < next_offset.size()) next_offset[p] = m->offset + 1;
      ++records;
      bytes += m->len;
      if (p < at_end.size() && at_end[p]) {
        at_end[p] = false;
        --ends;
      }
    }
    rd_kafka_message_destroy(m);
    if (expected > 0 ? records >= expected : (records > 0 && ends == partitions)) break;
  }
  const double seconds = now_s() - start;
  const double client_cpu = self_cpu_s() - cpu_before;
  const auto broker_after = sample_process(broker_pid);
  rd_kafka_consumer_close(rk.get());

  json_line j;
  j.str("mode", "consume")
      .str("topic", topic)
      .str("group", group)
      .count("records", records)
      .count("bytes", bytes)
      .count("reread", reread)
      .count("partitions", static_cast<std::uint64_t>(partitions))
      .num("seconds", seconds)
      .num("mb_per_s", static_cast<double>(bytes) / 1e6 / seconds)
      .num("records_per_s", static_cast<double>(records) / seconds)
      .num("client_cpu_s_per_gb", client_cpu / (static_cast<double>(bytes) / 1e9));
  const std::string cost = add_server_cost(j, "broker", broker_before, broker_after, bytes);
  j.num("load_1m", load_1m());
  std::printf("consume %s%s: %llu records, %.1f MB in %.2f s: %.1f MB/s, %.0f records/s; %s\n",
              topic.c_str(), group.empty() ? "" : (" as group " + group).c_str(),
              static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6, seconds,
              static_cast<double>(bytes) / 1e6 / seconds, static_cast<double>(records) / seconds,
              cost.c_str());
  std::printf("%s\n", j.done().c_str());
  if (reread > 0) {
    std::fprintf(stderr, "caudal-bench: %llu records read again after offset resets\n",
                 static_cast<unsigned long long>(reread));
  }
  return (expected == 0 || records >= expected) && records > 0 && reread == 0 ? 0 : 1;
}

// The e2e consumer: reads the send time stamped in each record's first 8 bytes.
struct latency_sink {
  std::vector<std::int64_t> ns;  // send -> receive, records sent after the warm-up
  std::uint64_t received = 0;
};

void receive_loop(rd_kafka_t* rk, std::int64_t measure_from_ns, std::uint64_t expected,
                  std::int64_t deadline_ns, latency_sink* sink) {
  while (sink->received < expected && system_clock().steady_ns() < deadline_ns) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 50);
    if (!m) continue;
    if (!m->err && m->len >= sizeof(std::int64_t)) {
      const std::int64_t now = system_clock().steady_ns();
      std::int64_t sent = 0;
      std::memcpy(&sent, m->payload, sizeof sent);
      ++sink->received;
      if (sent >= measure_from_ns) sink->ns.push_back(now - sent);
    }
    rd_kafka_message_destroy(m);
  }
}

double percentile_us(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]) / 1e3;
}

int run_e2e(flags& f) {
  producer_settings s;
  s.brokers = f.text("brokers", "127.0.0.1:9092");
  const std::string topic = f.text("topic", "bench-e2e");
  const auto size = static_cast<std::size_t>(f.integer("size", 1024));
  const std::int64_t rate = f.integer("rate", 10000);
  const std::int64_t seconds = f.integer("seconds", 20);
  const std::int64_t warmup = f.integer("warmup-seconds", 2);
  s.acks = f.text("acks", "all");
  s.linger_ms = f.integer("linger-ms", 0);
  const int partitions = static_cast<int>(f.integer("partitions", 1));
  const std::int64_t fetch_wait_ms = f.integer("fetch-wait-ms", 500);
  const int broker_pid = static_cast<int>(f.integer("broker-pid", 0));
  f.finish();
  if (size < sizeof(std::int64_t) || rate <= 0 || seconds <= warmup) {
    flags::fail("need size >= 8, rate > 0 and seconds > warmup-seconds");
  }
  if (!create_topic(s.brokers, topic, partitions)) return 1;

  auto consumer = make_client(RD_KAFKA_CONSUMER, consumer_conf(s.brokers, "", fetch_wait_ms));
  rd_kafka_poll_set_consumer(consumer.get());
  assign_all(consumer.get(), topic);

  delivery_counts counts;
  std::vector<std::int64_t> ack_ns;
  counts.ack_ns = &ack_ns;
  auto producer = make_client(RD_KAFKA_PRODUCER, producer_conf(s, &counts));
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
  auto payload = make_payload(size);
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  const std::int64_t start = system_clock().steady_ns();
  latency_sink sink;
  std::thread receiver(receive_loop, consumer.get(), start + warmup * 1'000'000'000, total,
                       start + (seconds + 30) * 1'000'000'000, &sink);
  const auto broker_before = sample_process(broker_pid);
  std::uint64_t sent = 0;
  while (sent < total) {
    const std::int64_t now = system_clock().steady_ns();
    const auto due = std::min<std::uint64_t>(
        total, static_cast<std::uint64_t>((now - start) / 1000 * rate / 1'000'000) + 1);
    while (sent < due) {
      const std::int64_t t = system_clock().steady_ns();
      std::memcpy(payload.data(), &t, sizeof t);
      // Records sent in the warm-up carry no opaque, so their acks are not counted.
      void* opaque = t >= start + warmup * 1'000'000'000
                         ? reinterpret_cast<void*>(static_cast<std::intptr_t>(t))
                         : nullptr;
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(),
                           payload.size(), nullptr, 0, opaque) != 0) {
        flags::fail(fmt::format("produce: {}", rd_kafka_err2str(rd_kafka_last_error())));
      }
      ++sent;
    }
    rd_kafka_poll(producer.get(), 0);
    // The next record is due in 1/rate s; sleeping half of that keeps sends on time.
    std::this_thread::sleep_for(std::chrono::nanoseconds(500'000'000 / rate));
  }
  rd_kafka_flush(producer.get(), flush_timeout_ms);
  receiver.join();
  const auto broker_after = sample_process(broker_pid);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_consumer_close(consumer.get());

  std::sort(sink.ns.begin(), sink.ns.end());
  const double p50 = percentile_us(sink.ns, 0.5);
  const double p99 = percentile_us(sink.ns, 0.99);
  const double p999 = percentile_us(sink.ns, 0.999);
  const double max = sink.ns.empty() ? 0 : static_cast<double>(sink.ns.back()) / 1e3;
  // The produce half on its own: if acks are quick and send -> receive is not, the time
  // goes between durability and the waiting Fetch's answer.
  std::sort(ack_ns.begin(), ack_ns.end());
  const double ack_p50 = percentile_us(ack_ns, 0.5);
  const double ack_p99 = percentile_us(ack_ns, 0.99);
  const double ack_p999 = percentile_us(ack_ns, 0.999);
  json_line j;
  j.str("mode", "e2e")
      .str("topic", topic)
      .count("rate", static_cast<std::uint64_t>(rate))
      .count("size", size)
      .str("acks", s.acks)
      .count("linger_ms", static_cast<std::uint64_t>(s.linger_ms))
      .count("sent", sent)
      .count("delivered", counts.ok.load())
      .count("received", sink.received)
      .count("measured", sink.ns.size())
      .num("p50_us", p50)
      .num("p99_us", p99)
      .num("p999_us", p999)
      .num("max_us", max)
      .num("ack_p50_us", ack_p50)
      .num("ack_p99_us", ack_p99)
      .num("ack_p999_us", ack_p999)
      .count("fetch_wait_ms", static_cast<std::uint64_t>(fetch_wait_ms));
  const std::string cost = add_server_cost(j, "broker", broker_before, broker_after, sent * size);
  j.num("load_1m", load_1m());
  std::printf(
      "e2e %s: %lld records/s x %zu B, acks=%s: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, "
      "max %.0f us; acks p50 %.0f us, p99 %.0f us, p99.9 %.0f us (%zu measured, %llu/%llu "
      "received); %s\n",
      topic.c_str(), static_cast<long long>(rate), size, s.acks.c_str(), p50, p99, p999, max,
      ack_p50, ack_p99, ack_p999, sink.ns.size(), static_cast<unsigned long long>(sink.received),
      static_cast<unsigned long long>(sent), cost.c_str());
  std::printf("%s\n", j.done().c_str());
  return sink.received == sent ? 0 : 1;
}

}  // namespace
}  // namespace caudal::bench

int main(int argc, char** argv) {
  using namespace caudal::bench;
  if (argc < 2) usage();
  const std::string_view mode = argv[1];
  flags f(argc, argv, 2);
  if (mode == "produce") return run_produce(f);
  if (mode == "consume") return run_consume(f);
  if (mode == "e2e") return run_e2e(f);
  if (mode == "nats") return run_nats(f);
  usage();
}
