"""What an experiment costs: trainings, steps, images and estimated GPU time.

``estimate(exp, size)`` counts the trainings (variants x folds; ``skip``
leaves out variants an earlier experiment in the same workdir trained) and
their images
(``train.num_steps x train.batch_size`` of each variant's config), and
estimates one GPU's time at ``TRAIN_IMAGES_PER_SECOND`` plus evaluation
passes at ``EVAL_IMAGES_PER_SECOND``. No GPU run exists yet: both rates are
estimates from docs/PERFORMANCE.md's H100 roofline (training floor 403
img/s, of which XLA typically reaches 60-75 %: 250; inference floor 1,367
img/s unfolded, 60 %: 800), for the full GTC model; ResNet-50 and lighter
heads train faster, so rows with them are over-estimated.
"""

from __future__ import annotations

from lgpn_jax.experiments import spec

TRAIN_IMAGES_PER_SECOND = 250.0
EVAL_IMAGES_PER_SECOND = 800.0
# Images an evaluation pass reads on RED140: the training split (regression
# stage) and the test split, about 1,000 per GM over ~125 + ~15 GMs.
EVAL_IMAGES = 140_000


def estimate(exp: spec.Experiment, size: str = 'full',
             train_rate: float = TRAIN_IMAGES_PER_SECOND,
             eval_rate: float = EVAL_IMAGES_PER_SECOND,
             skip: frozenset = frozenset()) -> dict:
  """{'variants', 'folds', 'trainings', 'steps', 'images', 'gpu_hours'};
  ``skip``: names of variants already counted (trained once per workdir)."""
  folds = exp.folds(size)
  steps, images = [], 0
  for variant in exp.variants():
    if variant.name in skip:
      continue
    config = spec.build_config(variant, size, folds[0], (), exp.quick)
    steps.append(int(config.train.num_steps))
    images += len(folds) * int(config.train.num_steps) * int(
        config.train.batch_size)
  new = [v for v in exp.variants() if v.name not in skip]
  evals = sum(len(exp.evaluations(v)) for v in exp.variants()) * len(folds)
  seconds = images / train_rate + evals * EVAL_IMAGES / eval_rate
  return dict(variants=len(new), folds=len(folds),
              trainings=len(new) * len(folds),
              steps=sorted(set(steps)), images=images,
              gpu_hours=seconds / 3600.0)
