"""Command-line tools (benchmark, build --help) and the TensorFlow rules."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from input_pipeline import benchmark, builders

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_benchmark_writes_rates(synthetic_dir, synthetic_builder, tmp_path, tiny_build):
  out = tmp_path / 'pipeline.json'
  code = benchmark.main([f'--data_dir={synthetic_dir}', '--image_sizes=32,48',
                         '--batch_size=8', '--seconds=0.3', '--threads=1,2',
                         f'--out={out}'])
  assert code == 0
  report = json.loads(out.read_text())
  assert report['source_image_size'] == [tiny_build['image_size']] * 2
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
  with pytest.raises(builders.BuildError, match='unknown option'):
    builders.ensure_built('synthetic', str(tmp_path), image_sise=32)
  with pytest.raises(builders.BuildError, match='unknown dataset'):
    builders.ensure_built('imagenet', str(tmp_path))
  with pytest.raises(builders.BuildError, match='--manual_dir'):
    builders.ensure_built('red140', str(tmp_path))
  with pytest.raises(ValueError, match='multiple of 16'):
    builders.ensure_built('synthetic', str(tmp_path), image_size=40)
  with pytest.raises(ValueError, match='store_size must be >= 0'):
    builders.ensure_built('red140', str(tmp_path), store_size=-1)
  with pytest.raises(ValueError, match='max_file_mb must be > 0'):
    builders.ensure_built('red140', str(tmp_path), max_file_mb=0)


def test_help_explains_itself_without_importing_tensorflow():
  modules = ('input_pipeline.build', 'input_pipeline.benchmark')
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
  code = ('import sys\n'
          'from input_pipeline import benchmark, build\n'
          'assert build.main(["--help"]) == benchmark.main(["--help"]) == 0\n'
          'print("tensorflow" in sys.modules, file=sys.stderr)\n')
  out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 0 and out.stderr.strip() == 'False', out.stderr


def test_tensorflow_stays_inside_input_pipeline():
  """Importing any lgpn_jax module (or the TF-free input_pipeline modules)
  loads no TensorFlow (tests/test_architecture.py checks the import lines)."""
  modules = sorted(
      '.'.join(p.relative_to(ROOT).with_suffix('').parts).removesuffix(
          '.__init__') for p in (ROOT / 'lgpn_jax').rglob('*.py'))
  modules += ['input_pipeline', 'input_pipeline.splits',
              'input_pipeline.sharding', 'input_pipeline.red140.names',
              'input_pipeline.synthetic.generator', 'input_pipeline.build',
              'input_pipeline.benchmark']
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
