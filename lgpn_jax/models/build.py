"""Models from a config's ``model`` section, parts picked by name.

  build_model(config.model)                    -> LGPN
  build_classifier(config.model, num_classes)  -> Classifier (same backbone)

Baselines and ablations are configs of these: backbone 'gtc' | 'resnet50' |
'hrnet' (HRNet-W32, ``model.hrnet``) | 'vit_b16' (ViT-B/16, ``model.vit``);
head 'gcn_refinement' | 'mlp' | 'stacked_gcn' | 'att_gcn' | 'graph_unet'
(``model.graph_unet``) | 'gat' (``model.gat``); node_classifier 'sigmoid' |
'softmax'; dtype 'float32' | 'bfloat16' (compute; parameters stay float32).
Unknown names raise ValueError naming the allowed ones.
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.models import graph_heads
from lgpn_jax.models.classifier import Classifier
from lgpn_jax.models.gat import GATHead
from lgpn_jax.models.graph_unet import GraphUNetHead
from lgpn_jax.models.gtc import GTC, UPSAMPLE_METHODS
from lgpn_jax.models.hrnet import HRNet
from lgpn_jax.models.lgpn import LGPN, NODE_CLASSIFIERS
from lgpn_jax.models.resnet import ResNet50
from lgpn_jax.models.vit import ViT

BACKBONES = ('gtc', 'resnet50', 'hrnet', 'vit_b16')
HEADS = graph_heads.HEADS + ('graph_unet', 'gat')
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
  common = dict(features=cfg.feature_dim, dtype=DTYPES[cfg.dtype],
                bn_axis_name=cfg.bn_axis_name, remat=cfg.remat,
                fold_bn=bool(cfg.get('fold_bn', False)))
  if cfg.backbone == 'hrnet':
    h = cfg.hrnet
    return HRNet(stem_width=cfg.stem_width, stage1_width=h.stage1_width,
                 stage1_blocks=h.stage1_blocks, width=h.width,
                 num_modules=tuple(h.num_modules), num_blocks=h.num_blocks,
                 head_widths=tuple(h.head_widths), final_width=h.final_width,
                 **common)
  if cfg.backbone == 'vit_b16':
    v = cfg.vit
    return ViT(patch=v.patch, width=v.width, depth=v.depth, heads=v.heads,
               mlp_dim=v.mlp_dim, **common)
  resnet = dict(stem_width=cfg.stem_width, stage_sizes=tuple(cfg.stage_sizes),
                widths=tuple(cfg.widths), **common)
  if cfg.backbone == 'gtc':
    return GTC(pyramid_width=cfg.pyramid_width, stem_bn=cfg.stem_bn,
               upsample=cfg.get('upsample', 'resize'), **resnet)
  return ResNet50(**resnet)


def build_head(cfg: Mapping[str, Any]) -> nn.Module:
  """The graph head of a model config."""
  _check(cfg, head=HEADS)
  if cfg.head == 'graph_unet':
    return GraphUNetHead(ratios=tuple(cfg.graph_unet.ratios),
                         augment=cfg.graph_unet.augment,
                         dropout=cfg.gcn_dropout)
  if cfg.head == 'gat':
    g = cfg.gat
    return GATHead(layers=g.layers, heads=g.heads, hidden=g.hidden,
                   output_heads=g.output_heads, dropout=cfg.gcn_dropout,
                   attention_dropout=g.attention_dropout)
  if cfg.head == 'gcn_refinement':
    return graph_heads.RefinementHead(
        pool_sizes=tuple(cfg.pool_sizes), layers_per_block=cfg.gcn_layers,
        attention=cfg.attention, empty_rows=cfg.empty_rows,
        dropout=cfg.gcn_dropout, corr_scale=cfg.corr_scale,
        edge_threshold=cfg.edge_threshold,
        pooled_nonedge_value=cfg.pooled_nonedge_value,
        edge_gradient=cfg.get('edge_gradient', 'none'),
        corr_surrogate_scale=cfg.get('corr_surrogate_scale', 1.0),
        match_bias=cfg.get('match_bias', True))
  if cfg.head in ('stacked_gcn', 'att_gcn'):
    return graph_heads.StackedGCNHead(layers=cfg.stacked_layers,
                                      attention=cfg.head == 'att_gcn',
                                      empty_rows=cfg.empty_rows,
                                      dropout=cfg.gcn_dropout)
  return graph_heads.MLPHead()


def build_model(cfg: Mapping[str, Any]) -> LGPN:
  """The LGPN described by a config's ``model`` section (configs/default.py)."""
  _check(cfg, backbone=BACKBONES, head=HEADS,
         node_classifier=NODE_CLASSIFIERS, dtype=DTYPES,
         upsample=UPSAMPLE_METHODS)
  return LGPN(backbone=build_backbone(cfg), graph_head=build_head(cfg),
              num_nodes=cfg.num_nodes, node_dim=cfg.node_dim,
              head_hidden=cfg.head_hidden,
              node_classifier=cfg.node_classifier, dtype=DTYPES[cfg.dtype])


def build_classifier(cfg: Mapping[str, Any], num_classes: int) -> Classifier:
  """The backbone of a model config plus a ``num_classes`` MLP head."""
  return Classifier(backbone=build_backbone(cfg), num_classes=num_classes)
