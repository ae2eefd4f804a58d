"""Fixed graphs: the label-correlation graph and the node hierarchy.

The correlation graph is built from training GM labels only (pass the fold's
training rows): ``A[i, j] = 1`` when P(j | i) = count(i and j) / count(i) >= tau,
for i != j. The diagonal is left empty because every GCN layer adds its own
self-loop. A node that never occurs in the given labels has no out-edges.

The hierarchy has three levels: 55 nodes -> 18 categories -> 3 families.
"""

from __future__ import annotations

import numpy as np

from lgpn_jax.red140 import folds
from lgpn_jax.red140 import schema
DEFAULT_TAU = 0.45


def conditional_probabilities(labels: np.ndarray) -> np.ndarray:
  """[N, N] matrix P(j | i); rows of never-occurring nodes are zero."""
  labels = np.asarray(labels, np.float64)
  if labels.ndim != 2:
    raise ValueError(f'labels must be [num_gms, num_nodes], got {labels.shape}')
  counts = labels.T @ labels                  # counts[i, j] = count(i and j)
  occurrences = np.diag(counts)
  with np.errstate(divide='ignore', invalid='ignore'):
    p = np.where(occurrences[:, None] > 0, counts / occurrences[:, None], 0.0)
  return p


def correlation_graph(labels: np.ndarray, tau: float = DEFAULT_TAU) -> np.ndarray:
  """[N, N] float32 {0,1} adjacency, edges i -> j where P(j | i) >= tau, i != j."""
  if not 0.0 < tau <= 1.0:
    raise ValueError(f'tau must be in (0, 1], got {tau}')
  adj = conditional_probabilities(labels) >= tau
  np.fill_diagonal(adj, False)
  return adj.astype(np.float32)


def fold_correlation_graph(fold: int, tau: float = DEFAULT_TAU,
                           protocol: str = 'paper') -> np.ndarray:
  """The correlation graph of one fold, from its training GMs only."""
  rows = folds.train_indices(fold, protocol)
  return correlation_graph(schema.label_table()[rows], tau)


def membership(level: int) -> np.ndarray:
  """[N_{level+1}, N_level] {0,1} parent membership of the hierarchy.

  level 0: 18 categories x 55 nodes; level 1: 3 families x 18 categories.
  """
  if level == 0:
    parent = np.array([n.category_index for n in schema.nodes()])
  elif level == 1:
    parent = schema.category_family()
  else:
    raise ValueError(f'the hierarchy has levels 0 and 1, got {level}')
  m = np.zeros((parent.max() + 1, parent.size), np.float32)
  m[parent, np.arange(parent.size)] = 1.0
  return m


def level_sizes() -> tuple[int, ...]:
  """Number of (super)nodes at each hierarchy level: (55, 18, 3)."""
  return (schema.NUM_NODES,) + tuple(membership(l).shape[0] for l in range(2))


MATCHING_TARGETS = ('hard', 'soft')


def _row_softmax(x: np.ndarray) -> np.ndarray:
  e = np.exp(x - x.max(axis=1, keepdims=True))
  return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def transition_targets(sizes: tuple[int, ...], matching: str = 'hard'
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
  """Fixed targets for each pooling/unpooling step along a path of level sizes.

  ``sizes`` is the path of graph sizes, e.g. (55, 18, 3, 18, 55) for the
  paper's two levels or (55, 18, 55) for the released code. For each step from
  n_in to n_out nodes this returns ``(matching, correlation)``, both
  [n_out, n_in] like the model's matrices. With ``matching='hard'``:
    * pooling (child -> parent): matching = membership / number of children
      (each supernode is the mean of its children), correlation = membership;
    * unpooling (parent -> child): matching = correlation = membership^T
      (each child copies its parent).
  ``matching='soft'`` is the authors' training script: the matching target
  is the softmax of the 0/1 membership along n_in (pooling: over the
  children, e.g. 0.0439 for each of a category's 4 members and 0.0162
  otherwise; unpooling: over the parents, 0.1379 / 0.0507 at 18 parents);
  correlation targets stay the 0/1 membership.
  """
  if matching not in MATCHING_TARGETS:
    raise ValueError(f'hierarchy targets must be one of {MATCHING_TARGETS}, '
                     f'got {matching!r}')
  by_size = {}
  for level in range(2):
    m = membership(level)
    pool = m / m.sum(1, keepdims=True) if matching == 'hard' else _row_softmax(m)
    unpool = m.T if matching == 'hard' else _row_softmax(m.T)
    by_size[(m.shape[1], m.shape[0])] = (pool, m)
    by_size[(m.shape[0], m.shape[1])] = (unpool, m.T)
  out = []
  for n_in, n_out in zip(sizes[:-1], sizes[1:]):
    if (n_in, n_out) not in by_size:
      raise ValueError(f'no hierarchy step from {n_in} to {n_out} nodes; '
                       f'levels are {level_sizes()}')
    out.append(by_size[(n_in, n_out)])
  return out
