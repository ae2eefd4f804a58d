"""FEN-PN's objectives as per-image (value, weight) terms (``terms.combine``).

Fingerprint constraints (on the estimated fingerprint F [B, H, W, 3]; the
public description names the four properties "magnitude, repetitive nature,
frequency range and symmetrical frequency response"; the formulas are the
authors' public code's). With g = 0.299 F_r + 0.587 F_g + 0.114 F_b and
S = |fftshift(fft2(g))| (unnormalised 2-D DFT; zero frequency at (H//2,
W//2)), W the (2r+1) x (2r+1) window around the zero frequency:
  * magnitude:  mean(g^2)                 the fingerprint's energy is small;
  * spectrum:   mean_W(S^2)               little low-frequency content;
  * repetitive: -max_{not W}(S)           a strong high-frequency peak (the
    authors take one max over the whole batch; here each image's own max,
    which the per-image form needs. Unbounded below on its own: by Parseval
    max S <= H W rms(g), so the magnitude term bounds the sum);
  * symmetry:   mean((S - S^T)^2)         a symmetric spectrum (square images).
All images count (real ones too, if the stream has any).

Parsing (generated images only, LGPN's ``parsing.node_loss``):
  * node: sigmoid BCE summed over the 55 nodes (multi-label classification);
  * cluster: softmax cross-entropy of the GM's cluster (``Clusters``);
  * deviation: squared error of the predicted deviation from the cluster's
    centre, over the reported continuous values (value = sum of squared
    errors, weight = number of reported values: the exact mean per value).

Clusters (``fold_clusters``): the paper's released RED116 ground truth holds
12 clusters whose continuous centres are the plain means of their members'
normalised values, and each GM's deviation from its cluster's centre. How the
GMs were grouped is not given: we run k-means (k-means++ seeding, fixed
seed, best of ``restarts``) on the fold's training GMs' normalised values
(``red140.continuous``, the evaluator's normalisation), filling a value that
is not reported with its column's mean for the grouping only.

Weights (``config_weights``; the authors' public training script): spectrum
0.05, repetitive 0.001, magnitude 0.1, symmetry 1, and 10 on every parsing
term (node, cluster, deviation). The script's per-class weights of its
cross-entropies (inverse class frequencies of RED116) are not used: the node
term is LGPN's unweighted BCE, so the two models differ in their networks
and FEN-PN's own terms only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Mapping, Sequence

import jax.numpy as jnp
import numpy as np
import optax

from lgpn_jax.losses import parsing
from lgpn_jax.red140 import continuous, schema

GRAY = (0.299, 0.587, 0.114)
FINGERPRINT_TERMS = ('magnitude', 'spectrum', 'repetitive', 'symmetry')
PARSING_TERMS = ('node', 'cluster', 'deviation')


# ------------------------------------------------------ fingerprint constraints
def gray_and_spectrum(fingerprint):
  """[B, H, W, 3] -> (gray g [B, H, W], centred magnitude spectrum S), f32."""
  g = jnp.tensordot(fingerprint.astype(jnp.float32), jnp.asarray(GRAY),
                    axes=([-1], [0]))
  s = jnp.abs(jnp.fft.fftshift(jnp.fft.fft2(g), axes=(-2, -1)))
  return g, s


def low_frequency_window(shape: Sequence[int], radius: int) -> np.ndarray:
  """[H, W] bool: the (2r+1) x (2r+1) square around the zero frequency."""
  h, w = shape
  if not 0 <= radius < min(h, w) // 2:
    raise ValueError(f'loss.low_freq_radius must be in [0, {min(h, w) // 2}) '
                     f'for {h}x{w} images, got {radius}')
  rows = np.abs(np.arange(h) - h // 2) <= radius
  cols = np.abs(np.arange(w) - w // 2) <= radius
  return rows[:, None] & cols[None, :]


def magnitude_loss(gray):
  return jnp.mean(jnp.square(gray), axis=(-2, -1))


def spectrum_loss(spectrum, radius: int):
  window = low_frequency_window(spectrum.shape[-2:], radius)
  return jnp.sum(jnp.square(spectrum) * window, axis=(-2, -1)) / window.sum()


def repetitive_loss(spectrum, radius: int):
  window = low_frequency_window(spectrum.shape[-2:], radius)
  return -jnp.max(jnp.where(window, -jnp.inf, spectrum), axis=(-2, -1))


def symmetry_loss(spectrum):
  if spectrum.shape[-1] != spectrum.shape[-2]:
    raise ValueError(f'the symmetry constraint needs square images, got '
                     f'{spectrum.shape[-2:]}')
  return jnp.mean(jnp.square(spectrum - jnp.swapaxes(spectrum, -1, -2)),
                  axis=(-2, -1))


# ---------------------------------------------------------------- clusters
@dataclasses.dataclass(frozen=True)
class Clusters:
  """The fold's GM clusters and the per-GM targets (numpy, by GM index)."""
  centres: np.ndarray     # [K, 9] normalised continuous values.
  of_gm: np.ndarray       # [140] int32 cluster of each GM, -1 not clustered.
  deviation: np.ndarray   # [140, 9] normalised value - its centre (0 masked).
  mask: np.ndarray        # [140, 9] 1 where the value is reported.

  @property
  def num_clusters(self) -> int:
    return len(self.centres)

  def fingerprint(self) -> str:
    """A short hash of every table (what the compiled step bakes in)."""
    h = hashlib.sha1()
    for a in (self.centres, self.of_gm, self.deviation, self.mask):
      h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def kmeans(points, k: int, *, seed: int = 0, restarts: int = 10,
           iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
  """(centres [k, D], assignment [N]): Lloyd's k-means from k-means++ seeds
  until the assignment stops changing (at most ``iterations`` rounds), the
  lowest within-cluster sum of squares of ``restarts`` runs. At convergence
  every centre is the mean of its members and every point is in its nearest
  centre's cluster (ties to the lower index)."""
  x = np.asarray(points, np.float64)
  distinct = len(np.unique(x, axis=0))
  if not 1 <= k <= distinct:
    raise ValueError(f'{k} clusters need at least {k} distinct points, '
                     f'got {distinct}')
  rng = np.random.default_rng(seed)
  best = None
  for _ in range(restarts):
    centres = x[[rng.integers(len(x))]]
    while len(centres) < k:
      d2 = np.min(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
      centres = np.vstack([centres, x[rng.choice(len(x), p=d2 / d2.sum())]])
    assign = None
    for _ in range(iterations):
      new = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
      if assign is not None and np.array_equal(new, assign):
        break
      assign = new
      centres = np.stack([x[assign == j].mean(0) if np.any(assign == j)
                          else centres[j] for j in range(k)])
    inertia = ((x - centres[assign]) ** 2).sum()
    if best is None or inertia < best[0]:
      best = (inertia, centres, assign)
  return best[1], best[2]


def fold_clusters(train_gms: Sequence[str], normaliser: continuous.Normaliser,
                  k: int, seed: int = 0) -> Clusters:
  """The clusters of the GMs ``train_gms`` (see the module doc)."""
  raw, mask = continuous.gm_table(train_gms)
  values = normaliser.normalise(raw)
  col_mean = (np.where(mask > 0, values, 0).sum(0) /
              np.maximum(mask.sum(0), 1))
  filled = np.where(mask > 0, values, col_mean)
  centres, assign = kmeans(filled, k, seed=seed)
  # A centre is the mean of its members' reported values.
  for j in range(k):
    m = mask[assign == j]
    if m.size:
      v = values[assign == j]
      centres[j] = np.where(m.sum(0) > 0, np.where(m > 0, v, 0).sum(0) /
                            np.maximum(m.sum(0), 1), centres[j])
  n = len(schema.gms())
  index = [schema.gm_index()[g] for g in train_gms]
  of_gm = np.full(n, -1, np.int32)
  of_gm[index] = assign
  deviation = np.zeros((n, centres.shape[1]))
  deviation[index] = np.where(mask > 0, values - centres[assign], 0.0)
  full_mask = np.zeros((n, centres.shape[1]), np.float32)
  full_mask[index] = mask
  return Clusters(centres.astype(np.float32), of_gm,
                  deviation.astype(np.float32), full_mask)


# ----------------------------------------------------------------- the terms
def gm_targets(batch: Mapping, clusters: Clusters):
  """(cluster [B] int32, deviation target [B, 9], mask [B, 9], clustered [B])
  of each image's GM (``gm_index``; -1 for real images)."""
  gm = batch['gm_index']
  safe = jnp.maximum(gm, 0)
  of_gm = jnp.asarray(clusters.of_gm)[safe]
  clustered = ((gm >= 0) & (of_gm >= 0)).astype(jnp.float32)
  cluster = jnp.maximum(of_gm, 0)
  target = jnp.asarray(clusters.deviation)[safe]
  mask = jnp.asarray(clusters.mask)[safe] * clustered[:, None]
  return cluster, target, mask, clustered


def loss_terms(outputs: Mapping, batch: Mapping, clusters: Clusters,
               radius: int) -> dict:
  """{term: (value [B], weight [B])}. ``batch``: 'label', 'is_generated',
  'gm_index' and optionally 'mask' (0 for padding)."""
  is_gen = batch['is_generated']
  valid = batch.get('mask', jnp.ones(is_gen.shape, jnp.float32))
  valid = valid.astype(jnp.float32)
  gray, spec = gray_and_spectrum(outputs['fingerprint'])
  terms = dict(magnitude=magnitude_loss(gray),
               spectrum=spectrum_loss(spec, radius),
               repetitive=repetitive_loss(spec, radius),
               symmetry=symmetry_loss(spec))
  terms = {k: (v * valid, valid) for k, v in terms.items()}
  value, weight = parsing.node_loss(outputs['node_logits'], batch['label'],
                                    is_gen)
  terms['node'] = (value * valid, weight * valid)
  cluster, target, mask, clustered = gm_targets(batch, clusters)
  w = clustered * is_gen.astype(jnp.float32) * valid
  ce = optax.softmax_cross_entropy_with_integer_labels(
      outputs['cluster_logits'], cluster)
  terms['cluster'] = (ce * w, w)
  m = mask * w[:, None]
  err = jnp.square(outputs['deviation'] - target) * m
  terms['deviation'] = (jnp.sum(err, -1), jnp.sum(m, -1))
  return terms


def accuracy_terms(outputs: Mapping, batch: Mapping, clusters: Clusters):
  """(sums, counts): node accuracy and cluster accuracy, generated images."""
  sums, counts = parsing.accuracy_terms(outputs, batch)   # no real/fake head.
  cluster, _, _, clustered = gm_targets(batch, clusters)
  valid = batch.get('mask', jnp.ones(clustered.shape)).astype(jnp.float32)
  w = clustered * batch['is_generated'].astype(jnp.float32) * valid
  hit = (jnp.argmax(outputs['cluster_logits'], -1) == cluster)
  sums['cluster_accuracy'] = jnp.sum(hit.astype(jnp.float32) * w)
  counts['cluster_accuracy'] = jnp.sum(w)
  return sums, counts


def config_weights(loss_cfg) -> dict[str, float]:
  """{term: weight} from ``config.loss`` (configs/fenpn.py)."""
  return {k: float(loss_cfg[f'{k}_weight'])
          for k in FINGERPRINT_TERMS + PARSING_TERMS}
