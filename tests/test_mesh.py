"""The mesh helpers: host batches -> global arrays sharded over 'data'."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec as P

from lgpn_jax import mesh as device


def test_to_global_shards_along_data():
  mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ('data', 'model'))
  batch = {'image': np.arange(8 * 3, dtype=np.float32).reshape(8, 3),
           'gm_index': np.arange(8, dtype=np.int32)}
  out = device.to_global(batch, mesh)
  assert out['image'].shape == (8 * jax.process_count(), 3)
  assert out['image'].sharding.spec == P('data')
  np.testing.assert_array_equal(np.asarray(out['image']), batch['image'])
  np.testing.assert_array_equal(np.asarray(out['gm_index']), batch['gm_index'])
  shard_rows = {s.data.shape[0] for s in out['image'].addressable_shards}
  assert shard_rows == {2}
  with pytest.raises(ValueError, match='multiple of 4'):
    device.to_global({'x': np.zeros((6, 2), np.float32)}, mesh)
  with pytest.raises(TypeError, match='numeric'):
    device.to_global({'x': np.array(['a'] * 8)}, mesh)
  with pytest.raises(ValueError, match='no .batch'):
    device.to_global(batch, mesh, axis='batch')
