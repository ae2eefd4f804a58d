"""The released script's model selection (``train.selection='released'``).

Every ``select_every_epochs`` epochs (after epochs 1, 6, 11, ...) the model
is scored on the fold's *test* GMs (the task's ``selection_loss``: the mean
node loss there) and, when the loss is the lowest so far, its variables are
saved to ``<fold_dir>/checkpoints_selected/``; ``selection.json`` keeps every
score. Evaluation then reads that checkpoint. This selects on the test fold,
so results are optimistic: the log and the evaluation JSON say so.
``selection='last'`` (the paper config) keeps the last checkpoint.
"""

from __future__ import annotations

import os

from lgpn_jax import checkpoint, files, rundir
from lgpn_jax.train import resolve, state as state_lib

WARNING = ('model selection on the test fold (the released script keeps the '
           'checkpoint with the lowest node loss on the held-out GMs): the '
           'reported numbers are optimistic')


class Selector:
  """Scores the state at the selection steps; keeps the best one."""

  def __init__(self, config, fold_dir: str, task, builder, main: bool):
    t = config.train
    self.enabled = t.get('selection', 'last') == 'released'
    self.steps = (set(resolve.selection_steps(t, t.steps_per_epoch))
                  if self.enabled else set())
    self.task, self.builder, self.main = task, builder, main
    self.path = rundir.selection_path(fold_dir)
    self.record = (files.read_json(self.path) if os.path.exists(self.path)
                   else dict(history=[], selected_step=None, loss=None,
                             warning=WARNING))
    self.mngr = (checkpoint.manager(fold_dir, keep=1, selected=True)
                 if self.enabled else None)

  def due(self, step: int) -> bool:
    return step in self.steps

  def __call__(self, step: int, state) -> dict:
    """Scores ``state`` (canonical) at ``step``; saves it if it is the best.
    Returns the row to log."""
    loss = self.task.selection_loss(state.variables, self.builder)
    best = self.record['loss']
    self.record['history'].append([step, loss])
    if best is None or loss <= best:
      state_lib.save_checkpoint(self.mngr, state)
      self.mngr.wait_until_finished()
      self.record.update(selected_step=step, loss=loss)
    if self.main:
      files.write_json(self.record, self.path)
    return dict(selection_loss=loss,
                selection_selected_step=self.record['selected_step'])

  def close(self):
    if self.mngr is not None:
      self.mngr.wait_until_finished()
