"""Normalisation of the 9 continuous hyperparameters (regression targets, L1).

Methods (``config.eval.normalisation``):
  * ``'minmax'`` (default): ``(v - min) / (max - min)`` with min / max over the
    fold's TRAINING GMs (one value per GM, from the GM table, not per image),
    so nothing about the test GMs leaks in. Test GMs may fall outside [0, 1]
    (values are not clipped).
  * ``'minmax_log1p'``: the same on ``log1p(v)`` for ``params`` and
    ``filters`` (heavy-tailed: params spans 1e4 .. 1e9), plain for the rest.
  * ``'released'``: the authors' ``v / max`` with the fixed
    ``max = [717, 289, 185, 46, 235, 8365, 9, 16, 94008488]``; it predates the
    diffusion models, so several values exceed 1.
``filters = 999999`` ("not reported", the diffusion models) is masked: it never
enters min / max, the regression target or the L1 metric. A column whose
training min equals its max gets scale 1 (no division by zero).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from lgpn_jax.red140 import folds, schema
METHODS = ('minmax', 'minmax_log1p', 'released')
RELEASED_MAX = (717, 289, 185, 46, 235, 8365, 9, 16, 94008488)
LOG_COLUMNS = ('params', 'filters')
NUM = len(schema.CONTINUOUS_COLUMNS)


@dataclasses.dataclass(frozen=True)
class Normaliser:
  """``(f(v) - low) / (high - low)`` per column, f = log1p where ``log``."""
  method: str
  low: np.ndarray    # [9], in the transformed (log1p) space where log.
  high: np.ndarray   # [9]
  log: np.ndarray    # [9] bool

  def _scale(self) -> np.ndarray:
    d = self.high - self.low
    return np.where(d > 0, d, 1.0)

  def normalise(self, raw) -> np.ndarray:
    """Raw values [..., 9] -> normalised values (masked entries: garbage in,
    garbage out; always apply the mask)."""
    v = np.asarray(raw, np.float64)
    v = np.where(self.log, np.log1p(np.maximum(np.where(self.log, v, 0.0), 0.0)),
                 v)
    return (v - self.low) / self._scale()

  def denormalise(self, values) -> np.ndarray:
    """Normalised values [..., 9] -> raw scale."""
    v = np.asarray(values, np.float64) * self._scale() + self.low
    return np.where(self.log, np.expm1(np.where(self.log, v, 0.0)), v)

  def to_dict(self) -> dict:
    return dict(method=self.method, low=self.low.tolist(),
                high=self.high.tolist(), log=self.log.tolist(),
                columns=list(schema.CONTINUOUS_COLUMNS))

  @classmethod
  def from_dict(cls, d) -> 'Normaliser':
    return cls(str(d['method']), np.asarray(d['low'], np.float64),
               np.asarray(d['high'], np.float64), np.asarray(d['log'], bool))


def gm_table(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
  """(raw values [G, 9], mask [G, 9]) of the named GMs."""
  rows = [schema.continuous_values(schema.get_gm(n).raw) for n in names]
  return (np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]))


def from_gms(names: Sequence[str], method: str = 'minmax') -> Normaliser:
  """The normaliser fitted to the GMs ``names`` (the training GMs)."""
  return from_table(*gm_table(names), method)


def from_table(values, mask, method: str = 'minmax') -> Normaliser:
  """The normaliser fitted to raw values [G, 9] where ``mask`` [G, 9] is 1
  (one row per GM; e.g. the training GMs' rows of a permuted table)."""
  if method not in METHODS:
    raise ValueError(f'normalisation must be one of {METHODS}, got {method!r}')
  if method == 'released':
    return Normaliser(method, np.zeros(NUM), np.asarray(RELEASED_MAX, np.float64),
                      np.zeros(NUM, bool))
  log = np.array([method == 'minmax_log1p' and c in LOG_COLUMNS
                  for c in schema.CONTINUOUS_COLUMNS])
  values = np.asarray(values, np.float64)
  mask = np.asarray(mask)
  values = np.where(log, np.log1p(np.maximum(values, 0.0)), values)
  if not mask.any(0).all():
    missing = [c for c, m in zip(schema.CONTINUOUS_COLUMNS, mask.any(0)) if not m]
    raise ValueError(f'no training GM reports {missing}')
  low = np.where(mask > 0, values, np.inf).min(0)
  high = np.where(mask > 0, values, -np.inf).max(0)
  return Normaliser(method, low, high, log)


def for_fold(fold: int, protocol: str = 'paper',
             method: str = 'minmax') -> Normaliser:
  """The normaliser of a fold, from its training GMs only."""
  return from_gms(folds.get_fold(fold, protocol).train, method)
