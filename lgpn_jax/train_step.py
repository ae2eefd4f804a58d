"""The per-device train step (run by ``parallel.DataParallel``).

Every loss term is a (sum, count) pair over images (``losses.loss_terms``).
The counts are ``psum``-ed over axis ``'data'`` first, so each device computes
its share of the *globally normalised* loss, sum_k w_k * local_sum_k /
global_count_k; the gradients of those shares are ``psum``-ed. That equals the
gradient of the single-device loss on the whole global batch, for any device
count and any split of real / generated images over devices. BatchNorm
statistics are synchronised inside the model (``bn_axis_name='data'``).
Dropout keys are ``fold_in(fold_in(rng, step), device index)``.

The step returns replicated metrics: the loss and its terms, node and
real/fake accuracy on the batch, gradient and parameter norms, the learning
rate, and ``finite`` (1 when the loss, the gradients and the updated
parameters are all finite; the trainer stops on 0).
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from lgpn_jax import losses
from lgpn_jax.parallel import AXIS
from lgpn_jax.train_state import TrainState

BATCH_KEYS = ('image', 'label', 'is_generated')   # what the step reads.


def hierarchy_targets(model_cfg):
  """The fixed matching targets of a model config ([] without pooling)."""
  if model_cfg.head != 'gcn_refinement':
    return []
  return losses.targets_for(tuple(model_cfg.pool_sizes), model_cfg.num_nodes)


def global_norm(tree):
  """sqrt of the sum of squares of every leaf (float32)."""
  return jnp.sqrt(sum(jnp.sum(jnp.square(x.astype(jnp.float32)))
                      for x in jax.tree.leaves(tree)))


def _accuracy_terms(outputs, batch):
  """(sums, counts) of node accuracy (generated) and real/fake accuracy."""
  valid = batch.get('mask', jnp.ones(batch['is_generated'].shape))
  valid = valid.astype(jnp.float32)
  gen = batch['is_generated'].astype(jnp.float32) * valid
  pred = losses.positive_probability(outputs['node_logits']) > 0.5
  node_acc = jnp.mean((pred == (batch['label'] > 0.5)).astype(jnp.float32), -1)
  rf_pred = jnp.argmax(outputs['real_fake_logits'], -1)
  rf_acc = (rf_pred == batch['is_generated']).astype(jnp.float32)
  sums = dict(node_accuracy=jnp.sum(node_acc * gen),
              real_fake_accuracy=jnp.sum(rf_acc * valid))
  counts = dict(node_accuracy=jnp.sum(gen), real_fake_accuracy=jnp.sum(valid))
  return sums, counts


def make_train_step(model, tx: optax.GradientTransformation,
                    schedule: optax.Schedule, loss_cfg,
                    adjacency, targets, axis_name: str = AXIS) -> Callable:
  """``step(state, batch, rng)`` of model parsing for one device of axis
  ``axis_name``.

  ``model`` must be built with ``bn_axis_name=axis_name``; ``adjacency`` is
  the fold's [N, N] graph (a constant of the step); ``batch`` holds
  ``BATCH_KEYS`` (and optionally 'mask'); ``rng`` is a replicated key.
  """
  return make_step(model, tx, schedule, adjacency,
                   lambda outputs, batch: losses.loss_terms(outputs, batch,
                                                            targets),
                   losses.config_weights(loss_cfg), _accuracy_terms,
                   axis_name)


def make_step(model, tx: optax.GradientTransformation,
              schedule: optax.Schedule, adjacency,
              loss_terms: Callable, weights: Mapping[str, float],
              accuracy_terms: Callable, axis_name: str = AXIS) -> Callable:
  """The per-device step shared by every task.

  ``loss_terms(outputs, batch)`` -> {name: (per-image value, weight)};
  ``weights`` weighs the terms' means; ``accuracy_terms(outputs, batch)`` ->
  (sums, counts) of the logged accuracies.
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
      share, means = losses.combine(sums, counts, weights)
      return share, (means, mutated.get('batch_stats', {}), outputs)

    grad_fn = jax.value_and_grad(local_loss, has_aux=True)
    (share, (means, batch_stats, outputs)), grads = grad_fn(state.params)
    grads = lax.psum(grads, axis_name)
    loss = lax.psum(share, axis_name)
    means = lax.psum(means, axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    acc_sums, acc_counts = lax.psum(accuracy_terms(outputs, batch), axis_name)
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
