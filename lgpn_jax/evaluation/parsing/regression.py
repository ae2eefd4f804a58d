"""The continuous regression stage: one ridge regression per hyperparameter.

After training, each of the 9 continuous hyperparameters is regressed from the
concatenation of its 3 (frozen) bin-node features, ``x = [h_bin0, h_bin1,
h_bin2]`` (3 * D values, ``node_features`` after the graph head), to its
normalised value (``lgpn_jax.continuous``):  ``y_hat = x . w + b``.

The fit is closed-form ridge regression on the fold's training images
(generated only; images where the hyperparameter is not reported are left
out), minimising  ``mean_i (y_i - x_i . w - b)^2 + l2 * |w|^2``  (the bias is
not penalised; ``l2`` is per example, so its strength does not depend on the
number of images). Only sufficient statistics (X^T X, X^T y, sums) are kept,
so the whole training split streams through in one pass.

``evaluate.fit_for_fold(config, fold_dir)`` runs a fold's checkpoint over its
training split and saves the fitted head as ``<fold_dir>/regression.npz``.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from lgpn_jax import files
from lgpn_jax.red140 import continuous, schema
NUM = len(schema.CONTINUOUS_COLUMNS)


def continuous_node_indices() -> np.ndarray:
  """[9, 3] node indices of each continuous hyperparameter's bins."""
  out = []
  for col in schema.CONTINUOUS_COLUMNS:
    idx = [n.index for n in schema.nodes()
           if n.family == 'continuous' and n.source_column == col]
    if len(idx) != 3:
      raise ValueError(f'{col} has {len(idx)} bin nodes, expected 3')
    out.append(idx)
  return np.array(out, np.int32)


def hyperparameter_features(node_features) -> np.ndarray:
  """[N, 55, D] or [N, 27, D] (continuous nodes only, in node order) ->
  [N, 9, 3D], each hyperparameter's bin features concatenated."""
  h = np.asarray(node_features)
  idx = continuous_node_indices()
  if h.shape[1] == schema.NUM_NODES:
    h = h[:, idx.reshape(-1)]
  elif h.shape[1] == idx.size:
    # continuous_node_indices are consecutive and start at the first one.
    h = h[:, (idx - idx.min()).reshape(-1)]
  else:
    raise ValueError(f'node_features must have 55 or 27 nodes, got {h.shape}')
  return h.reshape(h.shape[0], NUM, -1)


@dataclasses.dataclass
class RidgeAccumulator:
  """Per-hyperparameter sufficient statistics of [x, 1] and y (float64)."""
  xtx: np.ndarray   # [9, F+1, F+1]
  xty: np.ndarray   # [9, F+1]
  yty: np.ndarray   # [9]

  @classmethod
  def zeros(cls, feature_dim: int) -> 'RidgeAccumulator':
    f = feature_dim + 1
    return cls(np.zeros((NUM, f, f)), np.zeros((NUM, f)), np.zeros(NUM))

  @property
  def count(self) -> np.ndarray:
    return self.xtx[:, -1, -1]

  def update(self, features, targets, mask) -> None:
    """features [N, 9, F], normalised targets [N, 9], mask [N, 9] (1 = use)."""
    x = np.asarray(features, np.float64)
    m = np.asarray(mask, np.float64)
    y = np.where(m > 0, np.asarray(targets, np.float64), 0.0)
    if x.shape[:2] != y.shape or y.shape != m.shape:
      raise ValueError(f'features {x.shape}, targets {y.shape}, mask {m.shape}')
    x1 = np.concatenate([x, np.ones(x.shape[:2] + (1,))], -1)
    xm = x1 * m[..., None]
    self.xtx += np.einsum('nhf,nhg->hfg', xm, x1)
    self.xty += np.einsum('nhf,nh->hf', xm, y)
    self.yty += np.sum(m * y * y, 0)

  def solve(self, l2: float) -> 'RegressionHead':
    """The ridge solution; a hyperparameter with no example gets w = b = 0."""
    if l2 < 0:
      raise ValueError(f'l2 must be >= 0, got {l2}')
    f = self.xtx.shape[-1]
    weights = np.zeros((NUM, f - 1))
    bias = np.zeros(NUM)
    mse = np.full(NUM, np.nan)
    for h in range(NUM):
      n = self.count[h]
      if n <= 0:
        continue
      a = self.xtx[h].copy()
      a[np.arange(f - 1), np.arange(f - 1)] += l2 * n
      sol = np.linalg.lstsq(a, self.xty[h], rcond=None)[0]
      weights[h], bias[h] = sol[:-1], sol[-1]
      # Training MSE from the statistics: (w^T XtX w - 2 w^T Xty + yty) / n.
      mse[h] = max(0.0, (sol @ self.xtx[h] @ sol - 2 * sol @ self.xty[h]
                         + self.yty[h]) / n)
    return RegressionHead(weights, bias, l2, self.count.copy(), mse)


@dataclasses.dataclass
class RegressionHead:
  """Fitted per-hyperparameter linear maps (and, once saved, the normaliser)."""
  weights: np.ndarray          # [9, 3D]
  bias: np.ndarray             # [9]
  l2: float
  count: np.ndarray            # [9] training images used per hyperparameter.
  train_mse: np.ndarray        # [9] training mean squared error.
  normaliser: continuous.Normaliser | None = None
  step: int | None = None      # checkpoint step whose features were used.

  def predict(self, node_features) -> np.ndarray:
    """Normalised predictions [N, 9] from node features [N, 55|27, D]."""
    x = hyperparameter_features(node_features)
    return self.predict_from(x)

  def predict_from(self, features) -> np.ndarray:
    """Normalised predictions [N, 9] from hyperparameter features [N, 9, 3D]."""
    x = np.asarray(features, np.float64)
    if x.shape[1:] != self.weights.shape:
      raise ValueError(f'features {x.shape[1:]} do not match the regression '
                       f'weights {self.weights.shape}')
    return np.einsum('nhf,hf->nh', x, self.weights) + self.bias

  def predict_raw(self, node_features) -> np.ndarray:
    """Predictions on the raw scale [N, 9] (needs the normaliser)."""
    if self.normaliser is None:
      raise ValueError('this regression head has no normaliser')
    return self.normaliser.denormalise(self.predict(node_features))

  def save(self, path: str) -> str:
    norm = self.normaliser.to_dict() if self.normaliser else None
    extra = {}
    if norm is not None:
      extra = dict(norm_method=np.array(norm['method']),
                   norm_low=np.array(norm['low']), norm_high=np.array(norm['high']),
                   norm_log=np.array(norm['log']))
    return files.save_npz(
        path, weights=self.weights, bias=self.bias, l2=np.array(self.l2),
        count=self.count, train_mse=self.train_mse,
        columns=np.array(schema.CONTINUOUS_COLUMNS),
        step=np.array(-1 if self.step is None else self.step), **extra)

  @classmethod
  def load(cls, path: str) -> 'RegressionHead':
    if not os.path.exists(path):
      raise FileNotFoundError(f'no regression head at {path}; fit one with '
                              'evaluate.fit_for_fold (eval.py does it)')
    with np.load(path) as z:
      if tuple(z['columns'].tolist()) != schema.CONTINUOUS_COLUMNS:
        raise ValueError(f'{path} was fitted for columns {z["columns"]}')
      norm = None
      if 'norm_method' in z:
        norm = continuous.Normaliser(str(z['norm_method']), z['norm_low'],
                                     z['norm_high'], z['norm_log'].astype(bool))
      step = int(z['step']) if 'step' in z else -1
      return cls(z['weights'], z['bias'], float(z['l2']), z['count'],
                 z['train_mse'], norm, None if step < 0 else step)
