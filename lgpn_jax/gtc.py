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
Module names mirror the reference's parameter names (see ``convert.py``).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.resnet import Stages, batch_norm, conv

Dtype = Any
STEM_BN_VARIANTS = ('paper', 'released')


def upsample_bilinear(x, height: int, width: int):
  """Bilinear resize with half-pixel centres (PyTorch's align_corners=False)."""
  if x.shape[1:3] == (height, width):
    return x
  shape = (x.shape[0], height, width, x.shape[3])
  return jax.image.resize(x, shape, 'bilinear').astype(x.dtype)


class GTC(nn.Module):
  features: int = 512
  stem_width: int = 64
  stage_sizes: Sequence[int] = (3, 4, 6, 3)
  widths: Sequence[int] = (64, 128, 256, 512)
  pyramid_width: int = 64
  stem_bn: str = 'paper'
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None
  remat: bool = False   # recompute bottleneck activations in the backward pass.

  @nn.compact
  def __call__(self, x, train: bool):
    if self.stem_bn not in STEM_BN_VARIANTS:
      raise ValueError(f'stem_bn must be one of {STEM_BN_VARIANTS}')
    bn = functools.partial(batch_norm, train, self.bn_axis_name, self.dtype)
    cv = functools.partial(conv, dtype=self.dtype)
    x = x.astype(self.dtype)
    height, width = x.shape[1:3]

    s7 = bn(name='bn1')(cv(self.stem_width, 7, name='conv1')(x))
    s5 = bn(name='bn1_0')(cv(self.stem_width, 5, name='conv1_0')(x))
    s3 = cv(self.stem_width, 3, name='conv1_1')(x)
    if self.stem_bn == 'released':
      s5 = bn(name='bn1_1')(s5)
    else:
      s3 = bn(name='bn1_1')(s3)
    stem = nn.relu(jnp.concatenate([s7, s5, s3], axis=-1))
    stem = cv(self.stem_width, 1, groups=2, name='stem_merge_conv')(stem)
    c1 = nn.relu(bn(name='stem_merge_bn')(stem))

    pyramid = Stages(self.stage_sizes, self.widths, self.dtype,
                     self.bn_axis_name, self.remat, name='stages')(c1, train)

    # Lateral 1x1 convolutions run at each stage's own resolution, then the
    # (linear) bilinear upsampling; same result as upsample-then-convolve.
    hires = c1
    for k, c in enumerate(pyramid):
      lateral = cv(self.pyramid_width, 1, bias=True, name=f'latlayer{k}')(c)
      hires = upsample_bilinear(lateral, height, width) + hires

    for k in range(3):
      hires = cv(self.pyramid_width, 3, 2, bias=True,
                 name=f'output_branch_{k}')(hires)
      hires = nn.relu(hires)

    c5 = pyramid[-1]
    merged = jnp.concatenate([hires, c5], axis=-1)
    merged = cv(c5.shape[-1], 1, groups=2, name='conv_smooth_last_conv')(merged)
    merged = nn.relu(bn(name='conv_smooth_last_bn')(merged))
    pooled = jnp.mean(merged.astype(jnp.float32), axis=(1, 2))
    return nn.Dense(self.features, dtype=self.dtype, name='fc')(pooled)
