"""A trained fold loaded for inference: model, variables, graph, fold.

``load_fold_model(config, fold_dir)`` builds the model from the fold's saved
config (the architecture its checkpoint was trained with), restores the
latest checkpoint's variables and reads the fold's graph.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Callable

import numpy as np

from lgpn_jax import checkpoint, rundir
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import graphs


@dataclasses.dataclass
class FoldModel:
  """A trained fold ready for inference."""
  model: Any                 # the flax module.
  variables: Any             # {'params', 'batch_stats'}.
  adjacency: np.ndarray      # [55, 55] the fold's training correlation graph.
  step: int | None
  fold: int
  protocol: str
  selected: bool = False     # the released model selection's checkpoint.


def load_fold_model(config, fold_dir_path: str,
                    build: Callable = build_model) -> FoldModel:
  """The model, variables and graph of ``<workdir>/fold{k}``.

  The model section comes from the fold's saved config (the architecture the
  checkpoint was trained with) when it has one, else from ``config``;
  ``build`` makes the model from it (the task's ``build_model``). A fold
  trained with ``train.selection='released'`` is read from its selected
  checkpoint (lgpn_jax/train/selection.py), else the latest.
  """
  if not os.path.isdir(fold_dir_path):
    raise FileNotFoundError(f'no fold directory {fold_dir_path}: train the '
                            'fold first (train.py --config.fold=k)')
  fold = rundir.fold_of(fold_dir_path, config.get('fold'))
  saved = None
  if rundir.has_config(fold_dir_path):
    saved = rundir.load_fold_config(fold_dir_path)
  model_cfg = saved.model if saved is not None and 'model' in saved else config.model
  protocol = (saved.data.protocol if saved is not None and 'data' in saved
              else config.data.protocol)
  train_cfg = saved.train if saved is not None and 'train' in saved else None
  selected = (train_cfg is not None
              and train_cfg.get('selection', 'last') == 'released')
  variables, step = checkpoint.restore_for_inference(fold_dir_path,
                                                     selected=selected)
  adj_path = rundir.adjacency_path(fold_dir_path)
  if os.path.exists(adj_path):
    adjacency = np.load(adj_path)
  else:
    tau = saved.graph.tau if saved is not None and 'graph' in saved else config.graph.tau
    logging.warning('%s missing: rebuilding the fold %d graph (tau %s)',
                    adj_path, fold, tau)
    adjacency = graphs.fold_correlation_graph(fold, tau, protocol)
  return FoldModel(build(model_cfg), variables, adjacency,
                   None if step is None else int(step), fold, protocol,
                   selected)
