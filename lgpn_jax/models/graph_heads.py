"""Graph heads over the 55 node features: GCN refinement (LGPN) and baselines.

Every head maps node features h [B, N, D] and the fold's {0,1} adjacency [N, N]
to ``GraphOutput``: refined node features, a pooled vector for the
real-vs-generated classifier, and the matching / correlation matrices of each
(un)pooling step ([B, n_out, n_in]) for the hierarchy loss (empty for heads
without pooling).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.models import graph_ops
HEADS = ('gcn_refinement', 'mlp', 'stacked_gcn', 'att_gcn')


class GraphOutput(NamedTuple):
  refined: jax.Array            # [B, N, D]
  pooled: jax.Array             # [B, D]
  matchings: tuple = ()         # each [B, n_out, n_in]
  correlations: tuple = ()      # each [B, n_out, n_in]
  masks: tuple = ()             # edge masks of each pooled level [B, n, n]


def _xavier_attention(key, shape):
  # The reference initialises a [2D, 1] vector with xavier_uniform(gain=1.414).
  bound = 1.414 * (6.0 / (shape[0] * shape[1] + 1)) ** 0.5
  return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


class GCNBlock(nn.Module):
  """``layers`` GCN layers on one graph, dropout between them. Attention, if
  given ([2, D]), is computed once from the block's input and replaces the
  adjacency for all its layers (as in the reference)."""
  layers: int = 2
  dropout: float = 0.2
  empty_rows: str = 'zero'

  @nn.compact
  def __call__(self, h, adj, mask, attention, train: bool):
    if attention is not None:
      # The attention replaces the adjacency; a gradient the adjacency
      # carries (straight-through pooled edges) flows on through it.
      adj = graph_ops.carry_gradient(
          graph_ops.edge_attention(h, attention, mask, self.empty_rows), adj)
    for l in range(self.layers):
      d = h.shape[-1]
      w = self.param(f'w{l}', nn.initializers.lecun_normal(), (d, d))
      b = self.param(f'b{l}', nn.initializers.zeros, (d,))
      h = graph_ops.gcn_layer(h, adj, w, b)
      if l < self.layers - 1:
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
    return h


class RefinementHead(nn.Module):
  """LGPN's GCN refinement block with learnable pooling and unpooling.

  ``pool_sizes`` is the downward path after the node level: (18, 3) is the
  paper's two levels (55 -> 18 -> 3 -> 18 -> 55), (18,) the released code's
  one level (55 -> 18 -> 55). A GCN block runs at every level of the path.
  ``pooled_nonedge_value`` is the value non-edges of a pooled level carry into
  the next C^T A C: 0 (a clean {0,1} adjacency) or -9e15 (the reference).
  """
  pool_sizes: Sequence[int] = (18, 3)
  layers_per_block: int = 2
  attention: bool = True
  empty_rows: str = 'zero'
  dropout: float = 0.2
  corr_scale: float = 1000.0
  edge_threshold: float = 0.1
  pooled_nonedge_value: float = 0.0
  edge_gradient: str = 'none'       # | 'straight_through' (graph_ops.pool).
  corr_surrogate_scale: float = 1.0

  @nn.compact
  def __call__(self, h, adjacency, train: bool) -> GraphOutput:
    n, d = h.shape[1], h.shape[2]
    sizes = (n, *self.pool_sizes, *self.pool_sizes[-2::-1], n)
    attention = (self.param('attention', _xavier_attention, (2, d))
                 if self.attention else None)

    def block(k, h, adj, mask):
      return GCNBlock(self.layers_per_block, self.dropout, self.empty_rows,
                      name=f'block_{k}')(h, adj, mask, attention, train)

    adj = adjacency
    h = block(0, h, adj, adj > 0)
    first = h
    levels, matchings, correlations, masks = [], [], [], []
    for t, n_out in enumerate(sizes[1:]):
      match = nn.Dense(n_out, name=f'match_{t}')(h)
      # The straight-through edge gradient is a surrogate: it trains the
      # correlation layer, not the node features it reads.
      corr = nn.Dense(n_out, name=f'corr_{t}')(
          jax.lax.stop_gradient(h) if self.edge_gradient == 'straight_through'
          else h)
      h, edges, s, c = graph_ops.pool(
          h, adj, match, corr, scale=self.corr_scale,
          threshold=self.edge_threshold, edge_gradient=self.edge_gradient,
          surrogate_scale=self.corr_surrogate_scale)
      mask = edges > 0.5
      adj = (jnp.where(mask, 1.0, self.pooled_nonedge_value)
             + graph_ops.straight_through(edges))
      h = block(t + 1, h, adj, mask)
      levels.append(h)
      matchings.append(s)
      correlations.append(c)
      masks.append(mask)
    out = jnp.tanh(nn.Dense(d, name='output')(h + first))
    coarsest = levels[len(self.pool_sizes) - 1]
    return GraphOutput(out, jnp.mean(coarsest, axis=1), tuple(matchings),
                       tuple(correlations), tuple(masks))


class StackedGCNHead(nn.Module):
  """Baseline: ``layers`` GCN layers on the fixed graph, no pooling
  (``stacked_gcn``; with ``attention=True`` it is the ``att_gcn`` baseline)."""
  layers: int = 4
  attention: bool = False
  empty_rows: str = 'zero'
  dropout: float = 0.2

  @nn.compact
  def __call__(self, h, adjacency, train: bool) -> GraphOutput:
    attention = (self.param('attention', _xavier_attention, (2, h.shape[-1]))
                 if self.attention else None)
    out = GCNBlock(self.layers, self.dropout, self.empty_rows, name='block_0')(
        h, adjacency, adjacency > 0, attention, train)
    return GraphOutput(out, jnp.mean(out, axis=1))


class MLPHead(nn.Module):
  """Baseline: no graph; node features go straight to the node classifier."""

  @nn.compact
  def __call__(self, h, adjacency, train: bool) -> GraphOutput:
    del adjacency, train
    return GraphOutput(h, jnp.mean(h, axis=1))
