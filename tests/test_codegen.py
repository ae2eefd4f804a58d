"""The tests' XLA settings (TEST_XLA_FLAGS in tests/conftest.py) change code
generation only: the tiny model's outputs and gradients under them equal
those under XLA's default settings (a process without XLA_FLAGS) to float
rounding.

  python tests/test_codegen.py DIR   (the default-settings half: reads
                                      DIR/variables.msgpack, writes
                                      DIR/default.npz)
"""

import os
import subprocess
import sys

from flax import serialization
import jax
import jax.numpy as jnp
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Largest difference allowed, as a fraction of the largest |value| of each
# array (measured: under 4e-7 for outputs and gradients).
RELATIVE = 1e-5


def model_and_images():
  # The project's modules: imported here, after main() puts the repository
  # on the path of the default-settings process.
  from configs import tiny
  from lgpn_jax.models.build import build_model
  from lgpn_jax.red140 import graphs
  model = build_model(tiny.get_config().model)
  images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3))
  return (model, jnp.asarray(images, jnp.float32),
          jnp.asarray(graphs.fold_correlation_graph(1)))


def init_fn(model, adjacency):
  """images -> the model's variables (seed 0)."""
  return lambda x: model.init({'params': jax.random.key(0, impl='rbg')}, x,
                              adjacency)


def outputs_and_gradients(model, images, adjacency, variables) -> dict:
  """The evaluation-mode outputs and the gradient of a loss through tanh and
  exp (raveled), compiled with this process's XLA settings."""

  def loss(params):
    out = model.apply({**variables, 'params': params}, images, adjacency)
    return (jnp.sum(jnp.tanh(out['node_logits']))
            + jnp.sum(jnp.exp(-jnp.square(out['features'])))), out

  (value, out), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(
      variables['params'])
  return dict(value=np.asarray(value),
              node_logits=np.asarray(out['node_logits']),
              features=np.asarray(out['features']),
              gradient=np.concatenate([np.ravel(g)
                                       for g in jax.tree.leaves(grads)]))


def test_results_equal_the_default_settings_to_rounding(tmp_path):
  assert os.environ.get('XLA_FLAGS')      # (else both halves are the same.)
  model, images, adjacency = model_and_images()
  variables = jax.jit(init_fn(model, adjacency))(images[:1])
  (tmp_path / 'variables.msgpack').write_bytes(
      serialization.to_bytes(variables))
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  proc = subprocess.run([sys.executable, os.path.abspath(__file__),
                         str(tmp_path)], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  default = np.load(tmp_path / 'default.npz')
  ours = outputs_and_gradients(model, images, adjacency, variables)
  assert sorted(default.files) == sorted(ours)
  for name, value in ours.items():
    scale = float(np.abs(default[name]).max())
    assert scale > 0, name
    np.testing.assert_allclose(value, default[name], rtol=0,
                               atol=RELATIVE * scale, err_msg=name)


def main(folder: str) -> None:
  sys.path.insert(0, REPO)
  jax.config.update('jax_platforms', 'cpu')
  assert 'XLA_FLAGS' not in os.environ
  model, images, adjacency = model_and_images()
  target = jax.eval_shape(init_fn(model, adjacency), images[:1])
  with open(os.path.join(folder, 'variables.msgpack'), 'rb') as f:
    variables = serialization.from_bytes(target, f.read())
  np.savez(os.path.join(folder, 'default.npz'),
           **outputs_and_gradients(model, images, adjacency, variables))


if __name__ == '__main__':
  main(sys.argv[1])
