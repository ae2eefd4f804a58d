"""Record offsets of TFRecord shards: the scan, its cache and its checks."""

import os

import numpy as np
import pytest

from input_pipeline import pipeline, record_index, stream
from input_pipeline.tf_runtime import tf


def _write(path, records):
  with tf.io.TFRecordWriter(str(path)) as w:
    for r in records:
      w.write(r)
  return str(path)


def test_records_read_by_offset_are_the_tfrecord_records(synthetic_builder):
  files, lengths = pipeline.stream_files(synthetic_builder, 'set0+real')
  table = record_index.RecordTable.of_files(files, lengths)
  assert len(table) == sum(lengths)
  order = np.random.default_rng(0).permutation(len(table))
  read = [r.numpy() for r in stream.records(table, order)]
  want = [r.numpy() for r in tf.data.TFRecordDataset(files)]
  assert read == [want[i] for i in order]
  with open(files[0], 'rb') as f:          # the data bytes at each offset.
    data = f.read()
  assert [data[o:o + n] for o, n in zip(table.offset[:lengths[0]],
                                         table.length)] == want[:lengths[0]]


def test_offsets_are_cached_and_rescanned_when_a_shard_changes(tmp_path,
                                                               monkeypatch):
  records = [bytes([i]) * (i * 37 % 500) for i in range(40)]   # 0-499 bytes.
  a = _write(tmp_path / 'a.tfrecord-00000', records)
  b = _write(tmp_path / 'b.tfrecord-00000', records[:3])
  (offs, lens), _ = record_index.offsets([a, b])
  assert lens.tolist() == [len(r) for r in records]
  with open(a, 'rb') as f:
    data = f.read()
  assert [data[o:o + n] for o, n in zip(offs, lens)] == records
  assert os.path.exists(tmp_path / 'record_index.npz')

  scanned = []
  real_scan = record_index.scan
  monkeypatch.setattr(record_index, 'scan',
                      lambda p: scanned.append(p) or real_scan(p))
  record_index.offsets([a, b])
  assert scanned == []                               # both from the cache.
  _write(b, records[5:9])
  (_, lens_a), (_, lens_b) = record_index.offsets([a, b])
  assert scanned == [b]                              # only the changed one.
  assert lens_b.tolist() == [len(r) for r in records[5:9]]
  assert lens_a.tolist() == [len(r) for r in records]


def test_damaged_shards_are_errors_naming_the_file(tmp_path):
  path = _write(tmp_path / 'x.tfrecord-00000', [b'a' * 100, b'b' * 100])
  with pytest.raises(record_index.DamagedShard, match='dataset_info.json'):
    record_index.RecordTable.of_files([path], [3])
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) - 10)
  with pytest.raises(record_index.DamagedShard, match='x.tfrecord-00000.*'
                     'truncated'):
    record_index.scan(path)
  with pytest.raises(ValueError, match='local files only'):
    record_index.offsets(['gs://bucket/x.tfrecord-00000'])


def test_a_read_only_build_is_indexed_without_a_cache(tmp_path, monkeypatch):
  path = _write(tmp_path / 'y.tfrecord-00000', [b'abc', b'de'])

  def read_only(path, **arrays):
    raise PermissionError(13, 'Permission denied', path)

  monkeypatch.setattr(record_index.files_lib, 'save_npz', read_only)
  [(offs, lens)] = record_index.offsets([path])
  assert lens.tolist() == [3, 2] and offs.tolist() == [12, 12 + 3 + 4 + 12]
  assert not os.path.exists(tmp_path / 'record_index.npz')
