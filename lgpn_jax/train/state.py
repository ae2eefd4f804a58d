"""The train state and its creation, already laid out on the devices.

``TrainState`` is a plain pytree: ``step`` (int32, updates applied so far),
``params`` (float32), ``batch_stats`` (BatchNorm running statistics) and the
optimizer state. ``create`` initialises it under ``jax.jit`` with
``out_shardings`` = replicated over the mesh, so no host copy of the full
state is ever made (big_vision style).
"""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from lgpn_jax import checkpoint
from lgpn_jax.mesh import replicate, replicated
@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any

  @property
  def variables(self) -> dict:
    """The model's variables, as ``model.apply`` takes them."""
    return {'params': self.params, 'batch_stats': self.batch_stats}


def init_fn(model: nn.Module, tx: optax.GradientTransformation,
            image_size: int):
  """(seed, adjacency) -> TrainState at step 0 (to be jitted).

  Parameters are drawn with the 'rbg' PRNG (XLA's RngBitGenerator): the
  many initialisers compile about 3x faster than with threefry.
  """

  def init(seed, adjacency):
    rng = jax.random.key(seed, impl='rbg')
    images = jnp.zeros((1, image_size, image_size, 3), jnp.float32)
    variables = model.init({'params': rng, 'dropout': rng}, images, adjacency,
                           train=False)
    params = variables['params']
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables.get('batch_stats', {}),
                      opt_state=tx.init(params))

  return init


def abstract_state(model, tx, image_size: int, adjacency,
                   mesh: Mesh) -> TrainState:
  """Shapes, dtypes and (replicated) shardings of the state, no compute."""
  shapes = jax.eval_shape(init_fn(model, tx, image_size), 0, adjacency)
  rep = replicated(mesh)
  return jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=rep), shapes)


def create(model: nn.Module, tx: optax.GradientTransformation,
           image_size: int, adjacency, mesh: Mesh, seed: int) -> TrainState:
  """A fresh state, replicated over every device of ``mesh``."""
  init = jax.jit(init_fn(model, tx, image_size), static_argnums=0,
                 out_shardings=replicated(mesh))
  return init(int(seed), replicate(adjacency, mesh))


def num_params(tree) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(tree))


def save_checkpoint(mngr, state: TrainState) -> int:
  """Saves ``state`` (replicated global arrays) at its step; returns the step.

  Inference variables go to the checkpoint's ``model`` item, the step and
  optimizer state to ``train`` (lgpn_jax/checkpoint.py).
  """
  return checkpoint.save(mngr, state.step, state.variables,
                         {'step': state.step, 'opt_state': state.opt_state})


def restore_checkpoint(mngr, abstract: TrainState,
                       step: int | None = None) -> TrainState | None:
  """The state at ``step`` (default: latest) laid out like ``abstract``;
  None if the fold has no checkpoint."""
  out = checkpoint.restore(
      mngr, abstract.variables,
      {'step': abstract.step, 'opt_state': abstract.opt_state}, step)
  if out is None:
    return None
  model, train = out
  return TrainState(step=train['step'], params=model['params'],
                    batch_stats=model['batch_stats'],
                    opt_state=train['opt_state'])
