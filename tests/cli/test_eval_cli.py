"""eval.py without a model: aggregation only, and clear errors."""

import pytest

from configs import tiny
from lgpn_jax import files, run, rundir


def test_aggregate_only_prints_the_paper_table(tmp_path, capsys, fake_report):
  for k, f1 in ((1, 0.8), (3, 0.9)):
    files.write_json(fake_report(f1, 0.1), rundir.eval_path(str(tmp_path), k))
  paths = run.evaluate(tiny.get_config(), str(tmp_path), all_folds=True,
                       aggregate_only=True)
  assert paths == [rundir.aggregate_path(str(tmp_path))]
  out = capsys.readouterr().out
  assert 'folds [1, 3]' in out and '85.0 +- 5.0' in out and '0.100 +- 0.000' in out


def test_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='no fold<k> directory'):
    run.evaluate(tiny.get_config(), str(tmp_path), all_folds=True)
  with pytest.raises(FileNotFoundError, match='no fold directory'):
    run.evaluate(tiny.get_config(), str(tmp_path), fold=2)
  with pytest.raises(ValueError, match='needs --all_folds'):
    run.evaluate(tiny.get_config(), str(tmp_path), aggregate_only=True)
  with pytest.raises(ValueError, match='fold must be 1..4'):
    run.evaluate(tiny.get_config(), str(tmp_path), fold=5)
