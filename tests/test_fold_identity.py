"""A fold's identity: the fields that define it, and the refusal to run a
disagreeing config on it (no model, no data)."""

import pytest

from configs import tiny
from lgpn_jax import fold_identity, rundir


def test_defining_fields_and_runtime_fields():
  c = tiny.get_config()
  d = fold_identity.defining(c)
  assert d['graph.tau'] == 0.45 and d['model.node_dim'] == 16
  assert 'train.learning_rate' in d and 'loss.artifact_weight' in d
  for runtime in ('train.num_steps', 'train.log_every', 'model.remat',
                  'train.eval_batch_size', 'eval.batch_size', 'data.data_dir'):
    assert runtime not in d, runtime


def test_check_refuses_a_disagreeing_config_and_names_both_values(tmp_path):
  saved = tiny.get_config()
  fold_dir = str(tmp_path / 'fold1')
  assert fold_identity.check(saved, fold_dir) == []     # nothing saved yet.
  rundir.save_fold_files(fold_dir, saved, [[0.0]])
  same = tiny.get_config()
  same.train.num_steps = 10_000           # a run-time field: allowed.
  same.eval.num_pairs = 3
  assert fold_identity.check(same, fold_dir) == []
  other = tiny.get_config()
  other.graph.tau = 0.3
  other.data.image_size = 64
  with pytest.raises(fold_identity.FoldMismatch) as e:
    fold_identity.check(other, fold_dir)
  message = str(e.value)
  assert '\n' not in message
  assert 'graph.tau: fold 0.45, command line 0.3' in message
  assert 'data.image_size: fold 32, command line 64' in message
  diffs = fold_identity.check(other, fold_dir, override=True,
                              action='evaluate')
  assert ('graph.tau', 0.45, 0.3) in diffs
