#!/usr/bin/python3
"""Writes kafka_python_<codec>.hex: one record batch per codec, byte for byte as kafka-python
2.0 builds it (DefaultRecordBatchBuilder; snappy in its xerial framing, lz4 as an LZ4 frame
with independent blocks, zstd as one frame). batch_records_test.cc checks that each
validates and holds the records below. Also writes the seed corpus of batch_fuzz.cc into
../fuzz_corpus/batch/: small batches of each codec (first byte 1) and the compressed
streams alone (first byte 0, then the codec).

Needs Debian's python3-kafka python3-lz4 python3-snappy python3-zstandard; run it with
/usr/bin/python3 from this directory. The output depends on the library versions, so the
committed files are the reference: rerun only to add a case.
"""
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

CODECS = {
    "none": DefaultRecordBatch.CODEC_NONE,
    "gzip": DefaultRecordBatch.CODEC_GZIP,
    "snappy": DefaultRecordBatch.CODEC_SNAPPY,
    "lz4": DefaultRecordBatch.CODEC_LZ4,
    "zstd": DefaultRecordBatch.CODEC_ZSTD,
}
RECORDS = 10
BASE_TIMESTAMP_MS = 1700000000000


def record(i, repeat):
    """Record i: key "key-i" (null for i == 3), value "value-i " * repeat (null for i == 5),
    timestamp base + i, one header ("h", "i")."""
    key = None if i == 3 else f"key-{i}".encode()
    value = None if i == 5 else (f"value-{i} " * repeat).encode()
    return key, value, [("h", str(i).encode())]


def build(codec, records, repeat):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=False, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(records):
        key, value, headers = record(i, repeat)
        builder.append(i, timestamp=BASE_TIMESTAMP_MS + i, key=key, value=value, headers=headers)
    data = bytes(builder.build())
    assert (data[22] & 7) == codec, "kafka-python did not compress"
    return data


def main():
    for name, codec in CODECS.items():
        text = build(codec, RECORDS, 400).hex()
        with open(f"kafka_python_{name}.hex", "w") as f:
            for at in range(0, len(text), 96):
                f.write(text[at:at + 96] + "\n")
    for name, codec in CODECS.items():
        data = build(codec, 3, 8)
        with open(f"../fuzz_corpus/batch/batch_{name}", "wb") as f:
            f.write(b"\x01" + data)
        if codec != DefaultRecordBatch.CODEC_NONE:
            with open(f"../fuzz_corpus/batch/stream_{name}", "wb") as f:
                f.write(b"\x00" + bytes([codec]) + data[61:])


if __name__ == "__main__":
    main()
