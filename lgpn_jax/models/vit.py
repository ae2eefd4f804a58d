"""ViT-B/16 as an LGPN backbone (at LGPN's 256x256 input).

Input [B, H, W, 3] in [-1, 1], channels-last, H and W multiples of ``patch``
(others raise ValueError, our choice: a strided convolution would silently
drop the remainder). Output f [B, features]. Parameters stay float32;
``dtype`` is the compute dtype.

Layers (defaults; every size is a field, so a tiny model is a config):
  1. patch embedding: a 16x16 stride-16 convolution with bias, 3 -> 768
     (``PatchEmbed``), flattened row-major to N = (H/16)(W/16) tokens;
  2. a learned class token prepended, learned position embeddings for the
     1 + N tokens added;
  3. 12 pre-LN transformer blocks of width 768: x + proj(attention(LN(x))),
     then x + fc2(GELU(fc1(LN(x)))), 12 heads of 64, MLP width 3072; the
     query, key and value come from one Dense layer ``qkv`` (3 x 768 outputs,
     laid out [q | k | v], each head-major), logits scaled by 1/sqrt(64);
  4. a final LayerNorm; the class token's output -> Dense to ``features``.

Choices (ours where LGPN gives no more than the model's name):
  * pooling: the class token, as timm's ``vit_base_patch16_224`` and the
    original ViT do, so the network is the standard one (mean-pooling the
    patch tokens is the common alternative);
  * LayerNorm epsilon 1e-6 and exact (erf) GELU, as timm's ViT (PyTorch's
    default GELU); Flax's default GELU is the tanh approximation, not used;
  * no dropout, no stochastic depth (timm's defaults for this model);
  * initialisation: Xavier-uniform Dense kernels and zero biases (original
    ViT), LeCun-normal patch kernel, zero class token, position embeddings
    N(0, 0.02); the output Dense has Flax's default initialisation, as the
    other backbones' ``fc``;
  * precision: matmuls (attention logits included) and the residual stream
    in ``dtype``; LayerNorm statistics (Flax reduces in float32) and the
    attention softmax in float32, its weights cast back to ``dtype``.

Image size: the position embedding's shape (1, 1 + (H/patch)(W/patch), width)
is fixed by the input seen at ``init``; applying the model to another size
raises ValueError (no interpolation; resample the ``pos_embed`` parameter on
its grid to change it). At 256x256 that is 1 + 256 tokens.

No BatchNorm: ``bn_axis_name`` is accepted and unused; ``fold_bn=True`` is the
same network with the same parameters (there is nothing to fold, so
``bn_fold.fold_variables`` passes the parameters through), and like every
backbone's folded form it is inference-only: ``train=True`` raises ValueError.
``train`` otherwise changes nothing. ``remat=True`` recomputes each
transformer block in the backward pass instead of keeping its activations.

Parameters at 256x256, ``features=512``: 86,238,464 (jax.eval_shape); at
224x224 with a 1000-way classifier: 86,567,656, timm's
``vit_base_patch16_224``. Forward FLOPs per 256x256 image (convolutions and
matmuls, attention's included, 2 per multiply-add, as ``flops.matmul_flops``
counts them): 46.39 G (17.56 G multiply-adds at 224x224).

Names map one to one onto timm's: ``patch_embed/proj`` (patch_embed.proj),
``cls_token``, ``pos_embed``, ``block3/norm1``, ``block3/attn/qkv``,
``block3/attn/proj``, ``block3/mlp/fc1`` (blocks.3.*), ``norm``.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from lgpn_jax.models.resnet import check_not_folded_training

Dtype = Any
LN_EPSILON = 1e-6
_dense_init = dict(kernel_init=nn.initializers.xavier_uniform(),
                   bias_init=nn.initializers.zeros)


def gelu(x):
  """Exact GELU, x * Phi(x) (erf form)."""
  return nn.gelu(x, approximate=False)


class PatchEmbed(nn.Module):
  """[B, H, W, C] -> [B, (H/patch)(W/patch), width], patches row-major."""
  patch: int = 16
  width: int = 768
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if x.shape[1] % self.patch or x.shape[2] % self.patch:
      raise ValueError(f'ViT needs image sides that are multiples of the '
                       f'patch size {self.patch}, got '
                       f'{x.shape[1]}x{x.shape[2]}')
    x = nn.Conv(self.width, (self.patch, self.patch), (self.patch, self.patch),
                padding='VALID', dtype=self.dtype,
                kernel_init=nn.initializers.lecun_normal(), name='proj')(x)
    return x.reshape(x.shape[0], -1, self.width)


class Attention(nn.Module):
  """Multi-head self-attention, softmax in float32."""
  heads: int = 12
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    batch, tokens, width = x.shape
    if width % self.heads:
      raise ValueError(f'width {width} is not a multiple of heads '
                       f'{self.heads}')
    head_dim = width // self.heads
    qkv = nn.Dense(3 * width, dtype=self.dtype, name='qkv', **_dense_init)(x)
    qkv = qkv.reshape(batch, tokens, 3, self.heads, head_dim)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]   # [B, N, heads, d]
    logits = jnp.einsum('bqhd,bkhd->bhqk', q * head_dim ** -0.5, k)
    weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1)
    out = jnp.einsum('bhqk,bkhd->bqhd', weights.astype(self.dtype), v)
    out = out.reshape(batch, tokens, width)
    return nn.Dense(width, dtype=self.dtype, name='proj', **_dense_init)(out)


class Mlp(nn.Module):
  hidden: int = 3072
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    y = gelu(nn.Dense(self.hidden, dtype=self.dtype, name='fc1',
                      **_dense_init)(x))
    return nn.Dense(x.shape[-1], dtype=self.dtype, name='fc2',
                    **_dense_init)(y)


class EncoderBlock(nn.Module):
  """Pre-LN transformer block: x + attn(LN(x)), then x + mlp(LN(x))."""
  heads: int = 12
  mlp_dim: int = 3072
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    ln = lambda name: nn.LayerNorm(epsilon=LN_EPSILON, dtype=self.dtype,
                                   name=name)
    x = x + Attention(self.heads, self.dtype, name='attn')(ln('norm1')(x))
    return x + Mlp(self.mlp_dim, self.dtype, name='mlp')(ln('norm2')(x))


class ViT(nn.Module):
  """Vision Transformer (B/16 by default) -> linear features; see the module
  docstring."""
  features: int = 512
  patch: int = 16
  width: int = 768
  depth: int = 12
  heads: int = 12
  mlp_dim: int = 3072
  dtype: Dtype = jnp.float32
  bn_axis_name: str | None = None   # unused: no BatchNorm.
  remat: bool = False
  fold_bn: bool = False   # same network; inference-only (see the module doc).

  @nn.compact
  def __call__(self, x, train: bool):
    check_not_folded_training(self.fold_bn, train, 'ViT')
    x = PatchEmbed(self.patch, self.width, self.dtype,
                   name='patch_embed')(x.astype(self.dtype))
    batch, tokens = x.shape[:2]
    pos_shape = (1, 1 + tokens, self.width)
    if self.has_variable('params', 'pos_embed'):
      have = self.get_variable('params', 'pos_embed').shape
      if tuple(have) != pos_shape:
        raise ValueError(
            f'pos_embed was made for {have[1] - 1} patches; this input has '
            f'{tokens} ({self.patch}x{self.patch} patches). The position '
            'embeddings are fixed by the image size seen at init: resample '
            'pos_embed on its grid to use another size')
    cls = self.param('cls_token', nn.initializers.zeros, (1, 1, self.width))
    pos = self.param('pos_embed', nn.initializers.normal(0.02), pos_shape)
    cls = jnp.broadcast_to(cls.astype(self.dtype), (batch, 1, self.width))
    x = jnp.concatenate([cls, x], axis=1) + pos.astype(self.dtype)
    block = nn.remat(EncoderBlock) if self.remat else EncoderBlock
    for i in range(self.depth):
      x = block(self.heads, self.mlp_dim, self.dtype, name=f'block{i}')(x)
    x = nn.LayerNorm(epsilon=LN_EPSILON, dtype=self.dtype, name='norm')(x)
    return nn.Dense(self.features, dtype=self.dtype, name='fc')(x[:, 0])
