"""Models from a config's ``model`` section, parts picked by name.

  build_model(config.model)                    -> LGPN
  build_classifier(config.model, num_classes)  -> Classifier (same backbone)

Baselines and ablations are configs of these: backbone 'gtc' | 'resnet50';
head 'gcn_refinement' | 'mlp' | 'stacked_gcn' | 'att_gcn'; node_classifier
'sigmoid' | 'softmax'; dtype 'float32' | 'bfloat16' (compute; parameters
stay float32). Unknown names raise ValueError naming the allowed ones.
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.models import graph_heads
from lgpn_jax.models.classifier import Classifier
from lgpn_jax.models.gtc import GTC, UPSAMPLE_METHODS
from lgpn_jax.models.lgpn import LGPN, NODE_CLASSIFIERS
from lgpn_jax.models.resnet import ResNet50

BACKBONES = ('gtc', 'resnet50')
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def _check(cfg: Mapping[str, Any], **allowed) -> None:
  for field, values in allowed.items():
    value = cfg.get(field, 'resize') if field == 'upsample' else cfg[field]
    if value not in values:
      raise ValueError(f'model.{field} must be one of {tuple(values)}, '
                       f'got {value!r}')


def build_backbone(cfg: Mapping[str, Any]) -> nn.Module:
  """The backbone of a model config (fields absent from configs saved before
  they existed take their old meaning: upsample 'resize', fold_bn False)."""
  _check(cfg, backbone=BACKBONES, dtype=DTYPES, upsample=UPSAMPLE_METHODS)
  common = dict(features=cfg.feature_dim, stem_width=cfg.stem_width,
                stage_sizes=tuple(cfg.stage_sizes), widths=tuple(cfg.widths),
                dtype=DTYPES[cfg.dtype], bn_axis_name=cfg.bn_axis_name,
                remat=cfg.remat, fold_bn=bool(cfg.get('fold_bn', False)))
  if cfg.backbone == 'gtc':
    return GTC(pyramid_width=cfg.pyramid_width, stem_bn=cfg.stem_bn,
               upsample=cfg.get('upsample', 'resize'), **common)
  return ResNet50(**common)


def build_head(cfg: Mapping[str, Any]) -> nn.Module:
  """The graph head of a model config."""
  _check(cfg, head=graph_heads.HEADS)
  if cfg.head == 'gcn_refinement':
    return graph_heads.RefinementHead(
        pool_sizes=tuple(cfg.pool_sizes), layers_per_block=cfg.gcn_layers,
        attention=cfg.attention, empty_rows=cfg.empty_rows,
        dropout=cfg.gcn_dropout, corr_scale=cfg.corr_scale,
        edge_threshold=cfg.edge_threshold,
        pooled_nonedge_value=cfg.pooled_nonedge_value,
        edge_gradient=cfg.get('edge_gradient', 'none'),
        corr_surrogate_scale=cfg.get('corr_surrogate_scale', 1.0))
  if cfg.head in ('stacked_gcn', 'att_gcn'):
    return graph_heads.StackedGCNHead(layers=cfg.stacked_layers,
                                      attention=cfg.head == 'att_gcn',
                                      empty_rows=cfg.empty_rows,
                                      dropout=cfg.gcn_dropout)
  return graph_heads.MLPHead()


def build_model(cfg: Mapping[str, Any]) -> LGPN:
  """The LGPN described by a config's ``model`` section (configs/default.py)."""
  _check(cfg, backbone=BACKBONES, head=graph_heads.HEADS,
         node_classifier=NODE_CLASSIFIERS, dtype=DTYPES,
         upsample=UPSAMPLE_METHODS)
  return LGPN(backbone=build_backbone(cfg), graph_head=build_head(cfg),
              num_nodes=cfg.num_nodes, node_dim=cfg.node_dim,
              head_hidden=cfg.head_hidden,
              node_classifier=cfg.node_classifier, dtype=DTYPES[cfg.dtype])


def build_classifier(cfg: Mapping[str, Any], num_classes: int) -> Classifier:
  """The backbone of a model config plus a ``num_classes`` MLP head."""
  return Classifier(backbone=build_backbone(cfg), num_classes=num_classes)
