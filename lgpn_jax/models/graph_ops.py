"""Dense graph operators on batches of small graphs (pure functions).

Shapes: node features h [B, N, D]; adjacency / edge mask [B, N, N] or [N, N]
(row i lists the neighbours j that node i aggregates from, ``(A h)_i =
sum_j A_ij h_j``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# The reference fills non-edges with this before its softmax.
NON_EDGE = -9e15
EMPTY_ROW_MODES = ('zero', 'uniform')
EDGE_GRADIENTS = ('none', 'straight_through')


def batched(adj, batch: int):
  """[N, N] -> [B, N, N] (a batch of graphs passes through unchanged)."""
  return jnp.broadcast_to(adj, (batch, *adj.shape[-2:])) if adj.ndim == 2 else adj


def edge_attention(h, attention, mask, empty_rows: str = 'zero'):
  """Softmax attention over each node's edges: e_ij = a1.h_i + a2.h_j.

  ``attention`` is [2, D] (a1, a2). Non-edges get weight 0. A node with no
  edges at all gets an all-zero row with ``empty_rows='zero'``; the reference
  code instead spreads it uniformly over every node (``'uniform'``).
  """
  if empty_rows not in EMPTY_ROW_MODES:
    raise ValueError(f'empty_rows must be one of {EMPTY_ROW_MODES}')
  e_i = jnp.einsum('bnd,d->bn', h, attention[0])
  e_j = jnp.einsum('bnd,d->bn', h, attention[1])
  logits = jnp.where(mask, e_i[:, :, None] + e_j[:, None, :], NON_EDGE)
  att = jax.nn.softmax(logits, axis=-1)
  if empty_rows == 'zero':
    att = att * jnp.any(mask, axis=-1, keepdims=True)
  return att


def gcn_layer(h, adj, kernel, bias):
  """ReLU(((A h + h) W + 2 b) / (rowsum(A) + 1)): mean-normalised GCN + self-loop.

  This is the reference's ``(W(A h) + W(h)) / (rowsum(A) + 1)`` with a biased
  linear map W, written with one matmul.
  """
  adj = batched(adj, h.shape[0])
  agg = jnp.einsum('bij,bjd->bid', adj, h) + h
  denom = jnp.sum(adj, axis=-1)[..., None] + 1.0
  return jax.nn.relu((agg @ kernel + 2.0 * bias) / denom)


def pool(h, adj, match_logits, corr_logits, *, scale: float = 1000.0,
         threshold: float = 0.1, edge_gradient: str = 'none',
         surrogate_scale: float = 1.0):
  """Learnable (un)pooling from n_in nodes to n_out nodes.

  match_logits, corr_logits: [B, n_in, n_out], computed from h.
    S = softmax over the n_in input nodes (each output node is a weighted
        mean of input nodes); h_out = S^T h.
    C = sigmoid(scale * corr_logits); A_out = C^T A C, edges where > threshold.
  Returns h_out [B, n_out, D], the edges [B, n_out, n_out] as float32 {0, 1},
  and S^T, C^T ([B, n_out, n_in]) for the hierarchy loss.

  The threshold has no gradient, so with ``edge_gradient='none'`` (the paper's
  and the released forward, read literally) C learns only from a loss on C
  itself. ``'straight_through'`` keeps the forward pass exactly and gives C
  the task's gradient: the edges pass their gradient to A_out unchanged
  (d edges / d A_out = 1), and C's saturated sigmoid(scale * x) passes the
  gradient of sigmoid(surrogate_scale * x) instead of its own (which is
  ~0 except within ~0.01 of x = 0, where it spikes to scale / 4).
  """
  if edge_gradient not in EDGE_GRADIENTS:
    raise ValueError(f'edge_gradient must be one of {EDGE_GRADIENTS}, got '
                     f'{edge_gradient!r}')
  s = jax.nn.softmax(match_logits, axis=1)
  h_out = jnp.einsum('bio,bid->bod', s, h)
  c = jax.nn.sigmoid(scale * corr_logits)
  if edge_gradient == 'straight_through':   # forward c, gradient of the soft c.
    c = jax.lax.stop_gradient(c) + straight_through(
        jax.nn.sigmoid(surrogate_scale * corr_logits))
  adj_out = jnp.einsum('bio,bij,bjp->bop', c, batched(adj, h.shape[0]), c)
  edges = (adj_out > threshold).astype(jnp.float32)
  if edge_gradient == 'straight_through':
    edges = edges + straight_through(adj_out)
  return (h_out, edges, jnp.swapaxes(s, 1, 2), jnp.swapaxes(c, 1, 2))


def straight_through(x):
  """Zero in the forward pass, ``x``'s gradient in the backward pass: added
  to a non-differentiable value, it lends that value x's gradient."""
  return x - jax.lax.stop_gradient(x)


def carry_gradient(values, adj):
  """``values`` (e.g. attention weights computed from an edge mask) with the
  gradient ``adj`` carries, unchanged in the forward pass:
  values * (1 + (adj - stop_gradient(adj)))."""
  return values * (1.0 + straight_through(adj))


def l2_normalize(x, axis: int = -1, eps: float = 1e-12):
  """x / max(||x||, eps), as torch.nn.functional.normalize."""
  norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
  return x / jnp.maximum(norm, eps)
