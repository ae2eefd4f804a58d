"""The architecture of a GM's simulated generator, read off its labels.

Each field follows one label of the GM (``schema.encode`` of its table row), so
that the traces an image carries are caused by the hyperparameters it is
labelled with:

  normalization      code 0 batch norm (inference: a fixed per-channel affine
                     from calibration statistics), 1 instance norm, 2 AdaIN
                     (instance norm + per-image scale/bias from the latent),
                     4 group norm; code 3 (encodes to no node) = layer norm
  block_activation   last-block nonlinearity code 0 ELU, 1 ReLU, 2 LeakyReLU,
                     3 Sigmoid, 4 SiLU, 5 (no node) identity; used by every
                     block of the generator
  output_activation  last-layer nonlinearity code 0 ReLU, 1 Tanh, 2 LeakyReLU,
                     3 Sigmoid, 4 SiLU, 5 (no node) clipped identity
  upsampling         code 0 nearest-neighbour x2 + 3x3 conv; code 1 transposed
                     3x3 conv with stride 2 (zero insertion + conv), which
                     leaves a period-2 checkerboard
  skip               residual connection around every up block (and U-Net
                     skips from the encoder when there is one)
  encoder            down-sampling flag: the generator translates a full-
                     resolution input photo through a strided encoder
                     (image-to-image models) instead of starting from a latent
  depth / width      continuous bins: blocks -> number of x2 up stages (2-4),
                     layers_per_block -> convs per block (1-3), filters and
                     params -> channel width, fc_layers -> dense layers of
                     the latent mapping, conv_layers -> extra full-resolution
                     convs, norm_layers -> normalise in every block or only
                     the last, pool_layers -> average-pool (vs strided conv)
                     encoder, layers -> extra convs at the lowest resolution
  losses             the 10 loss nodes; no architectural effect, simulated by
                     ``losses`` as output statistics
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from lgpn_jax.red140 import schema
NORMALIZATION = {0: 'batch', 1: 'instance', 2: 'adain', 3: 'layer', 4: 'group'}
BLOCK_ACTIVATION = {0: 'elu', 1: 'relu', 2: 'leaky_relu', 3: 'sigmoid',
                    4: 'silu', 5: 'identity'}
OUTPUT_ACTIVATION = {0: 'relu', 1: 'tanh', 2: 'leaky_relu', 3: 'sigmoid',
                     4: 'silu', 5: 'identity'}
UPSAMPLING = {0: 'nearest', 1: 'transposed'}
MAX_UP = 4   # image sizes must be multiples of 2**MAX_UP.


@dataclasses.dataclass(frozen=True)
class Architecture:
  normalization: str
  block_activation: str
  output_activation: str
  upsampling: str
  skip: bool
  encoder: bool
  num_up: int
  convs_per_block: int
  width: int              # channels at the lowest resolution.
  mapping_layers: int
  extra_convs: int
  norm_every_block: bool
  pool_encoder: bool
  stem_convs: int
  losses: tuple[str, ...]


def continuous_bins(label: np.ndarray) -> dict[str, int]:
  """Bin index 0-2 of each continuous hyperparameter in a 55-dim label."""
  out = {}
  for n in schema.nodes():
    if n.family == 'continuous' and label[n.index] > 0:
      out[n.source_column] = int(n.value[3:])
  return out


def from_raw(raw: Mapping[str, int]) -> Architecture:
  label = schema.encode(raw)
  bins = continuous_bins(label)
  losses = tuple(n.name.split('/', 1)[1] for n in schema.nodes()
                 if n.family == 'loss' and label[n.index] > 0)
  return Architecture(
      normalization=NORMALIZATION[raw['normalization']],
      block_activation=BLOCK_ACTIVATION[raw['last_block_nonlinearity']],
      output_activation=OUTPUT_ACTIVATION[raw['last_layer_nonlinearity']],
      upsampling=UPSAMPLING[raw['upsampling']],
      skip=raw['skip_connection'] != 0,
      encoder=raw['downsampling'] != 0,
      num_up=2 + bins['blocks'],
      convs_per_block=1 + bins['layers_per_block'],
      width=16 + 8 * bins['filters'] + 8 * bins['params'],
      mapping_layers=1 + bins['fc_layers'],
      extra_convs=bins['conv_layers'],
      norm_every_block=bins['norm_layers'] > 0,
      pool_encoder=bins['pool_layers'] > 0,
      stem_convs=bins['layers'],
      losses=losses,
  )


def for_gm(name: str) -> Architecture:
  return from_raw(schema.get_gm(name).raw)
