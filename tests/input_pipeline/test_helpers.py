"""The shared test helpers of tests/conftest.py behave as the tests assume."""

import io

import numpy as np
from PIL import Image


def test_shard_bytes_reads_only_tfrecords(tmp_path, shard_bytes):
  (tmp_path / 'x.tfrecord-00000-of-00001').write_bytes(b'ab')
  (tmp_path / 'dataset_info.json').write_text('{}')
  assert shard_bytes(tmp_path) == {'x.tfrecord-00000-of-00001': b'ab'}


def test_encode_round_trips(encode):
  arr = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
  back = np.asarray(Image.open(io.BytesIO(encode(Image.fromarray(arr), 'PNG'))))
  np.testing.assert_array_equal(back, arr)
