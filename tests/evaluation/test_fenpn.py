"""FEN-PN's continuous metrics by hand and the t test against closed forms."""

import math

import numpy as np
import pytest

from lgpn_jax.evaluation.parsing import fenpn
from lgpn_jax.red140 import schema

H = len(schema.CONTINUOUS_COLUMNS)


def test_fit_metrics_by_hand():
  x = np.tile(np.array([0.0, 0.5, 1.0, 0.5])[:, None], (1, H))
  y = 0.8 * x + 0.1                       # slope 0.8, perfectly correlated.
  mask = np.ones_like(x)
  mask[:, 1] = 0                          # column 1 never reported.
  x[:, 2] = 0.3                           # column 2 constant truth.
  out = fenpn.continuous_fit(y, x, mask)
  assert out['slope']['mean'] == pytest.approx(0.8)
  assert out['correlation']['mean'] == pytest.approx(1.0)
  # R^2 = 1 - sum (0.1 - 0.2 x)^2 / sum (x - 0.5)^2 = 1 - 0.02 / 0.5.
  assert out['determination']['mean'] == pytest.approx(1 - 0.02 / 0.5)
  cols = schema.CONTINUOUS_COLUMNS
  assert math.isnan(out['slope']['per_hyperparameter'][cols[1]])
  assert math.isnan(out['correlation']['per_hyperparameter'][cols[2]])


def test_fit_of_a_noisy_predictor_matches_numpy():
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(200, H))
  y = x + rng.normal(0, 0.2, x.shape)
  out = fenpn.continuous_fit(y, x, np.ones_like(x))
  want_r = np.mean([np.corrcoef(x[:, j], y[:, j])[0, 1] for j in range(H)])
  want_slope = np.mean([np.polyfit(x[:, j], y[:, j], 1)[0] for j in range(H)])
  assert out['correlation']['mean'] == pytest.approx(want_r)
  assert out['slope']['mean'] == pytest.approx(want_slope)


@pytest.mark.parametrize('t', [-3.0, -0.4, 0.0, 0.7, 2.5, 12.0])
def test_t_survival_matches_closed_forms(t):
  assert fenpn.t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi)
  assert fenpn.t_sf(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)))


def test_t_survival_matches_scipy_at_other_degrees():
  stats = pytest.importorskip('scipy.stats')
  for df in (3, 7.5, 14, 60):
    for t in (0.3, 1.7, 4.0):
      assert fenpn.t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9)


def test_paired_p_value_and_report_p_value():
  model = [0.10, 0.12, 0.08, 0.11]
  base = [0.20, 0.25, 0.14, 0.30]
  d = np.subtract(base, model)
  t = d.mean() / (d.std(ddof=1) / 2)
  assert fenpn.paired_t_p_value(model, base) == pytest.approx(fenpn.t_sf(t, 3))
  assert fenpn.paired_t_p_value(base, model) == pytest.approx(1 - fenpn.t_sf(t, 3))
  assert math.isnan(fenpn.paired_t_p_value([0.1], [0.2]))
  rep = dict(per_gm=[dict(gm=g, continuous_l1=v) for g, v in
                     zip('ABCDE', model + [None])])
  bl = dict(per_gm=[dict(gm=g, continuous_l1=v) for g, v in zip('DCBAZ',
                                                                base[::-1] + [1])])
  assert fenpn.p_value(rep, bl) == pytest.approx(fenpn.t_sf(t, 3))
