"""Writes transactions until killed, for the broker-SIGKILL test in test_transactions.py:
transaction k puts records "k:0".."k:9" across the topic's partitions, then aborts when
k % 3 == 2 and commits otherwise, printing "committed k" or "aborted k" once the broker has
answered the end. Exits 1 when the broker goes away.

Usage: txn_writer.py BOOTSTRAP TOPIC PARTITIONS TRANSACTIONAL_ID
"""
import sys

from confluent_kafka import KafkaException, Producer


def main():
    bootstrap, topic, partitions, txn_id = sys.argv[1:5]
    partitions = int(partitions)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 2,
                  "transaction.timeout.ms": 10000, "message.timeout.ms": 10000})
    p.init_transactions(30)
    k = 0
    try:
        while True:
            p.begin_transaction()
            for i in range(10):
                p.produce(topic, b"%d:%d" % (k, i), partition=i % partitions)
            if k % 3 == 2:
                p.abort_transaction(30)
                print("aborted", k, flush=True)
            else:
                p.commit_transaction(30)
                print("committed", k, flush=True)
            k += 1
    except KafkaException:
        sys.exit(1)


if __name__ == "__main__":
    main()
