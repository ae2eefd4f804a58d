"""Command-line tools (benchmark, build --help) and the TensorFlow rules."""

import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

from input_pipeline import benchmark, build
from test_input_common import (TINY, synthetic_builder,  # noqa: F401
                               synthetic_dir)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benchmark_writes_rates(synthetic_dir, synthetic_builder, tmp_path):
  out = tmp_path / 'pipeline.json'
  code = benchmark.main([f'--data_dir={synthetic_dir}', '--image_sizes=32,48',
                         '--batch_size=8', '--seconds=0.3', '--threads=1,2',
                         f'--out={out}'])
  assert code == 0
  report = json.loads(out.read_text())
  assert report['source_image_size'] == [TINY['image_size']] * 2
  assert [(r['image_size'], r['threads']) for r in report['results']] == [
      (32, 1), (32, 2), (48, 1), (48, 2)]
  for r in report['results']:
    assert r['images'] > 0 and r['images'] % 8 == 0
    assert r['images_per_s'] == pytest.approx(r['images'] / r['seconds'],
                                              rel=0.01)
    assert r['images_per_s_per_core'] == pytest.approx(
        r['images_per_s'] / r['threads'], rel=0.01)


def test_benchmark_explains_a_missing_build(tmp_path, capsys):
  assert benchmark.main([f'--data_dir={tmp_path}']) == 2
  assert 'python -m input_pipeline.build' in capsys.readouterr().err


def test_build_options_are_checked(tmp_path):
  with pytest.raises(build.BuildError, match='unknown option'):
    build.ensure_built('synthetic', str(tmp_path), image_sise=32)
  with pytest.raises(build.BuildError, match='unknown dataset'):
    build.ensure_built('imagenet', str(tmp_path))
  with pytest.raises(build.BuildError, match='--manual_dir'):
    build.ensure_built('red140', str(tmp_path))
  with pytest.raises(ValueError, match='multiple of 16'):
    build.ensure_built('synthetic', str(tmp_path), image_size=40)


def test_help_explains_itself():
  modules = ('input_pipeline.build', 'input_pipeline.benchmark')
  # Both at once: each spends seconds importing TensorFlow.
  procs = [subprocess.Popen([sys.executable, '-m', module, '--help'], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True) for module in modules]
  try:
    outs = [p.communicate(timeout=120) for p in procs]
  finally:
    for p in procs:
      p.kill()
  for module, p, (stdout, stderr) in zip(modules, procs, outs):
    assert p.returncode == 0, stderr
    assert 'usage: python -m ' + module in stdout
    assert '--data_dir' in stdout


def _imports(path):
  tree = ast.parse(path.read_text())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module


def test_modules_importing_tensorflow_hide_gpus_first():
  for path in sorted((ROOT / 'input_pipeline').glob('*.py')):
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and
                                         isinstance(n.value, ast.Constant))]
    tf_users = any(m == 'tensorflow' or m.startswith(('tensorflow.',
                                                      'tensorflow_datasets'))
                   for m in _imports(path))
    if not tf_users:
      continue
    # The first statements: optional __future__, import TF, hide GPUs.
    body = [n for n in body if not (isinstance(n, ast.ImportFrom)
                                    and n.module == '__future__')]
    assert ast.unparse(body[0]) == 'import tensorflow as tf', path.name
    assert ast.unparse(body[1]) == "tf.config.set_visible_devices([], 'GPU')", (
        path.name)


def test_tensorflow_stays_inside_input_pipeline():
  """No lgpn_jax module imports TensorFlow, directly or by being imported.

  (Imports of input_pipeline from lgpn_jax are reported by the data-layer
  owner, not failed here: that part of the rule belongs to lgpn_jax's code.)
  """
  for path in sorted((ROOT / 'lgpn_jax').rglob('*.py')):
    for module in _imports(path):
      assert not module.startswith('tensorflow'), (
          f'{path.relative_to(ROOT)} imports {module}: TensorFlow is used by '
          'input_pipeline/ only')
  modules = sorted(f'lgpn_jax.{p.stem}' for p in (ROOT / 'lgpn_jax').glob(
      '*.py') if p.stem != '__init__')
  modules += ['input_pipeline.device', 'input_pipeline.splits',
              'input_pipeline.sharding', 'input_pipeline.names',
              'input_pipeline.synthetic_generator']
  code = ('import importlib, sys\n'
          f'for m in {modules!r}:\n'
          '  try:\n'
          '    importlib.import_module(m)\n'
          '  except Exception as e:\n'
          '    print("skip", m, type(e).__name__, file=sys.stderr)\n'
          '  if "tensorflow" in sys.modules:\n'
          '    print("tensorflow loaded by", m); break\n'
          'else:\n'
          '  print("clean")\n')
  out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'PYTHONPATH': str(ROOT)})
  assert out.stdout.strip() == 'clean', out.stdout + out.stderr
