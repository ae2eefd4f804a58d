"""The multi-image concatenation head (rebuttal R.5): one prediction from k
images of one GM.

``ConcatHead()(h)``: node features of k images of one GM, h [B, k, N, D]
(LGPN's ``node_features``, frozen) -> dict(node_logits [B, N], regressed
[B, H]):
  * per node, the k images' features are concatenated in image order,
    [B, N, k D] (the concatenation the rebuttal describes; swapping two
    images changes the input, unlike averaging);
  * one Linear(k D, hidden) + ReLU, shared by the nodes, gives a hidden
    feature per node; a per-node output vector and bias give the node's
    logit (P(node = 1) = sigmoid);
  * per continuous hyperparameter, a linear map of its bin nodes' hidden
    features (concatenated, ``continuous_nodes`` [H][bins] node indices)
    gives its normalised value: the regression stage, trained with the head.
Small on purpose (k D x hidden + N x hidden + ... weights) so it trains in
seconds on frozen features (lgpn_jax/evaluation/parsing/multi_image.py).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class ConcatHead(nn.Module):
  continuous_nodes: Sequence[Sequence[int]]
  hidden: int = 128

  @nn.compact
  def __call__(self, h):
    b, k, n, d = h.shape
    x = jnp.transpose(h, (0, 2, 1, 3)).reshape(b, n, k * d)   # [B, N, kD].
    z = nn.relu(nn.Dense(self.hidden, name='shared')(x))      # [B, N, hidden].
    w = self.param('node_w', nn.initializers.lecun_normal(batch_axis=(0,)),
                   (n, self.hidden, 1))
    bias = self.param('node_b', nn.initializers.zeros, (n,))
    logits = jnp.einsum('bnh,nho->bn', z, w) + bias
    idx = jnp.asarray(self.continuous_nodes, jnp.int32)       # [H, bins].
    zc = z[:, idx].reshape(b, idx.shape[0], -1)               # [B, H, bins*h].
    rw = self.param('reg_w', nn.initializers.lecun_normal(batch_axis=(0,)),
                    (idx.shape[0], zc.shape[-1], 1))
    rb = self.param('reg_b', nn.initializers.zeros, (idx.shape[0],))
    regressed = jnp.einsum('bhf,hfo->bh', zc, rw) + rb
    return dict(node_logits=logits, regressed=regressed)
