"""What a task is to the trainer and the evaluator.

A ``Task`` is bound to a config and answers everything that differs between
model parsing and classification (detection / attribution): the model, its
loss terms and their weights, the logged accuracies, the batch keys the train
step reads, the training stream, and the evaluation of a trained fold. The
trainer, ``run.py`` and ``eval.py`` talk to tasks only through this class;
``tasks.get(config)`` picks one.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import flax.linen as nn
import ml_collections
import numpy as np

from lgpn_jax.models import pretrained, weight_files
from lgpn_jax.red140 import graphs


class Task:
  """A task bound to ``config``; subclasses fill in the parts."""
  name: str = ''
  batch_keys: tuple[str, ...] = ()      # what the train step reads.
  parses_models: bool = False           # predict.py answers with its model.

  def __init__(self, config: ml_collections.ConfigDict):
    self.config = config

  # ---------------------------------------------------------------- checks
  def check(self) -> None:
    """Raises ValueError / KeyError for settings that cannot work."""

  def program_key(self) -> dict:
    """What, besides model / loss / optimizer, changes the compiled step."""
    return dict(task=self.name)

  # ----------------------------------------------------------------- model
  def build_model(self, model_cfg) -> nn.Module:
    raise NotImplementedError

  def pretrained(self, variables: Mapping) -> tuple[Mapping, str | None]:
    """``variables`` with the backbone loaded from ``model.init_from`` (an
    ImageNet file the user supplies: torchvision ResNet-50, timm ViT-B/16 or
    HRNet-W32 by ``model.backbone``, models/pretrained.py), and the load
    report's text (None when ``init_from`` is empty)."""
    path = self.config.model.get('init_from', '')
    if not path:
      return variables, None
    state_dict = weight_files.read_state_dict(path)
    variables, report = pretrained.load_pretrained(
        variables, state_dict, self.config.model.backbone)
    return variables, f'model.init_from={path}\n{report.summary()}'

  def adjacency(self) -> np.ndarray:
    """The fold's correlation graph (training GMs only, ``graph.tau``)."""
    c = self.config
    return graphs.fold_correlation_graph(c.fold, c.graph.tau, c.data.protocol)

  # ------------------------------------------------------------- objective
  @property
  def loss_weights(self) -> Mapping[str, float]:
    raise NotImplementedError

  def loss_terms(self, outputs: Mapping, batch: Mapping) -> dict:
    """{term: (per-image value [B], per-image weight [B])}."""
    raise NotImplementedError

  def accuracy_terms(self, outputs: Mapping, batch: Mapping):
    """(sums, counts) of the accuracies logged during training."""
    raise NotImplementedError

  def skip_term(self, skip_all_real_batches: bool) -> str | None:
    """The loss term whose zero weight makes a batch skipped (None: never)."""
    if skip_all_real_batches:
      raise ValueError(f'train.skip_all_real_batches is not defined for the '
                       f'{self.name} task')
    return None

  # ------------------------------------------------------------------ data
  def train_batches(self, builder, seed: int,
                    start_step: int = 0) -> Iterator[dict]:
    """This host's share of the global training batches ``start_step``,
    ``start_step + 1``, ... (infinite; batch s is a function of (seed, s)
    alone), each a dict of numpy arrays with ``batch_keys``."""
    raise NotImplementedError

  def num_train_examples(self, builder) -> int:
    """Training images of the fold (an epoch is this // batch_size steps)."""
    raise ValueError(f'epoch-based train settings are not defined for the '
                     f'{self.name} task: give train.num_steps')

  # ------------------------------------------------------------ evaluation
  def evaluate(self, workdir: str, fold: int, *, builder: Any = None,
               num_images: int | None = None,
               notes: Mapping | None = None) -> str:
    """Evaluates ``<workdir>/fold<fold>``; returns the JSON path. ``notes``
    are added to the JSON as they are."""
    raise NotImplementedError

  def selection_loss(self, variables, builder) -> float:
    """The released model selection's score of ``variables`` (lower is
    better)."""
    raise ValueError(f"train.selection='released' is not defined for the "
                     f'{self.name} task')

  def evaluate_trained(self, workdir: str, fold: int) -> str:
    """What training runs at its end (default: ``evaluate``)."""
    return self.evaluate(workdir, fold)

  def summary(self, report: Mapping) -> str:
    """One line of the headline numbers of an evaluation JSON."""
    raise NotImplementedError

  def aggregate(self, workdir: str, num_images: int | None = None
                ) -> tuple[dict, str] | None:
    """Mean +- std over the evaluated folds and its path (None: the task
    has no fold aggregate). ``num_images`` None: the config's."""
    return None


def select(batch: Mapping[str, np.ndarray], keys) -> dict:
  return {k: batch[k] for k in keys}
