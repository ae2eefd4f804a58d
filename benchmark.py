"""Benchmarks: parameters, FLOPs, compile time, latency, inference and training
throughput, peak memory and MFU, on synthetic device-resident inputs.

  python benchmark.py --config=configs/default.py --what=flops,latency,infer,train \
      --batch_sizes=32,64,128 --peak_tflops=989 --out=bench.json

Images come from device memory (random, created once), so no input-pipeline
cost is included; `--what=pipeline` measures the host pipeline separately
(needs TensorFlow). Everything runs on whatever JAX sees (GPU, TPU or CPU);
on CPU use a small config (configs/tiny.py) for a smoke run. Prints a table
and writes every number to the JSON file given by --out.

FLOPs: 'matmul_gflops' counts convolutions and matmuls read off the jaxpr,
2 FLOPs per multiply-add, like the reference's PyTorch FlopCounterMode (178.9
GFLOPs); bilinear resizes, which jax.image.resize runs as interpolation
matmuls, are reported apart. 'xla_gflops' is XLA's cost analysis of the
lowered, uncompiled module (every op). MFU uses matmul FLOPs: x1 for inference,
x3 for training (forward + two backward matmuls per forward matmul).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from typing import Any, Callable

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
from ml_collections import config_flags
import numpy as np

from lgpn_jax import bn_fold, flops, graphs, roofline, trace_summary
from lgpn_jax.model import build_model

SECTIONS = ('flops', 'roofline', 'latency', 'infer', 'train', 'pipeline')
_CONFIG = config_flags.DEFINE_config_file(
    'config', 'configs/default.py', 'Model config file (ml_collections).',
    lock_config=True)
_WHAT = flags.DEFINE_list('what', ['flops', 'latency', 'infer', 'train'],
                          f'Sections to run, any of {SECTIONS}.')
_BATCHES = flags.DEFINE_list('batch_sizes', ['32', '64'],
                             'Global batch sizes for infer and train.')
_DTYPE = flags.DEFINE_enum('dtype', None, ['float32', 'bfloat16'],
                           'Compute dtype (default: the config\'s).')
_PEAK = flags.DEFINE_float('peak_tflops', None,
                           'Device peak TFLOP/s for MFU (e.g. 989 for H100 '
                           'SXM bf16 dense); MFU is omitted without it.')
_PEAK_TBPS = flags.DEFINE_float(
    'peak_tbps', None, 'Device memory bandwidth, read + write, in TB/s, for '
    '--what=roofline (with --peak_tflops; the H100 of PERF_NOTES.md measured '
    '798 TFLOP/s bf16 matmul and 3.0 TB/s).')
_ITERS = flags.DEFINE_integer('iters', 20, 'Timed iterations per measurement.')
_WARMUP = flags.DEFINE_integer('warmup', 3, 'Untimed iterations after compile.')
_LAT_ITERS = flags.DEFINE_integer('latency_iters', 100,
                                  'Timed batch-1 forward passes.')
_OUT = flags.DEFINE_string('out', 'benchmark.json', 'JSON output path.')
_PIPE_DIR = flags.DEFINE_string('pipeline_data_dir', '',
                                'TFDS data dir holding a built data set, for '
                                '--what=pipeline.')
_PIPE_DATASET = flags.DEFINE_string('pipeline_dataset', 'synthetic',
                                    "Data set for --what=pipeline: 'red140', "
                                    "'synthetic' or 'synthetic/<config>'.")
_PARALLEL = flags.DEFINE_enum('parallel', None, ['shard_map', 'pmap'],
                              'Data-parallel wrapper of the train step '
                              "(default: the config's train.parallel).")
_PROFILE_DIR = flags.DEFINE_string(
    'profile_dir', '', 'If set, write a jax.profiler trace of --profile_steps '
    'train steps (after the timed ones, largest batch) here; open it with '
    'TensorBoard\'s profile plugin or xprof.')
_PROFILE_STEPS = flags.DEFINE_integer('profile_steps', 3,
                                      'Train steps in the --profile_dir trace.')
_CPU_DEVICES = flags.DEFINE_integer(
    'cpu_devices', 0, 'Simulate this many CPU devices (scaling check on a '
    'machine without accelerators); 0 = leave JAX alone.')


def versions() -> dict[str, str]:
  out = {'python': platform.python_version(), 'jax': jax.__version__}
  for name in ('jaxlib', 'flax', 'optax', 'numpy'):
    try:
      out[name] = __import__(name).__version__
    except ImportError:
      pass
  return out


def device_info() -> dict[str, Any]:
  d = jax.devices()[0]
  return {'platform': d.platform, 'device_kind': d.device_kind,
          'num_devices': jax.device_count(),
          'num_processes': jax.process_count()}


def peak_memory_gib() -> float | None:
  """The runtime's peak bytes in use on device 0 (GPU/TPU; None on CPU)."""
  stats = jax.devices()[0].memory_stats() or {}
  peak = stats.get('peak_bytes_in_use')
  return None if peak is None else peak / 2**30


def compiled_memory_gib(compiled) -> float | None:
  """XLA's static estimate: arguments + outputs + temporaries - aliased."""
  try:
    m = compiled.memory_analysis()
  except Exception:  # not every backend implements it.
    return None
  if m is None:
    return None
  total = (m.argument_size_in_bytes + m.output_size_in_bytes
           + m.temp_size_in_bytes - m.alias_size_in_bytes)
  return total / 2**30


def time_calls(fn: Callable[[], Any], iters: int, warmup: int) -> np.ndarray:
  """Seconds per call, each call waited for with block_until_ready."""
  for _ in range(warmup):
    jax.block_until_ready(fn())
  times = []
  for _ in range(iters):
    t = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t)
  return np.array(times)


class Bench:
  """Holds the model, its variables and the fold graph for every section."""

  def __init__(self, config):
    # model.fold_bn is inference-only: the trainer's step trains the ordinary
    # model, the forward sections run its BatchNorm-folded form.
    self.fold_bn = bool(config.model.get('fold_bn', False))
    self.config = config.copy_and_resolve_references()
    with self.config.unlocked():
      self.config.model.fold_bn = False
    self.model = build_model(self.config.model)
    self.size = config.data.image_size
    self.adjacency = jnp.asarray(
        graphs.fold_correlation_graph(config.fold, config.graph.tau,
                                      config.data.protocol))
    x = jnp.zeros((1, self.size, self.size, 3))
    # 'rbg': the initialisers compile ~3x faster than with threefry.
    self.variables = jax.jit(lambda x: self.model.init(
        {'params': jax.random.key(0, impl='rbg')}, x, self.adjacency))(x)
    self.num_params = sum(int(np.prod(p.shape))
                          for p in jax.tree.leaves(self.variables['params']))
    if self.fold_bn:
      self.model, self.variables = bn_fold.folded(self.config.model,
                                                  self.variables)
    self._forward = lambda v, x: self.model.apply(v, x, self.adjacency)[
        'node_logits']
    self.matmul_flops = None

  def images(self, batch: int):
    return jax.random.uniform(jax.random.key(batch),
                              (batch, self.size, self.size, 3), jnp.float32,
                              -1.0, 1.0)

  def flops(self) -> dict:
    x = jax.ShapeDtypeStruct((1, self.size, self.size, 3), jnp.float32)
    counts = flops.matmul_flops_breakdown(self._forward, self.variables, x)
    self.matmul_flops = counts['conv'] + counts['matmul']
    xla = flops.xla_flops(self._forward, self.variables, x)
    return {'matmul_gflops': self.matmul_flops / 1e9,
            'conv_gflops': counts['conv'] / 1e9,
            'dense_gflops': counts['matmul'] / 1e9,
            'resize_gflops': counts['resize'] / 1e9,
            'xla_gflops': None if xla is None else xla / 1e9,
            'reference_gflops': 178.9,
            'note': 'per image, forward, 2 FLOPs per multiply-add; matmul = '
                    'conv + dense (the reference counter\'s rule); xla = XLA '
                    'cost analysis of the lowered module, every op'}

  def roofline(self, batch: int) -> dict:
    """Layer-wise floors (lgpn_jax/roofline.py) of the batch-1 and batch-
    ``batch`` forward passes and of the trainer's step at ``batch``, with
    XLA's unfused byte count of the same programs as the upper bound."""
    if not (_PEAK.value and _PEAK_TBPS.value):
      raise app.UsageError('--what=roofline needs --peak_tflops and '
                           '--peak_tbps (an H100: 798 and 3.0, measured in '
                           'PERF_NOTES.md)')
    v = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
                     self.variables)
    # The normalized tensors are found in the training program (batch
    # statistics); inference normalizes the same tensors per image.
    prog, state, data, key = self._train_program(batch, abstract=True)
    traced = roofline.trace(prog.runner.step, state, data, key)
    per_image = sum(traced.normalized.values()) / batch
    unfused = flops.xla_bytes(prog.runner.step, state, data, key)
    out = {}
    for name, b in (('forward_batch1', 1), (f'forward_batch{batch}', batch)):
      x = jax.ShapeDtypeStruct((b, self.size, self.size, 3), jnp.float32)
      out[name] = self._roof(
          roofline.trace(self._forward, v, x).ops, b, per_image * b,
          0 if self.fold_bn else roofline.INFER_BN_PASSES,
          flops.xla_bytes(self._forward, v, x))
    out[f'train_batch{batch}'] = self._roof(
        traced.ops, batch, per_image * batch, roofline.TRAIN_BN_PASSES,
        unfused)
    out['normalizations'] = len(traced.normalized)
    return out

  def _roof(self, ops, images: int, normalized: float, passes: int,
            unfused_bytes) -> dict:
    itemsize = jnp.dtype(self.config.model.dtype).itemsize
    r = roofline.summarize(ops, images, _PEAK.value, _PEAK_TBPS.value,
                           int(normalized * itemsize), passes)
    r['bn_passes'] = passes
    r['unfused_mbytes_per_image'] = (None if unfused_bytes is None
                                     else unfused_bytes / images / 1e6)
    return r

  def _compiled_forward(self, batch: int):
    x = self.images(batch)
    start = time.perf_counter()
    compiled = jax.jit(self._forward).lower(self.variables, x).compile()
    return compiled, x, time.perf_counter() - start

  def latency(self) -> dict:
    compiled, x, compile_s = self._compiled_forward(1)
    t = time_calls(lambda: compiled(self.variables, x), _LAT_ITERS.value,
                   _WARMUP.value) * 1e3
    return {'batch': 1, 'median_ms': float(np.median(t)),
            'p90_ms': float(np.percentile(t, 90)), 'min_ms': float(t.min()),
            'iters': int(t.size), 'compile_s': compile_s}

  def infer(self, batch: int) -> dict:
    compiled, x, compile_s = self._compiled_forward(batch)
    t = time_calls(lambda: compiled(self.variables, x), _ITERS.value,
                   _WARMUP.value)
    step = float(np.median(t))
    return {'batch': batch, 'img_s': batch / step, 'step_ms': step * 1e3,
            'compile_s': compile_s,
            'compiled_memory_gib': compiled_memory_gib(compiled),
            'peak_memory_gib': peak_memory_gib(),
            **self._mfu(batch / step, 1)}

  def _train_program(self, batch: int, abstract: bool = False):
    """(program, state, batch, key) of the trainer's own step at global batch
    ``batch``; ``abstract``: shapes only, on a one-device shard_map mesh (for
    tracing: the traced shapes are then those of the whole batch)."""
    from lgpn_jax import parallel, trainer  # the real train step.
    config = self.config.copy_and_resolve_references()
    config.train.batch_size = batch
    if abstract:
      config.train.parallel = 'shard_map'
    elif _PARALLEL.value:
      config.train.parallel = _PARALLEL.value
    mesh = parallel.make_mesh(jax.devices()[:1] if abstract else None)
    trainer.check_config(config, mesh.size)
    adjacency = np.asarray(self.adjacency)
    prog = trainer.build_program(config, mesh, adjacency)
    if abstract:
      shapes = {'image': ((batch, self.size, self.size, 3), jnp.float32),
                'label': ((batch, 55), jnp.float32),
                'is_generated': ((batch,), jnp.int32)}
      data = {k: jax.ShapeDtypeStruct(*v) for k, v in shapes.items()}
      return prog, prog.abstract, data, jax.random.key(0)
    runner = prog.runner
    state = runner.put_state(
        prog.init(0, parallel.replicate(adjacency, mesh)))
    rng = np.random.default_rng(batch)
    local = batch // jax.process_count()
    host = {'image': rng.uniform(-1, 1, (local, self.size, self.size, 3)
                                 ).astype(np.float32),
            'label': rng.integers(0, 2, (local, 55)).astype(np.float32),
            'is_generated': (np.arange(local) % 4 != 0).astype(np.int32)}
    return (prog, state, runner.put_batch(host),
            runner.put_rng(jax.random.key(0)))

  def train(self, batch: int, profile: bool = False) -> dict:
    """The trainer's own data-parallel step (optimizer update included) on
    one device-resident global batch, over every device; ``profile``: then
    trace a few more steps into --profile_dir."""
    prog, state, device_batch, key = self._train_program(batch)
    runner, mesh = prog.runner, prog.runner.mesh
    start = time.perf_counter()
    state, metrics = runner(state, device_batch, key)
    jax.block_until_ready(metrics)
    first_s = time.perf_counter() - start

    def one_step():
      nonlocal state
      state, m = runner(state, device_batch, key)
      return m

    t = time_calls(one_step, _ITERS.value, _WARMUP.value)
    step = float(np.median(t))
    finite = runner.metrics(metrics)['finite'] == 1.0
    if profile:
      os.makedirs(_PROFILE_DIR.value, exist_ok=True)
      with jax.profiler.trace(_PROFILE_DIR.value):
        for _ in range(_PROFILE_STEPS.value):
          jax.block_until_ready(one_step())
    return {'batch': batch, 'img_s': batch / step, 'step_ms': step * 1e3,
            'img_s_per_device': batch / step / mesh.size,
            'devices': mesh.size, 'parallel': runner.mode,
            'first_step_s': first_s, 'finite_loss': bool(finite),
            'peak_memory_gib': peak_memory_gib(),
            **self._mfu(batch / step, 3)}

  def _mfu(self, img_s: float, multiplier: int) -> dict:
    if not _PEAK.value or not self.matmul_flops:
      return {}
    achieved = img_s * multiplier * self.matmul_flops / 1e12
    return {'model_tflops_s': achieved, 'mfu': achieved / _PEAK.value}


def print_table(result: dict) -> None:
  rows = [('parameters', f'{result["parameters"]:,}')]
  if 'flops' in result:
    f = result['flops']
    rows.append(('forward GFLOPs/image (conv+matmul)',
                 f'{f["matmul_gflops"]:.2f} (+{f["resize_gflops"]:.2f} resize);'
                 f' XLA {f["xla_gflops"] or float("nan"):.2f};'
                 f' reference {f["reference_gflops"]}'))
  roof = dict(result.get('roofline', {}))
  normalizations = roof.pop('normalizations', 0)
  for name, r in roof.items():
    rows.append((f'roofline {name}',
                 f'floor {r["floor_us_per_image"]:.0f} us/image '
                 f'({r["floor_img_s"]:.0f} img/s; {r["gflops_per_image"]:.1f} '
                 f'GFLOPs, {r["mbytes_per_image"]:.0f} MB/image moved at '
                 f'least, {r["memory_bound_fraction"]:.0%} of the floor '
                 'memory-bound)'))
    if normalizations:
      rows.append(('  + BatchNorm passes', f'floor '
                   f'{r["floor_with_bn_us_per_image"]:.0f} us/image '
                   f'({r["floor_with_bn_img_s"]:.0f} img/s; '
                   f'+{r["bn_extra_mbytes_per_image"]:.0f} MB/image: '
                   f'{r["bn_passes"]} passes over {normalizations} '
                   'normalized tensors)'))
  if 'latency' in result:
    l = result['latency']
    rows.append(('latency batch 1', f'median {l["median_ms"]:.2f} ms, '
                 f'p90 {l["p90_ms"]:.2f} ms'))
  for kind in ('infer', 'train'):
    for r in result.get(kind, []):
      mem = r.get('peak_memory_gib') or r.get('compiled_memory_gib')
      extra = f', MFU {r["mfu"]:.1%}' if 'mfu' in r else ''
      mem_s = f', {mem:.1f} GiB' if mem is not None else ''
      per_dev = (f', {r["img_s_per_device"]:.1f}/device'
                 if r.get('devices', 1) > 1 else '')
      rows.append((f'{kind} batch {r["batch"]}',
                   f'{r["img_s"]:.1f} img/s ({r["step_ms"]:.1f} ms/step'
                   f'{per_dev}{mem_s}{extra})'))
  if 'profile' in result:
    p = result['profile']
    rows.append((f'profile ({p["source"]})',
                 f'{p["total_ms"]:.1f} ms over {_PROFILE_STEPS.value} steps; '
                 + ', '.join(f'{k} {v["share"]:.0%}'
                             for k, v in p['kinds'].items())))
    for op in p['top'][:8]:
      rows.append(('', f'{op["share"]:6.1%} {op["ms"]:8.2f} ms x{op["count"]}'
                   f' {op["name"][:60]}'))
  width = max(len(k) for k, _ in rows)
  print(f'{result["device"]["device_kind"]} x{result["device"]["num_devices"]}, '
        f'dtype {result["dtype"]}, image {result["image_size"]}'
        + (', BatchNorm folded for inference' if result.get('fold_bn') else ''))
  for k, v in rows:
    print(f'  {k:{width}s}  {v}')


def run(config, what, batch_sizes) -> dict:
  unknown = set(what) - set(SECTIONS)
  if unknown:
    raise app.UsageError(f'--what: unknown sections {sorted(unknown)}; '
                         f'choose from {SECTIONS}')
  bench = Bench(config)
  result = {'device': device_info(), 'versions': versions(),
            'dtype': config.model.dtype, 'image_size': bench.size,
            'fold_bn': bench.fold_bn,
            'parameters': bench.num_params,
            'inputs': 'synthetic, device-resident (no input pipeline)'}
  if 'flops' in what or 'infer' in what or 'train' in what:
    result['flops'] = bench.flops()
  if 'roofline' in what:
    result['roofline'] = bench.roofline(max(batch_sizes))
  if 'latency' in what:
    result['latency'] = bench.latency()
  if 'infer' in what:
    result['infer'] = [bench.infer(b) for b in batch_sizes]
  if 'train' in what:
    result['train'] = [
        bench.train(b, profile=bool(_PROFILE_DIR.value)
                    and b == max(batch_sizes)) for b in batch_sizes]
    if _PROFILE_DIR.value:
      result['profile'] = trace_summary.summarize(
          trace_summary.latest_trace(_PROFILE_DIR.value))
  if 'pipeline' in what:
    result['pipeline'] = pipeline_section()
  return result


def pipeline_section() -> dict:
  """Host input-pipeline rates (TensorFlow; see input_pipeline/benchmark.py)."""
  if not _PIPE_DIR.value:
    return {'skipped': 'pass --pipeline_data_dir (a built data set)'}
  try:
    from input_pipeline import benchmark as pipeline_benchmark
  except ImportError as e:
    return {'skipped': f'TensorFlow is not installed ({e})'}
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    out = f'{tmp}/pipeline.json'
    pipeline_benchmark.main(['--data_dir', _PIPE_DIR.value, '--dataset',
                             _PIPE_DATASET.value, '--out', out])
    with open(out) as f:
      return json.load(f)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if _CPU_DEVICES.value:
    jax.config.update('jax_num_cpu_devices', _CPU_DEVICES.value)
    jax.config.update('jax_platforms', 'cpu')
  config = _CONFIG.value
  if _DTYPE.value:
    with config.unlocked():
      config.model.dtype = _DTYPE.value
  try:
    batch_sizes = [int(b) for b in _BATCHES.value]
  except ValueError:
    raise app.UsageError(f'--batch_sizes must be integers, got '
                         f'{_BATCHES.value}') from None
  result = run(config, _WHAT.value, batch_sizes)
  result['command'] = ' '.join(sys.argv)
  print_table(result)
  with open(_OUT.value, 'w') as f:
    json.dump(result, f, indent=2)
  print(f'wrote {_OUT.value}')


if __name__ == '__main__':
  app.run(main)
