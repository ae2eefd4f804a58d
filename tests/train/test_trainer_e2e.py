"""train_and_evaluate end to end on the tiny synthetic build (8 CPU devices).

Every test here uses the same model, optimizer and mesh, so the trainer's
compiled-step cache compiles the train step once for the whole module (the
first training test pays for compiling it; all training tests are marked
slow). The batch and optimizer are those of test_learning.py (the
``train_overrides`` fixture), which then reuses the same compiled step.
"""

import json
import os
import re
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import tiny
from lgpn_jax import checkpoint, files, fold_identity, rundir, run
from lgpn_jax.mesh import host_value
from lgpn_jax.red140 import graphs
from lgpn_jax.tasks import parsing
from lgpn_jax.train import metric_writer, trainer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def config(on_tiny_build, train_overrides):
  c = on_tiny_build(tiny.get_config())
  t = c.train
  t.update(train_overrides)       # 4 images per simulated device.
  t.num_steps = 4
  t.checkpoint_every = 2
  t.log_every = 1
  t.real_fraction = 0.25
  t.run_evaluation = False
  return c


def params_of(state):
  return jax.tree.map(host_value, state.params)


def assert_trees_equal(a, b, **tol):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **tol), a, b)


@pytest.mark.slow
def test_one_step_writes_the_fold_dir(config, tmp_path):
  config.train.num_steps = 1
  result = run.train_and_evaluate(config, str(tmp_path))
  fold_dir = tmp_path / 'fold1'
  assert result.fold_dir == str(fold_dir) and result.step == 1
  assert int(host_value(result.state.step)) == 1
  np.testing.assert_array_equal(np.load(fold_dir / 'adjacency.npy'),
                                graphs.fold_correlation_graph(1, 0.45))
  saved = rundir.load_fold_config(str(fold_dir))
  assert saved.to_dict() == json.loads(config.to_json())
  rows = metric_writer.read_metrics(str(fold_dir))
  assert [r['step'] for r in rows] == [0, 1]
  assert rows[0]['num_params'] > 0 and rows[0]['devices'] == 8
  assert rows[0]['forward_flops_per_image'] > 0
  assert 0 < rows[0]['forward_matmul_flops_per_image'] < rows[0]['forward_flops_per_image']
  assert np.isfinite(rows[1]['loss']) and rows[1]['images_per_second'] > 0
  assert {'loss_node', 'loss_hierarchy', 'loss_artifact', 'learning_rate',
          'seconds_per_step', 'node_accuracy'} <= set(rows[1])
  variables, step = checkpoint.restore_for_inference(str(fold_dir))
  assert step == 1 and set(variables) == {'params', 'batch_stats'}
  assert_trees_equal(variables['params'], params_of(result.state), rtol=0)


@pytest.mark.slow
def test_resumed_run_ends_like_an_uninterrupted_one(config, tmp_path):
  whole = run.train_and_evaluate(config, str(tmp_path / 'whole'))
  fold_dir = str(tmp_path / 'whole' / 'fold1')
  assert checkpoint.manager(fold_dir, read_only=True).all_steps() == [2, 4]
  assert [r['step'] for r in metric_writer.read_metrics(fold_dir)] == [
      0, 1, 2, 3, 4]

  config.train.num_steps = 2       # "killed" right after the step-2 save...
  first = run.train_and_evaluate(config, str(tmp_path / 'cut'))
  assert first.step == 2
  config.train.num_steps = 4       # ... and restarted.
  resumed = run.train_and_evaluate(config, str(tmp_path / 'cut'))
  assert int(host_value(resumed.state.step)) == 4
  assert_trees_equal(params_of(resumed.state), params_of(whole.state),
                     rtol=1e-6, atol=1e-7)
  jax.tree.map(
      lambda x, y: np.testing.assert_allclose(
          host_value(x), host_value(y), rtol=1e-6,
          atol=1e-7), resumed.state.opt_state, whole.state.opt_state)
  cut_rows = metric_writer.read_metrics(str(tmp_path / 'cut' / 'fold1'))
  assert [r['step'] for r in cut_rows] == [0, 1, 2, 3, 4]
  whole_rows = metric_writer.read_metrics(fold_dir)
  np.testing.assert_allclose(cut_rows[-1]['loss'], whole_rows[-1]['loss'],
                             rtol=1e-5)


@pytest.mark.slow
def test_non_finite_loss_stops_without_a_bad_checkpoint(config, tmp_path,
                                                         monkeypatch):
  real = trainer.train_batches

  def poisoned(config, task, builder, start_step):
    for step, batch in enumerate(real(config, task, builder, start_step),
                                 start_step + 1):
      if step == 4:
        batch = dict(batch, image=np.full_like(batch['image'], np.nan))
      yield batch

  monkeypatch.setattr(trainer, 'train_batches', poisoned)
  config.train.num_steps = 6
  config.train.log_every = 100     # the check before the step-4 save finds it.
  with pytest.raises(FloatingPointError, match='non-finite values at step 4'):
    run.train_and_evaluate(config, str(tmp_path))
  fold_dir = str(tmp_path / 'fold1')
  assert checkpoint.manager(fold_dir, read_only=True).all_steps() == [2]
  last = metric_writer.read_metrics(fold_dir)[-1]    # the diverging row.
  assert last['step'] == 4
  assert 'nan' in (last['loss'], last['grad_norm'], last['param_norm'])


def _interrupted(real, at, action):
  """train_batches that calls ``action()`` when handing out step ``at``."""
  def batches(config, task, builder, start_step):
    for step, batch in enumerate(real(config, task, builder, start_step),
                                 start_step + 1):
      if step == at:
        action()
      yield batch
  return batches


@pytest.mark.slow
def test_sigterm_saves_then_resumes_exactly(config, tmp_path, monkeypatch):
  config.train.log_every = 1
  whole = run.train_and_evaluate(config, str(tmp_path / 'whole'))
  monkeypatch.setattr(trainer, 'train_batches', _interrupted(
      trainer.train_batches, 3,
      lambda: os.kill(os.getpid(), signal.SIGTERM)))
  cut = run.train_and_evaluate(config, str(tmp_path / 'cut'))
  fold_dir = str(tmp_path / 'cut' / 'fold1')
  assert cut.preempted and cut.step == 3
  assert checkpoint.manager(fold_dir, read_only=True).all_steps() == [2, 3]
  monkeypatch.undo()
  resumed = run.train_and_evaluate(config, str(tmp_path / 'cut'))
  assert resumed.step == 4 and not resumed.preempted
  assert_trees_equal(params_of(resumed.state), params_of(whole.state),
                     rtol=1e-6, atol=1e-7)
  steps = [r['step'] for r in metric_writer.read_metrics(fold_dir)]
  assert steps == [0, 1, 2, 3, 4]


@pytest.mark.slow
def test_rows_after_the_last_checkpoint_are_not_repeated(config, tmp_path,
                                                         monkeypatch):
  config.train.log_every = 1

  def crash():
    raise RuntimeError('killed')

  monkeypatch.setattr(trainer, 'train_batches', _interrupted(
      trainer.train_batches, 4, crash))
  with pytest.raises(RuntimeError, match='killed'):
    run.train_and_evaluate(config, str(tmp_path))
  fold_dir = str(tmp_path / 'fold1')
  assert [r['step'] for r in metric_writer.read_metrics(fold_dir)] == [
      0, 1, 2, 3]                               # checkpoint at 2 only.
  monkeypatch.undo()
  run.train_and_evaluate(config, str(tmp_path))
  assert [r['step'] for r in metric_writer.read_metrics(fold_dir)] == [
      0, 1, 2, 3, 4]


@pytest.mark.slow
def test_evaluation_stage_is_called_with_the_fold(config, tmp_path,
                                                  monkeypatch, capsys,
                                                  fake_report):
  config.train.num_steps = 1
  run.train_and_evaluate(config, str(tmp_path))
  calls = []

  def fit_for_fold(cfg, fold_dir, build=None):
    calls.append(('fit', fold_dir))

  def evaluate_fold(cfg, workdir, fold, num_images=None, builder=None,
                    notes=None, build=None):
    calls.append(('eval', workdir, fold))
    return files.write_json(fake_report(0.5, 0.1),
                            os.path.join(workdir, 'fold1', 'eval_fold1.json'))

  monkeypatch.setattr(parsing.evaluate_lib, 'fit_for_fold', fit_for_fold)
  monkeypatch.setattr(parsing.evaluate_lib, 'evaluate_fold', evaluate_fold)
  config.train.run_evaluation = True
  result = run.train_and_evaluate(config, str(tmp_path))   # no training.
  fold_dir = str(tmp_path / 'fold1')
  assert calls == [('fit', fold_dir), ('eval', str(tmp_path), 1)]
  assert result.eval_path == os.path.join(str(tmp_path), 'fold1',
                                          'eval_fold1.json')
  out = capsys.readouterr().out          # the result table, then what next.
  assert re.search(r'^model +50\.0 +80\.0 ', out, re.M), out
  assert f'python predict.py --workdir={tmp_path} --fold=1' in out
  config.train.run_evaluation = False
  assert run.train_and_evaluate(config, str(tmp_path)).eval_path is None


@pytest.mark.slow
def test_a_fold_keeps_its_identity(config, tmp_path):
  """Re-running a trained fold with a changed tau stops and leaves its
  files untouched; evaluating it at another image size stops too (unless
  overridden)."""
  config.train.num_steps = 1
  run.train_and_evaluate(config, str(tmp_path))
  fold_dir = tmp_path / 'fold1'
  before = {n: (fold_dir / n).read_bytes()
            for n in ('config.json', 'adjacency.npy')}
  changed = config.copy_and_resolve_references()
  changed.graph.tau = 0.3
  with pytest.raises(fold_identity.FoldMismatch, match='graph.tau: fold 0.45'):
    run.train_and_evaluate(changed, str(tmp_path))
  assert {n: (fold_dir / n).read_bytes() for n in before} == before
  bigger = config.copy_and_resolve_references()
  bigger.data.image_size = 64
  with pytest.raises(fold_identity.FoldMismatch, match='data.image_size'):
    run.evaluate(bigger, str(tmp_path), fold=1)
  longer = config.copy_and_resolve_references()
  longer.train.num_steps = 2                 # a run-time field: continues.
  assert run.train_and_evaluate(longer, str(tmp_path)).step == 2
  assert {n: (fold_dir / n).read_bytes() for n in before} == before


def test_bad_settings_fail_before_compiling(config, tmp_path):
  config.train.batch_size = 12
  with pytest.raises(ValueError, match='multiple of the 8 devices'):
    run.train_and_evaluate(config, str(tmp_path))
  config.train.batch_size = 32
  config.train.parallel = 'pjit'
  with pytest.raises(ValueError, match='train.parallel'):
    run.train_and_evaluate(config, str(tmp_path))


@pytest.mark.slow
def test_pmap_trains_checkpoints_and_resumes(config, tmp_path):
  config.train.parallel = 'pmap'
  config.train.num_steps = 2
  config.train.checkpoint_every = 1
  first = run.train_and_evaluate(config, str(tmp_path))
  variables, step = checkpoint.restore_for_inference(
      str(tmp_path / 'fold1'))
  assert step == 2
  assert_trees_equal(variables['params'], params_of(first.state), rtol=0)
  config.train.num_steps = 3
  again = run.train_and_evaluate(config, str(tmp_path))
  assert int(host_value(again.state.step)) == 3


def test_trainer_and_train_py_import_without_tensorflow():
  code = ('import sys, train, lgpn_jax.run, lgpn_jax.checkpoint; '
          'assert "tensorflow" not in sys.modules, "TF imported"')
  subprocess.run([sys.executable, '-c', code], cwd=REPO, check=True,
                 timeout=120)


def test_train_py_help_explains_itself():
  out = subprocess.run([sys.executable, 'train.py', '--help'], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  for word in ('--config', '--workdir', '--multihost', 'fold'):
    assert word in out.stdout
