"""The released model selection end to end on the tiny synthetic build:
epochs resolved from the fold's images, the held-out loss scored at the
released points, the best checkpoint kept and read by the evaluation, with
the warning in the report."""

import os

import numpy as np
import pytest

from configs import tiny
from lgpn_jax import checkpoint, files, rundir, run


@pytest.mark.slow
def test_released_selection_keeps_the_lowest_held_out_loss(
    on_tiny_build, train_overrides, tmp_path):
  c = on_tiny_build(tiny.get_config())
  t = c.train
  t.update(train_overrides)    # (the training tests' compiled step.)
  t.num_epochs = 3
  t.selection = 'released'
  t.select_every_epochs = 2          # scored after epochs 1 and 3.
  t.checkpoint_every = 1000
  t.log_every = 1000
  c.eval.plots = False
  c.eval.num_pairs = 50
  result = run.train_and_evaluate(c, str(tmp_path))
  fold_dir = str(tmp_path / 'fold1')
  record = files.read_json(rundir.selection_path(fold_dir))
  (s1, loss1), (s3, loss3) = record['history']
  assert s3 == 3 * s1 == result.step        # epochs of s1 steps each.
  best = s1 if loss1 <= loss3 else s3
  assert record['selected_step'] == best
  assert record['loss'] == min(loss1, loss3) and np.isfinite(record['loss'])
  assert checkpoint.manager(fold_dir, read_only=True,
                            selected=True).all_steps() == [best]
  report = files.read_json(result.eval_path)
  assert report['checkpoint_step'] == best
  assert 'test fold' in report['model_selection']['warning']
  assert os.path.exists(rundir.checkpoint_dir(fold_dir))
