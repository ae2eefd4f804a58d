"""The per-device train step of every task (run by ``parallel.DataParallel``).

The task gives the loss terms, their weights and the logged accuracies
(``lgpn_jax/tasks``). Every loss term is a (sum, count) pair over images.
The counts are ``psum``-ed over axis ``'data'`` first, so each device computes
its share of the *globally normalised* loss, sum_k w_k * local_sum_k /
global_count_k; the gradients of those shares are ``psum``-ed. That equals the
gradient of the single-device loss on the whole global batch, for any device
count and any split of real / generated images over devices. BatchNorm
statistics are synchronised inside the model (``bn_axis_name='data'``).
Dropout keys are ``fold_in(fold_in(rng, step), device index)``.

The step returns replicated metrics: the loss and its terms, the task's
accuracies on the batch, gradient and parameter norms, the learning rate, and
``finite`` (1 when the loss, the gradients and the updated parameters are all
finite; the trainer stops on 0).
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from lgpn_jax.losses.terms import combine
from lgpn_jax.mesh import AXIS
from lgpn_jax.train.state import TrainState


def global_norm(tree):
  """sqrt of the sum of squares of every leaf (float32), over the leaves
  raveled into one vector: one reduction, not one per leaf."""
  flat = jnp.concatenate([jnp.ravel(x).astype(jnp.float32)
                          for x in jax.tree.leaves(tree)])
  return jnp.sqrt(jnp.sum(jnp.square(flat)))


def make_step(model, tx: optax.GradientTransformation,
              schedule: optax.Schedule, adjacency,
              loss_terms: Callable, weights: Mapping[str, float],
              accuracy_terms: Callable, axis_name: str = AXIS,
              skip_if_empty: str | None = None) -> Callable:
  """The per-device step shared by every task.

  ``loss_terms(outputs, batch)`` -> {name: (per-image value, weight)};
  ``weights`` weighs the terms' means; ``accuracy_terms(outputs, batch)`` ->
  (sums, counts) of the logged accuracies. ``skip_if_empty``: the name of a
  term whose global weight 0 (e.g. 'node' on a batch of real images only)
  makes the step a no-op for the parameters, BatchNorm statistics and
  optimizer (the released script skips such batches); the step counter
  still advances (it is the data position) and the metric ``skipped`` is 1.
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
      terms = loss_terms(outputs, batch)
      sums = {k: jnp.sum(v) for k, (v, _) in terms.items()}
      counts = {k: lax.psum(lax.stop_gradient(jnp.sum(w)), axis_name)
                for k, (_, w) in terms.items()}
      share, means = combine(sums, counts, weights)
      return share, (means, mutated.get('batch_stats', {}), outputs, counts)

    grad_fn = jax.value_and_grad(local_loss, has_aux=True)
    (share, (means, batch_stats, outputs, counts)), grads = grad_fn(
        state.params)
    grads = lax.psum(grads, axis_name)
    loss = lax.psum(share, axis_name)
    means = lax.psum(means, axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    skipped = jnp.zeros((), bool)
    if skip_if_empty is not None:
      skipped = counts[skip_if_empty] == 0     # (already summed globally.)
      keep = lambda old, new: jax.tree.map(   # noqa: E731
          lambda o, n: jnp.where(skipped, o, n), old, new)
      params = keep(state.params, params)
      opt_state = keep(state.opt_state, opt_state)
      batch_stats = keep(state.batch_stats, batch_stats)

    acc_sums, acc_counts = lax.psum(accuracy_terms(outputs, batch), axis_name)
    grad_norm = global_norm(grads)
    param_norm = global_norm(params)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(
        param_norm)
    metrics = dict(loss=loss, grad_norm=grad_norm, param_norm=param_norm,
                   learning_rate=schedule(state.step),
                   finite=finite.astype(jnp.float32),
                   skipped=skipped.astype(jnp.float32),
                   **{f'loss_{k}': v for k, v in means.items()},
                   **{k: acc_sums[k] / jnp.maximum(acc_counts[k], 1.0)
                      for k in acc_sums})
    new_state = state.replace(step=state.step + 1, params=params,
                              batch_stats=batch_stats, opt_state=opt_state)
    return new_state, metrics

  return step
