"""GTC (Generation Trace Capturing network), the high-resolution backbone.

Input [B, H, W, 3] in [-1, 1]; output f [B, features]. See MODEL_SPEC.md:
  1. stem at full resolution: 7x7, 5x5, 3x3 convolutions (3 -> 64, no bias),
     concat (192) -> ReLU -> grouped 1x1 fusion (groups 2) -> BN -> ReLU = c1;
  2. ResNet-50 bottleneck stages on c1: c2 (stride 1) .. c5 (1/8 resolution);
  3. high-res branch: x = c1 + sum_k up(lateral_k(c_k)), bilinear to full size;
  4. output branch: three 3x3 stride-2 convolutions with bias + ReLU;
  5. concat [x, c5] -> grouped 1x1 (groups 2) -> BN -> ReLU -> mean -> linear.

``stem_bn='paper'`` normalises each stem branch with its own BatchNorm;
``'released'`` reproduces the authors' code, where the 5x5 branch passes
through ``bn1_0`` and then ``bn1_1`` and the 3x3 branch is not normalised.
``fold_bn=True``: the inference-only folded form (every convolution followed
by BatchNorm gets a bias, the BatchNorms go; ``lgpn_jax/models/bn_fold.py``).
``upsample`` picks how step 3 resizes: 'resize' (jax.image.resize) or
'shifted' (fixed-weight shifted adds for integer factors; same function).
Module names mirror the reference's parameter names (see ``convert.py``).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.models.resnet import (Stages, check_not_folded_training, conv,
                             norm_layers)

Dtype = Any
STEM_BN_VARIANTS = ('paper', 'released')
UPSAMPLE_METHODS = ('resize', 'shifted')


def _upsample_axis(x, factor: int, axis: int):
  """Integer-factor bilinear upsampling along one axis, half-pixel centres.

  Output index o = factor * k + p samples the source coordinate
  (o + 0.5) / factor - 0.5 = k + f_p, f_p = (p + 0.5) / factor - 0.5, so phase
  p is a fixed two-tap blend of x[k - 1], x[k] (f_p < 0) or x[k], x[k + 1]
  (f_p > 0). The border row is replicated (PyTorch clamps the source index);
  the phases are interleaved by stack + reshape. Slices, concatenations and
  element-wise ops only: no gathers, no matmuls.
  """
  if factor == 1:
    return x
  n = x.shape[axis]
  take = functools.partial(jax.lax.slice_in_dim, x, axis=axis)
  prev = jnp.concatenate([take(0, 1), take(0, n - 1)], axis=axis)  # x[k-1]
  nxt = jnp.concatenate([take(1, n), take(n - 1, n)], axis=axis)   # x[k+1]
  phases = []
  for p in range(factor):
    f = (p + 0.5) / factor - 0.5
    if f < 0:
      phases.append(-f * prev + (1 + f) * x)
    elif f > 0:
      phases.append((1 - f) * x + f * nxt)
    else:   # odd factors: the middle phase sits on the source sample.
      phases.append(x)
  out = jnp.stack(phases, axis=axis + 1)
  shape = x.shape[:axis] + (n * factor,) + x.shape[axis + 1:]
  return out.reshape(shape)


def upsample_bilinear(x, height: int, width: int, method: str = 'resize'):
  """Bilinear resize with half-pixel centres (PyTorch's align_corners=False).

  ``method='resize'``: ``jax.image.resize`` (interpolation matmuls at HIGHEST
  precision). ``'shifted'``: for integer factors (``height`` and ``width``
  multiples of the input's), fixed-weight shifted adds along H then W,
  computed in float32 and cast back to ``x.dtype`` -- the same function, with
  no dot_general; other sizes fall back to ``jax.image.resize``.
  """
  if method not in UPSAMPLE_METHODS:
    raise ValueError(f'upsample must be one of {UPSAMPLE_METHODS}, got '
                     f'{method!r}')
  if x.shape[1:3] == (height, width):
    return x
  in_h, in_w = x.shape[1:3]
  if (method == 'shifted' and height >= in_h and width >= in_w
      and height % in_h == 0 and width % in_w == 0):
    y = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    y = _upsample_axis(y, height // in_h, axis=1)
    y = _upsample_axis(y, width // in_w, axis=2)
    return y.astype(x.dtype)
  shape = (x.shape[0], height, width, x.shape[3])
  return jax.image.resize(x, shape, 'bilinear').astype(x.dtype)


class GTC(nn.Module):
  features: int = 512
  stem_width: int = 64
  stage_sizes: Sequence[int] = (3, 4, 6, 3)
  widths: Sequence[int] = (64, 128, 256, 512)
  pyramid_width: int = 64
  stem_bn: str = 'paper'
  upsample: str = 'resize'   # | 'shifted' (see upsample_bilinear).
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False   # recompute bottleneck activations in the backward pass.
  fold_bn: bool = False  # inference-only folded form (see the module doc).

  @nn.compact
  def __call__(self, x, train: bool):
    if self.stem_bn not in STEM_BN_VARIANTS:
      raise ValueError(f'stem_bn must be one of {STEM_BN_VARIANTS}')
    if self.upsample not in UPSAMPLE_METHODS:
      raise ValueError(f'upsample must be one of {UPSAMPLE_METHODS}, got '
                       f'{self.upsample!r}')
    check_not_folded_training(self.fold_bn, train, 'GTC')
    conv_bn, bn = norm_layers(self.fold_bn, train, self.bn_axis_name,
                              self.dtype)
    cv = functools.partial(conv, dtype=self.dtype)
    released = self.stem_bn == 'released'
    x = x.astype(self.dtype)
    height, width = x.shape[1:3]

    s7 = bn(name='bn1')(conv_bn(self.stem_width, 7, name='conv1')(x))
    s5 = bn(name='bn1_0')(conv_bn(self.stem_width, 5, name='conv1_0')(x))
    # 'released': no BatchNorm after conv1_1, so no bias in the folded form.
    s3 = (cv if released else conv_bn)(self.stem_width, 3, name='conv1_1')(x)
    if released:
      s5 = bn(name='bn1_1')(s5)
    else:
      s3 = bn(name='bn1_1')(s3)
    stem = nn.relu(jnp.concatenate([s7, s5, s3], axis=-1))
    stem = conv_bn(self.stem_width, 1, groups=2, name='stem_merge_conv')(stem)
    c1 = nn.relu(bn(name='stem_merge_bn')(stem))

    pyramid = Stages(self.stage_sizes, self.widths, self.dtype,
                     self.bn_axis_name, self.remat, self.fold_bn,
                     name='stages')(c1, train)

    # Lateral 1x1 convolutions run at each stage's own resolution, then the
    # (linear) bilinear upsampling; same result as upsample-then-convolve.
    hires = c1
    for k, c in enumerate(pyramid):
      lateral = cv(self.pyramid_width, 1, bias=True, name=f'latlayer{k}')(c)
      hires = upsample_bilinear(lateral, height, width,
                                self.upsample) + hires

    for k in range(3):
      hires = cv(self.pyramid_width, 3, 2, bias=True,
                 name=f'output_branch_{k}')(hires)
      hires = nn.relu(hires)

    c5 = pyramid[-1]
    merged = jnp.concatenate([hires, c5], axis=-1)
    merged = conv_bn(c5.shape[-1], 1, groups=2,
                     name='conv_smooth_last_conv')(merged)
    merged = nn.relu(bn(name='conv_smooth_last_bn')(merged))
    pooled = jnp.mean(merged.astype(jnp.float32), axis=(1, 2))
    return nn.Dense(self.features, dtype=self.dtype, name='fc')(pooled)
