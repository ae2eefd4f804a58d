"""Command-line tools (benchmark, build --help) and the TensorFlow rules."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from input_pipeline import benchmark, builders
from lgpn_jax.red140 import schema

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _check_rows(report, gpu_rate):
  for row in report['rows']:
    raw = row['raw_decode']['images_per_s']
    assert row['raw_decode']['images'] > 0
    for r in row['results']:
      assert r['images'] > 0 and r['images'] % report['batch_size'] == 0
      assert r['rounds'] == row['raw_decode']['rounds'] >= 1
      assert r['images_per_s'] == pytest.approx(r['images'] / r['seconds'],
                                                rel=0.01)
      assert r['images_per_s_per_core'] == pytest.approx(
          r['images_per_s'] / r['threads'], rel=0.01)
      assert r['vs_raw_decode'] == pytest.approx(
          r['images_per_s_per_core'] / raw, rel=0.01)
      assert r['images_per_cpu_second'] == pytest.approx(
          r['images'] / r['cpu_seconds'], rel=0.01)
      assert r['vs_raw_decode_cpu'] == pytest.approx(
          r['images_per_cpu_second']
          / row['raw_decode']['images_per_cpu_second'], rel=0.01)
    assert row['cores_per_gpu'] == pytest.approx(
        gpu_rate / row['results'][0]['images_per_cpu_second'], rel=0.01,
        abs=1e-3)
    assert row['bytes_per_pixel'] > 0
  resume = report['resume']
  assert resume['first_batch_seconds_at_step'] > 0
  assert set(resume['index_stream_seconds_red140_size']) == {
      f'{s}_real_fraction_{f}' for s in ('epochs', 'with_replacement')
      for f in (None, 0.2)}


def test_benchmark_writes_rates(synthetic_dir, synthetic_builder, tmp_path, tiny_build):
  out = tmp_path / 'pipeline.json'
  code = benchmark.main([f'--data_dir={synthetic_dir}', '--image_sizes=32,48',
                         '--batch_size=8', '--seconds=0.4', '--rounds=2',
                         '--threads=1,2', '--resume_step=1000',
                         f'--out={out}'])
  assert code == 0
  report = json.loads(out.read_text())
  assert [(row['image_size'], [r['threads'] for r in row['results']])
          for row in report['rows']] == [(32, [1, 2]), (48, [1, 2])]
  for row in report['rows']:
    assert row['source_image_size'] == [tiny_build['image_size']] * 2
  _check_rows(report, 400)
  assert report['resume']['step'] == 1000


def test_benchmark_builds_png_jpeg_and_stored_sources(tmp_path, monkeypatch):
  from input_pipeline import bench_sources, pipeline
  from input_pipeline.tf_runtime import tf

  def tiles(work_dir, seed, count):   # noise instead of the slow generator.
    rng = np.random.default_rng(seed)
    gms = [g.name for g in schema.gms() if g.test_set == 0][:4]
    make = lambda: rng.integers(0, 256, (count, 256, 256, 3), np.uint8)  # noqa: E731
    return [(g, make()) for g in gms], make()

  monkeypatch.setattr(bench_sources, '_tiles', tiles)
  out = tmp_path / 'pipeline.json'
  assert benchmark.main([f'--work_dir={tmp_path}', '--source_sizes=512',
                         '--images=4', '--batch_size=4', '--seconds=0.2',
                         '--rounds=1', '--threads=1', '--gpu_rate=100',
                         '--resume_step=1000', f'--out={out}']) == 0
  report = json.loads(out.read_text())
  assert [(r['source'], r['format'], r['source_image_size'],
           r['stored_size'], r['image_size']) for r in report['rows']] == [
      ('png512', 'png', [512, 512], None, 256),
      ('png512_at256', 'png', [256, 256], 256, 256),
      ('jpeg512', 'jpeg', [512, 512], None, 256),
      ('jpeg512_at256', 'jpeg', [256, 256], 256, 256)]
  _check_rows(report, 100)

  def first_image(name):
    b = pipeline.open_builder(tmp_path / f'{name}_n4' / 'pipeline_bench'
                              / '1.0.0')
    rec = next(iter(tf.data.TFRecordDataset(pipeline.stream_files(b, 'set0')[0])))
    return b.info.features.deserialize_example(rec, decoders={
        'image': pipeline.tfds.decode.SkipDecoding()})['image']

  for fmt, magic in (('png', b'\x89PNG'), ('jpeg', b'\xff\xd8\xff')):
    source = first_image(f'{fmt}512')
    assert source.numpy().startswith(magic)
    stored = first_image(f'{fmt}512_at256')
    assert stored.numpy().startswith(b'\x89PNG')          # lossless.
    np.testing.assert_array_equal(pipeline.decode_image(stored, 256).numpy(),
                                  pipeline.decode_image(source, 256).numpy())


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
