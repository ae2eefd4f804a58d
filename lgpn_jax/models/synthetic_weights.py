"""Random weights laid out like the authors' ``LGP_Net`` checkpoint.

  state_dict = random_state_dict(config, seed=0)     # {torch key: numpy}
  write_safetensors('weights.safetensors', state_dict)

For trying the import path (convert.py -> a fold -> predict.py / eval.py)
without the authors' file, and for testing it: every key the reference's
forward pass uses (``reference_keys``, named as in its ``state_dict``, a
``module.`` prefix as ``nn.DataParallel`` saves it), each with the torch
shape that ``convert.py`` maps onto ``config.model`` (so a tiny config gives
a tiny file), plus the BatchNorm step counters the reference saves. Values
keep activations of order 1 (weights normal with std 1/sqrt(fan-in),
BatchNorm scales 1 +- 0.1, variances uniform in [0.5, 1.5], biases and means
normal with std 0.1), so the outputs are not saturated. The names are written from the reference's module tree, not
derived from our parameter tree, so a naming slip on either side leaves a
key missing or unexpected and the strict conversion fails.

``write_safetensors`` writes the numpy-readable format that
``weight_files.read_safetensors`` parses (no torch needed).
"""

from __future__ import annotations

import json
import os
from typing import Mapping

import numpy as np

from lgpn_jax.models import convert

BN_LEAVES = ('weight', 'bias', 'running_mean', 'running_var',
             'num_batches_tracked')


def reference_keys(model_cfg) -> list[str]:
  """Every key of the reference state_dict the forward pass uses (and the
  BatchNorm counters), for the released structure of ``model_cfg``."""
  keys: list[str] = []

  def layer(name, bias=True):
    keys.extend([f'{name}.weight'] + ([f'{name}.bias'] if bias else []))

  def bn(name):
    keys.extend(f'{name}.{leaf}' for leaf in BN_LEAVES)

  g = 'GTC.'
  for name in ('conv1', 'conv1_0', 'conv1_1'):
    layer(g + name, bias=False)
  for name in ('bn1', 'bn1_0', 'bn1_1'):
    bn(g + name)
  layer(g + 'stem_merge.0', bias=False)
  bn(g + 'stem_merge.1')
  for stage, blocks in enumerate(model_cfg.stage_sizes, start=1):
    for b in range(blocks):
      p = f'{g}layer{stage}.{b}.'
      for i in (1, 2, 3):
        layer(f'{p}conv{i}', bias=False)
        bn(f'{p}bn{i}')
      if b == 0:
        layer(p + 'downsample.0', bias=False)
        bn(p + 'downsample.1')
  for k in range(len(model_cfg.stage_sizes)):
    layer(f'{g}latlayer{k}')
  for i in (0, 2, 4):
    layer(f'{g}output_branch.{i}')
  layer(g + 'conv_smooth_last.0', bias=False)
  bn(g + 'conv_smooth_last.1')
  layer(g + 'fc')
  for i in range(1, model_cfg.num_nodes + 1):
    layer(f'head_{i}.0')
    layer(f'head_{i}.2')
  levels = len(model_cfg.pool_sizes)
  for j in range((2 * levels + 1) * model_cfg.gcn_layers):
    layer(f'GCN_refine.W.{j}')
  keys.append('GCN_refine.a')
  layer('GCN_refine.output_mlp')
  for t in range(2 * levels):
    layer(f'GCN_refine.match_lst.{t}')
    layer(f'GCN_refine.corr_list.{t}')
  for name in ('classifier', 'classifier_real_fake'):
    layer(f'{name}.0')
    layer(f'{name}.2')
  return keys


def random_state_dict(config, seed: int = 0) -> dict[str, np.ndarray]:
  """{'module.<key>': float32 array} for ``config`` (see the module doc)."""
  convert.check_config(config.model)
  expected = convert._flatten(convert.expected_variables(config))  # noqa: SLF001
  rng = np.random.default_rng(seed)
  out = {}
  for key in reference_keys(config.model):
    if key.endswith('num_batches_tracked'):
      out[f'module.{key}'] = np.array(1, np.int64)
      continue
    target = convert.target_of(key, config.model.gcn_layers)
    if target is None or target.path not in expected:
      raise KeyError(f'{key} has no counterpart in this model ({target})')
    shape = tuple(expected[target.path].shape)
    if target.index is not None:
      shape = shape[1:]
    shape = convert.torch_shape(target.transform, shape)
    out[f'module.{key}'] = _random(key, shape, target, rng)
  return out


def _random(key: str, shape, target, rng) -> np.ndarray:
  """Values that keep activations of order 1 through the network."""
  leaf = target.path[-1]
  if key.endswith('running_var'):
    value = rng.uniform(0.5, 1.5, shape)
  elif leaf == 'scale':                               # BatchNorm weight.
    value = 1 + 0.1 * rng.standard_normal(shape)
  elif leaf in ('kernel', 'attention') or leaf.startswith('w'):
    fan_in = int(np.prod(shape[1:]))                  # torch layout [out, in...]
    if target.transform == 'attention':
      fan_in = shape[0] // 2
    value = rng.standard_normal(shape) / np.sqrt(fan_in)
  else:                                               # biases, running means.
    value = 0.1 * rng.standard_normal(shape)
  return value.astype(np.float32)


_CODES = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}


def write_safetensors(path: str | os.PathLike,
                      tensors: Mapping[str, np.ndarray]) -> str:
  """float32 / int64 arrays -> a .safetensors file; returns its path."""
  header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
  for name, value in tensors.items():
    value = np.ascontiguousarray(value)
    raw = value.astype(value.dtype.newbyteorder('<')).tobytes()
    header[name] = dict(dtype=_CODES[value.dtype], shape=list(value.shape),
                        data_offsets=[offset, offset + len(raw)])
    blobs.append(raw)
    offset += len(raw)
  text = json.dumps(header).encode()
  text += b' ' * (-len(text) % 8)          # 8-byte alignment, as writers do.
  with open(path, 'wb') as f:
    f.write(len(text).to_bytes(8, 'little') + text + b''.join(blobs))
  return os.fspath(path)
