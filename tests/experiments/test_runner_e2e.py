"""The runner end to end on the tiny synthetic build: one variant trained for
two steps, its standard evaluation, the concatenation head for two k at once
and another test group (averaging is eval.py's --num_images, tested in
tests/evaluation), the table, and a rerun that skips the finished fold. The
batch and optimizer are the training tests' (``train_overrides``), so the
trainer's compiled step is shared with them."""

import json
import os

import pytest

from lgpn_jax.experiments import cells, layout, reported, runner, spec
from lgpn_jax.experiments.spec import Evaluation, Row
from lgpn_jax.red140 import selection

VARIANT = spec.Variant('lgpn_selected', 'selected')
EXP = spec.Experiment(
    name='e2e', title='runner end to end', what='every evaluation kind',
    rows=(Row('standard', VARIANT),
          Row('concat 1', VARIANT, Evaluation('concat', 1)),
          Row('concat 2', VARIANT, Evaluation('concat', 2)),
          Row('test face', VARIANT, Evaluation('test_group', test_group='face')),
          Row('not buildable', pending='no such backbone')),
    columns=cells.PAPER, cells=cells.paper,
    references=(reported.red140_row('LGPN', 'gtc_gcn'),))


@pytest.mark.slow
def test_runner_trains_evaluates_writes_the_table_and_skips_on_rerun(
    synthetic_dir, tiny_build, train_overrides, tmp_path):
  overrides = [('data.data_dir', synthetic_dir),
               ('data.images_per_gm', tiny_build['images_per_gm']),
               ('data.num_real', tiny_build['num_real']),
               ('train.num_steps', 2), ('train.checkpoint_every', 2),
               ('multi_image.steps', 3)]
  overrides += [(f'train.{k}', v) for k, v in train_overrides.items()]
  logs = []
  out = runner.run(EXP, str(tmp_path), 'quick', overrides=overrides,
                   log=logs.append)
  assert (out['done'], out['skipped']) == (1, 0)
  vdir = layout.variant_dir(str(tmp_path), VARIANT.name)
  reports = {}
  for row in EXP.rows[:-1]:
    with open(row.evaluation.path(vdir, 1)) as f:
      reports[row.label] = json.load(f)
    assert reports[row.label]['checkpoint_step'] == 2, row.label
  assert reports['concat 2']['multi_image']['k'] == 2
  assert reports['concat 1']['num_predictions'] == reports['standard'][
      'num_generated_images']
  face = selection.read_groups()
  assert reports['test face']['test_gms']
  assert all(face[g] == 'face' for g in reports['test face']['test_gms'])
  assert set(reports['standard']['test_gms']) > set(
      reports['test face']['test_gms'])
  assert sorted(out['table']) == ['csv', 'json', 'md', 'tex']
  with open(out['table']['md']) as f:
    text = f.read()
  assert text.count('1 of 1 folds') == 4 and '0 of 1 folds' in text
  assert 'pending: no such backbone' in text and 'rebuttal R.7' in text
  # A rerun finds everything finished: nothing is trained or evaluated.
  mtime = os.path.getmtime(EXP.rows[1].evaluation.path(vdir, 1))
  again = runner.run(EXP, str(tmp_path), 'quick', overrides=overrides,
                     log=logs.append)
  assert (again['done'], again['skipped']) == (0, 1)
  assert os.path.getmtime(EXP.rows[1].evaluation.path(vdir, 1)) == mtime
  assert any('finished before, skipped' in line for line in logs)
