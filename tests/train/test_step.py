"""The data-parallel train step equals a single-device step on the global batch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import tiny
from lgpn_jax import mesh as mesh_lib, tasks
from lgpn_jax.losses import parsing as losses
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import graphs
from lgpn_jax.train import parallel, state as train_state, step as train_step

GLOBAL_BATCH = 16   # 2 images per device on the 8 simulated devices.


def fake_batch(n=GLOBAL_BATCH, size=32, seed=0):
  rng = np.random.default_rng(seed)
  is_gen = (rng.random(n) < 0.7).astype(np.int32)
  is_gen[:3] = [1, 0, 1]
  label = (rng.random((n, 55)) < 0.3).astype(np.float32) * is_gen[:, None]
  image = rng.uniform(-1, 1, (n, size, size, 3)).astype(np.float32)
  return dict(image=image, label=label, is_generated=is_gen)


def float32_tiny():
  config = tiny.get_config()
  config.model.dtype = 'float32'
  config.model.gcn_dropout = 0.0       # no randomness: devices == one device.
  # The stacked-GCN head: what crosses devices is all in the step (psum) and
  # the backbone (synchronised BatchNorm); the pooling head has nothing that
  # does, compiles a third slower, and its straight-through pooled edges
  # amplify the float32 rounding of the synchronised statistics in the
  # backward pass (the two steps agree under JAX_ENABLE_X64=1).
  config.model.head = 'stacked_gcn'
  return config


@functools.lru_cache(maxsize=None)
def setup():
  config = float32_tiny()
  adjacency = graphs.fold_correlation_graph(1, config.graph.tau)
  # SGD: the update is linear in the gradient, so the comparison is not
  # blurred by Adam's first step (lr * sign(g) flips on near-zero gradients).
  schedule = optax.constant_schedule(0.5)
  tx = optax.sgd(schedule)
  mesh = mesh_lib.make_mesh()
  model_cfg = config.model.copy_and_resolve_references()
  model_cfg.bn_axis_name = mesh_lib.AXIS
  model = build_model(model_cfg)
  state = train_state.create(model, tx, config.data.image_size, adjacency,
                             mesh, seed=0)
  host_state = jax.tree.map(mesh_lib.host_value, state)
  return config, adjacency, tx, schedule, mesh, model, host_state


def reference_step(config, adjacency, tx, host_state, batch):
  """Plain jit on one device, no collectives, model without bn_axis_name."""
  model = build_model(config.model)
  targets = losses.model_targets(config.model, config.loss)

  @jax.jit
  def step(state, batch):
    def loss_fn(params):
      out, mutated = model.apply(
          {'params': params, 'batch_stats': state.batch_stats},
          batch['image'], adjacency, train=True, mutable=['batch_stats'])
      total, _ = losses.total_loss(out, batch, targets, config.loss)
      return total, mutated['batch_stats']
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params)
    updates, opt = tx.update(grads, state.opt_state, state.params)
    return state.replace(step=state.step + 1,
                         params=jax.tree.map(jnp.add, state.params, updates),
                         batch_stats=stats, opt_state=opt), loss

  one = jax.devices()[0]
  new, loss = step(jax.device_put(host_state, one),
                   jax.device_put(batch, one))
  return jax.tree.map(np.asarray, new), float(loss)


@functools.lru_cache(maxsize=None)
def reference():
  """The single-device step on ``fake_batch()``: computed (and compiled) once
  for both parallel modes."""
  config, adjacency, tx, _, _, _, host_state = setup()
  return reference_step(config, adjacency, tx, host_state, fake_batch())


@pytest.mark.slow
@pytest.mark.parametrize('mode', parallel.MODES)
def test_data_parallel_step_equals_single_device(mode):
  config, adjacency, tx, schedule, mesh, model, host_state = setup()
  batch = fake_batch()
  want_state, want_loss = reference()

  task = tasks.get(config)
  step = train_step.make_step(model, tx, schedule, adjacency, task.loss_terms,
                              task.loss_weights, task.accuracy_terms)
  dp = parallel.DataParallel(step, mesh, mode)
  state = dp.put_state(mesh_lib.replicate(host_state, mesh))
  new, metrics = dp(state, dp.put_batch(batch), jax.random.key(0))
  metrics = dp.metrics(metrics)
  got = jax.tree.map(mesh_lib.host_value, dp.get_state(new))

  assert metrics['finite'] == 1.0
  np.testing.assert_allclose(metrics['loss'], want_loss, rtol=1e-5)
  assert int(got.step) == 1
  flat_want = jax.tree_util.tree_leaves_with_path(want_state.params)
  flat_got = jax.tree.leaves(got.params)
  for (path, w), g in zip(flat_want, flat_got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6,
                               err_msg=jax.tree_util.keystr(path))
  jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-4,
                                                       atol=1e-6),
               got.batch_stats, want_state.batch_stats)
  # The update really moved the parameters (the test is not vacuous).
  delta = [np.abs(g - h).max() for g, h in zip(
      flat_got, jax.tree.leaves(host_state.params))]
  assert max(delta) > 1e-4
