"""The per-device train step of the classification tasks (detection,
attribution), with train_step.py's conventions: globally normalised loss
shares, psum-ed gradients, synchronised BatchNorm, the same metrics (loss,
its term, accuracy, norms, learning rate, ``finite``).
"""

from __future__ import annotations

from typing import Callable

import optax

from lgpn_jax import task_losses, train_step
from lgpn_jax.parallel import AXIS

BATCH_KEYS = ('image', 'class_label')   # what the step reads.


def make_task_train_step(model, tx: optax.GradientTransformation,
                         schedule: optax.Schedule, adjacency,
                         axis_name: str = AXIS) -> Callable:
  """``step(state, batch, rng)`` for one device of axis ``axis_name``.

  ``model`` is a ``classifier.Classifier`` built with
  ``bn_axis_name=axis_name``; ``adjacency`` is passed through (ignored).
  """
  return train_step.make_step(model, tx, schedule, adjacency,
                              task_losses.loss_terms, task_losses.WEIGHTS,
                              task_losses.accuracy_terms, axis_name)
