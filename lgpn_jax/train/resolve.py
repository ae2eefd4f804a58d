"""Epoch-based training settings resolved into steps for one fold's data.

``config.train`` may count in epochs (``num_epochs > 0``, piecewise
``lr_boundaries`` with ``lr_boundary_unit='epoch'``, ``selection='released'``
every ``select_every_epochs``). An epoch is ``num_examples // batch_size``
steps (the released loader drops the last partial batch), where
``num_examples`` counts every training image of the fold (generated and
real). ``resolve_steps`` returns a copy of the config with every such value
in steps, which is what the optimizer and the loop read; the fold's saved
config keeps the settings as written.
"""

from __future__ import annotations

import ml_collections

SELECTIONS = ('last', 'released')


def uses_epochs(train_cfg) -> bool:
  return (train_cfg.get('num_epochs', 0) > 0
          or (train_cfg.get('schedule') == 'piecewise'
              and train_cfg.get('lr_boundary_unit', 'step') == 'epoch')
          or train_cfg.get('selection', 'last') == 'released')


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  if num_examples < batch_size:
    raise ValueError(f'the fold has {num_examples} training images, fewer '
                     f'than one batch of {batch_size}')
  return num_examples // batch_size


def selection_steps(train_cfg, epoch_steps: int) -> list[int]:
  """Steps after which the released selection evaluates: the ends of epochs
  1, 1 + every, 1 + 2 every, ... (the released loop evaluates after epoch
  index e when e % every == 0)."""
  every = int(train_cfg.select_every_epochs)
  if every < 1:
    raise ValueError(f'train.select_every_epochs must be >= 1, got {every}')
  return list(range(epoch_steps, train_cfg.num_steps + 1, every * epoch_steps))


def resolve_steps(config: ml_collections.ConfigDict,
                  num_examples: int | None) -> ml_collections.ConfigDict:
  """A copy of ``config`` whose train section counts in steps only."""
  t = config.train
  if t.get('selection', 'last') not in SELECTIONS:
    raise ValueError(f'train.selection must be one of {SELECTIONS}, got '
                     f'{t.selection!r}')
  out = config.copy_and_resolve_references()
  if not uses_epochs(t):
    return out
  if num_examples is None:
    raise ValueError('epoch-based train settings need the number of '
                     'training images of the fold')
  spe = steps_per_epoch(num_examples, t.batch_size)
  with out.unlocked():
    r = out.train
    if r.get('num_epochs', 0) > 0:
      r.num_steps = int(r.num_epochs) * spe
    if r.get('schedule') == 'piecewise' and r.lr_boundary_unit == 'epoch':
      r.lr_boundaries = tuple(int(b) * spe for b in r.lr_boundaries)
      r.lr_boundary_unit = 'step'
    r.steps_per_epoch = spe
  return out
