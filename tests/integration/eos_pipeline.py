"""The consume-transform-produce loop of the exactly-once test (test_transactions.py),
run as its own process so the test can SIGKILL it anywhere: reads the source topic from
the group's committed offsets (read_committed), writes "out-<value>" to the same partition
of the destination, and commits the consumed offsets in the same transaction.

Usage: eos_pipeline.py BOOTSTRAP SOURCE DESTINATION PARTITIONS GROUP TRANSACTIONAL_ID
"""
import sys

from confluent_kafka import Consumer, Producer, TopicPartition


def main():
    bootstrap, source, destination, partitions, group, txn_id = sys.argv[1:7]
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
    })
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "linger.ms": 5})
    producer.init_transactions(30)  # fences and aborts what a killed predecessor left open
    # Explicit assignment from the committed offsets: no group membership to time out.
    consumer.assign([TopicPartition(source, p) for p in range(int(partitions))])
    print("ready", flush=True)
    while True:
        batch = [m for m in consumer.consume(20, timeout=0.5) if not m.error()]
        if not batch:
            continue
        producer.begin_transaction()
        for m in batch:
            producer.produce(destination, b"out-" + m.value(), partition=m.partition())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)


if __name__ == "__main__":
    main()
