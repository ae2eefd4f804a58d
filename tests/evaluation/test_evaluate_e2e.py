"""Inference with a fake model, and an end-to-end evaluation of a tiny random
LGPN on the tiny synthetic build (one compile of the tiny model)."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from lgpn_jax import checkpoint, run, rundir
from lgpn_jax.evaluation import fold_model
from lgpn_jax.evaluation.parsing import aggregate, evaluate, regression
from lgpn_jax.train import state as state_lib
from lgpn_jax.red140 import folds, graphs, schema
from lgpn_jax.evaluation import inference
from lgpn_jax.models.build import build_model


@pytest.mark.parametrize('two_way', [False, True])
def test_predictor_outputs_padding_and_mask(two_way, fake_model):
  adj = np.eye(55, dtype=np.float32)
  pred = inference.Predictor(fake_model(two_way), {}, adj, mask_rows=2)
  assert len(pred.devices) == 8
  s = np.array([0.5, -1.0, 0.0, 2.0, 1.0], np.float32)   # 5 rows on 8 devices.
  images = np.zeros((5, 2, 2, 3), np.float32)
  images[:, 0, 0, 0] = s
  out = pred(images)
  expect = 1 / (1 + np.exp(-s[:, None] * (np.arange(55) - 27.0)))
  np.testing.assert_allclose(out['probabilities'], expect, rtol=1e-5)
  assert out['continuous_features'].shape == (5, 27, 4)
  np.testing.assert_allclose(out['continuous_features'][:, 0, 0], s)
  assert out['masks'][0].shape == (2, 55, 55)
  np.testing.assert_array_equal(out['masks'][0][1], adj)
  np.testing.assert_allclose(out['p_generated'], 1 / (1 + np.exp(-4 * s)),
                             rtol=1e-5)
  # The learned graphs of the first mask_rows = 2 valid rows (rows 1 and 4
  # are padding), none of the all-padding batch.
  batch = dict(image=images, mask=np.array([1, 0, 1, 1, 0], np.float32),
               gm_index=np.array([5, 6, 7, 5, 8]),
               is_generated=np.ones(5, np.int32))
  pad = dict(image=images, mask=np.zeros(5, np.float32), gm_index=np.arange(5))
  rows = inference.collect(inference.iterate(pred, [batch, pad]))
  assert rows['masks'][0].shape == (2, 55, 55)
  np.testing.assert_array_equal(rows['gm_index'], [5, 7, 5])
  np.testing.assert_allclose(rows['probabilities'], expect[[0, 2, 3]], rtol=1e-5)


@pytest.fixture(scope='module')
def tiny_fold(synthetic_builder, tiny_build, tmp_path_factory):
  """A random tiny LGPN saved as the trainer saves a fold (orbax checkpoint at
  step 7, config.json, adjacency.npy), then evaluated from that directory."""
  config = tiny.get_config()
  config.eval.batch_size = 64
  config.eval.num_pairs = 200
  model = build_model(config.model)
  adj = graphs.fold_correlation_graph(1)
  size = tiny_build['image_size']
  variables = jax.jit(lambda k: model.init({'params': k},
                                           jnp.zeros((1, size, size, 3)),
                                           jnp.asarray(adj)))(
      jax.random.key(0, impl='rbg'))   # 'rbg': ~3x faster to compile.
  workdir = str(tmp_path_factory.mktemp('eval_workdir'))
  fdir = rundir.fold_dir(workdir, 1)
  rundir.save_fold_files(fdir, config, adj)
  mngr = checkpoint.manager(fdir, keep=1)
  state_lib.save_checkpoint(mngr, state_lib.TrainState(step=jnp.asarray(7, jnp.int32),
                                   params=variables['params'],
                                   batch_stats=variables['batch_stats'],
                                   opt_state={'count': jnp.zeros((), jnp.int32)}))
  mngr.wait_until_finished()
  path = evaluate.evaluate_fold(config, workdir, 1, builder=synthetic_builder)
  with open(path) as f:
    report = json.load(f)
  state = fold_model.load_fold_model(config, fdir)
  for a, b in zip(jax.tree.leaves(state.variables), jax.tree.leaves(variables)):
    np.testing.assert_array_equal(a, b)
  return config, state, workdir, path, report


REQUIRED = ('fold', 'protocol', 'checkpoint_step', 'num_generated_images',
            'images_per_prediction', 'test_gms', 'summary', 'baseline_majority',
            'continuous_l1', 'per_node', 'per_hyperparameter', 'per_gm',
            'per_gm_note', 'coordinated_attack', 'definitions', 'regression',
            'plots', 'provenance', 'timing', 'seconds', 'predictions')


@pytest.mark.slow
def test_end_to_end_fold_evaluation_writes_json_and_plots(tiny_fold,
                                                          tiny_build):
  _, state, workdir, path, report = tiny_fold
  assert path == os.path.join(workdir, 'fold1', 'eval_fold1.json')
  for key in REQUIRED:
    assert key in report, key
  test_gms = folds.get_fold(1).test
  assert report['num_generated_images'] == len(test_gms) * tiny_build['images_per_gm']
  assert report['test_gms'] == sorted(test_gms)
  assert report['checkpoint_step'] == 7 and report['fold'] == 1
  for key in ('loss_f1', 'loss_accuracy', 'discrete_f1', 'discrete_accuracy',
              'continuous_l1'):
    assert 0 <= report['summary'][key] <= 10, key
    assert key in report['baseline_majority']['summary']
  assert len(report['per_node']) == 55 and len(report['per_gm']) == len(test_gms)
  assert len(report['per_hyperparameter']) == 25
  ca = report['coordinated_attack']
  assert ca['unseen']['num_pairs'] == 200 and 0 <= ca['unseen']['auc'] <= 1
  assert 'seen' not in ca     # no held-out images in a default fold.
  # Regression fitted on every generated training image reporting the column.
  train = folds.get_fold(1).train
  n_filters = sum(schema.get_gm(g).raw['filters'] != 999999 for g in train)
  assert report['regression']['train_images']['filters'] == (
      n_filters * tiny_build['images_per_gm'])
  assert os.path.exists(rundir.regression_path(os.path.dirname(path)))
  for rel in report['plots']:
    p = os.path.join(workdir, 'fold1', rel)
    with open(p, 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n', rel
  assert {os.path.basename(p) for p in report['plots']} == {
      'f1_per_hyperparameter.png', 'correlation_graph.png',
      'roc_coordinated_attack.png', 'learned_adjacency.png'}
  assert report['regression']['seen_outputs'] == 'computed'


@pytest.mark.slow
def test_the_report_says_where_it_came_from(tiny_fold, tiny_build):
  config, _, workdir, path, report = tiny_fold
  prov = report['provenance']
  assert prov['config'] == json.loads(json.dumps(config.to_dict()))
  data = prov['dataset']
  assert data['name'] == 'synthetic' and data['version'] == '1.0.0'
  assert data['config'] == 's32_n3_r24_seed0'
  assert data['build_options']['image_size'] == 32
  assert sum(data['examples_per_split'].values()) > 0
  assert data['skipped_files'] == 0
  assert prov['libraries']['jax'] == jax.__version__
  assert prov['devices'] == dict(platform='cpu', kind='cpu', count=8,
                                 process_count=1)
  commit = prov['code']['git_commit']
  assert commit is None or len(commit) == 40
  timing = report['timing']
  assert timing['train_split'] == 'computed' and timing['train_split_seconds'] > 0
  assert report['seconds'] == timing['total_seconds'] >= (
      timing['train_split_seconds'] + timing['test_split_seconds'])
  with np.load(os.path.join(os.path.dirname(path), report['predictions'])) as z:
    n = report['num_generated_images']
    assert z['probabilities'].shape == (n, 55) and z['p_generated'].shape == (n,)
    names = sorted({str(z['gm_names'][g]) for g in z['gm_index']})
    assert names == report['test_gms']
    assert list(z['continuous_columns']) == list(schema.CONTINUOUS_COLUMNS)
    head = regression.RegressionHead.load(
        rundir.regression_path(os.path.dirname(path)))
    np.testing.assert_allclose(z['regressed_raw'],
                               head.normaliser.denormalise(z['regressed']))


@pytest.mark.slow
def test_fit_for_fold_writes_the_same_regression(tiny_fold, synthetic_builder,
                                                 tmp_path):
  config, state, workdir, path, _ = tiny_fold
  fdir = str(tmp_path / 'fold1')
  os.makedirs(fdir)
  out = evaluate.fit_for_fold(config, fdir, builder=synthetic_builder,
                              model_state=state)
  assert out == rundir.regression_path(fdir)
  mine = regression.RegressionHead.load(out)
  theirs = regression.RegressionHead.load(
      rundir.regression_path(os.path.dirname(path)))
  assert mine.step == theirs.step == 7
  np.testing.assert_allclose(mine.weights, theirs.weights, rtol=1e-6)
  np.testing.assert_array_equal(mine.count, theirs.count)
  assert os.path.exists(rundir.seen_path(fdir))


@pytest.mark.slow
def test_eval_cli_all_folds_multi_image_reuses_the_regression(
    tiny_fold, synthetic_builder, monkeypatch, capsys):
  """eval.py --all_folds --num_images=3 on the same fold (model loading is
  replaced by the fixture's restored state, to skip a second restore)."""
  config, state, workdir, _, single = tiny_fold
  monkeypatch.setattr(evaluate, 'load_fold_model', lambda cfg, d, *_: state)
  config.eval.plots = False
  try:
    paths = run.evaluate(config, workdir, all_folds=True, num_images=3,
                         builder=synthetic_builder)
  finally:
    config.eval.plots = True
  assert [os.path.basename(p) for p in paths] == [
      'eval_fold1_images3.json', 'eval_all_folds_images3.json']
  with open(paths[0]) as f:
    report = json.load(f)
  assert report['regression']['refitted'] is False
  assert report['regression']['fitted_at_step'] == 7
  assert report['regression']['seen_outputs'] == 'cached'   # no second pass.
  assert report['coordinated_attack']['unseen'] == pytest.approx(
      single['coordinated_attack']['unseen'])
  assert report['images_per_prediction'] == 3
  assert report['num_predictions'] == len(single['test_gms'])
  assert report['num_images_used'] == single['num_generated_images']
  assert 'loss F1' in capsys.readouterr().out
  agg, _ = aggregate.aggregate(workdir)      # the single-image JSON.
  assert agg['folds'] == [1]
  assert agg['table']['loss_f1'] == pytest.approx(dict(
      mean=single['summary']['loss_f1'], std=0, n=1))
