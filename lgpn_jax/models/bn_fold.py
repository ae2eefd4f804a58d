"""Fold BatchNorm running statistics into the preceding convolutions.

  model, variables = folded(config.model, variables)   # LGPN, for inference
  fold_variables(variables, config.model)  # any model of these backbones

In eval mode BatchNorm is a per-channel affine map y = s * z + b with
s = gamma / sqrt(var + eps), b = beta - mean * s. After a convolution
z = W * x (+ c) it folds into the kernel and a bias:
  W' = W * s (per output channel),  c' = s * c + b  (c = 0 without a bias);
two BatchNorms in a row (GTC ``stem_bn='released'``: conv1_0 -> bn1_0 ->
bn1_1) compose by applying the rule twice, in order. The folded model
(``model.fold_bn=True``) is the same network with those convolutions given a
bias and the BatchNorms removed; it is inference-only.

Pairs are found by name in the parameter tree, in each module scope:
``bn<k>`` -> ``conv<k>`` and ``<prefix>_bn`` -> ``<prefix>_conv`` (bn1 ->
conv1, bn1_0 -> conv1_0, downsample_bn -> downsample_conv, stem_merge_bn ->
stem_merge_conv, conv_smooth_last_bn -> conv_smooth_last_conv); under
``stem_bn='released'`` bn1_1 follows bn1_0 on conv1_0. A BatchNorm (a name of
that form, or anything with statistics) that lacks its parameters, its
statistics or its convolution raises ``FoldError`` naming the module: nothing
is dropped silently. Arithmetic and results are float32.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import jax.numpy as jnp

from lgpn_jax.models.resnet import BN_EPSILON

_BN_NAME = re.compile(r'(.*_)?bn(\d+(?:_\d+)?)?')
# stem_bn='released': the 5x5 branch passes bn1_0 then bn1_1 (gtc.py).
_RELEASED_CHAIN = {'bn1_1': 'conv1_0'}


class FoldError(ValueError):
  """Variables that cannot be folded (the message names the module)."""


def conv_name_for(bn_name: str) -> str | None:
  """The convolution a BatchNorm of this name follows (None: not a BN name)."""
  m = _BN_NAME.fullmatch(bn_name)
  if m is None:
    return None
  return f'{m.group(1) or ""}conv{m.group(2) or ""}'


def _affine(bn_params, stats, where):
  """(s, b) of eval-mode BatchNorm, float32."""
  for tree, keys, kind in ((bn_params, ('scale', 'bias'), 'parameters'),
                           (stats, ('mean', 'var'), 'running statistics')):
    missing = [k for k in keys if not isinstance(tree, Mapping) or k not in tree]
    if missing:
      raise FoldError(f'BatchNorm {where}: {kind} {missing} missing')
  f32 = lambda a: jnp.asarray(a, jnp.float32)
  s = f32(bn_params['scale']) / jnp.sqrt(f32(stats['var']) + BN_EPSILON)
  return s, f32(bn_params['bias']) - f32(stats['mean']) * s


def _is_batch_norm(name, stats):
  """A BatchNorm's name, or a module whose statistics are arrays."""
  own = stats.get(name)
  return conv_name_for(name) is not None or (
      isinstance(own, Mapping)
      and any(not isinstance(a, Mapping) for a in own.values()))


def _fold_scope(params, stats, path, released):
  where = lambda name: '/'.join(path + (name,))
  stats = dict(stats or {})
  bns = [k for k in dict.fromkeys([*params, *stats]) if _is_batch_norm(k, stats)]
  chains: dict[str, list[str]] = {}
  # Name-paired BatchNorms first, then those that follow another BatchNorm.
  for bn in sorted(bns, key=lambda k: released and k in _RELEASED_CHAIN):
    conv = (_RELEASED_CHAIN[bn] if released and bn in _RELEASED_CHAIN
            else conv_name_for(bn))
    if conv is None:
      raise FoldError(f'BatchNorm {where(bn)}: no convolution to fold it into '
                      '(its name pairs with none: bn<k> -> conv<k>, '
                      '<prefix>_bn -> <prefix>_conv)')
    if not isinstance(params.get(conv), Mapping) or 'kernel' not in params[conv]:
      raise FoldError(f'BatchNorm {where(bn)}: no convolution '
                      f'{where(conv)} with a kernel to fold it into')
    chains.setdefault(conv, []).append(bn)

  out = {}
  for name, value in params.items():
    if name in bns:
      continue
    if name in chains:
      kernel = jnp.asarray(value['kernel'], jnp.float32)
      bias = jnp.asarray(value.get('bias', jnp.zeros(kernel.shape[-1])),
                         jnp.float32)
      for bn in chains[name]:
        s, b = _affine(params.get(bn), stats.pop(bn, None), where(bn))
        if s.shape != (kernel.shape[-1],):
          raise FoldError(f'BatchNorm {where(bn)} has {s.shape} channels, '
                          f'{where(name)} outputs {kernel.shape[-1]}')
        kernel, bias = kernel * s, bias * s + b
      out[name] = {**value, 'kernel': kernel, 'bias': bias}
    elif isinstance(value, Mapping):
      out[name] = _fold_scope(value, stats.pop(name, None), path + (name,),
                              released)
    else:
      out[name] = value
  if stats:
    raise FoldError(f'statistics without a BatchNorm to fold: '
                    f'{[where(k) for k in stats]}')
  return out


def fold_variables(variables: Mapping[str, Any], model_cfg) -> dict:
  """The ordinary model's {'params', 'batch_stats'} -> the folded model's
  {'params'} (``model_cfg`` with ``fold_bn`` True builds the folded model;
  its ``stem_bn`` says which convolution bn1_1 follows)."""
  unknown = set(variables) - {'params', 'batch_stats'}
  if unknown:
    raise FoldError(f'unexpected variable collections {sorted(unknown)}')
  released = (model_cfg.get('backbone', 'gtc') == 'gtc'
              and model_cfg.get('stem_bn', 'paper') == 'released')
  return {'params': _fold_scope(variables['params'],
                                variables.get('batch_stats', {}), (),
                                released)}


def folded_config(model_cfg):
  """A copy of a ``config.model`` with ``fold_bn=True``."""
  cfg = model_cfg.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.fold_bn = True
  return cfg


def folded(model_cfg, variables):
  """(folded LGPN, its variables) for inference; ``train=False`` only."""
  from lgpn_jax.models.build import build_model
  return (build_model(folded_config(model_cfg)),
          fold_variables(variables, model_cfg))
