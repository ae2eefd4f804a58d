"""Shared helpers and fixtures of the input-pipeline tests (test_input_*.py).

Other test modules import the fixtures from here. The tiny synthetic build is
made once per session in pytest's session temp dir; ``ensure_built`` returns
an existing build, so every module that uses it shares one build.
"""

import io
import os

import numpy as np
import pytest
from PIL import Image

TINY = dict(image_size=32, images_per_gm=3, num_real=24, seed=0)
TINY_SHARDS = 2


@pytest.fixture(scope='session')
def synthetic_dir(tmp_path_factory):
  """The TFDS data_dir holding the tiny synthetic build."""
  root = tmp_path_factory.getbasetemp() / 'synthetic_tiny'
  from input_pipeline import build
  build.ensure_built('synthetic', str(root), num_shards=TINY_SHARDS,
                     verbose=False, **TINY)
  return str(root)


@pytest.fixture(scope='session')
def synthetic_builder(synthetic_dir):
  from input_pipeline import build
  return build.ensure_built('synthetic', synthetic_dir,
                            num_shards=TINY_SHARDS, verbose=False, **TINY)


def read_records(builder, split_expr):
  """Every example of ``split_expr`` as a list of numpy dicts (image bytes)."""
  import tensorflow as tf
  import tensorflow_datasets as tfds
  from input_pipeline import pipeline
  files, _ = pipeline.stream_files(builder, split_expr)
  skip = {'image': tfds.decode.SkipDecoding()}
  out = []
  for rec in tf.data.TFRecordDataset(files):
    ex = builder.info.features.deserialize_example(rec, decoders=skip)
    out.append({k: v.numpy() for k, v in ex.items()})
  return out


def shard_bytes(version_dir):
  """{file name: bytes} of every TFRecord shard in a built version dir."""
  return {name: open(os.path.join(version_dir, name), 'rb').read()
          for name in sorted(os.listdir(version_dir)) if '.tfrecord-' in name}


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
  buf = io.BytesIO()
  img.save(buf, format=fmt, **kw)
  return buf.getvalue()


def test_shard_bytes_reads_only_tfrecords(tmp_path):
  (tmp_path / 'x.tfrecord-00000-of-00001').write_bytes(b'ab')
  (tmp_path / 'dataset_info.json').write_text('{}')
  assert shard_bytes(tmp_path) == {'x.tfrecord-00000-of-00001': b'ab'}


def test_encode_round_trips():
  arr = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
  back = np.asarray(Image.open(io.BytesIO(encode(Image.fromarray(arr), 'PNG'))))
  np.testing.assert_array_equal(back, arr)
