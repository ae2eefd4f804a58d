"""Data parallelism: two wrappers of one per-device step over the mesh.

A per-device step ``step(state, batch, rng) -> (state, metrics)`` is written
once (see ``step.py``: it ``psum``s over axis ``'data'``) and run

  * ``'shard_map'`` (default): ``jax.jit(jax.shard_map(step, mesh, ...))`` over
    the 1-D mesh of every device of every host (``lgpn_jax/mesh.py``). The state is one global array
    per leaf, replicated (``P()``); the batch is a global array split over
    ``'data'`` (``P('data')``), built from each host's share with
    ``jax.make_array_from_process_local_data``.
  * ``'pmap'``: ``jax.pmap(step, axis_name='data')`` over this host's devices
    (the collectives still span every host). The state carries a leading axis
    of length ``jax.local_device_count()``; the host batch is reshaped to
    [local devices, per-device batch, ...].

Both donate the state (``donate_argnums=0``). ``DataParallel`` hides the two
layouts behind ``put_state`` / ``get_state`` / ``put_batch`` / ``metrics``;
the *canonical* state (what is checkpointed and returned) is always the
replicated global-array layout of ``'shard_map'``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from lgpn_jax.mesh import (AXIS, host_batch_split, host_value, replicate,
                           to_global)

MODES = ('shard_map', 'pmap')


class DataParallel:
  """One per-device step, run data-parallel as ``mode`` over ``mesh``.

  ``step(state, batch, rng)`` takes and returns the layout of ``mode``: use
  ``put_state`` once (canonical -> layout), ``put_batch`` per host batch, and
  ``get_state`` (layout -> canonical) to checkpoint or return the state.
  Metrics come back as a dict of numpy scalars from ``metrics``.
  """

  def __init__(self, per_device_step: Callable, mesh: Mesh,
               mode: str = 'shard_map', donate: bool = True):
    if mode not in MODES:
      raise ValueError(f'train.parallel must be one of {MODES}, got {mode!r}')
    if mesh.axis_names != (AXIS,):
      raise ValueError(f'expected a 1-D mesh with axis {AXIS!r}, got '
                       f'{mesh.axis_names}')
    self.mode, self.mesh = mode, mesh
    donate_argnums = (0,) if donate else ()
    if mode == 'shard_map':
      self.step = jax.jit(
          jax.shard_map(per_device_step, mesh=mesh,
                        in_specs=(P(), P(AXIS), P()), out_specs=(P(), P()),
                        check_vma=False),
          donate_argnums=donate_argnums)
    else:
      self._local = Mesh(np.asarray(jax.local_devices()), (AXIS,))
      self.step = jax.pmap(per_device_step, axis_name=AXIS,
                           in_axes=(0, 0, None), donate_argnums=donate_argnums)

  def put_state(self, state):
    """Canonical (replicated global) state -> this mode's layout."""
    if self.mode == 'shard_map':
      return state
    n = len(self._local.devices)
    sharding = NamedSharding(self._local, P(AXIS))
    return jax.tree.map(
        lambda x: jax.device_put(
            np.broadcast_to(host_value(x), (n, *x.shape)), sharding), state)

  def get_state(self, state):
    """This mode's layout -> canonical (replicated global) state."""
    if self.mode == 'shard_map':
      return state
    return replicate(jax.tree.map(lambda x: host_value(x)[0], state),
                     self.mesh)

  def put_batch(self, batch: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """This host's numpy batch -> the step's batch layout."""
    if self.mode == 'shard_map':
      return to_global(batch, self.mesh, AXIS)
    n = len(self._local.devices)
    sharding = NamedSharding(self._local, P(AXIS))
    out = {}
    for k, v in batch.items():
      v = np.asarray(v)
      per = host_batch_split(n, v.shape[0])
      out[k] = jax.device_put(v.reshape(n, per, *v.shape[1:]), sharding)
    return out

  def put_rng(self, key):
    """A PRNG key (same on every host) -> the step's replicated key."""
    if self.mode == 'pmap':
      return key
    return jax.random.wrap_key_data(
        replicate(jax.random.key_data(key), self.mesh),
        impl=jax.random.key_impl(key))

  def metrics(self, metrics) -> dict[str, float]:
    """Device metrics (identical on every device) -> {name: float}."""
    if self.mode == 'shard_map':
      return {k: float(host_value(v)) for k, v in metrics.items()}
    return {k: float(host_value(v)[0]) for k, v in metrics.items()}

  def __call__(self, state, batch, rng):
    return self.step(state, batch, rng)
