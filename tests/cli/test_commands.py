"""The commands as a user runs them (subprocesses): bad configs and bad paths
end in one error line and exit status 2 (the traceback only with --verbose),
train.py --dry_run describes a run and trains nothing, and stderr is quiet
(no INFO lines, no progress-bar frames) when it is not a terminal."""

import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from configs import tiny
from lgpn_jax import tasks
from lgpn_jax.evaluation import imported_fold
from lgpn_jax.models import synthetic_weights
from lgpn_jax.train import state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# An INFO line of absl (Python or C++), Python logging or TensorFlow.
NOISE = re.compile(r'^(I\d{4} |INFO|WARNING|W\d{4} )|\r', re.M)


def start(script, *args):
  return subprocess.Popen([sys.executable, script, *args], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def finish(proc):
  out, err = proc.communicate(timeout=600)
  return proc.returncode, out, err


def run_all(cases):
  """{name: (script, args)} -> {name: (status, stdout, stderr)}, run at once."""
  procs = {name: start(script, *args) for name, (script, args) in
           cases.items()}
  return {name: finish(p) for name, p in procs.items()}


def assert_one_error_line(name, result, *expected):
  status, _, err = result
  assert status == 2, (name, err)
  assert 'Traceback' not in err, (name, err)
  errors = [line for line in err.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1 and err.startswith('error: '), (name, err)
  for text in expected:
    assert text in errors[0], (name, errors[0])


@pytest.fixture(scope='module')
def imported_workdir(imported_tiny_fold):
  return imported_tiny_fold[2]


RED140_TINY = ['--config.data.dataset=red140', '--config.data.store_size=32']


@pytest.fixture(scope='module')
def red140_workdir(imported_tiny_fold, tmp_path_factory):
  """A fold of a RED140 config (released_tiny on RED140 at 32x32)."""
  config, sd, _ = imported_tiny_fold
  config = config.copy_and_resolve_references()
  config.data.dataset, config.data.store_size = 'red140', 32
  root = tmp_path_factory.mktemp('red140_fold')
  weights = synthetic_weights.write_safetensors(root / 'w.safetensors', sd)
  imported_fold.write_fold(str(weights), str(root / 'runs'), config, 1)
  return str(root / 'runs')


@pytest.mark.slow
def test_train_fails_in_one_line(tmp_path):
  base = ['--config=configs/tiny.py', f'--workdir={tmp_path / "runs"}',
          f'--config.data.data_dir={tmp_path / "data"}']
  results = run_all({
      'field': ('train.py', base + ['--config.model.no_such_field=1']),
      'fold': ('train.py', base + ['--config.fold=7']),
      'protocol': ('train.py', base + ['--config.data.protocol=papr']),
      'dataset': ('train.py', base + ['--config.data.dataset=synthetc']),
      'red140': ('train.py', base + ['--config.data.dataset=red140',
                                     '--config.data.store_size=32']),
      'config_file': ('train.py', ['--config=configs/nope.py',
                                   f'--workdir={tmp_path}']),
  })
  assert_one_error_line('field', results['field'], 'no_such_field')
  assert_one_error_line('fold', results['fold'], 'fold must be 1..4, got 7')
  assert_one_error_line('protocol', results['protocol'], "'papr'")
  assert_one_error_line('dataset', results['dataset'], "'synthetc'")
  assert_one_error_line('red140', results['red140'], 'RED140', 'is not built')
  assert_one_error_line('config_file', results['config_file'], 'nope.py')
  assert not os.path.exists(tmp_path / 'runs')       # nothing written.
  verbose = subprocess.run(
      [sys.executable, 'train.py', *base, '--config.fold=7', '--verbose'],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert verbose.returncode == 2 and 'Traceback' in verbose.stderr


@pytest.mark.slow
def test_eval_and_predict_fail_in_one_line(imported_workdir, red140_workdir,
                                          tmp_path):
  tiny = ['--config=configs/released_tiny.py', f'--workdir={imported_workdir}']
  image = os.path.join(REPO, 'README.md')              # any existing path.
  results = run_all({
      'eval_field': ('eval.py', tiny + ['--config.eval.nope=1']),
      'eval_fold': ('eval.py', tiny + ['--fold=7']),
      'eval_protocol': ('eval.py', tiny + ['--config.data.protocol=papr']),
      'eval_dataset': ('eval.py', tiny + ['--config.data.dataset=synthetc']),
      'eval_red140': ('eval.py', [
          '--config=configs/released_tiny.py', f'--workdir={red140_workdir}',
          *RED140_TINY, f'--config.data.data_dir={tmp_path / "empty"}']),
      'eval_config_file': ('eval.py', ['--config=configs/nope.py',
                                       f'--workdir={imported_workdir}']),
      'eval_no_fold': ('eval.py', tiny[:1] + [f'--workdir={tmp_path}']),
      'predict_field': ('predict.py', tiny + ['--config.model.nope=1',
                                              f'--image={image}']),
      'predict_fold': ('predict.py', tiny + ['--fold=7', f'--image={image}']),
      'predict_protocol': ('predict.py', tiny + [
          '--config.data.protocol=papr', f'--image={image}']),
      'predict_dataset': ('predict.py', tiny + [
          '--config.data.dataset=synthetc', f'--image={image}']),
      'predict_config_file': ('predict.py', [
          '--config=configs/nope.py', f'--workdir={imported_workdir}',
          f'--image={image}']),
      'predict_no_image': ('predict.py', tiny + [
          f'--image={tmp_path / "missing.png"}']),
  })
  assert_one_error_line('eval_field', results['eval_field'], 'nope')
  assert_one_error_line('eval_fold', results['eval_fold'], 'fold must be 1..4')
  assert_one_error_line('eval_protocol', results['eval_protocol'], "'papr'")
  assert_one_error_line('eval_dataset', results['eval_dataset'], "'synthetc'")
  assert_one_error_line('eval_red140', results['eval_red140'],
                        'RED140', 'is not built')
  assert_one_error_line('eval_config_file', results['eval_config_file'],
                        'nope.py')
  assert_one_error_line('eval_no_fold', results['eval_no_fold'],
                        'no fold directory')
  assert_one_error_line('predict_field', results['predict_field'], 'nope')
  assert_one_error_line('predict_fold', results['predict_fold'],
                        'fold must be 1..4')
  assert_one_error_line('predict_protocol', results['predict_protocol'],
                        "data.protocol: fold 'released', command line 'papr'")
  assert_one_error_line('predict_dataset', results['predict_dataset'],
                        "command line 'synthetc'")
  assert_one_error_line('predict_config_file', results['predict_config_file'],
                        'nope.py')
  assert_one_error_line('predict_no_image', results['predict_no_image'],
                        'missing.png')


def tiny_params() -> int:
  """The tiny config's parameter count, from its model built here."""
  config = tiny.get_config()
  model = tasks.get(config).build_model(config.model)
  image = jax.ShapeDtypeStruct((1, 32, 32, 3), jnp.float32)
  variables = jax.eval_shape(
      lambda x: model.init({'params': jax.random.key(0),
                            'dropout': jax.random.key(0)}, x,
                           jnp.ones((55, 55)), train=False), image)
  return state.num_params(variables['params'])


@pytest.mark.slow
def test_dry_run_describes_the_run_quietly(tmp_path):
  """A fresh synthetic build on the way (TFDS's notices and progress bars
  would show up here), then the description; nothing is trained."""
  status, out, err = finish(start(
      'train.py', '--config=configs/tiny.py', f'--workdir={tmp_path / "runs"}',
      f'--config.data.data_dir={tmp_path / "data"}',
      '--config.data.images_per_gm=1', '--config.data.num_real=8',
      '--dry_run'))
  assert status == 0, err
  assert not NOISE.search(err), err
  assert err == '', err
  assert '== config' in out and 'node_dim: 16' in out
  total = re.search(r'^total +([\d,]+) 100\.0% +([\d,.]+) 100\.0%$', out,
                    re.M)
  assert total and int(total.group(1).replace(',', '')) == tiny_params(), out
  assert 'backbone/layer1' in out and 'node_heads' in out
  assert re.search(r'fold 1 \(paper protocol\): train set0\+.*real = \d+ '
                   r'images; test set1 = \d+ images', out), out
  batch = tiny.get_config().train.batch_size       # one CPU device.
  assert f'batch {batch} global, {batch} per device; 100 steps' in out, out
  assert not os.path.exists(tmp_path / 'runs')
