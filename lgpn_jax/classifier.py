"""Classifier: backbone (GTC or ResNet-50) + MLP head, for detection and
attribution (``config.task``; lgpn_jax/tasks.py).

Same backbone as LGPN (``model._backbone``), so the two tasks are GTC plus a
fully connected head, as in the paper's extended uses. The call signature is
LGPN's (the adjacency is accepted and ignored), so the trainer's state
creation, FLOP count and checkpoints work unchanged.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.node_heads import MLP


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


def build_classifier(model_cfg, num_classes: int) -> Classifier:
  """The backbone of a config's ``model`` section plus a ``num_classes`` head."""
  from lgpn_jax import model as model_lib
  if model_cfg.backbone not in model_lib.BACKBONES:
    raise ValueError(f'model.backbone must be one of {model_lib.BACKBONES}, '
                     f'got {model_cfg.backbone!r}')
  if model_cfg.dtype not in model_lib.DTYPES:
    raise ValueError(f'model.dtype must be one of {tuple(model_lib.DTYPES)}')
  dtype: Any = model_lib.DTYPES[model_cfg.dtype]
  return Classifier(backbone=model_lib._backbone(model_cfg, dtype),  # noqa: SLF001
                    num_classes=num_classes)
