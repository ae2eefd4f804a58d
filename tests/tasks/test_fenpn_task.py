"""FEN-PN through the project's trainer and model-parsing evaluator on the
tiny synthetic build (8 CPU devices): config selection, the fold's clusters,
and a few training steps ending in an evaluation JSON with finite metrics."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import lgpn_jax
from configs import fenpn, fenpn_tiny
from lgpn_jax import run, tasks
from lgpn_jax.losses.terms import combine
from lgpn_jax.red140 import continuous, folds, schema, selection
from lgpn_jax.tasks import fenpn as fenpn_task
from lgpn_jax.train import metric_writer


def test_config_selects_fenpn_and_checks_its_task():
  task = tasks.get(fenpn.get_config())
  assert isinstance(task, fenpn_task.FENPNParsing)
  assert 'gm_index' in task.batch_keys
  assert task.loss_weights == dict(magnitude=0.1, spectrum=0.05,
                                   repetitive=0.001, symmetry=1.0, node=10.0,
                                   cluster=10.0, deviation=10.0)
  c = fenpn_tiny.get_config()
  c.task = 'detection'
  with pytest.raises(ValueError, match='model_parsing'):
    tasks.get(c).check()
  c = fenpn_tiny.get_config()
  c.loss.low_freq_radius = 16          # the window would cover 32x32 images.
  with pytest.raises(ValueError, match='low_freq_radius'):
    tasks.get(c).check()


def test_node_layout_matches_the_schema():
  hyper = fenpn_task.node_hyperparameter()
  assert fenpn_task.num_loss_nodes() == 10
  for node in schema.nodes():
    if node.family == 'continuous':
      col = schema.CONTINUOUS_COLUMNS[hyper[node.index]]
      assert node.source_column == col
    else:
      assert hyper[node.index] == -1


def test_fold_clusters_cover_the_training_gms_and_centre_their_members():
  c = fenpn.get_config()
  clusters = tasks.get(c).clusters
  train = folds.get_fold(1, 'paper').train
  index = [schema.gm_index()[g] for g in train]
  assert clusters.num_clusters == 12
  assert np.all(clusters.of_gm[index] >= 0)
  others = np.setdiff1d(np.arange(len(schema.gms())), index)
  assert np.all(clusters.of_gm[others] == -1)
  assert set(clusters.of_gm[index]) == set(range(12))   # no empty cluster.
  norm = continuous.for_fold(1, 'paper', c.eval.normalisation)
  raw, mask = continuous.gm_table(train)
  values = norm.normalise(raw)
  # Target + centre gives back each reported normalised value.
  rebuilt = clusters.deviation[index] + clusters.centres[clusters.of_gm[index]]
  np.testing.assert_allclose(np.where(mask > 0, rebuilt, 0),
                             np.where(mask > 0, values, 0), atol=1e-5)
  np.testing.assert_array_equal(clusters.mask[index], mask)


def test_clusters_follow_the_selection():
  """Under RED116 the clusters are made of the fold's RED116 training GMs
  only, normalised over all 116 as the evaluator's L1 is."""
  c = fenpn.get_config()
  c.selection.gms = 'red116'
  c.selection.normalise_over = 'all'
  sel = selection.from_config(c)
  clusters = tasks.get(c).clusters
  index = [schema.gm_index()[g] for g in sel.train]
  assert len(sel.train) < len(folds.get_fold(1, 'paper').train)
  assert np.all(clusters.of_gm[index] >= 0)
  assert np.sum(clusters.of_gm >= 0) == len(sel.train)
  raw, mask = continuous.gm_table(sel.train)
  values = sel.normaliser(c.eval.normalisation).normalise(raw)
  rebuilt = clusters.deviation[index] + clusters.centres[clusters.of_gm[index]]
  np.testing.assert_allclose(np.where(mask > 0, rebuilt, 0),
                             np.where(mask > 0, values, 0), atol=1e-5)


def test_every_parameter_gets_a_gradient_from_the_objective():
  c = fenpn_tiny.get_config()
  task = tasks.get(c)
  model = task.build_model(c.model)
  gms = folds.get_fold(1, 'paper').train[:4]
  gm_index = np.array([schema.gm_index()[g] for g in gms])
  x = jax.random.uniform(jax.random.key(0), (4, 32, 32, 3), minval=-1, maxval=1)
  batch = dict(image=x, label=jnp.asarray(schema.label_table()[gm_index]),
               is_generated=jnp.ones(4, jnp.int32),
               gm_index=jnp.asarray(gm_index))
  v = jax.jit(lambda x: model.init(jax.random.key(1), x, None))(x)

  def loss(params):
    out, _ = model.apply({'params': params, 'batch_stats': v['batch_stats']},
                         x, None, train=True, mutable=['batch_stats'],
                         rngs={'dropout': jax.random.key(2)})
    terms = task.loss_terms(out, batch)
    sums = {k: jnp.sum(a) for k, (a, _) in terms.items()}
    counts = {k: jnp.sum(w) for k, (_, w) in terms.items()}
    assert set(terms) == set(task.loss_weights)
    return combine(sums, counts, task.loss_weights)[0]

  grads = jax.jit(jax.grad(loss))(v['params'])
  flat = jax.tree_util.tree_leaves_with_path(grads)
  assert len(flat) > 30
  for path, g in flat:
    assert float(jnp.max(jnp.abs(g))) > 0, jax.tree_util.keystr(path)


@pytest.mark.slow
def test_fenpn_trains_and_writes_the_evaluation_json(on_tiny_build, tmp_path):
  c = on_tiny_build(fenpn_tiny.get_config())
  t = c.train
  t.num_steps = 3
  t.checkpoint_every = 3
  t.log_every = 1
  t.eval_batch_size = 64
  c.eval.plots = False
  result = run.train_and_evaluate(c, str(tmp_path))
  rows = metric_writer.read_metrics(str(tmp_path / 'fold1'))
  assert [r['step'] for r in rows] == [0, 1, 2, 3]
  assert rows[0]['num_params'] > 0
  assert rows[0]['forward_matmul_flops_per_image'] > 0
  for term in ('magnitude', 'spectrum', 'repetitive', 'symmetry', 'node',
               'cluster', 'deviation'):
    assert all(math.isfinite(r[f'loss_{term}']) for r in rows[1:]), term
  assert 0 <= rows[-1]['cluster_accuracy'] <= 1
  with open(result.eval_path) as f:
    rep = json.load(f)
  assert rep['checkpoint_step'] == 3 and rep['num_generated_images'] > 0
  for name, value in rep['summary'].items():
    assert math.isfinite(value), name
  # eval.py's path: the same fold evaluated again from its checkpoint.
  assert run.evaluate(c, str(tmp_path)) == [result.eval_path]
  with open(result.eval_path) as f:
    assert json.load(f)['summary'] == rep['summary']
  # predict.py's path: the fold's own task builds FEN-PN, which has no
  # real/generated head, so every image gets its hyperparameters.
  image = tmp_path / 'a.png'
  Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
  report = lgpn_jax.predict(str(tmp_path), str(image))
  assert report['checkpoint_step'] == 3 and report['regression']
  [entry] = report['images']
  assert entry['p_generated'] is None and entry['looks'] == 'unknown'
  assert len(entry['hyperparameters']) > 0
