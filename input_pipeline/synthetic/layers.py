"""Numpy layers of the simulated generators (NHWC float32, random weights).

Weights are drawn from a ``WeightStream`` in call order, so one seed always
gives the same network; ``Calibration`` records batch statistics on a fixed
calibration batch and replays them, which makes every image independent of
which other images are generated with it.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5


class WeightStream:
  """Deterministic weights in call order (re-create it to get the same net)."""

  def __init__(self, seed_seq):
    self._rng = np.random.default_rng(seed_seq)

  def normal(self, shape, std=1.0) -> np.ndarray:
    return (self._rng.standard_normal(shape) * std).astype(np.float32)

  def conv(self, k: int, cin: int, cout: int, gain: float = 2.0) -> np.ndarray:
    return self.normal((k, k, cin, cout), np.sqrt(gain / (k * k * cin)))


class Calibration:
  """Per-layer statistics: recorded on the calibration pass, then replayed."""

  def __init__(self):
    self.values = []
    self.recording = True
    self._i = 0

  def replay(self) -> None:
    self.recording = False
    self._i = 0

  def stat(self, compute):
    if self.recording:
      self.values.append(compute())
      return self.values[-1]
    value = self.values[self._i]
    self._i += 1
    return value


def conv(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
  """'Same' convolution (zero padding) by im2col + one matmul."""
  k, _, cin, cout = w.shape
  n, h, wd, c = x.shape
  assert c == cin, (c, cin)
  p = k // 2
  xp = np.pad(x, ((0, 0), (p, k - 1 - p), (p, k - 1 - p), (0, 0)))
  ho, wo = -(-h // stride), -(-wd // stride)
  cols = np.empty((n, ho, wo, k, k, c), np.float32)
  for i in range(k):
    for j in range(k):
      cols[:, :, :, i, j] = xp[:, i:i + h:stride, j:j + wd:stride]
  out = cols.reshape(-1, k * k * c) @ w.reshape(k * k * c, cout)
  return out.reshape(n, ho, wo, cout)


def nearest_up(x: np.ndarray) -> np.ndarray:
  return x.repeat(2, axis=1).repeat(2, axis=2)


def zero_insert(x: np.ndarray) -> np.ndarray:
  """Stride-2 transposed convolution = zero insertion followed by a conv."""
  n, h, w, c = x.shape
  out = np.zeros((n, 2 * h, 2 * w, c), np.float32)
  out[:, ::2, ::2] = x
  return out


def avg_pool(x: np.ndarray) -> np.ndarray:
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def dense(x: np.ndarray, ws: WeightStream, out: int) -> np.ndarray:
  return x @ ws.normal((x.shape[-1], out), np.sqrt(2.0 / x.shape[-1]))


def activation(x: np.ndarray, name: str) -> np.ndarray:
  if name == 'relu':
    return np.maximum(x, 0)
  if name == 'leaky_relu':
    return np.where(x > 0, x, 0.2 * x)
  if name == 'elu':
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
  if name == 'sigmoid':
    return 1 / (1 + np.exp(-x))
  if name == 'silu':
    return x / (1 + np.exp(-x))
  if name == 'tanh':
    return np.tanh(x)
  if name == 'identity':
    return x
  raise ValueError(f'unknown activation {name!r}')


def _standardise(x, axes, calib: Calibration | None = None):
  if calib is None:
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
  else:
    mean, var = calib.stat(lambda: (x.mean(axis=axes, keepdims=True),
                                    x.var(axis=axes, keepdims=True)))
  return (x - mean) / np.sqrt(var + EPS)


def normalise(x: np.ndarray, kind: str, ws: WeightStream, calib: Calibration,
              style: np.ndarray) -> np.ndarray:
  """Batch / instance / AdaIN / layer / group normalisation + affine."""
  n, h, w, c = x.shape
  gamma = 1 + ws.normal((c,), 0.2)
  beta = ws.normal((c,), 0.2)
  if kind == 'batch':     # inference mode: statistics of the calibration batch.
    y = _standardise(x, (0, 1, 2), calib)
  elif kind in ('instance', 'adain'):
    y = _standardise(x, (1, 2))
  elif kind == 'layer':
    y = _standardise(x, (1, 2, 3))
  elif kind == 'group':
    g = max(1, c // 4)
    y = _standardise(x.reshape(n, h, w, g, c // g), (1, 2, 4)).reshape(x.shape)
  else:
    raise ValueError(f'unknown normalization {kind!r}')
  if kind == 'adain':     # per-image scale and bias from the latent style.
    s = dense(style, ws, 2 * c) * 0.3
    gamma = gamma + s[:, None, None, :c]
    beta = beta + s[:, None, None, c:]
  return y * gamma + beta


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
  """Separable Gaussian blur over H and W (reflect padding)."""
  if sigma <= 0:
    return x
  r = max(1, int(np.ceil(3 * sigma)))
  t = np.arange(-r, r + 1)
  k = np.exp(-0.5 * (t / sigma) ** 2)
  k = (k / k.sum()).astype(np.float32)
  xp = np.pad(x, ((0, 0), (r, r), (0, 0), (0, 0)), mode='reflect')
  x = sum(k[i] * xp[:, i:i + x.shape[1]] for i in range(2 * r + 1))
  xp = np.pad(x, ((0, 0), (0, 0), (r, r), (0, 0)), mode='reflect')
  return sum(k[i] * xp[:, :, i:i + x.shape[2]] for i in range(2 * r + 1))
