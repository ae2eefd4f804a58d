"""Continuous normalisation and the closed-form regression stage (numpy only)."""

import numpy as np
import pytest

from lgpn_jax.red140 import continuous, folds, schema
from lgpn_jax.evaluation.parsing import regression
def test_minmax_from_training_gms_masks_not_reported():
  norm = continuous.for_fold(1, 'paper', 'minmax')
  train = folds.get_fold(1).train
  values, mask = continuous.gm_table(train)
  j = schema.CONTINUOUS_COLUMNS.index('filters')
  assert (values[:, j] == 999999).any()           # the diffusion models.
  assert norm.high[j] == values[mask[:, j] > 0, j].max() < 999999
  assert norm.low[j] == values[mask[:, j] > 0, j].min()
  v = norm.normalise(values)
  ok = mask > 0
  assert v[ok].min() == pytest.approx(0) and v[ok].max() == pytest.approx(1)
  np.testing.assert_allclose(norm.denormalise(v)[ok], values[ok])


def test_log1p_and_released_options():
  raw = np.array([[100, 50, 10, 5, 20, 1000, 3, 4, 1e6]], float)
  log = continuous.for_fold(2, 'paper', 'minmax_log1p')
  cols = list(schema.CONTINUOUS_COLUMNS)
  assert [c for c, l in zip(cols, log.log) if l] == ['filters', 'params']
  j = cols.index('params')
  expect = (np.log1p(1e6) - log.low[j]) / (log.high[j] - log.low[j])
  assert log.normalise(raw)[0, j] == pytest.approx(expect)
  np.testing.assert_allclose(log.denormalise(log.normalise(raw)), raw)
  rel = continuous.for_fold(2, 'paper', 'released')
  np.testing.assert_allclose(rel.normalise(raw)[0],
                             raw[0] / np.array(continuous.RELEASED_MAX))
  with pytest.raises(ValueError, match='normalisation'):
    continuous.for_fold(1, 'paper', 'zscore')


def test_constant_column_gets_scale_one():
  norm = continuous.Normaliser('minmax', np.zeros(9), np.zeros(9),
                               np.zeros(9, bool))
  np.testing.assert_allclose(norm.normalise(np.full((1, 9), 2.0)), 2.0)


def test_hyperparameter_features_takes_each_columns_three_bins():
  idx = regression.continuous_node_indices()
  assert idx[0].tolist() == [10, 11, 12] and idx[-1].tolist() == [34, 35, 36]
  h = np.arange(2 * 55 * 2, dtype=float).reshape(2, 55, 2)
  x = regression.hyperparameter_features(h)
  assert x.shape == (2, 9, 6)
  np.testing.assert_array_equal(x[1, 3], h[1, [19, 20, 21]].reshape(-1))
  np.testing.assert_array_equal(regression.hyperparameter_features(h[:, 10:37]), x)


def test_ridge_recovers_a_planted_linear_map():
  rng = np.random.default_rng(0)
  n, f = 400, 6
  x = rng.normal(size=(n, 9, f))
  w = rng.normal(size=(9, f))
  b = rng.normal(size=9)
  y = np.einsum('nhf,hf->nh', x, w) + b
  mask = np.ones((n, 9))
  mask[::3, 5] = 0                 # "not reported": garbage targets there.
  y_seen = np.where(mask > 0, y, 1e9)
  acc = regression.RidgeAccumulator.zeros(f)
  for s in range(0, n, 64):        # streamed in batches, last one partial.
    acc.update(x[s:s + 64], y_seen[s:s + 64], mask[s:s + 64])
  head = acc.solve(l2=0.0)
  np.testing.assert_allclose(head.weights, w, atol=1e-8)
  np.testing.assert_allclose(head.bias, b, atol=1e-8)
  np.testing.assert_allclose(head.count, mask.sum(0))
  np.testing.assert_allclose(head.train_mse, 0, atol=1e-12)
  np.testing.assert_allclose(head.predict_from(x), y, atol=1e-8)
  # The penalty shrinks the weights, never the bias.
  shrunk = acc.solve(l2=10.0)
  assert np.all(np.linalg.norm(shrunk.weights, axis=1)
                < np.linalg.norm(w, axis=1))


def test_ridge_matches_direct_solution_and_round_trips(tmp_path):
  rng = np.random.default_rng(1)
  x = rng.normal(size=(50, 9, 3))
  y = rng.normal(size=(50, 9))
  acc = regression.RidgeAccumulator.zeros(3)
  acc.update(x, y, np.ones((50, 9)))
  head = acc.solve(l2=0.1)
  h = 4
  xc = x[:, h] - x[:, h].mean(0)
  w = np.linalg.solve(xc.T @ xc + 0.1 * 50 * np.eye(3), xc.T @ (y[:, h] - y[:, h].mean()))
  np.testing.assert_allclose(head.weights[h], w, atol=1e-10)
  np.testing.assert_allclose(head.bias[h], y[:, h].mean() - x[:, h].mean(0) @ w,
                             atol=1e-10)
  head.normaliser = continuous.for_fold(3, 'paper', 'minmax_log1p')
  path = head.save(str(tmp_path / 'regression.npz'))
  back = regression.RegressionHead.load(path)
  np.testing.assert_array_equal(back.weights, head.weights)
  assert back.normaliser.to_dict() == head.normaliser.to_dict()
  feats = rng.normal(size=(2, 27, 1))
  np.testing.assert_allclose(back.predict_raw(feats),
                             head.normaliser.denormalise(head.predict(feats)))


def test_no_example_gives_zero_head_and_clear_load_error(tmp_path):
  acc = regression.RidgeAccumulator.zeros(2)
  mask = np.ones((5, 9))
  mask[:, 2] = 0
  acc.update(np.ones((5, 9, 2)), np.ones((5, 9)), mask)
  head = acc.solve(1e-3)
  assert head.count[2] == 0 and np.all(head.weights[2] == 0)
  with pytest.raises(FileNotFoundError, match='fit_for_fold'):
    regression.RegressionHead.load(str(tmp_path / 'missing.npz'))
