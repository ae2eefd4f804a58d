"""benchmark.py runs on CPU (tiny config, 2 simulated devices) and its JSON
has every field; it runs where TensorFlow is not installed (the GPU machine)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_benchmark_cpu_smoke_writes_every_field(tmp_path):
  out = tmp_path / 'bench.json'
  # A `tensorflow` that cannot be imported, first on the path.
  (tmp_path / 'tensorflow').mkdir()
  (tmp_path / 'tensorflow' / '__init__.py').write_text(
      'raise ImportError("TensorFlow is not installed here")\n')
  env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')
  proc = subprocess.run(
      [sys.executable, 'benchmark.py', '--config=configs/tiny.py',
       '--what=flops,roofline,latency,infer,train,checkpoint,pipeline',
       '--batch_sizes=4',
       '--iters=2', '--warmup=1', '--latency_iters=3', '--cpu_devices=2',
       '--peak_tflops=1.0', '--peak_tbps=0.1', f'--profile_dir={tmp_path}/prof',
       f'--out={out}'],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(out.read_text())
  assert result['device']['num_devices'] == 2
  assert result['device']['platform'] == 'cpu'
  assert {'jax', 'flax', 'python'} <= set(result['versions'])
  assert result['parameters'] > 100_000
  f = result['flops']
  assert f['matmul_gflops'] == pytest.approx(f['conv_gflops']
                                             + f['dense_gflops'])
  assert 0 < f['matmul_gflops'] < f['xla_gflops']
  roof = result['roofline']
  assert set(roof) == {'forward_batch1', 'forward_batch4', 'train_batch4',
                       'normalizations'}
  assert roof['normalizations'] > 0
  fwd, train = roof['forward_batch4'], roof['train_batch4']
  # Same matmuls as the flops section (which also counts the resize apart).
  assert fwd['gflops_per_image'] == pytest.approx(
      f['matmul_gflops'] + f['resize_gflops'])
  assert 2 * fwd['gflops_per_image'] < train['gflops_per_image'] < (
      3 * fwd['gflops_per_image'])
  # The same tensors are normalized: 8 passes in training, 2 in inference.
  assert train['bn_extra_mbytes_per_image'] == pytest.approx(
      4 * fwd['bn_extra_mbytes_per_image'])
  for r in (roof['forward_batch1'], fwd, train):
    assert r['floor_us_per_image'] < r['floor_with_bn_us_per_image']
    assert 0 < r['mbytes_per_image'] < r['unfused_mbytes_per_image']
    assert r['floor_img_s'] == pytest.approx(1e6 / r['floor_us_per_image'])
  lat = result['latency']
  assert 0 < lat['median_ms'] <= lat['p90_ms'] and lat['iters'] == 3
  (infer,) = result['infer']
  (train,) = result['train']
  for row in (infer, train):
    assert row['batch'] == 4 and row['img_s'] > 0
    assert row['img_s'] == pytest.approx(4 / (row['step_ms'] / 1e3))
    assert 0 < row['mfu'] < 1
  assert infer['compiled_memory_gib'] > 0
  assert train['devices'] == 2 and train['finite_loss']
  assert train['img_s_per_device'] == pytest.approx(train['img_s'] / 2)
  ckpt = result['checkpoint']
  assert len(ckpt['seconds']) == 2 and min(ckpt['seconds']) > 0
  assert ckpt['devices'] == 2 and ckpt['arrays'] > 10 and ckpt['mbytes'] > 0.5
  assert 'skipped' in result['pipeline']
  assert result['profile']['total_ms'] > 0 and result['profile']['top']
  assert 'train batch 4' in proc.stdout
  assert 'checkpoint saves' in proc.stdout


@pytest.mark.slow
def test_folded_batch_norm_runs_the_forward_sections(tmp_path):
  out = tmp_path / 'bench.json'
  proc = subprocess.run(
      [sys.executable, 'benchmark.py', '--config=configs/tiny.py',
       '--config.model.fold_bn=True', '--what=roofline,infer',
       '--batch_sizes=2', '--iters=2', '--warmup=1', '--peak_tflops=1.0',
       '--peak_tbps=0.1', f'--out={out}'],
      cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
      text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(out.read_text())
  assert result['fold_bn'] and 'BatchNorm folded' in proc.stdout
  roof = result['roofline']
  # Folded: no BatchNorm pass left in inference; training keeps its 8.
  for name in ('forward_batch1', 'forward_batch2'):
    assert roof[name]['floor_with_bn_us_per_image'] == pytest.approx(
        roof[name]['floor_us_per_image'])
  train = roof['train_batch2']
  assert train['floor_with_bn_us_per_image'] > train['floor_us_per_image']
  assert result['infer'][0]['img_s'] > 0


def test_benchmark_rejects_unknown_sections():
  proc = subprocess.run(
      [sys.executable, 'benchmark.py', '--config=configs/tiny.py',
       '--what=flops,speed'], cwd=ROOT, capture_output=True, text=True,
      env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
  assert proc.returncode != 0
  assert 'unknown sections' in proc.stderr and 'speed' in proc.stderr
