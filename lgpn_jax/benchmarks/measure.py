"""Measurements of one config: FLOPs, roofline, latency, inference and the
trainer's own train step (``Bench``), plus device and timing helpers.

Images come from device memory (random, created once), so no input-pipeline
cost is included. FLOPs: 'matmul_gflops' counts convolutions and matmuls read
off the jaxpr, 2 FLOPs per multiply-add, like the reference's PyTorch
FlopCounterMode (178.9 GFLOPs); bilinear resizes, which jax.image.resize runs
as interpolation matmuls, are reported apart. 'xla_gflops' is XLA's cost
analysis of the lowered, uncompiled module (every op). MFU uses matmul FLOPs:
x1 for inference, x3 for training (forward + two backward matmuls per
forward matmul).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import tempfile
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from lgpn_jax import checkpoint, mesh as mesh_lib, tasks
from lgpn_jax.models import bn_fold
from lgpn_jax.perf import flops, roofline
from lgpn_jax.red140 import graphs
from lgpn_jax.train import state as state_lib, trainer


@dataclasses.dataclass(frozen=True)
class Options:
  """How to measure (the command line's flags)."""
  peak_tflops: float | None = None   # device peak for MFU and the roofline.
  peak_tbps: float | None = None     # memory bandwidth, read + write, TB/s.
  iters: int = 20                    # timed iterations per measurement.
  warmup: int = 3                    # untimed iterations after compile.
  latency_iters: int = 100           # timed batch-1 forward passes.
  parallel: str | None = None        # train step wrapper (None: config's).
  profile_dir: str = ''              # jax.profiler trace of a few steps.
  profile_steps: int = 3
  pipeline_data_dir: str = ''        # a built data set (pipeline section).
  pipeline_dataset: str = 'synthetic'


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

  def __init__(self, config, options: Options):
    self.options = options
    # model.fold_bn is inference-only: the trainer's step trains the ordinary
    # model, the forward sections run its BatchNorm-folded form.
    self.fold_bn = bool(config.model.get('fold_bn', False))
    self.config = config.copy_and_resolve_references()
    with self.config.unlocked():
      self.config.model.fold_bn = False
    self.model = tasks.get(self.config).build_model(self.config.model)
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
    """Layer-wise floors (lgpn_jax/perf/roofline.py) of the batch-1 and batch-
    ``batch`` forward passes and of the trainer's step at ``batch``, with
    XLA's unfused byte count of the same programs as the upper bound."""
    if not (self.options.peak_tflops and self.options.peak_tbps):
      raise ValueError('--what=roofline needs --peak_tflops and '
                       '--peak_tbps (an H100: 798 and 3.0, measured; see '
                       'docs/PERFORMANCE.md)')
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
    r = roofline.summarize(ops, images, self.options.peak_tflops, self.options.peak_tbps,
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
    t = time_calls(lambda: compiled(self.variables, x), self.options.latency_iters,
                   self.options.warmup) * 1e3
    return {'batch': 1, 'median_ms': float(np.median(t)),
            'p90_ms': float(np.percentile(t, 90)), 'min_ms': float(t.min()),
            'iters': int(t.size), 'compile_s': compile_s}

  def infer(self, batch: int) -> dict:
    compiled, x, compile_s = self._compiled_forward(batch)
    t = time_calls(lambda: compiled(self.variables, x), self.options.iters,
                   self.options.warmup)
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
    config = self.config.copy_and_resolve_references()
    config.train.batch_size = batch
    if abstract:
      config.train.parallel = 'shard_map'
    elif self.options.parallel:
      config.train.parallel = self.options.parallel
    mesh = mesh_lib.make_mesh(jax.devices()[:1] if abstract else None)
    task = tasks.get(config)
    trainer.check_config(config, mesh.size, task)
    adjacency = np.asarray(self.adjacency)
    prog = trainer.build_program(config, mesh, adjacency, task)
    if abstract:
      shapes = {'image': ((batch, self.size, self.size, 3), jnp.float32),
                'label': ((batch, 55), jnp.float32),
                'is_generated': ((batch,), jnp.int32)}
      data = {k: jax.ShapeDtypeStruct(*v) for k, v in shapes.items()}
      return prog, prog.abstract, data, jax.random.key(0)
    runner = prog.runner
    state = runner.put_state(
        prog.init(0, mesh_lib.replicate(adjacency, mesh)))
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

    t = time_calls(one_step, self.options.iters, self.options.warmup)
    step = float(np.median(t))
    finite = runner.metrics(metrics)['finite'] == 1.0
    if profile:
      os.makedirs(self.options.profile_dir, exist_ok=True)
      with jax.profiler.trace(self.options.profile_dir):
        for _ in range(self.options.profile_steps):
          jax.block_until_ready(one_step())
    return {'batch': batch, 'img_s': batch / step, 'step_ms': step * 1e3,
            'img_s_per_device': batch / step / mesh.size,
            'devices': mesh.size, 'parallel': runner.mode,
            'first_step_s': first_s, 'finite_loss': bool(finite),
            'peak_memory_gib': peak_memory_gib(),
            **self._mfu(batch / step, 3)}

  def checkpoint(self, batch: int, saves: int = 2) -> dict:
    """Seconds of each of ``saves`` checkpoint saves of the trainer's state
    (``state.save_checkpoint`` into a temporary fold, waiting for the write);
    the first includes whatever the save compiles."""
    prog, state, _, _ = self._train_program(batch)
    leaves = jax.tree.leaves(state)
    steps = [jax.block_until_ready(state.step + i) for i in range(saves)]
    seconds = []
    with tempfile.TemporaryDirectory() as fold:
      mngr = checkpoint.manager(fold)
      for step in steps:
        start = time.perf_counter()
        state_lib.save_checkpoint(mngr, state.replace(step=step))
        mngr.wait_until_finished()
        seconds.append(time.perf_counter() - start)
      mngr.close()
    return {'seconds': seconds, 'arrays': len(leaves),
            'mbytes': sum(x.nbytes for x in leaves) / 1e6,
            'devices': prog.runner.mesh.size}

  def _mfu(self, img_s: float, multiplier: int) -> dict:
    if not self.options.peak_tflops or not self.matmul_flops:
      return {}
    achieved = img_s * multiplier * self.matmul_flops / 1e12
    return {'model_tflops_s': achieved, 'mfu': achieved / self.options.peak_tflops}
