"""FLOP counts: convolutions and matmuls read off the jaxpr, and XLA's count.

``matmul_flops`` walks the traced program and counts only convolutions and
dot products, 2 FLOPs per multiply-add: the same rule as PyTorch's
FlopCounterMode, which produced the reference's 178.9 GFLOPs. ``xla_flops``
asks XLA's cost analysis of the lowered, uncompiled module, which counts every
operation (element-wise ones too). On GPU, the *compiled* module's cost
analysis misses convolutions that run as cuDNN custom calls, so it is never
used here (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.extend  # noqa: F401 (makes jax.extend.core available)
import numpy as np


def conv_flops(eqn) -> int:
  lhs, rhs = (v.aval for v in eqn.invars[:2])
  out = eqn.outvars[0].aval
  dn = eqn.params['dimension_numbers']
  groups = eqn.params['feature_group_count'] * eqn.params['batch_group_count']
  # Each output element needs (kernel spatial size x input features / groups)
  # multiply-adds. An input dilated by d (the backward pass of a stride-d
  # convolution) has zeros in all but 1/d of its positions per axis, and those
  # products are not counted: a backward pass then costs 2x its forward pass,
  # as PyTorch's FlopCounterMode counts it.
  kernel_spatial = int(np.prod([rhs.shape[d] for d in dn.rhs_spec[2:]]))
  in_features = lhs.shape[dn.lhs_spec[1]]
  dilation = int(np.prod(eqn.params.get('lhs_dilation') or (1,)))
  return (2 * int(np.prod(out.shape)) * kernel_spatial * in_features
          // (groups * dilation))


def dot_flops(eqn) -> int:
  lhs = eqn.invars[0].aval
  out = eqn.outvars[0].aval
  (contract, _), _ = eqn.params['dimension_numbers']
  k = int(np.prod([lhs.shape[d] for d in contract]))
  return 2 * int(np.prod(out.shape)) * k


def sub_jaxprs(eqn):
  for value in eqn.params.values():
    values = value if isinstance(value, (list, tuple)) else (value,)
    for v in values:
      if isinstance(v, jax.extend.core.ClosedJaxpr):
        yield v.jaxpr
      elif isinstance(v, jax.extend.core.Jaxpr):
        yield v


def walk(jaxpr, prefix: str = '', resize: bool = False):
  """(name stack, inside a resize, eqn) of every equation, nested ones too."""
  for eqn in jaxpr.eqns:
    stack = f'{prefix}/{eqn.source_info.name_stack}'.strip('/')
    yield stack, resize, eqn
    inner = resize or 'resize' in str(eqn.params.get('name', ''))
    for sub in sub_jaxprs(eqn):
      yield from walk(sub, stack, inner)


def _count(jaxpr, counts: dict[str, int]) -> None:
  for _, in_resize, eqn in walk(jaxpr):
    name = eqn.primitive.name
    if name == 'conv_general_dilated':
      counts['conv'] += conv_flops(eqn)
    elif name == 'dot_general':
      counts['resize' if in_resize else 'matmul'] += dot_flops(eqn)


def matmul_flops_breakdown(fn: Callable, *args: Any) -> dict[str, int]:
  """FLOPs of ``fn(*args)`` by kind, 2 per multiply-add: 'conv', 'matmul',
  and 'resize' (jax.image.resize runs bilinear resizing as matmuls against
  interpolation matrices; PyTorch's counter does not count its upsampling)."""
  counts = {'conv': 0, 'matmul': 0, 'resize': 0}
  _count(jax.make_jaxpr(fn)(*args).jaxpr, counts)
  return counts


def matmul_flops(fn: Callable, *args: Any) -> int:
  """Convolution + matmul FLOPs of ``fn(*args)``, resizing excluded: the
  quantity PyTorch's FlopCounterMode reports."""
  counts = matmul_flops_breakdown(fn, *args)
  return counts['conv'] + counts['matmul']


def _lowered_cost(fn: Callable, args, key: str) -> float | None:
  analysis = jax.jit(fn).lower(*args).cost_analysis()
  if isinstance(analysis, (list, tuple)):  # older jax returned one per device.
    analysis = analysis[0] if analysis else None
  return None if not analysis or key not in analysis else float(analysis[key])


def xla_flops(fn: Callable, *args: Any) -> float | None:
  """XLA's FLOP count of the lowered (uncompiled) ``jax.jit(fn)``; every op."""
  return _lowered_cost(fn, args, 'flops')


def xla_bytes(fn: Callable, *args: Any) -> float | None:
  """XLA's bytes accessed by the lowered (uncompiled) ``jax.jit(fn)``: every
  op reads its operands and writes its result, nothing fused (an upper
  bound on the memory traffic of the compiled program)."""
  return _lowered_cost(fn, args, 'bytes accessed')
