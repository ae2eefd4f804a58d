"""FEN-PN's continuous-value metrics beside L1 (RED116 protocol, rebuttal R.1).

FEN-PN (Asnani et al., PAMI 2023) reports, for the continuous
hyperparameters, L1 error, P-value, correlation coefficient, coefficient of
determination and slope. Its text defining the last four was not available to
us; the definitions below are our reading, stated in every evaluation JSON:

  * per continuous hyperparameter, over the scored test images where it is
    reported, with x the true and y the predicted normalised value:
      correlation: Pearson's r of (x, y);
      determination: R^2 = 1 - sum (y - x)^2 / sum (x - mean x)^2 (the
        prediction taken as is, not refitted; can be negative);
      slope: the least-squares slope of y on x (1 for an unbiased predictor);
    each undefined (NaN) where x or y is constant; the fold's value is the
    mean over the hyperparameters where it is defined;
  * P-value: FEN-PN compares its model with a "random ground truth" baseline
    (our Random-GT, configs/random_gt.py) for significance. Per fold: a
    one-sided paired t-test over the fold's test GMs that the model's per-GM
    continuous L1 is lower than the Random-GT model's on the same GMs
    (``p_value``); then mean +- std over folds like every other number.
numpy only (the t distribution through a continued-fraction incomplete beta).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lgpn_jax.red140 import schema

DEFINITION = (
    'Per continuous hyperparameter over the scored images where it is '
    'reported (x true, y predicted normalised value): correlation = Pearson '
    'r; determination = 1 - sum (y-x)^2 / sum (x - mean x)^2 (no refit); '
    'slope = least-squares slope of y on x; NaN where x or y is constant; '
    'the value is the mean over the hyperparameters where it is defined. '
    'P-value (tables only): one-sided paired t-test over the test GMs that '
    'the per-GM continuous L1 is lower than the Random-GT model\'s.')


def continuous_fit(predicted, target, mask) -> dict:
  """{'correlation', 'determination', 'slope'}: each {'mean', per column}."""
  y = np.asarray(predicted, np.float64)
  x = np.asarray(target, np.float64)
  m = np.asarray(mask) > 0
  per = {k: {} for k in ('correlation', 'determination', 'slope')}
  for j, col in enumerate(schema.CONTINUOUS_COLUMNS):
    xs, ys = x[m[:, j], j], y[m[:, j], j]
    r = det = slope = math.nan
    if len(xs) > 1:
      dx, dy = xs - xs.mean(), ys - ys.mean()
      sxx, syy, sxy = dx @ dx, dy @ dy, dx @ dy
      if sxx > 0:
        slope = sxy / sxx
        det = 1.0 - float(np.sum((ys - xs) ** 2)) / sxx
        if syy > 0:
          r = sxy / math.sqrt(sxx * syy)
    per['correlation'][col], per['determination'][col] = r, det
    per['slope'][col] = slope
  out = {}
  for k, v in per.items():
    vals = [u for u in v.values() if math.isfinite(u)]
    out[k] = dict(mean=float(np.mean(vals)) if vals else math.nan,
                  per_hyperparameter=v)
  return out


# ------------------------------------------------------------- the t test
def _betacf(a: float, b: float, x: float) -> float:
  """Continued fraction of the incomplete beta (modified Lentz)."""
  tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
  c, d = 1.0, 1.0 - qab * x / qap
  d = 1.0 / (d if abs(d) > tiny else tiny)
  h = d
  for m in range(1, 500):
    m2 = 2 * m
    for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
      d = 1.0 + num * d
      d = 1.0 / (d if abs(d) > tiny else tiny)
      c = 1.0 + num / c
      c = c if abs(c) > tiny else tiny
      h *= d * c
    if abs(d * c - 1.0) < 1e-15:
      break
  return h


def incomplete_beta(a: float, b: float, x: float) -> float:
  """The regularised incomplete beta function I_x(a, b)."""
  if x <= 0.0:
    return 0.0
  if x >= 1.0:
    return 1.0
  front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                   + a * math.log(x) + b * math.log1p(-x))
  if x < (a + 1.0) / (a + b + 2.0):
    return front * _betacf(a, b, x) / a
  return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
  """P(T > t) for Student's t with ``df`` degrees of freedom."""
  tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
  return tail if t >= 0 else 1.0 - tail


def paired_t_p_value(better, worse) -> float:
  """One-sided paired t-test p-value that ``better`` < ``worse`` on average
  (NaN with fewer than 2 pairs; 0 or 1 when every difference is equal)."""
  d = np.asarray(worse, np.float64) - np.asarray(better, np.float64)
  d = d[np.isfinite(d)]
  if len(d) < 2:
    return math.nan
  sd = d.std(ddof=1)
  if sd == 0:
    return 0.0 if d.mean() > 0 else 1.0
  return t_sf(float(d.mean() / (sd / math.sqrt(len(d)))), len(d) - 1)


def p_value(report: Mapping, baseline: Mapping) -> float:
  """The P-value of a fold's evaluation JSON against the Random-GT model's
  JSON of the same fold (per-GM continuous L1, GMs in both)."""
  mine = {r['gm']: r['continuous_l1'] for r in report['per_gm']}
  base = {r['gm']: r['continuous_l1'] for r in baseline['per_gm']}
  gms = sorted(set(mine) & set(base))
  ok = [g for g in gms if mine[g] is not None and base[g] is not None]
  return paired_t_p_value([mine[g] for g in ok], [base[g] for g in ok])
