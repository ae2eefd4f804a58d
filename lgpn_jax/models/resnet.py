"""ResNet-50 pieces shared by GTC, and the standard ResNet-50 baseline backbone.

Channels-last (NHWC). Convolutions pad like PyTorch (symmetric ``k // 2``), so
stride-2 layers see the same pixels as the reference (Flax's 'SAME' would pad
(0, 1) instead). Bottlenecks put the stride on the 3x3 convolution (ResNet v1.5,
as torchvision and the reference do). Parameters stay float32; ``dtype`` is the
compute dtype.

``fold_bn=True`` builds the inference-only *folded form*: each convolution
followed by BatchNorm gets a bias and the BatchNorm disappears (its running
statistics are folded into that kernel and bias by ``lgpn_jax/models/bn_fold.py``).
Parameter names of the ordinary form never depend on it.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

Dtype = Any
BN_EPSILON = 1e-5   # PyTorch's BatchNorm default; bn_fold.py folds with it.


def conv(features: int, kernel: int, stride: int = 1, *, bias: bool = False,
         groups: int = 1, dtype: Dtype = jnp.float32, name: str | None = None):
  """A k x k convolution with PyTorch's symmetric padding and He-normal init."""
  pad = kernel // 2
  return nn.Conv(features, (kernel, kernel), (stride, stride),
                 padding=((pad, pad), (pad, pad)), use_bias=bias,
                 feature_group_count=groups, dtype=dtype,
                 kernel_init=nn.initializers.variance_scaling(
                     2.0, 'fan_out', 'normal'),
                 name=name)


def batch_norm(train: bool, axis_name: str | None, dtype: Dtype,
               name: str | None = None, scale_init=nn.initializers.ones):
  """BatchNorm with PyTorch's defaults (momentum 0.1 == Flax 0.9, eps 1e-5)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                      epsilon=BN_EPSILON, dtype=dtype, axis_name=axis_name,
                      scale_init=scale_init, name=name)


def check_not_folded_training(fold_bn: bool, train: bool, module: str):
  """Folded BatchNorm has no batch statistics: such a model is inference-only."""
  if fold_bn and train:
    raise ValueError(
        f'{module} was built with fold_bn=True (BatchNorm folded into the '
        'convolutions, inference only) and cannot run with train=True: '
        'train the ordinary model (model.fold_bn=False) and fold its '
        'variables with lgpn_jax.bn_fold.fold_variables')


def norm_layers(fold_bn: bool, train: bool, axis_name: str | None,
                dtype: Dtype):
  """(conv_bn, bn): ``conv`` for a convolution that BatchNorm follows, and
  ``bn(name=...)``. Folded: conv_bn has a bias and bn is the identity."""
  if fold_bn:
    return (functools.partial(conv, bias=True, dtype=dtype),
            lambda name: (lambda y: y))
  return (functools.partial(conv, dtype=dtype),
          functools.partial(batch_norm, train, axis_name, dtype))


class Bottleneck(nn.Module):
  """1x1 -> 3x3 (stride) -> 1x1 (x4) with a projected shortcut when needed."""
  width: int
  stride: int = 1
  expansion: int = 4
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  fold_bn: bool = False

  @nn.compact
  def __call__(self, x, train: bool):
    check_not_folded_training(self.fold_bn, train, 'Bottleneck')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    out_features = self.width * self.expansion
    y = conv_bn(self.width, 1, name='conv1')(x)
    y = nn.relu(bn(name='bn1')(y))
    y = conv_bn(self.width, 3, self.stride, name='conv2')(y)
    y = nn.relu(bn(name='bn2')(y))
    y = conv_bn(out_features, 1, name='conv3')(y)
    y = bn(name='bn3')(y)
    if self.stride != 1 or x.shape[-1] != out_features:
      x = conv_bn(out_features, 1, self.stride, name='downsample_conv')(x)
      x = bn(name='downsample_bn')(x)
    return nn.relu(y + x)


class Stages(nn.Module):
  """The four bottleneck stages; returns every stage's output (c2..c5).

  ``remat=True`` recomputes each block's activations in the backward pass
  instead of keeping them (only block inputs are stored): less memory at
  256x256, about one more forward pass of compute.
  """
  stage_sizes: Sequence[int] = (3, 4, 6, 3)
  widths: Sequence[int] = (64, 128, 256, 512)
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False
  fold_bn: bool = False

  @nn.compact
  def __call__(self, x, train: bool):
    # static_argnums counts self: argument 2 is `train`.
    block = nn.remat(Bottleneck, static_argnums=(2,)) if self.remat else Bottleneck
    outs = []
    for stage, (blocks, width) in enumerate(zip(self.stage_sizes, self.widths)):
      for b in range(blocks):
        stride = 2 if stage > 0 and b == 0 else 1
        x = block(width, stride, dtype=self.dtype,
                  bn_axis_name=self.bn_axis_name, fold_bn=self.fold_bn,
                  name=f'layer{stage + 1}_{b}')(x, train)
      outs.append(x)
    return outs


class ResNet50(nn.Module):
  """Standard ResNet-50 backbone (stride-2 stem + max-pool) -> linear features."""
  features: int = 512
  stem_width: int = 64
  stage_sizes: Sequence[int] = (3, 4, 6, 3)
  widths: Sequence[int] = (64, 128, 256, 512)
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False
  fold_bn: bool = False   # inference-only folded form (see the module doc).

  @nn.compact
  def __call__(self, x, train: bool):
    check_not_folded_training(self.fold_bn, train, 'ResNet50')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    x = x.astype(self.dtype)
    x = conv_bn(self.stem_width, 7, 2, name='conv1')(x)
    x = bn(name='bn1')(x)
    x = nn.relu(x)
    x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
    c5 = Stages(self.stage_sizes, self.widths, self.dtype, self.bn_axis_name,
                self.remat, self.fold_bn, name='stages')(x, train)[-1]
    x = jnp.mean(c5.astype(jnp.float32), axis=(1, 2))
    return nn.Dense(self.features, dtype=self.dtype, name='fc')(x)
