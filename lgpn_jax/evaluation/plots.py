"""Evaluation plots (PNG, matplotlib's Agg backend: no display needed).

  * ``hyperparameter_f1``: F1 per hyperparameter, model vs majority baseline;
  * ``roc``: ROC curves of coordinated-attack detection (seen / unseen);
  * ``adjacency``: a heatmap of a fold's correlation graph;
  * ``learned_masks``: the model's learned (pooled) edge masks for a few images.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FAMILY_COLORS = {'loss': 'tab:blue', 'continuous': 'tab:orange',
                 'discrete': 'tab:green'}


def _save(fig, path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)
  return path


def _short(name: str) -> str:
  return name.split('/', 1)[-1]


def hyperparameter_f1(rows: Sequence[Mapping], path: str, title: str = '') -> str:
  """Bars of each hyperparameter's F1 (mean over its nodes) and the majority
  baseline's; rows as in the report's ``per_hyperparameter``."""
  names = [_short(r['name']) for r in rows]
  f1 = np.array([np.nan if r['f1'] is None else r['f1'] for r in rows], float)
  base = np.array([np.nan if r.get('baseline', {}).get('f1') is None
                   else r['baseline']['f1'] for r in rows], float)
  x = np.arange(len(rows))
  fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(rows)), 4))
  ax.bar(x - 0.2, np.nan_to_num(f1), 0.4,
         color=[FAMILY_COLORS.get(r['family'], 'gray') for r in rows],
         label='model')
  ax.bar(x + 0.2, np.nan_to_num(base), 0.4, color='lightgray',
         label='majority baseline')
  ax.set_xticks(x, names, rotation=70, ha='right', fontsize=8)
  ax.set_ylim(0, 1)
  ax.set_ylabel('F1 (macro over classes, mean over nodes)')
  ax.set_title(title)
  ax.legend(fontsize=8)
  return _save(fig, path)


def roc(curves: Mapping[str, tuple], path: str, far: float = 0.05) -> str:
  """ROC curves {name: (false-alarm rate, detection rate)}."""
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  for name, (fpr, tpr) in curves.items():
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    ax.plot(fpr, tpr, label=f'{name} GMs (AUC {auc:.3f})')
  ax.plot([0, 1], [0, 1], ':', color='gray')
  ax.axvline(far, ls='--', color='gray', lw=0.8)
  ax.set_xlabel('false-alarm rate (different-GM pairs called same)')
  ax.set_ylabel('detection rate (same-GM pairs)')
  ax.set_title('coordinated-attack detection')
  ax.legend(fontsize=8, loc='lower right')
  return _save(fig, path)


def adjacency(adj, names: Sequence[str], path: str, title: str = '') -> str:
  """Heatmap of an [N, N] adjacency with node names on the axes."""
  adj = np.asarray(adj, float)
  fig, ax = plt.subplots(figsize=(9, 9))
  ax.imshow(adj, cmap='Greys', vmin=0, vmax=max(1.0, adj.max()))
  ticks = np.arange(len(names))
  ax.set_xticks(ticks, [_short(n) for n in names], rotation=90, fontsize=5)
  ax.set_yticks(ticks, [_short(n) for n in names], fontsize=5)
  ax.set_title(f'{title} ({int((adj > 0).sum())} edges)')
  return _save(fig, path)


def learned_masks(masks: Sequence[np.ndarray], labels: Sequence[str],
                  path: str) -> str:
  """Grid of learned edge masks: one row per image, one column per level.

  ``masks``: tuple over (un)pooled levels of [K, n, n] arrays.
  """
  levels = len(masks)
  k = masks[0].shape[0]
  fig, axes = plt.subplots(k, levels, figsize=(2.2 * levels, 2.2 * k),
                           squeeze=False)
  for i in range(k):
    for l in range(levels):
      ax = axes[i, l]
      m = np.asarray(masks[l][i], float)
      ax.imshow(m, cmap='Greys', vmin=0, vmax=1)
      ax.set_xticks([])
      ax.set_yticks([])
      if i == 0:
        ax.set_title(f'level {l + 1}: {m.shape[0]} nodes', fontsize=7)
      if l == 0:
        ax.set_ylabel(labels[i] if i < len(labels) else f'image {i}', fontsize=7)
  fig.suptitle('learned adjacency (edge masks after each (un)pooling)',
               fontsize=8)
  return _save(fig, path)


def confusion(matrix, names: Sequence[str], path: str, title: str = '') -> str:
  """Row-normalised confusion matrix (rows true, columns predicted) with counts."""
  m = np.asarray(matrix, float)
  rates = m / np.maximum(m.sum(1, keepdims=True), 1)
  k = len(names)
  fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 1.0 + 0.6 * k))
  ax.imshow(rates, cmap='Blues', vmin=0, vmax=1)
  for i in range(k):
    for j in range(k):
      ax.text(j, i, str(int(m[i, j])), ha='center', va='center', fontsize=7,
              color='white' if rates[i, j] > 0.5 else 'black')
  ticks = np.arange(k)
  ax.set_xticks(ticks, [_short(n) for n in names], rotation=90, fontsize=7)
  ax.set_yticks(ticks, [_short(n) for n in names], fontsize=7)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  ax.set_title(title or 'attribution confusion matrix', fontsize=8)
  return _save(fig, path)
