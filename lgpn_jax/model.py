"""LGPN: backbone -> 55 node heads -> graph head -> node and real/fake classifiers.

``build_model(config.model)`` picks the parts by name, so baselines and
ablations are configs of this one module:
  backbone: 'gtc' | 'resnet50';  head: 'gcn_refinement' | 'mlp' |
  'stacked_gcn' | 'att_gcn';  node_classifier: 'sigmoid' (one logit per node,
  the paper) | 'softmax' (two logits per node, the released code).
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax import gcn
from lgpn_jax.gtc import GTC, UPSAMPLE_METHODS
from lgpn_jax.node_heads import MLP, NodeHeads
from lgpn_jax.resnet import ResNet50

BACKBONES = ('gtc', 'resnet50')
NODE_CLASSIFIERS = {'sigmoid': 1, 'softmax': 2}
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


class LGPN(nn.Module):
  """images [B, H, W, 3] in [-1, 1], adjacency [N, N] -> dict of outputs:

  node_logits [B, N] ('sigmoid') or [B, N, 2] ('softmax'); real_fake_logits
  [B, 2]; features f [B, F]; node_features [B, N, D] (after the graph head);
  matchings / correlations / masks (tuples, see gcn.GraphOutput).
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


def _upsample(cfg) -> str:
  # Configs saved before the field existed (a fold's config.json) mean 'resize'.
  return cfg.get('upsample', 'resize')


def _backbone(cfg, dtype) -> nn.Module:
  # fold_bn: absent from configs saved before the field existed (= False).
  common = dict(features=cfg.feature_dim, stem_width=cfg.stem_width,
                stage_sizes=tuple(cfg.stage_sizes), widths=tuple(cfg.widths),
                dtype=dtype, bn_axis_name=cfg.bn_axis_name,
                remat=cfg.remat, fold_bn=bool(cfg.get('fold_bn', False)))
  if cfg.backbone == 'gtc':
    return GTC(pyramid_width=cfg.pyramid_width, stem_bn=cfg.stem_bn,
               upsample=_upsample(cfg), **common)
  return ResNet50(**common)


def _head(cfg) -> nn.Module:
  if cfg.head == 'gcn_refinement':
    return gcn.RefinementHead(
        pool_sizes=tuple(cfg.pool_sizes), layers_per_block=cfg.gcn_layers,
        attention=cfg.attention, empty_rows=cfg.empty_rows,
        dropout=cfg.gcn_dropout, corr_scale=cfg.corr_scale,
        edge_threshold=cfg.edge_threshold,
        pooled_nonedge_value=cfg.pooled_nonedge_value)
  if cfg.head in ('stacked_gcn', 'att_gcn'):
    return gcn.StackedGCNHead(layers=cfg.stacked_layers,
                              attention=cfg.head == 'att_gcn',
                              empty_rows=cfg.empty_rows,
                              dropout=cfg.gcn_dropout)
  return gcn.MLPHead()


def build_model(cfg: Mapping[str, Any]) -> LGPN:
  """The model described by a config's ``model`` section (see configs/default.py)."""
  checks = dict(backbone=BACKBONES, head=gcn.HEADS,
                node_classifier=tuple(NODE_CLASSIFIERS), dtype=tuple(DTYPES))
  for field, allowed in checks.items():
    if cfg[field] not in allowed:
      raise ValueError(f'model.{field} must be one of {allowed}, '
                       f'got {cfg[field]!r}')
  if _upsample(cfg) not in UPSAMPLE_METHODS:
    raise ValueError(f'model.upsample must be one of {UPSAMPLE_METHODS}, '
                     f'got {_upsample(cfg)!r}')
  dtype = DTYPES[cfg.dtype]
  return LGPN(backbone=_backbone(cfg, dtype), graph_head=_head(cfg),
              num_nodes=cfg.num_nodes, node_dim=cfg.node_dim,
              head_hidden=cfg.head_hidden,
              node_classifier=cfg.node_classifier, dtype=dtype)
