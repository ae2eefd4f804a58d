"""convert.py --workdir -> a fold folder -> predict: the authors' weights (a
tiny synthetic state_dict in their layout) answer through the same commands
as a trained fold, with the numbers of the converted model."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from configs import released, released_tiny
from lgpn_jax import run, rundir
from lgpn_jax.evaluation import imported_fold, predict
from lgpn_jax.models import convert, synthetic_weights, weight_files
from lgpn_jax.models.build import build_model
from lgpn_jax.models.lgpn import positive_probability
from lgpn_jax.red140 import graphs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_synthetic_weights_cover_the_released_model_exactly():
  """Every key the reference uses, no other: the full released config gets
  the reference's 45,714,326 used parameters with nothing missing."""
  config = released.get_config()
  sd = synthetic_weights.random_state_dict(config, seed=1)
  assert all(k.startswith('module.') for k in sd)
  params = sum(v.size for k, v in sd.items()
               if not k.endswith(('running_mean', 'running_var',
                                  'num_batches_tracked')))
  assert params == 45_714_326
  assert sd['module.GCN_refine.a'].shape == (2 * config.model.node_dim, 1)
  assert sd['module.GTC.conv1.weight'].shape == (64, 3, 7, 7)
  assert (sd['module.GTC.bn1.running_var'] > 0).all()


def test_safetensors_round_trip(tmp_path):
  tensors = {'a.weight': np.arange(6, dtype=np.float32).reshape(2, 3),
             'a.num_batches_tracked': np.array(3, np.int64)}
  path = synthetic_weights.write_safetensors(tmp_path / 'w.safetensors',
                                             tensors)
  back = weight_files.read_safetensors(path)
  assert set(back) == set(tensors)
  for k, v in tensors.items():
    np.testing.assert_array_equal(back[k], v)
    assert back[k].dtype == v.dtype


@pytest.fixture(scope='module')
def imported(tmp_path_factory):
  """Weights file -> convert.py --workdir (the command, as a user runs it)."""
  root = tmp_path_factory.mktemp('imported')
  config = released_tiny.get_config()
  sd = synthetic_weights.random_state_dict(config, seed=3)
  weights = synthetic_weights.write_safetensors(root / 'w.safetensors', sd)
  workdir = str(root / 'runs')
  proc = subprocess.run(
      [sys.executable, 'convert.py', '--config=configs/released_tiny.py',
       f'--weights={weights}', f'--workdir={workdir}', '--fold=2'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert 'missing 0; unexpected 0' in proc.stdout
  assert 'python predict.py' in proc.stdout
  return config, sd, weights, workdir


def test_the_fold_folder_is_complete(imported):
  config, _, weights, workdir = imported
  fdir = rundir.fold_dir(workdir, 2)
  saved = rundir.load_fold_config(fdir)
  assert saved.fold == 2 and saved.data.protocol == 'released'
  assert saved.model.node_dim == config.model.node_dim
  np.testing.assert_array_equal(
      rundir.load_adjacency(fdir),
      graphs.fold_correlation_graph(2, 0.4, 'released'))
  info = json.loads(open(rundir.imported_weights_path(fdir)).read())
  assert info['weights'] == os.path.abspath(weights) and info['fold'] == 2
  assert len(info['sha256']) == 64 and info['mapped'] > 300


def test_predict_on_the_imported_fold_gives_the_converted_models_outputs(
    imported, tmp_path):
  config, sd, _, workdir = imported
  rng = np.random.default_rng(0)
  for i in range(3):
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), np.uint8)).save(
        tmp_path / f'{i}.png')
  report = predict.predict(workdir, str(tmp_path), fold=2, force=True)
  assert report['checkpoint_step'] == 0 and report['image_size'] == 32
  # The oracle: the state_dict converted in memory, applied directly.
  variables, _ = convert.convert_state_dict(sd, config)
  model = build_model(config.model)
  images = np.stack([predict.read_image(str(tmp_path / f'{i}.png'), 32)
                     for i in range(3)])
  out = model.apply(variables, jnp.asarray(images),
                    jnp.asarray(graphs.fold_correlation_graph(2, 0.4,
                                                              'released')),
                    train=False)
  probs = np.asarray(positive_probability(out['node_logits']))
  p_gen = np.asarray(jax.nn.softmax(out['real_fake_logits'], -1)[:, 1])
  assert 0.01 < p_gen.min() and p_gen.max() < 0.99      # not saturated.
  for i, entry in enumerate(report['images']):
    assert entry['p_generated'] == pytest.approx(p_gen[i], rel=1e-4, abs=1e-6)
    nodes = np.concatenate([r['node_probabilities']
                            for r in entry['hyperparameters']])
    np.testing.assert_allclose(nodes, probs[i], rtol=1e-4, atol=1e-6)


def test_an_existing_fold_or_incomplete_weights_are_refused(imported,
                                                            tmp_path):
  config, sd, weights, workdir = imported
  with pytest.raises(FileExistsError, match='--overwrite'):
    imported_fold.write_fold(weights, workdir, config, 2)
  partial = dict(sd)
  del partial['module.GTC.fc.weight']
  path = synthetic_weights.write_safetensors(tmp_path / 'p.safetensors',
                                             partial)
  with pytest.raises(convert.ConversionError, match='GTC.fc|backbone/fc'):
    imported_fold.write_fold(path, str(tmp_path / 'runs'), config, 1)
  assert not os.path.exists(rundir.fold_dir(str(tmp_path / 'runs'), 1))


def test_training_into_an_imported_fold_is_refused(imported):
  """An imported fold has weights but no optimizer state: train.py on it
  stops before writing anything."""
  config, _, _, workdir = imported
  fdir = rundir.fold_dir(workdir, 2)
  before = {p: os.path.getmtime(os.path.join(fdir, p))
            for p in os.listdir(fdir)}
  c = config.copy_and_resolve_references()
  c.fold = 2
  with pytest.raises(ValueError, match='imported weights'):
    run.train_and_evaluate(c, workdir)
  assert {p: os.path.getmtime(os.path.join(fdir, p))
          for p in os.listdir(fdir)} == before
