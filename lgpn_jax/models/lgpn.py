"""LGPN: backbone -> 55 node heads -> graph head -> node and real/fake classifiers.

``node_classifier``: 'sigmoid' (one logit per node, the paper) | 'softmax'
(two logits per node, the released code); ``positive_probability`` reads
P(node = 1) off either. ``build.build_model(config.model)`` assembles it.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.models.node_heads import MLP, NodeHeads

NODE_CLASSIFIERS = {'sigmoid': 1, 'softmax': 2}


def positive_probability(node_logits):
  """P(node = 1) from either classifier's logits ([B, N] or [B, N, 2])."""
  if node_logits.ndim == 3:
    return jax.nn.softmax(node_logits, axis=-1)[..., 1]
  return jax.nn.sigmoid(node_logits)


class LGPN(nn.Module):
  """images [B, H, W, 3] in [-1, 1], adjacency [N, N] -> dict of outputs:

  node_logits [B, N] ('sigmoid') or [B, N, 2] ('softmax'); real_fake_logits
  [B, 2]; features f [B, F]; node_features [B, N, D] (after the graph head);
  matchings / correlations / masks (tuples, see graph_heads.GraphOutput).
  """
  backbone: nn.Module
  graph_head: nn.Module
  num_nodes: int = 55
  node_dim: int = 128
  head_hidden: int = 512
  node_classifier: str = 'sigmoid'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images, adjacency, train: bool = False):
    f = self.backbone(images, train)
    h = NodeHeads(self.num_nodes, self.head_hidden, self.node_dim, self.dtype,
                  name='node_heads')(f)
    graph = self.graph_head(h, adjacency, train)
    f32 = f.astype(jnp.float32)
    node_logits = MLP(NODE_CLASSIFIERS[self.node_classifier],
                      name='classifier')(graph.refined)
    if self.node_classifier == 'sigmoid':
      node_logits = node_logits[..., 0]
    real_fake = MLP(2, name='classifier_real_fake')(
        jnp.concatenate([graph.pooled, f32], axis=-1))
    return dict(node_logits=node_logits, real_fake_logits=real_fake,
                features=f32, node_features=graph.refined,
                matchings=graph.matchings, correlations=graph.correlations,
                masks=graph.masks)
