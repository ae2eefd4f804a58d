"""Model parsing (LGPN): predict a GM's 55 hyperparameter nodes from an image.

Trains on the GMs of the other test sets (plus the GMs in no set and real
images, ``input_pipeline.pipeline.train_iterator``) and evaluates on the
fold's unseen GMs (``lgpn_jax/evaluation/parsing``).
"""

from __future__ import annotations

from input_pipeline import splits
from lgpn_jax import rundir
from lgpn_jax.evaluation.fold_model import FoldModel
from lgpn_jax.evaluation.parsing import aggregate as aggregate_lib
from lgpn_jax.evaluation.parsing import evaluate as evaluate_lib
from lgpn_jax.evaluation.parsing import passes, report
from lgpn_jax.evaluation.parsing.settings import settings
from lgpn_jax.losses import parsing as losses
from lgpn_jax.models.build import build_model
from lgpn_jax.tasks import base

BATCH_KEYS = ('image', 'label', 'is_generated')


class ModelParsing(base.Task):
  name = 'model_parsing'
  batch_keys = BATCH_KEYS

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

  def num_train_examples(self, builder):
    c = self.config
    names = splits.fold_split_names(c.fold, c.data.protocol)[0]
    return sum(builder.info.splits[s].num_examples for s in names
               if s in builder.info.splits)

  def selection_loss(self, variables, builder):
    c = self.config
    state = FoldModel(self.build_model(c.model), variables, self.adjacency(),
                      None, c.fold, c.data.protocol)
    return passes.heldout_node_loss(c, state, builder)

  def train_batches(self, builder, seed):
    from input_pipeline import pipeline  # TensorFlow is imported here only.
    c, t = self.config, self.config.train
    it = pipeline.train_iterator(
        builder, c.fold, c.data.protocol, batch_size=t.batch_size,
        image_size=c.data.image_size, real_fraction=t.real_fraction,
        seed=seed, deterministic=t.deterministic_data)
    for batch in it:
      yield base.select(batch, self.batch_keys)

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
