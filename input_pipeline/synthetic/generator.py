"""A random-weight convolutional generator per GM, in numpy (synthetic RED).

``generate(gm, indices, image_size, seed)`` returns uint8 images whose
architecture follows the GM's labels (``arch``) and whose loss nodes
are simulated (``losses``). Everything is a function of
(seed, GM, image index): image i of a GM is the same whatever else is
generated with it, on any number of threads.
"""

from __future__ import annotations

import numpy as np
import threadpoolctl

from input_pipeline.synthetic import losses, photos
from input_pipeline.synthetic import layers as L
from input_pipeline.synthetic.arch import MAX_UP, Architecture, for_gm
from lgpn_jax.red140 import schema
LATENT = 32
STYLE = 64
CALIBRATION_IMAGES = 8
MIN_WIDTH = 8


def _rng(seed: int, gm: int, stream: int, i: int = 0) -> np.random.Generator:
  return np.random.default_rng([seed, gm, stream, i])


def _inputs(seed, gm, indices, size, encoder, stream):
  z = np.stack([_rng(seed, gm, stream, i).standard_normal(LATENT)
                for i in indices]).astype(np.float32)
  photo = None
  if encoder:
    crops = [photos.random_crop(_rng(seed, gm, stream + 1, i), size)[0]
             for i in indices]
    photo = np.stack(crops).astype(np.float32) / 127.5 - 1
  return z, photo


def _forward(a: Architecture, ws: L.WeightStream, calib: L.Calibration,
             z: np.ndarray, photo: np.ndarray | None, size: int) -> np.ndarray:
  """The generator's last pre-activation [N, size, size, 3]."""
  act = lambda x: L.activation(x, a.block_activation)  # noqa: E731
  style = z
  for _ in range(a.mapping_layers):
    style = L.activation(L.dense(style, ws, STYLE), 'leaky_relu')
  low = size >> a.num_up
  feats = []
  if a.encoder:
    c = max(MIN_WIDTH, a.width >> a.num_up)
    x = act(L.conv(photo, ws.conv(3, 3, c)))
    for _ in range(a.num_up):
      feats.append(x)
      c2 = min(a.width, 2 * c)
      if a.pool_encoder:
        x = L.avg_pool(L.conv(x, ws.conv(3, c, c2)))
      else:
        x = L.conv(x, ws.conv(3, c, c2), stride=2)
      x = act(L.normalise(x, a.normalization, ws, calib, style))
      c = c2
    x = x + L.dense(style, ws, c)[:, None, None, :] * 0.5
    if c != a.width:
      x = L.conv(x, ws.conv(1, c, a.width))
  else:
    x = L.dense(style, ws, low * low * a.width).reshape(-1, low, low, a.width)
    x = act(L.normalise(x, a.normalization, ws, calib, style))
  for _ in range(a.stem_convs):
    x = act(L.normalise(L.conv(x, ws.conv(3, a.width, a.width)),
                        a.normalization, ws, calib, style))
  c = a.width
  for level in range(a.num_up):
    cout = max(MIN_WIDTH, c // 2)
    inp = x
    if a.upsampling == 'transposed':
      x = L.conv(L.zero_insert(x), ws.conv(3, c, cout, gain=8.0))
    else:
      x = L.conv(L.nearest_up(x), ws.conv(3, c, cout))
    for _ in range(a.convs_per_block - 1):
      x = L.conv(act(x), ws.conv(3, cout, cout))
    if a.norm_every_block or level == a.num_up - 1:
      x = L.normalise(x, a.normalization, ws, calib, style)
    x = act(x)
    if a.skip:
      x = (x + L.conv(L.nearest_up(inp), ws.conv(1, c, cout, gain=1.0))) / np.sqrt(2)
      if a.encoder:
        f = feats[-(level + 1)]
        x = x + L.conv(f, ws.conv(1, f.shape[-1], cout, gain=0.5))
    c = cout
  for _ in range(a.extra_convs):
    x = act(L.conv(x, ws.conv(3, c, c)))
  return L.conv(x, ws.conv(3, c, 3, gain=1.0))


def _to_unit(pre: np.ndarray, kind: str) -> np.ndarray:
  """Last-layer nonlinearity, mapped to pixel values in [0, 1]."""
  if kind == 'tanh':
    y = (np.tanh(pre) + 1) / 2
  elif kind == 'sigmoid':
    y = L.activation(1.5 * pre, 'sigmoid')
  elif kind == 'relu':
    y = L.activation(0.25 * pre + 0.35, 'relu')
  elif kind == 'leaky_relu':
    y = L.activation(0.25 * pre + 0.35, 'leaky_relu') + 0.05
  elif kind == 'silu':
    y = (L.activation(1.2 * pre, 'silu') + 0.2785) / 3.3
  elif kind == 'identity':
    y = 0.2 * pre + 0.5
  else:
    raise ValueError(f'unknown output activation {kind!r}')
  return np.clip(y, 0, 1)


def generate(gm: str, indices, image_size: int, seed: int = 0) -> np.ndarray:
  """Images ``indices`` of GM ``gm``: [len(indices), S, S, 3] uint8.

  Runs BLAS on one thread: the matmuls are small, and a multi-threaded BLAS
  spends more time synchronising than computing (parallelise over GMs).
  """
  with threadpoolctl.threadpool_limits(1, 'blas'):
    return _generate(gm, list(indices), image_size, seed)


def _generate(gm: str, indices: list[int], image_size: int,
              seed: int) -> np.ndarray:
  if image_size % (2 ** MAX_UP) or image_size < 2 ** MAX_UP:
    raise ValueError(f'image_size must be a multiple of {2 ** MAX_UP}, got '
                     f'{image_size}')
  g = schema.gm_index()[schema.get_gm(gm).name]
  a = for_gm(gm)
  calib = L.Calibration()
  z, photo = _inputs(seed, g, range(CALIBRATION_IMAGES), image_size,
                     a.encoder, stream=10)
  pre = _forward(a, L.WeightStream([seed, g, 0]), calib, z, photo, image_size)
  mean, std = pre.mean(axis=(0, 1, 2)), pre.std(axis=(0, 1, 2)) + 1e-6
  colour = L.WeightStream([seed, g, 1]).normal((3,), 0.3)
  calib.replay()
  z, photo = _inputs(seed, g, indices, image_size, a.encoder, stream=20)
  pre = _forward(a, L.WeightStream([seed, g, 0]), calib, z, photo, image_size)
  pre = (pre - mean) / std + colour
  pre = losses.pre_activation(pre, a.losses)
  y = _to_unit(pre, a.output_activation)
  noise = None
  if 'WGAN' in a.losses:
    noise = np.stack([_rng(seed, g, 30, i).standard_normal(y.shape[1:])
                      for i in indices]).astype(np.float32)
  y = losses.output(y, a.losses, noise)
  return np.round(y * 255).astype(np.uint8)
