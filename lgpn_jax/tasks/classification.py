"""GTC's extended uses as tasks of the trainer: which images, which classes.

``config.task``:
  * 'detection': real (class 0) vs generated (class 1). Trains on the GMs of
    ``config.task_data.train_gms`` plus real images; tests on the GMs of
    ``task_data.test_gms`` (unseen in training: all their images) plus the
    held-out real images;
  * 'attribution': k-way, class 0 = real, class i = the i-th GM of
    ``task_data.attribution_gms``; trains and tests on disjoint images of the
    same sources.
Images of a source used on both sides (real images; attribution's GMs) are
split by a hash of their record (``task_data.holdout_percent`` % to the test
part; input_pipeline/task_data); detection's training GMs give all their
images to training.
The model is ``models.build.build_classifier`` (GTC or ResNet-50 + MLP head),
the objective one softmax cross-entropy (``losses/classification.py``), the
evaluation ``evaluation/classification.py``. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lgpn_jax.evaluation import classification as evaluation
from lgpn_jax.losses import classification as losses
from lgpn_jax.models.build import build_classifier
from lgpn_jax.red140 import schema
from lgpn_jax.tasks import base

TASKS = ('detection', 'attribution')
NUM_SOURCES = 141        # real + 140 GMs; table index = gm_index + 1.
BATCH_KEYS = ('image', 'class_label')


def resolve(names, field: str) -> list[str]:
  """Checked GM names (KeyError with close matches for unknown ones)."""
  if isinstance(names, str):
    names = [n for n in names.split(',') if n]
  out = []
  for n in names:
    try:
      out.append(schema.get_gm(n.strip()).name)
    except KeyError as e:
      raise KeyError(f'config.task_data.{field}: {e.args[0]}') from None
  if len(set(out)) != len(out):
    raise ValueError(f'config.task_data.{field} names a GM twice: {out}')
  return out


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  """Everything the data, the model and the metrics need about a task."""
  task: str
  class_names: tuple[str, ...]   # index = class label.
  train_table: np.ndarray        # [141] class of each source in training, -1 out.
  train_by_hash: np.ndarray      # [141] bool: source split by record hash.
  test_table: np.ndarray
  test_by_hash: np.ndarray
  train_gms: tuple[str, ...]
  test_gms: tuple[str, ...]

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def _table(entries: dict[int, int]) -> np.ndarray:
  t = np.full(NUM_SOURCES, -1, np.int32)
  for source, cls in entries.items():
    t[source] = cls
  return t


def _mask(sources) -> np.ndarray:
  m = np.zeros(NUM_SOURCES, bool)
  m[list(sources)] = True
  return m


def spec(config) -> TaskSpec:
  """The TaskSpec of a detection or attribution config."""
  task = config.task
  if task not in TASKS:
    raise ValueError(f'{task!r} is not a classification task {TASKS}')
  d = config.task_data
  idx = schema.gm_index()
  if task == 'detection':
    train = resolve(d.train_gms, 'train_gms')
    test = resolve(d.test_gms, 'test_gms')
    if not train or not test:
      raise ValueError('detection needs task_data.train_gms and '
                       'task_data.test_gms (GM names)')
    both = sorted(set(train) & set(test))
    if both:
      raise ValueError(f'detection tests on unseen GMs, but {both} are in '
                       'both task_data.train_gms and task_data.test_gms')
    train_src = [0] + [idx[n] + 1 for n in train]
    test_src = [0] + [idx[n] + 1 for n in test]
    return TaskSpec(
        task, ('real', 'generated'),
        _table({s: int(s > 0) for s in train_src}), _mask([0]),
        _table({s: int(s > 0) for s in test_src}), _mask([0]),
        tuple(train), tuple(test))
  gms = resolve(d.attribution_gms, 'attribution_gms')
  if not gms:
    raise ValueError('attribution needs task_data.attribution_gms (GM names)')
  sources = {0: 0, **{idx[n] + 1: i + 1 for i, n in enumerate(gms)}}
  table = _table(sources)
  return TaskSpec(task, ('real', *gms), table, _mask(sources), table,
                  _mask(sources), tuple(gms), tuple(gms))


# Per task: (report of the test predictions, its one-line summary).
_EVALUATORS = {
    'detection': (evaluation.detection_report, evaluation.detection_summary),
    'attribution': (evaluation.attribution_report,
                    evaluation.attribution_summary),
}


class Classification(base.Task):
  """Detection or attribution (``config.task``), described by ``spec``."""
  batch_keys = BATCH_KEYS

  def __init__(self, config):
    super().__init__(config)
    self.name = config.task
    self._report, self._summary = _EVALUATORS[self.name]

  @property
  def spec(self) -> TaskSpec:
    return spec(self.config)   # unknown GM names fail here, with close names.

  def check(self):
    self.spec  # noqa: B018 (validates task_data)

  def program_key(self):
    return dict(task=self.name, classes=self.spec.num_classes)

  def build_model(self, model_cfg):
    return build_classifier(model_cfg, self.spec.num_classes)

  @property
  def loss_weights(self):
    return losses.WEIGHTS

  def loss_terms(self, outputs, batch):
    return losses.loss_terms(outputs, batch)

  def accuracy_terms(self, outputs, batch):
    return losses.accuracy_terms(outputs, batch)

  def train_batches(self, builder, seed, start_step=0):
    from input_pipeline import task_data  # TensorFlow is imported here only.
    c, t, s = self.config, self.config.train, self.spec
    it = task_data.train_iterator(
        builder, s.train_table, s.train_by_hash, batch_size=t.batch_size,
        image_size=c.data.image_size,
        holdout_percent=c.task_data.holdout_percent,
        real_fraction=c.task_data.real_fraction, sampling=t.sampling,
        seed=seed, start_step=start_step)
    for batch in it:
      yield base.select(batch, self.batch_keys)

  def evaluate(self, workdir, fold, *, builder=None, num_images=None,
               notes=None):
    del num_images   # one image per prediction.
    return evaluation.evaluate_fold(self.config, workdir, fold, self.spec,
                                    self._report, builder=builder,
                                    notes=notes)

  def summary(self, report):
    return self._summary(report)
