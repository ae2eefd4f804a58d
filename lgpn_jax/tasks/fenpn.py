"""FEN-PN as a model-parsing baseline: LGPN's folds, stream and evaluator with
FEN-PN's model (``models/fenpn.py``) and objectives (``losses/fenpn.py``).

Selected by ``config.model.name = 'fenpn'`` with ``config.task =
'model_parsing'`` (configs/fenpn.py). The training stream is model parsing's
plus ``gm_index`` (each image's GM, which picks its cluster and deviation
targets). The clusters are made from the fold's training GMs (those of its
``selection``: RED116, a train group) with the evaluator's normalisation
(``config.eval.normalisation``), so the deviation targets and the L1 metric
share one scale. Evaluation is model parsing's:
the same JSON, metrics and regression stage (on FEN-PN's ``node_features``).
"""

from __future__ import annotations

import functools

import numpy as np

from lgpn_jax.evaluation.parsing.regression import continuous_node_indices
from lgpn_jax.losses import fenpn as losses
from lgpn_jax.models.build import DTYPES
from lgpn_jax.models.fenpn import FEN, FENPN, PN
from lgpn_jax.red140 import schema, selection
from lgpn_jax.tasks import parsing

NAME = 'fenpn'


def node_hyperparameter() -> tuple[int, ...]:
  """Per node: its continuous hyperparameter (0..8), or -1."""
  out = [-1] * schema.NUM_NODES
  for h, nodes in enumerate(continuous_node_indices()):
    for n in nodes:
      out[int(n)] = h
  return tuple(out)


def num_loss_nodes() -> int:
  """The loss nodes, which the model expects first in label order."""
  loss = schema.family_nodes('loss')
  if not np.array_equal(loss, np.arange(len(loss))):
    raise ValueError('FEN-PN expects the loss nodes first in label order')
  return len(loss)


def build_model(model_cfg) -> FENPN:
  """The FEN-PN of a model config (configs/fenpn.py)."""
  if model_cfg.dtype not in DTYPES:
    raise ValueError(f'model.dtype must be one of {tuple(DTYPES)}, got '
                     f'{model_cfg.dtype!r}')
  dtype = DTYPES[model_cfg.dtype]
  hyper = node_hyperparameter()
  loss_nodes = num_loss_nodes()
  fen = FEN(layers=int(model_cfg.fen_layers), width=int(model_cfg.fen_width),
            dtype=dtype, bn_axis_name=model_cfg.bn_axis_name)
  pn = PN(num_loss_nodes=loss_nodes, num_arch_nodes=len(hyper) - loss_nodes,
          num_continuous=len(schema.CONTINUOUS_COLUMNS),
          clusters=int(model_cfg.clusters),
          conv_widths=tuple(model_cfg.pn_conv_widths),
          hidden=int(model_cfg.pn_hidden),
          branch_widths=tuple(model_cfg.pn_branch_widths),
          dropout=float(model_cfg.pn_dropout), dtype=dtype)
  return FENPN(fen=fen, pn=pn, node_hyperparameter=hyper)


class FENPNParsing(parsing.ModelParsing):
  """Model parsing with FEN-PN: its model, terms and accuracies, the fold's
  clusters (``clusters``), model parsing's stream and evaluator."""
  batch_keys = parsing.BATCH_KEYS + ('gm_index',)

  @functools.cached_property
  def clusters(self) -> losses.Clusters:
    c = self.config
    sel = selection.from_config(c)
    return losses.fold_clusters(sel.train, sel.normaliser(c.eval.normalisation),
                                int(c.model.clusters), seed=int(c.seed))

  def check(self):
    task = self.config.get('task', self.name)
    if task != self.name:
      raise ValueError(f'model.name={NAME!r} parses models: it needs '
                       f'config.task={self.name!r}, got {task!r}')
    size, radius = self.config.data.image_size, self.config.loss.low_freq_radius
    losses.low_frequency_window((size, size), int(radius))
    self.clusters  # noqa: B018 (fails early when the fold cannot be clustered)

  def program_key(self):
    return dict(task=self.name, clusters=self.clusters.fingerprint())

  def build_model(self, model_cfg):
    return build_model(model_cfg)

  @property
  def loss_weights(self):
    return losses.config_weights(self.config.loss)

  def loss_terms(self, outputs, batch):
    return losses.loss_terms(outputs, batch, self.clusters,
                             int(self.config.loss.low_freq_radius))

  def accuracy_terms(self, outputs, batch):
    return losses.accuracy_terms(outputs, batch, self.clusters)
