"""HRNet-W32 (the ImageNet classification form, "HRNetV1-C") as an LGPN backbone.

Input [B, H, W, 3] in [-1, 1], channels-last; H and W multiples of
``4 * 2 ** len(num_modules)`` (32 by default: the stem divides by 4 and each
new branch by 2 more, and nearest upsampling must give back the exact size of
the higher-resolution branch; other sizes raise ValueError, our choice). Output
f [B, features]. Parameters stay float32; ``dtype`` is the compute dtype.

Layers (defaults; every width and count is a field, so a tiny model is a config):
  1. stem: two 3x3 stride-2 convolutions 3 -> 64 -> 64, each BN + ReLU (1/4);
  2. stage 1: 4 bottlenecks of width 64 (-> 256 channels);
  3. stages 2, 3, 4 with 2, 3, 4 parallel branches of widths 32, 64, 128, 256
     (``width * 2 ** i``) at 1/4 .. 1/32 resolution, made of 1, 4, 3 modules.
     Before each stage a transition adapts the existing branches (3x3 conv +
     BN + ReLU where the width changes) and makes the new one from the lowest-
     resolution branch (3x3 stride-2 conv + BN + ReLU). A module runs 4 basic
     blocks per branch, then fuses: output branch i sums every input branch j,
     brought to branch i's width and resolution -- j > i: 1x1 conv + BN, then
     nearest upsampling by 2 ** (j - i); j < i: i - j 3x3 stride-2 convs, each
     with BN, ReLU between them but not after the last; j = i: itself -- then
     a ReLU. Every module keeps every branch (the classification network's
     last stage too);
  4. head: on branch i a bottleneck to ``4 * head_widths[i]`` = 128, 256, 512,
     1024 channels; from the highest resolution down, y = incre_i(branch_i) +
     downsamp_{i-1}(y), downsamp a 3x3 stride-2 conv (with bias) + BN + ReLU;
     a 1x1 conv (with bias) to 2048 + BN + ReLU; global average pool (float32);
     a Dense layer to ``features`` (replacing the 1000-way classifier).

Why W32: the LGPN rebuttal's "HR-Net" baseline row does not state the width
(our choice); W32 is the most common HRNet ImageNet classification width and
the one timm ships as ``hrnet_w32``. The head widths (32, 64, 128, 256) do not
scale with ``width`` in the reference networks (W18, W32 and W48 share them),
so they are a field of their own. Parameters at ``features=512``: 40,232,768
(jax.eval_shape); with a 1000-way classifier instead it has 41,232,680, the
41.2M published for HRNet-W32-C. Forward FLOPs per 256x256 image
(convolutions and matmuls, 2 per multiply-add, as ``flops.matmul_flops``
counts them): 23.30 G (8.92 G multiply-adds at 224x224).

Reference parity choices: the head's downsampling and final convolutions keep
their biases although BatchNorm follows them (``head_conv_bias``): in training
BatchNorm subtracts the batch mean, so those biases get a zero gradient (up to
rounding) and change no output; they exist so the parameter count and layout
match the reference. Convolutions pad like PyTorch (symmetric ``k // 2``) and
BatchNorm uses PyTorch's defaults (``lgpn_jax.models.resnet``); the
bottlenecks are that module's ``Bottleneck``. Initialisation is the
reference's: He-normal (fan-out) convolutions, BN scale 1 and bias 0.

Names follow the BatchNorm folding rule of ``bn_fold`` (``bn<k>`` -> ``conv<k>``,
``<prefix>_bn`` -> ``<prefix>_conv``), so ``fold_bn=True`` builds the
inference-only folded form as for GTC and ResNet-50 (every convolution that
BatchNorm follows gets a bias, the BatchNorms go). They map one to one onto the
reference's: ``stage3_2/branch1_0/conv1`` is ``stage3.2.branches.1.0.conv1``,
``stage3_2/fuse/to0_from2_conv`` is ``stage3.2.fuse_layers.0.2.0``,
``to2_from0_step1_conv`` is ``fuse_layers.2.0.1.0``, ``transition3_2_conv``
(before stage 3) is ``transition2.2.0.0``, ``head/incre1`` is
``incre_modules.1.0`` (``timm_rules`` has the whole table).

``remat=True`` recomputes each basic block, bottleneck and fusion in the
backward pass instead of keeping its activations.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.models.resnet import (Bottleneck, check_not_folded_training,
                                    norm_layers)

Dtype = Any


def _maybe_remat(module, remat: bool):
  # static_argnums counts self: argument 2 is `train`.
  return nn.remat(module, static_argnums=(2,)) if remat else module


def upsample_nearest(x, factor: int):
  """[B, H, W, C] -> [B, factor * H, factor * W, C], each pixel repeated."""
  if factor == 1:
    return x
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


class BasicBlock(nn.Module):
  """3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, plus the (projected) input, ReLU."""
  features: int
  stride: int = 1
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  fold_bn: bool = False

  @nn.compact
  def __call__(self, x, train: bool):
    check_not_folded_training(self.fold_bn, train, 'BasicBlock')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    y = conv_bn(self.features, 3, self.stride, name='conv1')(x)
    y = nn.relu(bn(name='bn1')(y))
    y = conv_bn(self.features, 3, name='conv2')(y)
    y = bn(name='bn2')(y)
    if self.stride != 1 or x.shape[-1] != self.features:
      x = conv_bn(self.features, 1, self.stride, name='downsample_conv')(x)
      x = bn(name='downsample_bn')(x)
    return nn.relu(y + x)


class Fuse(nn.Module):
  """Multi-resolution fusion: branch i's output is ReLU(sum_j resample_ij(x_j)).

  ``widths[i]`` is branch i's width (input and output); branch i + 1 has half
  the resolution of branch i. ``num_outputs`` branches come out (all of them
  in HRNet's classification form).
  """
  widths: Sequence[int]
  num_outputs: int
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  fold_bn: bool = False

  @nn.compact
  def __call__(self, xs, train: bool):
    check_not_folded_training(self.fold_bn, train, 'Fuse')
    if len(xs) != len(self.widths):
      raise ValueError(f'Fuse has {len(self.widths)} branches, got {len(xs)}')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    outs = []
    for i in range(self.num_outputs):
      total = None
      for j, x in enumerate(xs):
        if j > i:   # lower resolution: 1x1 conv + BN, then nearest upsampling.
          y = conv_bn(self.widths[i], 1, name=f'to{i}_from{j}_conv')(x)
          y = upsample_nearest(bn(name=f'to{i}_from{j}_bn')(y), 2 ** (j - i))
        elif j < i:   # higher resolution: i - j strided 3x3 convs.
          y = x
          for k in range(i - j):
            last = k == i - j - 1
            prefix = f'to{i}_from{j}_step{k}'
            y = conv_bn(self.widths[i] if last else self.widths[j], 3, 2,
                        name=f'{prefix}_conv')(y)
            y = bn(name=f'{prefix}_bn')(y)
            if not last:
              y = nn.relu(y)
        else:
          y = x
        total = y if total is None else total + y
      outs.append(nn.relu(total))
    return outs


class HRModule(nn.Module):
  """``num_blocks`` basic blocks on each branch, then a ``Fuse``."""
  widths: Sequence[int]
  num_blocks: int = 4
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False
  fold_bn: bool = False

  @nn.compact
  def __call__(self, xs, train: bool):
    block = _maybe_remat(BasicBlock, self.remat)
    common = dict(dtype=self.dtype, bn_axis_name=self.bn_axis_name,
                  fold_bn=self.fold_bn)
    outs = []
    for i, (x, width) in enumerate(zip(xs, self.widths)):
      for b in range(self.num_blocks):
        x = block(width, name=f'branch{i}_{b}', **common)(x, train)
      outs.append(x)
    fuse = _maybe_remat(Fuse, self.remat)
    return fuse(tuple(self.widths), len(self.widths), name='fuse',
                **common)(outs, train)


class HRHead(nn.Module):
  """Classification head on the branches -> pooled [B, final_width] float32."""
  head_widths: Sequence[int] = (32, 64, 128, 256)
  final_width: int = 2048
  conv_bias: bool = True
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False
  fold_bn: bool = False

  @nn.compact
  def __call__(self, xs, train: bool):
    check_not_folded_training(self.fold_bn, train, 'HRHead')
    if len(xs) != len(self.head_widths):
      raise ValueError(f'HRHead has {len(self.head_widths)} head widths, got '
                       f'{len(xs)} branches')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    bias = dict(bias=True) if self.conv_bias else {}
    incre = _maybe_remat(Bottleneck, self.remat)
    common = dict(dtype=self.dtype, bn_axis_name=self.bn_axis_name,
                  fold_bn=self.fold_bn)
    y = None
    for i, (x, width) in enumerate(zip(xs, self.head_widths)):
      x = incre(width, name=f'incre{i}', **common)(x, train)
      if y is not None:
        y = conv_bn(4 * width, 3, 2, name=f'downsamp{i - 1}_conv', **bias)(y)
        x = x + nn.relu(bn(name=f'downsamp{i - 1}_bn')(y))
      y = x
    y = conv_bn(self.final_width, 1, name='final_conv', **bias)(y)
    y = nn.relu(bn(name='final_bn')(y))
    return jnp.mean(y.astype(jnp.float32), axis=(1, 2))


class HRNet(nn.Module):
  """HRNet (W32 by default) -> linear features; see the module docstring."""
  features: int = 512
  stem_width: int = 64
  stage1_width: int = 64            # bottleneck width; stage 1 outputs 4x it.
  stage1_blocks: int = 4
  width: int = 32                   # branch i has width * 2 ** i channels.
  num_modules: Sequence[int] = (1, 4, 3)   # stages 2, 3, 4 (2, 3, 4 branches).
  num_blocks: int = 4               # basic blocks per branch per module.
  head_widths: Sequence[int] = (32, 64, 128, 256)   # incre outputs are 4x.
  final_width: int = 2048
  head_conv_bias: bool = True       # reference parity (see the module doc).
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False
  fold_bn: bool = False             # inference-only folded form.

  @nn.compact
  def __call__(self, x, train: bool):
    check_not_folded_training(self.fold_bn, train, 'HRNet')
    num_branches = len(self.num_modules) + 1
    if len(self.head_widths) != num_branches:
      raise ValueError(f'head_widths needs {num_branches} entries (one per '
                       f'branch), got {tuple(self.head_widths)}')
    multiple = 4 * 2 ** (num_branches - 1)
    if x.shape[1] % multiple or x.shape[2] % multiple:
      raise ValueError(f'HRNet needs image sides that are multiples of '
                       f'{multiple}, got {x.shape[1]}x{x.shape[2]}')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    common = dict(dtype=self.dtype, bn_axis_name=self.bn_axis_name,
                  fold_bn=self.fold_bn)

    x = x.astype(self.dtype)
    x = nn.relu(bn(name='bn1')(conv_bn(self.stem_width, 3, 2, name='conv1')(x)))
    x = nn.relu(bn(name='bn2')(conv_bn(self.stem_width, 3, 2, name='conv2')(x)))
    bottleneck = _maybe_remat(Bottleneck, self.remat)
    for b in range(self.stage1_blocks):
      x = bottleneck(self.stage1_width, name=f'layer1_{b}', **common)(x, train)

    xs = [x]
    for s, modules in enumerate(self.num_modules, start=2):
      widths = tuple(self.width * 2 ** i for i in range(s))
      new = []
      for i, w in enumerate(widths):
        prefix = f'transition{s}_{i}'
        if i < len(xs):   # an existing branch: 3x3 conv only to change width.
          y = xs[i]
          if y.shape[-1] != w:
            y = nn.relu(bn(name=f'{prefix}_bn')(
                conv_bn(w, 3, name=f'{prefix}_conv')(y)))
        else:             # the new branch, from the lowest resolution.
          y = nn.relu(bn(name=f'{prefix}_bn')(
              conv_bn(w, 3, 2, name=f'{prefix}_conv')(xs[-1])))
        new.append(y)
      xs = new
      for m in range(modules):
        xs = HRModule(widths, self.num_blocks, remat=self.remat,
                      name=f'stage{s}_{m}', **common)(xs, train)

    pooled = HRHead(tuple(self.head_widths), self.final_width,
                    self.head_conv_bias, remat=self.remat, name='head',
                    **common)(xs, train)
    return nn.Dense(self.features, dtype=self.dtype, name='fc')(pooled)
