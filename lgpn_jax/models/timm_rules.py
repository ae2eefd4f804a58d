"""Where timm's ImageNet ViT-B/16 and HRNet-W32 weights go in our backbones.

Key rules for ``pretrained.load_pretrained`` (targets 'vit_b16' and 'hrnet',
the ``model.backbone`` values): each takes a timm state_dict key and returns a
``Target`` (collection first, relative to the backbone), the reason the key is
ignored (a str), or None for a key the timm model does not have. Transforms:
conv [O, I, kh, kw] -> kernel [kh, kw, I, O]; Linear [out, in] -> kernel
[in, out]; LayerNorm weight/bias -> scale/bias; BatchNorm weight/bias ->
params scale/bias, running_mean/var -> batch_stats mean/var.

ViT-B/16: timm ``vit_base_patch16_224`` (152 keys):
  patch_embed.proj                  patch_embed/proj (conv, with bias)
  cls_token [1, 1, D]               cls_token (copied)
  pos_embed [1, 1 + 14*14, D]       pos_embed, resampled (``resample_pos_embed``)
  blocks.{i}.norm{1,2}              block{i}/norm{1,2} (LayerNorm)
  blocks.{i}.attn.qkv [3D, D]       block{i}/attn/qkv (Linear, transposed only)
  blocks.{i}.attn.proj              block{i}/attn/proj
  blocks.{i}.mlp.fc{1,2}            block{i}/mlp/fc{1,2}
  norm                              norm (LayerNorm)
  head.*                            ignored: ImageNet's 1000-class classifier;
                                    our fc maps to model.feature_dim
timm's fused qkv has the same layout as ours (outputs [q | k | v], each
head-major: ``qkv.reshape(B, N, 3, heads, D // heads)`` in both), so the
kernel is its transpose with no reordering; that holds only for the same
``heads`` (12 for ViT-B/16), which the shapes cannot show. Position
embeddings: timm's are for 224x224 (a 14x14 patch grid), ours for the image
size at init (16x16 at 256x256). The class token's position is kept as is;
the patch-grid part is resized as an image of D channels with bilinear
interpolation (half-pixel centres, as ``torch.nn.functional.interpolate``
with ``align_corners=False``), which is timm's ``resample_abs_pos_embed``
with ``interpolation='bilinear'`` (timm's own default is bicubic: our choice
of the smoother, overshoot-free kernel; both are fine-tuned afterwards).
Both grids are taken as square, as timm does when no size is given.

HRNet-W32: timm ``hrnet_w32`` (its classification head; module names as in
lgpn_jax/models/hrnet.py, t = stage - 1 in timm's transition names):
  conv{1,2}, bn{1,2}                conv{1,2}, bn{1,2} (stem)
  layer1.{b}.{conv,bn}{1,2,3}       layer1_{b}/{conv,bn}{1,2,3}
  layer1.{b}.downsample.{0,1}       layer1_{b}/downsample_{conv,bn}
  transition{t}.{i}.{0,1}           transition{t+1}_{i}_{conv,bn} (width change)
  transition{t}.{i}.0.{0,1}         transition{t+1}_{i}_{conv,bn} (new branch)
  stage{s}.{m}.branches.{i}.{b}.*   stage{s}_{m}/branch{i}_{b}/* (as layer1)
  stage{s}.{m}.fuse_layers.{i}.{j}.{0,1}     stage{s}_{m}/fuse/to{i}_from{j}_
                                             {conv,bn} (j > i)
  stage{s}.{m}.fuse_layers.{i}.{j}.{k}.{0,1} stage{s}_{m}/fuse/to{i}_from{j}_
                                             step{k}_{conv,bn} (j < i)
  incre_modules.{i}.0.*             head/incre{i}/* (as layer1)
  downsamp_modules.{i}.{0,1}        head/downsamp{i}_{conv,bn} (conv bias too)
  final_layer.{0,1}                 head/final_{conv,bn} (conv bias too)
  classifier.*                      ignored: ImageNet's 1000-class classifier;
                                    our fc maps to model.feature_dim
  *.num_batches_tracked             ignored (Flax BatchNorm keeps no step count)
Keys are matched by name; a key whose place our model lacks (another depth or
number of modules) is reported as unexpected by the loader, and a shape that
differs (another width) is an error there.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Mapping

import jax
import numpy as np

from lgpn_jax.models.convert import BN, CONV, LINEAR, NUM_BATCHES, LeafMap, Target

# What the weights were trained with: the loader's hint when ours differs.
VIT_B16 = dict(patch=16, width=768, depth=12, mlp_dim=3072)
HRNET_W32 = dict(stem_width=64, stage1_width=64, stage1_blocks=4, width=32,
                 num_modules=(1, 4, 3), num_blocks=4,
                 head_widths=(32, 64, 128, 256), final_width=2048)
HEAD_REASON = ("timm's 1000-class ImageNet classifier; our fc maps to "
               'model.feature_dim and keeps its init')
LAYER_NORM: LeafMap = {'weight': ('params', 'scale', 'copy'),
                       'bias': ('params', 'bias', 'copy')}
_SEQUENTIAL = {'0': 'conv', '1': 'bn'}        # Sequential(Conv2d, BatchNorm2d)

# Module path regex -> our module path (a format of the groups, `q` the
# Sequential index's conv / bn name) and its leaf map (None: conv or BN by
# the path's last name).
_Rule = tuple[re.Pattern, Callable[..., str], 'LeafMap | None']


def _rules(*rows) -> tuple[_Rule, ...]:
  return tuple((re.compile(p), f, leaves) for p, f, leaves in rows)


_VIT = _rules(
    (r'patch_embed\.proj', lambda: 'patch_embed/proj', CONV),
    (r'blocks\.(\d+)\.(norm[12])', lambda i, n: f'block{i}/{n}', LAYER_NORM),
    (r'blocks\.(\d+)\.attn\.(qkv|proj)', lambda i, n: f'block{i}/attn/{n}',
     LINEAR),
    (r'blocks\.(\d+)\.mlp\.(fc[12])', lambda i, n: f'block{i}/mlp/{n}', LINEAR),
    (r'norm', lambda: 'norm', LAYER_NORM),
)
_BLOCK = r'(conv[123]|bn[123]|downsample\.[01])'


def _block(name: str) -> str:
  """A timm block's module name -> ours (downsample.{0,1} -> downsample_*)."""
  if name.startswith('downsample.'):
    return 'downsample_' + _SEQUENTIAL[name[-1]]
  return name


_HRNET = _rules(
    (r'(conv[12]|bn[12])', lambda n: n, None),
    (rf'layer1\.(\d+)\.{_BLOCK}', lambda b, n: f'layer1_{b}/{_block(n)}', None),
    (r'transition(\d)\.(\d+)\.(?:0\.)?([01])',
     lambda t, i, q: f'transition{int(t) + 1}_{i}_{_SEQUENTIAL[q]}', None),
    (rf'stage(\d)\.(\d+)\.branches\.(\d+)\.(\d+)\.{_BLOCK}',
     lambda s, m, i, b, n: f'stage{s}_{m}/branch{i}_{b}/{_block(n)}', None),
    (r'stage(\d)\.(\d+)\.fuse_layers\.(\d+)\.(\d+)\.([01])',
     lambda s, m, i, j, q: f'stage{s}_{m}/fuse/to{i}_from{j}_{_SEQUENTIAL[q]}',
     None),
    (r'stage(\d)\.(\d+)\.fuse_layers\.(\d+)\.(\d+)\.(\d+)\.([01])',
     lambda s, m, i, j, k, q:
     f'stage{s}_{m}/fuse/to{i}_from{j}_step{k}_{_SEQUENTIAL[q]}', None),
    (rf'incre_modules\.(\d+)\.0\.{_BLOCK}',
     lambda i, n: f'head/incre{i}/{_block(n)}', None),
    (r'downsamp_modules\.(\d+)\.([01])',
     lambda i, q: f'head/downsamp{i}_{_SEQUENTIAL[q]}', None),
    (r'final_layer\.([01])', lambda q: f'head/final_{_SEQUENTIAL[q]}', None),
)


def _match(rules: tuple[_Rule, ...], key: str) -> Target | None:
  module, _, leaf = key.rpartition('.')
  for pattern, path_of, leaves in rules:
    match = pattern.fullmatch(module)
    if match is None:
      continue
    path = path_of(*match.groups())
    if leaves is None:
      name = path.rpartition('/')[2]
      leaves = BN if name.startswith('bn') or name.endswith('_bn') else CONV
    if leaf not in leaves:
      return None
    collection, flax_name, transform = leaves[leaf]
    return Target((collection, *path.split('/'), flax_name), transform)
  return None


def vit_b16_rules(key: str) -> Target | str | None:
  """Where a timm ``vit_base_patch16_224`` key goes (see the module doc)."""
  if key.startswith('head.'):
    return HEAD_REASON
  if key in ('cls_token', 'pos_embed'):
    return Target(('params', key), 'pos_embed' if key == 'pos_embed'
                  else 'copy')
  return _match(_VIT, key)


def hrnet_w32_rules(key: str) -> Target | str | None:
  """Where a timm ``hrnet_w32`` key goes (see the module doc)."""
  if key.endswith('.num_batches_tracked'):
    return NUM_BATCHES
  if key.startswith('classifier.'):
    return HEAD_REASON
  return _match(_HRNET, key)


def _square(tokens: int) -> int | None:
  side = math.isqrt(max(tokens, 0))
  return side if side > 0 and side * side == tokens else None


def resample_pos_embed(pos: np.ndarray, shape) -> np.ndarray:
  """[1, 1 + g * g, D] position embeddings -> ``shape`` [1, 1 + G * G, D]:
  the class token's row kept, the g x g grid resized to G x G bilinearly
  (half-pixel centres). Returned unchanged when the grids are equal or
  either is not square or D differs (the loader's shape check reports it).
  """
  pos = np.asarray(pos)
  old = _square(pos.shape[1] - 1) if pos.ndim == 3 else None
  new = _square(shape[1] - 1) if len(shape) == 3 else None
  if old is None or new is None or old == new or pos.shape[2] != shape[2]:
    return pos
  grid = pos[0, 1:].astype(np.float32).reshape(old, old, -1)
  grid = jax.image.resize(grid, (new, new, grid.shape[-1]), 'linear',
                          antialias=True)
  grid = np.asarray(grid).reshape(1, new * new, -1)
  return np.concatenate([pos[:, :1].astype(np.float32), grid], axis=1)


def _count(names: set[str], pattern: str) -> int:
  return sum(re.fullmatch(pattern, n) is not None for n in names)


def vit_architecture(kernels: Mapping[tuple, tuple]) -> dict:
  """The VIT_B16 fields read off our ViT's parameter shapes (module path ->
  shape of its kernel / parameter, relative to the backbone)."""
  names = {'/'.join(p[:i + 1]) for p in kernels for i in range(len(p))}
  get = lambda *path: kernels.get(path, (None,))
  return dict(patch=get('patch_embed', 'proj', 'kernel')[0],
              width=get('cls_token')[-1],
              depth=_count(names, r'block\d+'),
              mlp_dim=get('block0', 'mlp', 'fc1', 'kernel')[-1])


def hrnet_architecture(kernels: Mapping[tuple, tuple]) -> dict:
  """The HRNET_W32 fields read off our HRNet's parameter shapes."""
  names = {'/'.join(p[:i + 1]) for p in kernels for i in range(len(p))}
  width = lambda *path: kernels.get((*path, 'kernel'), (None,))[-1]
  branches = max((int(m[1]) for n in names
                  if (m := re.fullmatch(r'stage(\d)_\d+', n))), default=1)
  return dict(stem_width=width('conv1'), stage1_width=width('layer1_0', 'conv1'),
              stage1_blocks=_count(names, r'layer1_\d+'),
              width=width('stage2_0', 'branch0_0', 'conv1'),
              num_modules=tuple(_count(names, rf'stage{s}_\d+')
                                for s in range(2, branches + 1)),
              num_blocks=_count(names, r'stage2_0/branch0_\d+'),
              head_widths=tuple(width('head', f'incre{i}', 'conv1')
                                for i in range(branches)),
              final_width=width('head', 'final_conv'))
