"""Evaluation plots (PNG, matplotlib's Agg backend: no display needed).

  * ``hyperparameter_f1``: F1 per hyperparameter, model vs majority baseline,
    hyperparameters with nodes absent from the test set marked;
  * ``roc``: ROC curves of coordinated-attack detection (seen / unseen);
  * ``adjacency``: a fold's correlation graph (row i -> column j where
    P(j | i) >= tau), grouped and separated by category;
  * ``learned_adjacency``: the soft pooled adjacency of each learned level
    for a few test images of distinct GMs;
  * ``training_curves``: loss terms, accuracies and learning rate from
    metrics.jsonl;
  * ``confusion``: attribution's confusion matrix.
Every colour has a legend entry or a colour bar.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from lgpn_jax.red140 import schema  # noqa: E402

FAMILY_COLORS = {'loss': 'tab:blue', 'continuous': 'tab:orange',
                 'discrete': 'tab:green'}
FAMILY_LABELS = {'loss': 'model: loss functions',
                 'continuous': 'model: continuous (bins)',
                 'discrete': 'model: discrete'}


def _save(fig, path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)
  return path


def _short(name: str) -> str:
  return name.split('/', 1)[-1]


def _nan(x) -> float:
  return np.nan if x is None else float(x)


def hyperparameter_f1(rows: Sequence[Mapping], per_node: Sequence[Mapping],
                      path: str, title: str = '') -> str:
  """Bars of each hyperparameter's F1 (mean over its nodes) and the majority
  baseline's; rows as in the report's ``per_hyperparameter``, ``per_node``
  for which nodes have no positive test image ("absent", marked above the
  bar as absent/total; F1 undefined is drawn as a hatched 'n/a' bar)."""
  names = [_short(r['name']) for r in rows]
  f1 = np.array([_nan(r['f1']) for r in rows])
  base = np.array([_nan(r.get('baseline', {}).get('f1')) for r in rows])
  positives = {n['index']: n['num_positive'] for n in per_node}
  x = np.arange(len(rows))
  fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(rows)), 4.5))
  ax.bar(x - 0.2, np.nan_to_num(f1), 0.4,
         color=[FAMILY_COLORS.get(r['family'], 'gray') for r in rows])
  ax.bar(x + 0.2, np.nan_to_num(base), 0.4, color='lightgray')
  for i, r in enumerate(rows):
    if not np.isfinite(f1[i]):
      ax.bar(x[i] - 0.2, 1.0, 0.4, fill=False, hatch='//', edgecolor='gray')
      ax.text(x[i] - 0.2, 0.5, 'n/a', rotation=90, ha='center', fontsize=7)
    absent = sum(positives.get(n, 1) == 0 for n in r['nodes'])
    if absent:
      ax.text(x[i], 1.01, f'{absent}/{len(r["nodes"])}', ha='center',
              fontsize=6, color='firebrick')
  ax.set_xticks(x, names, rotation=70, ha='right', fontsize=8)
  ax.set_ylim(0, 1.08)
  ax.set_ylabel('F1 (macro over classes, mean over nodes)')
  ax.set_title(title)
  handles = [Patch(color=c, label=FAMILY_LABELS[f])
             for f, c in FAMILY_COLORS.items()]
  handles += [Patch(color='lightgray', label='majority-label baseline'),
              Patch(fill=False, hatch='//', edgecolor='gray',
                    label='n/a: F1 undefined on this test set'),
              Patch(color='white', label='red a/b: a of its b nodes absent '
                    'from the test set')]
  ax.legend(handles=handles, fontsize=7, loc='upper left',
            bbox_to_anchor=(1.0, 1.0))
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


def _category_axes(ax, n: int) -> None:
  """Tick labels and separators for a node-level (55), category-level (18)
  or family-level (3) matrix; nothing for other sizes."""
  nodes = schema.nodes()
  if n == len(nodes):
    cats = [nd.category for nd in nodes]
    bounds = [i for i in range(1, n) if cats[i] != cats[i - 1]]
    for b in bounds:
      ax.axhline(b - 0.5, color='tab:red', lw=0.5)
      ax.axvline(b - 0.5, color='tab:red', lw=0.5)
    starts = [0] + bounds
    ends = bounds + [n]
    centres = [(a + b - 1) / 2 for a, b in zip(starts, ends)]
    labels = [_short(cats[a]) for a in starts]
  elif n == len(schema.category_names()):
    centres, labels = list(range(n)), [_short(c) for c in
                                       schema.category_names()]
  elif n == len(schema.FAMILIES):
    centres, labels = list(range(n)), list(schema.FAMILIES)
  else:
    return
  ax.set_xticks(centres, labels, rotation=90, fontsize=5)
  ax.set_yticks(centres, labels, fontsize=5)


def adjacency(adj, path: str, title: str = '', tau: float | None = None
              ) -> str:
  """Heatmap of the [55, 55] correlation graph, categories separated."""
  adj = np.asarray(adj, float)
  fig, ax = plt.subplots(figsize=(9, 9))
  ax.imshow(adj, cmap='Greys', vmin=0, vmax=max(1.0, adj.max()))
  _category_axes(ax, adj.shape[0])
  rule = '' if tau is None else f', tau = {tau:g}'
  ax.set_xlabel('j (node, grouped by category)')
  ax.set_ylabel('i (node, grouped by category)')
  ax.set_title(f'{title}: edge i -> j (row -> column) where P(j | i) >= tau'
               f'{rule}; {int((adj > 0).sum())} edges', fontsize=8)
  ax.legend(handles=[Patch(color='black', label='edge i -> j'),
                     Patch(facecolor='white', edgecolor='gray',
                           label='no edge'),
                     Patch(facecolor='white', edgecolor='tab:red',
                           label='category boundary')],
            fontsize=7, loc='upper left', bbox_to_anchor=(1.0, 1.0))
  return _save(fig, path)


def soft_levels(adjacency, correlations: Sequence[np.ndarray],
                masks: Sequence[np.ndarray]) -> list[np.ndarray]:
  """[K, n, n] soft pooled adjacency C^T A C of each learned level: A is the
  fold's graph for the first level and the previous level's edge mask after
  it (non-edges as 0; the model's edges are where this exceeds its
  threshold)."""
  out = []
  prev = np.broadcast_to(np.asarray(adjacency, float),
                         (len(correlations[0]),) + np.shape(adjacency))
  for c, m in zip(correlations, masks):
    c = np.asarray(c, float)                       # [K, n_out, n_in] = C^T
    out.append(np.einsum('koi,kij,kpj->kop', c, prev, c))
    prev = np.asarray(m, float)
  return out


def learned_adjacency(levels: Sequence[np.ndarray], labels: Sequence[str],
                      path: str, threshold: float | None = None) -> str:
  """Grid of the learned graphs: one row per image (``labels``: its GM),
  one column per (un)pooled level, soft values with one colour bar per
  level and category / family axes where the level has that size."""
  num_levels = len(levels)
  k = levels[0].shape[0]
  fig, axes = plt.subplots(k, num_levels,
                           figsize=(3.6 * num_levels, 3.4 * k + 1),
                           squeeze=False, layout='constrained')
  for l, level in enumerate(levels):
    vmax = max(float(np.max(level)), 1e-6)
    for i in range(k):
      ax = axes[i, l]
      im = ax.imshow(np.asarray(level[i], float), cmap='viridis', vmin=0,
                     vmax=vmax)
      _category_axes(ax, level.shape[1])
      if level.shape[1] not in (3, 18, 55):
        ax.set_xticks([])
        ax.set_yticks([])
      if i == 0:
        ax.set_title(f'level {l + 1}: {level.shape[1]} nodes', fontsize=8)
      if l == 0:
        ax.set_ylabel(labels[i] if i < len(labels) else f'image {i}',
                      fontsize=8)
    fig.colorbar(im, ax=axes[:, l].tolist(), location='bottom', shrink=0.8,
                 label='soft adjacency')
  rule = '' if threshold is None else f' (edges where > {threshold:g})'
  fig.suptitle('learned graphs: soft pooled adjacency C^T A C per level'
               f'{rule}; one test image per GM', fontsize=9)
  return _save(fig, path)


def training_curves(rows: Sequence[Mapping], path: str, title: str = '') -> str:
  """Loss and its terms (log scale), training accuracies and the learning
  rate against the step, from metrics.jsonl rows."""
  rows = [r for r in rows if 'loss' in r]
  steps = np.array([r['step'] for r in rows])
  fig, axes = plt.subplots(1, 3, figsize=(15, 4))
  keys = sorted({k for r in rows for k in r})

  def series(key):
    return np.array([_nan(r.get(key)) if isinstance(r.get(key), (int, float))
                     else np.nan for r in rows])

  for key in ['loss'] + [k for k in keys if k.startswith('loss_')]:
    axes[0].plot(steps, series(key), label=key, lw=2 if key == 'loss' else 1)
  axes[0].set_yscale('log')
  axes[0].set_title('training loss (mean over each logging interval)',
                    fontsize=9)
  for key in [k for k in keys if k.endswith('accuracy')]:
    axes[1].plot(steps, series(key), label=key)
  axes[1].set_ylim(0, 1)
  axes[1].set_title('accuracy on training batches', fontsize=9)
  axes[2].plot(steps, series('learning_rate'), label='learning rate')
  axes[2].set_title('learning rate', fontsize=9)
  for ax in axes:
    ax.set_xlabel('step')
    ax.legend(fontsize=7)
  fig.suptitle(title, fontsize=10)
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
