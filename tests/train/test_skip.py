"""The step's skip of batches without a generated image (the released
script's ``continue``), on a toy model: nothing moves but the step counter."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from lgpn_jax import mesh as mesh_lib
from lgpn_jax.train import parallel, state as state_lib, step as step_lib


class Toy(nn.Module):
  @nn.compact
  def __call__(self, images, adjacency, train=False):
    del adjacency
    x = jnp.mean(images, axis=(1, 2))
    x = nn.BatchNorm(use_running_average=not train, axis_name=mesh_lib.AXIS)(x)
    return dict(y=nn.Dense(1)(x)[:, 0])


def terms(outputs, batch):
  gen = batch['is_generated'].astype(jnp.float32)
  return dict(node=(jnp.square(outputs['y'] - 1.0) * gen, gen))


def accuracy(outputs, batch):
  return {}, {}


def test_batches_without_generated_images_are_skipped():
  mesh = mesh_lib.make_mesh()
  tx = optax.adam(0.1)
  model = Toy()
  step = step_lib.make_step(model, tx, optax.constant_schedule(0.1),
                            np.zeros((1, 1)), terms, {'node': 1.0}, accuracy,
                            skip_if_empty='node')
  dp = parallel.DataParallel(step, mesh, 'shard_map', donate=False)
  state = state_lib.create(model, tx, 4, np.zeros((1, 1)), mesh, seed=0)
  images = np.random.default_rng(0).normal(size=(8, 4, 4, 3)).astype(
      np.float32)

  def run(is_gen):
    batch = dp.put_batch(dict(image=images, is_generated=np.asarray(
        is_gen, np.int32)))
    return dp(state, batch, dp.put_rng(jax.random.key(0)))

  skipped, m = run([0] * 8)
  assert dp.metrics(m)['skipped'] == 1.0
  assert int(mesh_lib.host_value(skipped.step)) == 1
  for a, b in zip(jax.tree.leaves((state.params, state.batch_stats,
                                   state.opt_state)),
                  jax.tree.leaves((skipped.params, skipped.batch_stats,
                                   skipped.opt_state))):
    np.testing.assert_array_equal(mesh_lib.host_value(a),
                                  mesh_lib.host_value(b))
  moved, m = run([0] * 7 + [1])       # one generated image on one device.
  assert dp.metrics(m)['skipped'] == 0.0
  assert not np.allclose(
      mesh_lib.host_value(moved.params['Dense_0']['kernel']),
      mesh_lib.host_value(state.params['Dense_0']['kernel']))
