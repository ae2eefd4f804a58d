"""What an experiment costs: trainings, images and estimated GPU time.

``estimate(exp, size)`` counts the trainings (variants x folds; ``skip``
leaves out variants an earlier experiment in the same workdir trained) and
the images they train on: ``num_epochs`` epochs of the fold's training GMs at
``IMAGES_PER_GM`` each (RED140 holds about 1,000 per GM; real images add
their share, not counted here) or ``num_steps x batch_size`` for configs that
count in steps. It estimates one GPU's time at ``TRAIN_IMAGES_PER_SECOND``
plus one evaluation pass per evaluation at ``EVAL_IMAGES_PER_SECOND``. No
GPU run exists yet: both rates are estimates from docs/PERFORMANCE.md's H100
roofline (training floor 403 img/s, of which XLA typically reaches 60-75 %:
250; inference floor 1,367 img/s unfolded, 60 %: 800), for the full GTC
model; ResNet-50 and lighter heads train faster, so their rows are
over-estimated.
"""

from __future__ import annotations

from lgpn_jax.experiments import spec
from lgpn_jax.red140 import selection

TRAIN_IMAGES_PER_SECOND = 250.0
EVAL_IMAGES_PER_SECOND = 800.0
IMAGES_PER_GM = 1000
# Images an evaluation pass reads: the training split (regression stage)
# and the test split, about 1,000 per GM over the 140 GMs.
EVAL_IMAGES = 140 * IMAGES_PER_GM


def training_images(config) -> int:
  """Images one training of ``config`` draws (epochs: an estimate)."""
  t = config.train
  if t.get('num_epochs', 0) > 0:
    gms = len(selection.from_config(config).train)
    return int(t.num_epochs) * gms * IMAGES_PER_GM
  return int(t.num_steps) * int(t.batch_size)


def estimate(exp: spec.Experiment, size: str = 'full',
             train_rate: float = TRAIN_IMAGES_PER_SECOND,
             eval_rate: float = EVAL_IMAGES_PER_SECOND,
             skip: frozenset = frozenset()) -> dict:
  """{'variants', 'folds', 'trainings', 'epochs', 'images', 'gpu_hours'}."""
  folds = exp.folds(size)
  new = [v for v in exp.variants() if v.name not in skip]
  images, epochs = 0, set()
  for variant in new:
    for fold in folds:
      config = spec.build_config(variant, size, fold, (), exp.quick)
      images += training_images(config)
      epochs.add(int(config.train.get('num_epochs', 0)))
  evals = sum(len(exp.evaluations(v)) for v in exp.variants()) * len(folds)
  seconds = images / train_rate + evals * EVAL_IMAGES / eval_rate
  return dict(variants=len(new), folds=len(folds),
              trainings=len(new) * len(folds), epochs=sorted(epochs),
              images=images, gpu_hours=seconds / 3600.0)
