"""Host-local numpy batches -> global ``jax.Array``s sharded over 'data'.

No TensorFlow here: train.py can import this module on its own.
"""

from __future__ import annotations

from typing import Mapping

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def data_sharding(mesh: Mesh, axis: str = 'data') -> NamedSharding:
  """Leading (batch) dimension split over mesh axis ``axis``."""
  if axis not in mesh.axis_names:
    raise ValueError(f'mesh has axes {mesh.axis_names}, no {axis!r}')
  return NamedSharding(mesh, P(axis))


def to_global(batch: Mapping[str, np.ndarray], mesh: Mesh,
              axis: str = 'data') -> dict[str, jax.Array]:
  """Each host's batch becomes its slice of one global batch.

  Every array's leading dimension is this host's batch; the global batch is
  the concatenation over processes (``jax.make_array_from_process_local_data``).
  """
  sharding = data_sharding(mesh, axis)
  divisor = local_batch_divisor(mesh, axis)
  out = {}
  for key, value in batch.items():
    value = np.asarray(value)
    if value.dtype.kind not in 'biuf':
      raise TypeError(f'batch[{key!r}] has dtype {value.dtype}; only numeric '
                      'arrays can go to devices')
    if value.ndim == 0 or value.shape[0] % divisor:
      raise ValueError(
          f'batch[{key!r}] has shape {value.shape}: its leading (batch) '
          f'dimension must be a multiple of {divisor}, the number of slices '
          f'of mesh axis {axis!r} on this host')
    out[key] = jax.make_array_from_process_local_data(sharding, value)
  return out


def local_batch_divisor(mesh: Mesh, axis: str = 'data') -> int:
  """How many ways this host's batch is split along ``axis``."""
  index = mesh.axis_names.index(axis)
  mine = {d.id for d in jax.local_devices()}
  coords = {idx[index] for idx, d in np.ndenumerate(mesh.devices)
            if d.id in mine}
  return max(1, len(coords))
