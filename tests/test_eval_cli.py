"""eval.py without a model: aggregation only, and clear errors."""

import importlib

import pytest

from configs import tiny
from lgpn_jax import evaluate
from test_eval_report import fake_report

eval_cli = importlib.import_module('eval')


def test_aggregate_only_prints_the_paper_table(tmp_path, capsys):
  for k, f1 in ((1, 0.8), (3, 0.9)):
    evaluate.write_json(fake_report(f1, 0.1), evaluate.json_path(str(tmp_path), k))
  paths = eval_cli.run(tiny.get_config(), str(tmp_path), all_folds=True,
                       aggregate_only=True)
  assert paths == [evaluate.aggregate_path(str(tmp_path))]
  out = capsys.readouterr().out
  assert 'folds [1, 3]' in out and '85.0 +- 5.0' in out and '0.100 +- 0.000' in out


def test_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='no fold<k> directory'):
    eval_cli.run(tiny.get_config(), str(tmp_path), all_folds=True)
  with pytest.raises(FileNotFoundError, match='no fold directory'):
    eval_cli.run(tiny.get_config(), str(tmp_path), fold=2)
  with pytest.raises(ValueError, match='needs --all_folds'):
    eval_cli.run(tiny.get_config(), str(tmp_path), aggregate_only=True)
  with pytest.raises(ValueError, match='fold must be 1..4'):
    eval_cli.run(tiny.get_config(), str(tmp_path), fold=5)
