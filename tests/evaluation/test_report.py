"""The evaluation report from fixed predictions (no model, no data set): the
expected metrics are known exactly."""

import json
import math

import numpy as np
import pytest

from configs import default
from lgpn_jax import files, rundir
from lgpn_jax.evaluation import inference
from lgpn_jax.evaluation.parsing import aggregate, report as report_lib
from lgpn_jax.red140 import continuous, folds, schema, selection

EV = dict(default.get_config().eval.to_dict(), batch_size=8)


def fold1_test_rows(per_gm=(3, 2)):
  """Labels/targets of the first two fold-1 test GMs, per_gm images each."""
  names = folds.get_fold(1).test[:len(per_gm)]
  gms = np.concatenate([[schema.gm_index()[n]] * k for n, k in zip(names, per_gm)])
  labels = schema.label_table()[gms].astype(np.float64)
  raw = [schema.continuous_values(schema.gms()[g].raw) for g in gms]
  return names, gms, labels, np.stack([r[0] for r in raw]), np.stack([r[1] for r in raw])


def perfect_outputs(norm, l1_offset=0.1):
  names, gms, labels, values, mask = fold1_test_rows()
  return names, dict(probabilities=labels.copy(), label=labels,
                     gm_index=gms.astype(np.int32), continuous=values,
                     continuous_mask=mask,
                     regressed=norm.normalise(values) + l1_offset)


def heldout_outputs(num=6, per_gm=4):
  """Held-out training images whose probabilities are their GM's label (+
  noise), regressed values a constant per GM; buckets alternate between the
  validation (< 10) and seen (>= 10) halves of a 20 % holdout."""
  rng = np.random.default_rng(0)
  train = [schema.gm_index()[n] for n in folds.get_fold(1).train[:num]]
  gms = np.repeat(train, per_gm)
  p = schema.label_table()[gms] * 0.8 + 0.1 + rng.uniform(-0.05, 0.05, (len(gms), 55))
  return dict(probabilities=p, gm_index=gms, regressed=np.tile(
      gms[:, None] / 140.0, (1, 9)), bucket=np.arange(len(gms)) % 2 * 10 + 5)


def test_report_values_by_hand():
  norm = continuous.for_fold(1, 'paper', 'minmax')
  names, out = perfect_outputs(norm)
  labels = out['label']
  # A loss node whose truth is constant over the 5 images; flip image 0.
  j = next(i for i in range(10) if len(set(labels[:, i])) == 1)
  const = labels[0, j]
  out['probabilities'][0, j] = 1 - const
  report, plot_data = report_lib.build_report(
      out, heldout_outputs(), fold=1, protocol='paper', norm=norm, ev=EV,
      selection=selection.get(1, holdout_percent=20))
  s = report['summary']
  # Flipped node: the truth class has F1 2*4/(2*4+1) = 8/9, the other 0 -> 4/9.
  assert report['per_node'][j]['f1'] == pytest.approx(4 / 9)
  assert report['per_node'][j]['accuracy'] == pytest.approx(4 / 5)
  assert s['loss_f1'] == pytest.approx((9 + 4 / 9) / 10)
  assert s['loss_accuracy'] == pytest.approx((9 + 4 / 5) / 10)
  assert s['discrete_f1'] == 1 and s['discrete_accuracy'] == 1
  assert s['continuous_bin_f1'] == 1
  # L1: every reported value off by exactly 0.1.
  assert s['continuous_l1'] == pytest.approx(0.1)
  per = report['continuous_l1']['per_hyperparameter']
  for col in schema.CONTINUOUS_COLUMNS:
    if report['continuous_l1']['num_reported'][col]:
      assert per[col] == pytest.approx(0.1)
  # Regressed = truth + 0.1: slope 1, correlation 1 where the truth varies.
  assert report['continuous_fit']['slope']['mean'] == pytest.approx(1.0)
  assert report['continuous_fit']['correlation']['mean'] == pytest.approx(1.0)
  assert report['num_generated_images'] == 5 and report['num_predictions'] == 5
  assert report['test_gms'] == sorted(names)
  # Per-GM: the flip is in the first GM's 3 images.
  gm0 = report['per_gm'][0]
  assert gm0['gm'] == names[0] and gm0['num_images'] == 3
  assert gm0['loss_accuracy'] == pytest.approx((9 + 2 / 3) / 10)
  assert gm0['exact_match_rate'] == pytest.approx(2 / 3)
  assert report['per_gm'][1]['exact_match_rate'] == 1
  # Held-out images of training GMs are separable by their labels: perfect
  # attack metrics, at the threshold of the validation half.
  ca = report['coordinated_attack']
  assert ca['seen']['auc'] == pytest.approx(1.0)
  assert ca['seen']['accuracy'] == pytest.approx(1.0)
  assert ca['seen']['threshold'] == ca['validation']['threshold']
  assert ca['seen']['num_pairs'] == EV['num_pairs']
  assert set(plot_data['curves']) == {'seen', 'unseen', 'mixed'}
  assert report['selection']['holdout_percent'] == 20


def test_majority_baseline_by_hand():
  norm = continuous.for_fold(1, 'paper', 'minmax')
  _, out = perfect_outputs(norm)
  report, _ = report_lib.build_report(out, None, fold=1, protocol='paper',
                                    norm=norm, ev=EV)
  train = folds.get_fold(1).train
  table = schema.label_table()[[schema.gm_index()[g] for g in train]]
  majority = (table.mean(0) > 0.5).astype(float)
  assert report['baseline_majority']['node_value'] == majority.astype(int).tolist()
  acc = (majority[None] == out['label']).mean(0)
  b = report['baseline_majority']['summary']
  assert b['loss_accuracy'] == pytest.approx(acc[:10].mean())
  assert b['discrete_accuracy'] == pytest.approx(acc[37:].mean())
  # L1 of the training median on the reported test values.
  values, mask = continuous.gm_table(train)
  v = norm.normalise(values)
  targets = norm.normalise(out['continuous'])
  errs = []
  for h in range(9):
    med = np.median(v[mask[:, h] > 0, h])
    m = out['continuous_mask'][:, h] > 0
    if m.any():
      errs.append(np.abs(targets[m, h] - med).mean())
  assert b['continuous_l1'] == pytest.approx(np.mean(errs))
  assert 'seen' not in report['coordinated_attack']


def test_num_images_groups_consecutive_images_of_a_gm():
  groups = report_lib.group_images(np.array([4, 4, 4, 9, 9, 4]), 2)
  assert [g.tolist() for g in groups] == [[0, 1], [2, 5], [3, 4]]
  groups = report_lib.group_images(np.array([4, 4, 4, 9]), 3)
  assert [g.tolist() for g in groups] == [[0, 1, 2]]
  norm = continuous.for_fold(1, 'paper', 'minmax')
  _, out = perfect_outputs(norm)
  out['probabilities'][0, 0] = 0.9 if out['label'][0, 0] == 0 else 0.1
  # 3 + 2 images, groups of 2: GM0 -> [0, 1] (image 2 dropped), GM1 -> [3, 4].
  report, _ = report_lib.build_report(out, None, fold=1, protocol='paper',
                                    norm=norm, ev=dict(EV, num_images=2))
  assert report['num_predictions'] == 2 and report['num_images_used'] == 4
  assert report['images_per_prediction'] == 2
  # averaged: (wrong 0.9|0.1 + right 0|1) / 2 stays on the right side of 0.5.
  assert report['summary']['loss_accuracy'] == 1


def test_label_twins_are_reported():
  gm = schema.get_gm('PIXELCNN')
  train = folds.get_fold(gm.test_set, 'released').train
  twins = report_lib.label_twins('PIXELCNN', train)
  assert twins
  table = schema.label_table()
  for t in twins:
    np.testing.assert_array_equal(table[schema.gm_index()[t]],
                                  table[schema.gm_index()['PIXELCNN']])


def test_json_is_strict_and_nan_becomes_null(tmp_path):
  path = files.write_json({'a': math.nan, 'b': np.float32(0.5),
                              'c': np.arange(2)}, str(tmp_path / 'x.json'))
  with open(path) as f:
    assert json.load(f) == {'a': None, 'b': 0.5, 'c': [0, 1]}


def test_aggregate_mean_std_over_folds(tmp_path, fake_report):
  reports = {1: fake_report(0.8, 0.10), 2: fake_report(0.9, 0.14),
             4: fake_report(0.7, None)}
  for k, r in reports.items():
    files.write_json(r, rundir.eval_path(str(tmp_path), k))
  agg, path = aggregate.aggregate(str(tmp_path))
  assert agg['folds'] == [1, 2, 4]
  assert agg['table']['loss_f1'] == pytest.approx(
      dict(mean=0.8, std=np.std([0.8, 0.9, 0.7]), n=3))
  assert agg['table']['continuous_l1'] == pytest.approx(
      dict(mean=0.12, std=0.02, n=2))
  assert agg['coordinated_attack']['unseen']['auc']['mean'] == pytest.approx(0.9)
  assert 'loss F1' in agg['table_text'] and '3 of 4 folds' in agg['table_text']
  assert '80.0 +- 8.2' in agg['table_text']
  with open(path) as f:
    assert json.load(f)['folds'] == [1, 2, 4]
  stem = path[:-len('.json')]
  with open(stem + '.md') as f:
    assert '3 of 4 folds' in f.read()
  with open(stem + '.csv') as f:
    assert f.readline().startswith('row,loss F1 (%)')
  with open(stem + '.tex') as f:
    assert r'$\pm$' in f.read()
  with pytest.raises(FileNotFoundError, match='evaluate the folds'):
    aggregate.aggregate(str(tmp_path / 'empty'))


def test_aggregate_per_hyperparameter_l1_over_folds(fake_report):
  reports = {k: dict(fake_report(0.8, 0.1), continuous_l1=dict(
      per_hyperparameter=dict(layers=v, params=None))) for k, v in
      ((1, 0.1), (3, 0.3))}
  agg = aggregate.aggregate_reports(reports)
  assert agg['per_hyperparameter_l1']['layers'] == pytest.approx(
      dict(mean=0.2, std=0.1, n=2))
  assert agg['per_hyperparameter_l1']['params']['n'] == 0
  assert agg['per_hyperparameter_l1']['filters']['n'] == 0


def test_collect_concatenates_rows_and_graph_levels():
  chunks = [dict(probabilities=np.zeros((3, 55)), masks=(np.ones((2, 2, 2)),),
                 graph_gm_index=np.array([4, 7])),
            dict(probabilities=np.ones((2, 55)), masks=(np.zeros((0, 2, 2)),)),
            dict(probabilities=np.ones((1, 55)), masks=(np.zeros((1, 2, 2)),),
                 graph_gm_index=np.array([9]))]
  out = inference.collect(chunks)
  assert out['probabilities'].shape == (6, 55)
  assert out['masks'][0].shape == (3, 2, 2)
  assert out['masks'][0][:2].sum() == 8 and out['masks'][0][2].sum() == 0
  np.testing.assert_array_equal(out['graph_gm_index'], [4, 7, 9])


def test_pooled_graph_differences_by_hand():
  # Two GMs at one 2-node level: GM a always has edge (0, 1); GM b has it in
  # half of its images. between = mean |P_a - P_b| = (0 + 0.5 + 0 + 0) / 4.
  p_a = np.array([[0, 1], [0, 0]], float)
  p_b = np.array([[0, 0.5], [0, 0]], float)
  out = report_lib.pooled_graph_differences(
      dict(gm_index=np.array([3, 7]), levels=[np.stack([p_a, p_b])]))
  (level,) = out['levels']
  assert level['nodes'] == 2 and out['num_gms'] == 2
  assert level['between_gm'] == pytest.approx(0.125)
  # within: 2 P (1 - P): only b's 0.5 entry is non-zero: 0.5 / 8 entries.
  assert level['within_gm'] == pytest.approx(0.5 / 8)
  assert level['edge_density'] == pytest.approx(1.5 / 8)
  assert 'between_gm' in out['definition']
  assert report_lib.pooled_graph_differences(dict(gm_index=[], levels=[])) is None
