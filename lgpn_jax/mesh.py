"""The device mesh and moving arrays between hosts and devices.

Every program of the project runs over a 1-D mesh with axis ``'data'``
(``make_mesh``): the training step over every device of every host, the
evaluation forward over this host's devices. Host values become global
arrays here:
  * ``replicate(tree, mesh)``: the same host value on every device (``P()``);
  * ``to_global(batch, mesh)``: each host's batch becomes its slice of one
    global batch split over ``'data'`` (``P('data')``);
  * ``host_value(x)``: a replicated global array back to numpy.
No TensorFlow here.
"""

from __future__ import annotations

from typing import Mapping

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = 'data'


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh named ``'data'`` over ``devices`` (default: all, all hosts)."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharding(mesh: Mesh, axis: str = AXIS) -> NamedSharding:
  """Leading (batch) dimension split over mesh axis ``axis``."""
  if axis not in mesh.axis_names:
    raise ValueError(f'mesh has axes {mesh.axis_names}, no {axis!r}')
  return NamedSharding(mesh, P(axis))


def replicate(tree, mesh: Mesh):
  """Host values (the same on every host) -> global arrays replicated on mesh."""
  sharding = replicated(mesh)

  def put(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

  return jax.tree.map(put, tree)


def host_value(x) -> np.ndarray:
  """The numpy value of a replicated global array (also across hosts)."""
  if isinstance(x, jax.Array):
    return np.asarray(x.addressable_data(0))
  return np.asarray(x)


def host_batch_split(num_local_devices: int, batch_size: int) -> int:
  """Per-device batch of a host batch split over its local devices."""
  if batch_size % num_local_devices:
    raise ValueError(f'the host batch ({batch_size}) must be a multiple of '
                     f'the local device count ({num_local_devices})')
  return batch_size // num_local_devices


def local_batch_divisor(mesh: Mesh, axis: str = AXIS) -> int:
  """How many ways this host's batch is split along ``axis``."""
  index = mesh.axis_names.index(axis)
  mine = {d.id for d in jax.local_devices()}
  coords = {idx[index] for idx, d in np.ndenumerate(mesh.devices)
            if d.id in mine}
  return max(1, len(coords))


def to_global(batch: Mapping[str, np.ndarray], mesh: Mesh,
              axis: str = AXIS) -> dict[str, jax.Array]:
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
