"""Model parsing (LGPN): predict a GM's 55 hyperparameter nodes from an image.

Trains on the GMs of the other test sets (plus the GMs in no set and real
images) and evaluates on the fold's unseen GMs (``lgpn_jax/evaluation/
parsing``). Which GMs, images and labels a fold uses is its
``red140.selection.Selection`` (the paper's fold unless the config's
``selection`` / ``labels`` sections say otherwise); the training stream is
``tasks/streams.py``.
"""

from __future__ import annotations

import collections

from input_pipeline import splits
from lgpn_jax import rundir
from lgpn_jax.evaluation.fold_model import FoldModel
from lgpn_jax.evaluation.parsing import aggregate as aggregate_lib
from lgpn_jax.evaluation.parsing import evaluate as evaluate_lib
from lgpn_jax.evaluation.parsing import passes, report
from lgpn_jax.evaluation.parsing.settings import settings
from lgpn_jax.losses import parsing as losses
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import schema, selection
from lgpn_jax.tasks import base, streams

BATCH_KEYS = ('image', 'label', 'is_generated')


class ModelParsing(base.Task):
  name = 'model_parsing'
  batch_keys = BATCH_KEYS
  parses_models = True

  def build_model(self, model_cfg):
    return build_model(model_cfg)

  @property
  def loss_weights(self):
    return losses.config_weights(self.config.loss)

  def loss_terms(self, outputs, batch):
    c = self.config
    return losses.loss_terms(outputs, batch,
                             losses.model_targets(c.model, c.loss),
                             c.loss.hierarchy_on_real)

  def accuracy_terms(self, outputs, batch):
    return losses.accuracy_terms(outputs, batch)

  def skip_term(self, skip_all_real_batches):
    return 'node' if skip_all_real_batches else None

  def check(self):
    selection.from_config(self.config)   # the fold's GMs and tables exist.
    streams.check_labels(self.config)

  def adjacency(self):
    """The graph of the labels the fold's training GMs carry (tau)."""
    return selection.from_config(self.config).adjacency(
        self.config.graph.tau)

  def num_train_examples(self, builder):
    """The fold's training images: real images plus the generated images of
    its training GMs, less the held-out share. For a selection of GMs inside
    the build's splits (RED116, groups) a split's images are counted as
    spread evenly over its GMs (the build records counts per split only)."""
    sel = selection.from_config(self.config)
    have = builder.info.splits
    per_split = collections.Counter(splits.split_of(g.name)
                                    for g in schema.gms())
    chosen = collections.Counter(splits.split_of(n) for n in sel.train)
    generated = sum(have[s].num_examples * k / per_split[s]
                    for s, k in chosen.items() if s in have)
    real = have[splits.REAL].num_examples if splits.REAL in have else 0
    return real + round(generated * (1 - sel.holdout_percent / 100))

  def selection_loss(self, variables, builder):
    c = self.config
    state = FoldModel(self.build_model(c.model), variables, self.adjacency(),
                      None, c.fold, c.data.protocol)
    return passes.heldout_node_loss(c, state, builder)

  def train_batches(self, builder, seed, start_step=0):
    return streams.parsing_batches(self.config, builder, seed,
                                   self.batch_keys, start_step)

  def evaluate(self, workdir, fold, *, builder=None, num_images=None,
               notes=None):
    return evaluate_lib.evaluate_fold(self.config, workdir, fold,
                                      num_images=num_images, builder=builder,
                                      notes=notes, build=self.build_model)

  def evaluate_trained(self, workdir, fold):
    """The regression stage on the training split, then the test split."""
    evaluate_lib.fit_for_fold(self.config, rundir.fold_dir(workdir, fold),
                              build=self.build_model)
    return self.evaluate(workdir, fold)

  def summary(self, rep):
    return report.format_summary(rep)

  def aggregate(self, workdir, num_images=None):
    n = num_images or int(settings(self.config)['num_images'])
    return aggregate_lib.aggregate(workdir, n)
