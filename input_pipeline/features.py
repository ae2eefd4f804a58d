"""The features every built data set (RED140, synthetic) stores per image.

  image            encoded PNG/JPEG bytes (tfds Image, decoded 8-bit RGB)
  gm               GM table name ('' for real images)
  gm_index         index into ``schema.gms()``, -1 for real images
  source           folder / source name as found (GM spelling or real source)
  filename         stable key: the path relative to the manual directory
  label            [55] float32 node label, ``schema.encode``; zeros for real
  continuous       [9] int64 raw continuous values (exact; 0 for real)
  continuous_mask  [9] float32, 1 = reported, 0 = not reported (filters of
                   the diffusion models) or real image
  is_generated     int32, 1 generated, 0 real
  test_set         int32, the GM's test set 0-4 (real images: 0)
"""

from __future__ import annotations

import numpy as np

from input_pipeline.tf_runtime import tfds
from lgpn_jax.red140 import schema

NUM_CONTINUOUS = len(schema.CONTINUOUS_COLUMNS)


def features() -> tfds.features.FeaturesDict:
  return tfds.features.FeaturesDict({
      'image': tfds.features.Image(shape=(None, None, 3)),
      'gm': tfds.features.Text(),
      'gm_index': tfds.features.Scalar(np.int32),
      'source': tfds.features.Text(),
      'filename': tfds.features.Text(),
      'label': tfds.features.Tensor(shape=(schema.NUM_NODES,),
                                    dtype=np.float32),
      'continuous': tfds.features.Tensor(shape=(NUM_CONTINUOUS,),
                                         dtype=np.int64),
      'continuous_mask': tfds.features.Tensor(shape=(NUM_CONTINUOUS,),
                                              dtype=np.float32),
      'is_generated': tfds.features.Scalar(np.int32),
      'test_set': tfds.features.Scalar(np.int32),
  })


def example(image: bytes, gm: str | None, source: str, filename: str) -> dict:
  """One example dict; ``gm=None`` for a real image."""
  if gm is None:
    return {'image': image, 'gm': '', 'gm_index': -1, 'source': source,
            'filename': filename,
            'label': np.zeros(schema.NUM_NODES, np.float32),
            'continuous': np.zeros(NUM_CONTINUOUS, np.int64),
            'continuous_mask': np.zeros(NUM_CONTINUOUS, np.float32),
            'is_generated': 0, 'test_set': 0}
  info = schema.get_gm(gm)
  values, mask = schema.continuous_values(info.raw)
  return {'image': image, 'gm': gm, 'gm_index': schema.gm_index()[gm],
          'source': source, 'filename': filename,
          'label': schema.encode(info.raw),
          'continuous': values.astype(np.int64),
          'continuous_mask': mask.astype(np.float32),
          'is_generated': 1, 'test_set': info.test_set}
