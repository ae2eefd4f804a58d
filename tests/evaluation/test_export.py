"""export: a fold's inference function serialized with jax.export (symbolic
batch), reloaded from the file alone, gives the model's outputs."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.evaluation import export, inference
from lgpn_jax.models import convert
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import graphs

@pytest.fixture(scope='module')
def fold(imported_tiny_fold):
  config, sd, workdir = imported_tiny_fold
  variables, _ = convert.convert_state_dict(sd, config)
  return config, workdir, variables


@pytest.mark.slow
def test_the_reloaded_artifact_matches_the_model_at_any_batch(fold, tmp_path):
  config, workdir, variables = fold
  path = export.export_fold(workdir, 1, out=str(tmp_path / 'm.jax_export'))
  info = json.loads(open(path + '.json').read())
  assert info['image_size'] == 32 and info['checkpoint_step'] == 0
  assert info['platforms'] == [jax.default_backend()]
  infer = export.load(path)
  model = build_model(config.model)
  adj = jnp.asarray(graphs.fold_correlation_graph(1, 0.4, 'released'))
  select = inference.parsing_outputs()
  images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(
      np.float32)
  want = jax.jit(lambda x: select(model.apply(variables, x, adj,
                                              train=False)))(images)
  for rows in (slice(0, 1), slice(0, 3)):     # one artifact, two batch sizes.
    got = infer(images[rows])
    assert set(got) == {'probabilities', 'p_generated',
                        'continuous_features'}
    for k in want:
      assert got[k].shape == want[k][rows].shape
      np.testing.assert_allclose(got[k], want[k][rows], rtol=1e-5, atol=1e-6)

@pytest.mark.slow
def test_the_artifact_needs_nothing_of_this_repository(fold, tmp_path):
  """Reloaded with plain jax.export in a process that cannot import
  lgpn_jax, lowered for two platforms on a machine with one."""
  _, workdir, _ = fold
  path = export.export_fold(workdir, 1, out=str(tmp_path / 'm.jax_export'),
                            platforms=('cpu', 'cuda'))
  code = ('import sys, numpy as np, jax\n'
          'sys.modules["lgpn_jax"] = None\n'
          'e = jax.export.deserialize(bytearray(open(sys.argv[1], "rb").read()))\n'
          'out = e.call(np.zeros((2, 32, 32, 3), np.float32))\n'
          'print(e.platforms, out["probabilities"].shape)\n')
  proc = subprocess.run([sys.executable, '-c', code, path], cwd=tmp_path,
                        capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "('cpu', 'cuda') (2, 55)" in proc.stdout
  with pytest.raises(FileNotFoundError, match='export.py'):
    export.load(str(tmp_path / 'missing'))
