"""SIMULATED loss-function traces of synthetic RED (no training happens).

A loss function shapes a real generator only through training; random-weight
generators cannot show that, so synthetic RED gives each loss node a fixed,
documented effect on the output statistics (docs/DATA.md repeats this table).
These are plausible caricatures, not measurements of real GMs.

  node            effect (applied in this order)
  L1, L2, MSE, KL blur of the pre-activation, sigma 0.5 / 0.35 / 0.7 / 1.2
                  pixels, combined as sqrt(sum sigma^2): pixel-wise losses
                  average modes and low-pass the output, VAEs (KL) the most
  Adversarial     unsharp mask (amount 0.7, sigma 1): keeps / boosts high
                  frequencies
  Hinge           contrast saturation (a tanh S-curve around mid-grey)
  LS              range shrunk towards mid-grey by 0.85 (regression to mean)
  MMD             per-image channel mean / std matched to fixed moments
                  (0.45, 0.22)
  WGAN            added high-frequency noise (Laplacian of white noise,
                  std 0.025): an unbounded critic leaves fine texture
  CE              colours quantised to 32 levels per channel (sampling a
                  coarse softmax, as autoregressive models do)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from input_pipeline.synthetic.layers import gaussian_blur

BLUR_SIGMA = {'L1': 0.5, 'L2': 0.35, 'MSE': 0.7, 'KL': 1.2}
SHARPEN = 0.7
HINGE_GAIN = 2.2
LS_SHRINK = 0.85
MMD_MOMENTS = (0.45, 0.22)
WGAN_NOISE = 0.025
CE_LEVELS = 32


def blur_sigma(losses: Sequence[str]) -> float:
  return float(np.sqrt(sum(BLUR_SIGMA.get(l, 0.0) ** 2 for l in losses)))


def pre_activation(x: np.ndarray, losses: Sequence[str]) -> np.ndarray:
  """Effects on the generator's last pre-activation (blur)."""
  return gaussian_blur(x, blur_sigma(losses))


def output(y: np.ndarray, losses: Sequence[str],
           noise: np.ndarray | None = None) -> np.ndarray:
  """Effects on the [0, 1] image, in the order of the module table.

  ``noise``: standard normal noise shaped like ``y`` (needed for WGAN).
  """
  if 'Adversarial' in losses:
    y = y + SHARPEN * (y - gaussian_blur(y, 1.0))
  if 'Hinge' in losses:
    y = 0.5 + 0.5 * np.tanh(HINGE_GAIN * (y - 0.5)) / np.tanh(HINGE_GAIN / 2)
  if 'LS' in losses:
    y = 0.5 + LS_SHRINK * (y - 0.5)
  if 'MMD' in losses:
    mean = y.mean(axis=(1, 2), keepdims=True)
    std = y.std(axis=(1, 2), keepdims=True) + 1e-6
    y = (y - mean) / std * MMD_MOMENTS[1] + MMD_MOMENTS[0]
  if 'WGAN' in losses:
    if noise is None or noise.shape != y.shape:
      raise ValueError('WGAN needs standard normal noise shaped like y')
    hf = noise - gaussian_blur(noise, 0.7)
    y = y + WGAN_NOISE * hf / (hf.std(axis=(1, 2, 3), keepdims=True) + 1e-6)
  y = np.clip(y, 0, 1)
  if 'CE' in losses:
    y = np.round(y * (CE_LEVELS - 1)) / (CE_LEVELS - 1)
  return y
