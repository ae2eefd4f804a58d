"""A layer-wise roofline of a traced program: the time no implementation on a
given device can beat, and which layers are bound by memory or by arithmetic.

Every convolution and matmul of the jaxpr (forward and backward, found by
walking nested jaxprs; the interpolation matmuls of ``jax.image.resize`` too)
is one *heavy op*. Its FLOPs are counted as in ``lgpn_jax.flops`` (2 per
multiply-add); its bytes are the fewest it must move through device memory:
each operand read once and the result written once, in the dtypes of the
program. Everything else (BatchNorm, activations, residual adds, optimizer
updates) is assumed fused for free, so

    floor = sum over heavy ops of max(flops / peak_flops, bytes / peak_bw)

is a lower bound on the program's time. Training-mode BatchNorm cannot be
free: its statistics need whole passes over each normalized tensor, which
``trace`` finds (reductions over batch, height and width) and ``summarize``
adds as ``floor_with_bn``. ``lgpn_jax.flops.xla_bytes`` gives XLA's byte
count with no fusion at all, an upper bound on the traffic.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Any, Callable

import jax
import numpy as np

from lgpn_jax.perf import flops as flops_lib
HEAVY = ('conv_general_dilated', 'dot_general')
_WRAPPER = re.compile(r'\w+\(')


@dataclasses.dataclass(frozen=True)
class Op:
  """One convolution or matmul of the program."""
  group: str       # module path, block indices dropped: 'backbone/layer1'.
  backward: bool   # produced by differentiation (a transpose).
  flops: int
  bytes: int       # operands read + result written.
  out_bytes: int   # the result alone.


def _nbytes(var) -> int:
  aval = getattr(var, 'aval', None)
  if aval is None or not hasattr(aval, 'shape'):
    return 0
  return int(np.prod(aval.shape)) * np.dtype(aval.dtype).itemsize


def group_of(name_stack: str, resize: bool = False) -> str:
  """'transpose(jvp(LGPN))/backbone/stages/layer1_2/conv3' -> 'backbone/layer1'.

  The model's own name (the first component) and 'stages' are dropped, at
  most two components are kept and a trailing block index is removed.
  """
  parts = [p for p in _WRAPPER.sub('', name_stack).replace(')', '').split('/')
           if p]
  parts = [p for p in parts[1:] if p != 'stages'] or parts[:1]
  group = '/'.join(re.sub(r'_\d+$', '', p) for p in parts[:2])
  return f'{group}/resize' if resize else group


def _is_batch_statistic(stack: str, eqn) -> bool:
  """A forward reduction over batch, height and width of a 4-D tensor: a
  training-mode normalization's statistics (global pooling keeps the batch)."""
  if eqn.primitive.name != 'reduce_sum' or 'transpose(' in stack:
    return False
  return (len(eqn.invars[0].aval.shape) == 4
          and tuple(sorted(eqn.params['axes'])) == (0, 1, 2))


@dataclasses.dataclass(frozen=True)
class Program:
  ops: list[Op]                  # every convolution and matmul.
  normalized: dict[str, int]     # normalization module -> elements normalized.


def trace(fn: Callable, *args: Any, axis_env=None) -> Program:
  """The heavy ops and batch-statistics normalizations of ``fn(*args)``
  (arguments may be ShapeDtypeStructs); ``axis_env`` binds collective axis
  names."""
  jaxpr = jax.make_jaxpr(fn, axis_env=axis_env)(*args).jaxpr
  ops, normalized = [], {}
  for stack, resize, eqn in flops_lib.walk(jaxpr):
    name = eqn.primitive.name
    if name in HEAVY:
      count = (flops_lib.conv_flops if name == 'conv_general_dilated'
               else flops_lib.dot_flops)(eqn)
      out = sum(_nbytes(v) for v in eqn.outvars)
      moved = sum(_nbytes(v) for v in eqn.invars) + out
      ops.append(Op(group_of(stack, resize), 'transpose(' in stack, count,
                    moved, out))
    elif _is_batch_statistic(stack, eqn):
      # mean(x) and mean(x^2) of one module: count the tensor once.
      normalized[stack] = int(np.prod(eqn.invars[0].aval.shape))
  return Program(ops, normalized)


def heavy_ops(fn: Callable, *args: Any, axis_env=None) -> list[Op]:
  """The convolutions and matmuls of ``fn(*args)`` (see ``trace``)."""
  return trace(fn, *args, axis_env=axis_env).ops


def floor_seconds(op: Op, peak_flops: float, peak_bw: float) -> float:
  return max(op.flops / peak_flops, op.bytes / peak_bw)


TRAIN_BN_PASSES = 8
INFER_BN_PASSES = 2


def summarize(ops: list[Op], images: int, peak_tflops: float,
              peak_tbps: float, normalized_bytes: int = 0,
              bn_passes: int = TRAIN_BN_PASSES) -> dict:
  """Per-image totals, the floor, and a per-group table sorted by floor.

  ``peak_tflops``: the matrix units' rate; ``peak_tbps``: memory bandwidth,
  read + write, in TB/s. ``normalized_bytes``: the size of the tensors that
  BatchNorm normalizes (stored in the activation dtype), each costing
  ``bn_passes`` passes beyond the convolutions' own reads and writes, which
  no convolution library call absorbs. Training: 8 (forward, one read for
  the statistics and a read + write to normalize and ReLU; backward, two
  reads for the gradient statistics and two reads + a write for the input
  gradient). Inference with running statistics: 2 (the per-channel
  scale-and-shift + ReLU pass, unless the scale is folded into the
  convolution's weights, leaving a bias + ReLU that cuDNN fuses).
  ``floor_with_bn`` adds that traffic at full bandwidth.
  """
  pf, pb = peak_tflops * 1e12, peak_tbps * 1e12
  groups = collections.defaultdict(lambda: [0, 0, 0.0, 0.0, 0])
  for op in ops:
    g = groups[op.group]
    g[0] += op.flops
    g[1] += op.bytes
    t = floor_seconds(op, pf, pb)
    g[2] += t
    g[3] += t if op.bytes / pb > op.flops / pf else 0.0
    g[4] += 0 if op.backward else op.out_bytes
  rows = [{'group': name, 'gflops': f / images / 1e9, 'mbytes': b / images / 1e6,
           'floor_us': t / images * 1e6,
           'memory_bound_fraction': mem / t if t else 0.0,
           'forward_output_mbytes': out / images / 1e6}
          for name, (f, b, t, mem, out) in groups.items()]
  rows.sort(key=lambda r: -r['floor_us'])
  total_f, total_b, floor, memory_time = (sum(g[k] for g in groups.values())
                                           for k in range(4))
  bn_bytes = bn_passes * normalized_bytes
  bn_seconds = bn_bytes / pb
  return {'images': images, 'peak_tflops': peak_tflops,
          'peak_tbps': peak_tbps, 'heavy_ops': len(ops),
          'gflops_per_image': total_f / images / 1e9,
          'mbytes_per_image': total_b / images / 1e6,
          'flops_per_byte': total_f / max(total_b, 1),
          'compute_only_us_per_image': total_f / pf / images * 1e6,
          'floor_us_per_image': floor / images * 1e6,
          'floor_img_s': images / floor if floor else None,
          'memory_bound_fraction': memory_time / floor if floor else 0.0,
          'bn_extra_mbytes_per_image': bn_bytes / images / 1e6,
          'floor_with_bn_us_per_image': (floor + bn_seconds) / images * 1e6,
          'floor_with_bn_img_s': (images / (floor + bn_seconds)
                                  if floor + bn_seconds else None),
          'groups': rows}
