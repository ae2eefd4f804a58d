"""Classifier: a backbone (GTC or ResNet-50) + an MLP head, for detection and
attribution (the paper's extended uses of GTC).

The call signature is LGPN's (the adjacency is accepted and ignored), so state
creation, FLOP counts and checkpoints treat both models alike.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.models.node_heads import MLP


class Classifier(nn.Module):
  """images [B, H, W, 3] in [-1, 1] -> dict(logits [B, C], features [B, F])."""
  backbone: nn.Module
  num_classes: int

  @nn.compact
  def __call__(self, images, adjacency=None, train: bool = False):
    del adjacency   # LGPN's signature; a classifier has no graph.
    f = self.backbone(images, train).astype(jnp.float32)
    return dict(logits=MLP(self.num_classes, name='classifier')(f),
                features=f)
