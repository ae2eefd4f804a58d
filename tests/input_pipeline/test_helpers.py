"""The shared test helpers of tests/conftest.py behave as the tests assume."""

import io

import numpy as np
from PIL import Image


def test_shard_contents_read_only_tfrecords_in_field_order(tmp_path,
                                                         shard_contents):
  from input_pipeline.tf_runtime import tf
  a = tf.train.Example()
  a.features.feature['x'].int64_list.value.append(1)
  a.features.feature['y'].int64_list.value.append(2)
  with tf.io.TFRecordWriter(str(tmp_path / 'x.tfrecord-00000-of-00001')) as w:
    w.write(a.SerializeToString())
  (tmp_path / 'dataset_info.json').write_text('{}')
  got = shard_contents(tmp_path)
  assert list(got) == ['x.tfrecord-00000-of-00001']
  assert tf.train.Example.FromString(got['x.tfrecord-00000-of-00001'][0]) == a


def test_encode_round_trips(encode):
  arr = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
  back = np.asarray(Image.open(io.BytesIO(encode(Image.fromarray(arr), 'PNG'))))
  np.testing.assert_array_equal(back, arr)
