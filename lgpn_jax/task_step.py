"""The per-device train step of the classification tasks (detection,
attribution), with train_step.py's conventions: globally normalised loss
shares, psum-ed gradients, synchronised BatchNorm, the same metrics (loss,
its term, accuracy, norms, learning rate, ``finite``).
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from lgpn_jax import losses, task_losses
from lgpn_jax.parallel import AXIS
from lgpn_jax.train_step import global_norm
from lgpn_jax.train_state import TrainState

BATCH_KEYS = ('image', 'class_label')   # what the step reads.


def make_task_train_step(model, tx: optax.GradientTransformation,
                         schedule: optax.Schedule, adjacency,
                         axis_name: str = AXIS) -> Callable:
  """``step(state, batch, rng)`` for one device of axis ``axis_name``.

  ``model`` is a ``classifier.Classifier`` built with
  ``bn_axis_name=axis_name``; ``adjacency`` is passed through (ignored).
  """
  adjacency = np.asarray(adjacency, np.float32)

  def step(state: TrainState, batch: Mapping, rng):
    device = lax.axis_index(axis_name)
    dropout_rng = jax.random.fold_in(jax.random.fold_in(rng, state.step),
                                     device)

    def local_loss(params):
      outputs, mutated = model.apply(
          {'params': params, 'batch_stats': state.batch_stats},
          batch['image'], adjacency, train=True,
          rngs={'dropout': dropout_rng}, mutable=['batch_stats'])
      terms = task_losses.loss_terms(outputs, batch)
      sums = {k: jnp.sum(v) for k, (v, _) in terms.items()}
      counts = {k: lax.psum(lax.stop_gradient(jnp.sum(w)), axis_name)
                for k, (_, w) in terms.items()}
      share, means = losses.combine(sums, counts, task_losses.WEIGHTS)
      return share, (means, mutated.get('batch_stats', {}), outputs)

    grad_fn = jax.value_and_grad(local_loss, has_aux=True)
    (share, (means, batch_stats, outputs)), grads = grad_fn(state.params)
    grads = lax.psum(grads, axis_name)
    loss = lax.psum(share, axis_name)
    means = lax.psum(means, axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    acc_sums, acc_counts = lax.psum(task_losses.accuracy_terms(outputs, batch),
                                    axis_name)
    grad_norm = global_norm(grads)
    param_norm = global_norm(params)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(
        param_norm)
    metrics = dict(loss=loss, grad_norm=grad_norm, param_norm=param_norm,
                   learning_rate=schedule(state.step),
                   finite=finite.astype(jnp.float32),
                   **{f'loss_{k}': v for k, v in means.items()},
                   **{k: acc_sums[k] / jnp.maximum(acc_counts[k], 1.0)
                      for k in acc_sums})
    new_state = state.replace(step=state.step + 1, params=params,
                              batch_stats=batch_stats, opt_state=opt_state)
    return new_state, metrics

  return step
