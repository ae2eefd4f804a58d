"""Graph attention head (Velickovic et al., "Graph Attention Networks", ICLR
2018) over the 55 nodes.

Contract (as every graph head): ``GATHead()(h, adjacency, train)`` with node
features h [B, N, D] float32 and the fold's {0,1} adjacency [N, N] (row i lists
the neighbours node i aggregates from; a batch [B, N, N] also works) returns
``GraphOutput``:
  refined  [B, N, D]  the last attention layer's output (width D, the input's);
  pooled   [B, D]     mean of ``refined`` over the nodes (there are no levels);
  matchings / correlations / masks: empty (no pooling, no hierarchy loss).

A layer (``GATLayer``), per head k with its own W^k [D_in, F] and a^k [2F]:
  e_ij = LeakyReLU(a^k . [W^k h_i || W^k h_j]), negative slope 0.2,
  alpha_ij = softmax over j of e_ij, over the edges of A plus self-loops
             (every row keeps at least its self-loop, so no row is empty),
  hidden layers: h_i' = ELU(concat_k sum_j alpha_ij^k W^k h_j)   [K * F],
  last layer:    h_i' = ELU(mean_k sum_j alpha_ij^k W^k h_j)     [D].
a . [x || y] is computed as a_1 . x + a_2 . y, the same number. Dropout (train
only) on each layer's input features and on the normalised coefficients alpha,
as the paper.

How it differs from the repository's ``att_gcn`` baseline (``StackedGCNHead``
with attention, the LGPN authors' simplified attention): there, e_ij =
a_1 . h_i + a_2 . h_j on the raw features with no LeakyReLU, so the a_1 . h_i
term cancels in the softmax over j and every node weights its neighbours by
a_2 . h_j alone; one head; computed once per block from the block's input and
then used as the adjacency of mean-normalised GCN layers (ReLU, self-loop
added outside the attention). Here the attention is recomputed in every layer
from the transformed features W h; the LeakyReLU keeps the a_1 . W h_i term,
so the weights depend on the receiving node (their order over j does not:
LeakyReLU is monotone); K heads; the self-loop competes inside the softmax;
ELU.

Choices where the paper is silent or set for other data, with reasons:
  * defaults: 2 layers, 8 heads of 16 features in the hidden layer (8 x 16 =
    128 = D, the width of the node features; the paper's Cora model has 8
    heads of 8 features), 1 head in the last layer (its Cora / Citeseer
    setting; ``output_heads`` sets more, as its 8 on Pubmed and 6 on PPI).
  * ELU after the last layer's average too: the paper's last nonlinearity is
    the classifier's softmax / sigmoid, which here is the separate node
    classifier MLP that reads ``refined``; ELU keeps every layer alike.
  * a bias per layer (zero-initialised), added after the aggregation (after
    the average in the last layer): the paper's equations have none.
  * dropout 0.2 for features and coefficients (the other heads' rate; the
    paper uses 0.6 for its small transductive training sets and none on
    PPI); separate fields.
  * Glorot-uniform initialisation of W and a (as the paper).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.models import graph_ops
from lgpn_jax.models.graph_heads import GraphOutput

NEGATIVE_SLOPE = 0.2


def _glorot_attention(key, shape, dtype=jnp.float32):
  # [K, 2, F]: per head a [2F] vector, Glorot-uniform as a [2F, 1] matrix.
  bound = (6.0 / (shape[1] * shape[2] + 1)) ** 0.5
  return jax.random.uniform(key, shape, dtype, -bound, bound)


def attention_mask(adjacency, batch: int):
  """[N, N] or [B, N, N] adjacency -> bool [B, 1, N, N]: edges plus
  self-loops (one mask for every head)."""
  adj = graph_ops.batched(adjacency, batch)
  eye = jnp.eye(adj.shape[-1], dtype=bool)
  return ((adj > 0) | eye)[:, None]


def gat_coefficients(wh, attention, mask,
                     negative_slope: float = NEGATIVE_SLOPE):
  """alpha [B, K, N, N] from transformed features wh [B, N, K, F], attention
  [K, 2, F] (a_1 for the receiving node i, a_2 for the neighbour j) and a
  bool mask [B or 1, 1, N, N] that has every diagonal entry set."""
  e_i = jnp.einsum('bnkf,kf->bkn', wh, attention[:, 0])
  e_j = jnp.einsum('bnkf,kf->bkn', wh, attention[:, 1])
  logits = nn.leaky_relu(e_i[..., :, None] + e_j[..., None, :],
                         negative_slope)
  return jax.nn.softmax(jnp.where(mask, logits, graph_ops.NON_EDGE), axis=-1)


class GATLayer(nn.Module):
  """One multi-head graph attention layer (see the module docstring).

  concat=True: ELU of the heads' outputs concatenated, [B, N, heads *
  features]; concat=False: ELU of their mean, [B, N, features].
  Parameters: kernel [D_in, heads, features], attention [heads, 2, features],
  bias [heads * features] or [features].
  """
  features: int
  heads: int
  concat: bool
  dropout: float = 0.2
  attention_dropout: float = 0.2
  negative_slope: float = NEGATIVE_SLOPE

  @nn.compact
  def __call__(self, h, mask, train: bool):
    kernel = self.param(
        'kernel', nn.initializers.glorot_uniform(in_axis=0, out_axis=2,
                                                 batch_axis=(1,)),
        (h.shape[-1], self.heads, self.features))
    attention = self.param('attention', _glorot_attention,
                           (self.heads, 2, self.features))
    width = self.heads * self.features if self.concat else self.features
    bias = self.param('bias', nn.initializers.zeros, (width,))
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    wh = jnp.einsum('bnd,dkf->bnkf', h, kernel)
    alpha = gat_coefficients(wh, attention, mask, self.negative_slope)
    alpha = nn.Dropout(self.attention_dropout, deterministic=not train)(alpha)
    out = jnp.einsum('bkij,bjkf->bikf', alpha, wh)
    if self.concat:
      out = out.reshape(*out.shape[:2], width)
    else:
      out = jnp.mean(out, axis=2)
    return nn.elu(out + bias)


class GATHead(nn.Module):
  """Graph attention network over the node graph (see the module docstring).

  layers: attention layers (layers - 1 hidden, concatenating heads, then one
  that averages ``output_heads`` heads of width D). heads / hidden: heads and
  features per head of the hidden layers. dropout / attention_dropout: rates
  on each layer's input and on the coefficients, train only.
  Parameters: ``layer_0`` .. ``layer_{layers-1}``, each a ``GATLayer``.
  """
  layers: int = 2
  heads: int = 8
  hidden: int = 16
  output_heads: int = 1
  dropout: float = 0.2
  attention_dropout: float = 0.2
  negative_slope: float = NEGATIVE_SLOPE

  @nn.compact
  def __call__(self, h, adjacency, train: bool) -> GraphOutput:
    if self.layers < 1:
      raise ValueError(f'GATHead needs at least one layer, got {self.layers}')
    d = h.shape[-1]
    mask = attention_mask(adjacency, h.shape[0])
    for l in range(self.layers):
      last = l == self.layers - 1
      h = GATLayer(features=d if last else self.hidden,
                   heads=self.output_heads if last else self.heads,
                   concat=not last, dropout=self.dropout,
                   attention_dropout=self.attention_dropout,
                   negative_slope=self.negative_slope, name=f'layer_{l}')(
                       h, mask, train)
    return GraphOutput(h, jnp.mean(h, axis=1))
