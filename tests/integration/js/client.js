// kafkajs 2.2.4 driver for the integration tests (test_kafkajs.py runs it).
//
//   node client.js BOOTSTRAP COMMAND < JSON-ARGS
//
// Prints one JSON result line on stdout and exits 0, or prints the error on stderr and exits 1.
// Commands: createTopics, listTopics, fetchTopicMetadata, fetchTopicOffsets,
// fetchTopicOffsetsByTimestamp, describeConfigs,
// deleteTopicRecords, deleteTopics, produce, transaction, consume (consume joins a consumer group: kafkajs
// has no consumer without one), groupConsume (a long-running group member, see below).
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } =
  require('kafkajs');
const SnappyCodec = require('kafkajs-snappy');

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

const [bootstrap, command] = process.argv.slice(2);
const rawArgs = require('fs').readFileSync(0, 'utf8');  // stdin: arguments can be large
const args = rawArgs.trim() ? JSON.parse(rawArgs) : {};

const kafka = new Kafka({
  clientId: 'caudal-it-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  connectionTimeout: 10000,
  requestTimeout: 30000,
  retry: { retries: 3, initialRetryTime: 200 },
});

const codecs = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
};

// Buffers travel as {b64: "..."} in JSON, null stays null.
const enc = (buf) => (buf === null || buf === undefined ? null : buf.toString('base64'));
const dec = (s) => (s === null || s === undefined ? null : Buffer.from(s, 'base64'));

async function withAdmin(fn) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

const commands = {
  createTopics: (a) =>
    withAdmin((admin) =>
      admin.createTopics({
        topics: a.topics,
        validateOnly: !!a.validateOnly,
        waitForLeaders: true,
        timeout: 30000,
      })),

  listTopics: () => withAdmin((admin) => admin.listTopics()),

  fetchTopicMetadata: (a) => withAdmin((admin) => admin.fetchTopicMetadata({ topics: a.topics })),

  fetchTopicOffsets: (a) => withAdmin((admin) => admin.fetchTopicOffsets(a.topic)),

  fetchTopicOffsetsByTimestamp: (a) =>
    withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(a.topic, a.timestamp)),

  describeConfigs: (a) =>
    withAdmin((admin) =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: a.topic }],
      })),

  // kafkajs looks the leaders up in its metadata cache before loading it: load it first.
  deleteTopicRecords: (a) =>
    withAdmin(async (admin) => {
      await admin.fetchTopicMetadata({ topics: [a.topic] });
      return admin.deleteTopicRecords({ topic: a.topic, partitions: a.partitions });
    }),

  deleteTopics: (a) => withAdmin((admin) => admin.deleteTopics({ topics: a.topics, timeout: 30000 })),

  // args: {transactionalId, topic, group, transactions: [{values, commit, offset}]}: each
  // transaction sends its values (text) to partition 0 of `topic`, and with `offset` also
  // commits that offset of partition 0 for `group` (sendOffsets), then commits or aborts.
  transaction: async (a) => {
    const producer = kafka.producer({
      transactionalId: a.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      for (const t of a.transactions) {
        const txn = await producer.transaction();
        await txn.send({
          topic: a.topic,
          messages: t.values.map((v) => ({ value: v, partition: 0 })),
        });
        if (t.offset !== undefined) {
          await txn.sendOffsets({
            consumerGroupId: a.group,
            topics: [{ topic: a.topic, partitions: [{ partition: 0, offset: String(t.offset) }] }],
          });
        }
        if (t.commit) await txn.commit();
        else await txn.abort();
      }
      return true;
    } finally {
      await producer.disconnect();
    }
  },

  // args: {topic, acks, compression, batches: [[{key, value, headers, partition, timestamp}]]}
  produce: async (a) => {
    const producer = kafka.producer({ allowAutoTopicCreation: !!a.allowAutoTopicCreation });
    await producer.connect();
    try {
      const results = [];
      for (const batch of a.batches) {
        const messages = batch.map((m) => {
          const out = { key: dec(m.key), value: dec(m.value) };
          if (m.partition !== undefined) out.partition = m.partition;
          if (m.timestamp !== undefined) out.timestamp = String(m.timestamp);
          if (m.headers) {
            out.headers = {};
            for (const [k, v] of Object.entries(m.headers)) out.headers[k] = dec(v);
          }
          return out;
        });
        results.push(
          ...(await producer.send({
            topic: a.topic,
            messages,
            acks: a.acks === undefined ? -1 : a.acks,
            compression: codecs[a.compression || 'none'],
            timeout: 30000,
          })),
        );
      }
      return results;
    } finally {
      await producer.disconnect();
    }
  },

  // Needs the group coordinator (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, ...).
  consume: async (a) => {
    const consumer = kafka.consumer({ groupId: a.groupId, maxWaitTimeInMs: 500 });
    await consumer.connect();
    const got = [];
    try {
      await consumer.subscribe({ topics: [a.topic], fromBeginning: true });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`consumed ${got.length} of ${a.count}`)), a.timeoutMs || 30000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              got.push({
                partition,
                offset: message.offset,
                key: enc(message.key),
                value: enc(message.value),
              });
              if (got.length >= a.count) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      return got;
    } finally {
      await consumer.disconnect();
    }
  },

  // A long-running group member for test_groups_kafkajs.py. args: {topic, groupId,
  // sessionTimeout, heartbeatInterval, rebalanceTimeout}. Prints JSON lines on stdout as they
  // happen: {"assignment": [partitions]} after each join (GROUP_JOIN), {"p", "o", "v"} for
  // each record processed, then its offset is committed ({"commitFailed": v} and a retry of
  // the record if that fails); SIGTERM leaves the group (disconnect) and prints {"closed": true}.
  groupConsume: async (a) => {
    const consumer = kafka.consumer({
      groupId: a.groupId,
      sessionTimeout: a.sessionTimeout || 3000,
      rebalanceTimeout: a.rebalanceTimeout || 10000,
      heartbeatInterval: a.heartbeatInterval || 300,
      maxWaitTimeInMs: 200,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const line = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const parts = e.payload.memberAssignment[a.topic] || [];
      line({ assignment: [...parts].sort((x, y) => x - y), memberId: e.payload.memberId });
    });
    consumer.on(consumer.events.CRASH, (e) => line({ crash: String(e.payload.error) }));
    let stopping = null;
    const stop = () => {
      if (!stopping) {
        stopping = consumer.disconnect().then(() => {
          line({ closed: true });
          process.exit(0);
        });
      }
    };
    process.on('SIGTERM', stop);
    await consumer.connect();
    await consumer.subscribe({ topics: [a.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const v = message.value.toString();
        line({ p: partition, o: Number(message.offset), v });
        try {
          await consumer.commitOffsets([
            { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
          ]);
        } catch (err) {
          line({ commitFailed: v, error: String(err) });
          throw err;
        }
      },
    });
    await new Promise(() => {});  // runs until SIGTERM (or SIGKILL)
  },
};

(async () => {
  const fn = commands[command];
  if (!fn) throw new Error(`unknown command ${command}`);
  const result = await fn(args);
  process.stdout.write(JSON.stringify(result === undefined ? null : result) + '\n');
})().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`kafkajs ${command} failed: ${err && err.stack ? err.stack : err}\n`);
    if (err && err.type) process.stderr.write(`type: ${err.type}\n`);
    process.exit(1);
  },
);
